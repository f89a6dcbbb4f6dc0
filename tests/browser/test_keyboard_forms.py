"""The two longest forms, filled and sent with the keyboard alone (Tab, Shift+Tab, Space, Enter,
arrow keys and typing; no clicks), in a real browser: the council's referral form and the
provider's bid form.

Each is first sent empty: the error summary must take the focus, and each of its links must
move the focus to its field. Then the form is completed and sent, and the next page confirms it.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from commissioning.models import Child, Referral
from commissioning.vocabulary import PLACEMENT_TYPES, RISKS
from contracts.models import Bid
from contracts.services import tenders
from rcc.models import utcnow
from rcc.roles import Role
from tests.browser.helpers import (
    assert_error_summary_moves_focus_to_each_field,
    choose_option,
    press_and_wait,
    sign_in_without_pages,
    tick,
    type_into,
)
from tests.browser_support import assert_accessible
from tests.conftest import TEST_PASSWORD
from tests.contracts.helpers import make_home, published_tender
from tests.factories import make_region

pytestmark = pytest.mark.browser

SUBMIT = "main form button.govuk-button"


def test_a_council_officer_refers_a_child_with_the_keyboard_alone(setup_session, live_server, browser_page):
    page = browser_page
    region = make_region(setup_session, "K", ("Coventry", "Warwickshire"))
    setup_session.commit()
    sign_in_without_pages(page, live_server, region.people[Role.COUNCIL_PLACEMENT_OFFICER], TEST_PASSWORD)
    page.goto(f"{live_server.url}/referrals/new")
    assert page.get_by_role("heading", level=1).inner_text() == "Refer a child"

    # Sent empty: the error summary has the focus and each link takes the focus to its field.
    press_and_wait(page, f"{SUBMIT}:has-text('Save and check answers')")
    links = dict(assert_error_summary_moves_focus_to_each_field(page))
    assert links["#reference"] == "Enter your council's reference for the child"
    assert {"#birth_month", "#sex", "#legal_status", "#home_postcode", "#urgency", "#date_needed",
            "#foster_suitability", "#communication_needs", "#risk_self_harm"} <= set(links)
    assert_accessible(page, "keyboard/referral-errors")

    # Completed, field by field, in the page's tab order.
    needed = date.today() + timedelta(days=21)
    type_into(page, "#reference", "KB-REF-001")
    type_into(page, "#birth_month", "4")
    type_into(page, "#birth_year", "2012")
    tick(page, "#sex")
    legal_status = choose_option(page, "#legal_status")
    category = choose_option(page, "#category_of_need")
    tick(page, "#ehcp")
    type_into(page, "#home_postcode", "CV1 2AB")
    # Tab enters a radio group at the radio the browser chooses; the arrow keys then move the choice within it.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.name") == "placement_type":
            break
    else:
        raise AssertionError("the type of home never took the focus by pressing Tab")
    for _ in range(len(PLACEMENT_TYPES)):
        page.keyboard.press("ArrowDown")
        if page.evaluate("() => document.activeElement.value") == "childrens_home":
            break
    placement_type = page.evaluate("() => document.activeElement.value")
    assert page.is_checked(f"input[name=placement_type][value='{placement_type}']")
    tick(page, "#urgency")
    type_into(page, "#date_needed", needed.strftime("%d/%m/%Y"))
    # The Placements Data Standard's questions: foster care and residential care preferred, supported
    # accommodation unsuitable (the arrow keys move on within each group), then each risk "no known risk".
    tick(page, "#foster_suitability")
    tick(page, "#residential_suitability")
    tick(page, "#supported_accommodation_suitability")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.is_checked("input[name=supported_accommodation_suitability][value='unsuitable']")
    tick(page, "#communication_needs")
    page.keyboard.press("ArrowDown")
    assert page.is_checked("input[name=communication_needs][value='no']")
    for question in ("#home_adaptation", "#cultural_needs", "#living_companions", "#pets", "#education_continuity"):
        tick(page, question)
    for risk in RISKS:
        tick(page, f"#risk_{risk}")
    type_into(page, "#child_wishes", "I want to stay at my school.")
    press_and_wait(page, f"{SUBMIT}:has-text('Save and check answers')")

    assert page.get_by_role("heading", level=1).inner_text() == "Referral for KB-REF-001"
    assert "Referral saved as a draft" in page.locator(".govuk-notification-banner").inner_text()
    assert page.locator(".govuk-error-summary").count() == 0

    # And sent to the RCC from the check-your-answers page, still by keyboard.
    press_and_wait(page, f"{SUBMIT}:has-text('Submit referral')")
    assert "Referral submitted to the RCC" in page.locator(".govuk-notification-banner").inner_text()
    assert "Submitted" in page.locator("main .govuk-tag").first.inner_text()
    referral, child = setup_session.execute(select(Referral, Child).join(Child, Child.id == Referral.child_id)).one()
    assert (child.reference, child.legal_status, child.category_of_need, child.ehcp) == (
        "KB-REF-001", legal_status, category, True)
    assert (referral.status, referral.placement_type, referral.date_needed) == ("submitted", placement_type, needed)
    assert_accessible(page, "keyboard/referral-submitted")


def test_a_provider_bids_with_the_keyboard_alone(setup_session, live_server, browser_page):
    page = browser_page
    region = make_region(setup_session, "K", ("Coventry", "Warwickshire"))
    _tender, lot = published_tender(setup_session, region, now=utcnow())
    home = make_home(setup_session, region.provider, "Oak House")
    questions = tenders.questions_of(setup_session, lot)
    setup_session.commit()
    sign_in_without_pages(page, live_server, region.people[Role.PROVIDER_MANAGER], TEST_PASSWORD)
    page.goto(f"{live_server.url}/contracts/lots/{lot.id}/bid")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Bid for lot 1")

    press_and_wait(page, f"{SUBMIT}:has-text('Submit bid')")
    links = dict(assert_error_summary_moves_focus_to_each_field(page))
    assert links["#weekly_price"] == "Enter your price per place per week in pounds, more than £0"
    assert {"#places_offered", "#home_ids"} <= set(links)
    assert_accessible(page, "keyboard/bid-errors")

    type_into(page, "#weekly_price", "5,250.50")
    type_into(page, "#places_offered", "2")
    tick(page, "#home_ids")
    for question in questions:
        type_into(page, f"#answer_{question.id}", f"Our answer to question {question.number}, in full.")
    type_into(page, "#summary", "Two places at Oak House.")
    press_and_wait(page, f"{SUBMIT}:has-text('Submit bid')")

    assert page.get_by_role("heading", level=1).inner_text().startswith("Bid for lot 1")
    assert "Bid submitted" in page.locator(".govuk-notification-banner").inner_text()
    rows = {row.locator("dt").inner_text(): row.locator("dd").inner_text()
            for row in page.locator("main .govuk-summary-list__row").all()}
    assert rows["Price per place per week"] == "£5,250.50"
    assert rows["Places offered"] == "2"
    assert rows["Homes offered"] == home.name
    bid = setup_session.scalars(select(Bid)).one()
    assert (bid.weekly_price, bid.places_offered, bid.home_ids) == (525050, 2, [home.id])
    assert_accessible(page, "keyboard/bid-submitted")
