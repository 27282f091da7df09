"""Re-matching stored SBOMs after a database change, against analysing the images cold.

Issue 7's aim: re-matching stored SBOMs against a database holding all records of the
ecosystems involved takes under 1/20 of the time of analysing those images cold. Issue 25
asks it at the scale of OSV's Debian, Ubuntu, Alpine and PyPI exports together. Both sides
are measured in this run, in-process:

- cold analysis: ``ImageAnalyser`` with an empty layer cache on the Debian 12 minbase
  benchmark image (``bench/images.py``, one 92 MB gzip layer), several runs, median; times
  the number of SBOMs;
- the database: the four exports generated at osv.dev's size and shape (``bench/osvgen.py``:
  about 125,000 records, 52,627 Debian, 50,807 Ubuntu, 3,971 Alpine, 17,956 PyPI, each with
  its releases), imported as ``db update`` imports them (one source per export, filtered to
  its ecosystem) with the production importer, and CISA's KEV catalog (the fixtures' real
  one), which every update brings;
- the SBOMs: stored in a fresh SQLite store, in the proportions of the official images' tag
  lines that name their base (``docker-library/official-images`` at 37079fb: 528 Debian,
  465 Alpine, 391 Ubuntu, so 38/34/28 %), 15 % with Python packages. Each is a draw from a
  real package database: Debian images 80-400 of the 711 packages of a Debian 12 status
  (``tests/fixtures/rootfs/debian12``; labelled Debian 13 in three of five), Ubuntu images
  60-90 of the 90 of an Ubuntu 24.04 minbase (``tests/fixtures/rootfs/ubuntu2404``;
  labelled 22.04 in two of five), Alpine images 10-14 of the 14 of an Alpine 3.16 database
  (``tests/fixtures/rootfs/alpine``; labelled v3.21-v3.23), read by the product's own dpkg and
  apk catalogers, and 3-60 of the ~100 pinned PyPI distributions of ``requirements/dev.lock``.
  The labels spread the SBOMs over the releases a catalog ships: each release is a lookup
  of its own, as it would be;
- the re-match: what ``run`` does for images whose SBOM is stored when the database changed
  (``pipeline.engine.Engine.match_stored``, its batches of 50 SBOMs per read snapshot): load
  each SBOM, match it (``vulndb.scan.scan_sboms``), write its result, findings and finding
  set, and evaluate it, one transaction per image. A first pass with no database stands for
  the earlier run; the timed pass follows the import.

Peak RSS is the process's high-water mark (``VmHWM``) reset just before the re-match. The
machine is shared: beside wall times, the CPU time of this process is given, and the ratio
in CPU time too. The time spent inside ``scan_sboms`` is added up apart (the rest is loading
the SBOMs and writing what ``run`` writes): the one hook into the product.

Run: ``.venv/bin/python bench/rematch.py [--sboms N] [--full] [--scale 1.0] [--skip-build]
[--profile]``. The default (300 SBOMs, the full-size database) fits ``make bench``; ``--full``
stores 2,000. ``--profile`` prints where the re-match spends its time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.pipeline.stored_pass

from osvgen import OSV_RECORDS, Export, write_export

if TYPE_CHECKING:
    from imagetrust.pipeline.context import PipelineContext
    from imagetrust.sbom.models import ImageSbom, Package
    from imagetrust.store.database import Store

REPO = Path(__file__).resolve().parent.parent
ROOTFS = REPO / "tests/fixtures/rootfs"
DEBIAN_STATUS = ROOTFS / "debian12/var/lib/dpkg/status"
UBUNTU_STATUS = ROOTFS / "ubuntu2404/var/lib/dpkg/status"
ALPINE_INSTALLED = ROOTFS / "alpine/lib/apk/db/installed"
PYTHON_LOCK = REPO / "requirements/dev.lock"
KEV_CATALOG = REPO / "tests/fixtures/vulndb/kev/known_exploited_vulnerabilities.json"
NOW = datetime(2026, 11, 23, tzinfo=UTC)
DEFAULT_SBOMS = 300
FULL_SBOMS = 2000

# (base, share of 50 images, releases as (VERSION_ID, codename, weight), packages drawn)
BASES = (
    ("debian", 19, (("12", "bookworm", 2), ("13", "trixie", 3)), (80, 400)),
    ("alpine", 17, (("3.21.4", None, 1), ("3.22.2", None, 1), ("3.23.0", None, 1)), (10, 14)),
    ("ubuntu", 14, (("22.04", "jammy", 2), ("24.04", "noble", 3)), (60, 90)),
)
PYTHON_SLOTS = (0, 7, 14)  # of every 20 images: 15 % carry Python packages


@dataclass(frozen=True)
class Pools:
    """The real packages images are drawn from, per base, parsed per release."""

    packages: dict[tuple[str, str], list[Package]]  # (base, VERSION_ID) -> packages
    python: list[Package]

    def sources(self, base: str) -> list[str]:
        """The names advisories use for the base's packages (source packages, apk origins)."""
        return sorted(
            {
                p.source_name or p.name
                for (b, _), ps in self.packages.items()
                if b == base
                for p in ps
            }
        )


def load_pools() -> Pools:
    from imagetrust.sbom.catalogers.apk import parse_apk_installed
    from imagetrust.sbom.catalogers.dpkg import parse_dpkg_status
    from imagetrust.sbom.models import OsRelease, Package, PackageType
    from imagetrust.sbom.purl import pypi_purl

    files = {
        "debian": (DEBIAN_STATUS, parse_dpkg_status),
        "ubuntu": (UBUNTU_STATUS, parse_dpkg_status),
        "alpine": (ALPINE_INSTALLED, parse_apk_installed),
    }
    packages: dict[tuple[str, str], list[Package]] = {}
    for base, _, releases, _ in BASES:
        path, parse = files[base]
        for version_id, codename, _ in releases:
            os_release = OsRelease(base, version_id, version_codename=codename)
            packages[(base, version_id)] = parse(str(path), path.read_bytes(), os_release)
    python = []
    for line in PYTHON_LOCK.read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and name and not name.startswith("#"):
            version = version.split(";")[0].split()[0]
            site = "usr/local/lib/python3.12/site-packages"
            python.append(
                Package(
                    name,
                    version,
                    PackageType.PYTHON,
                    purl=pypi_purl(name, version),
                    path=f"{site}/{name}-{version}.dist-info/METADATA",
                )
            )
    return Pools(packages, python)


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _interleaved() -> list[Any]:
    """The 50 slots of ``BASES``, each base spread evenly, so any prefix of the catalog
    keeps the proportions."""
    placed = [
        ((i + 0.5) / share, order, base)
        for order, base in enumerate(BASES)
        for share in (base[1],)
        for i in range(share)
    ]
    return [base for _, _, base in sorted(placed)]


def catalog(count: int, pools: Pools, analyser_version: str, seed: int) -> Iterator[ImageSbom]:
    """``count`` SBOMs in the official images' proportions (see the docstring)."""
    from imagetrust.sbom.models import ImageFacts, ImageSbom, OsRelease

    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    slots = _interleaved()
    for number in range(count):
        base, _, releases, (low, high) = slots[number % len(slots)]
        version_id, codename, _ = rng.choices(releases, weights=[r[2] for r in releases])[0]
        pool = pools.packages[(base, version_id)]
        packages = rng.sample(pool, rng.randint(min(low, len(pool)), min(high, len(pool))))
        if number % 20 in PYTHON_SLOTS:
            packages += rng.sample(pools.python, rng.randint(3, min(60, len(pools.python))))
        yield ImageSbom(
            reference=f"docker.io/library/bench-{base}-{number}:latest",
            digest=_digest(f"manifest/{number}"),
            index_digest=None,
            platform="linux/amd64",
            config_digest=_digest(f"config/{number}"),
            analyser_version=analyser_version,
            os=OsRelease(base, version_id, version_codename=codename),
            packages=tuple(packages),
            layers=(),
            facts=ImageFacts(None, (), (), {}, {}),
        )


def cold_analysis_seconds(runs: int, skip_build: bool) -> tuple[float, float, str]:
    """Median wall and CPU seconds (one layer: analysed in this process, its threads
    counted) of analysing the benchmark image with an empty layer cache."""
    from images import build_image, cache_dir, load_image

    from imagetrust.config import Settings
    from imagetrust.oci.sources import OciSession
    from imagetrust.sbom.analyse import ImageAnalyser
    from imagetrust.sbom.cache import LayerCache

    cache = cache_dir(None)
    image = load_image(cache) if skip_build else build_image(cache)
    if image is None:
        raise SystemExit("no benchmark image built yet: run without --skip-build once")
    times, cpu = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home, OciSession(Settings()) as session:
            analyser = ImageAnalyser(LayerCache(Path(home)))
            started, cpu_started = time.perf_counter(), time.process_time()
            with session.open(image.oci_reference) as source:
                analyser.analyse(source)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    return statistics.median(times), statistics.median(cpu), image.description


def context(home: Path) -> PipelineContext:
    from imagetrust.clock import Clock
    from imagetrust.config import Settings
    from imagetrust.paths import HomeLayout
    from imagetrust.pipeline.context import PipelineContext

    layout = HomeLayout(home)
    return PipelineContext(
        home=layout,
        settings=Settings(),
        clock=Clock.from_text(NOW.isoformat()),
        db_url=f"sqlite:///{home / 'imagetrust.db'}",
    )


@dataclass
class Rematch:
    seconds: float
    cpu_seconds: float  # of this process: the machine is shared, wall time is noisy
    matching_seconds: float  # inside vulndb.scan.scan_sboms
    images: int
    peak_rss_kb: int
    rss_before_kb: int


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _timed_scan(spent: list[float]) -> Callable[..., Any]:
    """``scan_sboms`` with the time spent inside it added up, to split matching from the
    rest of the re-match (``Engine.match_stored`` imports it when it runs)."""
    from imagetrust.vulndb import scan

    real = scan.scan_sboms

    def timed(*args: Any) -> Iterator[Any]:
        scans = real(*args)
        while True:
            started = time.perf_counter()
            try:
                item = next(scans)
            except StopIteration:
                spent[0] += time.perf_counter() - started
                return
            spent[0] += time.perf_counter() - started
            yield item

    return timed


def run_pass(ctx: PipelineContext, store: Store, sboms: list[tuple[str, str]]) -> int:
    """One ``run`` over stored SBOMs: plan, then ``Engine.match_stored``; images matched."""
    from tests.pipeline.stored_pass import run_stored_pass

    done = run_stored_pass(ctx, store, sboms, now=NOW, params={"bench": "rematch"})
    if done.planned != len(sboms):
        raise SystemExit(f"planned {done.planned} re-matches for {len(sboms)} SBOMs")
    if done.missing:
        raise SystemExit(f"{len(done.missing)} stored SBOMs were not found")
    return done.counters.new + done.counters.rematched


def rematch(
    ctx: PipelineContext, store: Store, sboms: list[tuple[str, str]], profile: bool
) -> Rematch:
    from imagetrust.vulndb import scan

    spent = [0.0]
    real = scan.scan_sboms
    scan.scan_sboms = _timed_scan(spent)  # type: ignore[assignment]
    profiler = cProfile.Profile() if profile else None
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        before = _status_kb("VmRSS")
        started, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        images = run_pass(ctx, store, sboms)
        if profiler is not None:
            profiler.disable()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = _status_kb("VmHWM")
    finally:
        scan.scan_sboms = real  # type: ignore[assignment]
    if profiler is not None:
        stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
        stats.print_stats(30)
        stats.sort_stats("tottime").print_stats(25)
    return Rematch(seconds, cpu, spent[0], images, peak, before)


def import_exports(store: Store, exports: list[Export]) -> list[tuple[Export, float]]:
    """Each export as ``db update`` imports it: its own source, filtered to its ecosystem;
    then CISA's KEV catalog, which every update brings (the real one of the fixtures)."""
    from imagetrust.vulndb.importer import import_path
    from imagetrust.vulndb.kev import import_kev_file

    import_kev_file(store, KEV_CATALOG, now=NOW)
    timed = []
    for export in exports:
        started = time.perf_counter()
        import_path(
            store,
            export.path,
            now=NOW,
            name=f"osv:{export.ecosystem}",
            ecosystems=frozenset({export.ecosystem}),
        )
        timed.append((export, time.perf_counter() - started))
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sboms", type=int, help=f"default {DEFAULT_SBOMS}, {FULL_SBOMS} with --full"
    )
    parser.add_argument("--full", action="store_true", help=f"{FULL_SBOMS} SBOMs")
    parser.add_argument("--scale", type=float, default=1.0, help="of OSV's record counts")
    parser.add_argument("--runs", type=int, default=3, help="cold analyses to take the median of")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the re-match")
    args = parser.parse_args()
    count = args.sboms or (FULL_SBOMS if args.full else DEFAULT_SBOMS)

    from sqlalchemy import func, select

    from imagetrust.pipeline.analysis import image_analyser
    from imagetrust.sbom.stored import save_sbom
    from imagetrust.store.schema import image_findings
    from imagetrust.vulndb.query import db_status

    load_before = _load()
    cold, cold_cpu, description = cold_analysis_seconds(args.runs, args.skip_build)
    pools = load_pools()
    python_names = sorted({p.name for p in pools.python})
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        ctx = context(folder / "home")
        analyser_version = image_analyser(ctx).version
        started = time.perf_counter()
        exports = [
            write_export(folder, ecosystem, names, args.scale, seed=25)
            for ecosystem, names in (
                ("Debian", pools.sources("debian")),
                ("Ubuntu", pools.sources("ubuntu")),
                ("Alpine", pools.sources("alpine")),
                ("PyPI", python_names),
            )
        ]
        generate_seconds = time.perf_counter() - started
        with ctx.open_store() as store:
            stored: list[tuple[str, str]] = []
            packages = python = 0
            per_base: dict[str, int] = {}
            with store.transaction() as conn:
                for sbom in catalog(count, pools, analyser_version, seed=7):
                    save_sbom(conn, sbom, NOW)
                    stored.append((sbom.reference, sbom.digest))
                    packages += len(sbom.packages)
                    python += any(p.type.value == "python" for p in sbom.packages)
                    assert sbom.os is not None
                    per_base[sbom.os.id] = per_base.get(sbom.os.id, 0) + 1
            started = time.perf_counter()
            run_pass(ctx, store, stored)  # the earlier run: no database yet
            first_seconds = time.perf_counter() - started
            imports = import_exports(store, exports)
            with store.read() as conn:
                status = db_status(conn)
            result = rematch(ctx, store, stored, args.profile)
            with store.read() as conn:
                findings = conn.execute(
                    select(func.count()).select_from(image_findings)
                ).scalar_one()

    print(f"machine: {os.cpu_count()} cores, load average {load_before} before, {_load()} after")
    print(
        f"cold analysis ({description}): median {cold:.3f} s per image (CPU {cold_cpu:.3f} s),"
        " in-process"
    )
    print(
        f"generated exports in {generate_seconds:.1f} s (scale {args.scale:g} of osv.dev's "
        + ", ".join(f"{k} {v:,}" for k, v in OSV_RECORDS.items())
        + ")"
    )
    import_total = sum(seconds for _, seconds in imports)
    for export, seconds in imports:
        source = next(s for s in status.sources if s.name == f"osv:{export.ecosystem}")
        releases = ", ".join(
            f"{name.removeprefix(export.ecosystem + ':')} {n:,}"
            for name, n in sorted(status.per_ecosystem.items())
            if name == export.ecosystem or name.startswith(export.ecosystem + ":")
        )
        print(
            f"  {source.name}: {source.records:,} records, {export.entries:,} affected entries,"
            f" {export.size / 1e6:.0f} MB zip, imported in {seconds:.1f} s"
            f" ({source.records / seconds:,.0f} records/s); records per release: {releases}"
        )
    print(
        f"database: {status.records:,} records, {status.affected_entries:,} affected entries;"
        f" imported in {import_total:.1f} s, with the real KEV catalog of the fixtures"
    )
    bases = ", ".join(f"{n} {base}" for base, n in sorted(per_base.items()))
    print(
        f"stored SBOMs: {count} ({bases}; {python} with Python packages), {packages:,}"
        f" packages; first run pass (no database yet) {first_seconds:.1f} s"
    )
    rate = packages / result.seconds
    print(
        f"re-match as run does it: {result.images} images, {packages:,} packages, {findings:,}"
        f" findings in {result.seconds:.2f} s ({rate:,.0f} packages/s, CPU"
        f" {result.cpu_seconds:.2f} s); matching (scan_sboms) {result.matching_seconds:.2f} s,"
        f" loading SBOMs, writing results, findings, finding sets and verdicts"
        f" {result.seconds - result.matching_seconds:.2f} s"
    )
    print(
        f"re-match peak RSS {result.peak_rss_kb / 1024:.0f} MB"
        f" (RSS {result.rss_before_kb / 1024:.0f} MB before it)"
    )
    cold_total = cold * count
    ratio = result.seconds / cold_total
    print(f"cold analysis of {count} such images: {cold_total:.0f} s (median x {count})")
    print(f"matching alone / cold analysis = {result.matching_seconds / cold_total:.4f}")
    cpu_ratio = result.cpu_seconds / (cold_cpu * count)
    print(f"re-match / cold analysis in CPU time = {cpu_ratio:.4f} (the machine's noise out)")
    verdict = "met" if ratio < 1 / 20 else "MISSED"
    print(f"re-match / cold analysis = {ratio:.4f} (aim < 0.05): {verdict}")


def _load() -> str:
    return "/".join(f"{n:.1f}" for n in os.getloadavg())


if __name__ == "__main__":
    main()
