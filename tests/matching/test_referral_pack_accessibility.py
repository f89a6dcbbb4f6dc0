"""The referral pack's pages with content and with errors, in a real browser: axe finds no WCAG 2.2 AA
violation (the every-page walk sees them only as the demo has them)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from matching.services import referral_packs
from matching.services.referral_packs import Answer
from rcc.db import transaction
from rcc.models import utcnow
from tests.browser_support import assert_accessible, sign_in_in_browser
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def test_pack_and_answer_pages_are_accessible(scenario, session_for, live_server, chromium):
    council = session_for(scenario.council_officer)
    referral = council.get(type(scenario.referrals[0]), scenario.referrals[0].id)
    with transaction(council):
        pack = referral_packs.create_pack(council, referral, utcnow() + timedelta(days=3))
        document = referral_packs.attach_document(council, pack, "care_plan_summary", "plan.pdf", b"%PDF-1.4 plan")
        made = referral_packs.release(council, pack, [scenario.homes[0].id], [document.id])
    provider_session = session_for(scenario.provider_manager)
    with transaction(provider_session):
        referral_packs.answer(provider_session, provider_session.get(type(made[0]), made[0].id),
                              Answer(False, reason="staffing", details="Two staff leaving"))

    for person, paths in ((scenario.council_officer, [f"/referral-packs/referral/{referral.id}"]),
                          (scenario.provider_manager, ["/referral-packs-for-your-homes/",
                                                       f"/referral-packs-for-your-homes/{made[0].id}"])):
        context = chromium.new_context(bypass_csp=True)
        page = context.new_page()
        sign_in_in_browser(page, live_server, person.email, TEST_PASSWORD, person.totp_secret)
        for path in paths:
            page.goto(live_server.url + path)
            assert_accessible(page, f"referral-pack-{path.strip('/').replace('/', '-')}")
        if person is scenario.provider_manager:
            page.get_by_label("Yes, it can meet the child's needs").check()
            page.get_by_role("button", name="Save answer").click()
            assert page.locator(".govuk-error-summary").count() == 1
            assert_accessible(page, "referral-pack-answer-errors")
        else:
            page.get_by_role("button", name="Attach document").click()
            assert page.locator(".govuk-error-summary").count() == 1
            assert_accessible(page, "referral-pack-attach-errors")
        context.close()
