"""A home rated Inadequate is excluded from matching unless the RCC records an override with a reason."""

from __future__ import annotations

from datetime import UTC, datetime

from bs4 import BeautifulSoup
from sqlalchemy import select

from commissioning.models import Home, Referral
from matching.engine import solve
from matching.models import Proposal
from matching.services.keys import home_key
from matching.services.snapshot import build_problem
from rcc.models import AuditEvent


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_an_inadequate_home_is_excluded_unless_the_rcc_overrides_it(signed_in_client, scenario, setup_session):
    elm, oak = scenario.homes
    setup_session.get(Home, elm.id).ofsted_rating = "inadequate"
    setup_session.get(Home, oak.id).ofsted_rating = "inadequate"
    setup_session.commit()
    officer = signed_in_client(scenario.officer)

    started = officer.post("/matching/runs/new", data={"scope": "all", "note": "Inadequate excluded"})
    assert started.status_code == 302
    assert setup_session.scalars(select(Proposal).where(Proposal.home_id.is_not(None))).all() == []
    unmatched = setup_session.scalars(select(Proposal).where(Proposal.home_id.is_(None))).all()
    first = next(p for p in unmatched if p.referral_id == scenario.referrals[0].id)
    assert {step["rule"]: step["removed"] for step in first.funnel}["inadequate"] == 2

    page = _soup(officer.get(f"/supply/homes/{elm.id}"))
    assert "Not proposed by matching while rated Inadequate" in page.select_one("#inadequate-override").get_text()
    refused = officer.post(f"/supply/homes/{elm.id}/inadequate-override", data={"allow": "yes", "reason": " "})
    assert refused.status_code == 400
    assert "Say why matching may propose this home" in _soup(refused).select_one(".govuk-error-summary").get_text()
    saved = officer.post(f"/supply/homes/{elm.id}/inadequate-override",
                         data={"allow": "yes", "reason": "Staffing finding fixed; re-inspection booked"})
    assert saved.status_code == 302
    setup_session.expire_all()
    assert setup_session.get(Home, elm.id).inadequate_override_reason == "Staffing finding fixed; re-inspection booked"
    event = setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "home.inadequate_override_set")).one()
    assert event.user_id == scenario.officer.id

    referrals = list(setup_session.scalars(select(Referral).order_by(Referral.id)))
    problem = build_problem(setup_session, referrals, datetime.now(UTC))
    homes = {h.id: h for h in problem.homes}
    assert homes[home_key(elm.id)].allow_inadequate and not homes[home_key(oak.id)].allow_inadequate
    assert home_key(elm.id) in solve(problem).proposals().values()
    assert home_key(oak.id) not in solve(problem).proposals().values()

    cleared = officer.post(f"/supply/homes/{elm.id}/inadequate-override", data={"allow": "no", "reason": ""})
    assert cleared.status_code == 302
    setup_session.expire_all()
    assert setup_session.get(Home, elm.id).inadequate_override_reason is None


def test_only_the_rcc_may_override(signed_in_client, scenario):
    home = scenario.homes[0]
    for person in (scenario.provider_manager, scenario.council_officer):
        client = signed_in_client(person)
        assert client.get(f"/supply/homes/{home.id}/inadequate-override").status_code == 403
        response = client.post(f"/supply/homes/{home.id}/inadequate-override", data={"allow": "yes", "reason": "x"})
        assert response.status_code == 403
