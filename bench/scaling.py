"""Cost as the catalog grows: ``imagetrust run`` over 10, 100 (default) and 1,000, 8,000
(``--full``) synthetic images, and a projection of the whole official catalog from the fit.

Each point is a fresh catalog from ``bench/catalog.py`` (shared base and runtime layers, a
small layer of its own per image, a real ``docker-registry`` on loopback, the Hub answers a
recording) and one cold ``imagetrust run`` into an empty store: its wall time, the peak RSS
of its main process (``VmHWM``), the store's size on disk (SQLite file; with ``--postgres``
also the run on PostgreSQL and its ``pg_database_size``), then ``imagetrust report --out``
over that store. The layers are small on purpose: what is measured is what each image costs
beyond its bytes (registry round trips, matching, evidence, verdict, the store), which is
what grows with the catalog; the bytes are priced from ``bench/sbom.py``'s figures.

A least-squares line through the points gives seconds per image; with the per-byte figures
it projects the first run of the official catalog per shard count. Plots go to
``bench/plots/scaling-*.svg``.

    .venv/bin/python bench/scaling.py [--sizes 10,100] [--full] [--postgres]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from svgplot import line_chart  # noqa: E402
from tests.services.measure import run_measured  # noqa: E402

from catalog import (  # noqa: E402
    NOW,
    _machine,
    _versions,
    catalog,
    compile_bytecode,
    postgres_url,
    run_phase,
)

PLOTS = BENCH / "plots"

# The official catalog (README, "What it costs": counted from the library files).
PLATFORM_MANIFESTS = 7_935
AMD64_IMAGES = 1_986
# The byte cost of a real image, from bench/RESULTS.md: a cold SBOM of the 92 MB (compressed)
# minbase image takes ~0.55 s on two cores; an assumed 150 MB of compressed layers per image
# not shared with an earlier one; downloads at an assumed 100 MB/s.
ANALYSIS_S_PER_MB = 0.55 / 92
UNSHARED_MB_PER_IMAGE = 150
DOWNLOAD_MB_PER_S = 100
SETUP_S_PER_JOB = 150  # checkout, Python, install, cache restore: 2-3 minutes
SHARDS = (1, 4, 8, 16)


@dataclass
class Point:
    images: int
    backend: str
    seconds: float
    peak_mib: float
    store_bytes: int
    report_seconds: float | None
    report_peak_mib: float | None = None


def _sqlite_size(home: Path) -> int:
    """Bytes of the SQLite store files in the home (the database and its -wal, if any)."""
    total = 0
    for path in home.rglob("*"):
        is_store = path.suffix in {".db", ".sqlite", ".sqlite3"} or path.name.endswith("-wal")
        if path.is_file() and is_store and "cache" not in path.parts:
            total += path.stat().st_size
    if total == 0:  # name it by content, not by suffix, if the layout changes
        for path in home.rglob("*"):
            if path.is_file() and path.open("rb").read(16) == b"SQLite format 3\x00":
                total += path.stat().st_size
    return total


def _pg_size(url: str) -> int:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sqlalchemy.text("SELECT pg_database_size(current_database())")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _report(home: Path, env: dict[str, str], db_url: str | None) -> tuple[float, float]:
    out = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        env = {**env, **({"IMAGETRUST_DB_URL": db_url} if db_url else {})}
        done = run_measured(
            ["imagetrust", "--home", str(home), "report", "--out", str(out / "site")],
            env=env,
            timeout=3600,
        )
        if done.returncode != 0:
            raise SystemExit(f"error: report exited {done.returncode}:\n{done.stderr[-2000:]}")
        return done.seconds, done.peak_rss_mib
    finally:
        shutil.rmtree(out, ignore_errors=True)


def measure(size: int, postgres: bool, report_on: bool) -> list[Point]:
    points = []
    with catalog(size) as world:
        env = {**world.env(), "IMAGETRUST_NOW": NOW}
        home = world.tmp / "home"
        phase = run_phase(world, home, "cold", env)
        report_s, report_mib = _report(home, env, None) if report_on else (None, None)
        points.append(
            Point(
                size,
                "SQLite",
                phase.seconds,
                phase.peak_mib,
                _sqlite_size(home),
                report_s,
                report_mib,
            )
        )
        print(f"  SQLite: {phase.seconds:.2f} s, {phase.peak_mib:.0f} MiB", file=sys.stderr)
        if postgres:
            shutil.rmtree(home)  # a fresh home: the layer cache empty again
            with postgres_url() as url:
                phase = run_phase(world, home, "cold", {**env, "IMAGETRUST_DB_URL": url})
                report_s, report_mib = _report(home, env, url) if report_on else (None, None)
                points.append(
                    Point(
                        size,
                        "PostgreSQL",
                        phase.seconds,
                        phase.peak_mib,
                        _pg_size(url),
                        report_s,
                        report_mib,
                    )
                )
            print(f"  PostgreSQL: {phase.seconds:.2f} s", file=sys.stderr)
    return points


def fit(points: list[Point]) -> tuple[float, float]:
    """Least-squares seconds = fixed + per_image * images; (fixed, per_image)."""
    xs = [float(p.images) for p in points]
    ys = [p.seconds for p in points]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return my - slope * mx, slope


def projection(per_image_overhead: float, report_per_image: float | None) -> list[str]:
    analysis = ANALYSIS_S_PER_MB * UNSHARED_MB_PER_IMAGE
    download = UNSHARED_MB_PER_IMAGE / DOWNLOAD_MB_PER_S
    per_image = per_image_overhead + analysis + download
    lines = [
        f"Per image: {per_image_overhead:.3f} s measured overhead + {analysis:.2f} s analysis"
        f" + {download:.2f} s download = {per_image:.2f} s (2 vCPU, as measured); setup"
        f" {SETUP_S_PER_JOB / 60:.1f} min per job.",
        "",
        "| images | shards | wall min per job (2 vCPU) | runner-min (2 vCPU)"
        " | wall min per job (4 vCPU, CPU halved) | runner-min (4 vCPU) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, count in (("linux/amd64", AMD64_IMAGES), ("all platforms", PLATFORM_MANIFESTS)):
        for shards in SHARDS:
            each = count / shards
            wall2 = (SETUP_S_PER_JOB + each * per_image) / 60
            cpu4 = (per_image_overhead + analysis) / 2 + download
            wall4 = (SETUP_S_PER_JOB + each * cpu4) / 60
            lines.append(
                f"| {label} ({count:,}) | {shards} | {wall2:.0f} | {wall2 * shards:.0f}"
                f" | {wall4:.0f} | {wall4 * shards:.0f} |"
            )
    if report_per_image is not None:
        lines += [
            "",
            f"Then the final job's `report --out site` over the whole store, one job: at"
            f" {report_per_image:.2f} s per image (the largest point), about"
            f" {AMD64_IMAGES * report_per_image / 60:.0f} min (linux/amd64) or"
            f" {PLATFORM_MANIFESTS * report_per_image / 60:.0f} min (all platforms).",
        ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10,100", help="catalog sizes, comma-separated")
    parser.add_argument("--full", action="store_true", help="add the 1,000 and 8,000 points")
    parser.add_argument("--postgres", action="store_true", help="each point on PostgreSQL too")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",") if n]
    if args.full:
        sizes += [n for n in (1000, 8000) if n not in sizes]
    sizes.sort()
    compile_bytecode()  # as an install has it: no run pays for recompiling
    print(f"Command: `{' '.join([sys.executable, *sys.argv])}`, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"Machine: {_machine()}")
    print(f"Tools: {_versions()}")
    points: list[Point] = []
    print()
    print(
        "| images | store | wall s | s per image | peak RSS MiB (main) | store MB"
        " | `report --out` s | report peak RSS MiB |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |", flush=True)
    for size in sizes:  # each row as soon as it is measured: the large points take long
        print(f"{size} images ...", file=sys.stderr, flush=True)
        for p in measure(size, args.postgres, report_on=True):
            points.append(p)
            report = f"{p.report_seconds:.2f}" if p.report_seconds is not None else "-"
            report_peak = f"{p.report_peak_mib:.0f}" if p.report_peak_mib is not None else "-"
            print(
                f"| {p.images:,} | {p.backend} | {p.seconds:.2f} | {p.seconds / p.images:.3f}"
                f" | {p.peak_mib:.0f} | {p.store_bytes / 1e6:.1f} | {report} | {report_peak} |",
                flush=True,
            )
    backends = sorted({p.backend for p in points})
    print()
    fits = {}
    for backend in backends:
        mine = [p for p in points if p.backend == backend]
        if len(mine) < 2:
            continue
        fixed, per_image = fit(mine)
        fits[backend] = per_image
        peaks = [p.peak_mib for p in mine]
        print(
            f"{backend}: wall ≈ {fixed:.2f} s + {per_image:.3f} s x images"
            f" (least squares over {len(mine)} points); peak RSS {min(peaks):.0f}-"
            f"{max(peaks):.0f} MiB; store ≈ {mine[-1].store_bytes / mine[-1].images / 1e3:.0f}"
            " kB per image"
        )
    if "SQLite" in fits:
        print()
        largest = max((p for p in points if p.backend == "SQLite"), key=lambda p: p.images)
        report_each = (
            largest.report_seconds / largest.images if largest.report_seconds is not None else None
        )
        print("\n".join(projection(fits["SQLite"], report_each)))
    line_chart(
        PLOTS / "scaling-time.svg",
        "imagetrust run, cold: wall time by catalog size",
        "images (log scale)",
        "seconds per image",
        {b: [(p.images, p.seconds / p.images) for p in points if p.backend == b] for b in backends},
        log_x=True,
    )
    line_chart(
        PLOTS / "scaling-memory.svg",
        "Peak RSS: imagetrust run (main process) and report",
        "images (log scale)",
        "MiB",
        {
            **{
                f"run, {b}": [(p.images, p.peak_mib) for p in points if p.backend == b]
                for b in backends
            },
            **{
                f"report, {b}": [
                    (p.images, p.report_peak_mib)
                    for p in points
                    if p.backend == b and p.report_peak_mib is not None
                ]
                for b in backends
            },
        },
        log_x=True,
    )
    line_chart(
        PLOTS / "scaling-report.svg",
        "imagetrust report --out (the HTML site): wall time by catalog size",
        "images (log scale)",
        "seconds per image",
        {
            b: [
                (p.images, p.report_seconds / p.images)
                for p in points
                if p.backend == b and p.report_seconds is not None
            ]
            for b in backends
        },
        log_x=True,
    )
    print(
        f"\nPlots: {PLOTS / 'scaling-time.svg'}, {PLOTS / 'scaling-memory.svg'},"
        f" {PLOTS / 'scaling-report.svg'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
