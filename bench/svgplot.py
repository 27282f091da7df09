"""Small hand-written SVG charts for bench/plots/, so the bench needs no plotting library.

A chart is a handful of lines and bars on fixed axes: enough to see a growth rate or a ratio
beside the table in RESULTS.md, which stays the record (the plot only draws its numbers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from pathlib import Path

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 160, 40, 50
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _ticks(low: float, high: float, log: bool) -> list[float]:
    if log:
        first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
        return [10.0**e for e in range(first, last + 1)]
    step = 10 ** math.floor(math.log10(max(high - low, 1e-9)))
    while (high - low) / step > 8:
        step *= 2
    while (high - low) / step < 4:
        step /= 2
    start = math.floor(low / step) * step
    return [start + i * step for i in range(int((high - start) / step) + 2)]


def _label(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"


def line_chart(
    path: Path,
    title: str,
    x_label: str,
    y_label: str,
    series: dict[str, Sequence[tuple[float, float]]],
    *,
    log_x: bool = False,
    log_y: bool = False,
) -> None:
    """Write one chart: each series a polyline with its points marked, legend on the right."""
    points = [p for values in series.values() for p in values]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_ticks = _ticks(min(xs), max(xs), log_x)
    y_ticks = _ticks(min(ys) if log_y else 0.0, max(ys) * 1.05, log_y)
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def scale(value: float, low: float, high: float, log: bool) -> float:
        if log:
            value, low, high = math.log10(value), math.log10(low), math.log10(high)
        return (value - low) / ((high - low) or 1.0)

    def sx(x: float) -> float:
        return LEFT + scale(x, x0, x1, log_x) * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - scale(y, y0, y1, log_y) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]
    for x in x_ticks:
        out.append(
            f'<line x1="{sx(x):.1f}" y1="{TOP}" x2="{sx(x):.1f}" y2="{TOP + plot_h}"'
            ' stroke="#ddd"/>'
            f'<text x="{sx(x):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
            f"{_label(x)}</text>"
        )
    for y in y_ticks:
        out.append(
            f'<line x1="{LEFT}" y1="{sy(y):.1f}" x2="{LEFT + plot_w}" y2="{sy(y):.1f}"'
            ' stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{_label(y)}</text>'
        )
    out += [
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none"'
        ' stroke="#333"/>',
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 12}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text transform="translate(16 {TOP + plot_h / 2}) rotate(-90)"'
        f' text-anchor="middle">{escape(y_label)}</text>',
    ]
    for index, (name, values) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in sorted(values))
        out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out += [
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="{colour}"/>'
            for x, y in values
        ]
        legend_y = TOP + 14 + 18 * index
        out.append(
            f'<line x1="{LEFT + plot_w + 10}" y1="{legend_y - 4}" x2="{LEFT + plot_w + 28}"'
            f' y2="{legend_y - 4}" stroke="{colour}" stroke-width="2"/>'
            f'<text x="{LEFT + plot_w + 32}" y="{legend_y}">{escape(name)}</text>'
        )
    out.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def bar_chart(path: Path, title: str, y_label: str, bars: dict[str, float]) -> None:
    """Write one bar per named value (e.g. seconds per tool), the value printed above it."""
    top = max(bars.values()) * 1.1 or 1.0
    ticks = _ticks(0.0, top, False)
    plot_w, plot_h = WIDTH - LEFT - 40, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(bars), 1)

    def sy(y: float) -> float:
        return TOP + plot_h - y / ticks[-1] * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]
    for y in ticks:
        out.append(
            f'<line x1="{LEFT}" y1="{sy(y):.1f}" x2="{LEFT + plot_w}" y2="{sy(y):.1f}"'
            ' stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{_label(y)}</text>'
        )
    for index, (name, value) in enumerate(bars.items()):
        x = LEFT + slot * index + slot * 0.2
        out.append(
            f'<rect x="{x:.1f}" y="{sy(value):.1f}" width="{slot * 0.6:.1f}"'
            f' height="{TOP + plot_h - sy(value):.1f}" fill="{COLOURS[index % len(COLOURS)]}"/>'
            f'<text x="{x + slot * 0.3:.1f}" y="{sy(value) - 5:.1f}" text-anchor="middle">'
            f"{value:.2f}</text>"
            f'<text x="{x + slot * 0.3:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
            f"{escape(name)}</text>"
        )
    out += [
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none"'
        ' stroke="#333"/>',
        f'<text transform="translate(16 {TOP + plot_h / 2}) rotate(-90)"'
        f' text-anchor="middle">{escape(y_label)}</text>',
        "</svg>",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
