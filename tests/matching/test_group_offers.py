"""Siblings proposed to one provider become ONE offer, accepted or declined as a whole: through the
services, the provider's pages, the database's own constraints, and two answers racing."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError

from commissioning.lifecycle import IN_MATCHING
from commissioning.models import Referral, Vacancy
from matching.models import DECLINED, PROVIDER_ACCEPTED, SENT, GroupOffer, Offer, Proposal
from matching.services import jobs, offers, review, runs
from rcc.audit import Actor, AuditAction, set_actor
from rcc.db import transaction
from rcc.errors import Conflict
from rcc.models import AuditEvent
from rcc.roles import Role
from rcc.tenancy import set_scope
from rcc.web import scope_for
from tests.factories import make_user
from tests.matching import builders


@pytest.fixture
def siblings(setup_session, scenario):
    """Two sisters to keep together and one home (of the scenario's provider) with room for both."""
    for home in scenario.homes:  # only the sisters' home has room, so the run proposes them there
        setup_session.execute(delete(Vacancy).where(Vacancy.home_id == home.id))
    council = scenario.region.councils[0]
    group = builders.add_sibling_group(setup_session, council, "The sisters")
    referrals = [builders.add_referral(setup_session, council, f"SIS-{n}", sibling_group=group, age=age)
                 for n, age in ((1, 12), (2, 14))]
    home = builders.add_home(setup_session, scenario.region.provider, "Beech House", places_free=2,
                             max_sibling_group=3)
    for referral in scenario.referrals:  # the scenario's own children are not in this run
        referral.status = "draft"
    setup_session.commit()
    return referrals, home


def _finished_run(app, session, officer):
    with transaction(session):
        run = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    jobs.perform_run(app.extensions["rcc_sessions"], run.id, officer.rcc_id, officer.id)
    session.expire_all()
    return runs.get_run(session, run.id)


def _group_offered(app, session_for, scenario, siblings):
    referrals, home = siblings
    session = session_for(scenario.officer)
    run = _finished_run(app, session, scenario.officer)
    proposals = list(session.scalars(select(Proposal).where(Proposal.run_id == run.id).order_by(Proposal.id)))
    assert [p.home_id for p in proposals] == [home.id, home.id], run.result
    with transaction(session):
        offer = review.accept_proposal(session, proposals[1])
    return session, proposals, offer


def _count(session, action: AuditAction) -> int:
    query = select(func.count(AuditEvent.id)).where(AuditEvent.action == action.value)
    return session.scalar(query) or 0


def test_accepting_one_sibling_sends_one_offer_for_the_whole_group(app, session_for, scenario, siblings,
                                                                  setup_session):
    session, proposals, offer = _group_offered(app, session_for, scenario, siblings)
    setup_session.expire_all()
    made = list(setup_session.scalars(select(Offer).order_by(Offer.id)))
    assert len(made) == 2
    groups = list(setup_session.scalars(select(GroupOffer)))
    assert len(groups) == 1 and groups[0].answer == SENT
    assert {o.group_offer_id for o in made} == {groups[0].id}
    assert {o.group_answer for o in made} == {SENT}
    assert len({o.respond_by for o in made}) == 1
    assert {p.status for p in setup_session.scalars(select(Proposal))} == {"accepted"}
    assert offer.referral_id == proposals[1].referral_id
    assert _count(setup_session, AuditAction.MATCHING_GROUP_OFFER_SENT) == 1


def test_the_proposal_page_says_the_siblings_are_offered_together(app, session_for, signed_in_client, scenario,
                                                                  siblings):
    session = session_for(scenario.officer)
    run = _finished_run(app, session, scenario.officer)
    proposal = session.scalars(select(Proposal).where(Proposal.run_id == run.id)).first()
    page = signed_in_client(scenario.officer).get(f"/matching/proposals/{proposal.id}")
    found = BeautifulSoup(page.get_data(as_text=True), "html.parser").select_one("#group-offer")
    assert found is not None and "one offer for all 2 children" in found.get_text()


def test_the_provider_sees_every_child_and_accepts_them_as_a_whole(app, session_for, signed_in_client, scenario,
                                                                   siblings, setup_session):
    _session, _proposals, offer = _group_offered(app, session_for, scenario, siblings)
    client = signed_in_client(scenario.provider_manager)
    page = client.get(f"/offers-for-your-homes/{offer.id}")
    assert page.status_code == 200
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    assert len(soup.select("dl.govuk-summary-list[id^=profile]")) == 2
    assert "About the 2 brothers and sisters" in soup.get_text()
    text_ = soup.get_text()
    assert "SIS-1" not in text_ and "SIS-2" not in text_  # anonymised as for one child
    assert "Accept all 2 children" in text_

    response = client.post(f"/offers-for-your-homes/{offer.id}/accept")
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    setup_session.expire_all()
    assert {o.status for o in setup_session.scalars(select(Offer))} == {PROVIDER_ACCEPTED}
    assert setup_session.scalars(select(GroupOffer)).one().answer == PROVIDER_ACCEPTED
    assert _count(setup_session, AuditAction.MATCHING_GROUP_OFFER_ACCEPTED) == 1
    assert _count(setup_session, AuditAction.MATCHING_OFFER_ACCEPTED) == 0

    # Answered once: a second answer, on either child's offer, is a conflict.
    other = setup_session.scalars(select(Offer).where(Offer.id != offer.id)).one()
    again = client.post(f"/offers-for-your-homes/{other.id}/decline", data={"reason": "staffing"})
    assert again.status_code == 409


def test_declining_returns_every_child_to_matching(app, session_for, scenario, siblings, setup_session):
    _session, _proposals, offer = _group_offered(app, session_for, scenario, siblings)
    provider = session_for(scenario.provider_manager)
    with transaction(provider):
        offers.decline_offer(provider, offers.get_offer(provider, offer.id), "no_place", "")
    setup_session.expire_all()
    assert {o.status for o in setup_session.scalars(select(Offer))} == {DECLINED}
    assert setup_session.scalars(select(GroupOffer)).one().answer == DECLINED
    referrals, home = siblings
    for referral in referrals:
        fresh = setup_session.get(Referral, referral.id)
        assert fresh.status == IN_MATCHING
        assert home.id in fresh.excluded_home_ids
    assert _count(setup_session, AuditAction.MATCHING_GROUP_OFFER_DECLINED) == 1


def test_the_database_refuses_a_partial_answer(app, session_for, scenario, siblings, setup_session):
    _session, _proposals, offer = _group_offered(app, session_for, scenario, siblings)
    # One sibling accepted while the group is still waiting: refused by a check constraint.
    with pytest.raises(IntegrityError):
        setup_session.execute(update(Offer).where(Offer.id == offer.id).values(status=PROVIDER_ACCEPTED))
        setup_session.flush()
    setup_session.rollback()
    # The group declined, then one sibling marked accepted: refused too.
    group_id = setup_session.get(Offer, offer.id).group_offer_id
    setup_session.execute(update(GroupOffer).where(GroupOffer.id == group_id).values(answer=DECLINED))
    assert set(setup_session.scalars(select(Offer.group_answer))) == {DECLINED}  # copied by the database
    with pytest.raises(IntegrityError):
        setup_session.execute(update(Offer).where(Offer.id == offer.id).values(status=PROVIDER_ACCEPTED))
        setup_session.flush()
    setup_session.rollback()
    # And an offer cannot carry an answer its group does not have.
    with pytest.raises(IntegrityError):
        setup_session.execute(text("UPDATE matching_offer SET group_answer = 'accepted' WHERE id = :id"),
                              {"id": offer.id})
        setup_session.flush()
    setup_session.rollback()


def test_a_group_that_no_longer_fits_is_refused_whole(app, session_for, scenario, siblings, setup_session):
    _session, _proposals, offer = _group_offered(app, session_for, scenario, siblings)
    _referrals, home = siblings
    setup_session.execute(update(Vacancy).where(Vacancy.home_id == home.id).values(places_free=1))
    setup_session.commit()
    provider = session_for(scenario.provider_manager)
    with pytest.raises(Conflict, match="fewer than 2 free places"), transaction(provider):
        offers.accept_offer(provider, offers.get_offer(provider, offer.id))
    setup_session.expire_all()
    assert {o.status for o in setup_session.scalars(select(Offer))} == {SENT}


@pytest.mark.parametrize("tries", [20])
def test_two_answers_at_once_one_wins_the_other_is_refused(app, is_postgres, session_for, scenario, siblings,
                                                           setup_session, tries):
    if not is_postgres:
        pytest.skip("The race needs PostgreSQL: SQLite serialises writers. "
                    "Run with TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test")
    second = make_user(setup_session, scenario.region.provider, Role.PROVIDER_MANAGER, "M-group-second")
    setup_session.commit()
    referrals, home = siblings
    totals: Counter[str] = Counter()
    partial = 0
    for _ in range(tries):
        officer = session_for(scenario.officer)
        with transaction(officer):
            group, made = offers.make_group_offer(
                officer, [officer.get(Referral, r.id) for r in referrals], [home, home], [None, None], None)
        outcomes = _race(app, [scenario.provider_manager, second], [made[0].id, made[1].id])
        totals.update(outcomes)
        setup_session.expire_all()
        statuses = {o.status for o in setup_session.scalars(select(Offer).where(Offer.group_offer_id == group.id))}
        partial += len(statuses) != 1
        # Put the children back for the next try.
        setup_session.execute(update(Offer).where(Offer.group_offer_id == group.id).values(status="withdrawn"))
        setup_session.execute(update(Referral).where(Referral.id.in_([r.id for r in referrals]))
                              .values(status=IN_MATCHING))
        setup_session.commit()
    print(f"\ngroup answer race: {tries} tries, outcomes {dict(totals)}, partial answers: {partial}")
    assert partial == 0
    assert totals == Counter({"won": tries, "refused": tries})


def _race(app, people, offer_ids) -> Counter[str]:
    """One person accepts (through one sibling's offer) while the other declines (through the other's)."""
    barrier = threading.Barrier(len(people))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def attempt(user, offer_id, accept):
        session = app.extensions["rcc_sessions"]()
        set_scope(session, scope_for(user))
        set_actor(session, Actor(user.id, user.organisation_id, user.rcc_id, "race"))
        try:
            offer = offers.get_offer(session, offer_id)
            barrier.wait(timeout=10)
            with transaction(session):
                if accept:
                    offers.accept_offer(session, offer)
                else:
                    offers.decline_offer(session, offer, "staffing", "")
            outcome = "won"
        except Conflict:
            outcome = "refused"
        except Exception as error:  # noqa: BLE001 - anything else is a failure the test reports
            outcome = f"error: {type(error).__name__}: {error}"[:200]
        finally:
            session.close()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=attempt, args=(user, offer_id, index == 0))
               for index, (user, offer_id) in enumerate(zip(people, offer_ids, strict=True))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes

