"""Charts as inline SVG: no library, no script, nothing fetched, readable without CSS.

Each chart is built from numbers and dates; the only text in it (labels) is escaped here.
Colours come from CSS classes (the site's stylesheet), so a chart needs no inline style
and the pages can forbid inline styles in their Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

from imagetrust.report.model import Point


class Bar:
    """One row of a stacked bar chart: a label (linked when ``href`` is set), two values."""

    def __init__(self, label: str, first: int, second: int, href: str | None = None) -> None:
        self.label = label
        self.first = first
        self.second = second
        self.href = href


def stacked_bars(
    bars: Sequence[Bar], *, first: str, second: str, title: str, width: int = 640
) -> Markup:
    """Horizontal bars, ``first`` (e.g. critical) then ``second`` (high), largest first."""
    if not bars:
        return Markup("")
    row = 22
    label_width = 190
    value_width = 60
    plot = width - label_width - value_width
    height = row * len(bars) + 28
    top = max(max(b.first + b.second for b in bars), 1)
    parts = [
        f'<svg class="chart bars" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, bar in enumerate(bars):
        y = index * row + 4
        first_w = plot * bar.first / top
        second_w = plot * bar.second / top
        label = escape(bar.label if len(bar.label) <= 28 else bar.label[:27] + "…")
        text = f'<text class="label" x="{label_width - 8}" y="{y + 14}">{label}</text>'
        if bar.href:
            text = f'<a href="{escape(bar.href)}">{text}</a>'
        parts.append(text)
        parts.append(
            f'<rect class="sev-critical" x="{label_width}" y="{y + 2}" '
            f'width="{first_w:.1f}" height="{row - 6}"><title>{escape(first)}: {bar.first}'
            "</title></rect>"
        )
        parts.append(
            f'<rect class="sev-high" x="{label_width + first_w:.1f}" y="{y + 2}" '
            f'width="{second_w:.1f}" height="{row - 6}"><title>{escape(second)}: {bar.second}'
            "</title></rect>"
        )
        parts.append(
            f'<text class="value" x="{label_width + first_w + second_w + 6:.1f}" y="{y + 14}">'
            f"{bar.first} + {bar.second}</text>"
        )
    legend_y = row * len(bars) + 18
    parts.append(
        f'<rect class="sev-critical" x="{label_width}" y="{legend_y - 9}" width="10" height="10"/>'
        f'<text class="legend" x="{label_width + 14}" y="{legend_y}">{escape(first)}</text>'
        f'<rect class="sev-high" x="{label_width + 90}" y="{legend_y - 9}" width="10" '
        f'height="10"/><text class="legend" x="{label_width + 104}" y="{legend_y}">'
        f"{escape(second)}</text>"
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  numbers, and text escaped above


def _day(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def line_chart(
    series: Sequence[tuple[str, Sequence[Point]]],
    *,
    title: str,
    width: int = 640,
    height: int = 200,
    unit: str = "",
) -> Markup:
    """Lines over time (step-wise: a value holds until the next point), one per series,
    coloured by CSS classes ``line-0``, ``line-1``...; an empty chart says so."""
    points = [p for _, s in series for p in s]
    if not points:
        return Markup('<p class="empty">{}: no history stored yet.</p>').format(title)
    if len({p.at for p in points}) == 1:
        values = ", ".join(f"{name} {s[-1].value:,}" for name, s in series if s)
        return Markup('<p class="empty">{}: one run so far ({}, {}).</p>').format(
            title, _day(points[0].at), values
        )
    left, right, top_pad, bottom = 56, 12, 12, 44
    plot_w = width - left - right
    plot_h = height - top_pad - bottom
    start = min(p.at for p in points)
    end = max(p.at for p in points)
    span = max((end - start).total_seconds(), 1.0)
    peak = max(max(p.value for p in points), 1)

    def x(at: datetime) -> float:
        if end == start:
            return left + plot_w / 2
        return left + plot_w * (at - start).total_seconds() / span

    def y(value: int) -> float:
        return top_pad + plot_h * (1 - value / peak)

    parts = [
        f'<svg class="chart line" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{left}" y1="{top_pad + plot_h}" x2="{width - right}" '
        f'y2="{top_pad + plot_h}"/>',
        f'<line class="axis" x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}"/>',
        f'<text class="tick" x="{left - 6}" y="{top_pad + 4}" text-anchor="end">'
        f"{_short(peak)}{escape(unit)}</text>",
        f'<text class="tick" x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end">0</text>',
        f'<text class="tick" x="{left}" y="{height - 26}">{_day(start)}</text>',
    ]
    if end != start:
        parts.append(
            f'<text class="tick" x="{width - right}" y="{height - 26}" text-anchor="end">'
            f"{_day(end)}</text>"
        )
    for number, (name, line) in enumerate(series):
        ordered = sorted(line, key=lambda p: p.at)
        if not ordered:
            continue
        path = []
        previous_y: float | None = None
        for point in ordered:
            px, py = x(point.at), y(point.value)
            if previous_y is None:
                path.append(f"M{px:.1f},{py:.1f}")
            else:
                path.append(f"H{px:.1f}V{py:.1f}")
            previous_y = py
        path.append(f"H{x(end):.1f}")
        parts.append(
            f'<path class="line-{number % 4}" d="{"".join(path)}"><title>{escape(name)}</title>'
            "</path>"
        )
        for point in ordered:
            parts.append(
                f'<circle class="dot-{number % 4}" cx="{x(point.at):.1f}" '
                f'cy="{y(point.value):.1f}" r="2.5"><title>{escape(name)} {_day(point.at)}: '
                f"{point.value:,}</title></circle>"
            )
    if len(series) > 1:
        for number, (name, _) in enumerate(series):
            lx = left + 8 + number * 170
            parts.append(
                f'<rect class="key-{number % 4}" x="{lx}" y="{height - 8}" width="10" '
                f'height="3"/><text class="legend" x="{lx + 14}" y="{height - 3}">'
                f"{escape(name)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  numbers, and text escaped above


def sparkline(points: Sequence[Point], *, width: int = 120, height: int = 24) -> Markup:
    """A tiny step line for a table cell (its last value is shown beside it in the table)."""
    if len(points) < 2:
        return Markup("")
    ordered = sorted(points, key=lambda p: p.at)
    start, end = ordered[0].at, ordered[-1].at
    span = max((end - start).total_seconds(), 1.0)
    peak = max(max(p.value for p in ordered), 1)
    path = []
    for index, point in enumerate(ordered):
        px = 1 + (width - 2) * (point.at - start).total_seconds() / span
        py = 1 + (height - 2) * (1 - point.value / peak)
        path.append(f"{'M' if index == 0 else 'H'}{px:.1f}" + ("" if index == 0 else f"V{py:.1f}"))
        if index == 0:
            path.append(f",{py:.1f}")
    return Markup(  # noqa: S704  numbers only
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-hidden="true"><path d="{"".join(path)}"/></svg>'
    )


def _short(value: int) -> str:
    for size, unit in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:.1f}".removesuffix(".0") + unit
    return str(value)
