"""``imagetrust gc``: prune caches and the data of images no tag names any more.

The command parses and prints; what goes and what always stays is in ``pipeline/gc.py``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from imagetrust.cli.output import OutputFormat, emit_json
from imagetrust.cli.state import CliState


def gc(
    ctx: typer.Context,
    keep_days: Annotated[
        int,
        typer.Option(
            min=0,
            help="Keep the SBOMs and findings of digests a tag named within this many days.",
        ),
    ] = 30,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be freed; change nothing.")
    ] = False,
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for a run working on this store.")
    ] = 0.0,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TABLE,
) -> None:
    """Prune layer-cache entries, SBOMs and findings no current image needs, old run errors."""
    from imagetrust.pipeline.gc import GcOptions, collect_garbage

    state: CliState = ctx.obj
    report = collect_garbage(
        state.context(), GcOptions(keep_days=keep_days, dry_run=dry_run, wait=wait)
    )
    if fmt is OutputFormat.JSON:
        emit_json("gc", report.as_dict())
        return
    from imagetrust.cli.output import print_key_values

    verb = "would free" if report.dry_run else "freed"
    print_key_values(
        [
            ("gc", f"{verb} (dry run: nothing changed)" if report.dry_run else verb),
            ("kept", f"digests a tag named since {report.cutoff:%Y-%m-%d %H:%M}Z, or used since"),
            ("digests", f"{report.digests_pruned} pruned, {report.digests_live} live"),
            ("sboms", f"{report.sboms} (and {report.publisher_sboms} of publishers)"),
            ("findings", f"{report.finding_sets} finding sets ({report.findings} findings)"),
            ("results", str(report.results)),
            ("run errors", f"{report.run_errors} of runs finished before the cutoff"),
            (
                "layer cache",
                f"{report.cache_entries} entries, {_bytes(report.cache_bytes)} {verb}; "
                f"{report.cache_kept} entries ({_bytes(report.cache_kept_bytes)}) kept",
            ),
        ]
    )


def _bytes(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"  # pragma: no cover
