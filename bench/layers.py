"""Layer walker throughput against python-isal decompressing the same blob, in one run.

The aim (issue 6): ``analyse_layer`` on a big gzip layer runs at no less than 0.7 of the
speed of python-isal just decompressing it. The walker's run is the production path: the
blob is read through the same verifying reader (sha256 and size checked, the hash on a
worker thread for large blobs) and buffer as ``ImageSource.consume_blob`` uses, with every
default cataloger. The layer is a tar of about 200 MB of this machine's /usr/lib and /usr/share
(a realistic mix of big libraries and small files), compressed with the image builder's
``compress()`` (gzip level 6, like Docker), written under /tmp and never committed.

    .venv/bin/python bench/layers.py [--runs N] [--layer FILE] [--mib 200]

Prints the median time of each case, the ratio, and the process's peak RSS (the layer is
built in a child process, so building does not count).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import resource
import stat
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from isal import igzip, igzip_lib

from imagetrust.oci.digest import VerifyingReader
from imagetrust.oci.sources import CHUNK_SIZE, file_chunks
from imagetrust.sbom import layers
from imagetrust.sbom.catalogers import default_catalogers

DEFAULT_LAYER = Path(tempfile.gettempdir()) / "imagetrust-bench" / "usr-layer.tar.gz"
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
    return f"sha256:{hasher.hexdigest()}"


def build_layer(out: Path, mib: int) -> None:
    """A tar of /usr/lib (60 %) and /usr/share (40 %) up to ``mib`` MiB of file data."""
    from imagetrust.testkit.builder import compress

    out.parent.mkdir(parents=True, exist_ok=True)
    tar_path = out.with_suffix("")
    budgets = {"/usr/lib": mib * 6 // 10 << 20, "/usr/share": mib * 4 // 10 << 20}
    with tarfile.open(tar_path, "w", format=tarfile.GNU_FORMAT) as tar:
        for top, budget in budgets.items():
            total = 0
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames.sort()
                if total > budget:
                    break
                tar.add(dirpath, arcname=dirpath.lstrip("/"), recursive=False)
                for name in sorted(filenames):
                    full = os.path.join(dirpath, name)
                    try:
                        info = os.lstat(full)
                        tar.add(full, arcname=full.lstrip("/"), recursive=False)
                    except OSError:
                        continue
                    if stat.S_ISREG(info.st_mode):
                        total += info.st_size
                    if total > budget:
                        break
    out.write_bytes(compress(tar_path.read_bytes(), "gzip"))
    tar_path.unlink()


def decompress_oneshot(path: Path) -> int:
    return len(igzip.decompress(path.read_bytes()))  # type: ignore[no-untyped-call]


def decompress_streaming(path: Path) -> int:
    """The floor: every member streamed through isal to nowhere, in 1 MiB output steps."""
    total = 0
    with path.open("rb") as blob:
        data = b""
        while True:
            member = igzip_lib.IgzipDecompressor(igzip_lib.DECOMP_GZIP)
            while not member.eof:
                if member.needs_input:
                    data = data or blob.read(1 << 18)
                    if not data:
                        return total
                    total += len(member.decompress(data, CHUNK))
                    data = b""
                else:
                    total += len(member.decompress(b"", CHUNK))
            data = member.unused_data or blob.read(1 << 18)
            if not data:
                return total


def walk(path: Path, digest: str, threaded: bool) -> int:
    layers.USE_WORKER_THREAD = threaded
    size = path.stat().st_size
    with path.open("rb") as handle:
        reader = VerifyingReader(file_chunks(handle), digest=digest, size=size, source="bench")
        buffered = io.BufferedReader(reader, CHUNK_SIZE)
        try:
            analysis = layers.analyse_layer(
                buffered,
                digest=digest,
                media_type="application/vnd.oci.image.layer.v1.tar+gzip",
                catalogers=default_catalogers(),
                compressed_size=size,
            )
            reader.drain()
        finally:
            buffered.detach()
            reader.close()
    assert reader.verified
    return analysis.uncompressed_size


def timings(func: Any, *args: Any, runs: int) -> tuple[float, float]:
    """Median and best wall time: the machine is shared, the best shows the code's floor."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        func(*args)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--layer", type=Path, default=DEFAULT_LAYER)
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        build_layer(args.layer, args.mib)
        return
    if not args.layer.exists():
        print(f"building {args.layer} from /usr ({args.mib} MiB) ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--build-only",
                "--layer",
                str(args.layer),
                "--mib",
                str(args.mib),
            ],
            check=True,
        )
    size = args.layer.stat().st_size
    digest = sha256_of(args.layer)
    uncompressed = decompress_streaming(args.layer)
    print(f"layer {args.layer}: {size / 1e6:.1f} MB gzip, {uncompressed / 1e6:.1f} MB tar")
    cases = {
        "isal streaming decompress (floor)": (decompress_streaming, args.layer),
        "analyse_layer, worker thread": (walk, args.layer, digest, True),
        "analyse_layer, one thread": (walk, args.layer, digest, False),
    }
    results = {
        label: timings(func, *fargs, runs=args.runs) for label, (func, *fargs) in cases.items()
    }
    floor_median, floor_best = results["isal streaming decompress (floor)"]
    print(f"{'case':42s} {'median':>9s} {'best':>9s}  {'MB/s':>6s}  vs floor (median, best)")
    for label, (median, best) in results.items():
        mbps = uncompressed / median / 1e6
        print(
            f"{label:42s} {median * 1000:6.1f} ms {best * 1000:6.1f} ms  {mbps:6.1f}"
            f"  x{floor_median / median:.2f}  x{floor_best / best:.2f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process so far: {peak:.1f} MB")
    median, best = timings(decompress_oneshot, args.layer, runs=max(1, args.runs // 2))
    print(f"{'isal igzip.decompress one-shot':42s} {median * 1000:6.1f} ms {best * 1000:6.1f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(one-shot holds the whole tar: peak RSS now {peak:.1f} MB)")


if __name__ == "__main__":
    main()
