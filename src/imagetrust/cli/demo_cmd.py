"""``imagetrust demo``: the walking skeleton, every stage offline on bundled fixtures."""

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
    """Run the whole pipeline offline on fixtures that ship with imagetrust."""
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
    typer.echo("look further (paste any of these):")
    for command in result.next_commands:
        typer.echo(f"  {command}")
    if result.report_index is not None:
        typer.echo(f"open the report: {result.report_index}")
