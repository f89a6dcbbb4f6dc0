"""Horizontal bar charts drawn on the server as SVG (no script, no inline style), so the
same chart works in a page and a PDF. Pages put the numbers in a table beside each chart."""

from __future__ import annotations

from markupsafe import Markup, escape

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 190
CHART_WIDTH = 460
VALUE_WIDTH = 50
FONT_SIZE = 15


def text_width(text: str, font_size: float) -> float:
    """How wide ``text`` is drawn, generously (Arial's widest common letters are about 0.6 em), so
    a chart leaves room for its labels instead of clipping them at its edge."""
    return len(text) * font_size * 0.6


def bar_chart(title: str, rows: list[tuple[str, int]]) -> Markup:
    """An accessible bar chart: role="img", a <title>, and a <desc> listing every value."""
    height = max(1, len(rows)) * (BAR_HEIGHT + GAP) + GAP
    label_width = max([LABEL_WIDTH, *(text_width(_short(label), FONT_SIZE) + 16 for label, _ in rows)])
    value_width = max([VALUE_WIDTH, *(text_width(f"{value}", FONT_SIZE) + 12 for _, value in rows)])
    width = round(label_width + CHART_WIDTH + value_width)
    largest = max((value for _, value in rows), default=0) or 1
    description = "; ".join(f"{label}: {value}" for label, value in rows) or "No data"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="commissioning-chart" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" aria-labelledby="{_id(title)}-title {_id(title)}-desc">',
             f'<title id="{_id(title)}-title">{escape(title)}</title>',
             f'<desc id="{_id(title)}-desc">{escape(description)}</desc>']
    for index, (label, value) in enumerate(rows):
        y = GAP + index * (BAR_HEIGHT + GAP)
        bar = round(CHART_WIDTH * value / largest) if value else 0
        text_y = y + BAR_HEIGHT - 6
        parts.append(f'<text x="{label_width - 8:.0f}" y="{text_y}" text-anchor="end" font-size="{FONT_SIZE}" '
                     f'fill="#0b0c0c">{escape(_short(label))}</text>')
        parts.append(f'<rect x="{label_width:.0f}" y="{y}" width="{bar}" height="{BAR_HEIGHT}" fill="#1d70b8"/>')
        parts.append(f'<text x="{label_width + bar + 6:.0f}" y="{text_y}" font-size="{FONT_SIZE}" '
                     f'fill="#0b0c0c">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(label: str, limit: int = 40) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _id(title: str) -> str:
    return "chart-" + "".join(ch if ch.isalnum() else "-" for ch in title.lower())
