"""``imagetrust diff``: what changed between runs, and exit 3 when a job should act on it.

Read-only: it compares two states of the store's history (see ``evaluate/diff``) and writes
nothing. ``--fail-on`` makes it exit 3 once the output is written, so a scheduled workflow
can open an issue with the Markdown it printed.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from imagetrust.cli.output import emit_json, stdout_console
from imagetrust.cli.state import CliState
from imagetrust.errors import PolicyViolation

if TYPE_CHECKING:
    from imagetrust.evaluate.diff.model import StoreDiff


class DiffFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MD = "md"


class DiffFailOn(StrEnum):
    NEW_REJECTED = "new-rejected"
    NEW_FINDING = "new-finding"
    ANY = "any"


def diff(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE|RUN",
            help="Compare with the store as run RUN left it, or as it was before DATE "
            "(default: the end of the run before the newest).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = DiffFormat.TABLE,
    fail_on: Annotated[
        DiffFailOn | None,
        typer.Option(
            "--fail-on",
            help="Exit 3 when this changed: a tag newly rejected, a new finding, anything.",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
) -> None:
    """What changed between runs: tags, findings, verdicts, deprecations, end of life."""
    from imagetrust.evaluate.diff.baseline import parse_since
    from imagetrust.evaluate.diff.compute import diff_store
    from imagetrust.evaluate.diff.markdown import diff_markdown
    from imagetrust.evaluate.diff.model import FailOn

    state: CliState = ctx.obj
    until = state.clock.now()
    with state.open_store(create=False) as store, store.read() as conn:
        baseline = parse_since(conn, since, until)
        result = diff_store(conn, baseline, until)
    condition = FailOn(fail_on.value) if fail_on is not None else None
    if fmt is DiffFormat.JSON:
        document = result.as_dict()
        document["fail_on"] = condition.value if condition is not None else None
        document["fails"] = result.holds(condition) if condition is not None else False
        emit_json("diff", document)
    elif fmt is DiffFormat.MD:
        sys.stdout.write(diff_markdown(result) + "\n")
    else:
        _table(result)
    if condition is not None and result.holds(condition):
        raise PolicyViolation(_failing(result, condition) + f" (--fail-on {condition.value})")


def _failing(result: StoreDiff, condition: object) -> str:
    from imagetrust.evaluate.diff.model import FailOn

    if condition is FailOn.NEW_REJECTED:
        names = ", ".join(
            f"{c.image}:{c.tag}" if c.tag else c.image for c in result.newly_rejected[:5]
        )
        more = " …" if len(result.newly_rejected) > 5 else ""
        return f"{len(result.newly_rejected)} tags newly rejected: {names}{more}"
    if condition is FailOn.NEW_FINDING:
        return f"{len(result.findings_new)} new findings"
    changed = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in result.counts().items() if n)
    return f"changes since {result.baseline.basis}: {changed}"


def _table(result: StoreDiff) -> None:
    from rich.table import Table

    from imagetrust.cli.output import safe_text

    console = stdout_console()
    base = result.baseline
    since = base.basis + (f" ({base.at:%Y-%m-%d %H:%M}Z)" if base.at is not None else "")
    console.print(f"changes since {since} until {result.until:%Y-%m-%d %H:%M}Z")
    if not result.changed:
        console.print("no changes")
        return

    def table(title: str, *columns: str) -> Table:
        built = Table(title=title, title_justify="left")
        for column in columns:
            built.add_column(column)
        return built

    def name(image: str, tag: str | None) -> str:
        return f"{image}:{tag}" if tag else image

    def short(digest: str | None) -> str:
        return digest.split(":", 1)[-1][:12] if digest else "-"

    if result.verdicts:
        verdicts = table("verdicts", "image", "before", "now", "reasons")
        for change in result.verdicts:
            before = change.before
            verdicts.add_row(
                name(change.image, change.tag),
                f"{before.verdict} {before.grade} ({before.score})" if before else "not judged",
                f"{change.after.verdict} {change.after.grade} ({change.after.score})"
                + (" NEW" if change.newly_rejected else ""),
                safe_text("\n".join(change.reasons) or "-"),
            )
        console.print(verdicts)
    if result.tags_moved:
        moved = table("tags that moved to a new digest", "tag", "before", "now", "seen")
        for move in result.tags_moved:
            moved.add_row(
                name(move.image, move.tag), short(move.before), short(move.after), f"{move.seen:%F}"
            )
        console.print(moved)
    for title, findings in (
        ("new findings", result.findings_new),
        ("fixed", result.findings_fixed),
    ):
        if not findings:
            continue
        shown = table(title, "image", "platform", "finding", "package", "installed", "fixed in")
        for item in findings:
            shown.add_row(
                name(item.image, item.tag),
                item.platform,
                f"{item.id} {item.severity}" + (" KEV" if item.known_exploited else ""),
                item.package,
                item.installed_version,
                item.fixed_version or "-",
            )
        console.print(shown)
    if result.states:
        states = table("catalog", "image", "before", "now", "why")
        for state_change in result.states:
            states.add_row(
                state_change.image,
                state_change.before or "not listed",
                state_change.after,
                state_change.reason,
            )
        console.print(states)
    if result.eol_passed:
        eol = table("end of life reached", "image", "platform", "what", "ended")
        for ended in result.eol_passed:
            what = " ".join(p for p in (ended.product or ended.subject, ended.cycle) if p)
            eol.add_row(name(ended.image, ended.tag), ended.platform, what, str(ended.eol_date))
        console.print(eol)
    if result.failures:
        failures = table("failures", "run", "stage", "item", "error")
        for failure in result.failures:
            failures.add_row(
                f"#{failure.run_id} {failure.run_kind}",
                failure.stage,
                failure.item,
                failure.message,
            )
        console.print(failures)
    if result.tags_new:
        console.print(f"{len(result.tags_new)} tags seen for the first time")
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in result.counts().items() if n)
    console.print(counts)
