"""PDF reports with WeasyPrint: tagged (PDF/UA-1), charts as the same SVG as the pages.

Templates come from this package's own folder through a plain Jinja environment, so a PDF
can be made outside a web request (the benchmark, a background job) exactly as in one.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from cost_transparency.services.publications import PublishedReport
from cost_transparency.services.report_tables import render_chart
from cost_transparency.vocabulary import type_label
from rcc.numbers import pounds

PACKAGE = Path(__file__).resolve().parent.parent
PRINT_CSS = PACKAGE / "static" / "report-print.css"
PDF_VARIANT = "pdf/ua-1"  # tagged PDF with a structure tree, document language and title


@cache
def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(str(PACKAGE / "templates")),
                              autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    environment.globals.update(render_chart=render_chart, pounds=pounds, type_label=type_label)
    return environment


@cache
def _stylesheet() -> Any:
    from weasyprint import CSS  # noqa: PLC0415 - heavy import, only when a PDF is made

    return CSS(string=PRINT_CSS.read_text(encoding="utf-8"))


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # noqa: PLC0415

    return HTML(string=html, base_url=str(PACKAGE)).write_pdf(stylesheets=[_stylesheet()], pdf_variant=PDF_VARIANT)


def render(template: str, **context: Any) -> bytes:
    return html_to_pdf(_environment().get_template(template).render(**context))


def day_text(day: date | datetime) -> str:
    return f"{day:%-d %B %Y}"


def period_text(snapshot: dict[str, Any]) -> str:
    start, end = date.fromisoformat(snapshot["period_start"]), date.fromisoformat(snapshot["period_end"])
    return f"{day_text(start)} to {day_text(end)}"


def report_pdf(report: PublishedReport) -> bytes:
    context = {"title": report.title, "version": report.version, "changes": report.changes,
               "published_on": report.published_at.date().isoformat(),
               "published_on_text": day_text(report.published_at)}
    return render("cost_transparency/report/pdf.html", report=context, snapshot=report.snapshot,
                  period=period_text(report.snapshot))


def draft_pdf(title: str, version: int, changes: str, snapshot: dict[str, Any], today: date) -> bytes:
    """A draft or approved version, as it will look, marked with its status date."""
    context = {"title": title, "version": version, "changes": changes, "published_on": today.isoformat(),
               "published_on_text": f"not yet (preview made {day_text(today)})"}
    return render("cost_transparency/report/pdf.html", report=context, snapshot=snapshot,
                  period=period_text(snapshot))
