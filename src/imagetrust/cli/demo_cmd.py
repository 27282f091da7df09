"""``imagetrust demo``: the whole product, ``run`` twice a week apart, offline, on bundled data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imagetrust.cli.output import stderr_console
from imagetrust.cli.state import CliState


def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's output.")] = Path(
        "imagetrust-demo"
    ),
) -> None:
    """Run the whole product offline, twice a week apart, on data that ships with imagetrust."""
    from rich.markup import escape

    from imagetrust.demo import run_demo

    state: CliState = ctx.obj
    home = state.home_option if state.home_option is not None else out / "home"
    console = stderr_console()
    result = run_demo(
        out_dir=out,
        home=home,
        db_url=state.resolved_db_url(home),
        clock=state.clock,
        on_step=lambda step: console.print(
            f"[bold green]✓[/] {escape(step.name)}: {escape(step.detail)}", markup=True
        ),
    )
    typer.echo(f"demo finished: run #{result.run_id}, {len(result.steps)} steps")
    typer.echo(f"  output:  {result.out_dir}")
    typer.echo(f"  summary: {result.summary_path}")
    typer.echo(f"  store:   {result.store_url}")
    typer.echo(
        f"  images:  served by {result.served_by}; runs #{result.runs[0]} and #{result.runs[-1]}"
    )
    typer.echo(f"  report:  {result.report_index}")
    typer.echo("outputs:")
    for path in result.outputs:
        typer.echo(f"  {path}")
    typer.echo("look further (paste any of these):")
    for command in result.next_commands:
        typer.echo(f"  {command}")
    if result.report_index is not None:
        typer.echo(f"open the report: {result.report_index}")
