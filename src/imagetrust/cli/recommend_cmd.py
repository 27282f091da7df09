"""``imagetrust recommend IMAGE[:TAG]``: what to use instead of each tag that is not approved.

It judges the store as ``policy check`` does (same policy and VEX options), then prints, for
each tag of IMAGE that is not approved, up to three better alternatives with what changes,
and the candidates not yet assessed. Read-only; the logic is in ``evaluate/recommend``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from imagetrust.cli.judging import PolicyOption, VexOption, policy_and_vex, say_problems
from imagetrust.cli.output import OutputFormat, emit_json, printable, stdout_console
from imagetrust.cli.state import CliState
from imagetrust.errors import ImagetrustError

if TYPE_CHECKING:
    from imagetrust.evaluate.policy.rollup import TagVerdict
    from imagetrust.evaluate.recommend.model import Recommendation


class NotEvaluated(ImagetrustError):
    """IMAGE matches nothing the store holds evidence of."""


def recommend(
    ctx: typer.Context,
    image: Annotated[
        str,
        typer.Argument(
            help="NAME (every tag), NAME:TAG, a reference or a digest.", show_default=False
        ),
    ],
    policy_path: PolicyOption = None,
    vex_paths: VexOption = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TABLE,
) -> None:
    """Better alternatives for each tag that is not approved, and what they change."""
    from imagetrust.cli.db_age import warn_db_age
    from imagetrust.evaluate.policy.check import check_store
    from imagetrust.evaluate.recommend.build import recommend_check

    state: CliState = ctx.obj
    policy, vex = policy_and_vex(policy_path, vex_paths)
    now = state.clock.now()
    with state.open_store(create=False) as store:
        warn_db_age(state, store)  # alternatives are judged by stored findings too
        with store.read() as conn:
            result = check_store(conn, policy, now=now, vex=vex, images=[image])
            if result.unmatched:
                raise NotEvaluated(
                    f"no evaluated image matches {image}",
                    hint="evaluate it first: imagetrust evaluate REF",
                )
            found = recommend_check(conn, result, policy, now=now, vex=vex, selected=True)
    if fmt is OutputFormat.JSON:
        emit_json(
            "recommendations",
            {
                "query": image,
                "decided_at": now,
                "policy": {"name": policy.name, "digest": policy.digest},
                "recommendations": [r.as_dict() for r in found.values()],
                "approved": [_name(t) for t in result.tags if (t.image, t.tag) not in found],
            },
        )
    else:
        console = stdout_console()
        for tag in result.tags:
            recommendation = found.get((tag.image, tag.tag))
            if recommendation is None:
                console.print(f"{_name(tag)}: {tag.verdict.value}, grade {tag.grade}: keep it")
                continue
            console.print(recommendation_heading(recommendation))
            for line in recommendation.lines():
                console.print("  " + printable(line))
    say_problems(result.problems)


def recommendation_heading(recommendation: Recommendation) -> str:
    return (
        f"{recommendation.name}: {recommendation.verdict}, grade {recommendation.grade} "
        f"({recommendation.score}), variant {recommendation.variant}; instead:"
    )


def _name(tag: TagVerdict) -> str:
    return tag.name
