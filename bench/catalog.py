"""Each byte once, and the loops people run for this job, over a synthetic catalog.

A catalog of N official-like repositories is pushed to a real ``docker-registry`` on
loopback (the test suite's way: ``tests/services/registry.py``) and read through a proxy
that logs every request, so bytes and requests are counted at the registry, not by
imagetrust itself. Each image is a base layer shared the way official images share theirs
(half on a Debian base, a third on Alpine, the rest on an "Ubuntu" one: the real package
databases of ``tests/fixtures/rootfs``), a runtime layer shared by groups of images (as the
``python:*`` or ``node:*`` variants share theirs) and a small layer of its own. The Hub
answers are a recording in the API's page format, as in ``tests/pipeline/world.py``.

Phases, each one ``imagetrust run`` process (``--jobs`` default: the cores), timed, with the
peak RSS of its main process (``VmHWM``; the layer workers are processes of their own):

1. cold, empty vulnerability database: every layer fetched once? (bytes fetched ÷ unique
   layer bytes of the catalog, at the registry);
2. again, nothing new: blob bytes fetched (aim 0) and the requests made;
3. after ``db import`` (a database change): re-matched without any fetch?

Then the loops the seed project's workflow ran, one image per invocation over the same
images from the same registry: ``trivy image`` (SBOM mode, one shared cache) and ``syft``:
total time, blob bytes at the registry, the largest peak RSS of an invocation. They make an
SBOM only; ``run`` also matches, gathers evidence and decides, so the comparison favours
them.

    .venv/bin/python bench/catalog.py [--images 20] [--no-loops] [--full] [--postgres]

``--postgres`` runs the phases again with the store on PostgreSQL (started on loopback the
tests' way, ``tests/services/postgres.py``).

``--full`` runs 100 images with the loops and the scaling points 10, 100 and 1,000 (longer).
With the loops it draws ``bench/plots/catalog-loops-N.svg``; the growth with the catalog's
size, and the projection, are ``bench/scaling.py``'s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.pipeline.world import NOW, VULNDB, World  # noqa: E402
from tests.services.measure import run_measured  # noqa: E402
from tests.services.registry import (  # noqa: E402
    FaultProxy,
    find_registry_binary,
    running_registry,
)

from imagetrust.testkit.builder import ImageSpec, Layer, build_image  # noqa: E402

ROOTFS = REPO / "tests" / "fixtures" / "rootfs"
IMAGES_PER_RUNTIME = 5  # images sharing one runtime layer
OWN_BYTES = 64 << 10  # incompressible bytes of each image's own layer


def _noise(name: str, size: int) -> bytes:
    blocks = (size + 31) // 32
    return b"".join(hashlib.sha256(f"{name}/{i}".encode()).digest() for i in range(blocks))[:size]


def _base_of(index: int) -> str:
    slot = index % 20
    return "debian" if slot < 10 else "alpine" if slot < 17 else "ubuntu"


class CatalogWorld(World):
    """``count`` repositories in the proportions above, each one image tagged ``latest``."""

    def __init__(self, tmp: Path, registry: object, proxy: FaultProxy, count: int) -> None:
        super().__init__(tmp, registry, proxy, "bench")  # type: ignore[arg-type]
        self.count = count

    def build(self) -> CatalogWorld:
        bases = {
            "debian": Layer.from_dir(ROOTFS / "debian12"),
            "alpine": Layer.from_dir(ROOTFS / "alpine"),
            "ubuntu": Layer.from_dir(ROOTFS / "debian12").add_file("etc/ubuntu-like", "1"),
        }
        runtimes: dict[str, Layer] = {}
        for index in range(self.count):
            base = _base_of(index)
            group = f"{base}-{index // (20 * IMAGES_PER_RUNTIME)}-{(index % 20) % 3}"
            runtime = runtimes.setdefault(
                group, Layer.from_files({f"opt/runtime/{group}": _noise(group, 256 << 10)})
            )
            short = f"r{index:05d}"
            own = Layer.from_files({f"opt/{short}/data": _noise(short, OWN_BYTES)})
            self.built[short] = build_image(ImageSpec(layers=[bases[base], runtime, own]))
            self.pulls[short] = 10_000_000 - index
        self.push_all()
        self.write_library()
        self.write_hub()
        return self

    def push_all(self, threads: int = 8) -> None:
        """Push every image through the registry's API, several at a time: one at a time,
        the registry's round trips (13 per image) made the 8,000-image catalog take most of
        an hour to set up. One client per thread; the proxy's log starts empty after."""
        from concurrent.futures import ThreadPoolExecutor

        from imagetrust.config import Settings
        from imagetrust.oci.sources import OciSession
        from imagetrust.testkit.push import push

        shorts = list(self.built)

        def push_share(share: list[str]) -> None:
            with OciSession(Settings(), mirrors={}) as session:
                client = session.client(self.registry.netloc)
                for short in share:
                    push(self.built[short], client, f"library/{self.name(short)}", tag="latest")

        with ThreadPoolExecutor(threads) as pool:
            for done in [pool.submit(push_share, shorts[i::threads]) for i in range(threads)]:
                done.result()
        self.proxy.log.clear()

    def unique_layer_bytes(self) -> tuple[int, int]:
        """Distinct layers, and the bytes of every distinct blob (layers and configs):
        what reading each image once, and each shared layer once, costs."""
        sizes: dict[str, int] = {}
        layers = 0
        for built in self.built.values():
            for blob in getattr(built, "layers", ()):
                layers += blob.digest not in sizes
                sizes[blob.digest] = blob.descriptor.size
            config = getattr(built, "config", None)
            if config is not None:
                sizes[config.digest] = config.descriptor.size
        return layers, sum(sizes.values())

    def references(self) -> list[str]:
        return [f"{self.proxy.netloc}/library/{self.name(s)}:latest" for s in self.built]

    def counts(self) -> dict[str, int]:
        log = self.proxy.log
        return {
            "blob_bytes": self.blob_bytes(),
            "blob_gets": len(self.requests("GET", "blobs")),
            "manifest_gets": len(self.requests("GET", "manifests")),
            "manifest_heads": len(self.requests("HEAD", "manifests")),
            "requests": len(log),
        }


@dataclass
class Phase:
    name: str
    seconds: float
    peak_mib: float
    counts: dict[str, int]
    summary: dict[str, int]


@contextmanager
def catalog(count: int) -> Iterator[CatalogWorld]:
    binary = find_registry_binary()
    if binary is None:
        raise SystemExit("error: no docker-registry binary (Debian package docker-registry)")
    with running_registry(binary) as registry, tempfile.TemporaryDirectory() as scratch:
        proxy = FaultProxy(registry.port).start()
        try:
            started = time.perf_counter()
            world = CatalogWorld(Path(scratch), registry, proxy, count).build()
            print(
                f"  built and pushed {count} images in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            yield world
        finally:
            proxy.stop()


def run_phase(world: CatalogWorld, home: Path, name: str, env: dict[str, str]) -> Phase:
    world.proxy.log.clear()
    done = run_measured(["imagetrust", *world.run_args(home)], env=env, timeout=3600)
    if done.returncode not in (0, 3):
        raise SystemExit(f"error: {name}: run exited {done.returncode}:\n{done.stderr[-2000:]}")
    doc = json.loads(done.stdout)
    images = doc.get("images", {})
    return Phase(name, done.seconds, done.peak_rss_mib, world.counts(), images)


def run_phases(world: CatalogWorld, db_url: str | None = None) -> list[Phase]:
    home = world.tmp / "home"
    env = {**world.env(), "IMAGETRUST_NOW": NOW}
    if db_url:
        env["IMAGETRUST_DB_URL"] = db_url
    phases = [run_phase(world, home, "cold (empty database)", env)]
    phases.append(run_phase(world, home, "again, nothing new", env))
    imported = run_measured(
        ["imagetrust", "--home", str(home), "db", "import", str(VULNDB)], env=env, timeout=600
    )
    if imported.returncode != 0:
        raise SystemExit(f"error: db import failed:\n{imported.stderr[-2000:]}")
    phases.append(run_phase(world, home, "after a database change", env))
    return phases


# --------------------------------------------------------------------------- the loops


def _time_rss(argv: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (KB, GNU time) and exit code of one invocation."""
    time_bin = shutil.which("time") or "/usr/bin/time"
    with tempfile.NamedTemporaryFile() as out:
        started = time.perf_counter()
        done = subprocess.run(
            [time_bin, "-f", "%M", "-o", out.name, *argv],
            capture_output=True,
            env=env,
            timeout=600,
            check=False,
        )
        seconds = time.perf_counter() - started
        try:
            rss = int(Path(out.name).read_text().split()[-1])
        except (ValueError, IndexError):
            rss = 0
    return seconds, rss, done.returncode


@dataclass
class Loop:
    name: str
    seconds: float
    peak_kb: int
    failures: int
    counts: dict[str, int]
    command: str


def run_loop(world: CatalogWorld, tool: str) -> Loop | None:
    binary = shutil.which(tool) or str(Path(sys.executable).parent / tool)
    if not Path(binary).exists():
        print(f"  {tool}: not installed, loop skipped", file=sys.stderr)
        return None
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-{tool}-"))
    env = {
        **os.environ,
        "SYFT_CHECK_FOR_APP_UPDATE": "false",
        "SYFT_REGISTRY_INSECURE_USE_HTTP": "true",
        "SYFT_CACHE_DIR": str(scratch / "syft-cache"),
        "HOME": str(scratch),
        "DOCKER_CONFIG": str(scratch / "no-docker-config"),
    }
    world.proxy.log.clear()
    total, peak, failures = 0.0, 0, 0
    command = ""
    for reference in world.references():
        if tool == "trivy":
            argv = [
                binary,
                "image",
                "--image-src",
                "remote",
                "--insecure",
                "--format",
                "cyclonedx",
                "--cache-dir",
                str(scratch / "trivy-cache"),
                "--skip-db-update",
                "--skip-java-db-update",
                "--skip-check-update",
                "--offline-scan",
                "--skip-version-check",
                "--disable-telemetry",
                "--quiet",
                reference,
            ]
        else:
            argv = [binary, f"registry:{reference}", "-o", "json", "-q"]
        command = " ".join(argv)
        seconds, rss, code = _time_rss(argv, env)
        total += seconds
        peak = max(peak, rss)
        failures += code != 0
    shutil.rmtree(scratch, ignore_errors=True)
    return Loop(tool, total, peak, failures, world.counts(), command)


# --------------------------------------------------------------------------- report


def _machine() -> str:
    sys.path.insert(0, str(Path(__file__).parent))
    from sbom import machine

    return machine()


def _versions() -> str:
    found = []
    for argv in (["imagetrust", "--version"], ["trivy", "--version"], ["syft", "version"]):
        binary = shutil.which(argv[0]) or str(Path(sys.executable).parent / argv[0])
        try:
            out = subprocess.run(
                [binary, *argv[1:]], capture_output=True, text=True, timeout=60, check=False
            ).stdout
        except OSError:
            continue
        lines = [ln for ln in out.splitlines() if ln.strip()]
        line = next((ln for ln in lines if "ersion" in ln), lines[0] if lines else "")
        found.append(f"{argv[0]}: {line.strip()}")
    registry = find_registry_binary()
    if registry is not None:
        out = subprocess.run(
            [str(registry), "--version"], capture_output=True, text=True, check=False
        )
        found.append(f"registry: {(out.stdout or out.stderr).strip()}")
    return "; ".join(found)


def report_catalog(world: CatalogWorld, phases: list[Phase], loops: list[Loop]) -> list[str]:
    layers, unique = world.unique_layer_bytes()
    lines = [
        f"Catalog: {world.count} images, {layers} distinct layers, {unique / 1e6:.2f} MB of"
        " unique blobs (compressed layers and configs)",
        "",
        "| phase | wall s | peak RSS MiB (main) | blob bytes at registry | ÷ unique blob bytes"
        " | blob GETs | manifest GETs | manifest HEADs | new | unchanged | rematched |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase in phases:
        c, s = phase.counts, phase.summary
        lines.append(
            f"| {phase.name} | {phase.seconds:.2f} | {phase.peak_mib:.0f} | {c['blob_bytes']}"
            f" | {c['blob_bytes'] / unique:.2f} | {c['blob_gets']} | {c['manifest_gets']}"
            f" | {c['manifest_heads']} | {s.get('new', 0)} | {s.get('unchanged', 0)}"
            f" | {s.get('rematched', 0)} |"
        )
    if loops:
        cold = phases[0].seconds
        lines += [
            "",
            "| one invocation per image | total s | vs `run` cold | largest peak RSS MiB"
            " | blob bytes at registry | ÷ unique blob bytes | failures |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| imagetrust run (cold, above) | {cold:.2f} | x1.00 | {phases[0].peak_mib:.0f}"
            f" (main) | {phases[0].counts['blob_bytes']}"
            f" | {phases[0].counts['blob_bytes'] / unique:.2f} | 0 |",
        ]
        for loop in loops:
            lines.append(
                f"| {loop.name} loop | {loop.seconds:.2f} | x{loop.seconds / cold:.2f}"
                f" | {loop.peak_kb / 1024:.0f} | {loop.counts['blob_bytes']}"
                f" | {loop.counts['blob_bytes'] / unique:.2f} | {loop.failures} |"
            )
        lines += ["", *(f"- {loop.name}: `{loop.command}`" for loop in loops)]
    return lines


def plot_loops(count: int, cold: Phase, loops: list[Loop]) -> None:
    """bench/plots/catalog-loops-N.svg: total seconds of `run` cold and of each loop."""
    from svgplot import bar_chart

    bars = {"imagetrust run": cold.seconds, **{f"{x.name} loop": x.seconds for x in loops}}
    path = Path(__file__).parent / "plots" / f"catalog-loops-{count}.svg"
    bar_chart(path, f"{count} images, one registry: total wall seconds", "seconds", bars)
    print(f"\nPlot: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", default="20", help="catalog sizes, comma-separated")
    parser.add_argument("--no-loops", action="store_true", help="skip the trivy and syft loops")
    parser.add_argument(
        "--loops-up-to", type=int, default=100, help="run the loops only up to this size"
    )
    parser.add_argument("--full", action="store_true", help="sizes 10,100,1000 (loops at 100)")
    parser.add_argument(
        "--postgres", action="store_true", help="the phases again with the store on PostgreSQL"
    )
    args = parser.parse_args()
    sizes = [10, 100, 1000] if args.full else [int(n) for n in args.images.split(",") if n]
    print(f"Command: `{' '.join([sys.executable, *sys.argv])}`, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"Machine: {_machine()}")
    print(f"Tools: {_versions()}")
    for size in sizes:
        print(f"catalog of {size} images ...", file=sys.stderr)
        with catalog(size) as world:
            phases = run_phases(world)
            loops: list[Loop] = []
            if not args.no_loops and size <= args.loops_up_to:
                for tool in ("trivy", "syft"):
                    print(f"  {tool} loop ...", file=sys.stderr)
                    found = run_loop(world, tool)
                    if found is not None:
                        loops.append(found)
            print()
            print("\n".join(report_catalog(world, phases, loops)))
            if loops:
                plot_loops(world.count, phases[0], loops)
            if args.postgres:
                with postgres_url() as url:
                    for phase in world.tmp.glob("home"):
                        shutil.rmtree(phase)  # a fresh home: the layer cache starts empty
                    print("\nThe same on PostgreSQL (a fresh home: the layer cache empty again):")
                    print("\n".join(report_catalog(world, run_phases(world, url), [])[1:]))
            sys.stdout.flush()
    return 0


@contextmanager
def postgres_url() -> Iterator[str]:
    import psycopg
    from tests.services.postgres import find_bindir, running_postgres

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("error: --postgres: no PostgreSQL server binaries")
    with running_postgres(bindir) as server:
        with psycopg.connect(
            host=server.host, port=server.port, user=server.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute('CREATE DATABASE "bench"')
        yield server.url("bench")


if __name__ == "__main__":
    sys.exit(main())
