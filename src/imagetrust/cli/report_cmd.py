"""``imagetrust report``: the store's verdicts, evidence and history as a site or a file.

Read-only: it opens the store without creating it and asks no registry, Hub or feed.
``--out -`` prints the Markdown or JSON document (for a CI step summary); otherwise the
paths written go to stdout, the site's ``index.html`` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from imagetrust.cli.judging import PolicyOption, VexOption, policy_and_vex, say_problems
from imagetrust.cli.state import CliState
from imagetrust.errors import UsageError
from imagetrust.report.interface import ReportFormat

if TYPE_CHECKING:
    from datetime import datetime


def report(
    ctx: typer.Context,
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write (the site replaces it whole; md, json and csv add their "
            "files), or - to print md or json on stdout.",
            show_default=False,
            metavar="DIR",
        ),
    ],
    fmt: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            "-f",
            help="html: the site (index.html and its pages); md: report.md; json: "
            "report.json; csv: images.csv and findings.csv.",
            case_sensitive=False,
        ),
    ] = ReportFormat.HTML,
    policy_path: PolicyOption = None,
    vex_paths: VexOption = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Pull-count changes since this date (YYYY-MM-DD; default: 30 days before "
            "the clock).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """The report: an offline HTML site, or Markdown, JSON or CSV, from the store alone."""
    from imagetrust.cli.db_age import warn_db_age
    from imagetrust.report import build_model, render_text, write_built
    from imagetrust.report.interface import out_path

    state: CliState = ctx.obj
    folder = out_path(out)
    if folder is None and not fmt.streams:
        raise UsageError(
            f"--out -: the {fmt.value} report is several files",
            hint="give a folder, or --format md or json to print one document",
        )
    since_at = _since(since)
    policy, vex = policy_and_vex(policy_path, vex_paths)
    now = state.clock.now()
    with state.open_store(create=False) as store:
        warn_db_age(state, store)
        built = build_model(store, now=now, policy=policy, vex=vex, since=since_at)
        if folder is None:
            typer.echo(render_text(built, fmt), nl=False)
        else:  # with the store open: the site reads each image's SBOM as it writes it
            for path in write_built(built, folder, fmt):
                typer.echo(str(path))
    say_problems(list(built.report.problems))


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    from imagetrust.clock import parse_instant

    try:
        return parse_instant(text)
    except UsageError as exc:
        raise UsageError(f"--since: {exc.message}") from None
