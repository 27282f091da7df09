"""``imagetrust run``: the main job, incremental, resumable and within the pull budget.

The command only parses options and draws progress: a Rich display with per-stage counts
and an ETA on a terminal, plain lines otherwise (CI logs), then a closing summary. Exit 1
when any image failed (each is stored with its reason and retried next run); a run that
stopped at the pull budget exits 0 and says what is queued.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagetrust.cli.options import (
    ImagesFileOption,
    MaxDbAgeOption,
    RepositoriesArgument,
    ResolvePlatformOption,
    StateChoice,
    StateOption,
    TagsChoice,
    TagsOption,
)
from imagetrust.cli.output import OutputFormat, emit_json, printable, say, stdout_console
from imagetrust.cli.state import CliState
from imagetrust.errors import ImagetrustError, UsageError

if TYPE_CHECKING:
    from imagetrust.pipeline.run import RunSummary


class ImagesFailedError(ImagetrustError):
    """The run finished, but some images could not be analysed (retried next run)."""


def run(
    ctx: typer.Context,
    repositories: RepositoriesArgument = None,
    tags: TagsOption = TagsChoice.LATEST,
    platform: ResolvePlatformOption = None,
    state: StateOption = StateChoice.ACTIVE,
    images_file: ImagesFileOption = None,
    refresh: Annotated[
        bool,
        typer.Option(help="Refresh the catalog first; --no-refresh uses the stored one."),
    ] = True,
    offline: Annotated[
        bool, typer.Option("--offline", help="Catalog from local folders only (no Hub).")
    ] = False,
    library_dir: Annotated[
        Path | None,
        typer.Option(help="official-images checkout for the catalog.", show_default=False),
    ] = None,
    docs_dir: Annotated[
        Path | None, typer.Option(help="docs repository checkout.", show_default=False)
    ] = None,
    hub_recording: Annotated[
        Path | None,
        typer.Option(help="Replay saved Docker Hub answers from this folder.", show_default=False),
    ] = None,
    all_tags: Annotated[
        bool, typer.Option(help="List every Hub tag in the catalog (default: the newest page).")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Worker processes for layers (default: the number of cores).",
            show_default=False,
        ),
    ] = None,
    worker_memory: Annotated[
        int,
        typer.Option(min=0, help="Address-space cap per worker, in MiB (0: none)."),
    ] = 4096,
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for another run on this store.")
    ] = 0.0,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Then write the report's site to this folder (as `imagetrust report --out`).",
            show_default=False,
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            metavar="I/N",
            help="Analyse only shard I of N (a stable share; every shard resolves every tag).",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        list[str] | None,
        typer.Option(
            "--engine",
            metavar="builtin|trivy|grype",
            help="Also run this scanner on each analysed image without its findings yet "
            "(repeatable; imagetrust's own matching always runs).",
            show_default=False,
        ),
    ] = None,
    max_db_age: MaxDbAgeOption = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TABLE,
) -> None:
    """The main job: catalog, resolve, then analyse and match every image not yet done."""
    from imagetrust.cli.resolve_cmd import build_request
    from imagetrust.pipeline.catalog import source_options
    from imagetrust.pipeline.run import RunOptions
    from imagetrust.pipeline.run import run as run_job
    from imagetrust.pipeline.shards import ShardSpec

    cli: CliState = ctx.obj
    share = ShardSpec.parse(shard) if shard is not None else None
    if offline and library_dir is None and images_file is None and refresh:
        raise UsageError("--offline needs --library-dir (an official-images checkout)")
    engines = _engines(engine or [])
    request = build_request(repositories, tags, platform, state, images_file)
    context = cli.context()
    catalog = None
    if refresh and images_file is None:
        catalog = source_options(
            context,
            offline=offline,
            library_dir=library_dir,
            docs_dir=docs_dir,
            hub_recording=hub_recording,
            all_tags=all_tags,
        )
    options = RunOptions(
        request=request,
        catalog=catalog,
        jobs=jobs or os.cpu_count() or 1,
        worker_memory_mb=worker_memory or None,
        wait=wait,
        report_dir=report,
        shard=share,
        engines=engines,
        max_db_age=max_db_age,
    )
    quiet = cli.verbosity < 0
    with _observer(quiet) as observer:
        summary = run_job(context, options, observer)
    if fmt is OutputFormat.JSON:
        emit_json("run", summary.as_dict())
    else:
        _print_summary(summary)
    if summary.failed:
        first = summary.failures[0]
        raise ImagesFailedError(
            f"{summary.failed} images failed (first: {first.item}: {first.reason}); "
            "they are retried by the next run"
        )


def _engines(names: list[str]) -> tuple[str, ...]:
    """The other engines asked for, in order, once each (``builtin`` always runs)."""
    chosen: list[str] = []
    for name in names:
        word = name.strip().lower()
        if word not in ("builtin", "trivy", "grype"):
            raise UsageError(
                f"--engine {name!r}: not an engine", hint="one of builtin, trivy, grype"
            )
        if word != "builtin" and word not in chosen:
            chosen.append(word)
    return tuple(chosen)


def _observer(quiet: bool) -> Any:
    from imagetrust.pipeline.engine import RunObserver

    class Plain(RunObserver):
        """One line per stage start and per image: readable in CI logs."""

        def __init__(self) -> None:
            self.stages: set[str] = set()
            self.started = time.monotonic()

        def stage(self, name: str, done: int, total: int | None) -> None:
            if name not in self.stages:
                self.stages.add(name)
                say(f"{name}…")

        def image(self, label: str, outcome: str, detail: str) -> None:
            say(f"{outcome:>10}  {label}: {detail}")

        def note(self, text: str) -> None:
            say(f"note: {text}")

        def warning(self, text: str) -> None:
            say(f"warning: {text}")

        def __enter__(self) -> RunObserver:
            return self

        def __exit__(self, *_: object) -> None:
            return None

    class Quiet(Plain):
        def stage(self, name: str, done: int, total: int | None) -> None:
            return None

        def image(self, label: str, outcome: str, detail: str) -> None:
            if outcome == "failed":
                say(f"error: {label}: {detail}")

        def note(self, text: str) -> None:
            return None

    class Live(RunObserver):
        """Rich bars per stage with counts and an ETA; image outcomes tallied on the bar."""

        def __init__(self) -> None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.console = Console(stderr=True, highlight=False)
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
            self.tasks: dict[str, Any] = {}
            self.outcomes: dict[str, int] = {}

        def stage(self, name: str, done: int, total: int | None) -> None:
            if name not in self.tasks:
                self.tasks[name] = self.progress.add_task(name, total=total)
            self.progress.update(self.tasks[name], completed=done, total=total)

        def image(self, label: str, outcome: str, detail: str) -> None:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            tally = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items()))
            if "analyse" in self.tasks:
                self.progress.update(self.tasks["analyse"], description=f"analyse ({tally})")
            if outcome == "failed":
                self.console.print(f"[red]failed[/] {label}: {detail}", highlight=False)

        def note(self, text: str) -> None:
            self.console.print(f"note: {text}", highlight=False)

        def warning(self, text: str) -> None:
            self.console.print(printable(f"warning: {text}"), highlight=False, markup=False)

        def __enter__(self) -> RunObserver:
            self.progress.start()
            return self

        def __exit__(self, *_: object) -> None:
            self.progress.stop()

    if quiet:
        return Quiet()
    return Live() if sys.stderr.isatty() else Plain()


def _size(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"  # pragma: no cover


def _print_summary(summary: RunSummary) -> None:
    from imagetrust.cli.output import print_key_values

    counts = summary.counts
    pulls = ", ".join(
        f"{q['registry']} {q['pulls']}"
        + (f" ({q['remaining']} of {q['limit']} left)" if q["remaining"] is not None else "")
        for q in summary.pulls
        if q["pulls"] or q["remaining"] is not None
    )
    images = f"{summary.targets} from {summary.tags} tags"
    if summary.shard is not None:
        images += f" (shard {summary.shard}; {summary.elsewhere} more in other shards)"
    rows = [
        ("run", f"#{summary.run_id} {summary.status}" + (" (resumed)" if summary.resumed else "")),
        ("images", images),
        ("new", str(counts.new)),
        ("unchanged", str(counts.unchanged)),
        ("re-matched", str(counts.rematched)),
        ("failed", str(counts.failed)),
        ("queued", str(counts.queued)),
        ("not covered", str(counts.not_covered)),
        (
            "fetched",
            f"{_size(counts.bytes_fetched)} ({counts.layers_fetched} layers; "
            f"{counts.layers_cached} from the cache)",
        ),
        ("pulls", pulls or "0"),
        ("time", f"{summary.seconds:.1f} s"),
        (
            "database",
            ", ".join(
                f"{name} v{version or generation}" for name, generation, version in summary.database
            )
            or "empty",
        ),
    ]
    for name, added in summary.engine_sets.items():
        rows.append((f"engine {name}", f"{added} images matched"))
    if summary.budget_stop:
        rows.append(("stopped", f"{summary.budget_stop}; the next run goes on from here"))
    if summary.report:
        rows.append(("report", summary.report))
    print_key_values(rows)
    if summary.queued:
        stdout_console().print(
            "queued: " + ", ".join(summary.queued[:10]) + (" …" if len(summary.queued) > 10 else "")
        )
