"""Every benchmark, one after the other, as ``make bench`` runs them; ``--full`` adds the
long ones (the 1,000- and 8,000-image scaling points, the catalog's 1,000 point and the
loops over 100 images, the re-match at full OSV size).

Each benchmark prints its own tables (compare them with bench/RESULTS.md); this script
adds how long each took, so the default run's budget (under 15 minutes on the project's
2-core machine) can be checked, and stops at the first that fails.

    .venv/bin/python bench/all.py [--full] [--only NAME,...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent

# (name, arguments by default, arguments with --full)
STEPS: list[tuple[str, list[str], list[str]]] = [
    ("startup", ["startup.py"], ["startup.py"]),
    ("layers", ["layers.py"], ["layers.py", "--runs", "9"]),
    ("sbom", ["sbom.py"], ["sbom.py", "--repeat", "9"]),
    (  # syft takes ~45 s a run on this image: only with --full
        "sbom-three-layer",
        ["sbom.py", "--image", "three-layer", "--repeat", "3", "--tools", "imagetrust,trivy"],
        ["sbom.py", "--image", "three-layer", "--repeat", "5"],
    ),
    (  # its first two layers: a layer per core on 2 cores (the 1.15x aim within reach)
        "sbom-two-layer",
        ["sbom.py", "--image", "two-layer", "--repeat", "3", "--tools", "imagetrust,trivy"],
        ["sbom.py", "--image", "two-layer", "--repeat", "7", "--tools", "imagetrust,trivy"],
    ),
    ("sbom-inprocess", ["sbom_inprocess.py"], ["sbom_inprocess.py"]),
    ("rematch", ["rematch.py", "--skip-build"], ["rematch.py", "--skip-build", "--full"]),
    (  # each byte once; the loops are the realistic catalog's (next)
        "catalog",
        ["catalog.py", "--images", "20,100", "--no-loops"],
        ["catalog.py", "--full"],
    ),
    (
        "catalog-realistic",
        ["catalog.py", "--realistic"],
        ["catalog.py", "--realistic", "--images", "100", "--repeat", "1"],
    ),
    ("scaling", ["scaling.py"], ["scaling.py", "--full"]),
    ("pax", ["pax.py"], ["pax.py"]),
    ("cdx-writer", ["cdx_writer.py"], ["cdx_writer.py", "--runs", "9"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the long points and loops too")
    parser.add_argument("--only", default="", help="comma-separated step names")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    unknown = only - {name for name, _, _ in STEPS}
    if unknown:
        parser.error(f"unknown step(s): {', '.join(sorted(unknown))}")
    took: list[tuple[str, float]] = []
    started = time.perf_counter()
    for name, default, full in STEPS:
        if only and name not in only:
            continue
        argv = [sys.executable, str(BENCH / (full if args.full else default)[0])]
        argv += (full if args.full else default)[1:]
        print(f"\n## {name}: {' '.join(argv[1:])}\n", flush=True)
        began = time.perf_counter()
        done = subprocess.run(argv, check=False)
        took.append((name, time.perf_counter() - began))
        if done.returncode != 0:
            print(f"error: {name} exited {done.returncode}", file=sys.stderr)
            return done.returncode
    total = time.perf_counter() - started
    print("\n| benchmark | minutes |\n| --- | ---: |")
    for name, seconds in took:
        print(f"| {name} | {seconds / 60:.1f} |")
    print(f"| all | {total / 60:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
