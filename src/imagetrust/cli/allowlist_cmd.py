"""``imagetrust allowlist``: the approved images pinned by digest, for admission control.

It judges the store exactly as ``policy check`` does (same policy, same VEX) and writes
nothing: a text list (one ``NAME:TAG@DIGEST`` a line), JSON, or a Kyverno ClusterPolicy
that admits only those digests.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from imagetrust.cli.judging import PolicyOption, VexOption, policy_and_vex, say_problems
from imagetrust.cli.output import emit_json, printable
from imagetrust.cli.state import CliState

if TYPE_CHECKING:
    from imagetrust.evaluate.recommend.model import Recommendation


def recommendation_comment(recommendations: list[Recommendation]) -> str:
    """``#`` lines (text and YAML read them as comments): each tag left out, and instead."""
    lines = []
    for found in recommendations:
        lines.append(f"# not approved: {found.name} ({found.verdict}, grade {found.grade})")
        lines += [f"#   instead: {' '.join(line.split())}" for line in found.lines()]
    return "".join(f"{line}\n" for line in lines)


class AllowlistFormat(StrEnum):
    TXT = "txt"
    JSON = "json"
    KYVERNO = "kyverno"


def allowlist(
    ctx: typer.Context,
    fmt: Annotated[
        AllowlistFormat,
        typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
    ] = AllowlistFormat.TXT,
    policy_path: PolicyOption = None,
    vex_paths: VexOption = None,
) -> None:
    """The approved images pinned by digest: txt, json or a Kyverno ClusterPolicy."""
    from imagetrust.evaluate.policy.allowlist import allowlist as approved
    from imagetrust.evaluate.policy.allowlist import render_json, render_kyverno, render_text
    from imagetrust.evaluate.policy.check import check_store
    from imagetrust.evaluate.recommend.build import recommend_check

    state: CliState = ctx.obj
    policy, vex = policy_and_vex(policy_path, vex_paths)
    now = state.clock.now()
    with state.open_store(create=False) as store, store.read() as conn:
        result = check_store(conn, policy, now=now, vex=vex)
        recommendations = recommend_check(conn, result, policy, now=now, vex=vex)
    entries = approved(result.tags)
    comment = recommendation_comment(list(recommendations.values()))
    if fmt is AllowlistFormat.JSON:
        emit_json(
            "allowlist",
            {
                "generated_at": now,
                "policy": {"name": policy.name, "source": policy.source, "digest": policy.digest},
                **render_json(entries),
                "recommendations": [r.as_dict() for r in recommendations.values()],
            },
        )
    elif fmt is AllowlistFormat.KYVERNO:
        sys.stdout.write(printable(comment))
        sys.stdout.write(render_kyverno(entries, policy=policy, generated_at=now))
    else:
        sys.stdout.write(printable(render_text(entries) + comment))
    say_problems(result.problems)
    if not result.decisions:
        typer.echo(
            "no evaluated image in the store: the allowlist is empty "
            "(run `imagetrust evaluate` first)",
            err=True,
        )
