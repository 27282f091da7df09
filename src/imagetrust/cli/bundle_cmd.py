"""``imagetrust export`` and ``imagetrust merge``: run bundles for CI shards and history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imagetrust.cli.output import OutputFormat, emit_json, print_key_values, stdout_console
from imagetrust.cli.state import CliState

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]


def export(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="The bundle file to write.", show_default=False),
    ],
    since: Annotated[
        str | None,
        typer.Option(
            metavar="RUN",
            help="Only what run RUN (an id, or `last`) and later runs wrote (default: everything).",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Write the store's records (or a run's) to a portable, compressed bundle."""
    from imagetrust.pipeline.bundles import export as export_job

    cli: CliState = ctx.obj
    summary = export_job(cli.context(), out, since=since)
    if fmt is OutputFormat.JSON:
        emit_json("bundle-export", summary.as_dict())
        return
    scope = f"since run #{summary.since_run}" if summary.since_run is not None else "everything"
    print_key_values(
        [
            ("bundle", summary.path),
            ("size", f"{summary.bytes} bytes"),
            ("covers", scope),
            ("records", ", ".join(f"{k} {n}" for k, n in summary.records.items() if n) or "none"),
            ("sboms", str(summary.sboms)),
        ]
    )


def merge(
    ctx: typer.Context,
    bundles: Annotated[list[Path], typer.Argument(help="Bundle files (from `imagetrust export`).")],
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for a run or merge on this store.")
    ] = 0.0,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Merge bundles into the store: all or nothing, and the same bundle twice changes nothing."""
    from imagetrust.pipeline.bundles import merge as merge_job

    cli: CliState = ctx.obj
    summary = merge_job(cli.context(), bundles, wait=wait)
    if fmt is OutputFormat.JSON:
        emit_json("bundle-merge", summary.as_dict())
        return
    from rich.table import Table

    table = Table(title=f"merge #{summary.run_id}: {len(summary.bundles)} bundles")
    for column in ("records", "added", "updated", "unchanged"):
        table.add_column(column, justify="left" if column == "records" else "right")
    for kind, counts in summary.totals().items():
        table.add_row(kind, str(counts.added), str(counts.updated), str(counts.unchanged))
    stdout_console().print(table)
    if not summary.changed:
        stdout_console().print("nothing new: the store already held every record")
