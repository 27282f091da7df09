"""The run's layer worker pool keeps working however many layers a run has."""

from __future__ import annotations

import os
from concurrent.futures import wait
from pathlib import Path

import pytest

from imagetrust.config import Settings
from imagetrust.pipeline import workers
from imagetrust.sbom.cache import LayerCache
from imagetrust.sbom.models import LayerLimits


def test_a_pool_runs_more_tasks_than_a_worker_would_take_before_recycling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool that recycled workers after N tasks (ProcessPoolExecutor's
    max_tasks_per_child) stopped for good after jobs x N tasks on Python 3.11 (CPython
    gh-115634): `run` hung at 1,000 images. A small N here stands for the 200 it had."""
    monkeypatch.setattr(workers, "TASKS_PER_WORKER", 2, raising=False)
    pool = workers.process_pool(1, Settings(), LayerCache(tmp_path / "cache"), LayerLimits(), None)
    try:
        futures = [pool.submit(os.getpid) for _ in range(8)]
        done, pending = wait(futures, timeout=60)
        assert not pending, f"{len(pending)} of 8 tasks never ran"
        assert all(isinstance(f.result(), int) for f in done)
    finally:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()  # a stuck pool must not hang the test session at exit
        pool.shutdown(wait=False, cancel_futures=True)
