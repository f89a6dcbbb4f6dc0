"""Acceptance 3 of issue 18, in a real browser: the RCC admin adds a council and a provider, their
admins accept the invitations emailed to them (the link taken from the outbox), choose passwords and
set up their authenticator apps, invite a colleague, and the provider answers an offer. Each page is
checked by axe on the way (tests/browser/helpers.Journey), the public ones included."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from commissioning.models import ProviderJoinRequest
from matching.models import Offer
from matching.services import offers as offer_service
from rcc.models import Organisation
from rcc.roles import Role
from tests.browser.helpers import Journey, sign_in
from tests.concurrency import world
from tests.conftest import TEST_PASSWORD
from tests.factories import make_region
from tests.matching import builders
from tests.rcc.outbox import emails_to, link_sent_to
from tests.totp import fresh_code

pytestmark = pytest.mark.browser

URN = "1155775"  # a Cambian Childcare Limited children's home (Ofsted 2022)


@pytest.fixture
def browser_page(browser_page):  # type: ignore[no-untyped-def]
    browser_page.set_default_timeout(10_000)
    return browser_page


def _h1(page: Page) -> str:
    page.wait_for_load_state()
    return page.get_by_role("heading", level=1).inner_text().strip()


def _accept_invitation(page: Page, server, path: str, journey: Journey, step: str) -> str:  # type: ignore[no-untyped-def]
    """Open the emailed link, choose a password and set up the authenticator; gives its key."""
    page.context.clear_cookies()
    page.goto(server.url + path)
    assert _h1(page) == "Create your account"
    journey.page(page, f"{step}-accept-invitation")
    secret = page.locator("#authenticator-key").inner_text().replace(" ", "")
    page.get_by_label("Choose a password").fill("a-good-long-password")
    page.get_by_label("Security code").fill(fresh_code(secret))
    page.get_by_role("button", name="Create account").click()
    assert _h1(page) == "Sign in"
    return secret


def _sign_in_as(page: Page, server, email: str, secret: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    page.goto(f"{server.url}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill("a-good-long-password")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Security code").fill(fresh_code(secret))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/")


def _invite_colleague(page: Page, journey: Journey, step: str, name: str, email: str, role_label: str) -> None:
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="People", exact=True).click()
    journey.page(page, f"{step}-people")
    page.get_by_role("button", name="Invite someone").click()
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email address").fill(email)
    page.get_by_label(role_label).check()
    page.get_by_role("button", name="Create invitation link").click()
    assert _h1(page) == "Invitation sent"
    journey.page(page, f"{step}-colleague-invited")


def test_an_rcc_onboards_a_council_and_a_provider_whose_admins_invite_colleagues_and_answer_an_offer(
        app, setup_session, live_server, browser_page):
    region = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    page, journey = browser_page, Journey("onboarding-a-region")

    # The RCC admin adds a member council and invites its first admin.
    sign_in(page, live_server, region.people[Role.RCC_ADMIN], TEST_PASSWORD)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Organisations", exact=True).click()
    assert _h1(page) == "Organisations in A RCC"
    journey.page(page, "organisations")
    page.get_by_role("button", name="Add a member council").click()
    page.get_by_label("Council name").fill("Solihull")
    page.get_by_label("ONS code").fill("E08000029")
    page.get_by_label("DfE code").fill("33")
    page.get_by_role("button", name="Add council").click()
    assert "The DfE code must be 3 digits" in page.locator(".govuk-error-summary").inner_text()
    journey.page(page, "add-council-error")
    page.get_by_label("DfE code").fill("334")
    page.get_by_role("button", name="Add council").click()
    assert _h1(page) == "Invite the first admin of Solihull"
    journey.page(page, "invite-council-admin")
    page.get_by_label("Their full name").fill("Sol Admin")
    page.get_by_label("Their email address").fill("sol.admin@example.org")
    page.get_by_role("button", name="Send invitation").click()
    assert "Invitation sent to sol.admin@example.org" in page.locator("main").inner_text()

    # ... and a provider from the Ofsted register, found by URN, and its first manager.
    page.get_by_role("button", name="Add a provider").click()
    page.get_by_label("Ofsted URN or name").fill(URN)
    page.get_by_role("button", name="Search the register").click()
    journey.page(page, "add-provider-search")
    page.get_by_role("button", name="Add Cambian Childcare Limited").click()
    assert _h1(page) == "Invite the first admin of Cambian Childcare Limited"
    page.get_by_label("Their full name").fill("Cam Manager")
    page.get_by_label("Their email address").fill("cam.manager@example.org")
    page.get_by_role("button", name="Send invitation").click()
    journey.page(page, "organisations-after")
    assert "/invite/" not in page.content(), "invitations are emailed, never shown"

    # The council's admin accepts (the link from the outbox), signs in and invites a colleague.
    secret = _accept_invitation(page, live_server, link_sent_to(setup_session, "sol.admin@example.org", "invitation"),
                                journey, "council")
    _sign_in_as(page, live_server, "sol.admin@example.org", secret)
    _invite_colleague(page, journey, "council", "Sol Officer", "sol.officer@example.org", "Council placement officer")
    assert len(emails_to(setup_session, "sol.officer@example.org", "invitation")) == 1

    # The provider's manager does the same.
    secret = _accept_invitation(page, live_server, link_sent_to(setup_session, "cam.manager@example.org", "invitation"),
                                journey, "provider")
    _sign_in_as(page, live_server, "cam.manager@example.org", secret)
    _invite_colleague(page, journey, "provider", "Cam Deputy", "cam.deputy@example.org", "Provider manager")
    assert len(emails_to(setup_session, "cam.deputy@example.org", "invitation")) == 1

    # Arranged outside the pages (matching has its own journeys): a child offered to the provider's home.
    setup_session.expire_all()
    provider = setup_session.scalars(select(Organisation).where(Organisation.name == "Cambian Childcare Limited")).one()
    offer = offer_service.make_offer(setup_session, builders.add_referral(setup_session, region.councils[0]),
                                     world.home(setup_session, provider))
    setup_session.commit()
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Offers", exact=True).click()
    page.get_by_role("link", name=f"Offer {offer.id}", exact=True).click()
    journey.page(page, "provider-offer")
    page.get_by_role("button", name="Accept offer").click()
    page.wait_for_load_state()
    setup_session.expire_all()
    assert setup_session.get(Offer, offer.id).status == "accepted"
    setup_session.commit()

    # The manager's own account: change password, then a new authenticator app.
    page.goto(f"{live_server.url}/account")
    journey.page(page, "your-account")
    page.get_by_role("link", name="Change your password").click()
    journey.page(page, "change-password")
    page.get_by_label("Current password").fill("a-good-long-password")
    page.get_by_label("New password").fill("another-good-long-password")
    page.get_by_role("button", name="Change password").click()
    assert "Your password has been changed" in page.locator("main").inner_text()
    page.get_by_role("link", name="Set up a new authenticator app").click()
    assert _h1(page) == "Set up a new authenticator app"
    journey.page(page, "new-authenticator")


def test_the_public_onboarding_pages_have_no_accessibility_violations(app, setup_session, live_server, browser_page):
    region = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    page, journey = browser_page, Journey("onboarding-public-pages")
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    page.goto(f"{live_server.url}/sign-in")
    page.get_by_role("link", name="Forgotten your password?").click()
    journey.page(page, "forgot-password")
    page.get_by_label("Email address").fill(officer.email)
    page.get_by_role("button", name="Send reset link").click()
    assert _h1(page) == "Check your email"
    journey.page(page, "reset-sent")
    page.goto(live_server.url + link_sent_to(setup_session, officer.email, "password_reset"))
    assert _h1(page) == "Choose a new password"
    journey.page(page, "reset-password")
    page.goto(f"{live_server.url}/join?rcc={region.rcc.id}")
    journey.page(page, "ask-to-join")
    page.get_by_label("Ofsted URN of one of your settings").fill(URN)
    page.get_by_label("Your full name").fill("Asha Requester")
    page.get_by_label("Your work email address").fill("asha@example.org")
    page.get_by_role("button", name="Send request").click()
    assert _h1(page) == "Request sent"
    journey.page(page, "join-sent")
    assert len(setup_session.scalars(select(ProviderJoinRequest.id)).all()) == 1
    setup_session.commit()
    assert len(emails_to(setup_session, region.people[Role.RCC_ADMIN].email, "join_request_received")) == 1
