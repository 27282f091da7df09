"""Installed Node.js packages: every ``package.json`` in the image.

syft's javascript-package-cataloger (the one it runs on images) takes every
``package.json``, not only those under ``node_modules/``: the application's own root
manifest and nested ones inside packages are reported too. We do the same so both tools
agree (checked against syft 1.18). A manifest without a ``name`` is skipped; one without a
``version`` gives ``version=""`` and a purl without a version (syft prints ``UNKNOWN``).
Invalid JSON is skipped, as syft skips it: any directory may hold a broken
``package.json`` (test fixtures), and one bad file must not cost the image its SBOM.

Licenses come from ``license`` (a string, an object with ``type``, or a list of either)
and the legacy ``licenses`` list of objects. syft ignores a ``license`` list of plain
strings; we keep those strings (a documented difference, licenses are not identity).
"""

from __future__ import annotations

import json
from typing import Any

from imagetrust.sbom.catalogers.base import BaseCataloger, PathInterest, Want
from imagetrust.sbom.models import OsRelease, Package, PackageType
from imagetrust.sbom.purl import npm_purl

_MAX_MANIFEST = 4 << 20  # bigger package.json files are generated data, not manifests


def _license_values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, dict):
        kind = value.get("type")
        return [kind.strip()] if isinstance(kind, str) and kind.strip() else []
    if isinstance(value, list):
        out: list[str] = []
        for item in value[:64]:
            if isinstance(item, str | dict):
                out.extend(_license_values(item))
        return out
    return []


def licenses_of(manifest: dict[str, Any]) -> tuple[str, ...]:
    found = _license_values(manifest.get("license"))
    if not found:
        found = _license_values(manifest.get("licenses"))
    return tuple(dict.fromkeys(found))


class NpmCataloger(BaseCataloger):
    name = "npm"
    interest = PathInterest(paths=frozenset({"package.json"}), suffixes=("/package.json",))

    def wants(self, path: str, mode: int, size: int) -> Want:
        if (path == "package.json" or path.endswith("/package.json")) and size <= _MAX_MANIFEST:
            return Want.FILE
        return Want.NO

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        if len(data) > _MAX_MANIFEST:
            return []
        try:
            manifest = json.loads(data.decode("utf-8-sig", errors="replace"))
        except (ValueError, RecursionError):
            return []
        if not isinstance(manifest, dict):
            return []
        name = manifest.get("name")
        if not isinstance(name, str) or not name.strip():
            return []
        name = name.strip()
        version = manifest.get("version")
        version = version.strip() if isinstance(version, str) else ""
        return [
            Package(
                name=name,
                version=version,
                type=PackageType.NPM,
                purl=npm_purl(name, version),
                path=path,
                licenses=licenses_of(manifest),
            )
        ]
