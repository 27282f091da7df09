"""Run the imagetrust command in a child process and measure its own peak RSS.

The figure is the child's ``VmHWM`` (the high-water mark of its own address space), read by
the child itself as it leaves. ``ru_maxrss`` will not do: a child is forked from the test
process and keeps the larger of its pre-``exec`` size (the whole pytest process, images
built in memory included) and its own, so it measured the test, not the command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

_WRAPPER = """
import os, sys
code = 1
try:
    from imagetrust.cli.main import main
    code = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["_IMAGETRUST_MEASURE_HWM"], "w") as out:
        out.write(peak)
    sys.stdout.flush()
    sys.stderr.flush()
sys.exit(code)
"""


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mib: float
    seconds: float


def run_measured(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    prefix: Sequence[str] = (),
) -> Measured:
    """Run ``imagetrust ARGS...`` (``args[0]`` must be ``imagetrust``) and measure it;
    ``prefix`` runs it under another command (a benchmark's GNU time, for the peak of the
    largest process of the tree)."""
    if args[0] != "imagetrust":
        raise ValueError("run_measured runs the imagetrust command")
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = os.path.join(scratch, "peak")
        child_env = {**os.environ, **(env or {}), "_IMAGETRUST_MEASURE_HWM": peak_file}
        started = time.monotonic()
        completed = subprocess.run(
            [*prefix, sys.executable, "-c", _WRAPPER, *args[1:]],
            capture_output=True,
            env=child_env,
            timeout=timeout,
            check=False,
        )
        seconds = time.monotonic() - started
        try:
            with open(peak_file) as handle:
                peak_mib = int(handle.read().strip()) / 1024
        except FileNotFoundError:  # killed by a signal: no figure, and no bound met
            peak_mib = float("inf")
    return Measured(
        completed.returncode,
        completed.stdout.decode(errors="replace"),
        completed.stderr.decode(errors="replace"),
        peak_mib,
        seconds,
    )
