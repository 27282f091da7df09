"""The review's tables on a terminal (``imagetrust evaluate --view review``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from imagetrust.cli.output import stdout_console

if TYPE_CHECKING:
    from imagetrust.evaluate.review import Review, VulnerabilityRow


def _day(value: date | datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else "-"


def _number(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"


def _name(image: str, tag: str | None) -> str:
    return f"{image}:{tag}" if tag else image


def print_review(review: Review) -> None:
    from rich.table import Table

    console = stdout_console()
    console.print(f"review as of {review.generated_at:%Y-%m-%d %H:%M}Z")
    for title, rows in (
        (
            "most vulnerabilities (fixed or not), default tag of each repository",
            review.most_vulnerable,
        ),
        ("most fixable vulnerabilities", review.most_fixable),
    ):
        table = Table(title=title, title_justify="left")
        for column in (
            "image",
            "platform",
            "all",
            "unfixed",
            "fixable",
            "critical",
            "high",
            "note",
        ):
            table.add_column(
                column, justify="left" if column in {"image", "platform", "note"} else "right"
            )
        for row in rows:
            table.add_row(*_vulnerability_cells(row))
        console.print(table)
    if review.unknown:
        listed = ", ".join(_name(r.image, r.tag) for r in review.unknown)
        console.print(f"vulnerabilities unknown (never counted as clean): {listed}")
    table = Table(title="unsupported OS versions", title_justify="left")
    for column in ("image", "OS", "ended", "why"):
        table.add_column(column)
    for os_row in review.unsupported_os:
        table.add_row(
            _name(os_row.image, os_row.tag), os_row.os, _day(os_row.eol_date), os_row.reason
        )
    console.print(table)
    table = Table(
        title=f"deprecated images still published (catalog of {_day(review.catalog_at)})",
        title_justify="left",
    )
    for column in ("image", "deprecated since", "pulls", "notice"):
        table.add_column(column, justify="right" if column == "pulls" else "left")
    for dep in review.deprecated_published:
        table.add_row(dep.image, _day(dep.since), _number(dep.pull_count), dep.notice)
    console.print(table)
    since = f" since {_day(review.pulls_since)}" if review.pulls_since else ""
    table = Table(title=f"pull-count changes{since}", title_justify="left")
    for column in ("image", "from", "to", "pulls then", "pulls now", "change"):
        table.add_column(column, justify="left" if column in {"image", "from", "to"} else "right")
    for pull in review.pulls:
        change = "counter went down" if pull.counter_went_down else _number(pull.delta)
        table.add_row(
            pull.image,
            _day(pull.base_at),
            _day(pull.current_at),
            _number(pull.base),
            _number(pull.current),
            change,
        )
    console.print(table)


def _vulnerability_cells(row: VulnerabilityRow) -> tuple[str, ...]:
    return (
        _name(row.image, row.tag),
        row.platform,
        _number(row.total),
        _number(row.unfixed),
        _number(row.fixable_total),
        _number(row.all.get("CRITICAL", 0)),
        _number(row.all.get("HIGH", 0)),
        row.reason or "",
    )
