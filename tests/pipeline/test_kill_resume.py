"""A run killed with SIGKILL at any point, then started again, ends with the same store as
a run that was never interrupted: every table compared row for row, ignoring timestamps.

The kill comes from inside, at named crash points (``imagetrust.failpoints``): half-way
through the catalog's snapshot commit, through resolve's tag-history commit, through a
layer blob (in a worker process, which takes the run down with it), through an image's
transaction, between two images, and just before the run records its end. The run log
itself (``runs``, ``run_errors``) is left out of the comparison: it rightly remembers that
a run was interrupted and resumed.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from imagetrust.cli.main import main
from imagetrust.store.database import Store
from imagetrust.store.runs import RunStatus, list_runs
from tests.pipeline.storedump import dump
from tests.pipeline.world import World


def store_url(home: Path) -> str:
    return f"sqlite:///{home / 'imagetrust.db'}"


def group_is_gone(pgid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(
    ("failpoint", "jobs"),
    [
        ("catalog.commit", "1"),
        ("resolve.commit", "1"),
        ("blob.middle", "2"),
        ("image.commit", "1"),
        ("image.after:2", "1"),
        ("run.finish", "1"),
    ],
)
def test_a_killed_run_resumes_to_the_same_store(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], failpoint: str, jobs: str
) -> None:
    reference = tmp_path / "reference"
    world.import_db(reference)
    assert main(world.run_args(reference, "--jobs", "1")) == 0
    killed = tmp_path / "killed"
    world.import_db(killed)
    capsys.readouterr()
    world.proxy.log.clear()

    crashed = world.subprocess_run(killed, "--jobs", jobs, env={"IMAGETRUST_FAILPOINT": failpoint})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    if failpoint.startswith("blob."):
        # It died half-way through a layer, in a worker; no worker outlives the run.
        assert world.blob_bytes() > 0
    with Store.open(store_url(killed)) as store, store.read() as conn:
        [dead] = list_runs(conn, kind="run")
    assert dead.status is RunStatus.RUNNING  # nobody could write that it ended

    assert main(world.run_args(killed, "--jobs", "1")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["resumed"] and doc["status"] == "succeeded"
    assert dump(store_url(killed)) == dump(store_url(reference))
    with Store.open(store_url(killed)) as store, store.read() as conn:
        runs = list_runs(conn, kind="run")
    assert [(r.id, r.status) for r in runs] == [(dead.id, RunStatus.SUCCEEDED)]


def test_workers_die_with_a_killed_run(world: World, tmp_path: Path) -> None:
    """SIGKILL reaches only the main process; its workers follow it (no orphans)."""
    import subprocess
    import sys

    home = tmp_path / "home"
    process = subprocess.Popen(
        [sys.executable, "-m", "imagetrust", *world.run_args(home, "--jobs", "2")],
        env={**os.environ, **world.env(), "IMAGETRUST_FAILPOINT": "blob.middle"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.wait(timeout=120) == -signal.SIGKILL
    assert group_is_gone(process.pid)
