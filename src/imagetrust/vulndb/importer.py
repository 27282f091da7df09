"""``db import``: OSV exports and Alpine secdb files into the store, with no network.

Sources are recognised by content, not by name: a zip (OSV's ``all.zip`` or one
ecosystem's), a folder (walked recursively; ``.json``, ``.yaml``, ``.yml`` files), or one
file. A JSON object with an ``id`` is an OSV record, a list is a list of them, a document
with ``distroversion`` and ``packages`` is secdb.

Exports run to gigabytes, so a zip is read member by member and every read is bounded
(``max_file_bytes``): a zip bomb member is cut off and reported, never inflated in memory.
A malformed record is counted and reported with its file and id, and the import goes on.
Records are written one batch per transaction; a re-import of the same source replaces
records with the same id (skipping the write when the content hash is unchanged) and
removes records the source no longer has, so the store mirrors the last import. Each
import stamps the source with a version string (import time + content hash) that findings
quote, so a finding says which database produced it.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from imagetrust.store.database import Store
from imagetrust.store.schema import vuln_affected, vuln_records, vuln_sources
from imagetrust.vulndb.errors import VulnDbError
from imagetrust.vulndb.osv import OsvRecord, OsvRecordError, ecosystem_base, package_key
from imagetrust.vulndb.osv import parse_record as parse_osv
from imagetrust.vulndb.secdb import (
    SecdbFile,
    load_document,
    looks_like_secdb,
    parse_secdb,
    secdb_records,
)

DATA_SUFFIXES = (".json", ".yaml", ".yml")
MAX_PROBLEMS_KEPT = 200  # reported individually; the count is always complete

Progress = Callable[[int, int], None]  # (records written, files read)


@dataclass(frozen=True)
class ImportLimits:
    max_file_bytes: int = 64 * 1024 * 1024  # one record file or zip member, decompressed
    batch_size: int = 1000


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
    per_ecosystem: Counter[str] = field(default_factory=Counter)
    skipped_count: int = 0
    skipped: list[Problem] = field(default_factory=list)
    skipped_reasons: Counter[str] = field(default_factory=Counter)

    def skip(self, problem: Problem) -> None:
        self.skipped_count += 1
        self.skipped_reasons[_reason_class(problem.reason)] += 1
        if len(self.skipped) < MAX_PROBLEMS_KEPT:
            self.skipped.append(problem)

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
            "skipped": self.skipped_count,
            "per_ecosystem": dict(sorted(self.per_ecosystem.items())),
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
        }


def _reason_class(reason: str) -> str:
    return reason.split(":", 1)[0][:60]


@dataclass
class _Walker:
    """Yields (label, bytes) for every data file of a source, and records read problems."""

    root: Path
    limits: ImportLimits
    result: ImportResult
    container: str = "file"

    def items(self) -> Iterator[tuple[str, bytes]]:
        if self.root.is_dir():
            self.container = "dir"
            yield from self._folder()
        elif self.root.is_file():
            if zipfile.is_zipfile(self.root):
                self.container = "zip"
                yield from self._zip(self.root)
            else:
                data = self._read_file(self.root, str(self.root))
                if data is not None:
                    yield str(self.root), data
        else:
            raise VulnDbError(f"{self.root}: no such file or folder")

    def _folder(self) -> Iterator[tuple[str, bytes]]:
        for folder, dirs, files in os.walk(self.root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or not name.lower().endswith(DATA_SUFFIXES):
                    continue
                path = Path(folder) / name
                label = str(path.relative_to(self.root))
                if not path.is_file():
                    continue
                data = self._read_file(path, label)
                if data is not None:
                    yield label, data

    def _read_file(self, path: Path, label: str) -> bytes | None:
        self.result.files += 1
        try:
            with path.open("rb") as handle:
                data = handle.read(self.limits.max_file_bytes + 1)
        except OSError as exc:
            self.result.skip(Problem(label, None, f"unreadable: {exc.strerror or exc}"))
            return None
        if len(data) > self.limits.max_file_bytes:
            self.result.skip(
                Problem(label, None, f"too large: over {self.limits.max_file_bytes} bytes")
            )
            return None
        return data

    def _zip(self, path: Path) -> Iterator[tuple[str, bytes]]:
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise VulnDbError(f"{path}: not a readable zip: {exc}") from None
        with archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                self.result.files += 1
                label = info.filename
                data = self._read_member(archive, info)
                if data is not None:
                    yield label, data

    def _read_member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
        limit = self.limits.max_file_bytes
        if info.file_size > limit:  # the header may lie; the bounded read below is the guard
            self.result.skip(Problem(info.filename, None, f"too large: over {limit} bytes"))
            return None
        try:
            with archive.open(info) as member:
                data = member.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
            self.result.skip(Problem(info.filename, None, f"unreadable zip member: {exc}"))
            return None
        except RuntimeError as exc:  # encrypted member
            self.result.skip(Problem(info.filename, None, f"unreadable zip member: {exc}"))
            return None
        if len(data) > limit:
            self.result.skip(Problem(info.filename, None, f"too large: over {limit} bytes"))
            return None
        return data


def _decode_json(data: bytes) -> Any:
    if b"\\u0000" in data:  # PostgreSQL text cannot hold NUL; drop it before decoding
        data = data.replace(b"\\u0000", b"")
    return json.loads(data)


class _Writer:
    """Batches records into transactions; knows which are new, changed or unchanged."""

    def __init__(
        self,
        store: Store,
        result: ImportResult,
        generation: int,
        limits: ImportLimits,
        progress: Progress | None,
    ) -> None:
        self.store = store
        self.result = result
        self.generation = generation
        self.limits = limits
        self.progress = progress
        self.batch: dict[str, tuple[OsvRecord, str]] = {}
        self.digest = hashlib.sha256()
        self.seen: set[str] = set()

    def add(self, record: OsvRecord) -> None:
        content_hash = record.content_hash()
        self.digest.update(record.id.encode() + b"\0" + content_hash.encode())
        if record.id in self.seen:
            self.result.duplicates += 1
        else:
            self.seen.add(record.id)
            self.result.records += 1
            for ecosystem in {a.package.ecosystem for a in record.affected if a.package}:
                self.result.per_ecosystem[ecosystem] += 1
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
            _write_batch(conn, self.result, self.generation, batch)
        if self.progress is not None:
            self.progress(self.result.records, self.result.files)


def _write_batch(
    conn: Connection, result: ImportResult, generation: int, batch: dict[str, tuple[OsvRecord, str]]
) -> None:
    source_id = result.source_id
    existing = {
        row.record_id: (row.id, row.content_hash)
        for row in conn.execute(
            select(vuln_records.c.id, vuln_records.c.record_id, vuln_records.c.content_hash).where(
                vuln_records.c.source_id == source_id, vuln_records.c.record_id.in_(list(batch))
            )
        )
    }
    unchanged: list[int] = []
    changed: list[tuple[int, OsvRecord, str]] = []
    new: list[tuple[OsvRecord, str]] = []
    for record_id, (record, content_hash) in batch.items():
        if record_id not in existing:
            new.append((record, content_hash))
        elif existing[record_id][1] == content_hash:
            unchanged.append(existing[record_id][0])
        else:
            changed.append((existing[record_id][0], record, content_hash))
    if unchanged:
        conn.execute(
            update(vuln_records)
            .where(vuln_records.c.id.in_(unchanged))
            .values(generation=generation)
        )
        result.unchanged += len(unchanged)
    affected_rows: list[dict[str, Any]] = []
    if changed:
        pks = [pk for pk, _, _ in changed]
        conn.execute(delete(vuln_affected).where(vuln_affected.c.record_pk.in_(pks)))
        conn.execute(
            update(vuln_records).where(vuln_records.c.id == bindparam("pk_")),
            [
                {"pk_": pk, **_record_row(record, content_hash, source_id, generation)}
                for pk, record, content_hash in changed
            ],
        )
        for pk, record, _ in changed:
            affected_rows.extend(_affected_rows(record, pk))
        result.updated += len(changed)
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
                    vuln_records.c.record_id.in_([record.id for record, _ in new]),
                )
            )
        }
        for record, _ in new:
            affected_rows.extend(_affected_rows(record, ids[record.id]))
        result.inserted += len(new)
    if affected_rows:
        conn.execute(insert(vuln_affected), affected_rows)


def _record_row(
    record: OsvRecord, content_hash: str, source_id: int, generation: int
) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "record_id": record.id,
        "generation": generation,
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


def _begin_source(store: Store, name: str, path: str, now: datetime) -> tuple[int, int]:
    with store.transaction() as conn:
        row = conn.execute(
            select(vuln_sources.c.id, vuln_sources.c.generation).where(vuln_sources.c.name == name)
        ).first()
        if row is None:
            key = conn.execute(
                insert(vuln_sources).values(
                    name=name,
                    kind="pending",
                    path=path,
                    version=None,
                    generation=1,
                    imported_at=now,
                    counts={},
                )
            ).inserted_primary_key
            assert key is not None
            return int(key[0]), 1
        generation = int(row.generation) + 1
        conn.execute(
            update(vuln_sources)
            .where(vuln_sources.c.id == row.id)
            .values(generation=generation, path=path)
        )
        return int(row.id), generation


def _finish_source(store: Store, result: ImportResult, generation: int) -> None:
    with store.transaction() as conn:
        stale = select(vuln_records.c.id).where(
            vuln_records.c.source_id == result.source_id,
            vuln_records.c.generation != generation,
        )
        conn.execute(delete(vuln_affected).where(vuln_affected.c.record_pk.in_(stale)))
        removed = conn.execute(
            delete(vuln_records).where(
                vuln_records.c.source_id == result.source_id,
                vuln_records.c.generation != generation,
            )
        ).rowcount
        result.removed = int(removed or 0)
        conn.execute(
            update(vuln_sources)
            .where(vuln_sources.c.id == result.source_id)
            .values(
                kind=result.kind,
                version=result.version,
                imported_at=result.imported_at,
                counts=result.counts(),
            )
        )


def import_path(
    store: Store,
    path: Path,
    *,
    now: datetime,
    name: str | None = None,
    limits: ImportLimits | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import every record under ``path`` as the source ``name`` (default: the resolved path).

    ``now`` comes from the caller's clock, so imported_at and the version are reproducible.
    """
    limits = limits or ImportLimits()
    resolved = path.expanduser().resolve()
    if not resolved.exists():
        raise VulnDbError(f"{path}: no such file or folder")
    source_name = name or str(resolved)
    source_id, generation = _begin_source(store, source_name, str(resolved), now)
    result = ImportResult(
        source_id=source_id,
        name=source_name,
        kind="pending",
        path=str(resolved),
        version="",
        imported_at=now,
    )
    walker = _Walker(resolved, limits, result)
    writer = _Writer(store, result, generation, limits, progress)
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
    result.version = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{writer.digest.hexdigest()[:16]}"
    _finish_source(store, result, generation)
    return result


def _dispatch(
    label: str,
    data: bytes,
    result: ImportResult,
    writer: _Writer,
    secdb_files: list[SecdbFile],
    formats: set[str],
) -> None:
    """Recognise one file by its content and feed its records to the writer."""
    stripped = data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    document: Any
    if stripped in (b"{", b"["):
        try:
            document = _decode_json(data)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            result.skip(Problem(label, None, f"invalid JSON: {exc}"))
            return
    elif label.lower().endswith((".yaml", ".yml")) or b"distroversion:" in data[:4096]:
        try:
            document = load_document(data, label)
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
            record = parse_osv(item)
        except OsvRecordError as exc:
            result.skip(Problem(label, exc.record_id, f"invalid OSV: {exc.message}"))
            continue
        formats.add("osv")
        writer.add(record)
