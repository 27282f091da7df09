"""Run a command in a child process and measure what it cost: peak RSS of that child alone.

``os.wait4`` reports the resources of exactly the child waited for, unlike
``RUSAGE_CHILDREN``, which keeps the largest child the whole test session ever waited for.
"""

from __future__ import annotations

import os
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


def run_measured(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 300
) -> Measured:
    """Run ``args`` (``imagetrust ...`` runs the CLI of this interpreter) and measure it."""
    if args[0] == "imagetrust":
        args = [sys.executable, "-m", "imagetrust.cli.main", *args[1:]]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(args, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Measured(
            process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            usage.ru_maxrss / 1024,
            seconds,
        )
