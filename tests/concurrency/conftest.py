"""Fixtures for the races: how many tries, and the people racing (two of each kind)."""

from __future__ import annotations

import pytest

from rcc.models import User
from rcc.roles import Role
from tests.factories import Region, make_region, make_user

# PostgreSQL lets requests overlap for real; SQLite runs one writer at a time, so fewer tries
# show the same rules hold there.
POSTGRES_TRIES = 50
SQLITE_TRIES = 5


@pytest.fixture
def tries(is_postgres: bool) -> int:
    return POSTGRES_TRIES if is_postgres else SQLITE_TRIES


@pytest.fixture
def region(setup_session) -> Region:
    return make_region(setup_session, "R", ("Coventry", "Warwickshire"))


@pytest.fixture
def rcc_officers(setup_session, region) -> list[User]:
    second = make_user(setup_session, region.rcc, Role.RCC_PLACEMENT_OFFICER, "R-second-rcc-officer")
    setup_session.commit()
    return [region.people[Role.RCC_PLACEMENT_OFFICER], second]


@pytest.fixture
def council_officers(setup_session, region) -> list[User]:
    second = make_user(setup_session, region.councils[0], Role.COUNCIL_PLACEMENT_OFFICER, "R-second-officer")
    setup_session.commit()
    return [region.people[Role.COUNCIL_PLACEMENT_OFFICER], second]


@pytest.fixture
def provider_managers(setup_session, region) -> list[User]:
    second = make_user(setup_session, region.provider, Role.PROVIDER_MANAGER, "R-second-manager")
    setup_session.commit()
    return [region.people[Role.PROVIDER_MANAGER], second]
