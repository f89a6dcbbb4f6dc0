"""The signed-in pages, as a council finance lead and as the RCC commissioner would use them."""

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from cost_transparency.models import CostRecord, HighCostReview, Publication
from cost_transparency.services import high_cost_review
from rcc.roles import Role
from tests.cost_transparency.conftest import TODAY


def _soup(response):
    return BeautifulSoup(response.data, "html.parser")


def _rows(soup, caption_text):
    caption = next(c for c in soup.find_all("caption") if caption_text in c.get_text())
    table = caption.find_parent("table")
    return [[cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])]
            for row in table.find("tbody").find_all("tr")]


def test_a_finance_lead_sees_own_figures_beside_the_regions(signed_in_client, region, costed):
    client = signed_in_client(region.people[Role.COUNCIL_FINANCE_LEAD])
    page = _soup(client.get("/costs"))
    assert page.h1.get_text(strip=True) == "Costs"
    [homes] = _rows(page, "Coventry and the region")
    # Coventry: 7 placements, median £6,200; region: 12, median £6,150
    assert homes[:3] == ["Children's home", "7", "£6,200"]
    assert homes[4:6] == ["12", "£6,150"]
    assert "Warwickshire" not in page.find("main").get_text()


def test_a_finance_lead_chooses_whole_months_or_quarters_and_free_dates_are_refused(signed_in_client, region,
                                                                                    costed):
    client = signed_in_client(region.people[Role.COUNCIL_FINANCE_LEAD])
    page = _soup(client.get("/costs"))
    options = [o["value"] for o in page.find("select", id="period").find_all("option")]
    assert len(options) == 1 + 8 + 12 and options[0].startswith("year-")
    assert client.get(f"/costs?period={options[3]}").status_code == 200
    for query in (f"from={(TODAY - timedelta(days=30)).isoformat()}&to={TODAY.isoformat()}", "period=2026-13",
                  "period=<script>"):
        response = client.get(f"/costs?{query}")
        assert response.status_code == 400
        summary = _soup(response).find(class_="govuk-error-summary")
        assert "whole months and quarters" in summary.get_text() and summary.find("a", href="#period")


def test_a_finance_lead_cannot_reach_another_councils_placement_costs(signed_in_client, region, costed):
    client = signed_in_client(region.people[Role.COUNCIL_FINANCE_LEAD])
    theirs = next(p for p in costed if p.council_id == region.councils[1].id)
    ours = next(p for p in costed if p.council_id == region.councils[0].id)
    assert client.get(f"/costs/placements/{theirs.id}").status_code == 404
    assert client.get(f"/costs/placements/{ours.id}").status_code == 200
    listing = client.get("/costs/placements").get_data(as_text=True)
    assert f"Placement {theirs.id}<" not in listing and f"Placement {ours.id}<" in listing


def test_adding_a_cost_record_with_errors_shows_the_summary_linking_to_fields(signed_in_client, region, costed,
                                                                            setup_session):
    client = signed_in_client(region.people[Role.COUNCIL_FINANCE_LEAD])
    placement = costed[0]
    response = client.post(f"/costs/placements/{placement.id}", data={
        "start_date": (TODAY - timedelta(days=5)).isoformat(), "core_weekly": "abc", "need_band": "standard"})
    page = _soup(response)
    summary = page.find(class_="govuk-error-summary")
    assert summary is not None
    assert summary.find("a", href="#core_weekly") is not None
    response = client.post(f"/costs/placements/{placement.id}", data={
        "start_date": (TODAY - timedelta(days=5)).isoformat(), "core_weekly": "6,300", "need_band": "standard"})
    page = _soup(response)
    assert "overlaps" in page.find(class_="govuk-error-summary").get_text()  # the existing record runs on
    count = len(setup_session.scalars(select(CostRecord).where(CostRecord.placement_id == placement.id)).all())
    assert count == 1


def test_the_commissioner_reviews_a_high_cost_placement(signed_in_client, region, costed, setup_session):
    client = signed_in_client(region.people[Role.RCC_COMMISSIONER])
    assert client.post("/costs/high-cost-reviews/check").status_code == 302
    review = setup_session.scalars(select(HighCostReview)).one()
    queue = _soup(client.get("/costs/high-cost-reviews"))
    [row] = _rows(queue, "flagged")
    assert row[1] == "Coventry" and row[3] == "£25,000"
    response = client.post(f"/costs/high-cost-reviews/{review.id}", data={"notes": ""})
    errors = _soup(response).find(class_="govuk-error-summary")
    assert errors.find("a", href="#outcome") is not None
    response = client.post(f"/costs/high-cost-reviews/{review.id}",
                           data={"outcome": "step_down_plan", "notes": "Move to a two-bed home by March"})
    assert response.status_code == 302
    setup_session.refresh(review)
    assert review.outcome == "step_down_plan"


def test_publishing_through_the_pages_and_no_edit_form_once_published(signed_in_client, region, costed,
                                                                      setup_session):
    client = signed_in_client(region.people[Role.RCC_COMMISSIONER])
    response = client.post("/costs/publications/new", data={
        "title": "Unit costs", "period_start": (TODAY - timedelta(days=364)).isoformat(),
        "period_end": TODAY.isoformat()})
    assert response.status_code == 302
    publication = setup_session.scalars(select(Publication)).one()
    draft_page = _soup(client.get(f"/costs/publications/{publication.id}"))
    assert draft_page.find("button", string=lambda s: s and "Approve" in s)
    assert client.post(f"/costs/publications/{publication.id}/approve").status_code == 302
    assert client.post(f"/costs/publications/{publication.id}/publish").status_code == 302
    page = _soup(client.get(f"/costs/publications/{publication.id}"))
    assert page.find("form", action=f"/costs/publications/{publication.id}/edit") is None
    assert page.find("form", action=f"/costs/publications/{publication.id}/correct") is not None
    response = client.post(f"/costs/publications/{publication.id}/edit", data={
        "title": "Tampered", "period_start": (TODAY - timedelta(days=30)).isoformat(),
        "period_end": TODAY.isoformat()}, follow_redirects=True)
    assert "cannot be changed" in response.get_data(as_text=True)
    setup_session.refresh(publication)
    assert publication.title == "Unit costs"
    response = client.post(f"/costs/publications/{publication.id}/correct", data={"changes": "Fixed a typo"})
    assert response.status_code == 302
    assert [p.version for p in setup_session.scalars(select(Publication).order_by(Publication.version))] == [1, 2]


# "/costs/comparison" is the finance lead's too (DESIGN: a finance lead compares unit costs with the other
# members): it takes a council to its own costs beside the region's (tests/test_ui_faults.py).
@pytest.mark.parametrize("path", ["/sufficiency", "/provider-risk", "/costs/publications"])
def test_rcc_pages_render_for_the_commissioner_and_are_refused_to_councils(signed_in_client, region, costed, path):
    commissioner = signed_in_client(region.people[Role.RCC_COMMISSIONER])
    page = _soup(commissioner.get(path))
    assert page.h1 is not None
    finance = signed_in_client(region.people[Role.COUNCIL_FINANCE_LEAD])
    assert finance.get(path).status_code == 403


def test_sufficiency_shows_placements_supply_and_a_statement_pdf(signed_in_client, region, costed):
    client = signed_in_client(region.people[Role.RCC_COMMISSIONER])
    page = _soup(client.get(f"/sufficiency?on={TODAY.isoformat()}"))
    placed = {row[0]: row for row in _rows(page, "Children placed on")}
    assert placed["Children's home"][1] == "12"
    # every home is in Coventry: Coventry's 7 children are in their council's area, Warwickshire's 5 are not
    assert placed["Children's home"][2:4] == ["7", "5"]
    supply = {row[0]: row for row in _rows(page, "Supply and demand")}
    assert supply["Children's home"][1] == "3"
    assert "No SSDA903 history has been imported" in page.get_text()  # the forecast says why there is none
    link = page.find("a", string=lambda s: s and "sufficiency statement" in s)
    assert client.get(link["href"]).data.startswith(b"%PDF")
    pdf = client.get(f"/sufficiency/statements/council-{region.councils[0].id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get("/sufficiency/statements/council-abc.pdf").status_code == 404
    assert client.get("/sufficiency/statements/elsewhere.pdf").status_code == 404


def test_provider_risk_alerts_on_concentration(signed_in_client, region, costed, setup_session):
    high_cost_review.update_settings(setup_session, region.rcc.id, 10_000, 30, None)
    setup_session.commit()
    client = signed_in_client(region.people[Role.RCC_COMMISSIONER])
    page = _soup(client.get("/provider-risk"))
    warning = page.find(class_="govuk-warning-text").get_text()
    assert "Group 0" in warning and "more than the 30% alert level" in warning
