"""The root Typer application and its global options."""

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from imagetrust import __version__
from imagetrust.cli import (
    allowlist_cmd,
    bundle_cmd,
    catalog_cmd,
    crosscheck_cmd,
    db_cmd,
    demo_cmd,
    diff_cmd,
    eol_cmd,
    evaluate_cmd,
    gc_cmd,
    import_cmd,
    inspect_cmd,
    policy_cmd,
    recommend_cmd,
    report_cmd,
    resolve_cmd,
    run_cmd,
    sbom_cmd,
    scan_cmd,
    show_cmd,
    store_cmd,
    workflow_cmd,
)
from imagetrust.cli.options import Command
from imagetrust.cli.state import DEBUG, CliState
from imagetrust.clock import Clock
from imagetrust.errors import UsageError

HELP_OPTIONS = ("-h", "--help")

app = typer.Typer(
    name="imagetrust",
    help="Which container images can we trust today, and why.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: Rich help formatting costs ~100 ms of start-up
    context_settings={"help_option_names": list(HELP_OPTIONS)},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"imagetrust {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            envvar="IMAGETRUST_HOME",
            help="Folder for the store, caches and databases "
            "[default: $XDG_DATA_HOME/imagetrust or ~/.local/share/imagetrust].",
            show_default=False,
        ),
    ] = None,
    db_url: Annotated[
        str | None,
        typer.Option(
            envvar="IMAGETRUST_DB_URL",
            help="Store database URL, e.g. postgresql://user@host/db (default: SQLite in HOME).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(envvar="IMAGETRUST_CONFIG", help="TOML settings file.", show_default=False),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            envvar="IMAGETRUST_NOW",
            help="Pretend it is this date (YYYY-MM-DD or ISO 8601) for every date decision.",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output (repeatable).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", envvar="IMAGETRUST_DEBUG", help="Show tracebacks for errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """imagetrust: evidence-backed trust decisions for container images."""
    from imagetrust.logs import configure_logging

    DEBUG["enabled"] = debug
    verbosity = -1 if quiet else verbose
    configure_logging(verbosity)
    try:
        clock = Clock.from_text(now)
    except UsageError as exc:
        raise typer.BadParameter(exc.message, param_hint="--now") from None
    state = CliState(
        home_option=home,
        db_url=db_url,
        config_path=config,
        verbosity=verbosity,
        clock=clock,
    )
    if config is not None:
        _ = state.settings  # a named config file is checked up front, whatever the command
    ctx.obj = state


app.command("catalog")(catalog_cmd.catalog)
app.command("inspect", cls=Command)(inspect_cmd.inspect)
app.command("sbom", cls=Command)(sbom_cmd.sbom)
app.command("scan", cls=Command)(scan_cmd.scan)
app.command("import", cls=Command)(import_cmd.import_report)
app.command("crosscheck", cls=Command)(crosscheck_cmd.crosscheck)
app.command("resolve", cls=Command)(resolve_cmd.resolve)
app.command("run", cls=Command)(run_cmd.run)
app.command("evaluate", cls=Command)(evaluate_cmd.evaluate)
app.add_typer(policy_cmd.app, name="policy")
app.command("show", cls=Command)(show_cmd.show)
app.command("diff", cls=Command)(diff_cmd.diff)
app.command("allowlist", cls=Command)(allowlist_cmd.allowlist)
app.command("recommend", cls=Command)(recommend_cmd.recommend)
app.command("report", cls=Command)(report_cmd.report)
app.command("export", cls=Command)(bundle_cmd.export)
app.command("merge", cls=Command)(bundle_cmd.merge)
app.command("workflow", cls=Command)(workflow_cmd.workflow)
app.command("gc", cls=Command)(gc_cmd.gc)
app.add_typer(eol_cmd.app, name="eol")
app.add_typer(db_cmd.app, name="db")
app.add_typer(store_cmd.app, name="store")
app.command("demo")(demo_cmd.demo)

# The options of ``root`` that take a value: the word after one is not a command's name.
VALUED_ROOT_OPTIONS = frozenset({"--home", "--db-url", "--config", "--now"})


def app_for(args: Sequence[str]) -> typer.Typer:
    """``app`` with only the command that ``args`` run registered, when that is clear.

    On every run Typer turns the signature of every registered command into Click
    parameters before it parses anything (~12 ms for all of imagetrust's commands, four times
    the work of a warm ``sbom``); a run needs only its own command. Root help, a mistyped
    name (Click suggests the close ones) and anything unclear get the whole app.
    """
    name = command_name(args)
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    narrowed = copy.copy(app)
    narrowed.registered_commands = commands
    narrowed.registered_groups = groups
    return narrowed


def command_name(args: Sequence[str]) -> str | None:
    """The first word of ``args`` that is neither a root option nor its value."""
    words = iter(args)
    for arg in words:
        if arg in HELP_OPTIONS or arg == "--":
            return None
        if arg in VALUED_ROOT_OPTIONS:
            next(words, None)
        elif not arg.startswith("-"):
            return arg
    return None
