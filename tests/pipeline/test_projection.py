"""``imagetrust workflow`` projects the registry reads a run needs from the stored catalog;
the oracle is the run itself, its manifest ``GET``s counted at the loopback registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from imagetrust.cli.main import main
from tests.pipeline.world import World


@pytest.mark.parametrize("platform", ["linux/amd64", "all"])
def test_the_projected_reads_are_what_a_run_reads(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], platform: str
) -> None:
    home = tmp_path / "home"
    catalog = [
        "--home", str(home), "catalog", "--offline",
        "--library-dir", str(world.library), "--hub-recording", str(world.hub),
    ]  # fmt: skip
    assert main(catalog) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "workflow", "--tags", "latest", "-p", platform]) == 0
    err = capsys.readouterr().err
    projected = re.search(r"registry reads per run: (\d+) on the first run", err)
    assert projected is not None, err
    world.proxy.log.clear()
    assert main([*world.run_args(home, "--jobs", "1", "--no-refresh"), "-p", platform]) == 0
    assert int(projected.group(1)) == len(world.requests("GET", "manifests"))
