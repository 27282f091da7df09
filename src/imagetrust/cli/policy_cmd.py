"""``imagetrust policy check``: every evaluated image's verdict, grade and reasons.

It judges the newest stored evidence of each image (``imagetrust evaluate`` or ``run`` wrote
it) against the policy, stores the verdicts (history kept, as a ``policy-check`` run) and
exits 3 when an image reaches ``--fail-on``, so CI can stop on it.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from imagetrust.cli.judging import (
    PolicyOption,
    VexOption,
    md_cell,
    policy_and_vex,
    reason_line,
    say_problems,
)
from imagetrust.cli.output import emit_json, printable, stdout_console
from imagetrust.cli.state import CliState
from imagetrust.errors import ImagetrustError, PolicyViolation

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from imagetrust.evaluate.policy.check import PolicyCheck
    from imagetrust.evaluate.policy.model import Policy
    from imagetrust.evaluate.recommend.model import Recommendation

app = typer.Typer(
    help="Verdicts: the stored evidence judged against a policy.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class CheckFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MD = "md"


class FailOn(StrEnum):
    REJECTED = "rejected"
    CONDITIONAL = "conditional"


class NothingEvaluated(ImagetrustError):
    """No evidence in the store: nothing was checked, which must not read as a pass."""


@app.command()
def check(
    ctx: typer.Context,
    images: Annotated[
        list[str] | None,
        typer.Argument(
            help="Only these images: NAME, NAME:TAG, a reference or a digest (default: all).",
            show_default=False,
        ),
    ] = None,
    policy_path: PolicyOption = None,
    vex_paths: VexOption = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            help="Exit 3 when an image is this bad or worse.",
            case_sensitive=False,
        ),
    ] = FailOn.REJECTED,
    fmt: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = CheckFormat.TABLE,
) -> None:
    """Judge every evaluated image against the policy; store and show the verdicts."""
    from imagetrust.cli.db_age import warn_db_age
    from imagetrust.evaluate.policy.check import check_document, check_store
    from imagetrust.evaluate.policy.model import Verdict
    from imagetrust.evaluate.policy.stored import save_decision
    from imagetrust.evaluate.recommend.build import recommend_check
    from imagetrust.store.runs import RunStatus, finish_run, start_run

    state: CliState = ctx.obj
    policy, vex = policy_and_vex(policy_path, vex_paths)
    now = state.clock.now()
    with state.open_store(create=False) as store:
        warn_db_age(state, store)
        with store.read() as conn:
            result = check_store(conn, policy, now=now, vex=vex, images=images or ())
            recommendations = recommend_check(
                conn, result, policy, now=now, vex=vex, selected=bool(images)
            )
        if result.unmatched:
            raise NothingEvaluated(
                f"no evaluated image matches {', '.join(result.unmatched)}",
                hint="evaluate it first: imagetrust evaluate REF",
            )
        if not result.decisions:
            raise NothingEvaluated(
                "no evaluated image in the store: nothing was checked",
                hint="run `imagetrust evaluate` (or `imagetrust run`) first",
            )
        with store.transaction() as conn:
            run_id = start_run(
                conn,
                "policy-check",
                {
                    "policy": policy.source,
                    "policy_digest": policy.digest,
                    "vex": list(vex.files),
                    "images": list(images or []),
                },
                now,
            )
            for decision in result.decisions:
                save_decision(conn, decision)
            finish_run(
                conn,
                run_id,
                status=RunStatus.PARTIAL if result.problems else RunStatus.SUCCEEDED,
                now=now,
                summary=result.counts(),
            )
    if fmt is CheckFormat.JSON:
        document = check_document(result, policy, vex, now, fail_on.value)
        items: list[dict[str, object]] = document["items"]  # type: ignore[assignment]
        for item, decision in zip(items, result.decisions, strict=True):
            found = recommendations.get(decision.name)
            item["recommendations"] = found.as_dict() if found is not None else None
        emit_json("policy-check", document)
    elif fmt is CheckFormat.MD:
        sys.stdout.write(check_markdown(result, policy, now, recommendations))
    else:
        _table(result, policy)
    say_problems(result.problems)
    worst = Verdict(fail_on.value).rank
    failing = [d for d in result.decisions if d.verdict.rank >= worst]
    if failing:
        raise PolicyViolation(
            f"{len(failing)} of {len(result.decisions)} images are {fail_on.value}"
            + (" or worse" if fail_on is FailOn.CONDITIONAL else "")
            + f" (--fail-on {fail_on.value})"
        )


def _table(result: PolicyCheck, policy: Policy) -> None:
    from rich.table import Table

    console = stdout_console()
    table = Table(title=f"policy {policy.name}", title_justify="left", show_lines=True)
    for column in ("image", "tag", "platform", "verdict", "grade", "score", "reasons"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for decision in result.decisions:
        image, tag = decision.name
        table.add_row(
            image,
            tag or "-",
            decision.platform,
            decision.verdict.value,
            decision.grade,
            str(decision.score),
            "\n".join(reason_line(r) for r in decision.reasons) or "-",
        )
    console.print(table)
    repositories = Table(title="repositories (default tag)", title_justify="left")
    for column in ("image", "default tag", "verdict", "grade", "other tags"):
        repositories.add_column(column)
    for repo in result.repositories:
        others = ", ".join(f"{n} {v}" for v, n in repo.others.items() if n) or "-"
        repositories.add_row(
            repo.image,
            repo.default.tag or "-",
            repo.default.verdict.value,
            repo.default.grade,
            others,
        )
    console.print(repositories)
    counts = result.counts()
    console.print(
        f"{len(result.decisions)} images: "
        + ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
    )


def check_markdown(
    result: PolicyCheck,
    policy: Policy,
    now: datetime,
    recommendations: Mapping[tuple[str, str | None], Recommendation] | None = None,
) -> str:
    lines = [
        "# Policy check",
        "",
        f"Policy **{md_cell(policy.name)}** (sha256 `{policy.digest[:12]}`), "
        f"decided {now:%Y-%m-%d %H:%M}Z.",
        "",
        "| image | default tag | verdict | grade | score | other tags |",
        "| --- | --- | --- | --- | ---: | --- |",
    ]
    for repo in result.repositories:
        others = ", ".join(f"{n} {v}" for v, n in repo.others.items() if n) or "-"
        lines.append(
            f"| {md_cell(repo.image)} | {md_cell(repo.default.tag or '-')} | "
            f"{repo.default.verdict.value} | {md_cell(repo.default.grade)} | "
            f"{repo.default.score} | {others} |"
        )
    lines += ["", "## Images", ""]
    for decision in result.decisions:
        name, tag_name = decision.name
        tag = f":{tag_name}" if tag_name else ""
        lines.append(
            f"### {md_cell(name + tag)} ({md_cell(decision.platform)}): "
            f"{decision.verdict.value}, {md_cell(decision.grade)} ({decision.score})"
        )
        lines.append("")
        lines.append(f"`{decision.digest}`")
        lines.append("")
        lines += [f"- {md_cell(reason_line(r))}" for r in decision.reasons] or ["- no reasons"]
        lines.append("")
        found = (recommendations or {}).get(decision.name)
        if found is not None:
            lines.append("Instead:")
            lines.append("")
            lines += [f"- {md_cell(line)}" for line in found.lines()]
            lines.append("")
    counts = result.counts()
    lines.append(
        f"{len(result.decisions)} images: " + ", ".join(f"{n} {v}" for v, n in counts.items())
    )
    return printable("\n".join(lines)) + "\n"
