"""Charts drawn on the server as SVG, so a page and a PDF show the same picture.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` saying what it
shows; its numbers are always in a table beside it (the pages and the PDF put one there).
Only presentation attributes are used (no ``style``), so the Content-Security-Policy holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from math import ceil, log10

from markupsafe import Markup

from commissioning.charts import text_width
from rcc.numbers import pounds

BLUE = "#1d70b8"
DARK = "#0b0c0c"
GREY = "#505a5f"
LIGHT = "#b1b4b6"
ORANGE = "#f47738"
FONT = "Arial, 'DejaVu Sans', sans-serif"
LABEL_WIDTH = 200
ROW = 28
FONT_SIZE = 13
PLOT_WIDTH = 300  # the least room for the bars and boxes themselves


def _label_room(labels: list[str]) -> float:
    """Room at the left for the longest row label, so none is clipped at the chart's edge."""
    return max([LABEL_WIDTH, *(text_width(label, FONT_SIZE) + 16 for label in labels)])


@dataclass(frozen=True)
class Box:
    label: str
    lower_quartile: int
    median: int
    upper_quartile: int


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** int(log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude  # pragma: no cover


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rcc-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="{FONT}" font-size="13">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def _axis(parts: list[str], left: float, right: float, top: int, bottom: int, maximum: float, money: bool) -> None:
    for i in range(5):
        value = maximum * i / 4
        x = left + (right - left) * i / 4
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{LIGHT}" stroke-width="1"/>')
        label = pounds(value, whole=True) if money else f"{value:,.0f}"
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" fill="{GREY}">{label}</text>')


def box_chart(chart_id: str, title: str, boxes: list[Box], width: int = 640) -> Markup:
    """Interquartile boxes with the median marked, one row per group (no whiskers: the extremes
    are single placements' costs, which are never published)."""
    description = "; ".join(f"{b.label}: lower quartile {pounds(b.lower_quartile, whole=True)}, median {pounds(b.median, whole=True)}, "
                            f"upper quartile {pounds(b.upper_quartile, whole=True)}" for b in boxes) or "No figures to show."
    height = 40 + ROW * max(len(boxes), 1) + 30
    maximum = _nice_max(max((b.upper_quartile for b in boxes), default=0) * 1.05)
    left = _label_room([b.label for b in boxes])
    width = max(width, round(left + PLOT_WIDTH + 20))
    right = width - max(20, text_width(pounds(maximum, whole=True), FONT_SIZE) / 2 + 4)  # the last axis label
    parts = _open(chart_id, title, description, width, height)
    top = 20
    bottom = top + ROW * max(len(boxes), 1)
    _axis(parts, left, right, top, bottom, maximum, money=True)
    scale = (right - left) / maximum
    for i, box in enumerate(boxes):
        y = top + i * ROW
        x1, x2, xm = left + box.lower_quartile * scale, left + box.upper_quartile * scale, left + box.median * scale
        parts.append(f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" fill="{DARK}">{escape(box.label)}</text>')
        parts.append(f'<rect x="{x1:.1f}" y="{y + 5}" width="{max(x2 - x1, 1):.1f}" height="{ROW - 10}" '
                     f'fill="{BLUE}" fill-opacity="0.35" stroke="{BLUE}" stroke-width="1.5"/>')
        parts.append(f'<line x1="{xm:.1f}" y1="{y + 3}" x2="{xm:.1f}" y2="{y + ROW - 3}" stroke="{DARK}" '
                     'stroke-width="3"/>')
    legend = "Box: lower to upper quartile. Black line: median. Weekly cost."
    legend_x = max(8, min(left, width - text_width(legend, FONT_SIZE) - 4))
    parts.append(f'<text x="{legend_x:.0f}" y="{height - 4}" fill="{GREY}">{legend}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(chart_id: str, title: str, bars: list[tuple[str, int]], money: bool = True, width: int = 640,
              highlight: str | None = None) -> Markup:
    """Horizontal bars, the value written at the end of each."""
    describe = (lambda v: pounds(v, whole=True)) if money else (lambda v: f"{v:,}")
    description = "; ".join(f"{label}: {describe(value)}" for label, value in bars) or "No figures to show."
    height = 30 + ROW * max(len(bars), 1) + 20
    maximum = _nice_max(max((v for _, v in bars), default=0))
    left = _label_room([label for label, _ in bars])
    value_room = max([90, *(text_width(describe(v), FONT_SIZE) + 10 for _, v in bars),
                      text_width(describe(round(maximum)), FONT_SIZE) / 2 + 4])
    width = max(width, round(left + PLOT_WIDTH + value_room))
    right = width - value_room
    parts = _open(chart_id, title, description, width, height)
    top = 10
    bottom = top + ROW * max(len(bars), 1)
    _axis(parts, left, right, top, bottom, maximum, money)
    scale = (right - left) / maximum
    for i, (label, value) in enumerate(bars):
        y = top + i * ROW
        colour = ORANGE if label == highlight else BLUE
        parts.append(f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" fill="{DARK}">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 5}" width="{max(value * scale, 1):.1f}" height="{ROW - 10}" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{left + value * scale + 6:.1f}" y="{y + 18}" fill="{DARK}">{describe(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(chart_id: str, title: str, x_labels: list[str], series: list[tuple[str, list[int | None]]],
               money: bool = True, width: int = 640, bands: list[tuple[int, int] | None] | None = None,
               reference_lines: list[tuple[str, int]] | None = None) -> Markup:
    """Lines over time; gaps where a value is not shown. ``bands`` shades an uncertainty range
    around the first series; ``reference_lines`` draws dashed levels (e.g. places available)."""
    describe = (lambda v: pounds(v, whole=True)) if money else (lambda v: f"{v:,}")
    described = []
    for name, line in series:
        points = ", ".join(f"{x} {describe(v)}" for x, v in zip(x_labels, line, strict=False) if v is not None)
        described.append(f"{name}: {points or 'no figures shown'}")
    described += [f"{name}: {describe(value)}" for name, value in reference_lines or []]
    height = 300
    parts = _open(chart_id, title, ". ".join(described), width, height)
    heights: list[int] = [v for _, vs in series for v in vs if v is not None]
    heights += [band[1] for band in bands or [] if band]
    heights += [value for _, value in reference_lines or []]
    maximum = _nice_max(max(heights, default=0) * 1.05)
    left = max(70, round(text_width(describe(round(maximum)), FONT_SIZE) + 10))  # room for the axis's labels
    right, top, bottom = width - 20, 20, height - 80
    scale = (bottom - top) / maximum
    step = (right - left) / max(len(x_labels) - 1, 1)
    for i in range(5):
        value = maximum * i / 4
        y = bottom - value * scale
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{LIGHT}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{GREY}">'
                     f'{describe(round(value))}</text>')
    label_every = max(1, ceil(len(x_labels) / 8))
    for i, label in enumerate(x_labels):
        if i % label_every == 0 or i == len(x_labels) - 1:
            parts.append(f'<text x="{left + i * step:.1f}" y="{bottom + 18}" text-anchor="middle" fill="{GREY}">'
                         f'{escape(label)}</text>')
    if bands:
        upper = [(left + i * step, bottom - b[1] * scale) for i, b in enumerate(bands) if b]
        lower = [(left + i * step, bottom - b[0] * scale) for i, b in enumerate(bands) if b]
        if upper:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in upper + list(reversed(lower)))
            parts.append(f'<polygon points="{points}" fill="{BLUE}" fill-opacity="0.15" stroke="none"/>')
    for name, value in reference_lines or []:
        y = bottom - value * scale
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{ORANGE}" '
                     'stroke-width="2" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{right}" y="{y - 5:.1f}" text-anchor="end" fill="{DARK}">'
                     f'{escape(name)} {describe(value)}</text>')
    colours = [BLUE, DARK, ORANGE, GREY]
    for index, (name, values_) in enumerate(series):
        colour = colours[index % len(colours)]
        path: list[str] = []
        for i, v in enumerate(values_):
            if v is None:
                path.append("|")
                continue
            path.append(f"{left + i * step:.1f},{bottom - v * scale:.1f}")
        for segment in " ".join(path).split("|"):
            if segment.strip():
                dash = ' stroke-dasharray="4 3"' if index % 2 else ""
                parts.append(f'<polyline points="{segment.strip()}" fill="none" stroke="{colour}" '
                             f'stroke-width="2.5"{dash}/>')
        parts.append(f'<line x1="{left + index * 200}" y1="{height - 30}" x2="{left + index * 200 + 24}" '
                     f'y2="{height - 30}" stroke="{colour}" stroke-width="2.5"{" stroke-dasharray=" + chr(34) + "4 3" + chr(34) if index % 2 else ""}/>')
        parts.append(f'<text x="{left + index * 200 + 30}" y="{height - 26}" fill="{DARK}">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
