"""``imagetrust resolve``: from the catalog (or a list of images) to the digests to analyse.

Digests come from the Hub's tag listing in the catalog or from ``HEAD`` requests, neither
of which spends a registry pull; every answer goes into the tag history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagetrust.cli.options import (
    ImagesFileOption,
    RepositoriesArgument,
    ResolvePlatformOption,
    StateChoice,
    StateOption,
    TagsChoice,
    TagsOption,
)
from imagetrust.cli.output import OutputFormat, emit_json, say, stdout_console
from imagetrust.cli.state import CliState
from imagetrust.errors import ImagetrustError

if TYPE_CHECKING:
    from pathlib import Path

    from imagetrust.resolve.models import Resolution, ResolveRequest


class ResolveProblemsError(ImagetrustError):
    """Some tags could not be resolved; the others were."""


def build_request(
    repositories: list[str] | None,
    tags: TagsChoice,
    platform: str | None,
    state: StateChoice,
    images_file: Path | None,
) -> ResolveRequest:
    """The options as the stage's request (shared with ``run``)."""
    from imagetrust.errors import UsageError
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.resolve.models import ResolveRequest, StateFilter, TagPolicy

    if images_file is not None and repositories:
        raise UsageError("give repositories or --images-file, not both")
    return ResolveRequest(
        tags=TagPolicy(tags.value),
        selection=PlatformSelection.parse(platform),
        repositories=tuple(repositories or ()),
        state=StateFilter(state.value),
        images_file=images_file,
    )


def resolve(
    ctx: typer.Context,
    repositories: RepositoriesArgument = None,
    tags: TagsOption = TagsChoice.LATEST,
    platform: ResolvePlatformOption = None,
    state: StateOption = StateChoice.ACTIVE,
    images_file: ImagesFileOption = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TABLE,
) -> None:
    """Resolve tags to digests per platform; tags sharing a digest are one image."""
    from imagetrust.pipeline.resolve import resolve_images

    cli: CliState = ctx.obj
    request = build_request(repositories, tags, platform, state, images_file)
    resolution = resolve_images(cli.context(), request)
    if fmt is OutputFormat.JSON:
        emit_json("resolution", {"request": request.as_parameters(), **resolution.as_dict()})
    else:
        print_resolution(resolution)
        if cli.verbosity >= 0:
            for note in resolution.notes:
                say(f"note: {note}")
    _raise_problems(resolution)


def _raise_problems(resolution: Resolution) -> None:
    problems = resolution.problems
    if not problems:
        return
    for problem in problems[1:]:
        say(f"error: {problem.item}: {problem.message}")
    raise ResolveProblemsError(
        f"{problems[0].item}: {problems[0].message}"
        + (f" ({len(problems)} tags not resolved)" if len(problems) > 1 else "")
    )


def _tags_text(resolution_tags: Any, limit: int = 4) -> str:
    names = [str(t) for t in resolution_tags]
    more = f" +{len(names) - limit}" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def print_resolution(resolution: Resolution) -> None:
    from rich.table import Table

    console = stdout_console()
    table = Table(box=None, pad_edge=False)
    for column in ("image", "digest", "platforms", "pulls", "from"):
        table.add_column(column, overflow="fold")
    for target in resolution.targets:
        platforms = ", ".join(str(p.platform) for p in target.platforms) or "(from the index)"
        pulls = f"{target.pull_count:,}" if target.pull_count is not None else "-"
        table.add_row(
            _tags_text(target.tags), target.digest[:19] + "…", platforms, pulls, target.source
        )
    console.print(table)
    console.print(
        f"{len(resolution.targets)} images from {resolution.tags} tags"
        + (f"; {len(resolution.not_covered)} not covered" if resolution.not_covered else "")
    )
    if resolution.not_covered:
        console.print()
        skipped = Table(box=None, pad_edge=False, title="not covered", title_justify="left")
        for column in ("item", "platform", "reason"):
            skipped.add_column(column, overflow="fold")
        for entry in resolution.not_covered:
            skipped.add_row(entry.item, entry.platform, entry.reason)
        console.print(skipped)
