"""Run a command in a child process and measure what it cost: peak RSS of that child alone.

``os.wait4`` reports the resources of exactly the child waited for, unlike
``RUSAGE_CHILDREN``, which keeps the largest child the whole test session ever waited for.
But a child forked from the test process starts as a copy of it, and Linux keeps the peak
RSS of the memory it had before ``exec`` (``signal->maxrss``): after a few hundred tests the
pytest process alone is past the bounds being checked. So a small launcher (a fresh
interpreter, ~10 MiB) starts the command and reports its ``wait4`` figures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mib: float
    seconds: float


# Runs argv[2:], waits for it, writes "exit_code peak_rss_kib" to the file argv[1].
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as out:
    out.write(f"{code} {usage.ru_maxrss}")
"""


def run_measured(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 300
) -> Measured:
    """Run ``args`` (``imagetrust ...`` runs the CLI of this interpreter) and measure it."""
    if args[0] == "imagetrust":
        args = [sys.executable, "-m", "imagetrust.cli.main", *args[1:]]
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as report,
    ):
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-I", "-c", _LAUNCHER, report.name, *args],
            stdout=out,
            stderr=err,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # on a timeout the launcher and the command go together
        )
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        seconds = time.monotonic() - started
        reported = report.read().split()  # empty when the launcher was killed on a timeout
        code, peak_kib = reported if len(reported) == 2 else ("-9", "0")
        out.seek(0)
        err.seek(0)
        return Measured(
            int(code),
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            int(peak_kib) / 1024,
            seconds,
        )
