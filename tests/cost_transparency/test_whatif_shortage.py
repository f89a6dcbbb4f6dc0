"""Issue 17, acceptance 3: new places where the shortage report says the region is short place more
children in the replay than the same number of places where it says it is not short.

A region of two councils 70 miles apart: Manchester's children ask for a home within 20 miles and
Manchester has one home with one place; Coventry has free places and few children. A real matching run
of the open referrals gives the shortage report; the replay of the last 12 months of referrals
(``cost_transparency.services.whatif``) then adds ten places in the report's top type and area,
and ten in a type and area the report does not name."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from commissioning.models import Child, Home, Referral, Vacancy
from commissioning.services import supply_history
from cost_transparency.services import whatif
from cost_transparency.whatif.replay import Scenario, SupplyChange, run_scenarios
from matching.models import MatchingRun
from matching.services.shortage import extra_places, shortage_report
from rcc.audit import Actor, set_actor
from rcc.roles import Role
from tests.conftest import TEST_PASSWORD, sign_in
from tests.factories import make_region
from tests.matching import builders

MANCHESTER, COVENTRY = (53.479, -2.245), (52.408, -1.510)


def _move(session, referral: Referral, where: tuple[float, float]) -> None:
    child = session.get(Child, referral.child_id)
    child.home_latitude, child.home_longitude = where
    child.school_latitude, child.school_longitude = where


def _world(session):
    region = make_region(session, "S", ("Manchester", "Coventry"))
    manchester, coventry = region.councils
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    set_actor(session, Actor(officer.id, officer.organisation_id, officer.rcc_id))
    homes = [builders.add_home(session, region.provider, "Small house", local_authority="Manchester", places_free=1)]
    homes[0].latitude, homes[0].longitude, homes[0].registered_places = *MANCHESTER, 1
    for index in range(3):
        homes.append(builders.add_home(session, region.provider, f"Coventry {index}", places_free=4))
    supply_history.record_many(session, homes, supply_history.DEMO)
    for months_ago in range(1, 13):  # the last 12 months' referrals: three from Manchester, one from Coventry
        for council, where, count in ((manchester, MANCHESTER, 3), (coventry, COVENTRY, 1)):
            for _ in range(count):
                referral = builders.add_referral(session, council, status="placed")
                referral.max_distance_miles = 20 if council is manchester else None
                referral.submitted_at = referral.submitted_at - timedelta(days=30 * months_ago)
                _move(session, referral, where)
    for _ in range(4):  # open now
        referral = builders.add_referral(session, manchester)
        referral.max_distance_miles = 20
        _move(session, referral, MANCHESTER)
    session.commit()
    return region


def test_places_where_the_shortage_report_says_short_place_more_children(app, setup_session):
    region = _world(setup_session)
    client = sign_in(app.test_client(), region.people[Role.RCC_PLACEMENT_OFFICER], TEST_PASSWORD)
    started = client.post("/matching/runs/new", data={"scope": "all", "note": "Shortage"})
    assert started.status_code == 302, started.get_data(as_text=True)[:1000]
    run = setup_session.scalars(select(MatchingRun)).one()
    report = shortage_report(setup_session, run)
    short_areas = {line.area for line in report.lines}
    assert short_areas == {"Manchester"} and report.unmatched_children == 3
    top = extra_places(run)[0]
    assert (top.placement_type, top.area) == ("childrens_home", "Manchester")
    not_short = "Coventry"
    assert not_short not in short_areas and all(e.area != not_short for e in extra_places(run))
    assert setup_session.scalar(select(Vacancy.places_free).join(Home, Home.id == Vacancy.home_id)
                                .where(Home.local_authority == not_short).limit(1)) > 0

    data = whatif.region_for(setup_session, region.rcc.id, whatif.default_start())
    scenarios = [Scenario("short", (SupplyChange(top.placement_type, 10, area=top.area),)),
                 Scenario("not short", (SupplyChange(top.placement_type, 10, area=not_short),))]
    short, elsewhere = run_scenarios(data.region, scenarios, seed=3)
    assert short.placed > elsewhere.placed
    assert short.placed_within > elsewhere.placed_within
    assert short.unplaced < elsewhere.unplaced
