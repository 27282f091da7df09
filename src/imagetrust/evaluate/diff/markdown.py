"""A diff as Markdown: the body of the issue a scheduled workflow opens on new rejections.

Newly rejected tags come first (the reason the issue exists), then each kind of change as
a table. GitHub caps an issue body at 65,536 characters, so a long list is cut after
``MAX_ROWS`` rows with a line saying how many were left out and where to find them all.
Every value from the store (package names, notices, advisory ids) is untrusted text: it is
written as one line of plain text, never as Markdown or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from imagetrust.evaluate.diff.model import StoreDiff, VerdictChange, VerdictState

T = TypeVar("T")
MAX_ROWS = 50
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def cell(text: str) -> str:
    """Untrusted text in a table cell or list item: one line, no markup of its own."""
    cleaned = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", " ".join(text.split()))
    for char, escaped in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;")):
        cleaned = cleaned.replace(char, escaped)
    for char in "`*_[]#":
        cleaned = cleaned.replace(char, "\\" + char)
    return cleaned


def _name(image: str, tag: str | None) -> str:
    return cell(f"{image}:{tag}" if tag else image)


def _short(digest: str | None) -> str:
    return f"`{digest.split(':', 1)[-1][:12]}`" if digest else "-"


def _verdict(state: VerdictState | None) -> str:
    if state is None:
        return "not judged"
    return f"{state.verdict} {cell(state.grade)} ({state.score})"


def _table(
    title: str, head: Sequence[str], items: Sequence[T], row: Callable[[T], Sequence[str]]
) -> list[str]:
    if not items:
        return []
    lines = [f"## {title} ({len(items)})", ""]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("| " + " | ".join("---" for _ in head) + " |")
    lines += ["| " + " | ".join(row(item)) + " |" for item in items[:MAX_ROWS]]
    if len(items) > MAX_ROWS:
        lines += ["", f"… and {len(items) - MAX_ROWS} more (`imagetrust diff --format json`)."]
    return [*lines, ""]


def _rejected(change: VerdictChange) -> str:
    reasons = "; ".join(cell(r) for r in change.reasons) or "no reasons recorded"
    return (
        f"- **{_name(change.image, change.tag)}**: rejected, grade {cell(change.after.grade)} "
        f"({change.after.score}), was {_verdict(change.before)}: {reasons}"
    )


def diff_markdown(diff: StoreDiff) -> str:
    base = diff.baseline
    since = f"{base.basis}" + (f", {base.at:%Y-%m-%d %H:%M}Z" if base.at is not None else "")
    lines = [
        "# imagetrust: what changed",
        "",
        f"Since {cell(since)}, until {diff.until:%Y-%m-%d %H:%M}Z ({len(diff.runs)} runs since).",
        "",
    ]
    if not diff.changed:
        return "\n".join([*lines, "No changes.", ""])
    rejected = diff.newly_rejected
    if rejected:
        lines += [f"## Newly rejected ({len(rejected)})", ""]
        lines += [_rejected(change) for change in rejected[:MAX_ROWS]]
        if len(rejected) > MAX_ROWS:
            lines.append(f"- … and {len(rejected) - MAX_ROWS} more")
        lines.append("")
    lines += _table(
        "Verdicts",
        ("image", "before", "now"),
        diff.verdicts,
        lambda v: (_name(v.image, v.tag), _verdict(v.before), _verdict(v.after)),
    )
    lines += _table(
        "Tags that moved to a new digest",
        ("tag", "before", "now", "seen"),
        diff.tags_moved,
        lambda t: (_name(t.image, t.tag), _short(t.before), _short(t.after), f"{t.seen:%Y-%m-%d}"),
    )
    lines += _table(
        "New findings",
        ("image", "platform", "finding", "package", "installed", "fixed in", "severity"),
        diff.findings_new,
        lambda f: (
            _name(f.image, f.tag),
            cell(f.platform),
            cell(f.id) + (" (known exploited)" if f.known_exploited else ""),
            cell(f.package),
            cell(f.installed_version),
            cell(f.fixed_version or "-"),
            cell(f.severity),
        ),
    )
    lines += _table(
        "Fixed findings",
        ("image", "platform", "finding", "package", "was installed"),
        diff.findings_fixed,
        lambda f: (
            _name(f.image, f.tag),
            cell(f.platform),
            cell(f.id),
            cell(f.package),
            cell(f.installed_version),
        ),
    )
    lines += _table(
        "Catalog states",
        ("image", "before", "now", "why"),
        diff.states,
        lambda s: (cell(s.image), cell(s.before or "not listed"), cell(s.after), cell(s.reason)),
    )
    lines += _table(
        "End of life reached",
        ("image", "platform", "what", "ended"),
        diff.eol_passed,
        lambda e: (
            _name(e.image, e.tag),
            cell(e.platform),
            cell(" ".join(p for p in (e.product or e.subject, e.cycle) if p)),
            f"{e.eol_date}",
        ),
    )
    lines += _table(
        "Failures",
        ("run", "stage", "item", "error"),
        diff.failures,
        lambda f: (f"#{f.run_id} {cell(f.run_kind)}", cell(f.stage), cell(f.item), cell(f.message)),
    )
    if diff.tags_new:
        lines += [f"{len(diff.tags_new)} tags seen for the first time.", ""]
    return "\n".join(lines)
