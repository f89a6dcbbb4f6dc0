"""Horizontal bar charts drawn on the server as SVG (no script, no inline style), so the
same chart works in a page and a PDF. Pages put the numbers in a table beside each chart."""

from __future__ import annotations

from markupsafe import Markup, escape

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 190
CHART_WIDTH = 460
VALUE_WIDTH = 50


def bar_chart(title: str, rows: list[tuple[str, int]]) -> Markup:
    """An accessible bar chart: role="img", a <title>, and a <desc> listing every value."""
    height = max(1, len(rows)) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + CHART_WIDTH + VALUE_WIDTH
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
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{text_y}" text-anchor="end" font-size="15" '
                     f'fill="#0b0c0c">{escape(_short(label))}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{bar}" height="{BAR_HEIGHT}" fill="#1d70b8"/>')
        parts.append(f'<text x="{LABEL_WIDTH + bar + 6}" y="{text_y}" font-size="15" fill="#0b0c0c">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _id(title: str) -> str:
    return "chart-" + "".join(ch if ch.isalnum() else "-" for ch in title.lower())
