"""``imagetrust export`` and ``imagetrust merge``: a run's records out of one store and
into another (CI shards into one history).

A merge writes what ``run`` writes (results, findings, SBOMs, tag history), so it holds the
run lock: a merge and a run never interleave on one store. All bundles go in in one
transaction together with the merge's own run record, so a failed merge leaves no trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imagetrust.pipeline.context import PipelineContext

if TYPE_CHECKING:
    from imagetrust.store.bundle.exchange import ExportSummary, MergeSummary


def export(ctx: PipelineContext, out: Path, *, since: str | None) -> ExportSummary:
    from imagetrust.store.bundle.exchange import export_bundle

    with ctx.open_store(create=False) as store:
        return export_bundle(store, out, since=since, now=ctx.clock.now())


def merge(ctx: PipelineContext, paths: Sequence[Path], *, wait: float = 0.0) -> MergeSummary:
    from imagetrust.errors import StoreError
    from imagetrust.pipeline.run import RUN_LOCK
    from imagetrust.store.bundle.exchange import MERGE_RUN_KIND, check_bundles, merge_bundles
    from imagetrust.store.locks import LockTimeout, exclusive
    from imagetrust.store.runs import RunStatus, finish_run, start_run

    limits = ctx.settings.bundle
    check_bundles(paths, limits)  # a foreign or damaged file fails before the store is touched
    now = ctx.clock.now()
    with ctx.open_store() as store:
        try:
            with exclusive(store, RUN_LOCK, timeout=wait), store.transaction() as conn:
                parameters = {"bundles": [p.name for p in paths]}
                run_id = start_run(conn, MERGE_RUN_KIND, parameters, now)
                summary = merge_bundles(conn, paths, limits=limits, run_id=run_id)
                finish_run(
                    conn,
                    run_id,
                    status=RunStatus.SUCCEEDED,
                    now=ctx.clock.now(),
                    summary=summary.as_dict(),
                )
                return summary
        except LockTimeout:
            raise StoreError(
                "an `imagetrust run` or another merge is working on this store",
                hint="wait for it to finish, or give --wait SECONDS",
            ) from None
