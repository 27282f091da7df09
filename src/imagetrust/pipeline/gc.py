"""``imagetrust gc``: drop what no current image needs; keep every history a report reads.

What goes:

- **SBOMs (ours and the publisher's) and finding sets (every engine's) of digests no tag
  has pointed to for ``keep_days``**: a digest
  is live while a tag history span naming it (the tag's own digest, or a platform's, or a
  platform of an index so named) was seen within the window, or while it was analysed,
  matched or evaluated within it (an image no tag names: a layout, an archive). A dead
  digest's ``run`` results go with its SBOM, so a tag that comes back to it is analysed
  again rather than taken as done with nothing stored.
- **Layer-cache entries no kept SBOM names** (another layer, or another analyser version):
  the entries of every kept image stay, so a later image sharing a layer reads it from
  the cache, and a rerun fetches nothing it fetched before. Leftovers of writes that were
  killed (``.tmp`` files older than an hour) go too.
- **Per-item errors of runs that finished before the window** (the runs themselves stay).

What stays, always: the tag history, verdicts, evidence, catalog snapshots, runs, the
vulnerability database. The store changes in one transaction, under the run lock (a ``run``
cannot write an SBOM or a cache entry meanwhile); cache files are removed after the commit,
so a crash between the two leaves unused files, never a store that names missing ones.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from msgspec import Struct
from sqlalchemy import Connection, delete, select

from imagetrust.pipeline.context import PipelineContext
from imagetrust.store.schema import (
    finding_set_items,
    finding_sets,
    image_evidence,
    image_findings,
    image_platforms,
    image_results,
    image_sboms,
    publisher_sboms,
    run_errors,
    runs,
    tag_history,
)

DEFAULT_KEEP_DAYS = 30
STALE_TEMP_SECONDS = 3600
_BATCH = 500


class GcOptions(Struct, frozen=True):
    keep_days: int = DEFAULT_KEEP_DAYS
    dry_run: bool = False
    wait: float = 0.0  # seconds to wait for a run holding the store


class GcReport(Struct):
    """What was freed (or, with ``dry_run``, would be) and what was kept."""

    dry_run: bool
    keep_days: int
    cutoff: datetime
    digests_live: int = 0
    digests_pruned: int = 0
    sboms: int = 0
    finding_sets: int = 0
    publisher_sboms: int = 0
    findings: int = 0
    results: int = 0
    run_errors: int = 0
    cache_entries: int = 0
    cache_bytes: int = 0
    cache_kept: int = 0
    cache_kept_bytes: int = 0
    run_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "keep_days": self.keep_days,
            "cutoff": self.cutoff,
            "run_id": self.run_id,
            "digests": {"live": self.digests_live, "pruned": self.digests_pruned},
            "freed": {
                "sboms": self.sboms,
                "finding_sets": self.finding_sets,
                "publisher_sboms": self.publisher_sboms,
                "findings": self.findings,
                "results": self.results,
                "run_errors": self.run_errors,
                "cache_entries": self.cache_entries,
                "cache_bytes": self.cache_bytes,
            },
            "kept": {"cache_entries": self.cache_kept, "cache_bytes": self.cache_kept_bytes},
        }


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(values))
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def live_digests(conn: Connection, cutoff: datetime) -> set[str]:
    """Every digest a tag named within the window, or that was used within it."""
    h = tag_history
    named = set(conn.execute(select(h.c.digest).where(h.c.last_seen >= cutoff)).scalars())
    live = set(named)
    for chunk in _chunks(named):
        live.update(
            conn.execute(
                select(image_platforms.c.manifest_digest).where(image_platforms.c.digest.in_(chunk))
            ).scalars()
        )
        live.update(
            digest
            for digest in conn.execute(
                select(image_results.c.manifest_digest).where(image_results.c.digest.in_(chunk))
            ).scalars()
            if digest is not None
        )
    for column, moment in (
        (image_sboms.c.digest, image_sboms.c.created_at),
        (finding_sets.c.digest, finding_sets.c.matched_at),
        (publisher_sboms.c.digest, publisher_sboms.c.read_at),
        (image_evidence.c.digest, image_evidence.c.evaluated_at),
    ):
        live.update(conn.execute(select(column).where(moment >= cutoff)).scalars())
    return live


def _stored_digests(conn: Connection) -> set[str]:
    found = set(conn.execute(select(image_sboms.c.digest)).scalars())
    found.update(conn.execute(select(finding_sets.c.digest)).scalars())
    found.update(conn.execute(select(publisher_sboms.c.digest)).scalars())
    found.update(
        d for d in conn.execute(select(image_results.c.manifest_digest)).scalars() if d is not None
    )
    return found


def _count(conn: Connection, query: Any) -> int:
    return len(conn.execute(query).all())


def _prune_store(conn: Connection, dead: set[str], cutoff: datetime, report: GcReport) -> None:
    """Count (and, unless a dry run, delete) the rows of ``dead`` digests and old errors."""
    for chunk in _chunks(dead):
        sets = select(finding_sets.c.id).where(finding_sets.c.digest.in_(chunk))
        results = select(image_results.c.id).where(image_results.c.manifest_digest.in_(chunk))
        report.sboms += _count(
            conn, select(image_sboms.c.id).where(image_sboms.c.digest.in_(chunk))
        )
        report.finding_sets += _count(conn, sets)
        report.publisher_sboms += _count(
            conn, select(publisher_sboms.c.id).where(publisher_sboms.c.digest.in_(chunk))
        )
        report.findings += _count(
            conn, select(finding_set_items.c.id).where(finding_set_items.c.set_id.in_(sets))
        )
        report.results += _count(conn, results)
        if report.dry_run:
            continue
        conn.execute(delete(finding_set_items).where(finding_set_items.c.set_id.in_(sets)))
        conn.execute(delete(finding_sets).where(finding_sets.c.digest.in_(chunk)))
        conn.execute(delete(image_findings).where(image_findings.c.result_id.in_(results)))
        conn.execute(delete(image_results).where(image_results.c.manifest_digest.in_(chunk)))
        conn.execute(delete(image_sboms).where(image_sboms.c.digest.in_(chunk)))
        conn.execute(delete(publisher_sboms).where(publisher_sboms.c.digest.in_(chunk)))
    old_runs = select(runs.c.id).where(
        runs.c.finished_at.is_not(None) & (runs.c.finished_at < cutoff)
    )
    old_errors = run_errors.c.run_id.in_(old_runs)
    report.run_errors = _count(conn, select(run_errors.c.id).where(old_errors))
    if not report.dry_run:
        conn.execute(delete(run_errors).where(old_errors))


def needed_cache_paths(conn: Connection, layer_cache: Path, dead: set[str]) -> set[Path]:
    """The cache entry of every layer of every SBOM that stays."""
    from imagetrust.sbom.cache import LayerCache

    cache = LayerCache(layer_cache)
    needed: set[Path] = set()
    rows = conn.execute(
        select(image_sboms.c.digest, image_sboms.c.analyser_version, image_sboms.c.document)
    )
    for row in rows:
        if row.digest in dead:
            continue
        document = row.document if isinstance(row.document, dict) else {}
        for layer in document.get("layers") or []:
            digest = layer.get("digest") if isinstance(layer, dict) else None
            if not isinstance(digest, str):
                continue
            try:
                needed.add(cache.path_for(digest, row.analyser_version))
            except ValueError:
                continue  # not a cache key: nothing on disk to keep for it
    return needed


def _prune_cache(root: Path, needed: set[Path], report: GcReport) -> None:
    if not root.is_dir():
        return
    now = time.time()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        size = path.stat().st_size
        if path.suffix == ".tmp":
            if now - path.stat().st_mtime < STALE_TEMP_SECONDS:
                continue  # a write in progress (another command's): not ours to touch
        elif path.suffix != ".itl" or path in needed:
            if path.suffix == ".itl":
                report.cache_kept += 1
                report.cache_kept_bytes += size
            continue
        report.cache_entries += 1
        report.cache_bytes += size
        if not report.dry_run:
            path.unlink(missing_ok=True)
    if report.dry_run:
        return
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        try:
            folder.rmdir()  # only empty ones go
        except OSError:
            continue


def collect_garbage(ctx: PipelineContext, options: GcOptions) -> GcReport:
    """Prune the store and the layer cache as the module docstring says."""
    from imagetrust.errors import StoreError
    from imagetrust.pipeline.run import RUN_LOCK
    from imagetrust.store.locks import LockTimeout, exclusive
    from imagetrust.store.runs import RunStatus, finish_run, start_run

    now = ctx.clock.now()
    cutoff = now - timedelta(days=options.keep_days)
    report = GcReport(dry_run=options.dry_run, keep_days=options.keep_days, cutoff=cutoff)
    with ctx.open_store(create=False) as store:
        try:
            with exclusive(store, RUN_LOCK, timeout=options.wait):
                with store.transaction() as conn:
                    live = live_digests(conn, cutoff)
                    dead = _stored_digests(conn) - live
                    report.digests_live = len(live)
                    report.digests_pruned = len(dead)
                    _prune_store(conn, dead, cutoff, report)
                    needed = needed_cache_paths(conn, ctx.home.layer_cache, dead)
                    if not options.dry_run:
                        report.run_id = start_run(conn, "gc", {"keep_days": options.keep_days}, now)
                _prune_cache(ctx.home.layer_cache, needed, report)
                if report.run_id is not None:
                    with store.transaction() as conn:
                        summary = report.as_dict()
                        summary["cutoff"] = cutoff.isoformat()
                        finish_run(
                            conn,
                            report.run_id,
                            status=RunStatus.SUCCEEDED,
                            now=now,
                            summary=summary,
                        )
        except LockTimeout:
            raise StoreError(
                "an `imagetrust run` is working on this store",
                hint="wait for it to finish, or give --wait SECONDS",
            ) from None
    return report
