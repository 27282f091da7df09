"""Whole-process SBOM time and memory: imagetrust against trivy and syft, in one run.

Issue 6 sets the aims against peers measured on the same machine, at the same moment, on
the same image: a Debian 12 minbase rootfs as one ~92 MB gzip layer (``bench/images.py``
builds and caches it). Each run is its own process, timed by wall clock; its peak RSS
is measured on that very process (GNU time when installed: see ``run_child``), so one
tool's memory never leaks into another's figure. Cold runs get a fresh cache folder, warm
runs reuse the one the cold run just filled (syft has no scan cache: cold runs only). The
tools take turns within each repetition, and who goes first rotates, so a noisy neighbour
(or what the previous process leaves behind) slows all of them alike; medians are reported.

Floors put the numbers in perspective: ``gzip -dc`` of the layer blob, and Python
decompressing it in a streaming loop with python-isal and with zlib (the in-process time
is what the loop took; the process column adds interpreter start-up).

Every process runs in a new network namespace (``unshare -n``) when possible, so the
figures prove nobody needed the network. The only download is the one-time debootstrap.

With ``--image three-layer`` the image is the realistic three-layer one (``bench/images.py``:
minbase, an apt layer, a pip + npm layer); imagetrust is then also timed on a one-layer image
of its largest layer alone (issue 25: analysing layers in parallel should bring the whole
image close to that), and the floors decompress that largest layer. ``--image two-layer`` is
its first two layers alone (minbase and apt): on a 2-core machine, the multi-layer case the
cores allow to come within 1.15x of the largest layer (three layers of about the same size
need about 1.5 layer-times on two cores, whatever the code).

    .venv/bin/python bench/sbom.py [--repeat N] [--cache-dir DIR] [--skip-build]
        [--image minbase|three-layer|two-layer]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from images import (
    BenchImage,
    BenchImageError,
    build_image,
    build_three_layer_image,
    cache_dir,
    load_image,
)

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 900.0
NOT_YET = "imagetrust sbom: not available yet"
LARGEST_ALONE = "imagetrust, largest layer alone"
IN_SEQUENCE = "imagetrust, layers in sequence"
# One layer after the other, as before issue 25 (the variable costs a Pydantic import, ~0.1 s)
SEQUENTIAL_ENV = {"IMAGETRUST_SBOM_LAYER_WORKERS": "1"}

# A floor as a child Python process: decompress the blob in 128 KiB reads, report the time
# the loop took and the bytes it produced (checked against the image's tar size). 128 KiB
# was the fastest read size here for both libraries (1 MiB: ~15 % slower, the output no
# longer fits in the CPU caches); this is the bounded-memory loop a layer reader runs.
_FLOOR_CODE = """
import sys, time
path, kind = sys.argv[1], sys.argv[2]
if kind == "isal":
    from isal.isal_zlib import decompressobj
else:
    from zlib import decompressobj
start = time.perf_counter()
d = decompressobj(31)
total = 0
with open(path, "rb", buffering=0) as f:
    while chunk := f.read(1 << 17):
        total += len(d.decompress(chunk))
total += len(d.flush())
print(time.perf_counter() - start, total)
"""


class ToolMissing(Exception):
    """A peer or the floor's program is not installed: its rows say so, the rest still run."""


@dataclass(frozen=True)
class Sample:
    wall: float
    rss_kb: int
    inner: float | None = None  # time measured inside the process (floors only)


@dataclass
class Row:
    name: str
    command: str
    cold: list[Sample] = field(default_factory=list)
    warm: list[Sample] = field(default_factory=list)
    packages: str = ""
    note: str = ""


# --------------------------------------------------------------------------- running


def _netns_prefix(enabled: bool) -> list[str]:
    """``unshare -n`` when it works here (root, or a kernel allowing it), else nothing."""
    tool = shutil.which("unshare")
    if not enabled or tool is None:
        return []
    probe = subprocess.run([tool, "-n", "true"], capture_output=True, check=False)
    return [tool, "-n"] if probe.returncode == 0 else []


GNU_TIME = Path("/usr/bin/time")


def rss_method() -> str:
    return "GNU time %M" if GNU_TIME.is_file() else "wait4 (includes the launcher's pages)"


def run_child(
    argv: Sequence[str], env: dict[str, str], *, capture: bool = False
) -> tuple[Sample, str]:
    """One process, timed by our clock; its peak RSS measured by GNU time when installed.

    Why not ``wait4`` on our own child: Linux carries the peak RSS of the pre-exec memory
    map across ``exec``, so a child forked (or vforked) from this Python process reports at
    least our own RSS (25-45 MB here; a 1.5 MB ``gzip`` showed up as 43 MB). GNU time is a
    small C program whose own fork costs about 1 MB, so its ``%M`` is the tool's. ``wait4``
    is the fallback. ``unshare`` execs the tool in place, so the measured process is the
    tool. Output goes to /dev/null unless ``capture`` (the untimed check run, or a floor
    that reports its own time).
    """
    with (
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryFile() as out,
        tempfile.NamedTemporaryFile("r") as rss,
    ):
        wrapped = list(argv)
        if GNU_TIME.is_file():
            wrapped = [str(GNU_TIME), "-f", "%M", "-o", rss.name, *wrapped]
        start = time.perf_counter()
        proc = subprocess.Popen(
            wrapped,
            stdout=out if capture else subprocess.DEVNULL,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        killer = threading.Timer(TIMEOUT, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-6:]
            raise RuntimeError(
                f"{shlex.join(argv)} exited {proc.returncode}:\n  " + "\n  ".join(tail)
            )
        out.seek(0)
        text = out.read().decode(errors="replace") if capture else ""
        # ru_maxrss and %M are in kilobytes on Linux; time writes its figure last.
        lines = rss.read().split()
        peak = int(lines[-1]) if GNU_TIME.is_file() and lines else usage.ru_maxrss
    return Sample(wall, peak), text


# --------------------------------------------------------------------------- the tools


def _find(name: str) -> str:
    """The project's virtualenv first (where syft and trivy come from), then PATH."""
    for folder in (REPO / ".venv" / "bin", Path(sys.executable).parent):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name}: not installed (not in .venv/bin nor on PATH)")
    return found


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "?"
    for line in done.stdout.splitlines():
        if line.lower().startswith("version:"):
            return line.split(":", 1)[1].strip()
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "?"


def _purls(doc: Any) -> Iterator[str]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "purl" and isinstance(value, str):
                yield value
            else:
                yield from _purls(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from _purls(item)


def count_deb_packages(output: str) -> int:
    """Distinct ``pkg:deb/`` purls in any JSON SBOM (syft, CycloneDX, imagetrust's own).

    Purls carry name, version and architecture, so the count is comparable across tools
    and with dpkg's own list; syft's JSON nests them under ``artifacts``.
    """
    try:
        doc = json.loads(output)
    except ValueError:
        return -1
    return len({p.split("?", 1)[0] for p in _purls(doc) if p.startswith("pkg:deb/")})


@dataclass
class Tool:
    """One benchmarked program: how to run it with a given cache folder (None: no cache)."""

    name: str
    make: Callable[[Path | None], list[str]]
    has_cache: bool
    env: dict[str, str] = field(default_factory=dict)


def peer_tools(image: BenchImage, tools: set[str]) -> tuple[list[Tool], list[Row], list[str]]:
    """The tools to time, rows for those missing, and their versions for the header."""
    ready: list[Tool] = []
    missing: list[Row] = []
    versions: list[str] = []
    layout = str(image.layout)
    if "imagetrust" in tools:
        try:
            it = _find("imagetrust")
            probe = subprocess.run(
                [it, "sbom", "--help"], capture_output=True, timeout=60, check=False
            )
            if probe.returncode != 0:
                missing.append(Row("imagetrust", "", note=NOT_YET))
            else:
                versions.append(_version([it, "--version"]))
                references = [("imagetrust", image.oci_reference, {})]
                if image.largest_alone_reference:
                    references.append((LARGEST_ALONE, image.largest_alone_reference, {}))
                    references.append((IN_SEQUENCE, image.oci_reference, SEQUENTIAL_ENV))
                for name, reference, env in references:
                    ready.append(
                        Tool(
                            name,
                            lambda home, ref=reference: [  # type: ignore[misc]
                                it,
                                "--home",
                                str(home),
                                "sbom",
                                ref,
                                "--format",
                                "json",
                            ],
                            has_cache=True,
                            env=env,
                        )
                    )
        except ToolMissing as error:
            missing.append(Row("imagetrust", "", note=str(error)))
    if "trivy" in tools:
        try:
            trivy = _find("trivy")
            versions.append(f"trivy {_version([trivy, '--version'])}")
            # --format cyclonedx turns security scanning off: a pure SBOM, no vulnerability DB.
            offline = [
                "--skip-db-update",
                "--skip-java-db-update",
                "--skip-check-update",
                "--offline-scan",
                "--skip-version-check",
                "--disable-telemetry",
                "--quiet",
            ]
            ready.append(
                Tool(
                    "trivy",
                    lambda cache: [
                        trivy,
                        "image",
                        "--input",
                        layout,
                        "--format",
                        "cyclonedx",
                        "--cache-dir",
                        str(cache),
                        *offline,
                    ],
                    has_cache=True,
                )
            )
        except ToolMissing as error:
            missing.append(Row("trivy", "", note=str(error)))
    if "syft" in tools:
        try:
            syft = _find("syft")
            versions.append(f"syft {_version([syft, 'version'])}")
            ready.append(
                Tool(
                    "syft",
                    lambda _cache: [syft, f"oci-dir:{layout}", "-o", "json", "--quiet"],
                    has_cache=False,
                    env={"SYFT_CHECK_FOR_APP_UPDATE": "false"},
                )
            )
        except ToolMissing as error:
            missing.append(Row("syft", "", note=str(error)))
    return ready, missing, versions


# --------------------------------------------------------------------------- measuring


def measure_tools(
    tools: list[Tool], image: BenchImage, repeat: int, prefix: list[str], scratch: Path
) -> list[Row]:
    """An untimed check run each (counts packages, warms the page cache), then the turns."""
    base_env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    # An installed imagetrust runs from cached bytecode (pip compiles it at install time);
    # with PYTHONDONTWRITEBYTECODE set, an editable checkout would compile every module on
    # every run instead (~0.08 s here), which no user pays. The untimed first run below
    # writes the bytecode.
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    rows: dict[str, Row] = {}
    live: list[Tool] = []
    counter = 0

    def fresh() -> Path:
        nonlocal counter
        counter += 1
        return Path(tempfile.mkdtemp(prefix=f"run{counter}-", dir=scratch))

    def env_for(tool: Tool, cache: Path) -> dict[str, str]:
        # syft keeps no scan cache, but give it a fresh cache folder all the same.
        return {**base_env, **tool.env, "SYFT_CACHE_DIR": str(cache)}

    for tool in tools:
        cache = fresh()
        argv = tool.make(cache)
        shown = shlex.join(tool.make(Path("<fresh>"))) + " > /dev/null"
        if tool.env and tool.name != "syft":
            shown = " ".join(f"{k}={v}" for k, v in tool.env.items()) + " " + shown
        row = Row(tool.name, shown)
        rows[tool.name] = row
        try:
            _, output = run_child([*prefix, *argv], env_for(tool, cache), capture=True)
        except (RuntimeError, OSError) as error:
            row.note = f"failed: {error}"
            continue
        found = count_deb_packages(output)
        row.packages = str(found) if found >= 0 else "not JSON"
        live.append(tool)
    for turn in range(repeat):
        print(f"  repetition {turn + 1}/{repeat}", file=sys.stderr)
        # Rotate who goes first, so that no tool always runs right after the same other one
        # (whatever a process leaves behind as it exits then weighs on all of them alike).
        start = turn % len(live) if live else 0
        for tool in live[start:] + live[:start]:
            row = rows[tool.name]
            cache = fresh()
            env = env_for(tool, cache)
            try:
                sample, _ = run_child([*prefix, *tool.make(cache)], env)
                row.cold.append(sample)
                if tool.has_cache:
                    sample, _ = run_child([*prefix, *tool.make(cache)], env)
                    row.warm.append(sample)
            except (RuntimeError, OSError) as error:
                row.note = f"failed: {error}"
            shutil.rmtree(cache, ignore_errors=True)
    return list(rows.values())


def measure_floors(image: BenchImage, repeat: int, prefix: list[str]) -> list[Row]:
    rows: list[Row] = []
    blob = str(image.layer_blob)
    env = dict(os.environ)
    try:
        gzip = _find("gzip")
        row = Row("gzip -dc (floor)", f"gzip -dc {blob} > /dev/null")
        for _ in range(repeat):
            row.cold.append(run_child([*prefix, gzip, "-dc", blob], env)[0])
        rows.append(row)
    except (ToolMissing, RuntimeError) as error:
        rows.append(Row("gzip -dc (floor)", "", note=str(error)))
    python = sys.executable
    for kind, label in (("isal", "python-isal"), ("zlib", "python zlib")):
        row = Row(
            f"{label}, streaming (floor)",
            f"{python} -c <128 KiB reads, decompressobj(31), {kind}> {blob}",
        )
        rows.append(row)
        for _ in range(repeat):
            try:
                sample, out = run_child(
                    [*prefix, python, "-c", _FLOOR_CODE, blob, kind], env, capture=True
                )
            except (RuntimeError, OSError) as error:
                row.note = f"failed: {error}"
                break
            inner, produced = out.split()
            expected = image.largest_tar_bytes or image.uncompressed_bytes
            if int(produced) != expected:
                row.note = f"decompressed {produced} bytes, expected {expected}"
            row.cold.append(Sample(sample.wall, sample.rss_kb, float(inner)))
    return rows


# --------------------------------------------------------------------------- output


def _median(samples: list[Sample], inner: bool = False) -> float | None:
    values = [s.inner if inner else s.wall for s in samples]
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


def _seconds(samples: list[Sample], inner: bool = False) -> str:
    value = _median(samples, inner)
    if value is None:
        return "—"
    values = [v for v in (s.inner if inner else s.wall for s in samples) if v is not None]
    spread = f" ({min(values):.2f}..{max(values):.2f})" if len(values) > 1 else ""
    return f"{value:.2f}{spread}"


def _rss(row: Row) -> str:
    peaks = [s.rss_kb for s in (*row.cold, *row.warm)]
    return f"{max(peaks) / 1024:.0f}" if peaks else "—"


def _short(note: str) -> str:
    """A table cell: notes spanning lines (a tool's error output) go below the table."""
    return note if "\n" not in note else note.split(":", 1)[0] + " (see below)"


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return "—"
    return f"x{value / reference:.2f}"


def _shown_python() -> str:
    """The interpreter as the user would type it: relative to the working folder if inside."""
    python = Path(sys.executable)
    try:
        return str(python.relative_to(Path.cwd()))
    except ValueError:
        return str(python)


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0))
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError):
        pass
    return (
        f"nproc {usable} (of {os.cpu_count()}), CPU {model}, RAM {memory}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def report(
    image: BenchImage,
    rows: list[Row],
    floors: list[Row],
    versions: list[str],
    repeat: int,
    isolated: bool,
) -> str:
    it = next((r for r in rows if r.name == "imagetrust" and r.cold), None)
    it_cold = _median(it.cold) if it else None
    it_warm = _median(it.warm) if it else None
    mb = 1_000_000
    lines = [
        f"Command: `{shlex.join([_shown_python(), *sys.argv])}`"
        f" (cwd {Path.cwd()}), {time.strftime('%Y-%m-%d %H:%M')}",
        f"Machine: {machine()}",
        f"Tools: {', '.join(versions) or '-'}",
        f"Image: {image.description}; {image.layer_count} gzip layer(s),"
        f" {image.compressed_bytes / mb:.1f} MB"
        f" compressed, {image.uncompressed_bytes / mb:.1f} MB tar, {image.dpkg_packages}"
        f" packages in dpkg status ({image.oci_reference})",
        f"Median of {repeat} runs (min..max in brackets), whole-process wall time; peak RSS is"
        f" the largest of all runs ({rss_method()}); ratio = the row's time ÷ imagetrust's"
        " (above 1: slower);"
        f" network: {'none (unshare -n)' if isolated else 'not isolated'}.",
        "",
        "| tool | cold s | warm s | peak RSS MB | deb packages | cold vs imagetrust"
        " | warm vs imagetrust |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        if row.note and not row.cold:
            lines.append(f"| {row.name} | {_short(row.note)} | | | | | |")
            continue
        lines.append(
            f"| {row.name} | {_seconds(row.cold)} | {_seconds(row.warm)} | {_rss(row)}"
            f" | {row.packages} | {_ratio(_median(row.cold), it_cold)}"
            f" | {_ratio(_median(row.warm), it_warm)} |"
        )
    lines += [
        "",
        "| floor | in-process s | whole process s | peak RSS MB | MB/s of tar"
        " | vs imagetrust cold |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in floors:
        if row.note and not row.cold:
            lines.append(f"| {row.name} | {_short(row.note)} | | | | |")
            continue
        inner = _median(row.cold, inner=True)
        best = inner if inner is not None else _median(row.cold)
        tar_bytes = image.largest_tar_bytes or image.uncompressed_bytes
        speed = f"{tar_bytes / mb / best:.0f}" if best else "—"
        lines.append(
            f"| {row.name} | {_seconds(row.cold, inner=True)} | {_seconds(row.cold)}"
            f" | {_rss(row)} | {speed} | {_ratio(best, it_cold)} |"
        )
    notes = [
        f"- {r.name}: {r.note}" for r in (*rows, *floors) if r.note and r.note != _short(r.note)
    ]
    if notes:
        lines += ["", *notes]
    lines += ["", "Commands (each in a fresh cache folder for cold runs, the same one for warm):"]
    lines += [f"- `{r.command}`" for r in (*rows, *floors) if r.command]
    lines += _verdicts(rows, it_cold, it_warm, it)
    if image.largest_tar_bytes:
        lines.append("(floors: the largest layer only)")
    return "\n".join(lines)


def _verdicts(
    rows: list[Row], it_cold: float | None, it_warm: float | None, it: Row | None
) -> list[str]:
    """The issue's aims, checked against this run's peers (only once imagetrust runs)."""
    if it is None or it_cold is None:
        return []
    peers = {r.name: r for r in rows if r.cold}
    out = ["", "Aims (issues 6 and 25):"]
    alone = peers.get(LARGEST_ALONE)
    alone_cold = _median(alone.cold) if alone else None
    if alone_cold:
        ok = it_cold <= 1.15 * alone_cold
        out.append(
            f"- cold within 1.15x of the largest layer alone: x{it_cold / alone_cold:.2f}"
            f" {'met' if ok else 'MISSED'}"
        )
    if "trivy" in peers:
        trivy_cold = _median(peers["trivy"].cold) or 0.0
        ok = trivy_cold >= 2 * it_cold
        out.append(
            f"- cold ≥2x faster than trivy: x{trivy_cold / it_cold:.2f} {'met' if ok else 'MISSED'}"
        )
        trivy_warm = _median(peers["trivy"].warm)
        if trivy_warm is not None and it_warm is not None:
            ok = it_warm <= trivy_warm
            out.append(
                f"- warm no slower than trivy: {it_warm:.2f} s vs {trivy_warm:.2f} s"
                f" {'met' if ok else 'MISSED'}"
            )
    if "syft" in peers:
        syft_cold = _median(peers["syft"].cold) or 0.0
        ok = syft_cold >= 10 * it_cold
        out.append(
            f"- cold ≥10x faster than syft: x{syft_cold / it_cold:.2f} {'met' if ok else 'MISSED'}"
        )
    peak = max(s.rss_kb for s in (*it.cold, *it.warm)) / 1024
    out.append(f"- peak RSS under 150 MB: {peak:.0f} MB {'met' if peak < 150 else 'MISSED'}")
    return out


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument("--cache-dir", help="benchmark image cache (default: images.py's)")
    parser.add_argument(
        "--skip-build", action="store_true", help="use the last image built; never debootstrap"
    )
    parser.add_argument(
        "--tools",
        default="imagetrust,trivy,syft,floors",
        help="comma-separated subset of imagetrust,trivy,syft,floors",
    )
    parser.add_argument(
        "--no-netns", action="store_true", help="do not run the tools under unshare -n"
    )
    parser.add_argument(
        "--image",
        choices=("minbase", "three-layer", "two-layer"),
        default="minbase",
        help="the one-layer minbase image (default), the three-layer image, or its first two"
        " layers alone",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    wanted = {t.strip() for t in args.tools.split(",") if t.strip()}
    unknown = wanted - {"imagetrust", "trivy", "syft", "floors"}
    if unknown:
        parser.error(f"unknown --tools: {', '.join(sorted(unknown))}")
    cache = cache_dir(args.cache_dir)
    try:
        three, two = args.image == "three-layer", args.image == "two-layer"
        if args.skip_build:
            image = load_image(cache, three_layer=three, two_layer=two)
        elif three or two:
            image = build_three_layer_image(cache, layer_count=3 if three else 2)
        else:
            image = build_image(cache)
    except (BenchImageError, OSError) as error:
        print(f"error: cannot make the benchmark image: {error}", file=sys.stderr)
        return 1
    if image is None:
        print(f"error: --skip-build, but no image built in {cache} yet", file=sys.stderr)
        return 1
    prefix = _netns_prefix(not args.no_netns)
    tools, missing, versions = peer_tools(image, wanted)
    for row in missing:
        print(f"{row.name}: {row.note}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="imagetrust-bench-sbom-") as scratch:
        print(f"timing {', '.join(t.name for t in tools) or 'no tools'} ...", file=sys.stderr)
        rows = missing + measure_tools(tools, image, args.repeat, prefix, Path(scratch))
        order = {"imagetrust": 0, IN_SEQUENCE: 1, LARGEST_ALONE: 2, "trivy": 3, "syft": 4}
        rows.sort(key=lambda r: order.get(r.name, 9))
        floors = measure_floors(image, args.repeat, prefix) if "floors" in wanted else []
    print(report(image, rows, floors, versions, args.repeat, bool(prefix)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
