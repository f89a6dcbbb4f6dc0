"""Fixtures for matching's platform tests: a region with homes and referrals, and sessions acting as people."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from commissioning.models import Home, Referral
from rcc.audit import Actor, set_actor
from rcc.db import Session
from rcc.models import User
from rcc.roles import Role
from rcc.web import scope_for
from tests.factories import Region, make_region
from tests.matching import builders


@dataclass
class Scenario:
    region: Region
    homes: list[Home]
    referrals: list[Referral]

    @property
    def officer(self) -> User:
        return self.region.people[Role.RCC_PLACEMENT_OFFICER]

    @property
    def council_officer(self) -> User:
        return self.region.people[Role.COUNCIL_PLACEMENT_OFFICER]

    @property
    def provider_manager(self) -> User:
        return self.region.people[Role.PROVIDER_MANAGER]


@pytest.fixture
def region(setup_session) -> Region:
    return make_region(setup_session, "M", ("Coventry", "Warwickshire"))


@pytest.fixture
def scenario(setup_session, region) -> Scenario:
    """Two homes near Coventry, three children of the first council (one will not fit anywhere)."""
    provider = region.provider
    council = region.councils[0]
    homes = [
        builders.add_home(setup_session, provider, "Elm House", postcode="CV1 2AB", places_free=1),
        builders.add_home(setup_session, provider, "Oak Lodge", postcode="CV6 1AA", places_free=1,
                          weekly_price=450_000),
    ]
    referrals = [
        builders.add_referral(setup_session, council, "COV-0001", postcode="CV2 4AA", initials="AB"),
        builders.add_referral(setup_session, council, "COV-0002", postcode="CV5 6AA", initials="CD", sex="M",
                              age=12),
        builders.add_referral(setup_session, council, "COV-0003", postcode="CV4 7AL", initials="EF",
                              placement_type="secure", needs=("home_adaptation",)),
    ]
    setup_session.commit()
    return Scenario(region, homes, referrals)


@pytest.fixture
def session_for(app) -> Iterator[Callable[[User], Session]]:
    """``session_for(user)`` is a session on the app's engine scoped and attributed as ``user``."""
    opened: list[Session] = []

    def make(user: User) -> Session:
        session = app.extensions["rcc_sessions"]()
        from rcc.tenancy import set_scope

        set_scope(session, scope_for(user))
        set_actor(session, Actor(user.id, user.organisation_id, user.rcc_id, "test"))
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()
