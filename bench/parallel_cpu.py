"""CPU and wall time of one image's cold SBOM, its layers in sequence and side by side.

On a shared 2-core machine wall time swings with the neighbours; CPU time does not. This
times the analysis in-process (no start-up, no layer cache) with ``workers`` = 1 (one layer
after the other, in this process) and with several worker processes, and reports the CPU
this process and its workers spent: the parallel path's overhead is the difference.

    .venv/bin/python bench/parallel_cpu.py [--workers 1,2,3] [--repeat 3] [REF]

REF defaults to the three-layer benchmark image (``bench/images.py --three-layer``).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

from images import cache_dir, load_image

from imagetrust.config import Settings
from imagetrust.oci.image import PlatformSelection
from imagetrust.oci.sources import OciSession
from imagetrust.sbom.analyse import ImageAnalyser, SbomOptions


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(reference: str, workers: int) -> tuple[float, float, float]:
    """Wall seconds, CPU of this process, CPU of the workers (children reaped meanwhile)."""
    self0, kids0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with OciSession(Settings(), mirrors={}) as session, session.open(reference) as source:
        analyser = ImageAnalyser(None, SbomOptions(workers=workers))
        analyser.analyse(source, PlatformSelection.parse("linux/amd64"))
    wall = time.perf_counter() - started
    return wall, _cpu(resource.RUSAGE_SELF) - self0, _cpu(resource.RUSAGE_CHILDREN) - kids0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("reference", nargs="?")
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    reference = args.reference
    if reference is None:
        image = load_image(cache_dir(), three_layer=True)
        if image is None:
            print("error: no three-layer image (bench/images.py --three-layer)", file=sys.stderr)
            return 1
        reference = image.oci_reference
    print(f"{reference}, median of {args.repeat} (workers run in turns)")
    counts = [int(n) for n in args.workers.split(",")]
    samples: dict[int, list[tuple[float, float, float]]] = {n: [] for n in counts}
    for _ in range(args.repeat):
        for count in counts:
            samples[count].append(measure(reference, count))
    print("| workers | wall s | CPU s, this process | CPU s, workers | CPU s, total |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for count, runs in samples.items():
        wall, own, kids = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"| {count} | {wall:.2f} | {own:.2f} | {kids:.2f} | {own + kids:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
