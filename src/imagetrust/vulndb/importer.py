"""``db import``: OSV exports and Alpine secdb files into the store, with no network.

Sources are recognised by content, not by name: a zip (OSV's ``all.zip`` or one
ecosystem's), a folder (walked recursively; ``.json``, ``.yaml``, ``.yml`` files), or one
file. A JSON object with an ``id`` is an OSV record, a list is a list of them, a document
with ``distroversion`` and ``packages`` is secdb.

**All or nothing.** A source is replaced only by a complete, readable import. Each import
builds a new *generation* of the source beside the live one, in batches (so a large export
never holds one long write lock), and switches to it in one transaction at the end; until
then readers see the previous generation whole, and after it the new one whole. A
transport-level fault fails the import and leaves the live generation exactly as it was: a
truncated or damaged zip, a member whose CRC does not match, duplicate or overlapping
members, a file that cannot be read or is over the size limit, or an import that holds no
advisory at all (an empty or cut-short download, ``/etc/hostname``). A malformed record
inside a sound container is a data fault: it is counted and reported with its file and id,
and the import goes on; a malformed ``affected`` entry of an otherwise sound record is
dropped and reported (``affected[i]``), and the record keeps its other entries. An import
that dies (``kill -9``, power loss) leaves rows nobody reads; the next import of that source
removes them first. Two imports of one source never
interleave: the second waits for a per-source lock (bounded) or fails clearly.

Unchanged records are shared between generations (one ``seen_in`` stamp, no rewrite), a
changed record gets a new row and its old row a ``removed_in``, and the rows no generation
can see any more are deleted once the switch is made. Each generation is stamped with a
version string (import time + a digest of its records) that findings quote; re-importing
unchanged data keeps the version.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update

from imagetrust.config import VulnDbSettings
from imagetrust.store.database import Store
from imagetrust.store.locks import exclusive
from imagetrust.store.schema import vuln_affected, vuln_records, vuln_sources
from imagetrust.vulndb.errors import VulnDbError
from imagetrust.vulndb.osv import (
    OsvRecord,
    OsvRecordError,
    ecosystem_base,
    package_key,
    parse_record_keeping,
)
from imagetrust.vulndb.secdb import (
    SecdbFile,
    load_document,
    looks_like_secdb,
    parse_secdb,
    secdb_records,
)

log = logging.getLogger(__name__)

DATA_SUFFIXES = (".json", ".yaml", ".yml")
MAX_PROBLEMS_KEPT = 200  # reported individually; the count is always complete
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra length
_LOCAL_HEADER_SIZE = 30
DEFAULT_LOCK_TIMEOUT = 600.0  # seconds a second import of the same source waits
_READ_CHUNK = 1 << 20
_FIRST_BYTE = re.compile(rb"(?:\xef\xbb\xbf)?\s*(.)", re.DOTALL)

Progress = Callable[[int, int], None]  # (records written, files read)
FileBytes = bytes | bytearray  # zip members come as bytearrays, read without a copy


_DEFAULTS = VulnDbSettings()


@dataclass(frozen=True)
class ImportLimits:
    """What one import may cost (``[vulndb]`` settings). Feeds are untrusted: each bound
    stops a file, or the import, with an error naming the file rather than letting it take
    the machine's memory or time. ``max_json_nodes`` counts a file's objects and arrays
    before it is parsed: a Python dict costs ~10x its JSON text, so this, not the file
    size, is what bounds the parse's memory."""

    max_file_bytes: int = _DEFAULTS.max_file_bytes
    batch_size: int = 1000
    max_members: int = _DEFAULTS.max_members
    max_total_bytes: int = _DEFAULTS.max_total_bytes
    max_json_nodes: int = _DEFAULTS.max_json_nodes
    max_yaml_depth: int = _DEFAULTS.max_yaml_depth

    @classmethod
    def from_settings(cls, settings: VulnDbSettings) -> ImportLimits:
        return cls(
            max_file_bytes=settings.max_file_bytes,
            max_members=settings.max_members,
            max_total_bytes=settings.max_total_bytes,
            max_json_nodes=settings.max_json_nodes,
            max_yaml_depth=settings.max_yaml_depth,
        )


@dataclass(frozen=True)
class Problem:
    file: str
    record_id: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "id": self.record_id, "reason": self.reason}


@dataclass
class ImportResult:
    source_id: int
    name: str
    kind: str
    path: str
    version: str
    imported_at: datetime
    files: int = 0
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    duplicates: int = 0
    not_affected: int = 0
    filtered: int = 0  # records of no ecosystem the import was asked for
    per_ecosystem: Counter[str] = field(default_factory=Counter)
    # records naming no package (NVD-derived CVE records): severity for others' aliases
    without_packages: int = 0
    skipped_count: int = 0
    skipped: list[Problem] = field(default_factory=list)
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    # malformed ``affected`` entries left out of records that were kept (``affected[i]``)
    dropped_entries_count: int = 0
    dropped_entries: list[Problem] = field(default_factory=list)

    def skip(self, problem: Problem) -> None:
        self.skipped_count += 1
        self.skipped_reasons[_reason_class(problem.reason)] += 1
        if len(self.skipped) < MAX_PROBLEMS_KEPT:
            self.skipped.append(problem)

    def drop_entry(self, problem: Problem) -> None:
        self.dropped_entries_count += 1
        if len(self.dropped_entries) < MAX_PROBLEMS_KEPT:
            self.dropped_entries.append(problem)

    def counts(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records": self.records,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "duplicates": self.duplicates,
            "not_affected": self.not_affected,
            "filtered": self.filtered,
            "skipped": self.skipped_count,
            "dropped_entries": self.dropped_entries_count,
            "per_ecosystem": dict(sorted(self.per_ecosystem.items())),
            "without_packages": self.without_packages,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "source": {
                "id": self.source_id,
                "name": self.name,
                "kind": self.kind,
                "path": self.path,
                "version": self.version,
                "imported_at": self.imported_at,
            },
            "counts": self.counts(),
            "skipped_reasons": dict(sorted(self.skipped_reasons.items())),
            "skipped": [p.to_json() for p in self.skipped],
            "dropped_entries": [p.to_json() for p in self.dropped_entries],
        }


def _reason_class(reason: str) -> str:
    return reason.split(":", 1)[0][:60]


@dataclass
class _Walker:
    """Yields (label, bytes) for every data file of a source.

    A file or member that cannot be read whole and intact ends the import (``VulnDbError``):
    what it held is unknown, so the source would be incomplete.
    """

    root: Path
    limits: ImportLimits
    result: ImportResult
    container: str = "file"

    def items(self) -> Iterator[tuple[str, FileBytes]]:
        if self.root.is_dir():
            self.container = "dir"
            yield from self._folder()
        elif self.root.is_file():
            if _is_zip(self.root):
                self.container = "zip"
                yield from self._zip(self.root)
            else:
                yield str(self.root), self._read_file(self.root, str(self.root))
        else:
            raise VulnDbError(f"{self.root}: no such file or folder")

    def _folder(self) -> Iterator[tuple[str, FileBytes]]:
        for folder, dirs, files in os.walk(self.root, followlinks=False, onerror=self._walk_error):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or not name.lower().endswith(DATA_SUFFIXES):
                    continue
                path = Path(folder) / name
                label = str(path.relative_to(self.root))
                if not path.is_file():
                    continue
                yield label, self._read_file(path, label)

    def _walk_error(self, exc: OSError) -> None:
        raise VulnDbError(f"{exc.filename}: unreadable folder: {exc.strerror or exc}")

    def _read_file(self, path: Path, label: str) -> bytes:
        self.result.files += 1
        try:
            with path.open("rb") as handle:
                data = handle.read(self.limits.max_file_bytes + 1)
        except OSError as exc:
            raise VulnDbError(f"{label}: unreadable: {exc.strerror or exc}") from None
        if len(data) > self.limits.max_file_bytes:
            raise _too_large(label, self.limits.max_file_bytes)
        return data

    def _zip(self, path: Path) -> Iterator[tuple[str, FileBytes]]:
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise VulnDbError(
                f"{path}: not a readable zip (truncated or damaged?): {exc}"
            ) from None
        with archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) > self.limits.max_members:
                raise VulnDbError(
                    f"{path}: {len(members)} members, over the limit of {self.limits.max_members}"
                )
            total = sum(info.file_size for info in members)
            if total > self.limits.max_total_bytes:
                raise VulnDbError(
                    f"{path}: {total} bytes once inflated, over the limit of "
                    f"{self.limits.max_total_bytes}"
                )
            _check_members(path, archive, members)
            for info in members:
                self.result.files += 1
                yield info.filename, self._read_member(archive, info)

    def _read_member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> FileBytes:
        """The member's bytes, in one growing buffer: ``read(n)`` would hold the data twice
        at its peak (it concatenates what it inflates)."""
        limit = self.limits.max_file_bytes
        if info.file_size > limit:  # the header may lie; the bounded read below is the guard
            raise _too_large(info.filename, limit)
        data = bytearray()
        try:
            with archive.open(info) as member:
                while len(data) <= limit and (chunk := member.read(_READ_CHUNK)):
                    data += chunk
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            EOFError,
            NotImplementedError,
            RuntimeError,  # an encrypted member
            ValueError,
        ) as exc:
            raise VulnDbError(f"{info.filename}: unreadable zip member: {exc}") from None
        if len(data) > limit:
            raise _too_large(info.filename, limit)
        return data  # a bytearray: everything downstream reads it as bytes, without a copy


def _too_large(label: str, limit: int) -> VulnDbError:
    return VulnDbError(
        f"{label}: over the {limit}-byte limit for one advisory file",
        hint="no real advisory is this large; check the download",
    )


def _is_zip(path: Path) -> bool:
    """A zip by its central directory or, when that is missing (a cut-short download), by
    its first bytes: such a file must fail as a damaged zip, not be read as one record."""
    if zipfile.is_zipfile(path):
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError:
        return False
    return head in ZIP_MAGIC


def _check_members(path: Path, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> None:
    """Refuse duplicate names and members whose data overlap.

    Two central-directory entries sharing bytes are how small zips inflate to terabytes
    (and Python's zipfile does not check); a duplicate name makes "the" record ambiguous.
    Each member's data is located from its local header, so the check is exact.
    """
    seen: set[str] = set()
    for info in members:
        if info.filename in seen:
            raise VulnDbError(f"{path}: damaged zip: member {info.filename!r} appears twice")
        seen.add(info.filename)
    handle = archive.fp
    if handle is None:  # pragma: no cover - an open archive always has its file
        return
    extents: list[tuple[int, int, str]] = []
    for info in archive.infolist():
        handle.seek(info.header_offset)
        header = handle.read(_LOCAL_HEADER_SIZE)
        if len(header) < _LOCAL_HEADER_SIZE:
            raise VulnDbError(f"{path}: damaged zip: {info.filename!r} lies past the end")
        signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        if signature != b"PK\x03\x04":
            raise VulnDbError(f"{path}: damaged zip: no local header for {info.filename!r}")
        start = info.header_offset
        end = start + _LOCAL_HEADER_SIZE + name_length + extra_length + info.compress_size
        extents.append((start, end, info.filename))
    extents.sort()
    for (_, end, name), (start, _, other) in itertools.pairwise(extents):
        if start < end:
            raise VulnDbError(f"{path}: damaged zip: members {name!r} and {other!r} overlap")
    if extents and extents[-1][1] > archive.start_dir:
        raise VulnDbError(f"{path}: damaged zip: {extents[-1][2]!r} runs into the directory")


def _decode_json(data: FileBytes) -> Any:
    if b"\\u0000" in data:  # PostgreSQL text cannot hold NUL; drop it before decoding
        data = data.replace(b"\\u0000", b"")
    return json.loads(data)


class _Writer:
    """Batches records into transactions of the generation being built; knows which are new,
    changed or unchanged against the live generation."""

    def __init__(
        self,
        store: Store,
        result: ImportResult,
        build: _Build,
        limits: ImportLimits,
        progress: Progress | None,
        ecosystems: frozenset[str] | None = None,
    ) -> None:
        self.store = store
        self.result = result
        self.build = build
        self.limits = limits
        self.progress = progress
        self.ecosystems = ecosystems
        self.batch: dict[str, tuple[OsvRecord, str]] = {}
        self.seen: set[str] = set()

    def add(self, record: OsvRecord) -> None:
        if self.ecosystems is not None:
            kept = [
                a
                for a in record.affected
                if a.package is not None and ecosystem_base(a.package.ecosystem) in self.ecosystems
            ]
            if not kept:
                self.result.filtered += 1
                return
            if len(kept) != len(record.affected):
                record = record.model_copy(update={"affected": kept})
        content_hash = record.content_hash()
        if record.id in self.seen:
            self.result.duplicates += 1
        else:
            self.seen.add(record.id)
            self.result.records += 1
            ecosystems = {a.package.ecosystem for a in record.affected if a.package}
            for ecosystem in ecosystems:
                self.result.per_ecosystem[ecosystem] += 1
            if not ecosystems:
                self.result.without_packages += 1
        if record.id in self.batch:
            del self.batch[record.id]  # the later copy wins, as on a re-import
        self.batch[record.id] = (record, content_hash)
        if len(self.batch) >= self.limits.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch = self.batch, {}
        with self.store.transaction() as conn:
            _write_batch(conn, self.result, self.build, batch)
        if self.progress is not None:
            self.progress(self.result.records, self.result.files)


def _write_batch(
    conn: Connection, result: ImportResult, build: _Build, batch: dict[str, tuple[OsvRecord, str]]
) -> None:
    """Write one batch into generation ``build.generation`` without touching what the live
    generation shows: unchanged live rows get a ``seen_in`` stamp, changed ones a
    ``removed_in`` (still visible until the switch) and a new row beside them."""
    source_id, generation, live = build.source_id, build.generation, build.live
    building: dict[str, tuple[int, str]] = {}  # an earlier copy in this very import
    current: dict[str, tuple[int, str]] = {}  # the live row
    for row in conn.execute(
        select(
            vuln_records.c.id,
            vuln_records.c.record_id,
            vuln_records.c.content_hash,
            vuln_records.c.added_in,
        ).where(
            vuln_records.c.source_id == source_id,
            vuln_records.c.record_id.in_(list(batch)),
            or_(
                vuln_records.c.added_in == generation,
                and_(vuln_records.c.added_in <= live, vuln_records.c.removed_in.is_(None)),
            ),
        )
    ):
        target = building if row.added_in == generation else current
        target[row.record_id] = (row.id, row.content_hash)
    unchanged: list[int] = []
    replaced: list[int] = []  # live rows this generation replaces
    rewrite: list[tuple[int, OsvRecord, str]] = []  # rows of this generation, rewritten
    new: list[tuple[OsvRecord, str]] = []
    for record_id, (record, content_hash) in batch.items():
        if record_id in building:
            pk, known_hash = building[record_id]
            if known_hash != content_hash:
                rewrite.append((pk, record, content_hash))
        elif record_id in current and current[record_id][1] == content_hash:
            unchanged.append(current[record_id][0])
        else:
            if record_id in current:
                replaced.append(current[record_id][0])
                result.updated += 1
            else:
                result.inserted += 1
            new.append((record, content_hash))
    if unchanged:
        conn.execute(
            update(vuln_records).where(vuln_records.c.id.in_(unchanged)).values(seen_in=generation)
        )
        result.unchanged += len(unchanged)
    if replaced:
        conn.execute(
            update(vuln_records)
            .where(vuln_records.c.id.in_(replaced))
            .values(removed_in=generation)
        )
    affected_rows: list[dict[str, Any]] = []
    if rewrite:
        pks = [pk for pk, _, _ in rewrite]
        conn.execute(delete(vuln_affected).where(vuln_affected.c.record_pk.in_(pks)))
        conn.execute(
            update(vuln_records).where(vuln_records.c.id == bindparam("pk_")),
            [
                {"pk_": pk, **_record_row(record, content_hash, source_id, generation)}
                for pk, record, content_hash in rewrite
            ],
        )
        for pk, record, _ in rewrite:
            affected_rows.extend(_affected_rows(record, pk))
    if new:
        conn.execute(
            insert(vuln_records),
            [_record_row(record, h, source_id, generation) for record, h in new],
        )
        ids = {
            row.record_id: row.id
            for row in conn.execute(
                select(vuln_records.c.id, vuln_records.c.record_id).where(
                    vuln_records.c.source_id == source_id,
                    vuln_records.c.added_in == generation,
                    vuln_records.c.record_id.in_([record.id for record, _ in new]),
                )
            )
        }
        for record, _ in new:
            affected_rows.extend(_affected_rows(record, ids[record.id]))
    if affected_rows:
        conn.execute(insert(vuln_affected), affected_rows)


def _record_row(
    record: OsvRecord, content_hash: str, source_id: int, generation: int
) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "record_id": record.id,
        "added_in": generation,
        "seen_in": generation,
        "content_hash": content_hash,
        "modified": record.modified,
        "published": record.published,
        "withdrawn": record.withdrawn,
        "aliases": list(record.aliases),
        "upstream": list(record.upstream),
        "related": list(record.related),
        "summary": record.summary,
        "details": record.details,
        "severity": [s.model_dump() for s in record.severity],
        "references": [r.model_dump() for r in record.references],
        "database_specific": record.database_specific,
    }


def _affected_rows(record: OsvRecord, record_pk: int) -> list[dict[str, Any]]:
    rows = []
    for affected in record.affected:
        package = affected.package
        if package is None:  # GIT-only entries name a repository, not a package: not indexed
            continue
        rows.append(
            {
                "record_pk": record_pk,
                "ecosystem": package.ecosystem,
                "ecosystem_base": ecosystem_base(package.ecosystem),
                "package": package_key(package.ecosystem, package.name),
                "name": package.name,
                "purl": package.purl,
                "ranges": [r.to_json() for r in affected.ranges],
                "versions": list(affected.versions),
                "severity": [s.model_dump() for s in affected.severity],
                "ecosystem_specific": affected.ecosystem_specific,
                "database_specific": affected.database_specific,
            }
        )
    return rows


@dataclass(frozen=True)
class _Build:
    """The generation an import builds, and the live one it will replace."""

    source_id: int
    generation: int
    live: int  # 0: the source has no complete import yet
    live_digest: str | None
    live_version: str | None


def _begin_generation(store: Store, name: str, path: str, now: datetime) -> _Build:
    """Claim the next generation number, after clearing what interrupted imports left.

    Called under the source's lock, so nothing else is building: every row above the live
    generation is an abandoned build, every ``removed_in`` above it a replacement that never
    happened, and every row removed at or below it is dead.
    """
    with store.transaction() as conn:
        row = conn.execute(
            select(
                vuln_sources.c.id,
                vuln_sources.c.generation,
                vuln_sources.c.last_generation,
                vuln_sources.c.content_digest,
                vuln_sources.c.version,
            ).where(vuln_sources.c.name == name)
        ).first()
        if row is None:
            key = conn.execute(
                insert(vuln_sources).values(
                    name=name,
                    kind="pending",
                    path=path,
                    version=None,
                    generation=0,
                    last_generation=1,
                    imported_at=now,
                    counts={},
                )
            ).inserted_primary_key
            assert key is not None
            return _Build(int(key[0]), 1, 0, None, None)
        source_id, live = int(row.id), int(row.generation)
        abandoned = conn.execute(
            _delete_records(
                conn,
                source_id,
                or_(
                    vuln_records.c.added_in > live,
                    and_(vuln_records.c.removed_in.is_not(None), vuln_records.c.removed_in <= live),
                ),
            )
        ).rowcount
        conn.execute(
            update(vuln_records)
            .where(vuln_records.c.source_id == source_id, vuln_records.c.removed_in > live)
            .values(removed_in=None)
        )
        if abandoned:
            log.info("vulndb: %s: removed %d rows left by an unfinished import", name, abandoned)
        generation = max(int(row.last_generation), live) + 1
        conn.execute(
            update(vuln_sources)
            .where(vuln_sources.c.id == source_id)
            .values(last_generation=generation)
        )
        return _Build(source_id, generation, live, row.content_digest, row.version)


def _delete_records(conn: Connection, source_id: int, condition: Any) -> Any:
    """Delete the affected entries of the matching records here; return the record delete."""
    doomed = select(vuln_records.c.id).where(vuln_records.c.source_id == source_id, condition)
    conn.execute(delete(vuln_affected).where(vuln_affected.c.record_pk.in_(doomed)))
    return delete(vuln_records).where(vuln_records.c.source_id == source_id, condition)


def _publish(store: Store, result: ImportResult, build: _Build, now: datetime) -> None:
    """Switch the source to the new generation, in one transaction."""
    generation = build.generation
    with store.transaction() as conn:
        removed = conn.execute(
            update(vuln_records)
            .where(
                vuln_records.c.source_id == build.source_id,
                vuln_records.c.removed_in.is_(None),
                vuln_records.c.added_in <= build.live,
                vuln_records.c.seen_in < generation,
            )
            .values(removed_in=generation)
        ).rowcount
        result.removed = int(removed or 0)
        digest = _generation_digest(conn, build.source_id, generation)
        if digest == build.live_digest and build.live_version:
            result.version = build.live_version  # the same data: the same database version
        else:
            result.version = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{digest[:16]}"
        conn.execute(
            update(vuln_sources)
            .where(vuln_sources.c.id == build.source_id)
            .values(
                generation=generation,
                kind=result.kind,
                path=result.path,
                version=result.version,
                imported_at=result.imported_at,
                counts=result.counts(),
                content_digest=digest,
            )
        )


def _generation_digest(conn: Connection, source_id: int, generation: int) -> str:
    """SHA-256 over the (id, content hash) pairs of one generation, in id order: the same
    records give the same digest whatever order the files came in."""
    digest = hashlib.sha256()
    rows = conn.execute(
        select(vuln_records.c.record_id, vuln_records.c.content_hash)
        .where(
            vuln_records.c.source_id == source_id,
            vuln_records.c.added_in <= generation,
            or_(vuln_records.c.removed_in.is_(None), vuln_records.c.removed_in > generation),
        )
        .order_by(vuln_records.c.record_id)
        .execution_options(yield_per=5000)
    )
    for record_id, content_hash in rows:
        digest.update(f"{record_id}\0{content_hash}\n".encode())
    return digest.hexdigest()


def _collect(store: Store, build: _Build) -> None:
    """Delete the rows the switch made invisible (readers in a snapshot keep theirs)."""
    with store.transaction() as conn:
        conn.execute(
            _delete_records(
                conn,
                build.source_id,
                and_(
                    vuln_records.c.removed_in.is_not(None),
                    vuln_records.c.removed_in <= build.generation,
                ),
            )
        )


def _abandon(store: Store, build: _Build) -> None:
    """Undo a failed build now rather than at the next import; a source that never had a
    complete import goes altogether, so a failed first import adds nothing."""
    with store.transaction() as conn:
        if build.live == 0:
            conn.execute(_delete_records(conn, build.source_id, vuln_records.c.id.is_not(None)))
            conn.execute(delete(vuln_sources).where(vuln_sources.c.id == build.source_id))
            return
        conn.execute(
            _delete_records(conn, build.source_id, vuln_records.c.added_in == build.generation)
        )
        conn.execute(
            update(vuln_records)
            .where(
                vuln_records.c.source_id == build.source_id,
                vuln_records.c.removed_in == build.generation,
            )
            .values(removed_in=None)
        )
        conn.execute(  # nothing pending any more: the source is exactly as it was
            update(vuln_sources)
            .where(vuln_sources.c.id == build.source_id)
            .values(last_generation=build.live)
        )


def import_path(
    store: Store,
    path: Path,
    *,
    now: datetime,
    name: str | None = None,
    limits: ImportLimits | None = None,
    progress: Progress | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_wait: Callable[[], None] | None = None,
    origin: str | None = None,
    ecosystems: frozenset[str] | None = None,
) -> ImportResult:
    """Import every record under ``path`` as the source ``name`` (default: the resolved path).

    ``now`` comes from the caller's clock, so imported_at and the version are reproducible.
    ``origin`` is what the source records as where it came from (a feed's URL; default the
    path); ``ecosystems`` keeps only affected entries of these ecosystems (base names, as
    ``Debian`` for ``Debian:12``), a record left with none being counted as ``filtered``.
    Raises ``VulnDbError`` (the live data untouched) when the import is not complete.
    """
    limits = limits or ImportLimits()
    resolved = path.expanduser().resolve()
    if not resolved.exists():
        raise VulnDbError(f"{path}: no such file or folder")
    source_name = name or str(resolved)
    with exclusive(store, f"vulndb-source:{source_name}", timeout=lock_timeout, on_wait=on_wait):
        build = _begin_generation(store, source_name, origin or str(resolved), now)
        result = ImportResult(
            source_id=build.source_id,
            name=source_name,
            kind="pending",
            path=origin or str(resolved),
            version="",
            imported_at=now,
        )
        try:
            _build(store, resolved, result, build, limits, progress, ecosystems)
            _publish(store, result, build, now)
        except BaseException:
            try:
                _abandon(store, build)
            except Exception:  # the next import clears it; the first error is the one to tell
                log.warning("vulndb: %s: could not undo the failed import now", source_name)
            raise
        _collect(store, build)
    return result


def _build(
    store: Store,
    root: Path,
    result: ImportResult,
    build: _Build,
    limits: ImportLimits,
    progress: Progress | None,
    ecosystems: frozenset[str] | None = None,
) -> None:
    walker = _Walker(root, limits, result)
    writer = _Writer(store, result, build, limits, progress, ecosystems)
    formats: set[str] = set()
    secdb_files: list[SecdbFile] = []
    for label, data in walker.items():
        _dispatch(label, data, result, writer, secdb_files, formats)
    if secdb_files:
        conversion = secdb_records(secdb_files)
        result.not_affected += conversion.not_affected
        for problem in conversion.problems:
            result.skip(Problem(problem.file, problem.item, problem.reason))
        for record in conversion.records:
            writer.add(record)
    writer.flush()
    result.kind = f"{'+'.join(sorted(formats)) or 'empty'}-{walker.container}"
    if result.records == 0:
        found = f"{result.files} file(s) read"
        if result.filtered:
            found += f", {result.filtered} of other ecosystems"
        if result.skipped_count:
            found += f", {result.skipped_count} skipped ({_first_reason(result)})"
        raise VulnDbError(
            f"{root}: no advisories found ({found}); the source was left as it was",
            hint="give an OSV export (zip, folder or JSON file) or an Alpine secdb file",
        )


def _first_reason(result: ImportResult) -> str:
    return result.skipped[0].reason if result.skipped else "see --format json"


def _dispatch(
    label: str,
    data: FileBytes,
    result: ImportResult,
    writer: _Writer,
    secdb_files: list[SecdbFile],
    formats: set[str],
) -> None:
    """Recognise one file by its content and feed its records to the writer."""
    first = _FIRST_BYTE.match(data)  # not data.lstrip(): that copies the whole file
    stripped = first.group(1) if first else b""
    document: Any
    nodes = data.count(b"{") + data.count(b"[")  # an upper bound: braces in strings count too
    if nodes > writer.limits.max_json_nodes:
        limit = writer.limits.max_json_nodes
        result.skip(Problem(label, None, f"too large: {nodes} objects and arrays, limit {limit}"))
        return
    if stripped in (b"{", b"["):
        try:
            document = _decode_json(data)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            result.skip(Problem(label, None, f"invalid JSON: {exc}"))
            return
    elif label.lower().endswith((".yaml", ".yml")) or b"distroversion:" in data[:4096]:
        try:
            document = load_document(data, label, max_depth=writer.limits.max_yaml_depth)
        except VulnDbError as exc:
            result.skip(Problem(label, None, exc.message.removeprefix(f"{label}: ")))
            return
    else:
        result.skip(Problem(label, None, "not JSON: neither an OSV record nor secdb"))
        return
    if looks_like_secdb(document):
        try:
            secdb_files.append(parse_secdb(document, label))
        except VulnDbError as exc:
            result.skip(Problem(label, None, exc.message.removeprefix(f"{label}: ")))
            return
        formats.add("secdb")
        return
    documents = document if isinstance(document, list) else [document]
    for item in documents:
        try:
            record, dropped = parse_record_keeping(item)
        except OsvRecordError as exc:
            result.skip(Problem(label, exc.record_id, f"invalid OSV: {exc.message}"))
            continue
        for entry in dropped:  # the record is kept with its valid entries
            reason = f"affected[{entry.index}] dropped: {entry.reason}"
            result.drop_entry(Problem(label, record.id, reason))
        formats.add("osv")
        writer.add(record)
