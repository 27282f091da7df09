"""``imagetrust db import PATH`` and ``imagetrust db status``: the local vulnerability database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imagetrust.cli.options import Command
from imagetrust.cli.output import (
    OutputFormat,
    ProgressBar,
    emit_json,
    print_key_values,
    stderr_console,
)
from imagetrust.cli.state import CliState

app = typer.Typer(
    help="The local vulnerability database: import and status.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]


@app.command("import", cls=Command)
def import_(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            help="OSV zip (all.zip), folder of OSV JSON, one OSV file, Alpine secdb YAML/JSON, "
            "or CISA's known_exploited_vulnerabilities.json.",
            show_default=False,
            metavar="PATH",
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(help="Source name (default: the resolved path).", show_default=False),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            help="Seconds to wait while another import of the same source runs (0: fail at once).",
            min=0,
        ),
    ] = 600.0,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Import advisories from local files, with no network.

    All or nothing: the source is replaced only when the whole import succeeds.
    """
    from imagetrust.vulndb.importer import ImportLimits, import_path

    state: CliState = ctx.obj
    if _is_kev_file(path):
        _import_kev(state, path, fmt)
        return
    console = stderr_console()
    with state.open_store() as store, ProgressBar(console, quiet=state.verbosity < 0) as report:

        def progress(records: int, files: int) -> None:
            del files  # the bar counts records; files show in the summary
            report(f"importing {path.name}", records, None)

        def waiting() -> None:
            if state.verbosity >= 0:
                console.print(
                    f"waiting for another import of this source to finish (up to {wait:g} s)",
                    markup=False,
                )

        result = import_path(
            store,
            path,
            now=state.clock.now(),
            name=name,
            limits=ImportLimits.from_settings(state.settings.vulndb),
            progress=progress,
            lock_timeout=wait,
            on_wait=waiting,
        )
    if fmt is OutputFormat.JSON:
        emit_json("vulndb-import", result.to_json())
        return
    counts = result.counts()
    rows = [
        ("source", result.name),
        ("kind", result.kind),
        ("version", result.version),
        (
            "records",
            f"{result.records} ({result.inserted} new, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.removed} removed)",
        ),
        *((f"  {eco}", str(n)) for eco, n in counts["per_ecosystem"].items()),
    ]
    if result.without_packages:  # NVD-style CVE records: severity for the others' aliases
        rows.append(("  no package (severity only)", str(result.without_packages)))
    rows += [
        ("not affected (secdb 0)", str(result.not_affected)),
        ("skipped", str(result.skipped_count)),
        *((f"  {reason}", str(n)) for reason, n in sorted(result.skipped_reasons.items())),
    ]
    if result.dropped_entries_count:  # records kept without their malformed entries
        rows.append(("affected entries dropped", str(result.dropped_entries_count)))
    print_key_values(rows)
    for problem in result.skipped[:20]:
        where = f"{problem.file} {problem.record_id}" if problem.record_id else problem.file
        console.print(f"skipped {where}: {problem.reason}", markup=False)
    if result.skipped_count > 20:
        console.print(f"... and {result.skipped_count - 20} more (see --format json)")
    for problem in result.dropped_entries[:20]:
        console.print(f"kept {problem.file} {problem.record_id}: {problem.reason}", markup=False)
    if result.dropped_entries_count > 20:
        console.print(f"... and {result.dropped_entries_count - 20} more (see --format json)")


def _is_kev_file(path: Path) -> bool:
    from imagetrust.vulndb.kev import looks_like_kev

    if not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return False
    return looks_like_kev(head)


def _import_kev(state: CliState, path: Path, fmt: OutputFormat) -> None:
    from imagetrust.vulndb.kev import import_kev_file

    with state.open_store() as store:
        result = import_kev_file(store, path, now=state.clock.now())
    if fmt is OutputFormat.JSON:
        emit_json("kev-import", result.to_json())
        return
    print_key_values(
        [
            ("known exploited", f"CISA catalog {result.version}: {result.entries} CVEs"),
            ("skipped", str(result.skipped)),
            ("sha256", result.sha256),
        ]
    )


@app.command()
def update(
    ctx: typer.Context,
    ecosystem: Annotated[
        list[str] | None,
        typer.Option(
            "--ecosystem",
            "-e",
            help="An OSV ecosystem to fetch (Debian, Alpine, PyPI, ...); repeatable "
            "(default: those of the images the store holds).",
            show_default=False,
        ),
    ] = None,
    kev: Annotated[
        bool, typer.Option(help="Also fetch CISA's Known Exploited Vulnerabilities catalog.")
    ] = True,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", help="Seconds to wait for another import of the same source.", min=0
        ),
    ] = 600.0,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Download the OSV exports the store needs (and the KEV catalog) and import them.

    Conditional downloads; each feed is replaced all or nothing, so a failed or interrupted
    update leaves the previous data in use.
    """
    from imagetrust.cli.output import say
    from imagetrust.errors import ImagetrustError
    from imagetrust.paths import HomeLayout
    from imagetrust.vulndb.feeds import needed_ecosystems, update_osv
    from imagetrust.vulndb.importer import ImportLimits

    state: CliState = ctx.obj
    now = state.clock.now()
    console = stderr_console()
    with state.open_store() as store:
        wanted = list(dict.fromkeys(ecosystem or []))
        if not wanted:
            with store.read() as conn:
                wanted = needed_ecosystems(conn)
            if not wanted and not kev:
                say("no stored image needs a feed yet; name one with --ecosystem")
        with ProgressBar(console, quiet=state.verbosity < 0) as report:

            def progress(what: str, done: int, total: int | None) -> None:
                report(f"downloading {what.rsplit('/', 2)[-2]}", done, total)

            results = update_osv(
                store,
                state.settings,
                HomeLayout(state.home).feeds,
                wanted,
                now=now,
                limits=ImportLimits.from_settings(state.settings.vulndb),
                progress=progress,
                lock_timeout=wait,
            )
        kev_result: dict[str, object] | None = None
        kev_error: str | None = None
        if kev:
            from imagetrust.vulndb.kev import update_kev

            try:
                kev_result = update_kev(store, state.settings, now=now).to_json()
            except ImagetrustError as exc:
                kev_error = exc.message
    failed = [r for r in results if r.status == "failed"]
    if fmt is OutputFormat.JSON:
        emit_json(
            "vulndb-update",
            {
                "feeds": [r.to_json() for r in results],
                "kev": kev_result,
                "kev_error": kev_error,
            },
        )
    else:
        rows = [(r.name, f"{r.status}: {r.detail}") for r in results]
        if kev_result is not None:
            rows.append(("known exploited", f"updated: {kev_result['entries']} CVEs"))
        elif kev_error is not None:
            rows.append(("known exploited", f"failed: {kev_error}"))
        print_key_values(rows or [("feeds", "nothing to update")])
    if failed or kev_error:
        names = ", ".join(r.name for r in failed) + (", KEV" if kev_error else "")
        raise ImagetrustError(
            f"update failed for {names.lstrip(', ')}; the previous data stays in use",
            hint="see the reasons above; run `imagetrust db update` again",
        )


@app.command()
def status(ctx: typer.Context, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """Show the imported sources, record counts per ecosystem, and the age of each source."""
    from imagetrust.vulndb.kev import kev_status
    from imagetrust.vulndb.query import db_status

    state: CliState = ctx.obj
    now = state.clock.now()
    with state.open_store(create=False) as store, store.read() as conn:
        info = db_status(conn)
        kev = kev_status(conn)
    if fmt is OutputFormat.JSON:
        emit_json("vulndb-status", {**info.to_json(now), "known_exploited": kev})
        return
    if not info.sources:
        typer.echo("no vulnerability sources imported; run `imagetrust db import PATH`")
        return
    rows: list[tuple[str, str]] = []
    for source in info.sources:
        if source.state != "live":
            rows.append((source.name, "incomplete: no import has finished (not used)"))
            continue
        pending = "; a newer import is running or was interrupted" if source.import_pending else ""
        rows.append(
            (
                source.name,
                f"{source.kind}, {source.records} records, version {source.version}, "
                f"imported {source.imported_at:%Y-%m-%d %H:%M:%S}Z "
                f"({_age(int((now - source.imported_at).total_seconds()))}){pending}",
            )
        )
    rows.append(("records", str(info.records)))
    rows.extend((f"  {eco}", str(n)) for eco, n in info.per_ecosystem.items())
    if kev is not None:
        rows.append(
            (
                "known exploited",
                f"CISA catalog {kev['version']}, {kev['entries']} CVEs, imported "
                f"{kev['imported_at']:%Y-%m-%d}",
            )
        )
    print_key_values(rows)


def _age(seconds: int) -> str:
    """``3d ago``; a source imported after the run clock (``--now`` in the past) says so."""
    if seconds < 0:
        return "after the run clock"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
