"""A place is never given twice, even when two people press the button at the same moment.

Each try sets up a home with one free place and two children offered to it, then runs two
threads — each with its own database session, as two web requests would — released together
by a barrier. PostgreSQL only: SQLite lets one writer at a time in, so it cannot race.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from commissioning.lifecycle import OFFERED
from commissioning.models import Placement, Vacancy
from matching.models import APPROVED, PROVIDER_ACCEPTED, SENT, Offer
from matching.services import approvals, offers
from rcc.audit import Actor, set_actor
from rcc.db import transaction
from rcc.errors import Conflict
from rcc.models import utcnow
from rcc.roles import Role
from rcc.tenancy import set_scope
from rcc.web import scope_for
from tests.factories import make_user
from tests.matching import builders

TRIES = 100


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("The race needs PostgreSQL: SQLite serialises writers, so two requests can never overlap. "
                    "Run with TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test")


def _offers_for_last_place(session, scenario, status: str, places: int = 1) -> list[Offer]:
    home = builders.add_home(session, scenario.region.provider, places_free=places)
    made = []
    for council in scenario.region.councils:
        referral = builders.add_referral(session, council, status=OFFERED)
        made.append(Offer(rcc_id=referral.rcc_id, council_id=referral.council_id, provider_id=home.provider_id,
                          home_id=home.id, referral_id=referral.id, weekly_cost=500_000, profile={},
                          status=status, respond_by=utcnow() + timedelta(hours=4)))
    session.add_all(made)
    session.commit()
    return made


def _race(app, people, offer_ids, action) -> Counter[str]:
    """Run ``action(session, offer)`` for each (person, offer) in its own thread, all at once."""
    barrier = threading.Barrier(len(people))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def attempt(user, offer_id):
        session = app.extensions["rcc_sessions"]()
        set_scope(session, scope_for(user))
        set_actor(session, Actor(user.id, user.organisation_id, user.rcc_id, "race"))
        try:
            offer = offers.get_offer(session, offer_id)
            barrier.wait(timeout=10)
            with transaction(session):
                action(session, offer)
            outcome = "won"
        except Conflict:
            outcome = "refused"
        except Exception as error:  # noqa: BLE001 - anything else is a failure the test reports
            outcome = f"error: {type(error).__name__}: {error}"[:200]
        finally:
            session.close()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=attempt, args=(user, offer_id)) for user, offer_id in zip(people, offer_ids,
                                                                                                  strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_providers_accepting_the_last_place_at_once_one_wins(app, postgres_only, scenario, setup_session):
    manager = scenario.provider_manager
    second_manager = _second_person(setup_session, scenario.region.provider, Role.PROVIDER_MANAGER, "M-second-manager")
    totals: Counter[str] = Counter()
    double_promised = 0
    for _ in range(TRIES):
        made = _offers_for_last_place(setup_session, scenario, SENT)
        outcomes = _race(app, [manager, second_manager], [o.id for o in made],
                         lambda s, offer: offers.accept_offer(s, offer))
        totals.update(outcomes)
        accepted = setup_session.scalar(select(func.count(Offer.id)).where(
            Offer.id.in_([o.id for o in made]), Offer.status == PROVIDER_ACCEPTED))
        double_promised += accepted > 1
    print(f"\nacceptance race: {TRIES} tries, outcomes {dict(totals)}, places promised twice: {double_promised}")
    assert double_promised == 0
    assert totals == Counter({"won": TRIES, "refused": TRIES})


def test_two_approvals_for_the_last_place_at_once_make_one_placement(app, postgres_only, scenario, setup_session):
    councils = [scenario.council_officer, scenario.region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER]]
    totals: Counter[str] = Counter()
    double_booked = 0
    start = date.today()
    for _ in range(TRIES):
        made = _offers_for_last_place(setup_session, scenario, PROVIDER_ACCEPTED, places=2)
        # The provider had two places when both accepted; one has since gone elsewhere.
        vacancy = setup_session.scalars(select(Vacancy).where(Vacancy.home_id == made[0].home_id)).one()
        vacancy.places_free = 1
        setup_session.commit()
        outcomes = _race(app, councils, [o.id for o in made],
                         lambda s, offer: approvals.approve_offer(s, offer, start, 500_000))
        totals.update(outcomes)
        placements = setup_session.scalar(select(func.count(Placement.id)).where(Placement.home_id == made[0].home_id))
        setup_session.refresh(vacancy)
        double_booked += placements > 1 or vacancy.places_free < 0
    print(f"\napproval race: {TRIES} tries, outcomes {dict(totals)}, double bookings: {double_booked}")
    assert double_booked == 0
    assert totals == Counter({"won": TRIES, "refused": TRIES})


def test_two_people_approving_the_same_offer_at_once_make_one_placement(app, postgres_only, scenario,
                                                                          setup_session):
    officers = [scenario.council_officer, _second_person(setup_session, scenario.region.councils[0],
                                                        Role.COUNCIL_PLACEMENT_OFFICER, "M-second-officer")]
    totals: Counter[str] = Counter()
    double_booked = 0
    for _ in range(TRIES):
        offer = _offers_for_last_place(setup_session, scenario, PROVIDER_ACCEPTED, places=2)[0]
        outcomes = _race(app, officers, [offer.id, offer.id],
                         lambda s, found: approvals.approve_offer(s, found, date.today(), 500_000))
        totals.update(outcomes)
        placements = setup_session.scalar(select(func.count(Placement.id)).where(
            Placement.referral_id == offer.referral_id))
        double_booked += placements != 1
    print(f"\nsame-offer race: {TRIES} tries, outcomes {dict(totals)}, double bookings: {double_booked}")
    assert double_booked == 0
    assert totals == Counter({"won": TRIES, "refused": TRIES})


def test_approving_in_turn_when_one_place_is_left_refuses_the_second(session_for, scenario, setup_session):
    """The same rule without threads, on SQLite and PostgreSQL alike."""
    made = _offers_for_last_place(setup_session, scenario, PROVIDER_ACCEPTED, places=2)
    vacancy = setup_session.scalars(select(Vacancy).where(Vacancy.home_id == made[0].home_id)).one()
    vacancy.places_free = 1
    setup_session.commit()
    first = session_for(scenario.council_officer)
    with transaction(first):
        approvals.approve_offer(first, offers.get_offer(first, made[0].id), date.today(), 500_000)
    second = session_for(scenario.region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    with pytest.raises(Conflict, match="no free place"), transaction(second):
        approvals.approve_offer(second, offers.get_offer(second, made[1].id), date.today(), 500_000)
    setup_session.expire_all()
    assert setup_session.get(Offer, made[1].id).status == PROVIDER_ACCEPTED
    assert setup_session.get(Offer, made[0].id).status == APPROVED
    assert setup_session.scalar(select(func.count(Placement.id)).where(Placement.home_id == made[0].home_id)) == 1



def _second_person(session, organisation, role: Role, handle: str):
    user = make_user(session, organisation, role, handle)
    session.commit()
    return user
