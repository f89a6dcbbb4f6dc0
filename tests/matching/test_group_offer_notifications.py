"""An offer of brothers and sisters is told as one: the provider once for the whole group (not once per
child), the RCC once when it is answered, and, if accepted, the children's own council once per child
to approve; nobody else (another provider, another council) is told anything."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from matching.services import offers
from rcc import users
from rcc.db import transaction
from rcc.notification_models import Notification
from rcc.roles import Role
from tests.factories import make_user
from tests.matching.test_group_offers import _group_offered, siblings  # noqa: F401 - the fixture
from tests.rcc.outbox import outbox  # noqa: E402,F401 - every test here uses the outbox


@pytest.fixture
def bystanders(setup_session, scenario):
    """Another provider's manager and the other council's placement officer: never told."""
    other = users.add_provider(setup_session, scenario.region.rcc, "Elsewhere Care Ltd", "private")
    setup_session.flush()
    people = [make_user(setup_session, other, Role.PROVIDER_MANAGER, "elsewhere-manager"),
              make_user(setup_session, scenario.region.councils[1], Role.COUNCIL_PLACEMENT_OFFICER, "other-council")]
    setup_session.commit()
    return people


def told(setup_session) -> Counter:
    setup_session.expire_all()
    return Counter((n.event, n.user_id) for n in setup_session.scalars(select(Notification)))


def test_a_group_offer_is_told_once_and_its_acceptance_once(app, session_for, scenario, siblings,  # noqa: F811
                                                            setup_session, bystanders):
    _session, _proposals, offer = _group_offered(app, session_for, scenario, siblings)
    manager, officer, council = scenario.provider_manager, scenario.officer, scenario.council_officer
    assert told(setup_session) == Counter({("group_offer_sent", manager.id): 1})
    [notice] = setup_session.scalars(select(Notification))
    assert notice.title == "2 brothers and sisters are offered to Beech House together"
    assert "SIS-1" not in notice.body + notice.title + str(notice.personalisation)  # no child's reference
    assert notice.link.startswith("/offers-for-your-homes/")
    assert notice.personalisation["link"] == "http://localhost:5000" + notice.link  # the email's link is absolute

    provider = session_for(manager)
    with transaction(provider):
        offers.accept_offer(provider, offers.get_offer(provider, offer.id))
    assert told(setup_session) == Counter({("group_offer_sent", manager.id): 1,
                                           ("group_offer_answered", officer.id): 1,
                                           ("proposal_to_approve", council.id): 2})  # one per child's placement
    answered = setup_session.scalars(select(Notification).where(Notification.event == "group_offer_answered")).one()
    assert answered.title == "Beech House has accepted an offer of brothers and sisters"
    assert not {user for _, user in told(setup_session)} & {b.id for b in bystanders}


def test_a_declined_group_offer_tells_the_rcc_once_and_no_council(app, session_for, scenario, siblings,  # noqa: F811
                                                                 setup_session, bystanders):
    _session, _proposals, offer = _group_offered(app, session_for, scenario, siblings)
    provider = session_for(scenario.provider_manager)
    with transaction(provider):
        offers.decline_offer(provider, offers.get_offer(provider, offer.id), "no_place", "")
    assert told(setup_session) == Counter({("group_offer_sent", scenario.provider_manager.id): 1,
                                           ("group_offer_answered", scenario.officer.id): 1})
