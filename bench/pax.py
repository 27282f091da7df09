"""PAX-heavy layers: the same files with a PAX header on every entry, and without.

Some builders (BuildKit with sub-second times, anything that keeps extended attributes)
write a PAX extended header before every entry: two more 512-byte blocks per file, to
decompress, checksum and parse. The aim (issue 25): the walker costs no more than 10 % more
on such a layer than on the same files without the headers. The two layers hold the same
files (this machine's /usr/share, many small files: where per-entry cost shows), the first
in GNU format with whole-second times, the second in PAX format with a nanosecond ``mtime``,
``atime`` and a ``SCHILY.xattr.user.origin`` record on every entry. Both are gzip level 6
(the image builder's ``compress()``), written under /tmp, never committed.

Each case is ``bench/layers.py``'s production path (verifying reader, buffer, every default
cataloger). The floor is isal streaming decompression of each layer: the PAX layer has more
bytes to inflate whatever the walker does, so the overhead is stated both raw and beyond the
floor's own growth.

    .venv/bin/python bench/pax.py [--runs N] [--mib 60]
"""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from layers import decompress_streaming, sha256_of, timings, walk

DIR = Path(tempfile.gettempdir()) / "imagetrust-bench"


def _files(top: str, budget: int) -> list[str]:
    chosen, total = [], 0
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        chosen.append(dirpath)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            chosen.append(full)
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
            if total > budget:
                return chosen
    return chosen


def build_layers(mib: int) -> tuple[Path, Path]:
    from imagetrust.testkit.builder import compress

    DIR.mkdir(parents=True, exist_ok=True)
    plain, pax = DIR / f"share-{mib}-gnu.tar.gz", DIR / f"share-{mib}-pax.tar.gz"
    if plain.exists() and pax.exists():
        return plain, pax
    paths = _files("/usr/share", mib << 20)
    for out, fmt in ((plain, tarfile.GNU_FORMAT), (pax, tarfile.PAX_FORMAT)):
        tar_path = out.with_suffix("")
        with tarfile.open(tar_path, "w", format=fmt) as tar:
            for index, full in enumerate(paths):
                try:
                    info = tar.gettarinfo(full, arcname=full.lstrip("/"))
                except OSError:
                    continue
                info.mtime = int(info.mtime)
                if fmt == tarfile.PAX_FORMAT:
                    fraction = f"{index % 1_000_000_000:09d}"
                    info.pax_headers = {
                        "mtime": f"{info.mtime}.{fraction}",
                        "atime": f"{info.mtime}.{fraction}",
                        "SCHILY.xattr.user.origin": "bench/pax.py",
                    }
                if info.isreg():
                    try:
                        with open(full, "rb") as handle:
                            tar.addfile(info, handle)
                    except OSError:
                        continue
                else:
                    tar.addfile(info)
        out.write_bytes(compress(tar_path.read_bytes(), "gzip"))
        tar_path.unlink()
    return plain, pax


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--mib", type=int, default=60)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        build_layers(args.mib)
        return
    # Built in a child, so building does not count in this process.
    subprocess.run([sys.executable, __file__, "--build-only", "--mib", str(args.mib)], check=True)
    plain, pax = build_layers(args.mib)
    results = {}
    for label, path in (("GNU, no PAX headers", plain), ("PAX header on every entry", pax)):
        digest = sha256_of(path)
        with tarfile.open(path) as tar:
            entries = sum(1 for _ in tar)
        floor = timings(decompress_streaming, path, runs=args.runs)[0]
        walker = timings(walk, path, digest, True, runs=args.runs)[0]
        results[label] = (floor, walker)
        print(
            f"{label:27s} {entries} entries, {path.stat().st_size / 1e6:.1f} MB gzip,"
            f" {decompress_streaming(path) / 1e6:.1f} MB tar: isal floor {floor * 1000:.0f} ms,"
            f" analyse_layer {walker * 1000:.0f} ms (median of {args.runs})"
        )
    (floor_a, walk_a), (floor_b, walk_b) = results.values()
    print(
        f"PAX overhead: walker x{walk_b / walk_a:.3f} ({(walk_b / walk_a - 1) * 100:+.1f} %);"
        f" floor x{floor_b / floor_a:.3f}; walker beyond the floor"
        f" x{(walk_b - floor_b) / (walk_a - floor_a):.3f}"
    )


if __name__ == "__main__":
    main()
