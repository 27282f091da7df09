"""Debian packages from the dpkg database: ``var/lib/dpkg/status`` and, in distroless
images (which have no dpkg), one stanza file per package in ``var/lib/dpkg/status.d/``.

What counts, matching syft (checked against the real binary and current syft source):

- A stanza is a package when it has a non-empty ``Package`` field. ``Status`` containing
  ``deinstall`` (removed, config files left: ``rc`` in ``dpkg -l``) is not installed and
  is left out, as current syft and Trivy do; syft 1.18 still listed such packages, which
  made every removed kernel a finding. Distroless stanzas have no ``Status`` at all.
- ``Source: name (version)`` gives the source package and its version; a bare ``Source:
  name`` means the source version equals the binary version; no ``Source`` means the
  source package is the binary package itself (dpkg's own defaults).
- Two stanzas with the same name are both real (``libc6`` for amd64 and i386 on a
  multi-arch system): nothing is de-duplicated here.
- Any other non-stanza file in ``status.d`` yields no packages, as in syft.

File lists (see ``sbom.owners``): ``info/<name>[:<arch>].list`` and, in distroless images,
``status.d/<name>.md5sums`` name the files each package installed; they are kept, reduced
to the lines that could name a language package's file, and say which OS package owns a
Python, npm, Java or Go package found at one of those paths.

Corrupt input, decided here and documented for users:

- NUL bytes (binary garbage), a stanza starting with a continuation line, or two
  ``Package`` fields in one stanza (two stanzas run together; dpkg itself refuses that)
  raise ``CatalogerError`` naming the path: the whole database is suspect, so no partial
  list is given. Other repeated fields are not looked for (that would cost a scan per
  field); the first one wins.
- A ``status`` file with content but not a single ``Field: value`` line is not a dpkg
  database: ``CatalogerError``.
- Lines that are not ``Field: value`` (a file truncated in the middle of a line) are
  ignored, as syft ignores them; a stanza without ``Version`` (a truncated last stanza)
  is skipped, where syft 1.18 reports version ``UNKNOWN``: a package without a version
  cannot be matched against any advisory, and inventing one would be worse.
- Text that is not UTF-8 is decoded with replacement characters (old Maintainer fields);
  CRLF line ends and a missing final newline are accepted. Field names are matched in
  dpkg's canonical case (dpkg always writes them so).

The parser splits stanzas on blank lines and finds the few fields it needs with
``str.find``, so the Python work is per package, not per line: the Debian 12 status file
of 711 packages parses in a few milliseconds.
"""

from __future__ import annotations

from imagetrust.sbom.catalogers.base import BaseCataloger, PathInterest, Sniffer, Want
from imagetrust.sbom.models import CatalogerError, OsRelease, Package, PackageType
from imagetrust.sbom.owners import MARKER, FileOwner, kept_paths, reduce_file_list
from imagetrust.sbom.purl import deb_purl

STATUS = "var/lib/dpkg/status"
STATUS_D = "var/lib/dpkg/status.d/"
INFO = "var/lib/dpkg/info/"


def _in(directory: str, path: str) -> bool:
    """``path`` is a file right inside ``directory`` (not deeper)."""
    return (
        path.startswith(directory)
        and len(path) > len(directory)
        and ("/" not in path[len(directory) :])
    )


def is_file_list(path: str) -> bool:
    return (path.endswith(".list") and _in(INFO, path)) or (
        path.endswith(".md5sums") and _in(STATUS_D, path)
    )


class DpkgCataloger(BaseCataloger):
    name = "dpkg"
    interest = PathInterest(paths=frozenset({STATUS}), prefixes=(STATUS_D,), suffixes=(".list",))

    def wants(self, path: str, mode: int, size: int) -> Want:
        if is_file_list(path):
            return Want.FILE
        if path == STATUS or _in(STATUS_D, path):
            return Want.SNIFF  # streamed and reduced: no size limit, no padding kept
        return Want.NO

    def sniffer(self, path: str) -> Sniffer:
        from imagetrust.sbom.catalogers.reduce import Dpkg822Reducer  # only when walking

        return Dpkg822Reducer(path)

    def essential(self, path: str) -> bool:
        """A database must be read for the SBOM to be whole; a file list only names
        owners (without it a language package is matched on its own: nothing is hidden)."""
        return not is_file_list(path)

    def reduce(self, path: str, data: bytes) -> bytes | None:
        if not is_file_list(path):
            return data
        return reduce_file_list(_list_paths(path, data))

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        if is_file_list(path):
            return []  # not a database: read by ``owned_files``
        return parse_dpkg_status(path, data, os_release)

    def owned_files(
        self, path: str, data: bytes, wanted: frozenset[str]
    ) -> list[tuple[str, FileOwner]]:
        """The ``wanted`` paths a kept file list names, with the package it belongs to."""
        if not is_file_list(path):
            return []
        if not data.startswith(MARKER):  # kept by a walker that did not reduce it
            data = reduce_file_list(_list_paths(path, data))
        stem = path.rpartition("/")[2].rpartition(".")[0]
        if path.startswith(STATUS_D):
            owner = FileOwner(PackageType.DEB, stem, database=STATUS_D + stem)
        else:
            name, _, arch = stem.partition(":")  # multi-arch lists: libc6:amd64.list
            owner = FileOwner(PackageType.DEB, name, architecture=arch or None)
        return [(found, owner) for found in kept_paths(data) if found in wanted]


def _list_paths(path: str, data: bytes) -> list[str]:
    """The paths of a ``.list`` (one per line) or ``.md5sums`` (``digest  path``)."""
    lines = data.decode("utf-8", errors="replace").splitlines()
    if path.endswith(".md5sums"):
        return [line.partition(" ")[2].lstrip(" *") for line in lines]
    return lines


def parse_dpkg_status(path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
    """All installed packages of one database file (``status`` or a ``status.d`` entry).

    A status file is mostly Description and Conffiles continuation lines nobody needs,
    hence ``str.find`` within each stanza's bounds (no copies, no loop over lines).
    """
    if b"\x00" in data:
        raise CatalogerError(path, "binary data (NUL bytes) in a dpkg database")
    # The leading newline lets every field, the first included, be found as "\nName:".
    text = "\n" + data.decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    size = len(text)
    packages: list[Package] = []
    any_field = False
    pos = 1  # the first character of the current stanza; text[pos - 1] is a newline
    while pos < size:
        if text[pos] == "\n":  # more than one blank line between stanzas
            pos += 1
            continue
        end = text.find("\n\n", pos - 1)
        if end < 0:
            end = size
        lo = pos - 1
        first_end = text.find("\n", pos, end)
        first = text[pos : end if first_end < 0 else first_end]
        pos = end + 2
        if first[0] == " " or first[0] == "\t":
            if first.isspace():
                continue
            raise CatalogerError(path, "a continuation line without a field before it")
        name = _field(text, "\nPackage:", lo, end)
        if name is not None and text.count("\nPackage:", lo, end) > 1:
            # two stanzas run together (a lost blank line): dpkg refuses such a file
            raise CatalogerError(path, f"field 'Package' given twice in one stanza ({name})")
        any_field = any_field or name is not None or ":" in first
        version = _field(text, "\nVersion:", lo, end)
        if not name or not version:
            continue
        status = _field(text, "\nStatus:", lo, end)
        if status and "deinstall" in status:
            continue
        _add(
            packages,
            path,
            os_release,
            name,
            version,
            source=_field(text, "\nSource:", lo, end),
            arch=_field(text, "\nArchitecture:", lo, end),
            maintainer=_field(text, "\nMaintainer:", lo, end),
        )
    if not any_field and path == STATUS and not text.isspace():
        raise CatalogerError(path, "no dpkg fields found: not a dpkg status database")
    return packages


def _field(text: str, marker: str, lo: int, hi: int) -> str | None:
    """The value of one field of the stanza ``text[lo:hi]`` (``text[lo]`` is a newline).

    ``marker`` is ``\\nName:``, which never matches a continuation line (those start
    with a space) nor a longer field name (``Source-Version:``).
    """
    at = text.find(marker, lo, hi)
    if at < 0:
        return None
    start = at + len(marker)
    stop = text.find("\n", start, hi)
    return text[start : hi if stop < 0 else stop].strip()


def _add(
    packages: list[Package],
    path: str,
    os_release: OsRelease | None,
    name: str,
    version: str,
    *,
    source: str | None,
    arch: str | None,
    maintainer: str | None,
) -> None:
    source_name: str | None = None
    source_version: str | None = None
    if source:
        source_name, source_version = _split_source(source)
    arch = arch or None
    try:
        purl = deb_purl(
            name, version, arch, os_release, source=source_name, source_version=source_version
        )
    except ValueError as exc:  # packageurl refuses the name or a qualifier
        raise CatalogerError(path, f"package {name!r}: no package URL: {exc}") from exc
    packages.append(
        Package(
            name=name,
            version=version,
            type=PackageType.DEB,
            purl=purl,
            source_name=source_name or name,
            source_version=source_version or version,
            architecture=arch,
            path=path,
            extra={"maintainer": maintainer} if maintainer else {},
        )
    )


def _split_source(value: str) -> tuple[str, str | None]:
    """``openssl (3.0.11-1~deb12u2)`` -> (openssl, 3.0.11-1~deb12u2); ``pam`` -> (pam, None)."""
    name, sep, rest = value.partition(" (")
    if sep and rest.endswith(")"):
        return name.strip(), rest[:-1].strip() or None
    return value.split()[0] if value.split() else value, None
