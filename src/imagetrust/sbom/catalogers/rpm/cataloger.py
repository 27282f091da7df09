"""The ``rpm`` cataloger: installed rpm packages from any of rpm's three database formats.

The format is told by content (sqlite magic, ndb ``RpmP``, Berkeley DB hash magic), not
by the file name, since images rename and mix them. Package fields follow syft's
rpm-db cataloger so SBOMs agree: version ``[epoch:]version-release``, the purl from
``purl.rpm_purl``. Unlike syft (1.18), the ``gpg-pubkey`` pseudo packages rpm creates for
imported signing keys are skipped: they are keys, not software, and would only ever
produce noise for vulnerability matching. A package whose source rpm is missing or not
of the usual ``name-version-release.arch.rpm`` form is its own source, as dpkg and apk
packages without a ``Source:``/origin are: every distribution package has one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagetrust.sbom.catalogers.base import BaseCataloger, PathInterest, Want
from imagetrust.sbom.models import CatalogerError, OsRelease, Package, PackageType
from imagetrust.sbom.owners import FileOwner, canonical_path
from imagetrust.sbom.purl import rpm_purl, split_source_rpm

if TYPE_CHECKING:
    from imagetrust.sbom.catalogers.rpm.header import RpmHeader

RPM_DATABASES = frozenset(
    f"{directory}/{name}"
    for directory in ("var/lib/rpm", "usr/lib/sysimage/rpm")
    for name in ("rpmdb.sqlite", "Packages.db", "Packages")
)
PSEUDO_PACKAGES = frozenset({"gpg-pubkey"})


def read_header_blobs(path: str, data: bytes) -> list[bytes]:
    """The raw header blobs of an rpm database, whichever of the three formats it is."""
    # Imported here: every image run builds this cataloger, few images have an rpm database,
    # and the readers (sqlite3 among them) would otherwise cost each warm run ~5 ms.
    from imagetrust.sbom.catalogers.rpm.bdb import is_bdb_hash, read_bdb
    from imagetrust.sbom.catalogers.rpm.ndb import NDB_MAGIC, read_ndb
    from imagetrust.sbom.catalogers.rpm.sqlite import SQLITE_MAGIC, read_sqlite

    if data.startswith(SQLITE_MAGIC):
        return read_sqlite(path, data)
    if data.startswith(NDB_MAGIC):
        return read_ndb(path, data)
    if is_bdb_hash(data):
        return read_bdb(path, data)
    if not data:
        raise CatalogerError(path, "empty rpm database file")
    raise CatalogerError(path, "not an rpm database (neither sqlite, ndb nor Berkeley DB hash)")


def read_headers(path: str, data: bytes) -> list[RpmHeader]:
    from imagetrust.sbom.catalogers.rpm.header import parse_header

    return [parse_header(path, blob) for blob in read_header_blobs(path, data)]


class RpmCataloger(BaseCataloger):
    name = "rpm"
    interest = PathInterest(paths=RPM_DATABASES)

    def wants(self, path: str, mode: int, size: int) -> Want:
        return Want.FILE if path in RPM_DATABASES else Want.NO

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        return [
            to_package(header, path, os_release)
            for header in read_headers(path, data)
            if header.name not in PSEUDO_PACKAGES
        ]

    def owned_files(
        self, path: str, data: bytes, wanted: frozenset[str]
    ) -> list[tuple[str, FileOwner]]:
        """The ``wanted`` paths some installed package's header lists as its file.

        The database is read a second time (only for images with language packages): the
        file names are most of a header's bytes, and ``parse`` does not decode them.
        """
        from imagetrust.sbom.catalogers.rpm.header import header_files, parse_header

        names = frozenset(wanted_path.rpartition("/")[2] for wanted_path in wanted)
        found: list[tuple[str, FileOwner]] = []
        for blob in read_header_blobs(path, data):
            files = header_files(path, blob, names)
            owned = [f for f in map(canonical_path, files) if f in wanted]
            if not owned:
                continue
            header = parse_header(path, blob)
            owner = FileOwner(
                PackageType.RPM,
                header.name,
                version=_version(header),
                architecture=header.arch or None,
            )
            found.extend((file, owner) for file in owned)
        return found


def _version(header: RpmHeader) -> str:
    """``[epoch:]version-release``, as syft and ``rpm -q --qf`` with ``%{EPOCH}:`` write it."""
    evr = f"{header.version}-{header.release}"
    return evr if header.epoch is None else f"{header.epoch}:{evr}"


def to_package(header: RpmHeader, path: str, os_release: OsRelease | None) -> Package:
    version = _version(header)
    source = split_source_rpm(header.source_rpm)
    source_name, source_version = header.name, version
    if source is not None:
        source_name = source[0]
        # A source rpm's file name has no epoch; its binaries share the spec's epoch.
        source_version = source[1] if header.epoch is None else f"{header.epoch}:{source[1]}"
    extra = {
        key: value
        for key, value in (
            ("release", header.release),
            ("epoch", None if header.epoch is None else str(header.epoch)),
            ("sourcerpm", header.source_rpm),
            ("vendor", header.vendor),
            ("modularitylabel", header.modularity_label),
            ("size", None if header.size is None else str(header.size)),
        )
        if value
    }
    return Package(
        name=header.name,
        version=version,
        type=PackageType.RPM,
        purl=rpm_purl(
            header.name,
            header.version,
            header.release,
            header.arch or None,
            os_release,
            epoch=header.epoch,
            source_rpm=header.source_rpm or None,
        ),
        source_name=source_name,
        source_version=source_version,
        architecture=header.arch or None,
        path=path,
        licenses=(header.license,) if header.license else (),
        extra=extra,
    )
