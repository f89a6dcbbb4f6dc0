"""A region with commissioning's services acting as its council, for service tests."""

from __future__ import annotations

import pytest

from rcc.audit import Actor, set_actor
from rcc.roles import Role
from tests.factories import make_region


@pytest.fixture
def region(app, setup_session):
    return make_region(setup_session, "T", ("Coventry", "Warwickshire"))


@pytest.fixture
def session(setup_session, region):
    """The set-up session acting as the region's council placement officer (for who-did-what)."""
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    set_actor(setup_session, Actor(officer.id, officer.organisation_id, officer.rcc_id))
    return setup_session
