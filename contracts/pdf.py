"""The evaluation report as a PDF, from the same HTML the page shows, by WeasyPrint."""

from __future__ import annotations

from weasyprint import HTML


def render_report_pdf(html: str) -> bytes:
    # Tagged PDF (PDF/UA-1) so screen readers can follow the report's headings and tables.
    return HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")  # type: ignore[no-any-return]
