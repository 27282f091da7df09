"""What ``policy check``, ``allowlist`` and ``show`` share: the policy and VEX options, and
how a verdict and its reasons are written in a table or in Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imagetrust.cli.output import printable

if TYPE_CHECKING:
    from imagetrust.evaluate.policy.model import Policy, Reason
    from imagetrust.evaluate.policy.vex import VexSet

PolicyOption = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="A YAML policy; its keys replace the default policy's (see the README).",
        show_default=False,
    ),
]
VexOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--vex",
        help="An OpenVEX document whose not_affected and fixed statements suppress single "
        "findings (repeatable).",
        show_default=False,
    ),
]


def policy_and_vex(policy_path: Path | None, vex_paths: list[Path] | None) -> tuple[Policy, VexSet]:
    from imagetrust.evaluate.policy.loader import load_policy
    from imagetrust.evaluate.policy.vex import VexSet, load_vex

    policy = load_policy(policy_path)
    return policy, load_vex(vex_paths) if vex_paths else VexSet()


def reason_line(reason: Reason) -> str:
    """``os-eol: debian 9, LTS ended 2022-07-01 (-60, blocking)``."""
    from imagetrust.evaluate.policy.model import ReasonKind

    marks = []
    if reason.points:
        marks.append(f"-{reason.points}")
    if reason.blocking and reason.kind is ReasonKind.FIRED:
        marks.append("blocking")
    if reason.never_approved:
        marks.append("never approved")
    if reason.kind not in (ReasonKind.FIRED, ReasonKind.UNKNOWN):
        marks.append(reason.kind.value)
    return reason.text + (f" ({', '.join(marks)})" if marks else "")


def md_cell(text: str) -> str:
    """Untrusted text in a Markdown table cell or list item: one line, no markup of its own."""
    cleaned = printable(" ".join(text.split()))
    for char, escaped in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;")):
        cleaned = cleaned.replace(char, escaped)
    for char in "`*_[]#":
        cleaned = cleaned.replace(char, "\\" + char)
    return cleaned


def say_problems(problems: tuple[str, ...] | list[str]) -> None:
    for problem in problems:
        typer.echo(f"problem: {printable(problem)}", err=True)
