"""An export (a store's records into a bundle) and a merge (bundles into a store).

An export reads one snapshot of the store (so its kinds agree with each other) and writes
nothing to it. A merge checks every bundle's structure and manifest first, then applies
all of them in **one transaction**: a bundle that turns out damaged half-way (a record
that does not decode, a member whose digest differs, an SBOM it does not hold) rolls the
whole merge back, and the store is as it was.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct, field
from sqlalchemy import Connection, select

from imagetrust import __version__
from imagetrust.config import BundleSettings
from imagetrust.errors import UsageError
from imagetrust.store.bundle.format import BundleError, BundleReader, BundleWriter, Manifest
from imagetrust.store.bundle.kinds import (
    KIND_NAMES,
    KINDS,
    Counts,
    ExportScope,
    MergeContext,
    RecordError,
)
from imagetrust.store.database import Store
from imagetrust.store.schema import runs

MERGE_RUN_KIND = "merge"
LAST = "last"


class ExportSummary(Struct):
    path: str
    bytes: int
    since: datetime | None
    since_run: int | None
    records: dict[str, int]
    sboms: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "bytes": self.bytes,
            "since": self.since.isoformat() if self.since else None,
            "since_run": self.since_run,
            "records": self.records,
            "sboms": self.sboms,
        }


def _since(conn: Connection, since: str | None) -> tuple[int | None, datetime | None]:
    """``--since RUN``: a run id, or ``last`` for the newest run that another did not start
    (a ``run`` rather than the catalog refresh inside it)."""
    if since is None:
        return None, None
    if since == LAST:
        candidates = conn.execute(
            select(runs.c.id, runs.c.started_at, runs.c.parameters)
            .where(runs.c.status != "running")
            .order_by(runs.c.id.desc())
        )
        for row in candidates:
            if not (isinstance(row.parameters, dict) and "run_id" in row.parameters):
                return int(row.id), row.started_at
        raise UsageError("--since last: the store has no finished run yet")
    try:
        run_id = int(since)
    except ValueError:
        raise UsageError(f"--since: a run id or `last`, got {since!r}") from None
    started = conn.execute(select(runs.c.started_at).where(runs.c.id == run_id)).scalar()
    if started is None:
        raise UsageError(f"--since: no run #{run_id} in this store")
    return run_id, started


def export_bundle(store: Store, path: Path, *, since: str | None, now: datetime) -> ExportSummary:
    """Everything (or what run ``since`` and later wrote) into a new bundle at ``path``."""
    writer = BundleWriter(path)
    try:
        with store.read() as conn:
            since_run, since_time = _since(conn, since)
            scope = ExportScope(since_time, since_run, writer.write_sbom)
            records = {
                kind.name: writer.write_records(kind.name, kind.export(conn, scope))
                for kind in KINDS
            }
        manifest = writer.close(
            created_at=now, version=__version__, since=since_time, since_run=since_run
        )
    except BaseException:
        writer.abort()
        raise
    sboms = sum(1 for m in manifest.members if m.name.startswith("sboms/"))
    return ExportSummary(str(path), path.stat().st_size, since_time, since_run, records, sboms)


class BundleCounts(Struct):
    path: str
    created_at: datetime
    imagetrust_version: str
    counts: dict[str, Counts]


class MergeSummary(Struct):
    run_id: int
    bundles: list[BundleCounts] = field(default_factory=list)

    def totals(self) -> dict[str, Counts]:
        totals: dict[str, Counts] = {}
        for bundle in self.bundles:
            for kind, counts in bundle.counts.items():
                total = totals.setdefault(kind, Counts())
                total.added += counts.added
                total.updated += counts.updated
                total.unchanged += counts.unchanged
        return {kind: totals[kind] for kind in KIND_NAMES if kind in totals}

    @property
    def changed(self) -> bool:
        return any(c.added or c.updated for c in self.totals().values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "changed": self.changed,
            "bundles": [
                {
                    "path": b.path,
                    "created_at": b.created_at.isoformat(),
                    "imagetrust_version": b.imagetrust_version,
                    "records": {k: c.as_dict() for k, c in b.counts.items()},
                }
                for b in self.bundles
            ],
            "records": {k: c.as_dict() for k, c in self.totals().items()},
        }


def _records(reader: BundleReader, kind: str, record: type[Struct]) -> Iterator[Any]:
    decoder = msgspec.json.Decoder(record)
    for number, line in enumerate(reader.lines(kind), start=1):
        try:
            yield decoder.decode(line)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise reader.error(f"records/{kind}.jsonl line {number}: {exc}") from None


def _apply(conn: Connection, reader: BundleReader, manifest: Manifest) -> dict[str, Counts]:
    ctx = MergeContext(conn, reader.sbom)
    for kind in KINDS:
        if kind.name not in manifest.kinds:
            continue
        records = _records(reader, kind.name, kind.record)
        try:
            kind.merge(conn, records, ctx)
            # Every record read: a member's digest is checked after its last line.
            if next(records, None) is not None:
                raise RecordError(f"the {kind.name} merge left records unread")
        except RecordError as exc:
            raise reader.error(f"records/{kind.name}.jsonl: {exc}") from None
        ctx.count(kind.name)
    return ctx.counts


def check_bundles(paths: Sequence[Path], limits: BundleSettings) -> list[Manifest]:
    """Open each bundle and check its structure, manifest and every member's digest: run
    before the store is touched, so a damaged or foreign file costs nothing."""
    manifests = []
    for path in paths:
        with BundleReader(path, limits, KIND_NAMES) as reader:
            manifests.append(reader.check())
    return manifests


def merge_bundles(
    conn: Connection,
    paths: Sequence[Path],
    *,
    limits: BundleSettings,
    run_id: int,
) -> MergeSummary:
    """Apply ``paths`` in the caller's transaction (the caller rolls back on any error)."""
    summary = MergeSummary(run_id)
    for path in paths:
        with BundleReader(path, limits, KIND_NAMES) as reader:
            # Structure only: ``check_bundles`` verified the digests, and reading the
            # records checks each member's digest again at its end.
            manifest = reader.check(verify=False)
            counts = _apply(conn, reader, manifest)
        summary.bundles.append(
            BundleCounts(str(path), manifest.created_at, manifest.imagetrust_version, counts)
        )
    return summary


__all__ = [
    "LAST",
    "MERGE_RUN_KIND",
    "BundleError",
    "ExportSummary",
    "MergeSummary",
    "check_bundles",
    "export_bundle",
    "merge_bundles",
]
