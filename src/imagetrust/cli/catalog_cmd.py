"""``imagetrust catalog``: refresh the catalog, then show repositories or pull deltas."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from imagetrust.cli.output import (
    OutputFormat,
    ProgressBar,
    emit_json,
    safe_text,
    stderr_console,
    stdout_console,
)
from imagetrust.cli.state import CliState
from imagetrust.errors import ImagetrustError, UsageError

if TYPE_CHECKING:
    from imagetrust.catalog.snapshots import PullDelta, SnapshotInfo, StoredEntry


class Show(StrEnum):
    REPOS = "repos"
    PULLS = "pulls"


def catalog(
    ctx: typer.Context,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use local folders only; do not ask the Hub.")
    ] = False,
    library_dir: Annotated[
        Path | None,
        typer.Option(
            help="official-images checkout, or its library/ folder (default: download).",
            show_default=False,
        ),
    ] = None,
    docs_dir: Annotated[
        Path | None,
        typer.Option(help="docs repository checkout (default: download).", show_default=False),
    ] = None,
    hub_recording: Annotated[
        Path | None,
        typer.Option(
            help="Replay Docker Hub API responses saved in this folder instead of asking the Hub.",
            show_default=False,
        ),
    ] = None,
    all_tags: Annotated[
        bool,
        typer.Option(help="Page through every Hub tag (default: first page, newest first)."),
    ] = False,
    refresh: Annotated[
        bool,
        typer.Option(help="Refresh from the sources first; --no-refresh shows the stored one."),
    ] = True,
    show: Annotated[Show, typer.Option(help="What to show.", case_sensitive=False)] = Show.REPOS,
    since: Annotated[
        str | None,
        typer.Option(
            help="Base date for pull deltas (default: the previous snapshot).", show_default=False
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="Show the snapshot taken at or before this date (implies --no-refresh).",
            show_default=False,
        ),
    ] = None,
    state: Annotated[
        list[str] | None,
        typer.Option(
            help="Only repositories in this state (active, deprecated, removed); repeatable.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TABLE,
) -> None:
    """Build or refresh the catalog of official images, with state and popularity history."""
    from imagetrust.catalog.models import RepoState
    from imagetrust.catalog.snapshots import (
        latest_snapshot,
        oldest_snapshot,
        pull_deltas,
        snapshot_entries,
    )
    from imagetrust.clock import parse_instant

    cli: CliState = ctx.obj
    wanted_states = _parse_states(state, RepoState)
    since_at = parse_instant(since) if since else None
    until_at = parse_instant(until) if until else None
    if offline and library_dir is None:
        raise UsageError("--offline needs --library-dir (an official-images checkout)")
    refreshing = refresh and until_at is None
    with cli.open_store(create=refreshing) as store:
        if refreshing:
            _refresh(cli, store, offline, library_dir, docs_dir, hub_recording, all_tags)
        with store.read() as conn:
            snapshot = latest_snapshot(conn, at_or_before=until_at)
            if snapshot is None:
                _no_snapshot(oldest_snapshot(conn), until)
            entries = [
                stored
                for stored in snapshot_entries(conn, snapshot.id)
                if not wanted_states or stored.entry.state in wanted_states
            ]
            deltas = pull_deltas(conn, snapshot, since=since_at)
    if show is Show.PULLS:
        _show_pulls(snapshot, entries, deltas, fmt)
    else:
        _show_repos(snapshot, entries, deltas, fmt)


def _no_snapshot(oldest: SnapshotInfo | None, until: str | None) -> NoReturn:
    """Nothing to show is a failure (exit 1); it says whether the store is empty or the
    snapshots are all later than ``--until``."""
    if oldest is None:
        raise ImagetrustError(
            "no catalog snapshot in the store yet",
            hint="run `imagetrust catalog` (or with --offline --library-dir DIR) first",
        )
    raise ImagetrustError(
        f"no catalog snapshot at or before {until}: the oldest is #{oldest.id}, taken "
        f"{oldest.taken_at:%Y-%m-%d %H:%M}Z",
        hint="use a later --until, or none for the newest snapshot",
    )


def _parse_states(values: list[str] | None, enum: Any) -> set[Any]:
    states = set()
    for raw in values or []:
        for part in raw.split(","):
            try:
                states.add(enum(part.strip().lower()))
            except ValueError:
                raise UsageError(
                    f"unknown state {part!r}: use active, deprecated or removed"
                ) from None
    return states


def _refresh(
    cli: CliState,
    store: Any,
    offline: bool,
    library_dir: Path | None,
    docs_dir: Path | None,
    hub_recording: Path | None,
    all_tags: bool,
) -> None:
    from imagetrust.pipeline.catalog import refresh, source_options

    context = cli.context()
    options = source_options(
        context,
        offline=offline,
        library_dir=library_dir,
        docs_dir=docs_dir,
        hub_recording=hub_recording,
        all_tags=all_tags,
    )
    console = stderr_console()
    with ProgressBar(console, quiet=cli.verbosity < 0) as report:
        result = refresh(context, store, options, progress=report)
    if cli.verbosity >= 0:
        console.print(
            f"catalog: snapshot #{result.snapshot.id} of {len(result.entries)} repositories "
            f"(run #{result.run_id})"
        )
        for problem in result.problems[:20]:
            from rich.markup import escape

            detail = f"{problem.source} {problem.item}: {problem.message}"
            console.print(f"[yellow]warning[/] {escape(detail)}", markup=True, highlight=False)
        if len(result.problems) > 20:
            console.print(f"... and {len(result.problems) - 20} more (imagetrust store status)")


def _first_line(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= width else line[: width - 1] + "…"
    return ""


def _fmt_int(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"


def _fmt_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else "-"


def _delta_text(delta: PullDelta | None) -> str:
    if delta is None or (delta.delta is None and not delta.unreliable):
        return "-"
    if delta.unreliable:
        return "unreliable"
    return f"+{delta.delta:,}"


def _show_repos(
    snapshot: SnapshotInfo,
    entries: list[StoredEntry],
    deltas: dict[str, PullDelta],
    fmt: OutputFormat,
) -> None:
    if fmt is OutputFormat.JSON:
        from imagetrust.catalog.views import catalog_view

        emit_json("catalog", catalog_view(snapshot, entries, deltas))
        return
    from rich.table import Table
    from rich.text import Text

    style = {"active": "green", "deprecated": "yellow", "removed": "red"}
    columns = (
        "name",
        "state",
        "since",
        "tags",
        "hub tags",
        "archs",
        "pulls",
        "Δ pulls",
        "updated",
        "notice",
    )
    rows = [
        (
            safe_text(s.entry.name),  # untrusted: printable, never read as markup
            Text(s.entry.state.value, style=style.get(s.entry.state.value, "")),
            _fmt_date(s.state_since),
            str(len(s.entry.supported_tags)),
            _fmt_int(s.entry.tag_count),
            str(len(s.entry.architectures)),
            _fmt_int(s.entry.pull_count),
            _delta_text(deltas.get(s.entry.name)),
            _fmt_date(s.entry.last_updated),
            safe_text(_first_line(s.entry.notice)),
        )
        for s in entries
    ]
    # Offline snapshots have no Hub figures: drop columns that would be all dashes.
    keep = [
        index
        for index, _ in enumerate(columns)
        if not rows or any(str(row[index]) not in {"-", ""} for row in rows)
    ]
    table = Table(
        title=f"catalog snapshot #{snapshot.id}, {snapshot.taken_at:%Y-%m-%d %H:%M}Z",
        title_justify="left",
    )
    for index in keep:
        right = columns[index] in {"tags", "hub tags", "archs", "pulls", "Δ pulls"}
        table.add_column(columns[index], justify="right" if right else "left")
    for row in rows:
        table.add_row(*(row[index] for index in keep))
    stdout_console().print(table)


def _show_pulls(
    snapshot: SnapshotInfo,
    entries: list[StoredEntry],
    deltas: dict[str, PullDelta],
    fmt: OutputFormat,
) -> None:
    from imagetrust.catalog.views import snapshot_view

    rows = [deltas[s.entry.name] for s in entries if s.entry.name in deltas]
    rows.sort(key=lambda d: (d.delta is None, -(d.delta or 0), d.name))
    if fmt is OutputFormat.JSON:
        emit_json(
            "catalog-pulls",
            {
                "snapshot": snapshot_view(snapshot),
                "repositories": [
                    {"name": d.name, "pull_count": d.current, "pull_delta": d.as_dict()}
                    for d in rows
                ],
            },
        )
        return
    from rich.table import Table

    table = Table(title=f"pulls up to {snapshot.taken_at:%Y-%m-%d}", title_justify="left")
    for column in ("name", "pulls", "since", "base", "Δ pulls", "per day"):
        table.add_column(column, justify="left" if column in {"name", "since"} else "right")
    for d in rows:
        per_day = d.per_day
        table.add_row(
            d.name,
            _fmt_int(d.current),
            _fmt_date(d.base_at),
            _fmt_int(d.base),
            _delta_text(d),
            f"{per_day:,.0f}" if per_day is not None else "-",
        )
    stdout_console().print(table)
