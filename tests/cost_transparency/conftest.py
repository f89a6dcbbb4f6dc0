"""A region with placements to cost, for cost transparency's service and page tests."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

import pytest

from commissioning.models import Child, Home, Placement, Referral
from cost_transparency.models import CostRecord
from rcc import users
from rcc.audit import Actor, set_actor
from rcc.roles import Role
from tests.factories import make_region

TODAY = date.today()
_numbers = count(1)


@pytest.fixture
def region(app, setup_session):
    return make_region(setup_session, "T", ("Coventry", "Warwickshire"))


@pytest.fixture
def session(setup_session, region):
    """The set-up session acting as the region's RCC commissioner (for who-did-what)."""
    commissioner = region.people[Role.RCC_COMMISSIONER]
    set_actor(setup_session, Actor(commissioner.id, commissioner.organisation_id, commissioner.rcc_id))
    return setup_session


def add_provider(session, region, name, sector="private"):
    provider = users.add_provider(session, region.rcc, name, sector)
    session.flush()
    return provider


def add_home(session, region, provider, kind="childrens_home", local_authority="Coventry", places=4,
             rating="good"):
    number = next(_numbers)
    home = Home(rcc_id=region.rcc.id, provider_id=provider.id, ofsted_urn=f"SC{number:06d}", name=f"Home {number}",
                placement_type=kind, local_authority=local_authority, postcode="CV1 2AB", latitude=52.41,
                longitude=-1.51, registered_places=places, ofsted_rating=rating)
    session.add(home)
    session.flush()
    return home


def add_placement(session, region, council, home, weekly_pounds, start=None, end=None, needs=(), funding="spot",
                  block_contract_id=None, child_at=(52.41, -1.51)):
    number = next(_numbers)
    start = start or TODAY - timedelta(days=100)
    child = Child(rcc_id=region.rcc.id, council_id=council.id, reference=f"CH-{number:04d}", birth_month=1,
                  birth_year=TODAY.year - 14, sex="F", legal_status="C2", category_of_need="N1",
                  home_postcode="CV1 2AB", home_latitude=child_at[0], home_longitude=child_at[1])
    session.add(child)
    session.flush()
    referral = Referral(rcc_id=region.rcc.id, council_id=council.id, child_id=child.id,
                        placement_type=home.placement_type, urgency="planned", date_needed=start,
                        needs=list(needs), status="placed")
    session.add(referral)
    session.flush()
    placement = Placement(rcc_id=region.rcc.id, council_id=council.id, provider_id=home.provider_id,
                          referral_id=referral.id, child_id=child.id, home_id=home.id,
                          placement_type=home.placement_type, start_date=start, end_date=end,
                          weekly_cost=weekly_pounds * 100, funding=funding, block_contract_id=block_contract_id)
    session.add(placement)
    session.flush()
    return placement


def add_cost(session, placement, weekly_pounds=None, start=None, end=None, **parts):
    record = CostRecord(rcc_id=placement.rcc_id, council_id=placement.council_id, placement_id=placement.id,
                        provider_id=placement.provider_id, placement_type=placement.placement_type,
                        funding=placement.funding, need_band=parts.pop("need_band", "standard"),
                        start_date=start or placement.start_date, end_date=end,
                        core_weekly=(weekly_pounds or placement.weekly_cost // 100) * 100, source="entered", **parts)
    session.add(record)
    session.flush()
    return record


@pytest.fixture
def costed(session, region):
    """Twelve children's home placements across the two councils and three providers, all costed:
    Coventry has 7 (two providers), Warwickshire 5 (two providers); one costs £25,000 a week."""
    providers = [add_provider(session, region, f"Group {n}") for n in range(3)]
    homes = [add_home(session, region, p) for p in providers]
    coventry, warwickshire = region.councils
    plan = [(coventry, homes[0], 5000), (coventry, homes[0], 5500), (coventry, homes[1], 6000),
            (coventry, homes[1], 6200), (coventry, homes[0], 6400), (coventry, homes[1], 7000),
            (coventry, homes[0], 25000), (warwickshire, homes[1], 4800), (warwickshire, homes[2], 5900),
            (warwickshire, homes[2], 6100), (warwickshire, homes[1], 6600), (warwickshire, homes[2], 7100)]
    placements = []
    for council, home, pounds in plan:
        placement = add_placement(session, region, council, home, pounds)
        add_cost(session, placement)
        placements.append(placement)
    session.commit()
    return placements
