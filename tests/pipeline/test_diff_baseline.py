"""The default ``diff`` baseline when a workflow's shards are runs of their own.

Shards of one scheduled workflow overlap or start within minutes of one another and finish
in any order; merged into one store they are one batch. The baseline is the end of the
previous batch: the moment its last shard finished, so nothing that batch wrote is called
new.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from imagetrust.evaluate.diff.baseline import default_baseline
from imagetrust.store.database import Store
from imagetrust.store.runs import RunStatus, finish_run, start_run

DAY = datetime.fromisoformat("2026-08-24T08:00:00+00:00")


def add_run(store: Store, start: datetime, minutes: int, kind: str = "run") -> int:
    with store.transaction() as conn:
        run_id = start_run(conn, kind, {}, start)
        finish_run(
            conn,
            run_id,
            status=RunStatus.SUCCEEDED,
            now=start + timedelta(minutes=minutes),
            summary={},
        )
    return run_id


@pytest.mark.parametrize("order", ["in order", "reversed"])
def test_the_baseline_is_the_end_of_the_previous_batchs_last_shard(
    store_url: str, order: str
) -> None:
    with Store.open(store_url) as store:
        # week one: a catalog job, then three shards; the first to start ends last
        add_run(store, DAY - timedelta(minutes=20), 5, kind="catalog")
        starts = [0, 3, 40] if order == "in order" else [40, 3, 0]
        lengths = [90, 20, 10] if order == "in order" else [10, 20, 90]
        for start, length in zip(starts, lengths, strict=True):
            add_run(store, DAY + timedelta(minutes=start), length)
        week_one_end = DAY + timedelta(minutes=90)
        # week two: two shards, the second queued for 50 minutes
        later = DAY + timedelta(days=7)
        add_run(store, later, 30)
        add_run(store, later + timedelta(minutes=50), 30)
        with store.read() as conn:
            baseline = default_baseline(conn, later + timedelta(hours=3))
            alone = default_baseline(conn, DAY + timedelta(hours=3))
    assert baseline.at == week_one_end, baseline
    assert alone.at is None  # week one alone: nothing before its batch
