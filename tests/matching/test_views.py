"""Matching's pages: what each person relies on — headings, tables, error summaries, the CSV."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from commissioning.models import Home
from matching.models import Offer, Proposal
from rcc.csv_files import safe_cell


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _error_links(response) -> dict[str, str]:
    summary = _soup(response).select_one(".govuk-error-summary")
    assert summary is not None, response.get_data(as_text=True)[:1500]
    return {a["href"]: a.get_text(strip=True) for a in summary.select("a")}


@pytest.fixture
def officer_client(signed_in_client, scenario):
    return signed_in_client(scenario.officer)


@pytest.fixture
def finished_run(officer_client):
    response = officer_client.post("/matching/runs/new", data={"scope": "all", "note": "Weekly run"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    return response.headers["Location"]


def test_the_start_page_lists_open_referrals_and_refuses_an_empty_choice(officer_client):
    page = _soup(officer_client.get("/matching/runs/new"))
    assert page.find("h1").get_text(strip=True) == "Start a matching run"
    assert len(page.select("#referral_ids input[type=checkbox]")) == 3
    refused = officer_client.post("/matching/runs/new", data={"scope": "chosen"})
    assert refused.status_code == 400
    assert _error_links(refused) == {"#referral_ids": "Select at least one referral, or choose every open referral"}


def test_the_run_page_shows_a_row_per_child_with_its_decision(officer_client, finished_run, scenario):
    page = _soup(officer_client.get(finished_run))
    rows = page.select("#proposals tbody tr")
    assert len(rows) == 3
    text = page.select_one("#proposals").get_text()
    assert "COV-0001" in text and "No suitable home" in text
    assert page.find("meta", attrs={"http-equiv": "refresh"}) is None
    listing = _soup(officer_client.get("/matching/"))
    assert "Weekly run" in listing.select_one("table").get_text()


def test_a_proposal_page_explains_the_score_and_the_funnel(officer_client, finished_run, setup_session, scenario):
    placed = setup_session.scalars(select(Proposal).where(Proposal.home_id.is_not(None))).first()
    page = _soup(officer_client.get(f"/matching/proposals/{placed.id}"))
    parts = [row.find("th").get_text(strip=True) for row in page.select("#score-parts tbody tr")]
    assert parts == ["Miles from home", "Miles from school", "Weekly cost", "Ofsted rating",
                     "Block-contract place", "Siblings together", "Preferred type of placement",
                     "The council's own (in-house) carers"]
    note = page.select_one("#distance-precision").get_text(strip=True)
    assert note == "Distances are straight lines between full postcodes (ONS Postcode Directory)."
    home = setup_session.get(Home, placed.home_id)
    home.location_precision = "local_authority"
    setup_session.commit()
    page = _soup(officer_client.get(f"/matching/proposals/{placed.id}"))
    assert page.select_one("#distance-precision").get_text(strip=True) == (
        "Distances are approximate: the home is placed by its council area's centre.")
    unmatched = setup_session.scalars(select(Proposal).where(Proposal.home_id.is_(None))).one()
    funnel = _soup(officer_client.get(f"/matching/proposals/{unmatched.id}"))
    first_rule = funnel.select("#funnel tbody tr")[0]
    assert first_rule.find("th").get_text(strip=True) == "Offers the type of placement needed"
    assert first_rule.select("td")[1].get_text(strip=True) == "0"


def test_leaving_a_child_unmatched_without_a_reason_shows_the_error(officer_client, finished_run, setup_session):
    proposal = setup_session.scalars(select(Proposal).where(Proposal.home_id.is_(None))).one()
    refused = officer_client.post(f"/matching/proposals/{proposal.id}/unmatched", data={"unmatched-reason": ""})
    assert refused.status_code == 400
    assert _error_links(refused) == {"#unmatched-reason": "Enter a reason"}
    done = officer_client.post(f"/matching/proposals/{proposal.id}/unmatched",
                               data={"unmatched-reason": "Waiting for the new secure unit"})
    assert done.status_code == 302


def test_a_provider_answers_on_the_offer_page(signed_in_client, officer_client, finished_run, setup_session,
                                               scenario):
    proposal = setup_session.scalars(select(Proposal).where(Proposal.home_id.is_not(None))).first()
    assert officer_client.post(f"/matching/proposals/{proposal.id}/accept").status_code == 302
    offer = setup_session.scalars(select(Offer)).one()
    provider = signed_in_client(scenario.provider_manager)
    page = _soup(provider.get(f"/offers-for-your-homes/{offer.id}"))
    assert page.find("h1").get_text(strip=True) == f"Offer {offer.id}"
    reasons = [label.get_text(strip=True) for label in page.select("#reason label, .govuk-radios__label")]
    assert "Cannot meet the child's needs" in reasons
    refused = provider.post(f"/offers-for-your-homes/{offer.id}/decline", data={"reason": "other", "details": ""})
    assert refused.status_code == 400
    assert _error_links(refused) == {"#details": "Say why you are declining the offer"}
    assert provider.post(f"/offers-for-your-homes/{offer.id}/accept").status_code == 302
    council = signed_in_client(scenario.council_officer)
    bad = council.post(f"/matching/approvals/{offer.id}/approve",
                       data={"start_day": "31", "start_month": "2", "start_year": "2027", "weekly_cost": "lots"})
    assert bad.status_code == 400
    assert _error_links(bad) == {"#start_day": "Enter the date the placement starts, like 27 3 2027",
                                 "#weekly_cost": "Enter the weekly cost in pounds, more than £0"}


def test_other_councils_and_providers_cannot_open_what_is_not_theirs(signed_in_client, officer_client, finished_run,
                                                                      setup_session, scenario):
    proposal = setup_session.scalars(select(Proposal)).first()
    other_council = signed_in_client(scenario.region.other_council_people[_role("COUNCIL_PLACEMENT_OFFICER")])
    assert other_council.get(f"/matching/proposals/{proposal.id}").status_code == 404
    own_council = signed_in_client(scenario.council_officer)
    assert own_council.get(f"/matching/proposals/{proposal.id}").status_code == 200
    provider = signed_in_client(scenario.provider_manager)
    assert provider.get(finished_run).status_code == 403


def _role(name: str):
    from rcc.roles import Role

    return Role[name]


def test_the_shortage_report_and_its_csv(officer_client, finished_run):
    page = _soup(officer_client.get("/matching/shortage/"))
    rows = page.select("#unmatched tbody tr")
    assert [cell.get_text(strip=True) for cell in rows[0].select("td")][:4] == [
        "Secure children's home", "An adapted home", "Coventry", "1"]
    # The only unplaced child (secure) has no suitable home at all: one more place would not help.
    assert not page.select("#pressure tbody tr")
    assert "would not place anyone" in page.get_text()
    download = officer_client.get("/matching/shortage/download.csv")
    assert download.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    unmatched = [row for row in table if row["section"] == "unmatched"]
    assert unmatched[0]["rules_that_excluded_homes"] == "Offers the type of placement needed (1)"


@pytest.mark.parametrize("text, safe", [("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-2", "'-2"), ("@x", "'@x"),
                                        ("Coventry", "Coventry"), (3, "3")])
def test_csv_cells_cannot_run_as_formulas(text, safe):
    assert safe_cell(text) == safe


def test_with_redis_the_run_goes_to_a_worker_and_the_page_follows_it(app, officer_client, database_url,
                                                                      monkeypatch):
    redis_module = pytest.importorskip("redis")
    from rq import Queue, SimpleWorker

    connection = redis_module.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        connection.ping()
    except redis_module.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379, so the background path cannot be tried")
    queue_name = f"matching-test-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL="redis://127.0.0.1:6379/0", MATCHING_QUEUE=queue_name)
    monkeypatch.setenv("DATABASE_URL", database_url)

    started = officer_client.post("/matching/runs/new", data={"scope": "all"})
    waiting = _soup(officer_client.get(started.headers["Location"]))
    # Progress is a live region the page's script updates in place, never a page that reloads itself.
    assert waiting.find("meta", attrs={"http-equiv": "refresh"}) is None
    assert "Waiting to start" in waiting.select_one("#progress-status[aria-live=polite]").get_text()
    assert waiting.select_one("#check-progress")["href"] == started.headers["Location"]
    progress = officer_client.get(waiting.select_one("#progress")["data-progress-url"]).get_json()
    assert (progress["stage"], progress["running"]) == ("queued", True)

    queue = Queue(queue_name, connection=connection)
    assert len(queue) == 1
    SimpleWorker([queue], connection=connection).work(burst=True)

    finished = _soup(officer_client.get(started.headers["Location"]))
    assert finished.find("meta", attrs={"http-equiv": "refresh"}) is None
    assert finished.select_one("#progress") is None
    progress = officer_client.get(waiting.select_one("#progress")["data-progress-url"]).get_json()
    assert (progress["stage"], progress["running"], progress["label"]) == ("done", False, "Finished")
    assert len(finished.select("#proposals tbody tr")) == 3
    queue.delete(delete_jobs=True)
