"""The bundle file: a zip of JSON Lines and content-addressed SBOMs, written atomically and
read as untrusted input.

Reading checks, before any record is used: the file is a zip within ``max_bytes``; it holds
at most ``max_members`` members, no two with one name, each a plain file named as the
format allows (no folders, no ``..``, nothing a manifest does not list), each declared
within ``max_member_bytes`` and all together within ``max_total_bytes``; the manifest is
this format at this schema version (another version is refused with a message that says
which side to upgrade) and names only kinds of record this imagetrust knows. While
reading, every member is hashed and checked against the manifest (an SBOM against its own
name as well), zip's CRC is checked at its end, and no line may exceed
``max_record_bytes``. Any failure is a ``BundleError`` naming the file and the member; the
merge runs in one transaction, so nothing it read is kept.

Zip rather than a compressed tar: every tool opens it, members are found without reading
the whole archive, and each carries its own CRC. Deflate compresses the JSON Lines about
tenfold.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any

import msgspec
from msgspec import Meta, Struct, field

from imagetrust.config import BundleSettings
from imagetrust.errors import ImagetrustError

BUNDLE_FORMAT = "imagetrust-bundle"
# Bumped whenever a reader of the previous version would misread a bundle of this one: a
# kind changes its fields or its meaning. Adding a kind bumps it too (older readers refuse
# kinds they do not know rather than drop them).
BUNDLE_SCHEMA_VERSION = 3  # 2: finding sets and verdicts; 3: engines, publisher SBOMs
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 << 20
SBOM_PREFIX = "sboms/"
_RECORDS = re.compile(r"records/([a-z][a-z0-9-]{0,40})\.jsonl")
_SBOM = re.compile(r"sboms/([0-9a-f]{64})\.json")
_CHUNK = 1 << 20


class BundleError(ImagetrustError):
    """A bundle that cannot be read or trusted; nothing from it is kept."""


class MemberInfo(Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=200)]
    bytes: Annotated[int, Meta(ge=0)]
    sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
    records: Annotated[int, Meta(ge=0)] = 0


class Manifest(Struct, frozen=True, forbid_unknown_fields=True):
    format: str
    schema_version: int
    created_at: Annotated[datetime, Meta(tz=True)]
    imagetrust_version: Annotated[str, Meta(max_length=64)]
    since: Annotated[datetime, Meta(tz=True)] | None
    since_run: int | None
    kinds: list[Annotated[str, Meta(max_length=40)]]
    members: list[MemberInfo] = field(default_factory=list)


class _Header(Struct, frozen=True):
    """The two fields read first, so another version is refused by its number, whatever
    else its manifest says."""

    format: Any = None
    schema_version: Any = None


def sbom_member(address: str) -> str:
    """``sha256:<hex>`` -> its member name."""
    algorithm, _, hexdigest = address.partition(":")
    if algorithm != "sha256" or not re.fullmatch("[0-9a-f]{64}", hexdigest):
        raise BundleError(f"not a content address: {address!r}")
    return f"{SBOM_PREFIX}{hexdigest}.json"


def records_member(kind: str) -> str:
    return f"records/{kind}.jsonl"


class BundleWriter:
    """Writes a bundle beside ``path`` and renames it into place on ``close``: a reader
    never sees a half-written bundle, and a failed export leaves no file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._zip = zipfile.ZipFile(
                self._tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True
            )
        except OSError as exc:
            raise BundleError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.members: list[MemberInfo] = []
        self._sboms: set[str] = set()
        self.kinds: list[str] = []

    def write_records(self, kind: str, records: Iterable[Struct]) -> int:
        # Spooled to a temporary file first: exporting SBOM references stores documents
        # as they come, and a zip takes one member at a time.
        import tempfile

        name = records_member(kind)
        encoder = msgspec.json.Encoder(order="sorted")
        digest = hashlib.sha256()
        size = count = 0
        with tempfile.TemporaryFile(dir=self.path.parent) as spool:
            for record in records:
                line = encoder.encode(record) + b"\n"
                spool.write(line)
                digest.update(line)
                size += len(line)
                count += 1
            spool.seek(0)
            with self._zip.open(name, "w", force_zip64=True) as out:
                while chunk := spool.read(_CHUNK):
                    out.write(chunk)
        self.members.append(MemberInfo(name, size, digest.hexdigest(), count))
        self.kinds.append(kind)
        return count

    def write_sbom(self, document: Any) -> str:
        """Store a document once; returns its content address."""
        data = msgspec.json.encode(document, order="sorted")
        hexdigest = hashlib.sha256(data).hexdigest()
        if hexdigest not in self._sboms:
            self._sboms.add(hexdigest)
            name = f"{SBOM_PREFIX}{hexdigest}.json"
            self._zip.writestr(name, data)
            self.members.append(MemberInfo(name, len(data), hexdigest))
        return f"sha256:{hexdigest}"

    def close(
        self, *, created_at: datetime, version: str, since: datetime | None, since_run: int | None
    ) -> Manifest:
        manifest = Manifest(
            format=BUNDLE_FORMAT,
            schema_version=BUNDLE_SCHEMA_VERSION,
            created_at=created_at,
            imagetrust_version=version,
            since=since,
            since_run=since_run,
            kinds=self.kinds,
            members=self.members,
        )
        self._zip.writestr(MANIFEST, msgspec.json.format(msgspec.json.encode(manifest)))
        self._zip.close()
        os.replace(self._tmp, self.path)
        return manifest

    def abort(self) -> None:
        try:
            self._zip.close()
        finally:
            self._tmp.unlink(missing_ok=True)


class BundleReader:
    """One bundle opened for reading; ``check`` first, then ``records`` and ``sbom``."""

    def __init__(self, path: Path, limits: BundleSettings, known_kinds: Iterable[str]) -> None:
        self.path = path
        self.limits = limits
        self._known = list(known_kinds)
        self._zip: zipfile.ZipFile | None = None
        self.manifest: Manifest | None = None
        self._members: dict[str, MemberInfo] = {}
        self._read_total = 0

    def error(self, message: str) -> BundleError:
        return BundleError(f"bundle {self.path}: {message}")

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    # ------------------------------------------------------------------ structure

    def check(self, *, verify: bool = True) -> Manifest:
        """The archive's structure and manifest, and with ``verify`` every member's digest
        (so altered content is refused before any of it is parsed); raises ``BundleError``
        on anything amiss. Reading records checks the digests again as they stream."""
        try:
            size = self.path.stat().st_size
        except OSError as exc:
            raise BundleError(f"cannot read bundle {self.path}: {exc.strerror or exc}") from None
        if size > self.limits.max_bytes:
            raise self.error(f"{size} bytes, over [bundle] max_bytes ({self.limits.max_bytes})")
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
            raise self.error(f"not a bundle (not a readable zip archive: {exc})") from None
        infos = self._zip.infolist()
        if len(infos) > self.limits.max_members:
            raise self.error(
                f"{len(infos)} members, over [bundle] max_members ({self.limits.max_members})"
            )
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise self.error("two members share a name")
        declared = 0
        for info in infos:
            self._check_member(info)
            declared += info.file_size
        if declared > self.limits.max_total_bytes:
            raise self.error(
                f"{declared} bytes decompressed, over [bundle] max_total_bytes "
                f"({self.limits.max_total_bytes})"
            )
        if MANIFEST not in names:
            raise self.error("no manifest.json: not an imagetrust bundle")
        manifest = self._read_manifest()
        listed = {m.name: m for m in manifest.members}
        if len(listed) != len(manifest.members):
            raise self.error("the manifest lists a member twice")
        unlisted = sorted(set(names) - set(listed) - {MANIFEST})
        if unlisted:
            raise self.error(f"member not in the manifest: {unlisted[0]}")
        missing = sorted(set(listed) - set(names))
        if missing:
            raise self.error(f"member listed in the manifest is missing: {missing[0]}")
        by_name = {info.filename: info for info in infos}
        for member in manifest.members:
            if by_name[member.name].file_size != member.bytes:
                raise self.error(f"{member.name}: size differs from the manifest")
        unknown = [k for k in manifest.kinds if k not in self._known]
        if unknown:
            raise self.error(
                f"records of kind {unknown[0]!r}, which this imagetrust does not know",
            )
        for kind in manifest.kinds:
            if records_member(kind) not in listed:
                raise self.error(f"kind {kind!r} has no records member")
        for name in listed:
            match = _RECORDS.fullmatch(name)
            if match is not None and match.group(1) not in manifest.kinds:
                raise self.error(f"{name}: a kind the manifest does not name")
        self.manifest = manifest
        self._members = listed
        if verify:
            for member in manifest.members:
                self._verify(member)
        return manifest

    def _verify(self, member: MemberInfo) -> None:
        digest = hashlib.sha256()
        size = 0
        try:
            with self._open(member.name) as stream:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > member.bytes:
                        break
                    digest.update(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise self.error(f"{member.name}: damaged ({exc})") from None
        if size != member.bytes or digest.hexdigest() != member.sha256:
            raise self.error(
                f"{member.name}: content differs from the manifest (damaged or altered)"
            )
        sbom = _SBOM.fullmatch(member.name)
        if sbom is not None and sbom.group(1) != member.sha256:
            raise self.error(f"{member.name}: content differs from its address")

    def _check_member(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        if info.is_dir() or not (
            name == MANIFEST or _RECORDS.fullmatch(name) or _SBOM.fullmatch(name)
        ):
            raise self.error(f"unexpected member {name!r}")
        mode = (info.external_attr >> 16) & 0o170000
        if mode not in (0, 0o100000):  # a plain file (or no mode: written by Python)
            raise self.error(f"{name}: not a plain file")
        limit = MAX_MANIFEST_BYTES if name == MANIFEST else self.limits.max_member_bytes
        if info.file_size > limit:
            raise self.error(
                f"{name}: {info.file_size} bytes decompressed, over the limit ({limit})"
            )

    def _read_manifest(self) -> Manifest:
        data = self._read_all(MANIFEST, MAX_MANIFEST_BYTES)
        try:
            header = msgspec.json.decode(data, type=_Header)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise self.error(f"manifest.json is not valid JSON ({exc})") from None
        if header.format != BUNDLE_FORMAT:
            raise self.error(f"not an imagetrust bundle (format {header.format!r})")
        version = header.schema_version
        if version != BUNDLE_SCHEMA_VERSION:
            newer = isinstance(version, int) and version > BUNDLE_SCHEMA_VERSION
            raise BundleError(
                f"bundle {self.path}: schema version {version!r}; this imagetrust reads "
                f"version {BUNDLE_SCHEMA_VERSION} only",
                hint=(
                    "upgrade imagetrust to merge it"
                    if newer
                    else "export it again with this imagetrust version"
                ),
            )
        try:
            return msgspec.json.decode(data, type=Manifest)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise self.error(f"manifest.json: {exc}") from None

    # ------------------------------------------------------------------ content

    def _open(self, name: str) -> IO[bytes]:
        assert self._zip is not None, "check() first"
        return self._zip.open(name)

    def _read_all(self, name: str, limit: int) -> bytes:
        try:
            with self._open(name) as member:
                data = member.read(limit + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise self.error(f"{name}: damaged ({exc})") from None
        if len(data) > limit:
            raise self.error(f"{name}: over the limit ({limit} bytes)")
        return data

    def _count(self, name: str, size: int) -> None:
        self._read_total += size
        if self._read_total > self.limits.max_total_bytes:
            raise self.error(f"{name}: over [bundle] max_total_bytes")

    def lines(self, kind: str) -> Iterator[bytes]:
        """The kind's JSON lines, each checked for length; the whole member is checked
        against the manifest's digest once the last line has been read."""
        assert self.manifest is not None, "check() first"
        name = records_member(kind)
        info = self._members[name]
        limit = self.limits.max_record_bytes
        digest = hashlib.sha256()
        size = count = 0
        try:
            with self._open(name) as member:
                while True:
                    line = member.readline(limit + 2)
                    if not line:
                        break
                    if len(line) > limit + 1 or (len(line) == limit + 1 and line[-1:] != b"\n"):
                        raise self.error(f"{name}: a record over {limit} bytes")
                    digest.update(line)
                    size += len(line)
                    self._count(name, len(line))
                    count += 1
                    yield line
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise self.error(f"{name}: damaged ({exc})") from None
        if size != info.bytes or digest.hexdigest() != info.sha256:
            raise self.error(f"{name}: content differs from the manifest (damaged or altered)")
        if count != info.records:
            raise self.error(f"{name}: {count} records, the manifest says {info.records}")

    def sbom(self, address: str) -> bytes:
        """A document by its content address, checked against it."""
        name = sbom_member(address)
        if name not in self._members:
            raise self.error(f"refers to {address}, which it does not hold")
        data = self._read_all(name, self.limits.max_record_bytes)
        self._count(name, len(data))
        if hashlib.sha256(data).hexdigest() != name[len(SBOM_PREFIX) : -len(".json")]:
            raise self.error(f"{name}: content differs from its address (damaged or altered)")
        return data
