"""Runs: one row per piece of work, with the errors of the items it could not handle.

An item that fails (one image, one library file) is recorded here and the run goes on;
the report shows those errors instead of letting the item silently disappear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from imagetrust import __version__
from imagetrust.store.schema import run_errors, runs


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # finished, but some items failed
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class RunRecord:
    id: int
    kind: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    parameters: dict[str, Any]
    summary: dict[str, Any] | None
    error_count: int


@dataclass(frozen=True)
class ItemError:
    stage: str
    item: str
    message: str
    occurred_at: datetime


def start_run(conn: Connection, kind: str, parameters: dict[str, Any], now: datetime) -> int:
    result = conn.execute(
        insert(runs).values(
            kind=kind,
            status=RunStatus.RUNNING.value,
            started_at=now,
            parameters=parameters,
            imagetrust_version=__version__,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def record_item_error(
    conn: Connection, run_id: int, *, stage: str, item: str, message: str, now: datetime
) -> None:
    conn.execute(
        insert(run_errors).values(
            run_id=run_id, stage=stage, item=item, message=message, occurred_at=now
        )
    )


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    status: RunStatus,
    now: datetime,
    summary: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(status=status.value, finished_at=now, summary=summary)
    )


def update_summary(conn: Connection, run_id: int, summary: dict[str, Any]) -> None:
    """A running run's summary so far (a checkpoint a resumed run reads back)."""
    conn.execute(update(runs).where(runs.c.id == run_id).values(summary=summary))


def list_runs(
    conn: Connection, *, limit: int = 20, kind: str | None = None, status: RunStatus | None = None
) -> list[RunRecord]:
    errors = (
        select(run_errors.c.run_id, func.count().label("n"))
        .group_by(run_errors.c.run_id)
        .subquery()
    )
    query = (
        select(runs, func.coalesce(errors.c.n, 0).label("error_count"))
        .select_from(runs.outerjoin(errors, errors.c.run_id == runs.c.id))
        .order_by(runs.c.id.desc())
        .limit(limit)
    )
    if kind is not None:
        query = query.where(runs.c.kind == kind)
    if status is not None:
        query = query.where(runs.c.status == status.value)
    rows = conn.execute(query)
    return [
        RunRecord(
            id=row.id,
            kind=row.kind,
            status=RunStatus(row.status),
            started_at=row.started_at,
            finished_at=row.finished_at,
            parameters=row.parameters,
            summary=row.summary,
            error_count=int(row.error_count),
        )
        for row in rows
    ]


def run_item_errors(conn: Connection, run_id: int) -> list[ItemError]:
    rows = conn.execute(
        select(run_errors).where(run_errors.c.run_id == run_id).order_by(run_errors.c.id)
    )
    return [ItemError(row.stage, row.item, row.message, row.occurred_at) for row in rows]


def table_counts(conn: Connection, tables: list[str]) -> dict[str, int]:
    from imagetrust.store.schema import metadata

    return {
        name: int(
            conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
        )
        for name in tables
    }
