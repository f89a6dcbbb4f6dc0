"""The public report: no sign-in, no child-level row, CSVs safe in a spreadsheet, a tagged PDF
that renders every chart."""

import csv
import io
from datetime import timedelta

import pypdf
import pytest
from bs4 import BeautifulSoup

from cost_transparency.services import publications
from tests.cost_transparency.conftest import TODAY


@pytest.fixture
def published(session, region, costed):
    draft = publications.create_draft(session, region.rcc, "Unit costs 2026", TODAY - timedelta(days=364), TODAY,
                                      None, TODAY)
    publications.approve(session, draft, None)
    publications.publish(session, draft, None)
    session.commit()
    return draft


def test_the_index_and_report_need_no_sign_in_and_show_only_aggregates(client, published, session):
    index = BeautifulSoup(client.get("/published-costs").data, "html.parser")
    link = index.find("a", string="Unit costs 2026")
    assert link is not None
    response = client.get(link["href"])
    assert response.status_code == 200
    page = BeautifulSoup(response.data, "html.parser")
    assert page.h1.get_text(strip=True) == "Unit costs 2026"
    captions = [c.get_text(" ", strip=True) for c in page.find_all("caption")]
    assert any("by council and placement type" in c for c in captions)
    body = page.get_text(" ")
    assert "Coventry" in body and "Warwickshire" in body  # councils by name, in aggregated tables
    from sqlalchemy import select

    from commissioning.models import Child

    for child in session.scalars(select(Child)):
        assert child.reference not in body
    assert "fewer than 5 placements" in body
    assert page.find("svg", attrs={"role": "img"}).find("title") is not None


def test_drafts_and_unknown_reports_are_not_found(client, session, region, costed):
    draft = publications.create_draft(session, region.rcc, "Secret draft", TODAY - timedelta(days=30), TODAY,
                                      None, TODAY)
    session.commit()
    assert client.get(f"/published-costs/{draft.slug}/v1").status_code == 404
    assert client.get(f"/published-costs/{draft.slug}/v1/report.pdf").status_code == 404
    assert client.get("/published-costs/nothing/vabc").status_code == 404
    assert "Secret draft" not in client.get("/published-costs").get_data(as_text=True)


def test_every_table_downloads_as_csv_with_formula_safe_cells(client, published):
    response = client.get(f"/published-costs/{published.slug}/v1/placements-by-council.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][0] == "Council" and rows[-1][0] == "All councils"
    from rcc.csv_files import safe_cell

    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and safe_cell("-2") == "'-2" and safe_cell("£5") == "£5"
    assert client.get(f"/published-costs/{published.slug}/v1/no-such-table.csv").status_code == 404


def test_the_pdf_is_tagged_and_carries_every_chart_and_the_methods(client, published):
    response = client.get(f"/published-costs/{published.slug}/v1/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert root["/Lang"] == "en"
    text = " ".join(page.extract_text() for page in reader.pages)
    for title in ("Weekly cost by placement type: median and interquartile range",
                  "Median weekly cost of children's home placements by council",
                  "Median weekly cost by quarter"):
        assert title in " ".join(text.split()), title
    assert "How these figures were made" in text and "QUARTILE.INC" in text
    assert "Version" in text and "fewer than 5 placements" in " ".join(text.split())
    figures = _structure_types(root["/StructTreeRoot"])
    assert figures.count("/Figure") >= 3 and "/Table" in figures


def _structure_types(node, found=None):
    found = [] if found is None else found
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, dict):
        if "/S" in node:
            found.append(node["/S"])
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            _structure_types(kid, found)
    return found
