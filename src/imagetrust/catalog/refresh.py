"""One catalog refresh: load the sources, assemble, and record a snapshot as a run.

Loading is separate from recording so every source (a local checkout, a download, the live
Hub or a recording of it) feeds the same path. A source item that cannot be read (one
malformed library file, one bad Hub result) becomes an item error on the run and the
refresh goes on; the snapshot is written in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from imagetrust.catalog.assemble import assemble
from imagetrust.catalog.models import (
    CatalogEntry,
    DocsInfo,
    HubRepository,
    HubTag,
    LibraryManifest,
)
from imagetrust.catalog.snapshots import SnapshotInfo, record_snapshot
from imagetrust.failpoints import failpoint
from imagetrust.store.database import Store
from imagetrust.store.runs import RunStatus, finish_run, record_item_error, start_run

if TYPE_CHECKING:
    from sqlalchemy import Connection


@dataclass(frozen=True)
class ItemProblem:
    """Something one source could not read; it is recorded, the refresh continues."""

    source: str  # library | docs | hub
    item: str
    message: str


@dataclass
class CatalogInputs:
    library: dict[str, LibraryManifest] = field(default_factory=dict)
    docs: dict[str, DocsInfo] = field(default_factory=dict)
    hub: dict[str, HubRepository] | None = None
    tags: dict[str, list[HubTag]] | None = None
    tag_counts: dict[str, int] | None = None
    problems: list[ItemProblem] = field(default_factory=list)
    sources: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefreshResult:
    run_id: int
    snapshot: SnapshotInfo
    entries: list[CatalogEntry]
    problems: list[ItemProblem]


def refresh_catalog(
    store: Store,
    load: Callable[[], CatalogInputs],
    *,
    now: datetime,
    parameters: dict[str, Any],
    on_recorded: Callable[[Connection, SnapshotInfo], None] | None = None,
) -> RefreshResult:
    """Record the run first, so a failure while loading still leaves a failed run behind.

    ``on_recorded`` runs inside the snapshot's transaction, for a caller that must note the
    snapshot in the same commit.
    """
    with store.transaction() as conn:
        run_id = start_run(conn, "catalog", parameters, now)
    try:
        inputs = load()
        entries = assemble(inputs.library, inputs.docs, inputs.hub, inputs.tag_counts)
        with store.transaction() as conn:
            snapshot = record_snapshot(
                conn,
                entries,
                now=now,
                sources=inputs.sources,
                run_id=run_id,
                tags=inputs.tags,
            )
            if on_recorded is not None:
                on_recorded(conn, snapshot)
            failpoint("catalog.commit")
            for problem in inputs.problems:
                record_item_error(
                    conn,
                    run_id,
                    stage=f"catalog.{problem.source}",
                    item=problem.item,
                    message=problem.message,
                    now=now,
                )
            status = RunStatus.PARTIAL if inputs.problems else RunStatus.SUCCEEDED
            finish_run(
                conn,
                run_id,
                status=status,
                now=now,
                summary=_summary(entries, snapshot, inputs.problems),
            )
    except BaseException as exc:
        with store.transaction() as conn:
            record_item_error(
                conn, run_id, stage="catalog", item="*", message=_describe(exc), now=now
            )
            status = (
                RunStatus.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
            )
            finish_run(conn, run_id, status=status, now=now)
        raise
    return RefreshResult(run_id, snapshot, entries, inputs.problems)


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)


def _summary(
    entries: list[CatalogEntry], snapshot: SnapshotInfo, problems: list[ItemProblem]
) -> dict[str, Any]:
    states: dict[str, int] = {}
    for entry in entries:
        states[entry.state.value] = states.get(entry.state.value, 0) + 1
    return {
        "snapshot_id": snapshot.id,
        "repositories": len(entries),
        "states": states,
        "problems": len(problems),
    }
