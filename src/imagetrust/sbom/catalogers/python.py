"""Installed Python distributions: wheels' ``*.dist-info/METADATA``, ``*.egg-info`` (dir or
file) and unzipped eggs' ``*.egg/EGG-INFO/PKG-INFO``.

The files wanted are those of syft's python-installed-package-cataloger globs
(``**/*dist-info/METADATA``, ``**/*DIST-INFO/METADATA``, ``**/*egg-info/PKG-INFO``,
``**/*EGG-INFO/PKG-INFO``, ``**/*.egg-info``), so an egg that ``easy_install`` or
``setup.py install`` unpacked (``foo-1.0-py3.11.egg/EGG-INFO/PKG-INFO``) is a package too.
Zipped ``.egg`` files are not opened, as syft does not open them.

Behaviour follows syft's installed-package cataloger (checked against syft 1.18 on real
files): the header block (up to the first blank line) is read as RFC 822 fields; a file
without ``Name`` is skipped; the package name is normalised as PEP 503 does (lower case,
runs of ``-_.`` become ``-``), which is also the purl name; ``License-Expression`` wins
over ``License``; classifiers are not used for licenses. A distribution named ``python``
(CPython's own ``Python-X.Y.egg-info``) is skipped, as syft skips it: it is the
interpreter, not a PyPI package. A missing version gives ``version=""`` and a purl without
a version (syft reports ``UNKNOWN`` and the same purl).

``reduce`` keeps only the header block, so long descriptions never reach the cache.
"""

from __future__ import annotations

import re

from imagetrust.sbom.catalogers.base import BaseCataloger, PathInterest, Want
from imagetrust.sbom.models import CatalogerError, OsRelease, Package, PackageType
from imagetrust.sbom.purl import pypi_purl

_MAX_HEADER = 256 << 10  # a header block past this is not metadata, whatever it claims
_NORMALISE = re.compile(r"[-_.]+")


def normalise_name(name: str) -> str:
    """PEP 503 normalisation, the name syft reports and PyPI indexes by."""
    return _NORMALISE.sub("-", name).lower()


_METADATA_ENDINGS = (
    "dist-info/METADATA",
    "DIST-INFO/METADATA",
    "egg-info/PKG-INFO",
    "EGG-INFO/PKG-INFO",
    ".egg-info",  # the single-file form distutils wrote
)


def _is_metadata_path(path: str) -> bool:
    return path.endswith(_METADATA_ENDINGS)


def _header_block(data: bytes) -> bytes:
    """Bytes up to the first blank line: the fields; the body is the long description."""
    text = data[:_MAX_HEADER].replace(b"\r\n", b"\n")
    end = text.find(b"\n\n")
    return text if end < 0 else text[: end + 1]


def parse_fields(text: str) -> dict[str, str]:
    """RFC 822 style fields; continuation lines join with a newline and one space.

    The first occurrence of a field wins (``Classifier`` and friends repeat; we need none
    of the repeated ones).
    """
    fields: dict[str, str] = {}
    last: str | None = None
    for line in text.split("\n"):
        if not line.strip():
            break
        if line[0] in " \t":
            if last is not None:
                fields[last] += "\n " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            last = None
            continue
        key = key.strip()
        if key in fields:
            last = None
            continue
        fields[key] = value.strip()
        last = key
    return fields


class PythonCataloger(BaseCataloger):
    """Installed distributions anywhere in the image (site-packages, dist-packages, venvs)."""

    name = "python"
    interest = PathInterest(suffixes=("dist-info/metadata", "egg-info/pkg-info", ".egg-info"))

    def wants(self, path: str, mode: int, size: int) -> Want:
        return Want.FILE if _is_metadata_path(path) else Want.NO

    def reduce(self, path: str, data: bytes) -> bytes | None:
        return _header_block(data)

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        try:
            text = _header_block(data).decode("utf-8", errors="replace")
            fields = parse_fields(text)
        except (ValueError, IndexError) as exc:  # pragma: no cover - defensive
            raise CatalogerError(path, f"unreadable Python metadata: {exc}") from exc
        raw_name = fields.get("Name", "").strip()
        if not raw_name:
            return []
        name = normalise_name(raw_name)
        if name == "python":
            return []
        version = fields.get("Version", "").strip()
        license_ = fields.get("License-Expression") or fields.get("License") or ""
        purl = pypi_purl(name, version)
        extra = {"name": raw_name}
        if fields.get("Metadata-Version"):
            extra["metadata_version"] = fields["Metadata-Version"]
        return [
            Package(
                name=name,
                version=version,
                type=PackageType.PYTHON,
                purl=purl,
                path=path,
                licenses=(license_,) if license_ else (),
                extra=extra,
            )
        ]
