"""Every pair of conflicting actions, sent at the same moment, has exactly one winner.

Each race is tried many times (50 on PostgreSQL, where requests really overlap; 5 on SQLite,
which runs one writer at a time), each try on fresh rows, each attempt in its own thread and
database session, released together by a barrier (see ``harness``). The loser must get a
Conflict — a 409 with a plain message — never a silent success and never an error. After all
the tries the SQL invariant checker (``invariants``) must find nothing wrong anywhere.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from commissioning.models import Placement, Referral
from commissioning.services import placements
from commissioning.services import referrals as referral_service
from matching.models import PROVIDER_ACCEPTED, Offer, Proposal
from matching.services import approvals, offers, review
from tests.concurrency import world
from tests.concurrency.harness import WON, Attempt, Tally, race
from tests.concurrency.invariants import violations


def _finish(tally: Tally, owner_engine) -> None:
    print("\n" + tally.report())
    broken = violations(owner_engine)
    assert not broken, tally.report() + "\ninvariants broken:\n" + "\n".join(broken)
    assert tally.not_one_winner == 0, tally.report()
    assert set(tally.outcomes) <= {"won", "refused"}, tally.report()


def _get(model, row_id):
    return lambda session: session.get(model, row_id)


def test_deciding_one_child_in_two_runs_at_once_sends_one_offer(app, setup_session, owner_engine, region,
                                                                 rcc_officers, tries):
    """Defect 1: accept in one run and choose a home in another; only one offer may go out."""
    tally = Tally("decide x decide across runs")
    pairs = []
    for _ in range(tries):
        child = world.referral(setup_session, region.councils[0])
        first_home, second_home = world.home(setup_session, region.provider), world.home(setup_session, region.provider)
        pairs.append((world.finished_run(setup_session, region.rcc, [(child, first_home)])[0],
                      world.finished_run(setup_session, region.rcc, [(child, second_home)])[0]))
    setup_session.commit()
    for older, newer in pairs:
        tally.add(race(app, [
            Attempt(rcc_officers[0], _get(Proposal, older.id), lambda s, p: review.accept_proposal(s, p)),
            Attempt(rcc_officers[1], _get(Proposal, newer.id), lambda s, p: review.accept_proposal(s, p)),
        ]))
    _finish(tally, owner_engine)


def test_offering_one_child_to_two_homes_at_once_sends_one_offer(app, setup_session, owner_engine, region,
                                                                  rcc_officers, tries):
    """The rule under defect 1 without runs: a child has at most one offer waiting."""
    tally = Tally("offer x offer for one child")
    made = [(world.referral(setup_session, region.councils[0]),
             [world.home(setup_session, region.provider), world.home(setup_session, region.provider)])
            for _ in range(tries)]
    setup_session.commit()
    for child, homes in made:
        tally.add(race(app, [
            Attempt(officer, _get(Referral, child.id),
                    lambda s, r, home_id=home.id: offers.make_offer(s, r, offers.homes_by_id(s, {home_id})[home_id]))
            for officer, home in zip(rcc_officers, homes, strict=True)]))
    _finish(tally, owner_engine)


def test_offering_the_last_place_to_two_children_at_once_sends_one_offer(app, setup_session, owner_engine, region,
                                                                          rcc_officers, tries):
    """Defect 4: two offers for the last free place."""
    tally = Tally("offer x offer for the last place")
    made = [(world.home(setup_session, region.provider, places=1),
             [world.referral(setup_session, council) for council in region.councils]) for _ in range(tries)]
    setup_session.commit()
    for home, children in made:
        tally.add(race(app, [
            Attempt(officer, _get(Referral, child.id),
                    lambda s, r, home_id=home.id: offers.make_offer(s, r, offers.homes_by_id(s, {home_id})[home_id]))
            for officer, child in zip(rcc_officers, children, strict=True)]))
    _finish(tally, owner_engine)


def test_two_providers_accepting_the_last_place_at_once_one_wins(app, setup_session, owner_engine, region,
                                                                 provider_managers, tries):
    tally = Tally("accept x accept for the last place")
    homes = [world.home(setup_session, region.provider, places=1) for _ in range(tries)]
    offered = [[world.offered(setup_session, council, home) for council in region.councils] for home in homes]
    setup_session.commit()
    for made in offered:
        tally.add(race(app, [Attempt(manager, _get(Offer, offer.id), lambda s, o: offers.accept_offer(s, o))
                             for manager, offer in zip(provider_managers, made, strict=True)]))
    _finish(tally, owner_engine)


def test_two_officers_approving_one_offer_at_once_make_one_placement(app, setup_session, owner_engine, region,
                                                                     council_officers, tries):
    tally = Tally("approve x approve")
    made = [world.offered(setup_session, region.councils[0], world.home(setup_session, region.provider, places=2),
                          PROVIDER_ACCEPTED) for _ in range(tries)]
    setup_session.commit()
    for offer in made:
        tally.add(race(app, [
            Attempt(officer, _get(Offer, offer.id),
                    lambda s, o: approvals.approve_offer(s, o, date.today(), 500_000))
            for officer in council_officers]))
    _finish(tally, owner_engine)


def test_withdrawing_and_approving_at_once_one_wins(app, setup_session, owner_engine, region, council_officers,
                                                    rcc_officers, tries):
    """Defect 2: the council is never told "withdrawn" for a child who then ends up placed."""
    tally = Tally("withdraw x approve")
    withdrawn = 0
    made = [world.offered(setup_session, region.councils[0], world.home(setup_session, region.provider, places=1),
                          PROVIDER_ACCEPTED) for _ in range(tries)]
    setup_session.commit()
    for offer in made:
        outcomes = race(app, [
            Attempt(council_officers[0], _get(Offer, offer.id),
                    lambda s, o: approvals.approve_offer(s, o, date.today(), 500_000)),
            Attempt(council_officers[1], _get(Referral, offer.referral_id),
                    lambda s, r: referral_service.withdraw_referral(s, r, "Moving to live with her aunt")),
        ])
        tally.add(outcomes)
        if outcomes[1] == WON:
            withdrawn += 1
            # The accepted offer still holds the place; the RCC releases it by withdrawing the offer.
            release = race(app, [Attempt(rcc_officers[0], _get(Offer, offer.id),
                                         lambda s, o: offers.withdraw_offer(s, o, "The council withdrew the child"))])
            assert release == [WON], release
    print(f"\nwithdrawals that won: {withdrawn}")
    _finish(tally, owner_engine)


def test_ending_a_placement_twice_at_once_ends_it_once(app, setup_session, owner_engine, region, council_officers,
                                                       tries):
    """Defect 3: two ends freed two places."""
    tally = Tally("end x end")
    made = [world.placed(setup_session, region.councils[0], world.home(setup_session, region.provider, places=2))
            for _ in range(tries)]
    setup_session.commit()
    for placement in made:
        tally.add(race(app, [
            Attempt(officer, _get(Placement, placement.id),
                    lambda s, p: placements.end_placement(s, p, date.today(), "CHILD"))
            for officer in council_officers]))
    ended = setup_session.scalars(select(Placement).where(Placement.end_date.is_not(None))).all()
    assert len(ended) == tries
    _finish(tally, owner_engine)


def test_a_provider_answering_while_the_rcc_withdraws_the_offer_one_wins(app, setup_session, owner_engine, region,
                                                                        provider_managers, rcc_officers, tries):
    """Accept or decline against withdraw: the offer ends in one state, the child's history stays legal."""
    tally = Tally("answer x withdraw")
    made = [world.offered(setup_session, region.councils[0], world.home(setup_session, region.provider, places=1))
            for _ in range(tries)]
    setup_session.commit()
    for number, offer in enumerate(made):
        answer = ((lambda s, o: offers.accept_offer(s, o)) if number % 2 == 0
                  else (lambda s, o: offers.decline_offer(s, o, "staffing", "")))
        tally.add(race(app, [
            Attempt(provider_managers[0], _get(Offer, offer.id), answer),
            Attempt(rcc_officers[0], _get(Offer, offer.id),
                    lambda s, o: offers.withdraw_offer(s, o, "The child's plans changed")),
        ]))
    _finish(tally, owner_engine)
