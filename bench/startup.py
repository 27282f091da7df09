"""Start-up time of the command line against its physical floors, in one run.

Compares the median wall time of ``imagetrust --help`` and ``imagetrust store status``
with a bare interpreter start and with importing Typer alone (the framework we sit on).
The aim is under 150 ms for ``--help``; ratios show how much is ours.

    make bench          # or: .venv/bin/python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def median_ms(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="imagetrust-bench-")
    env = {**os.environ, "IMAGETRUST_HOME": home}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # time cached bytecode, as an install has it
    py = sys.executable
    subprocess.run(
        [py, "-m", "imagetrust", "store", "migrate"], check=True, env=env, stdout=subprocess.DEVNULL
    )
    cases = {
        "python -c pass (floor)": [py, "-c", "pass"],
        "python -c 'import typer'": [py, "-c", "import typer"],
        "imagetrust --help": [py, "-m", "imagetrust", "--help"],
        "imagetrust store status": [py, "-m", "imagetrust", "store", "status"],
    }
    results = {name: median_ms(cmd, args.runs, env) for name, cmd in cases.items()}
    floor = results["python -c pass (floor)"]
    typer_only = results["python -c 'import typer'"]
    print(f"median of {args.runs} runs, wall time")
    for name, ms in results.items():
        print(
            f"  {name:28s} {ms:7.1f} ms   x{ms / floor:5.2f} of bare python"
            f"   x{ms / typer_only:5.2f} of typer import"
        )
    verdict = "meets" if results["imagetrust --help"] < 150 else "MISSES"
    print(f"imagetrust --help {verdict} the 150 ms aim")


if __name__ == "__main__":
    main()
