"""``report.md``: the report for a CI step summary or an issue, in GitHub's Markdown.

Short on purpose: the totals, one table row per repository, why each rejected image was
rejected, what was not evaluated, time to fix, problems. Every untrusted value goes through
``text.md_text`` (GitHub renders HTML inside Markdown), and no link is made from one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from imagetrust.report.model import NOT_EVALUATED, RepositoryRow, VulnSummary
from imagetrust.report.text import compact, day, days_text, first_line, md_text

if TYPE_CHECKING:
    from imagetrust.report.build import BuiltReport

FILE_NAME = "report.md"
REJECTED_LISTED = 50


def _counts(vulns: VulnSummary | None, view: str) -> str:
    if vulns is None or not vulns.known:
        return "not known"
    values = vulns.fixable if view == "fixable" else vulns.all
    shown = "/".join(str(values.get(s, 0)) for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW"))
    return shown + ("" if vulns.complete else " (at least)")


def _eol(row: RepositoryRow) -> str:
    if row.os_status == "eol":
        return f"**ended {day(row.os_eol_date)}**"
    if row.os_status == "supported":
        return f"until {day(row.os_eol_date)}"
    if row.os_status == "not-applicable":
        return "no OS release"
    return "unknown" if row.os_status else "-"


def _row(row: RepositoryRow) -> str:
    name = md_text(row.name) + (f":{md_text(row.default_tag)}" if row.default_tag else "")
    verdict = row.verdict.replace("-", " ")
    if row.verdict == "rejected":
        verdict = f"**{verdict}**"
    grade = f"{row.grade} ({row.score})" if row.grade else "-"
    state = row.state if row.state != "unknown" else "-"
    if row.deprecated and row.published:
        state += ", still published"
    delta = "-"
    if row.pulls.counter_went_down:
        delta = "counter went down"
    elif row.pulls.delta is not None:
        delta = "+" + compact(row.pulls.delta)
    cells = [
        name,
        verdict,
        grade,
        md_text(row.os_name or "-"),
        _eol(row),
        _counts(row.vulns, "fixable") if row.verdict != NOT_EVALUATED else "-",
        _counts(row.vulns, "all") if row.verdict != NOT_EVALUATED else "-",
        state,
        compact(row.pulls.count),
        delta,
    ]
    return "| " + " | ".join(cells) + " |"


class MarkdownReport:
    def text(self, built: BuiltReport) -> str:
        report = built.report
        counts = report.totals.repositories
        lines = ["# imagetrust report", ""]
        sources = ", ".join(md_text(f"{s.name} {s.version or ''}".strip()) for s in report.database)
        lines.append(
            f"As of {report.generated_at:%Y-%m-%d %H:%M} UTC · policy "
            f"**{md_text(report.policy['name'])}** · catalog snapshot {day(report.catalog_at)} · "
            f"database: {sources or 'none imported'} · {len(report.repositories)} repositories, "
            f"{report.totals.tags} tags, {len(report.images)} platform images judged"
        )
        lines.append("")
        total = (
            f"**{counts.get('approved', 0)} approved, {counts.get('conditional', 0)} conditional, "
            f"{counts.get('rejected', 0)} rejected**"
        )
        if counts.get(NOT_EVALUATED):
            total += f", {counts[NOT_EVALUATED]} not evaluated"
        lines += [total + " (repositories, by their default tag)", ""]
        lines += [
            "## Repositories",
            "",
            "| Repository | Verdict | Grade | OS | End of life | Fixable C/H/M/L | "
            "All C/H/M/L | State | Pulls | Δ pulls |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        order = {"rejected": 0, "conditional": 1, "approved": 2, NOT_EVALUATED: 3}
        rows = sorted(report.repositories, key=lambda r: (order.get(r.verdict, 4), r.name))
        lines += [_row(row) for row in rows]
        rejected = [i for i in report.images if i.verdict == "rejected"]
        if rejected:
            lines += ["", "## Why rejected", ""]
            for image in rejected[:REJECTED_LISTED]:
                reasons = [
                    f"{r.rule}: {r.detail}"
                    for r in image.reasons
                    if r.kind == "fired" and (r.points or r.blocking or r.never_approved)
                ]
                lines.append(
                    f"- **{md_text(image.name)}** ({md_text(image.platform)}): "
                    + md_text("; ".join(reasons) or "the score")
                )
                instead = image.recommendation.alternatives if image.recommendation else ()
                if instead:
                    lines.append(
                        "  instead: "
                        + md_text(", ".join(f"{a.name} ({a.verdict}, {a.grade})" for a in instead))
                    )
            if len(rejected) > REJECTED_LISTED:
                lines.append(f"- … and {len(rejected) - REJECTED_LISTED} more")
        missing = [r for r in report.repositories if r.verdict == NOT_EVALUATED]
        if missing:
            lines += ["", "## Not evaluated", ""]
            lines += [f"- {md_text(r.name)}: {md_text(r.reason)}" for r in missing[:100]]
            if len(missing) > 100:
                lines.append(f"- … and {len(missing) - 100} more")
        deprecated = [r for r in report.repositories if r.deprecated and r.notice]
        if deprecated:
            lines += ["", "## Deprecation notices", ""]
            lines += [
                f"- **{md_text(r.name)}**: {md_text(first_line(r.notice))}" for r in deprecated
            ]
        fixes = report.trends.fix_summary
        lines += ["", "## Time to fix", ""]
        if fixes.fixed:
            lines.append(
                f"Median {days_text(fixes.median_days)} over {fixes.fixed} fixed findings "
                f"(slowest {days_text(fixes.slowest_days)})."
            )
        else:
            lines.append("No fixed finding in the stored history yet.")
        if fixes.open:
            lines.append(
                f"{fixes.open} fixable findings still open "
                f"(the oldest for {days_text(fixes.oldest_open_days)})."
            )
        if report.problems:
            lines += ["", "## Problems", ""]
            lines += [f"- {md_text(p)}" for p in report.problems[:50]]
        return "\n".join(lines) + "\n"

    def write(self, built: BuiltReport, folder: Path) -> list[str]:
        (folder / FILE_NAME).write_text(self.text(built), encoding="utf-8")
        return [FILE_NAME]
