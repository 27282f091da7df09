"""Alpine (and Wolfi, Chainguard, postmarketOS) packages from ``lib/apk/db/installed``.

The database is blocks of ``X:value`` lines separated by blank lines (the Apk_spec format).
Kept: ``P`` name, ``V`` version, ``A`` architecture, ``o`` origin (the source package
Alpine's secdb and advisories name), ``L`` license, and ``U``/``m``/``c`` (project URL,
maintainer, aports commit) as extras. The many file lines (``F``, ``R``, ``Z``, ``a``,
``M``) are skipped without being parsed; ``owned_files`` reads the ``F`` (folder) and
``R`` (file in that folder) lines when an image has language packages whose owner is
asked for (see ``sbom.owners``). ``usr/lib/apk/db/installed`` is wanted too: newer
Alpine moves the database there (``lib/apk`` becoming a link to it).

As in syft: a line that is not ``key:value`` is ignored (syft's own test database starts
with such a line), a field with an empty value is ignored, a block without a name is
dropped, and the origin defaults to nothing (syft reports it only when written; a
package record's ``source_name`` falls back to the package name). A license that is an
SPDX expression (``MPL-2.0 AND MIT``) is kept whole; otherwise it is a space-separated
list, split, as syft does. Decided here: a block without ``V`` is skipped (syft 1.18 shows
``UNKNOWN``), NUL bytes or content with no ``key:value`` line at all raise
``CatalogerError`` naming the path.
"""

from __future__ import annotations

from imagetrust.sbom.catalogers.base import BaseCataloger, PathInterest, Sniffer, Want
from imagetrust.sbom.models import CatalogerError, OsRelease, Package, PackageType
from imagetrust.sbom.owners import FileOwner, canonical_path
from imagetrust.sbom.purl import apk_purl

INSTALLED_PATHS = frozenset({"lib/apk/db/installed", "usr/lib/apk/db/installed"})

_EXTRA_NAMES = {"U": "url", "m": "maintainer", "c": "commit"}
_OPERATORS = frozenset({"AND", "OR", "WITH", "and", "or", "with"})


class ApkCataloger(BaseCataloger):
    name = "apk"
    interest = PathInterest(paths=INSTALLED_PATHS)

    def wants(self, path: str, mode: int, size: int) -> Want:
        # streamed and reduced: no size limit, and checksums and padding are not kept
        return Want.SNIFF if path in INSTALLED_PATHS else Want.NO

    def sniffer(self, path: str) -> Sniffer:
        from imagetrust.sbom.catalogers.reduce import ApkInstalledReducer  # only when walking

        return ApkInstalledReducer(path)

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        return parse_apk_installed(path, data, os_release)

    def owned_files(
        self, path: str, data: bytes, wanted: frozenset[str]
    ) -> list[tuple[str, FileOwner]]:
        """The ``wanted`` paths the database's ``F:``/``R:`` lines give to a package."""
        if path not in INSTALLED_PATHS:
            return []
        text = data.decode("utf-8", errors="replace")
        found: list[tuple[str, int]] = []  # (path, index of its block)
        blocks: list[dict[str, str]] = [{}]
        folder = ""
        for line in text.splitlines():
            if not line.strip():
                if blocks[-1]:
                    blocks.append({})
                folder = ""
                continue
            key, sep, value = line.partition(":")
            if not sep or len(key) != 1:
                continue
            if key in "PVA":
                blocks[-1][key] = value
            elif key == "F":
                folder = value
            elif key == "R":
                file = canonical_path(f"{folder}/{value}" if folder else value)
                if file in wanted:
                    found.append((file, len(blocks) - 1))
        owners = [
            FileOwner(
                PackageType.APK,
                block.get("P", ""),
                version=block.get("V") or None,
                architecture=block.get("A") or None,
            )
            for block in blocks
        ]
        return [(file, owners[index]) for file, index in found if owners[index].name]


def parse_apk_installed(path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
    """All packages of one ``installed`` database, in file order."""
    if b"\x00" in data:
        raise CatalogerError(path, "binary data (NUL bytes) in an apk database")
    text = data.decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    packages: list[Package] = []
    fields: dict[str, str] = {}
    in_entry = False
    any_field = False
    for line in text.split("\n"):
        if not line:
            if in_entry:
                _add(packages, fields, path, os_release)
                fields = {}
                in_entry = False
            continue
        colon = line.find(":")
        if colon <= 0 or colon == len(line) - 1:
            continue  # not key:value, or an empty value: ignored, as syft does
        in_entry = True
        any_field = True
        if colon == 1 and line[0] in _KEPT:
            fields[line[0]] = line[2:]  # a repeated key: the last wins, as in syft
    if in_entry:
        _add(packages, fields, path, os_release)
    if not any_field and not text.isspace() and text:
        raise CatalogerError(path, "no apk fields found: not an apk installed database")
    return packages


_KEPT = frozenset("PVAoLUmc")


def split_licenses(value: str) -> tuple[str, ...]:
    """An SPDX expression stays one entry; a plain list (``GPL-2.0 MIT``) is split."""
    words = value.split()
    if not words:
        return ()
    if "(" in value or any(word in _OPERATORS for word in words):
        return (" ".join(words),)
    return tuple(words)


def _add(
    packages: list[Package], fields: dict[str, str], path: str, os_release: OsRelease | None
) -> None:
    name = fields.get("P", "")
    version = fields.get("V", "")
    if not name or not version:
        return
    arch = fields.get("A") or None
    origin = fields.get("o") or None
    try:
        purl = apk_purl(name, version, arch, os_release, origin=origin)
    except ValueError as exc:  # packageurl refuses the name or a qualifier
        raise CatalogerError(path, f"package {name!r}: no package URL: {exc}") from exc
    packages.append(
        Package(
            name=name,
            version=version,
            type=PackageType.APK,
            purl=purl,
            source_name=origin or name,
            source_version=version,
            architecture=arch,
            path=path,
            licenses=split_licenses(fields.get("L", "")),
            extra={_EXTRA_NAMES[k]: fields[k] for k in _EXTRA_NAMES if k in fields},
        )
    )
