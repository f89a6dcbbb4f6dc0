"""The run page with a real-sized run: 183 proposals, grouped (to review / no home / decided), paged
50 at a time, "accept every first choice that conflicts with nothing" in one step, and on to the
next proposal after each decision."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from commissioning.lifecycle import IN_MATCHING
from matching.models import ACCEPTED, DONE, LEFT_UNMATCHED, NO_HOME, PROPOSED, MatchingRun, Offer, Proposal
from matching.services import review
from matching.services.keys import child_key
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.models import AuditEvent
from tests.matching import builders


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


@pytest.fixture
def big_run(setup_session, scenario):
    """183 children: 60 with no home, 20 decided, 103 to review, of which 95 are first choices that
    conflict with nothing (the rest: 2 second choices, 2 sisters, 2 wanting a home with 1 place, and
    a first and a second choice wanting another home with 1 place)."""
    region = scenario.region
    council = region.councils[0]
    roomy = builders.add_home(setup_session, region.provider, "Roomy House", places_free=200)
    small = builders.add_home(setup_session, region.provider, "Small House", places_free=1)
    tiny = builders.add_home(setup_session, region.provider, "Tiny House", places_free=1)
    sisters = builders.add_sibling_group(setup_session, council, "Sisters")
    run = MatchingRun(rcc_id=region.rcc.id, organisation_id=region.rcc.id, stage=DONE,
                      problem={"children": [], "homes": []}, result={"assignments": [], "unmatched": []})
    setup_session.add(run)
    setup_session.flush()
    plan: list[tuple[str, int | None, int | None, bool]] = (  # status, home, rank, sister
        [(NO_HOME, None, None, False)] * 60 + [(LEFT_UNMATCHED, None, None, False)] * 20
        + [(PROPOSED, roomy.id, 1, False)] * 95 + [(PROPOSED, roomy.id, 2, False)] * 2
        + [(PROPOSED, roomy.id, 1, True)] * 2 + [(PROPOSED, small.id, 1, False)] * 2
        + [(PROPOSED, tiny.id, 1, False), (PROPOSED, tiny.id, 2, False)])
    assert len(plan) == 183
    expected = []
    for n, (status, home_id, rank, sister) in enumerate(plan):
        referral = builders.add_referral(setup_session, council, f"BIG-{n:03}", status=IN_MATCHING,
                                         sibling_group=sisters if sister else None)
        proposal = Proposal(rcc_id=region.rcc.id, council_id=council.id, run_id=run.id, referral_id=referral.id,
                            child_key=child_key(referral.id), home_id=home_id, rank=rank,
                            score=100 if home_id else None, candidates=3 if home_id else None,
                            parts={"block_place_used": False} if home_id else None, status=status,
                            decision_reason="Not this time" if status == LEFT_UNMATCHED else None)
        setup_session.add(proposal)
        setup_session.flush()
        if status == PROPOSED and home_id == roomy.id and rank == 1 and not sister:
            expected.append(proposal.id)
    setup_session.commit()
    return run, expected


def test_a_run_of_183_shows_one_page_of_50_and_its_groups(signed_in_client, scenario, big_run):
    run, _expected = big_run
    client = signed_in_client(scenario.officer)
    page = _soup(client.get(f"/matching/runs/{run.id}"))
    assert len(page.select("#proposals tbody tr")) == 50
    assert "Page 1 of 4 (183 in all)" in page.select_one(".govuk-pagination").get_text(" ", strip=True)
    groups = page.select_one("#proposal-groups").get_text(" ", strip=True)
    for label in ("To review (103)", "No home found (60)", "Decided (20)", "All (183)"):
        assert label in groups

    last = _soup(client.get(f"/matching/runs/{run.id}?show=all&page=4"))
    assert len(last.select("#proposals tbody tr")) == 33

    for show, total, first_page, status_text in (("review", 103, 50, "To review"), ("unmatched", 60, 50, "No home"),
                                                 ("decided", 20, 20, "Left unmatched")):
        found = _soup(client.get(f"/matching/runs/{run.id}?show={show}"))
        rows = found.select("#proposals tbody tr")
        assert len(rows) == first_page
        assert all(status_text in row.get_text() for row in rows), show
        assert f"{total} children" in found.select_one("#proposals caption").get_text()
        if total > 50:
            next_link = found.select_one(".govuk-pagination__next a")["href"]
            assert f"show={show}" in next_link and "page=2" in next_link
            second = _soup(client.get(next_link))
            assert len(second.select("#proposals tbody tr")) == min(50, total - 50)


def test_accepting_every_conflict_free_first_choice_in_one_step(signed_in_client, scenario, big_run,
                                                                setup_session):
    run, expected = big_run
    client = signed_in_client(scenario.officer)
    page = _soup(client.get(f"/matching/runs/{run.id}?show=review"))
    link = page.find("a", string=re.compile("Accept all 95 first-choice proposals"))
    assert link is not None

    confirm = _soup(client.get(link["href"]))
    assert confirm.select_one("#how-many").get_text(strip=True) == "Accept 95 first-choice proposals?"

    # The number confirmed must still be the number: otherwise nothing happens.
    stale = client.post(link["href"], data={"expected": "94"})
    assert stale.status_code == 409
    assert "95 can now be accepted, not 94" in stale.get_data(as_text=True)
    assert setup_session.scalar(select(func.count(Offer.id))) == 0

    done = client.post(link["href"], data={"expected": "95"})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    setup_session.expire_all()
    accepted = set(setup_session.scalars(select(Proposal.id).where(Proposal.run_id == run.id,
                                                                   Proposal.status == ACCEPTED)))
    assert accepted == set(expected)
    assert setup_session.scalar(select(func.count(Proposal.id)).where(Proposal.run_id == run.id,
                                                                      Proposal.status == PROPOSED)) == 8
    assert setup_session.scalar(select(func.count(Offer.id))) == 95
    assert setup_session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == AuditAction.MATCHING_PROPOSALS_BULK_ACCEPTED.value)) == 1

    again = _soup(client.get(link["href"]))
    assert again.select_one("#how-many").get_text(strip=True) == "No proposal can be accepted in one step"


def test_after_a_decision_the_next_proposal_to_review_opens(signed_in_client, session_for, scenario, big_run,
                                                            setup_session):
    run, expected = big_run
    client = signed_in_client(scenario.officer)
    response = client.post(f"/matching/proposals/{expected[0]}/accept")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/matching/proposals/{expected[1]}")

    # The last one to review leads back to the run's decided proposals.
    session = session_for(scenario.officer)
    last = session.get(Proposal, expected[-1])
    with transaction(session):
        for proposal in session.scalars(select(Proposal).where(Proposal.run_id == run.id,
                                                               Proposal.status == PROPOSED,
                                                               Proposal.id != last.id)):
            review.leave_unmatched(session, proposal, "Reviewed in a meeting")
    response = client.post(f"/matching/proposals/{last.id}/unmatched", data={"unmatched-reason": "Not now"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    assert response.headers["Location"].endswith(f"/matching/runs/{run.id}?show=decided")
