"""Whole journeys through the pages in a real browser (Playwright driving Debian's Chromium), as
the people who do them. Each page of a journey is checked by axe (WCAG 2.2 AA) and saved as
tests/artifacts/<journey>/NN-step.png, so a reviewer can read the journey as a strip of screens.

The people sign in through the real sign-in pages. Only test arrangement happens outside the
pages, and each test says where.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from commissioning.models import Placement, Referral
from commissioning.vocabulary import RISKS
from matching.models import Offer
from rcc import users
from rcc.demo import DEMO_PASSWORD, DemoRegion
from rcc.models import Organisation, User, utcnow
from rcc.roles import Role
from tests.browser.helpers import Journey, sign_in
from tests.browser_support import ARTIFACTS
from tests.conftest import TEST_PASSWORD
from tests.contracts.helpers import make_home
from tests.factories import make_region

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page(browser_page):  # type: ignore[no-untyped-def]
    """A missing element fails in seconds, not the default 30."""
    browser_page.set_default_timeout(10_000)
    return browser_page


@pytest.fixture
def demo(demo_region) -> DemoRegion:
    return demo_region


def _person(region: DemoRegion, role: Role) -> User:
    return next(p for p in region.people if role.value in p.roles)


def _menu(page: Page, label: str) -> None:
    page.get_by_role("navigation", name="Menu").get_by_role("link", name=label, exact=True).click()


def _h1(page: Page) -> str:
    page.wait_for_load_state()  # a click that navigates returns before the new page has loaded
    return page.get_by_role("heading", level=1).inner_text().strip()


def _banner(page: Page) -> str:
    page.wait_for_load_state()
    return page.locator(".govuk-notification-banner").inner_text()


def _no_errors(page: Page) -> None:
    page.wait_for_load_state()
    summary = page.locator(".govuk-error-summary")
    assert summary.count() == 0, summary.inner_text()


def _summary_rows(page: Page) -> dict[str, str]:
    return {row.locator("dt").inner_text().strip(): row.locator("dd").first.inner_text().strip()
            for row in page.locator("main .govuk-summary-list__row").all()}


# a. A sibling group: referred, matched, offered, accepted, approved ----------------------

def _refer_child(page: Page, reference: str, birth_month: str, sex: str, needed: date) -> None:
    page.get_by_label("Your reference for the child").fill(reference)
    page.get_by_label("Month of birth").fill(birth_month)
    page.get_by_label("Year of birth").fill("2012")
    page.get_by_role("group", name="Sex").get_by_label(sex, exact=True).check()
    page.get_by_label("Legal status").select_option("C2")
    page.get_by_label("Category of need").select_option("N1")
    page.get_by_label("Home postcode").fill("WN1 2AB")
    page.get_by_label("Children's home", exact=True).check()
    page.get_by_label("Planned", exact=True).check()
    page.get_by_label("Date needed").fill(needed.strftime("%d/%m/%Y"))
    # The Placements Data Standard's questions: residential care preferred, no known risks.
    answers = {"foster_suitability": "unsuitable", "residential_suitability": "preferred",
               "supported_accommodation_suitability": "unsuitable", "communication_needs": "no",
               "home_adaptation": "no", "cultural_needs": "not_required", "living_companions": "no_preference",
               "pets": "can", "education_continuity": "yes", **{f"risk_{key}": "no_known_risk" for key in RISKS}}
    for name, value in answers.items():
        page.check(f"input[name={name}][value={value}]")
    page.get_by_role("button", name="Save and check answers").click()


def _provider_manager(session, provider_id: int) -> User:
    """The demo has one provider manager; the engine may choose another provider's home, whose
    manager is then made here (arrangement, not part of the journey)."""
    managers = [u for u in session.scalars(select(User).where(User.organisation_id == provider_id))
                if Role.PROVIDER_MANAGER.value in u.roles]
    if managers:
        return managers[0]
    provider = session.get(Organisation, provider_id)
    manager = users.create_user(session, provider, f"manager-{provider_id}@provider.example.org", "Sam Provider",
                                [Role.PROVIDER_MANAGER], password=DEMO_PASSWORD, with_two_factor=False)
    session.commit()
    return manager


def test_a_sibling_group_is_referred_matched_offered_accepted_and_placed(demo, setup_session, live_server,
                                                                         browser_page):
    page, journey = browser_page, Journey("sibling-group-placement")
    council_officer = _person(demo, Role.COUNCIL_PLACEMENT_OFFICER)
    needed = date.today() + timedelta(days=14)

    # The council makes the group and refers both children through the pages.
    sign_in(page, live_server, council_officer, DEMO_PASSWORD)
    _menu(page, "Sibling groups")
    page.get_by_role("link", name="Create a sibling group").click()
    journey.page(page, "create-sibling-group")
    page.get_by_label("Name for the group").fill("Family J")
    page.check("input[name=plan][value=together]")
    page.get_by_role("button", name="Save sibling group").click()
    assert _h1(page) == "Sibling group: Family J"
    assert "Sibling group created" in _banner(page)
    journey.page(page, "sibling-group")
    for reference, month, sex in (("SIB-J-1", "3", "Female"), ("SIB-J-2", "9", "Male")):
        page.get_by_role("link", name="Refer a child in this group").click()
        assert page.get_by_label("Sibling group").input_value() != ""
        _refer_child(page, reference, month, sex, needed)
        _no_errors(page)
        assert _h1(page).startswith(f"Referral for {reference}")
        assert "Referral saved as a draft" in _banner(page)
        journey.page(page, f"referral-{reference}")
        page.get_by_role("link", name="Family J").first.click()
    assert _h1(page) == "Sibling group: Family J"
    expect(page.get_by_role("table").get_by_role("link", name="SIB-J-1")).to_have_count(1)
    page.get_by_role("button", name="Submit all draft referrals in this group").click()
    assert "2 referrals submitted to the RCC" in _banner(page)
    assert page.locator("main table .govuk-tag").all_inner_texts() == ["Submitted", "Submitted"]
    journey.page(page, "group-submitted")

    # The RCC runs matching for the two children and accepts both proposals.
    sign_in(page, live_server, _person(demo, Role.RCC_PLACEMENT_OFFICER), DEMO_PASSWORD)
    _menu(page, "Matching")
    page.get_by_role("button", name="Start a matching run").click()
    assert _h1(page) == "Start a matching run"
    page.get_by_label("Only the referrals I choose").check()
    for reference in ("SIB-J-1", "SIB-J-2"):
        page.get_by_label(re.compile(rf"{reference} – ")).check()
    page.get_by_label("Note").fill("Family J")
    journey.page(page, "start-run")
    page.get_by_role("button", name="Start run").click()
    assert _h1(page).startswith("Matching run")
    proposals = page.locator("#proposals tbody tr")
    expect(proposals).to_have_count(2)
    homes = proposals.locator("td:nth-child(4)").all_inner_texts()
    assert "No suitable home" not in homes and homes[0] == homes[1], f"kept together: {homes}"
    journey.page(page, "run-result")
    run_url = page.url
    # Accepting one sibling's proposal sends one group offer for both: the provider answers it whole.
    page.get_by_role("link", name="SIB-J-1", exact=True).click()
    expect(page.locator("#score-parts")).to_have_count(1)
    journey.page(page, "proposal-SIB-J-1")
    page.get_by_role("button", name="Accept and send offer").click()
    page.wait_for_load_state()
    assert "Offer sent to the provider" in page.locator(".govuk-notification-banner").first.inner_text()
    page.goto(run_url)
    assert proposals.locator("td:nth-child(7) .govuk-tag").all_inner_texts() == ["Awaiting provider"] * 2
    journey.page(page, "offers-sent")

    # The provider of the home accepts the group's offer: both children at once.
    offers = setup_session.scalars(select(Offer).order_by(Offer.id)).all()
    assert len(offers) == 2 and offers[0].group_offer_id is not None
    assert offers[0].group_offer_id == offers[1].group_offer_id
    manager = _provider_manager(setup_session, offers[0].provider_id)
    sign_in(page, live_server, manager, DEMO_PASSWORD)
    _menu(page, "Offers")
    page.get_by_role("link", name=f"Offer {offers[0].id}", exact=True).click()
    assert _h1(page) == f"Offer {offers[0].id}"
    assert "SIB-J" not in page.locator("main").inner_text(), "a provider never sees the council's reference"
    journey.page(page, f"provider-offer-{offers[0].id}")
    page.get_by_role("button", name="Accept all 2 children").click()
    page.wait_for_load_state()
    assert "accepted" in page.locator(".govuk-notification-banner").first.inner_text()
    _menu(page, "Offers")
    journey.page(page, "provider-offers-accepted")

    # The council approves both homes: the placements are recorded.
    sign_in(page, live_server, council_officer, DEMO_PASSWORD)
    _menu(page, "Proposals to approve")
    start = date.today() + timedelta(days=14)
    for reference in ("SIB-J-1", "SIB-J-2"):
        page.get_by_role("link", name=reference, exact=True).click()
        journey.page(page, f"approve-{reference}")
        page.get_by_label("Day").fill(str(start.day))
        page.get_by_label("Month").fill(str(start.month))
        page.get_by_label("Year").fill(str(start.year))
        page.get_by_label("Weekly cost in pounds").fill("5,100")
        page.get_by_role("button", name="Approve and record the placement").click()
        _no_errors(page)
        assert f"Approved. The placement starts on {start:%-d %B %Y}" in _banner(page)
        _menu(page, "Proposals to approve")
    _menu(page, "Sibling groups")
    page.get_by_role("link", name="Family J").click()
    assert page.locator("main table .govuk-tag").all_inner_texts() == ["Placed", "Placed"]
    journey.page(page, "group-placed")

    placements = setup_session.scalars(select(Placement).join(Referral, Referral.id == Placement.referral_id)
                                       .where(Referral.sibling_group_id.is_not(None))).all()
    assert len(placements) == 2 and {p.weekly_cost for p in placements} == {510_000}
    assert len({p.home_id for p in placements}) == 1


# b. A tender: published, bid for, evaluated, awarded, result seen -------------------------

class ContractsClock:
    """The contracts pages' clock. A tender's bids stay sealed until its deadline, which the pages
    refuse to set in the past; rather than wait days, the test moves the clock the contracts
    pages read (contracts.views.utcnow; the services take ``now`` from the views)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture
def contracts_clock(monkeypatch) -> Iterator[ContractsClock]:
    clock = ContractsClock()
    monkeypatch.setattr("contracts.views.utcnow", clock.now)
    yield clock


def test_a_tender_is_published_bid_for_evaluated_and_awarded(setup_session, live_server, browser_page,
                                                            contracts_clock):
    """Test-only shortcut: the contracts pages' clock is moved forward 15 days once the bid is in
    (see ContractsClock); everything else is done through the pages. The region, the provider's
    home and the people are arranged with tests/factories.py."""
    page, journey = browser_page, Journey("tender")
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    home = make_home(setup_session, region.provider, "Oak House")
    setup_session.commit()
    today = date.today()

    # The commissioner drafts the tender and its lot, then publishes it.
    sign_in(page, live_server, region.people[Role.RCC_COMMISSIONER], TEST_PASSWORD)
    _menu(page, "Tenders")
    page.get_by_role("link", name="Create a tender").click()
    assert _h1(page) == "Create a tender"
    page.get_by_label("Reference").fill("CW-2027-01")
    page.get_by_label("Title").fill("Children's homes near Coventry")
    page.get_by_label("Description").fill("Block places for children with complex needs, close to home.")
    page.get_by_label("Date questions close").fill((today + timedelta(days=7)).strftime("%d/%m/%Y"))
    page.get_by_label("Time questions close").fill("17:00")
    page.get_by_label("Date bids close").fill((today + timedelta(days=15)).strftime("%d/%m/%Y"))  # the RCC's minimum: 14 days
    page.get_by_label("Time bids close").fill("00:30")  # at least 14 days on, and past by the clock's 15 days
    page.get_by_label("Date contracts start").fill((today + timedelta(days=60)).strftime("%d/%m/%Y"))
    journey.page(page, "create-tender")
    page.get_by_role("button", name="Save draft").click()
    _no_errors(page)
    assert _h1(page) == "Children's homes near Coventry"
    assert "saved as a draft" in _banner(page)
    assert page.locator("main .govuk-tag").first.inner_text() == "Draft"
    page.get_by_role("link", name="Add a lot").click()
    page.get_by_label("Lot title").fill("Coventry and Warwickshire")
    page.get_by_label("Placement type").select_option("childrens_home")
    for council in ("Coventry", "Warwickshire"):
        page.get_by_role("group", name="Councils the lot covers").get_by_label(council, exact=True).check()
    page.get_by_label("Number of places").fill("4")
    page.get_by_label("Maximum price per place per week").fill("6000")
    page.get_by_label("Contract term in months").fill("24")
    page.get_by_label("Price weighting").fill("60")
    page.get_by_label("Question 1", exact=True).fill("How will you keep children safe?")
    page.get_by_label("Weight of question 1").fill("60")
    page.get_by_label("Question 2", exact=True).fill("How will you support education?")
    page.get_by_label("Weight of question 2").fill("40")
    journey.page(page, "add-lot")
    page.get_by_role("button", name="Add lot").click()
    _no_errors(page)
    assert "Lot 1 added" in _banner(page)
    page.get_by_role("button", name="Publish tender").click()
    assert "Tender published" in _banner(page)
    assert page.locator("main .govuk-tag").first.inner_text() == "Open for questions and bids"
    journey.page(page, "tender-published")

    # The provider finds it and bids.
    sign_in(page, live_server, region.people[Role.PROVIDER_MANAGER], TEST_PASSWORD)
    _menu(page, "Tenders")
    page.get_by_role("link", name="Children's homes near Coventry").click()
    journey.page(page, "provider-sees-tender")
    page.get_by_role("link", name="Bid for lot 1").click()
    page.get_by_label("Price per place per week").fill("5,200")
    page.get_by_label("Places offered").fill("2")
    page.get_by_label(re.compile(r"Oak House")).check()
    page.get_by_label(re.compile(r"1\. How will you keep children safe")).fill("Trained staff, safer recruitment.")
    page.get_by_label(re.compile(r"2\. How will you support education")).fill("A virtual school link worker.")
    journey.page(page, "bid-form")
    page.get_by_role("button", name="Submit bid").click()
    _no_errors(page)
    assert "Bid submitted" in _banner(page)
    assert _summary_rows(page)["Price per place per week"] == "£5,200"
    journey.page(page, "bid-submitted")

    # Bids close (the clock moves on: see the docstring); the commissioner evaluates.
    contracts_clock.offset = timedelta(days=15)
    sign_in(page, live_server, region.people[Role.RCC_COMMISSIONER], TEST_PASSWORD)
    _menu(page, "Tenders")
    page.get_by_role("link", name="Children's homes near Coventry").click()
    assert page.locator("main .govuk-tag").first.inner_text() == "Bids closed"
    page.get_by_role("button", name="Start evaluation").click()
    assert "Evaluation started" in _banner(page)
    page.get_by_role("link", name="Evaluate lot 1").click()
    assert _h1(page).startswith("Evaluate lot 1")
    journey.page(page, "evaluation")
    page.get_by_role("link", name=re.compile("Enter your marks")).click()
    for number in (1, 2):
        page.get_by_role("group", name=f"Your mark for question {number}").get_by_label(re.compile(r"\b4: ")).check()
    journey.page(page, "marks")
    page.get_by_role("button", name="Save your marks").click()
    assert "Your marks are saved" in _banner(page)
    page.get_by_role("link", name=re.compile("Moderate")).click()
    for number in (1, 2):
        page.get_by_role("group", name=f"Agreed mark for question {number}").get_by_label(re.compile(r"\b4: ")).check()
    page.get_by_role("button", name="Save agreed marks").click()
    errors = page.locator(".govuk-error-summary")
    assert "Enter the reason for the agreed mark for question 1" in errors.inner_text()
    journey.page(page, "moderation-errors")
    for number in (1, 2):
        page.get_by_label(f"Reason for the agreed mark for question {number}").fill("The panel agreed.")
    page.get_by_role("button", name="Save agreed marks").click()
    assert "Agreed marks saved" in _banner(page)
    ranking = page.locator("main table").first.locator("tbody tr").first
    assert ranking.locator("td").last.inner_text().strip() == "92.00"  # price 60 + 4/5 of quality 40
    journey.page(page, "ranked")
    page.get_by_role("link", name="Decide the award").click()
    page.get_by_label("Justification for the decision").fill("Highest score, good safeguarding.")
    page.get_by_role("button", name="Record award decision").click()
    assert "Award decision for lot 1 recorded" in _banner(page)
    page.get_by_role("button", name="Award tender").click()
    assert "Tender awarded" in _banner(page)
    assert page.locator("main .govuk-tag").first.inner_text() == "Awarded: standstill"
    journey.page(page, "awarded")

    # The provider sees its result.
    sign_in(page, live_server, region.people[Role.PROVIDER_MANAGER], TEST_PASSWORD)
    _menu(page, "Tenders")
    page.get_by_role("link", name="Children's homes near Coventry").click()
    result = page.get_by_role("heading", name=re.compile("^Result"))
    assert result.locator(".govuk-tag").inner_text() == "Successful"
    assert "Your score: 92.00 out of 100" in page.locator("main").inner_text()
    journey.page(page, "provider-result")
    page.get_by_role("link", name=re.compile("View your bid")).click()
    assert page.get_by_role("heading", name=re.compile("^Result")).locator(".govuk-tag").inner_text() == "Successful"
    journey.page(page, "provider-bid-result")
    assert home.name in _summary_rows(page)["Homes offered"]


# c. Costs: compared by a council, published by the RCC, read by anyone ------------------

def test_costs_are_compared_published_and_read_by_the_public(demo, live_server, browser_page):
    page, journey = browser_page, Journey("cost-report")
    finance_lead = _person(demo, Role.COUNCIL_FINANCE_LEAD)
    council = demo.councils[0]

    sign_in(page, live_server, finance_lead, DEMO_PASSWORD)
    _menu(page, "Costs")
    assert _h1(page) == "Costs"
    comparison = page.get_by_role("table", name=re.compile(f"Weekly cost by placement type: {council.name} and the region"))
    rows = comparison.locator("tbody tr")
    assert rows.count() >= 1
    assert re.search(r"£[\d,]+", rows.first.inner_text())
    journey.page(page, "council-compares-costs")

    sign_in(page, live_server, _person(demo, Role.RCC_COMMISSIONER), DEMO_PASSWORD)
    _menu(page, "Publications")
    page.get_by_role("link", name="Make a draft report").click()
    assert _h1(page) == "Make a draft report"
    page.get_by_label("Title").fill("Placement unit costs for the journey")
    journey.page(page, "new-draft")
    page.get_by_role("button", name="Make draft").click()
    _no_errors(page)
    assert "Draft made from the current data" in _banner(page)
    assert _h1(page).startswith("Placement unit costs for the journey")
    journey.page(page, "draft")
    page.get_by_role("button", name="Approve this version").click()
    assert "Version approved" in _banner(page)
    page.get_by_role("button", name="Publish this version").click()
    assert "Published: anyone can now read this version" in _banner(page)
    assert "Published" in page.get_by_role("heading", level=1).locator(".govuk-tag").inner_text()
    journey.page(page, "published")

    # Anyone, without signing in.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/published-costs")
    assert "/sign-in" not in page.url
    assert _h1(page) == "Published placement cost reports"
    journey.page(page, "public-index")
    page.get_by_role("link", name="Placement unit costs for the journey").click()
    assert _h1(page) == "Placement unit costs for the journey"
    assert page.locator("main table").count() >= 1
    journey.page(page, "public-report")
    pdf_link = page.get_by_role("link", name="Full report (PDF)")
    # WeasyPrint renders the whole report: seconds on a busy machine, so more than the page's 10 s.
    with page.expect_response(lambda r: r.url.endswith("/report.pdf"), timeout=60_000) as opened:
        pdf_link.click(timeout=60_000)
    assert opened.value.status == 200
    assert opened.value.headers["content-type"] == "application/pdf"
    # The same link fetched with this (signed-out) browser's cookie jar: a real PDF.
    fetched = page.context.request.get(opened.value.url)
    assert fetched.body().startswith(b"%PDF")
    (ARTIFACTS / journey.name / f"{journey.count + 1:02d}-public-report.pdf").write_bytes(fetched.body())
