"""Tendering's notifications, through its services: every provider hears of a tender and its published
answers; each bidder hears its own result and nobody else's; each event once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from contracts.services import clarifications, evaluation, tenders
from rcc.notification_models import Notification
from rcc.roles import Role
from tests.contracts.helpers import add_provider, bid_for, make_home, moderate_all, published_tender
from tests.factories import make_region, make_user


def told(session) -> Counter:
    return Counter((n.event, n.user_id) for n in session.scalars(select(Notification)))


def test_tender_published_answered_and_result(setup_session):
    s = setup_session
    region = make_region(s, "T", ("Coventry", "Warwickshire"))
    rival = add_provider(s, region, "Rival Care Ltd")
    bystander = add_provider(s, region, "Bystander Homes Ltd")
    ours = region.people[Role.PROVIDER_MANAGER]
    rival_manager = make_user(s, rival, Role.PROVIDER_MANAGER, "rival-manager")
    bystander_manager = make_user(s, bystander, Role.PROVIDER_MANAGER, "bystander-manager")
    elsewhere = make_region(s, "E", ("Leicester", "Rutland"))  # another RCC's provider hears nothing
    providers = (ours, rival_manager, bystander_manager)

    tender, lot = published_tender(s, region)
    assert told(s) == Counter({("tender_published", p.id): 1 for p in providers})

    asked_at = tender.clarification_closes_at - timedelta(days=1)
    clarifications.publish_answer(s, tender, "Can homes be outside the region?", "No.", asked_at)
    cheap = bid_for(s, rival, lot, 450000, [make_home(s, rival, "Elm")])
    good = bid_for(s, region.provider, lot, 500000, [make_home(s, region.provider, "Oak")])
    later = tender.bids_close_at + timedelta(hours=1)
    tenders.start_evaluation(s, tender, later)
    moderate_all(s, lot, region.people[Role.RCC_COMMISSIONER].id, {cheap.id: [2, 2], good.id: [5, 4]}, later)
    evaluation.decide_lot_award(s, lot, good.id, "Highest total score", later)
    evaluation.award_tender(s, tender, later)
    s.flush()

    assert told(s) == Counter({
        **{("tender_published", p.id): 1 for p in providers},
        **{("question_answered", p.id): 1 for p in providers},
        ("tender_result", ours.id): 1, ("tender_result", rival_manager.id): 1,
    })
    results = {n.user_id: n.body for n in s.scalars(select(Notification).where(Notification.event == "tender_result"))}
    assert "lot 1: your bid was successful" in results[ours.id]
    assert "not successful" in results[rival_manager.id] and "was successful" not in results[rival_manager.id]
    assert not {user.id for user in elsewhere.people.values()} & {user_id for _, user_id in told(s)}
