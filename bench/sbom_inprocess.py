"""The SBOM work itself, in-process, cold and warm, on the `bench/sbom.py` image.

`bench/sbom.py` times whole processes, as a user sees them; this script separates the work
imagetrust does from the interpreter's start-up and imports, which dominate the warm case:
it times `ImageAnalyser` plus the native JSON, with an empty layer cache (cold) and with
the cache filled (warm), and, for comparison, a fresh interpreter importing the modules a
warm run needs (the command line, the layout reader, the analyser).

Run: `.venv/bin/python bench/sbom_inprocess.py [--runs 9]` (after `bench/sbom.py` or
`bench/images.py` has built the image).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# What a warm ``imagetrust sbom REF --format json`` imports before and around its work (the
# command line, the OCI layout reader, the analyser, the cache, the native format).
_WARM_IMPORTS = (
    "import imagetrust.cli.app, imagetrust.pipeline.analysis, imagetrust.config, "
    "imagetrust.oci.sources, imagetrust.oci.image, imagetrust.sbom.analyse, "
    "imagetrust.sbom.cache, imagetrust.sbom.formats.native, imagetrust.sbom.catalogers.dpkg"
)


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
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    imports = []
    for _ in range(args.runs + 1):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", _WARM_IMPORTS], check=True, env=env)
        imports.append(time.perf_counter() - started)
    imports = imports[1:]  # the first run may have written bytecode
    print(f"image: {image.description}")
    print(f"cold, in-process: median {statistics.median(cold):.3f} s (best {min(cold):.3f})")
    print(f"warm, in-process: median {statistics.median(warm) * 1000:.1f} ms")
    print(
        "python start-up + the modules a warm `imagetrust sbom` imports: "
        f"median {statistics.median(imports):.3f} s"
    )


if __name__ == "__main__":
    main()
