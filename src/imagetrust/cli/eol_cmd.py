"""``imagetrust eol update`` and ``eol status``: the end-of-life data evaluation judges by."""

from __future__ import annotations

from typing import Annotated

import typer

from imagetrust.cli.output import OutputFormat, emit_json, print_key_values
from imagetrust.cli.state import CliState

app = typer.Typer(
    help="End-of-life data (endoflife.date): refresh it, or show which is in use.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]


@app.command()
def update(
    ctx: typer.Context,
    product: Annotated[
        list[str] | None,
        typer.Option(
            help="Refresh only this endoflife.date product (repeatable; default: every "
            "product evaluation uses).",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Fetch the release tables from the endoflife.date API into HOME, all or nothing."""
    from imagetrust.evaluate.eol_update import update_eol_data

    state: CliState = ctx.obj
    result = update_eol_data(state.settings, state.home, now=state.clock.now(), products=product)
    if fmt is OutputFormat.JSON:
        emit_json("eol-update", result.to_json())
        return
    releases = sum(len(p.releases) for p in result.data.products.values())
    print_key_values(
        [
            ("written", str(result.path)),
            ("updated", f"{len(result.updated)} products: {', '.join(result.updated)}"),
            ("data", f"{len(result.data.products)} products, {releases} releases"),
            ("states", f"{result.data.stated_at:%Y-%m-%d} (its oldest product)"),
        ]
    )


@app.command()
def status(ctx: typer.Context, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """Show the end-of-life data in use: bundled or refreshed, and the date it states."""
    from imagetrust.evaluate.eol import BUNDLED_PATH, home_eol_path, load_eol_data

    state: CliState = ctx.obj
    data = load_eol_data(state.home)
    refreshed = home_eol_path(state.home)
    in_use = [str(BUNDLED_PATH)] + ([str(refreshed)] if data.fetched_at is not None else [])
    policy = list(state.settings.eol.until_eoes)
    if fmt is OutputFormat.JSON:
        emit_json(
            "eol-status",
            {
                "paths": in_use,
                "source": data.source,
                "origin": data.origin,
                "stated_at": data.stated_at,
                "fetched_at": data.fetched_at,
                "until_eoes": policy,
                "products": {
                    name: {
                        "stated_at": p.stated_at,
                        "fetched_at": p.fetched_at,
                        "releases": len(p.releases),
                    }
                    for name, p in sorted(data.products.items())
                },
            },
        )
        return
    print_key_values(
        [
            ("in use", ", ".join(in_use)),
            ("origin", data.origin),
            ("states", f"{data.stated_at:%Y-%m-%d} (its oldest product)"),
            ("bundled", ", ".join(sorted(n for n, p in data.products.items() if not p.fetched_at))),
            (
                "refreshed",
                ", ".join(
                    f"{n} ({p.stated_at:%Y-%m-%d})"
                    for n, p in sorted(data.products.items())
                    if p.fetched_at
                )
                or "none",
            ),
            (
                "rule",
                f"until eoes where the data has it: {', '.join(policy) or 'none'}; "
                "every other product until eol",
            ),
        ]
    )
