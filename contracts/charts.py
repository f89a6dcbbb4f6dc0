"""Server-side SVG charts; every chart's numbers are also in a table beside it."""

from __future__ import annotations

from markupsafe import Markup, escape

from contracts.services.utilisation import MonthUtilisation

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 240, 44, 36, 12


def utilisation_chart(months: list[MonthUtilisation]) -> Markup:
    """Bars of utilisation % by month, with a 0–100 % scale."""
    shown = [m for m in months if m.utilisation is not None][-12:]
    if not shown:
        return Markup("")
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT - 8) / len(shown)
    parts = [f'<svg class="contracts-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             'aria-labelledby="utilisation-chart-title" xmlns="http://www.w3.org/2000/svg">',
             '<title id="utilisation-chart-title">Utilisation of reserved places by month, '
             'as a percentage; the table below gives the same figures</title>']
    for percent in (0, 50, 100):
        y = TOP + plot_height * (1 - percent / 100)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b1b4b6" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="#0b0c0c">'
                     f'{percent}%</text>')
    for index, month in enumerate(shown):
        value = float(month.utilisation or 0)
        bar_height = plot_height * value / 100
        x = LEFT + index * slot + slot * 0.15
        y = TOP + plot_height - bar_height
        label = escape(month.month.strftime("%b %y"))
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{bar_height:.1f}" '
                     f'fill="#1d70b8"><title>{label}: {value:.1f}%</title></rect>')
        parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                     f'font-size="11" fill="#0b0c0c">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
