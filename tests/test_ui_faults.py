"""Regression tests for the UI faults of issue 19, item 10 (the page-frame ones, walked over every
page, are in tests/test_every_page_frame.py)."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from flask import flash, render_template_string

from commissioning import charts as commissioning_charts
from commissioning.services import referrals
from contracts.models import Lot
from cost_transparency.services import charts as cost_charts
from rcc.roles import Role
from tests.commissioning.world import child_details, referral_details
from tests.factories import make_region


@pytest.fixture
def region(app, setup_session):
    return make_region(setup_session, "T", ("Coventry", "Warwickshire"))


def _page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _referral(session, region, reference, **changes):
    referral = referrals.create_referral(session, region.councils[0], child_details(reference),
                                         referral_details(**changes))
    session.commit()
    return referral


def test_a_success_message_uses_the_success_banner_and_news_the_important_one(app):
    with app.test_request_context("/"):
        flash("Referral updated")
        flash("Someone else has just changed it", "important")
        page = BeautifulSoup(render_template_string('{% extends "layout.html" %}'), "html.parser")
    banners = page.select(".govuk-notification-banner")
    assert [("govuk-notification-banner--success" in b["class"], b.get_text(" ", strip=True)) for b in banners] == [
        (True, "Success Referral updated"), (False, "Important Someone else has just changed it")]


def test_check_answers_has_a_change_link_per_answer_and_submit_after_them(app, region, setup_session,
                                                                          signed_in_client):
    referral = _referral(setup_session, region, "CA-1")
    page = _page(signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER]).get(f"/referrals/{referral.id}"))
    rows = page.select(".govuk-summary-list__row")
    with_link = [row for row in rows if row.select_one(".govuk-summary-list__actions a")]
    assert len(with_link) >= 30
    assert all("govuk-summary-list__row--no-actions" in row["class"] for row in rows if row not in with_link)
    edit = f"/referrals/{referral.id}/edit#"
    links = [row.select_one(".govuk-summary-list__actions a") for row in with_link]
    assert all(link["href"].startswith(edit) and link.get_text(" ", strip=True).startswith("Change ") for link in links)
    assert len({link["href"] for link in links}) == len(links)  # each to its own question
    submit = page.find("button", string=re.compile("Submit referral"))
    last_answer = page.select(".govuk-summary-list")[-1]
    assert submit is not None and last_answer in submit.find_all_previous("dl")
    # The RCC reads the same page: no Change links, no Submit.
    rcc = _page(signed_in_client(region.people[Role.RCC_PLACEMENT_OFFICER]).get(f"/referrals/{referral.id}"))
    assert not rcc.select(".govuk-summary-list__actions") and rcc.find("button", string="Submit referral") is None


def _overflows(svg: str) -> list[str]:
    """Texts drawn past the chart's edges, measured at 0.55 em a letter (an independent, fair estimate)."""
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    found = []
    for attributes, text in re.findall(r"<text ([^>]*)>([^<]*)</text>", svg):
        x = float(re.search(r'x="([-\d.]+)"', attributes).group(1))
        size = float((re.search(r'font-size="([\d.]+)"', attributes) or re.search(r'font-size="([\d.]+)"', svg)).group(1))
        extent = len(text.replace("&amp;", "&").replace("&#39;", "'")) * size * 0.55
        anchor = (re.search(r'text-anchor="(\w+)"', attributes) or [None, "start"])[1]
        left = {"end": x - extent, "middle": x - extent / 2}.get(anchor, x)
        if left < 0 or left + extent > width:
            found.append(text)
    return found


def test_chart_labels_are_not_clipped_at_the_edges():
    long = [("Supported accommodation (16 to 17)", 4), ("Children's home", 12), ("Secure children's home", 1)]
    assert _overflows(str(commissioning_charts.bar_chart("Open referrals by placement type", long))) == []
    boxes = [cost_charts.Box("Supported accommodation (16 to 17)", 700_000, 850_000, 990_000)]
    assert _overflows(str(cost_charts.box_chart("c1", "Weekly cost", boxes))) == []
    assert _overflows(str(cost_charts.bar_chart("c2", "Spend", [(label, n * 500_000) for label, n in long]))) == []


def test_the_longest_waiting_table_names_the_childs_reference(app, region, setup_session, signed_in_client):
    referral = _referral(setup_session, region, "WAIT-7")
    referrals.submit_referral(setup_session, referral)
    setup_session.commit()
    page = _page(signed_in_client(region.people[Role.RCC_PLACEMENT_OFFICER]).get("/region"))
    table = next(t for t in page.select("table") if "Longest waiting" in t.caption.get_text())
    assert [a.get_text(strip=True) for a in table.select("tbody a")] == ["WAIT-7"]


@pytest.mark.parametrize(("title", "shown"), [("Lot 1: Children's homes", "1: Children's homes"),
                                               ("lot 1 - Children's homes", "1: Children's homes"),
                                               ("Lot 1", "1"), ("Children's homes", "1: Children's homes")])
def test_a_lot_is_numbered_once(title, shown):
    assert Lot(number=1, title=title).numbered == shown


def test_the_referral_list_searches_by_the_childs_reference(app, region, setup_session, signed_in_client):
    for reference in ("SEARCH-ONE", "SEARCH-TWO", "OTHER-3"):
        _referral(setup_session, region, reference)
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    found = _page(officer.get("/referrals?reference=search-t"))
    assert [a.get_text(strip=True) for a in found.select("tbody tr a")] == ["SEARCH-TWO"]
    assert found.select_one("#filter-reference")["value"] == "search-t"
    assert len(_page(officer.get("/referrals?reference=%25")).select("tbody tr a")) == 0  # % is a letter, not a wildcard


def test_the_finance_lead_reaches_cost_comparison(app, region, signed_in_client):
    finance = signed_in_client(region.people[Role.COUNCIL_FINANCE_LEAD])
    response = finance.get("/costs/comparison")
    assert response.status_code == 302 and response.headers["Location"].endswith("/costs")
    assert finance.get("/costs").status_code == 200
