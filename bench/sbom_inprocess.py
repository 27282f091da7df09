"""The SBOM work itself, in-process, cold and warm, on the `bench/sbom.py` image.

`bench/sbom.py` times whole processes, as a user sees them; this script separates the work
imagetrust does from the interpreter's start-up and imports, which dominate the warm case:
it times `ImageAnalyser` plus the native JSON, with an empty layer cache (cold) and with
the cache filled (warm), and the same process's import of the command line (Typer, Rich,
Pydantic) for comparison.

Run: `.venv/bin/python bench/sbom_inprocess.py [--runs 9]` (after `bench/sbom.py` or
`bench/images.py` has built the image).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).parent))
    from images import cache_dir, load_image

    from imagetrust.config import Settings
    from imagetrust.oci.sources import OciSession
    from imagetrust.sbom.analyse import ImageAnalyser
    from imagetrust.sbom.cache import LayerCache
    from imagetrust.sbom.formats.native import to_native

    image = load_image(cache_dir(None))
    if image is None:
        raise SystemExit("no benchmark image yet: run bench/images.py (or bench/sbom.py) once")

    def run(home: Path) -> float:
        started = time.perf_counter()
        with OciSession(Settings()) as session, session.open(image.oci_reference) as source:
            (sbom,) = ImageAnalyser(LayerCache(home)).analyse(source)
        json.dumps(to_native(sbom))
        return time.perf_counter() - started

    cold = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as home:
            cold.append(run(Path(home)))
    with tempfile.TemporaryDirectory() as home:
        run(Path(home))
        warm = [run(Path(home)) for _ in range(args.runs)]
    imports = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import imagetrust.cli.app, typer._adapters"], check=True
        )
        imports.append(time.perf_counter() - started)
    print(f"image: {image.description}")
    print(f"cold, in-process: median {statistics.median(cold):.3f} s (best {min(cold):.3f})")
    print(f"warm, in-process: median {statistics.median(warm) * 1000:.1f} ms")
    print(
        "python start-up + command-line imports (Typer, Rich, Pydantic): "
        f"median {statistics.median(imports):.3f} s"
    )


if __name__ == "__main__":
    main()
