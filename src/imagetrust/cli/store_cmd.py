"""``imagetrust store migrate|status``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from imagetrust.cli.output import OutputFormat, emit_json, print_key_values
from imagetrust.cli.state import CliState

app = typer.Typer(
    help="The store schema: migrate and status.", no_args_is_help=True, rich_markup_mode=None
)

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]


@app.command()
def migrate(ctx: typer.Context, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """Upgrade the store schema to the version this imagetrust needs."""
    state: CliState = ctx.obj
    with state.open_store(migrate=False) as store:
        before = store.schema_state()
        after = store.upgrade() if not before.up_to_date else before
        payload = {
            "store": store.display_url,
            "backend": store.backend,
            "from_revision": before.current,
            "to_revision": after.current,
            "changed": before.current != after.current,
        }
    if fmt is OutputFormat.JSON:
        emit_json("store-migration", payload)
        return
    if payload["changed"]:
        typer.echo(
            f"store {payload['store']}: migrated {before.current or 'empty'} -> {after.current}"
        )
    else:
        typer.echo(f"store {payload['store']}: already at {after.current}")


@app.command()
def status(ctx: typer.Context, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """Show where the store is, its schema revision, and what it holds (creates nothing)."""
    from imagetrust.store.database import StoreMissing
    from imagetrust.store.runs import list_runs, table_counts

    state: CliState = ctx.obj
    try:
        opened = state.open_store(migrate=False, create=False)
    except StoreMissing as missing:
        _no_store(state, fmt, missing)
        return
    with opened as store:
        schema = store.schema_state()
        counts: dict[str, int] = {}
        last_run: dict[str, Any] | None = None
        if schema.up_to_date:
            with store.read() as conn:
                counts = table_counts(conn, ["runs", "run_errors", "repositories"])
                recent = list_runs(conn, limit=1)
            if recent:
                run = recent[0]
                last_run = {
                    "id": run.id,
                    "kind": run.kind,
                    "status": run.status.value,
                    "started_at": run.started_at,
                    "finished_at": run.finished_at,
                    "errors": run.error_count,
                }
        payload: dict[str, Any] = {
            "store": store.display_url,
            "backend": store.backend,
            "exists": True,
            "revision": schema.current,
            "head_revision": schema.head,
            "up_to_date": schema.up_to_date,
            "counts": counts,
            "last_run": last_run,
        }
    if fmt is OutputFormat.JSON:
        emit_json("store-status", payload)
        return
    revision = schema.current or "empty"
    note = "up to date" if schema.up_to_date else "run `imagetrust store migrate`"
    rows = [
        ("store", payload["store"]),
        ("backend", payload["backend"]),
        ("schema", f"{revision} (head {schema.head}, {note})"),
        *((name, str(count)) for name, count in counts.items()),
    ]
    if last_run:
        rows.append(
            (
                "last run",
                f"#{last_run['id']} {last_run['kind']} {last_run['status']} "
                f"at {last_run['started_at']:%Y-%m-%d %H:%M:%S}Z",
            )
        )
    print_key_values(rows)


def _no_store(state: CliState, fmt: OutputFormat, missing: Exception) -> None:
    """A status command answers "none yet" rather than failing, and creates nothing."""
    from imagetrust.store.migrations import HEAD_REVISION
    from imagetrust.store.url import redact_url

    url = state.resolved_db_url()
    payload: dict[str, Any] = {
        "store": redact_url(url),
        "backend": "sqlite" if url.startswith("sqlite") else "postgresql",
        "exists": False,
        "revision": None,
        "head_revision": HEAD_REVISION,
        "up_to_date": False,
        "counts": {},
        "last_run": None,
    }
    if fmt is OutputFormat.JSON:
        emit_json("store-status", payload)
        return
    print_key_values(
        [
            ("store", payload["store"]),
            ("backend", payload["backend"]),
            ("schema", f"none: {missing}; the first command that writes creates it"),
        ]
    )
