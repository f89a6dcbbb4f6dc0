"""Signing in in a real browser reaches the home page, and both pass axe at WCAG 2.2 AA."""

import pytest

from rcc.roles import Role
from tests.browser_support import assert_accessible, sign_in_in_browser
from tests.conftest import TEST_PASSWORD
from tests.factories import make_region

pytestmark = pytest.mark.browser


def test_sign_in_and_home_page_in_a_real_browser_have_no_accessibility_violations(
        setup_session, live_server, browser_page):
    region = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    browser_page.goto(f"{live_server.url}/sign-in")
    assert_accessible(browser_page, "sign-in")

    sign_in_in_browser(browser_page, live_server, officer.email, TEST_PASSWORD, officer.totp_secret)
    assert browser_page.get_by_role("heading", level=1).inner_text() == "Council placement officer"
    assert "Coventry" in browser_page.inner_text("header")
    assert_accessible(browser_page, "council-home")


def test_error_summary_is_accessible_and_focusable(setup_session, live_server, browser_page):
    make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    browser_page.goto(f"{live_server.url}/sign-in")
    browser_page.get_by_role("button", name="Continue").click()
    summary = browser_page.locator(".govuk-error-summary")
    assert "Enter your email address" in summary.inner_text()
    assert_accessible(browser_page, "sign-in-errors")
