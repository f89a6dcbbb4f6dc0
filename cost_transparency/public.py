"""Published cost reports for anyone, no sign-in: an index, each version's page, its CSV
tables and its PDF. Everything here comes from ``publications.published_report`` and
``published_index``: stored snapshots of published versions, never live rows."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, url_for

from cost_transparency.services import pdf, publications, report_tables
from cost_transparency.services.publications import PublishedReport
from rcc.csv_files import write_csv
from rcc.errors import NotFound
from rcc.permissions import public
from rcc.web import db

bp = Blueprint("public_reports", __name__, template_folder="templates", url_prefix="/published-costs")


def _report(slug: str, version: str | None) -> PublishedReport:
    number: int | None = None
    if version is not None:
        if not version.isdigit() or len(version) > 6:
            abort(404)
        number = int(version)
    try:
        return publications.published_report(db(), slug, number)
    except NotFound:
        abort(404)


@bp.route("")
@public
def index() -> Any:
    return render_template("cost_transparency/public/index.html", reports=publications.published_index(db()))


@bp.route("/<slug>")
@public
def latest(slug: str) -> Any:
    report = _report(slug, None)
    return redirect(url_for("public_reports.report", slug=slug, version=report.version))


@bp.route("/<slug>/v<version>")
@public
def report(slug: str, version: str) -> Any:
    found = _report(slug, version)
    return render_template("cost_transparency/public/report.html", report=found, snapshot=found.snapshot,
                           period=pdf.period_text(found.snapshot), day_text=pdf.day_text,
                           render_chart=report_tables.render_chart)


@bp.route("/<slug>/v<version>/<section>.csv")
@public
def table_csv(slug: str, version: str, section: str) -> Any:
    found = _report(slug, version)
    chosen = next((s for s in found.snapshot.get("sections", []) if s["key"] == section), None)
    if chosen is None:
        abort(404)
    header, rows = report_tables.csv_rows(chosen)
    name = f"{found.slug}-v{found.version}-{chosen['key']}.csv"
    return Response(write_csv(header, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.route("/<slug>/v<version>/report.pdf")
@public
def report_pdf(slug: str, version: str) -> Any:
    found = _report(slug, version)
    return Response(pdf.report_pdf(found), mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename={found.slug}-v{found.version}.pdf"})
