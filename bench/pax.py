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
floor's own growth. The two layers are timed in interleaved rounds and each ratio is the
median of the rounds' ratios: the machine is shared, and load drifting between a block of
GNU runs and a block of PAX runs once moved the ratio more than the code did.

The walker skips a pax header of unused records in one C call (``imagetrust.sbom._tarfast``,
built by setup.py when a C compiler is present); each round also times the same walk with
that shortcut off, as an install without a compiler walks, and reports both.

    .venv/bin/python bench/pax.py [--runs N] [--mib 60] [--instructions]

``--instructions`` counts instructions under valgrind's callgrind instead (needs valgrind).
"""

from __future__ import annotations

import argparse
import os
import stat
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from layers import decompress_streaming, sha256_of, walk

from imagetrust.sbom import tarstream

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
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions under valgrind's callgrind instead of timing",
    )
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count", choices=sorted(_COUNTED), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        build_layers(args.mib)
        return
    if args.count:
        _COUNTED[args.count](*build_layers(args.mib))
        return
    # Built in a child, so building does not count in this process.
    subprocess.run([sys.executable, __file__, "--build-only", "--mib", str(args.mib)], check=True)
    if args.instructions:
        count_instructions(args.mib)
        return
    plain, pax = build_layers(args.mib)
    layers = {"GNU, no PAX headers": plain, "PAX header on every entry": pax}
    digests = {label: sha256_of(path) for label, path in layers.items()}
    samples: dict[str, list[Sample]] = {label: [] for label in layers}
    # Rounds interleave the two layers (floor, then walker, each layer in turn), after one
    # uncounted round: on a shared machine, load that comes and goes then weighs on both
    # sides of a round's ratio alike, and the ratio is read per round.
    native = tarstream.skip_unused_pax
    print(
        "pax header shortcut: "
        + ("built (C, imagetrust.sbom._tarfast)" if native else "NOT built: pure Python only")
    )
    for round_ in range(args.runs + 1):
        for label, path in layers.items():
            floor = _timed(decompress_streaming, path)
            walker = _timed(walk, path, digests[label], True)
            pure = (float("nan"), float("nan"))
            if native is not None:  # the same walk as an install without a C compiler
                tarstream.skip_unused_pax = None
                try:
                    pure = _timed(walk, path, digests[label], True)
                finally:
                    tarstream.skip_unused_pax = native
            if round_:
                samples[label].append(Sample(*floor, *walker, *pure))
    median = statistics.median
    for label, path in layers.items():
        with tarfile.open(path) as tar:
            entries = sum(1 for _ in tar)
        mine = samples[label]
        print(
            f"{label:27s} {entries} entries, {path.stat().st_size / 1e6:.1f} MB gzip,"
            f" {decompress_streaming(path) / 1e6:.1f} MB tar: isal floor"
            f" {median(s.floor for s in mine) * 1000:.0f} ms, analyse_layer"
            f" {median(s.walker for s in mine) * 1000:.0f} ms wall,"
            f" {median(s.walker_cpu for s in mine) * 1000:.0f} ms CPU (medians of {args.runs})"
        )
    pairs = list(zip(*samples.values(), strict=True))
    cases = [
        ("wall", attrgetter("walker"), attrgetter("floor")),
        ("CPU (all threads)", attrgetter("walker_cpu"), attrgetter("floor_cpu")),
    ]
    if native is not None:
        cases += [
            ("wall, pure Python path", attrgetter("pure"), attrgetter("floor")),
            ("CPU, pure Python path", attrgetter("pure_cpu"), attrgetter("floor_cpu")),
        ]
    for what, walker_of, floor_of in cases:
        raw = [walker_of(b) / walker_of(a) for a, b in pairs]
        beyond = [(walker_of(b) - floor_of(b)) / (walker_of(a) - floor_of(a)) for a, b in pairs]
        print(
            f"PAX overhead, {what}, median of the {args.runs} rounds' ratios:"
            f" walker x{median(raw):.3f} ({(median(raw) - 1) * 100:+.1f} %;"
            f" rounds x{min(raw):.3f}-x{max(raw):.3f});"
            f" floor x{median(floor_of(b) / floor_of(a) for a, b in pairs):.3f};"
            f" walker beyond the floor x{median(beyond):.3f}"
        )


class Sample(NamedTuple):
    floor: float
    floor_cpu: float
    walker: float
    walker_cpu: float
    pure: float  # the walker without the C shortcut (NaN when it is not built)
    pure_cpu: float


def _timed(func: Callable[..., object], *args: object) -> tuple[float, float]:
    """Wall and CPU seconds (every thread of this process: the walker's are three) of one
    call. CPU time moves less than wall time when other work shares the cores."""
    wall, cpu = time.perf_counter(), time.process_time()
    func(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


# -- instruction counts ----------------------------------------------------------------------
#
# Wall (and even CPU) time on a shared two-core machine moves by more than the change being
# measured; instructions executed do not. Each case runs in its own process under callgrind,
# less a baseline process that does everything but the walk (imports, decompressing both
# layers into memory, one tiny PAX walk that compiles whatever is compiled on first use).
# The walk is on the plain tar in memory, one thread: no decompression, no hashing (which
# callgrind runs without the CPU's SHA instructions), so the figure is the walker's own.


def _tars(plain: Path, pax: Path) -> dict[str, bytes]:
    from isal import igzip

    layers = {"gnu": plain, "pax": pax}
    return {label: igzip.decompress(path.read_bytes()) for label, path in layers.items()}  # type: ignore[no-untyped-call]


def _tar_reader_only(tar: bytes) -> None:
    from imagetrust.sbom.tarstream import TarReader

    chunks = iter([tar[start : start + (1 << 18)] for start in range(0, len(tar), 1 << 18)])
    for _ in TarReader(lambda: next(chunks, b""), lambda size: None).members():
        pass


def _analyse_in_memory(tar: bytes) -> None:
    import io

    from imagetrust.oci import media
    from imagetrust.sbom import layers
    from imagetrust.sbom.catalogers import default_catalogers

    layers.USE_WORKER_THREAD = False
    layers.analyse_layer(
        io.BytesIO(tar),
        digest="sha256:" + "0" * 64,
        media_type=media.OCI_LAYER,
        catalogers=default_catalogers(),
    )


def _prepared(plain: Path, pax: Path) -> dict[str, bytes]:
    tars = _tars(plain, pax)
    info = tarfile.TarInfo("a")
    info.pax_headers = {"mtime": "1.5"}
    _tar_reader_only(info.tobuf(format=tarfile.PAX_FORMAT) + bytes(1024))
    _analyse_in_memory(bytes(1024))
    return tars


def _baseline(plain: Path, pax: Path) -> None:
    _prepared(plain, pax)


def _case(
    label: str, walk_it: Callable[[bytes], None], pure: bool = False
) -> Callable[[Path, Path], None]:
    def run(plain: Path, pax: Path) -> None:
        tars = _prepared(plain, pax)
        if pure:  # as installed without a C compiler
            tarstream.skip_unused_pax = None
        walk_it(tars[label])

    return run


_COUNTED: dict[str, Callable[[Path, Path], None]] = {
    "baseline": _baseline,
    "tar-gnu": _case("gnu", _tar_reader_only),
    "tar-pax": _case("pax", _tar_reader_only),
    "layer-gnu": _case("gnu", _analyse_in_memory),
    "layer-pax": _case("pax", _analyse_in_memory),
    "tar-gnu-pure": _case("gnu", _tar_reader_only, pure=True),
    "tar-pax-pure": _case("pax", _tar_reader_only, pure=True),
    "layer-gnu-pure": _case("gnu", _analyse_in_memory, pure=True),
    "layer-pax-pure": _case("pax", _analyse_in_memory, pure=True),
}


def count_instructions(mib: int) -> None:
    counts = {}
    for case in _COUNTED:
        valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        run = subprocess.run(
            [*valgrind, sys.executable, __file__, "--count", case, "--mib", str(mib)],
            capture_output=True,
            text=True,
            check=True,
        )
        counts[case] = int(run.stderr.split("Collected : ")[1].split()[0])
    base = counts["baseline"]
    plain, _ = build_layers(mib)
    with tarfile.open(plain) as tar:
        entries = sum(1 for _ in tar)
    for what, gnu_case, pax_case in (
        ("TarReader alone", "tar-gnu", "tar-pax"),
        ("analyse_layer, tar in memory", "layer-gnu", "layer-pax"),
        ("TarReader, pure Python", "tar-gnu-pure", "tar-pax-pure"),
        ("analyse_layer, pure Python", "layer-gnu-pure", "layer-pax-pure"),
    ):
        gnu, pax = counts[gnu_case] - base, counts[pax_case] - base
        print(
            f"{what:29s} GNU {gnu / 1e6:.1f}M, PAX {pax / 1e6:.1f}M instructions:"
            f" PAX x{pax / gnu:.3f}, {(pax - gnu) / entries:,.0f} more per entry"
        )


if __name__ == "__main__":
    main()
