"""The public cost report in a real browser: no sign-in, and axe finds no WCAG 2.2 AA violation."""

from datetime import timedelta

import pytest

from cost_transparency.services import publications
from tests.browser_support import assert_accessible
from tests.cost_transparency.conftest import TODAY

pytestmark = pytest.mark.browser


def test_the_public_index_and_report_pass_axe_without_signing_in(session, region, costed, live_server,
                                                                 browser_page):
    draft = publications.create_draft(session, region.rcc, "Placement unit costs", TODAY - timedelta(days=364),
                                      TODAY, None, TODAY)
    publications.approve(session, draft, None)
    publications.publish(session, draft, None)
    session.commit()
    browser_page.goto(f"{live_server.url}/published-costs")
    assert_accessible(browser_page, "public-cost-reports")
    browser_page.get_by_role("link", name="Placement unit costs").click()
    assert browser_page.get_by_role("heading", level=1).inner_text() == "Placement unit costs"
    assert "/sign-in" not in browser_page.url
    assert_accessible(browser_page, "public-cost-report")
