"""Foster households in matching, end to end: a run proposes a household, the offer goes to its owner
(an in-house household's council answers it, not a provider), accepting fills the household's place
conditionally, the council approves and the placement names the household; ending it frees the place.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from commissioning.lifecycle import OFFERED, PLACED
from commissioning.models import FosterHousehold, Placement
from commissioning.services import fostering
from commissioning.services.placements import end_placement
from matching.models import APPROVED, PROVIDER_ACCEPTED, SENT, Offer, Proposal
from matching.services import approvals, offers, review, runs
from matching.services.keys import household_key
from matching.services.snapshot import build_problem
from rcc.db import transaction
from rcc.errors import Conflict, NotFound
from rcc.models import utcnow
from rcc.roles import Role
from tests.commissioning.world import household_details
from tests.matching import builders
from tests.matching.test_race import TRIES, _race, _second_person, postgres_only  # noqa: F401 - fixture

HOUSEHOLD_COST = 60_000


def _in_house_household(session, council, reference: str = "FH-IN-1", places: int = 1) -> FosterHousehold:
    household = fostering.create_household(session, council, household_details(
        reference, max_children=max(places, 1), siblings=False, places_free=places, weekly_cost=HOUSEHOLD_COST))
    session.commit()
    return household


def _offers_for_household(session, region, household: FosterHousehold, status: str) -> list[Offer]:
    """One offer from each council's child to the household (as if the run had proposed both)."""
    made = []
    for council in region.councils:
        referral = builders.add_referral(session, council, status=OFFERED, placement_type="foster_care", age=9)
        made.append(Offer(rcc_id=referral.rcc_id, council_id=referral.council_id, provider_id=household.owner_id,
                          foster_household_id=household.id, referral_id=referral.id, weekly_cost=HOUSEHOLD_COST,
                          profile={}, status=status, respond_by=utcnow() + timedelta(hours=4)))
    session.add_all(made)
    session.commit()
    return made


def _page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_a_run_proposes_an_in_house_household_and_its_council_answers_the_offer(app, session_for, region,
                                                                              setup_session, signed_in_client):
    council = region.councils[0]
    household = _in_house_household(setup_session, council)
    referral = builders.add_referral(setup_session, council, "FOS-1", placement_type="foster_care", age=9)
    setup_session.commit()
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    session = session_for(officer)
    with transaction(session):
        run = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    from matching.services import jobs

    assert jobs.perform_run(app.extensions["rcc_sessions"], run.id, officer.rcc_id, officer.id)
    proposal = setup_session.scalars(select(Proposal).where(Proposal.referral_id == referral.id)).one()
    assert (proposal.home_id, proposal.foster_household_id) == (None, household.id)
    with transaction(session):
        offer = review.accept_proposal(session, review.get_proposal(session, proposal.id))
    assert (offer.home_id, offer.foster_household_id, offer.provider_id) == (None, household.id, council.id)
    assert offer.weekly_cost == HOUSEHOLD_COST

    # The provider never sees an offer for a council's in-house carers.
    manager = region.people[Role.PROVIDER_MANAGER]
    provider = signed_in_client(manager)
    assert f"Offer {offer.id}" not in provider.get("/offers-for-your-homes/").get_data(as_text=True)
    assert provider.get(f"/offers-for-your-homes/{offer.id}").status_code == 404
    assert provider.post(f"/matching/offers/{offer.id}/accept").status_code == 403

    # The owning council answers it, on its offers page.
    council_officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    client = signed_in_client(council_officer)
    page = _page(client.get(f"/matching/offers/{offer.id}"))
    assert page.select_one("#answer") is not None and "Foster household FH-IN-1" in page.get_text()
    assert client.post(f"/matching/offers/{offer.id}/accept").status_code == 302
    setup_session.expire_all()
    assert setup_session.get(Offer, offer.id).status == PROVIDER_ACCEPTED
    assert setup_session.get(FosterHousehold, household.id).places_free == 0  # filled on accepting

    # Another council's officer may not answer for it (it is not their household).
    other = signed_in_client(region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert other.post(f"/matching/offers/{offer.id}/decline", data={"reason": "other", "details": "x"}
                      ).status_code in (403, 404)

    # The child's council approves; the placement names the household.
    start = date.today()
    approved = client.post(f"/matching/approvals/{offer.id}/approve",
                           data={"start_day": start.day, "start_month": start.month, "start_year": start.year,
                                 "weekly_cost": "600.00"})
    assert approved.status_code == 302, approved.get_data(as_text=True)[:2000]
    setup_session.expire_all()
    placement = setup_session.scalars(select(Placement).where(Placement.referral_id == referral.id)).one()
    assert (placement.home_id, placement.foster_household_id, placement.provider_id) == (None, household.id,
                                                                                          council.id)
    assert placement.placement_type == "foster_care"
    assert setup_session.get(FosterHousehold, household.id).places_free == 0  # not taken twice
    assert setup_session.get(Offer, offer.id).status == APPROVED
    assert "Foster household FH-IN-1" in _page(client.get("/matching/placements/")).select_one(
        "#placements").get_text()

    # Ending the placement frees the household's place again.
    ended = date.today()
    response = client.post(f"/matching/placements/{placement.id}/end",
                           data={"end_day": ended.day, "end_month": ended.month, "end_year": ended.year,
                                 "reason_code": next(iter(approvals.end_reasons()))})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    setup_session.expire_all()
    assert setup_session.get(Placement, placement.id).end_date == ended
    assert setup_session.get(FosterHousehold, household.id).places_free == 1


def test_households_places_held_by_waiting_offers_are_not_offered_again(setup_session, region):
    household = _in_house_household(setup_session, region.councils[0])
    _offers_for_household(setup_session, region, household, SENT)
    referral = builders.add_referral(setup_session, region.councils[0], placement_type="foster_care", age=9)
    setup_session.commit()
    problem = build_problem(setup_session, [referral], utcnow())
    assert household_key(household.id) not in {h.id for h in problem.homes}


def test_accepting_the_households_last_place_in_turn_refuses_the_second(session_for, region, setup_session):
    """Without threads, on SQLite and PostgreSQL alike: the place is filled conditionally on accepting."""
    household = _in_house_household(setup_session, region.councils[0])
    made = _offers_for_household(setup_session, region, household, SENT)
    owner = session_for(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    with transaction(owner):
        offers.accept_offer(owner, offers.get_offer(owner, made[0].id))
    with pytest.raises(Conflict, match="no free place"), transaction(owner):
        offers.accept_offer(owner, offers.get_offer(owner, made[1].id))
    setup_session.expire_all()
    assert [setup_session.get(Offer, o.id).status for o in made] == [PROVIDER_ACCEPTED, SENT]
    assert setup_session.get(FosterHousehold, household.id).places_free == 0
    # Withdrawing the accepted offer gives the place back.
    officer = session_for(region.people[Role.RCC_PLACEMENT_OFFICER])
    with transaction(officer):
        offers.withdraw_offer(officer, offers.get_offer(officer, made[0].id), "The child's plan changed")
    setup_session.expire_all()
    assert setup_session.get(FosterHousehold, household.id).places_free == 1


def test_the_database_refuses_fewer_than_no_household_places_and_an_offer_naming_two_places(setup_session, region):
    household = _in_house_household(setup_session, region.councils[0])
    with pytest.raises(IntegrityError):
        setup_session.execute(update(FosterHousehold).where(FosterHousehold.id == household.id)
                              .values(places_free=FosterHousehold.places_free - 2))
        setup_session.flush()
    setup_session.rollback()
    home = builders.add_home(setup_session, region.provider, places_free=1)
    referral = builders.add_referral(setup_session, region.councils[0], status=OFFERED)
    for both_or_none in ({"home_id": home.id, "foster_household_id": household.id},
                         {"home_id": None, "foster_household_id": None}):
        setup_session.add(Offer(rcc_id=referral.rcc_id, council_id=referral.council_id,
                                provider_id=region.provider.id, referral_id=referral.id, weekly_cost=1, profile={},
                                status=SENT, respond_by=utcnow() + timedelta(hours=4), **both_or_none))
        with pytest.raises(IntegrityError):
            setup_session.flush()
        setup_session.rollback()
        referral = builders.add_referral(setup_session, region.councils[0], status=OFFERED)


def test_a_provider_cannot_see_a_councils_in_house_household_offers(session_for, region, setup_session):
    household = _in_house_household(setup_session, region.councils[0])
    made = _offers_for_household(setup_session, region, household, SENT)
    provider = session_for(region.people[Role.PROVIDER_MANAGER])
    assert offers.list_offers(provider) == []
    with pytest.raises(NotFound):
        offers.get_offer(provider, made[0].id)
    with pytest.raises(NotFound):  # nor take its place by answering it
        offers.accept_offer(provider, offers.get_offer(provider, made[0].id))
    # The owning council sees both (one is its own child's, one another council's child for its carers);
    # the other council sees only its own child's offer, and not the household itself.
    owner = session_for(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert {o.id for o in offers.list_offers(owner)} == {o.id for o in made}
    other = session_for(region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert {o.id for o in offers.list_offers(other)} == {made[1].id}
    assert other.get(FosterHousehold, household.id) is None
    assert offers.places_of(other, [made[1]])[made[1].place_key].name == "A foster household"


def test_the_owning_council_answers_but_only_the_childs_council_decides(session_for, region, setup_session):
    """Council 0's carers offered council 1's child: council 0 accepts as the household's owner; approving
    (and so the placement) is council 1's alone, and council 1 never reads council 0's household."""
    household = _in_house_household(setup_session, region.councils[0])
    theirs = _offers_for_household(setup_session, region, household, SENT)[1]
    owner = session_for(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    with transaction(owner):
        offers.accept_offer(owner, offers.get_offer(owner, theirs.id))
    with pytest.raises(NotFound), transaction(owner):
        approvals.approve_offer(owner, offers.get_offer(owner, theirs.id), date.today(), 60_000)
    childs_council = session_for(region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    with transaction(childs_council):
        placement = approvals.approve_offer(childs_council, offers.get_offer(childs_council, theirs.id),
                                            date.today(), 60_000)
    assert (placement.council_id, placement.foster_household_id) == (region.councils[1].id, household.id)
    with pytest.raises(NotFound), transaction(owner):
        end_placement(owner, owner.get(Placement, placement.id), date.today(),
                                   next(iter(approvals.end_reasons())))
    with transaction(childs_council):
        end_placement(childs_council, childs_council.get(Placement, placement.id), date.today(),
                                   next(iter(approvals.end_reasons())))
    setup_session.expire_all()
    assert setup_session.get(FosterHousehold, household.id).places_free == 1  # freed within the RCC


def test_an_agency_household_offer_is_answered_by_its_agency(session_for, region, setup_session):
    household = fostering.create_household(setup_session, region.provider, household_details(
        "FH-IFA-1", max_children=1, siblings=False, places_free=1))
    setup_session.commit()
    made = _offers_for_household(setup_session, region, household, SENT)
    agency = session_for(region.people[Role.PROVIDER_MANAGER])
    with transaction(agency):
        offers.accept_offer(agency, offers.get_offer(agency, made[0].id))
    setup_session.expire_all()
    assert setup_session.get(FosterHousehold, household.id).places_free == 0
    council = session_for(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    with transaction(council):
        placement = approvals.approve_offer(council, offers.get_offer(council, made[0].id), date.today(), 60_000)
    assert (placement.foster_household_id, placement.provider_id) == (household.id, region.provider.id)
    setup_session.expire_all()
    assert setup_session.get(FosterHousehold, household.id).places_free == 0
    assert setup_session.get(type(placement), placement.id).end_date is None
    from commissioning.models import Referral

    assert setup_session.get(Referral, made[0].referral_id).status == PLACED


def test_two_owners_accepting_a_households_last_place_at_once_one_wins(app, postgres_only, region,  # noqa: F811
                                                                        setup_session):
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    second = _second_person(setup_session, region.councils[0], Role.COUNCIL_PLACEMENT_OFFICER, "H-second-officer")
    totals: Counter[str] = Counter()
    over_filled = 0
    for index in range(TRIES):
        household = _in_house_household(setup_session, region.councils[0], f"FH-RACE-{index}")
        made = _offers_for_household(setup_session, region, household, SENT)
        totals.update(_race(app, [officer, second], [o.id for o in made],
                            lambda s, offer: offers.accept_offer(s, offer)))
        accepted = setup_session.scalar(select(func.count(Offer.id)).where(
            Offer.id.in_([o.id for o in made]), Offer.status == PROVIDER_ACCEPTED))
        setup_session.expire_all()
        over_filled += accepted > 1 or setup_session.get(FosterHousehold, household.id).places_free < 0
    print(f"\nhousehold acceptance race: {TRIES} tries, outcomes {dict(totals)}, over-filled: {over_filled}")
    assert over_filled == 0
    assert totals == Counter({"won": TRIES, "refused": TRIES})


def test_the_carers_council_keeps_no_costs_for_another_councils_child_it_hosts(session_for, region, setup_session,
                                                                                 signed_in_client):
    """Council 0's carers host council 1's child: council 0 reads the placement (it answered the offer) but
    its cost pages neither list it as missing a cost record nor let it add one; council 1's do."""
    from cost_transparency.services import cost_records  # noqa: PLC0415

    household = _in_house_household(setup_session, region.councils[0])
    theirs = _offers_for_household(setup_session, region, household, SENT)[1]
    owner = session_for(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    with transaction(owner):
        offers.accept_offer(owner, offers.get_offer(owner, theirs.id))
    childs_council = session_for(region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    with transaction(childs_council):
        placement = approvals.approve_offer(childs_council, offers.get_offer(childs_council, theirs.id),
                                            date.today(), 60_000)
    placement_id = placement.id
    assert owner.get(Placement, placement_id) is not None  # the carers' council may read it
    assert placement_id not in {p.id for p in cost_records.placements_without_records(owner)}
    assert placement_id in {p.id for p in cost_records.placements_without_records(childs_council)}
    finance = region.people.get(Role.COUNCIL_FINANCE_LEAD)
    if finance is not None:
        client = signed_in_client(finance)
        assert client.get(f"/costs/placements/{placement_id}").status_code == 404
