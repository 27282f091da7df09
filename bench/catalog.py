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

With ``--realistic`` the images have the sizes of real ones (``bench/catalog_images.py``:
a Debian base of 50 MB, an Alpine-like one of 3 MB and an Ubuntu-like one of 29 MB
compressed, shared in the same proportions, and 2-31 MB of each image's own real files in
two layers; built once into the bench cache, pushed to the registry on each run): the loops
then measure the work, not the start-up. The cold run and the trivy loop take ``--repeat``
turns (3; who goes first alternates, each run into a fresh home, each loop with a fresh
cache: the machine is shared, and a neighbour's burst should slow both alike), syft's loop
one; medians are reported with the range, and each turn's ratio. ``run`` is timed under
GNU time as the loops' invocations are: the peak RSS of its largest process (main or
worker) and the CPU seconds of all of them, which a busy machine moves far less than wall
time. The plot is ``bench/plots/catalog-loops-N.svg`` (N images: a run of one size never
replaces another size's plot).

    .venv/bin/python bench/catalog.py [--images 20] [--no-loops] [--full] [--postgres]
        [--realistic [--repeat 3] [--tools trivy,syft]]

``--postgres`` runs the phases again with the store on PostgreSQL (started on loopback the
tests' way, ``tests/services/postgres.py``).

``--full`` runs 100 images with the loops and the scaling points 10, 100 and 1,000 (longer;
with ``--realistic``: 20 and 100 images). The growth with the catalog's size, and the
projection, are ``bench/scaling.py``'s.
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
from tests.services.measure import Measured, run_measured  # noqa: E402
from tests.services.registry import (  # noqa: E402
    FaultProxy,
    find_registry_binary,
    running_registry,
)

from imagetrust.testkit.builder import (  # noqa: E402
    ImageSpec,
    Layer,
    StreamedImage,
    build_image,
)

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
                digest = blob.descriptor.digest
                layers += digest not in sizes
                sizes[digest] = blob.descriptor.size
            config = getattr(built, "config", None)
            if config is not None:
                sizes[config.digest] = config.descriptor.size
        return layers, sum(sizes.values())

    def unique_tar_bytes(self) -> int:
        """The uncompressed size of the distinct layers, where the images know it."""
        sizes: dict[str, int] = {}
        for built in self.built.values():
            tars = getattr(built, "layer_tars", ())  # an image built in memory
            for index, layer in enumerate(getattr(built, "layers", ())):
                size = getattr(layer, "tar_size", None)
                sizes[layer.descriptor.digest] = len(tars[index]) if size is None else size
        return sum(sizes.values())

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


class RealisticWorld(CatalogWorld):
    """The same catalog with images of real sizes (``bench/catalog_images.py``), read from
    the bench cache's OCI layout and pushed blob by blob."""

    def build(self) -> RealisticWorld:
        from catalog_images import ensure_catalog
        from images import cache_dir

        found = ensure_catalog(cache_dir(), self.count)
        for index, image in enumerate(found.images):
            short = f"r{index:05d}"
            self.built[short] = image  # type: ignore[assignment]
            self.pulls[short] = 10_000_000 - index
            self.publish_streamed(short, image)
        self.write_library()
        self.write_hub()
        return self

    def publish_streamed(self, short: str, image: StreamedImage) -> None:
        """Config, each layer (read from its blob file, one at a time), then the manifest."""
        from imagetrust.config import Settings
        from imagetrust.oci.sources import OciSession
        from imagetrust.testkit.builder import Blob
        from imagetrust.testkit.push import put_manifest, upload_blob

        repository = f"library/{self.name(short)}"
        with OciSession(Settings(), mirrors={}) as session:
            client = session.client(self.registry.netloc)
            upload_blob(client, repository, image.config)
            for layer in image.layers:
                if not client.blob_exists(repository, layer.descriptor.digest, push=True):
                    upload_blob(client, repository, Blob(layer.descriptor, layer.path.read_bytes()))
            put_manifest(client, repository, "latest", image.manifest)
        self.proxy.log.clear()


@dataclass
class Phase:
    name: str
    seconds: float
    peak_mib: float
    counts: dict[str, int]
    summary: dict[str, int]
    tree_peak_mib: float | None = None  # the largest process of the run (main or a worker)
    cpu_s: float | None = None  # user + system seconds of the run and its workers


@contextmanager
def catalog(count: int, *, realistic: bool = False) -> Iterator[CatalogWorld]:
    binary = find_registry_binary()
    if binary is None:
        raise SystemExit("error: no docker-registry binary (Debian package docker-registry)")
    with running_registry(binary) as registry, tempfile.TemporaryDirectory() as scratch:
        proxy = FaultProxy(registry.port).start()
        try:
            started = time.perf_counter()
            kind = RealisticWorld if realistic else CatalogWorld
            world = kind(Path(scratch), registry, proxy, count).build()
            print(
                f"  built and pushed {count} images in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            yield world
        finally:
            proxy.stop()


def run_phase(
    world: CatalogWorld, home: Path, name: str, env: dict[str, str], *, tree: bool = False
) -> Phase:
    """One ``imagetrust run``; ``tree``: under GNU time too, for its largest process."""
    world.proxy.log.clear()
    args = ["imagetrust", *world.run_args(home)]
    tree_peak: float | None = None
    cpu: float | None = None
    if tree:
        done, tree_kb, cpu = run_measured_tree(args, env=env, timeout=3600)
        tree_peak = tree_kb / 1024
    else:
        done = run_measured(args, env=env, timeout=3600)
    if done.returncode not in (0, 3):
        raise SystemExit(f"error: {name}: run exited {done.returncode}:\n{done.stderr[-2000:]}")
    doc = json.loads(done.stdout)
    images = doc.get("images", {})
    counts = world.counts()
    return Phase(name, done.seconds, done.peak_rss_mib, counts, images, tree_peak, cpu)


TIME_FORMAT = "%M %U %S"  # GNU time: peak RSS (KB) of the largest process, CPU seconds


def run_measured_tree(
    args: list[str], *, env: dict[str, str], timeout: float
) -> tuple[Measured, int, float]:
    """``run_measured`` under GNU time, as the loops' invocations are taken: also the peak
    RSS (KB) of the largest process of the tree (the main one or a reaped worker: the
    kernel keeps the largest of a process's descendants) and the CPU seconds of them all."""
    time_bin = shutil.which("time") or "/usr/bin/time"
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "tree"
        measured = run_measured(
            args, env=env, timeout=timeout, prefix=[time_bin, "-f", TIME_FORMAT, "-o", str(tree)]
        )
        tree_kb, cpu = _gnu_time(tree)
    return measured, tree_kb, cpu


def _gnu_time(path: Path) -> tuple[int, float]:
    """Peak RSS (KB) and CPU seconds from GNU time's last line in ``path`` (0, 0.0 if none)."""
    try:
        rss, user, system = path.read_text().splitlines()[-1].split()
        return int(rss), float(user) + float(system)
    except (OSError, ValueError, IndexError):
        return 0, 0.0


COLD = "cold (empty database)"


def run_phases(world: CatalogWorld, db_url: str | None = None) -> list[Phase]:
    home = world.tmp / "home"
    env = _env(world, db_url)
    return [run_phase(world, home, COLD, env), *later_phases(world, home, env)]


def _env(world: CatalogWorld, db_url: str | None = None) -> dict[str, str]:
    env = {**world.env(), "IMAGETRUST_NOW": NOW}
    if db_url:
        env["IMAGETRUST_DB_URL"] = db_url
    return env


def later_phases(world: CatalogWorld, home: Path, env: dict[str, str]) -> list[Phase]:
    """After a cold run into ``home``: again with nothing new, then after ``db import``."""
    phases = [run_phase(world, home, "again, nothing new", env)]
    imported = run_measured(
        ["imagetrust", "--home", str(home), "db", "import", str(VULNDB)], env=env, timeout=600
    )
    if imported.returncode != 0:
        raise SystemExit(f"error: db import failed:\n{imported.stderr[-2000:]}")
    phases.append(run_phase(world, home, "after a database change", env))
    return phases


def run_in_turns(
    world: CatalogWorld, repeat: int, tools: list[str]
) -> tuple[list[Phase], list[Phase], dict[str, list[Loop]]]:
    """The cold run and the trivy loop ``repeat`` times, in turns, who goes first
    alternating (the machine is shared: a neighbour's burst slows both alike), each run
    into a fresh home and each loop with a fresh cache; syft's loop once (ten times
    longer). Then, on the last run's store, the rerun and the database change."""
    env = _env(world)
    colds: list[Phase] = []
    loops: dict[str, list[Loop]] = {tool: [] for tool in tools}
    home = world.tmp / "home"
    for turn in range(repeat):
        home = world.tmp / f"home-{turn}"
        order = ["run", *[t for t in tools if t != "syft"]]
        if turn % 2:
            order.reverse()
        if "syft" in tools and turn == 0:
            order.append("syft")
        for who in order:
            print(f"  turn {turn + 1}/{repeat}: {who} ...", file=sys.stderr)
            if who == "run":
                colds.append(run_phase(world, home, COLD, env, tree=True))
            elif (found := run_loop(world, who)) is not None:
                loops[who].append(found)
    return colds, later_phases(world, home, env), {k: v for k, v in loops.items() if v}


# --------------------------------------------------------------------------- the loops


def _time_rss(argv: list[str], env: dict[str, str]) -> tuple[float, int, float, int]:
    """Wall seconds, peak RSS (KB), CPU seconds (GNU time) and exit code of one invocation."""
    time_bin = shutil.which("time") or "/usr/bin/time"
    with tempfile.NamedTemporaryFile() as out:
        started = time.perf_counter()
        done = subprocess.run(
            [time_bin, "-f", TIME_FORMAT, "-o", out.name, *argv],
            capture_output=True,
            env=env,
            timeout=600,
            check=False,
        )
        seconds = time.perf_counter() - started
        rss, cpu = _gnu_time(Path(out.name))
    return seconds, rss, cpu, done.returncode


@dataclass
class Loop:
    name: str
    seconds: float
    peak_kb: int
    failures: int
    counts: dict[str, int]
    command: str
    cpu_s: float = 0.0


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
    total, peak, failures, cpu = 0.0, 0, 0, 0.0
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
        seconds, rss, used, code = _time_rss(argv, env)
        total += seconds
        cpu += used
        peak = max(peak, rss)
        failures += code != 0
    shutil.rmtree(scratch, ignore_errors=True)
    return Loop(tool, total, peak, failures, world.counts(), command, cpu)


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


def compile_bytecode() -> None:
    """Write the package's bytecode once, as installing it does: with
    ``PYTHONDONTWRITEBYTECODE`` set (as on the project machine) an editable checkout would
    compile its ~170 modules again in every process, ~0.5 s of CPU that no user pays."""
    import compileall

    compileall.compile_dir(str(REPO / "src" / "imagetrust"), quiet=1)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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
        tree = phases[0].tree_peak_mib
        run_rss = f"{tree:.0f}" if tree is not None else f"{phases[0].peak_mib:.0f} (main)"
        lines += [
            "",
            "| one invocation per image | total s | vs `run` cold | largest peak RSS MiB"
            " | blob bytes at registry | ÷ unique blob bytes | failures |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| imagetrust run (cold, above) | {cold:.2f} | x1.00 | {run_rss}"
            f" | {phases[0].counts['blob_bytes']}"
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


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def _spread(values: list[float]) -> str:
    """``median (min..max)``, or the one value."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{_median(values):.2f} ({min(values):.2f}..{max(values):.2f})"


def report_turns(
    world: CatalogWorld, colds: list[Phase], later: list[Phase], loops: dict[str, list[Loop]]
) -> list[str]:
    """The tables for runs and loops taken in turns: medians, each turn's ratio, CPU."""
    layers, unique = world.unique_layer_bytes()
    tar = world.unique_tar_bytes()
    cold = colds[0]
    ratios = {c.counts["blob_bytes"] / unique for c in colds}
    lines = [
        f"Catalog: {world.count} images, {layers} distinct layers, {unique / 1e6:.1f} MB of"
        f" unique blobs (compressed layers and configs), {tar / 1e6:.0f} MB of layer tar;"
        f" {len(colds)} cold runs in turns with the loops",
        "",
        "| phase | wall s | peak RSS MiB (main) | blob bytes at registry | ÷ unique blob bytes"
        " | blob GETs | manifest GETs | manifest HEADs | new | unchanged | re-matched |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [(cold, _spread([c.seconds for c in colds]), max(c.peak_mib for c in colds))]
    rows += [(phase, f"{phase.seconds:.2f}", phase.peak_mib) for phase in later]
    for phase, wall, peak in rows:
        c, s = phase.counts, phase.summary
        ratio = f"{c['blob_bytes'] / unique:.2f}"
        if phase is cold:  # every cold run's, which should all be the same
            ratio = "/".join(f"{r:.2f}" for r in sorted(ratios))
        lines.append(
            f"| {phase.name} | {wall} | {peak:.0f} | {c['blob_bytes']:,}"
            f" | {ratio} | {c['blob_gets']}"
            f" | {c['manifest_gets']} | {c['manifest_heads']} | {s.get('new', 0)}"
            f" | {s.get('unchanged', 0)} | {s.get('rematched', 0)} |"
        )
    if not loops:
        return lines
    run_s = [c.seconds for c in colds]
    lines += [
        "",
        "| one invocation per image | total wall s | vs `run` cold | CPU s (user + sys)"
        " | largest peak RSS MiB | blob bytes at registry | ÷ unique blob bytes | failures |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| imagetrust run, cold | {_spread(run_s)} | x1.00"
        f" | {_spread([c.cpu_s or 0.0 for c in colds])}"
        f" | {max(c.tree_peak_mib or 0.0 for c in colds):.0f} | {cold.counts['blob_bytes']:,}"
        f" | {cold.counts['blob_bytes'] / unique:.2f} | 0 |",
    ]
    for tool, runs in loops.items():
        wall = [x.seconds for x in runs]
        lines.append(
            f"| {tool} loop | {_spread(wall)} | x{_median(wall) / _median(run_s):.2f}"
            f" | {_spread([x.cpu_s for x in runs])} | {max(x.peak_kb for x in runs) / 1024:.0f}"
            f" | {runs[0].counts['blob_bytes']:,} | {runs[0].counts['blob_bytes'] / unique:.2f}"
            f" | {sum(x.failures for x in runs)} |"
        )
    trivy = loops.get("trivy", [])
    if len(trivy) == len(colds) > 1:
        each = ", ".join(f"x{t.seconds / c.seconds:.2f}" for t, c in zip(trivy, colds, strict=True))
        lines += ["", f"trivy loop ÷ `run` cold, turn by turn: {each}"]
    lines += ["", *(f"- {tool}: `{runs[0].command}`" for tool, runs in loops.items())]
    return lines


def plot_loops(world: CatalogWorld, colds: list[Phase], loops: dict[str, list[Loop]]) -> None:
    """``bench/plots/catalog-loops-N.svg``: total seconds (medians) of `run` cold and of each
    loop over the catalog of real sizes."""
    from svgplot import bar_chart

    run_s = _median([c.seconds for c in colds])
    bars = {"imagetrust run": run_s}
    for tool, runs in loops.items():
        wall = _median([x.seconds for x in runs])
        bars[f"{tool} loop (x{wall / run_s:.1f})"] = wall
    _, unique = world.unique_layer_bytes()
    path = Path(__file__).parent / "plots" / f"catalog-loops-{world.count}.svg"
    title = f"{world.count} real-size images ({unique / 1e6:.0f} MB of blobs): total wall seconds"
    bar_chart(path, title, "seconds (median of the turns)", bars)
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
    parser.add_argument(
        "--realistic",
        action="store_true",
        help="images of real sizes (bench/catalog_images.py; built once into the bench cache)",
    )
    parser.add_argument("--tools", default="trivy,syft", help="the loops to run (comma-separated)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="--realistic: cold runs and trivy loops, in turns (medians; syft's loop once)",
    )
    args = parser.parse_args()
    sizes = [10, 100, 1000] if args.full else [int(n) for n in args.images.split(",") if n]
    if args.full and args.realistic:
        sizes = [20, 100]
    print(f"Command: `{' '.join([sys.executable, *sys.argv])}`, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"Machine: {_machine()}")
    print(f"Tools: {_versions()}")
    compile_bytecode()
    for size in sizes:
        print(f"catalog of {size} images ...", file=sys.stderr)
        with catalog(size, realistic=args.realistic) as world:
            print(f"\nLoad average before: {_load()}")
            with_loops = not args.no_loops and size <= args.loops_up_to
            tools = [t for t in args.tools.split(",") if t] if with_loops else []
            if args.realistic:
                colds, later, by_tool = run_in_turns(world, args.repeat, tools)
                phases = [colds[0], *later]
                print(f"Load average after: {_load()}\n")
                print("\n".join(report_turns(world, colds, later, by_tool)))
            else:
                phases = run_phases(world)
                by_tool = {}
                for tool in tools:
                    print(f"  {tool} loop ...", file=sys.stderr)
                    if (found := run_loop(world, tool)) is not None:
                        by_tool[tool] = [found]
                colds = phases[:1]
                print(f"Load average after: {_load()}\n")
                loops = [runs[0] for runs in by_tool.values()]
                print("\n".join(report_catalog(world, phases, loops)))
            if by_tool and args.realistic:
                plot_loops(world, colds, by_tool)
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
