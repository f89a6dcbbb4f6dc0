"""A provider and a commissioner going through a tender as new users would, page by page."""

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from contracts.models import Bid, ClarificationQuestion, Tender
from contracts.services import tenders
from rcc.models import utcnow
from rcc.roles import Role
from tests.contracts.helpers import make_home, published_tender
from tests.factories import make_region


def page(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def error_links(soup):
    return {a["href"]: a.get_text(strip=True) for a in soup.select(".govuk-error-summary a")}


@pytest.fixture
def world(app, setup_session):
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    tender, lot = published_tender(setup_session, region, now=utcnow())
    home = make_home(setup_session, region.provider, "Oak House")
    setup_session.commit()
    return region, tender, lot, home


def _close_bids(setup_session, tender_id):
    tender = setup_session.get(Tender, tender_id)
    tender.clarification_closes_at = utcnow() - timedelta(days=2)
    tender.bids_close_at = utcnow() - timedelta(hours=1)
    setup_session.commit()


def test_a_provider_bids_and_sees_its_result(world, setup_session, signed_in_client):
    region, tender, lot, home = world
    provider = signed_in_client(region.people[Role.PROVIDER_MANAGER])
    commissioner = signed_in_client(region.people[Role.RCC_COMMISSIONER])

    # Finds the open tender.
    listing = page(provider.get("/contracts/tenders"))
    link = listing.find("a", string=tender.title)
    assert link is not None
    assert "Open for questions and bids" in listing.get_text()
    detail = page(provider.get(link["href"]))
    assert detail.h1.get_text(strip=True) == tender.title

    # Asks a question; an empty one is refused with a message linking to the field.
    refused = page(provider.post(f"/contracts/tenders/{tender.id}/ask", data={"text": ""}))
    assert error_links(refused) == {"#text": "Enter your question"}
    response = provider.post(f"/contracts/tenders/{tender.id}/ask", data={"text": "Can we bid for 2 of the 4 places?"})
    assert response.status_code == 302
    question = setup_session.scalars(select(ClarificationQuestion)).one()

    # The commissioner publishes the answer; the provider sees it, without any name.
    response = commissioner.post(f"/contracts/questions/{question.id}/answer", data={
        "published_question": "Can a bid offer fewer places than the lot?", "answer": "Yes. Say how many."})
    assert response.status_code == 302
    published = page(provider.get(f"/contracts/tenders/{tender.id}")).select(".govuk-summary-list__row")
    shown = {row.dt.get_text(strip=True): row.dd.get_text(" ", strip=True) for row in published}
    assert shown["Can a bid offer fewer places than the lot?"].startswith("Yes. Say how many.")
    assert region.provider.name not in shown["Can a bid offer fewer places than the lot?"]

    # Bids: a bad form names each field; then a good bid; then changes it.
    form = page(provider.get(f"/contracts/lots/{lot.id}/bid"))
    assert "Oak House (Coventry)" in [label.get_text(strip=True) for label in form.select("label")]
    refused = page(provider.post(f"/contracts/lots/{lot.id}/bid", data={"weekly_price": "7000", "places_offered": ""}))
    links = error_links(refused)
    assert links["#weekly_price"] == "Price per place per week must be no more than £6,000, the lot's maximum"
    assert links["#places_offered"] == "Enter the number of places you offer, 1 or more"
    assert links["#home_ids"] == "Select at least one of your homes"
    questions = tenders.questions_of(setup_session, lot)
    answers_form = {f"answer_{q.id}": f"Our answer to question {q.number}" for q in questions}
    response = provider.post(f"/contracts/lots/{lot.id}/bid", data={
        "weekly_price": "5,200", "places_offered": "2", "home_ids": [str(home.id)], **answers_form})
    assert response.status_code == 302
    bid = setup_session.scalars(select(Bid)).one()
    assert bid.weekly_price == 520000
    provider.post(f"/contracts/lots/{lot.id}/bid", data={
        "weekly_price": "4950.50", "places_offered": "2", "home_ids": [str(home.id)], **answers_form})
    setup_session.expire_all()
    assert setup_session.get(Bid, bid.id).weekly_price == 495050
    shown = page(provider.get(f"/contracts/bids/{bid.id}")).get_text()
    assert "£4,950.50" in shown

    # Sealed: the RCC cannot open it before the deadline, through any page.
    for url in (f"/contracts/bids/{bid.id}", f"/contracts/lots/{lot.id}/evaluation",
                f"/contracts/bids/{bid.id}/marks", f"/contracts/lots/{lot.id}/report"):
        assert commissioner.get(url).status_code == 404, url

    # Bids close: the provider can no longer change the bid.
    _close_bids(setup_session, tender.id)
    late = provider.post(f"/contracts/lots/{lot.id}/bid", data={
        "weekly_price": "4000", "places_offered": "2", "home_ids": [str(home.id)], **answers_form})
    assert late.status_code == 302
    setup_session.expire_all()
    assert setup_session.get(Bid, bid.id).weekly_price == 495050

    # The commissioner evaluates, moderates, decides and awards.
    assert commissioner.post(f"/contracts/tenders/{tender.id}/start-evaluation").status_code == 302
    marks = {f"mark_{q.id}": "4" for q in questions}
    assert commissioner.post(f"/contracts/bids/{bid.id}/marks", data=marks).status_code == 302
    refused = page(commissioner.post(f"/contracts/bids/{bid.id}/moderation", data=marks))
    assert f"#reason_{questions[0].id}" in error_links(refused)
    reasons = {f"reason_{q.id}": "Panel agreed" for q in questions}
    assert commissioner.post(f"/contracts/bids/{bid.id}/moderation", data={**marks, **reasons}).status_code == 302
    ranking = page(commissioner.get(f"/contracts/lots/{lot.id}/evaluation"))
    row = ranking.select("table")[0].select("tbody tr")[0]
    assert [td.get_text(strip=True) for td in row.select("td")][-1] == "92.00"  # 60.00 + 80 % of 40
    assert commissioner.post(f"/contracts/lots/{lot.id}/award", data={
        "bid_id": str(bid.id), "justification": "Only bid, good quality"}).status_code == 302
    assert commissioner.post(f"/contracts/tenders/{tender.id}/award").status_code == 302

    # The provider sees its result.
    result = page(provider.get(f"/contracts/tenders/{tender.id}")).get_text()
    assert "Your bid was successful" in result
    assert "Your score: 92.00 out of 100" in result


def test_a_council_cannot_bid_or_evaluate(world, signed_in_client):
    region, tender, lot, _home = world
    council = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert council.get(f"/contracts/tenders/{tender.id}").status_code == 200
    assert council.get(f"/contracts/lots/{lot.id}/bid").status_code == 403
    assert council.get(f"/contracts/lots/{lot.id}/evaluation").status_code == 403


def test_the_commissioner_creates_and_publishes_a_tender(app, setup_session, signed_in_client):
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    commissioner = signed_in_client(region.people[Role.RCC_COMMISSIONER])
    start = utcnow() + timedelta(days=5)
    refused = page(commissioner.post("/contracts/tenders/new", data={"reference": "", "title": ""}))
    assert {"#reference", "#title", "#clarification_closes_date", "#bids_close_date", "#contract_start"} <= \
        set(error_links(refused))
    response = commissioner.post("/contracts/tenders/new", data={
        "reference": "NW-9", "title": "Homes for teenagers", "description": "",
        "clarification_closes_date": start.strftime("%d/%m/%Y"), "clarification_closes_time": "17:00",
        "bids_close_date": (start + timedelta(days=14)).strftime("%d/%m/%Y"), "bids_close_time": "12:00",
        "contract_start": (start + timedelta(days=60)).strftime("%d/%m/%Y")})
    assert response.status_code == 302
    tender_url = response.headers["Location"]
    lot_form = {"title": "Lot 1", "placement_type": "childrens_home",
                "council_ids": [str(c.id) for c in region.councils], "needs": ["therapeutic_support"], "places": "3",
                "max_weekly_price": "5500", "term_months": "24", "extension_months": "12", "max_extensions": "1",
                "price_weight": "60", "question_1": "Safeguarding", "weight_1": "70", "question_2": "Education",
                "weight_2": "20"}
    refused = page(commissioner.post(f"{tender_url}/lots/new", data=lot_form))
    assert error_links(refused) == {"#question_1": "Quality question weights must add up to 100%; they add up to 90%"}
    assert commissioner.post(f"{tender_url}/lots/new", data={**lot_form, "weight_2": "30"}).status_code == 302
    assert commissioner.post(f"{tender_url}/publish").status_code == 302
    assert "Open for questions and bids" in page(commissioner.get(tender_url)).get_text()
