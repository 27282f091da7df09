"""``imagetrust workflow``: write the GitHub Actions workflow (stdout unless ``--out``).

The projection of what a run will pull goes to stderr, from the catalog in the store when
there is one (nothing is created when there is not), so stdout stays the workflow alone.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imagetrust.cli.options import TagsChoice
from imagetrust.cli.output import say
from imagetrust.cli.state import CliState

if TYPE_CHECKING:
    from imagetrust.workflow.generate import WorkflowOptions


def workflow(
    ctx: typer.Context,
    shards: Annotated[int, typer.Option(min=1, help="Shard jobs in the matrix.")] = 4,
    schedule: Annotated[
        str, typer.Option(metavar="CRON", help="When it runs (UTC, cron syntax).")
    ] = "17 3 * * *",
    tags: Annotated[
        TagsChoice, typer.Option(help="Tags to analyse, as `run --tags`.", case_sensitive=False)
    ] = TagsChoice.SUPPORTED,
    platform: Annotated[
        str, typer.Option("--platform", "-p", help="Platforms, as `run --platform`.")
    ] = "linux/amd64",
    engine: Annotated[
        str,
        typer.Option(
            metavar="builtin|trivy",
            help="trivy: the shards also run Trivy (installed, pinned) on each new image, "
            "as `run --engine trivy`; imagetrust's own matching always runs.",
        ),
    ] = "builtin",
    history: Annotated[
        str,
        typer.Option(
            help="Where the merged history lives: release (a release asset) or postgresql "
            "(the IMAGETRUST_DB_URL secret)."
        ),
    ] = "release",
    install: Annotated[
        str | None,
        typer.Option(
            help="What `pip install` installs (default: this version of imagetrust).",
            show_default=False,
        ),
    ] = None,
    runs_on: Annotated[
        str,
        typer.Option(help="Runner labels, comma-separated (e.g. self-hosted,linux,x64)."),
    ] = "ubuntu-24.04",
    mirror: Annotated[
        list[str] | None,
        typer.Option(
            help="A registry mirror, repeatable (default: ECR Public and mirror.gcr.io).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            help="A settings file in the repository the workflow reads.", show_default=False
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write the workflow here (default: stdout).", show_default=False
        ),
    ] = None,
) -> None:
    """Write the GitHub Actions workflow: a catalog job, N pinned and cached shard jobs, and
    a job that merges them into one history and publishes."""
    from imagetrust.errors import UsageError
    from imagetrust.oci.errors import PlatformNotFoundError
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.workflow.generate import DEFAULT_MIRRORS, WorkflowOptions, render

    cli: CliState = ctx.obj
    try:
        selection = PlatformSelection.parse(platform)
    except PlatformNotFoundError as exc:
        raise UsageError(f"--platform: {exc.message}") from None
    defaults = WorkflowOptions()
    options = WorkflowOptions(
        shards=shards,
        schedule=schedule,
        tags=tags.value,
        platform=str(selection),
        engine=engine,
        history=history,
        runs_on=tuple(label.strip() for label in runs_on.split(",") if label.strip()),
        mirrors=tuple(mirror) if mirror else DEFAULT_MIRRORS,
        config=config,
        install=install if install is not None else defaults.install,
    )
    text = render(options)
    if out is None:
        sys.stdout.write(text)
    else:
        from imagetrust.fsutil import atomic_write_text

        atomic_write_text(out, text)
        say(f"wrote {out}")
    _projection(cli, options)


def _projection(cli: CliState, options: WorkflowOptions) -> None:
    from imagetrust.errors import ImagetrustError
    from imagetrust.store.database import StoreMissing
    from imagetrust.workflow.projection import project

    try:
        with cli.open_store(create=False, migrate=False) as store, store.read() as conn:
            projection = project(conn, options.tags, options.platform)
    except StoreMissing:
        say("projection: no store here; run `imagetrust catalog` first to see what a run pulls")
        return
    except ImagetrustError as exc:
        say(f"projection: {exc.message}")
        return
    p = projection
    say(
        f"projection (catalog of {p.snapshot_taken:%Y-%m-%d}, --tags {options.tags} "
        f"-p {options.platform}): {p.repositories} repositories, {p.tags} tags, "
        f"{p.images} images, {p.manifests} platform manifests "
        f"(~{p.per_shard(options.shards)} per shard of {options.shards})"
    )
    say(
        f"projection: registry reads per run: {p.pulls_without_mirrors} on the first run "
        f"({p.manifests} manifests + {p.index_reads} indexes), then only new images'; "
        f"Docker Hub pulls: 0 with the mirrors (one per image a mirror lacks), "
        f"{p.pulls_without_mirrors} without"
    )
