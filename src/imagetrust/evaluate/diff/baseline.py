"""Which state a diff compares against: a run's end, a date, or the run before the newest.

Every record the diff reads is stamped with the clock of the command that wrote it (tag
history spans, finding sets, evidence, verdicts, catalog snapshots, run errors), so "the
store as it was at T" is a query on those stamps, and ``--now`` replays any day.

Without ``--since`` the baseline is the end of the run before the newest *batch* of runs:
the shards of one scheduled workflow (``run --shard I/N``, merged into one history) are runs
of their own that overlap in time, or start soon after one another when runners queue, so
runs whose spans come within ``BATCH_GAP`` of each other are one batch. The catalog job
that refreshed the catalog for them ran after the previous batch ended, so its tag moves
count as changes too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from imagetrust.errors import UsageError
from imagetrust.evaluate.diff.model import Baseline
from imagetrust.store.schema import runs

RUN_KIND = "run"
BATCH_GAP = timedelta(hours=1)


def default_baseline(conn: Connection, until: datetime) -> Baseline:
    """The end of the run before the newest batch of ``run``s at or before ``until``."""
    rows = conn.execute(
        select(runs.c.id, runs.c.started_at, runs.c.finished_at)
        .where(
            (runs.c.kind == RUN_KIND)
            & (runs.c.status != "running")
            & (runs.c.started_at <= until)
            & runs.c.finished_at.is_not(None)
        )
        .order_by(runs.c.started_at, runs.c.id)
    ).all()
    if not rows:
        return Baseline("nothing (no run in the store)")
    # The newest batch: the newest run and every run that overlaps it or ends within
    # BATCH_GAP of its start, transitively (a long shard started first belongs to it too).
    batch_start = rows[-1].started_at
    members = {rows[-1].id}
    grew = True
    while grew:
        grew = False
        for row in rows:
            if row.id not in members and row.finished_at >= batch_start - BATCH_GAP:
                members.add(row.id)
                batch_start = min(batch_start, row.started_at)
                grew = True
    before = [row for row in rows if row.id not in members]
    if not before:
        return Baseline("nothing (no run before the newest)")
    # Shards finish in any order: the previous batch ended when its last run did.
    last = max(before, key=lambda row: (row.finished_at, row.id))
    return Baseline(f"run #{last.id}", last.finished_at, True, int(last.id))


def since_run(conn: Connection, run_id: int) -> Baseline:
    """The store as run ``run_id`` left it (everything up to its end)."""
    row = conn.execute(
        select(runs.c.id, runs.c.kind, runs.c.started_at, runs.c.finished_at).where(
            runs.c.id == run_id
        )
    ).first()
    if row is None:
        raise UsageError(f"--since {run_id}: no run #{run_id} in the store")
    end = row.finished_at or row.started_at
    return Baseline(f"run #{row.id} ({row.kind})", end, True, int(row.id))


def since_date(moment: datetime, text: str) -> Baseline:
    """The store as it was just before ``moment``."""
    return Baseline(text, moment, False)


def parse_since(conn: Connection, text: str | None, until: datetime) -> Baseline:
    """``--since``: a run id (digits), a date or date-time, or the default."""
    from imagetrust.clock import parse_instant

    if text is None:
        return default_baseline(conn, until)
    value = text.strip()
    if value.isdigit():
        return since_run(conn, int(value))
    try:
        return since_date(parse_instant(value), value)
    except UsageError:
        raise UsageError(
            f"--since {text!r}: expected a run id (see `imagetrust store status`), "
            "YYYY-MM-DD or an ISO 8601 date-time"
        ) from None
