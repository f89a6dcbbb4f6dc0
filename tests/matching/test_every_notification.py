"""A week in one region, walking the issue's list of notifications: each step's event tells exactly the
people it should, once, and nobody else: not another provider, not another council, not another RCC.

Offer sent, answered, proposal to approve, placement approved and ended, offer expiring and expired,
run failed, vacancy stale, tender published, question answered, deadline tomorrow, tender closed,
evaluation due and result are walked here, through the services and the tick. The sibling-group offer
(tests/matching/test_group_offer_notifications.py) and high-cost review due
(tests/cost_transparency/test_deadlines.py) need worlds of their own and are tested there, with the same
exactly-once, right-people-only assertions.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from commissioning.services.placements import end_placement
from commissioning.vocabulary import STALE_AFTER_DAYS
from contracts.services import clarifications, evaluation, tenders
from matching.models import Offer, Proposal
from matching.services import approvals, jobs, offers, review, runs
from rcc import users
from rcc.db import transaction
from rcc.notification_models import Notification
from rcc.notifications import Event
from rcc.roles import Role
from tests.contracts.helpers import bid_for, make_home, moderate_all, published_tender
from tests.factories import make_region, make_user

WALKED = {Event.OFFER_SENT, Event.OFFER_ANSWERED, Event.PROPOSAL_TO_APPROVE, Event.PLACEMENT_APPROVED,
          Event.PLACEMENT_ENDED, Event.OFFER_EXPIRING, Event.OFFER_EXPIRED, Event.RUN_FAILED, Event.VACANCY_STALE,
          Event.TENDER_PUBLISHED, Event.QUESTION_ANSWERED, Event.TENDER_DEADLINE_TOMORROW, Event.TENDER_CLOSED,
          Event.EVALUATION_DUE, Event.TENDER_RESULT}
TESTED_ELSEWHERE = {Event.GROUP_OFFER_SENT: "tests/matching/test_group_offer_notifications.py",
                    Event.GROUP_OFFER_ANSWERED: "tests/matching/test_group_offer_notifications.py",
                    Event.HIGH_COST_REVIEW_DUE: "tests/cost_transparency/test_deadlines.py",
                    Event.EMERGENCY_ESCALATION: "tests/matching/test_deadlines.py",
                    Event.REFERRAL_PACK_RELEASED: "tests/matching/test_referral_packs.py",
                    Event.INVITATION: "tests/rcc/test_onboarding.py",
                    Event.PASSWORD_RESET: "tests/rcc/test_onboarding.py",
                    Event.JOIN_REQUEST_RECEIVED: "tests/commissioning/test_onboarding.py"}


from tests.rcc.outbox import outbox  # noqa: E402,F401 - every test here uses the outbox


class Told:
    """What was told since the last look: (event, person) -> how many times."""

    def __init__(self, session) -> None:
        self.session, self.seen = session, 0

    def since(self) -> Counter:
        self.session.expire_all()
        rows = list(self.session.scalars(select(Notification).where(Notification.id > self.seen)
                                         .order_by(Notification.id)))
        self.seen = max([self.seen, *(int(n.id) for n in rows)])
        return Counter((n.event, n.user_id) for n in rows)


def tick(app, at: datetime) -> None:
    result = app.test_cli_runner().invoke(args=["tick", "--now", at.astimezone(UTC).replace(tzinfo=None).isoformat()])
    assert result.exit_code == 0, result.output


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_the_walk_covers_every_event():
    assert WALKED | set(TESTED_ELSEWHERE) == set(Event)


def test_a_week_in_a_region_tells_each_event_once_to_the_right_people_only(app, session_for, scenario, setup_session):
    s, region = setup_session, scenario.region
    manager, officer, council = scenario.provider_manager, scenario.officer, scenario.council_officer
    commissioner = region.people[Role.RCC_COMMISSIONER]
    other_provider = users.add_provider(s, region.rcc, "Elsewhere Care Ltd", "private")
    s.flush()
    other_manager = make_user(s, other_provider, Role.PROVIDER_MANAGER, "elsewhere-manager")
    elsewhere = make_region(s, "Z", ("Solihull", "Walsall"))
    s.commit()
    never_told = {*(p.id for p in region.other_council_people.values()), *(p.id for p in elsewhere.people.values()),
                  *(p.id for p in elsewhere.other_council_people.values())}
    told = Told(s)

    # Matching: a run, and the RCC offers both children it placed.
    session = session_for(officer)
    with transaction(session):
        started = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    jobs.perform_run(app.extensions["rcc_sessions"], started.id, officer.rcc_id, officer.id)
    proposals = list(s.scalars(select(Proposal).where(Proposal.run_id == started.id, Proposal.home_id.is_not(None))
                               .order_by(Proposal.id)))
    assert len(proposals) == 2, [p.referral_id for p in proposals]
    with transaction(session):
        first = review.accept_proposal(session, session.get(Proposal, proposals[0].id))
    with transaction(session):
        second = review.accept_proposal(session, session.get(Proposal, proposals[1].id))
    assert told.since() == Counter({(Event.OFFER_SENT, manager.id): 2})  # one per offer

    provider = session_for(manager)
    with transaction(provider):
        offers.accept_offer(provider, offers.get_offer(provider, first.id))
    assert told.since() == Counter({(Event.OFFER_ANSWERED, officer.id): 1, (Event.PROPOSAL_TO_APPROVE, council.id): 1})

    council_session = session_for(council)
    with transaction(council_session):
        placement = approvals.approve_offer(council_session, offers.get_offer(council_session, first.id),
                                            date.today(), 480_000)
    assert told.since() == Counter({(Event.PLACEMENT_APPROVED, manager.id): 1,
                                    (Event.PLACEMENT_APPROVED, officer.id): 1})
    with transaction(council_session):
        end_placement(council_session, placement, date.today(), "CARPL")
    assert told.since() == Counter({(Event.PLACEMENT_ENDED, manager.id): 1, (Event.PLACEMENT_ENDED, officer.id): 1})

    # The second offer is never answered: the RCC is warned, then told it expired; each once.
    respond_by = aware(s.get(Offer, second.id).respond_by)
    tick(app, respond_by - timedelta(minutes=30))
    tick(app, respond_by - timedelta(minutes=20))
    assert told.since() == Counter({(Event.OFFER_EXPIRING, officer.id): 1})
    tick(app, respond_by)
    tick(app, respond_by + timedelta(minutes=1))
    assert told.since() == Counter({(Event.OFFER_EXPIRED, officer.id): 1})

    # A run that fails.
    with transaction(session):
        failing = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    with transaction(session):
        runs.record_failure(session, failing, "the solver crashed")
    assert told.since() == Counter({(Event.RUN_FAILED, officer.id): 1})

    # A week on, nobody has confirmed the provider's places: its manager is asked, once per vacancy.
    week_on = datetime.now(UTC) + timedelta(days=STALE_AFTER_DAYS, hours=1)
    tick(app, week_on)
    tick(app, week_on + timedelta(minutes=1))
    assert told.since() == Counter({(Event.VACANCY_STALE, manager.id): len(scenario.homes)})

    # A tender: every provider of the RCC hears of it and its answers; bidders of the close; evaluators
    # that evaluation is due; each bidder of its own result.
    tender, lot = published_tender(s, region)
    s.commit()
    assert told.since() == Counter({(Event.TENDER_PUBLISHED, manager.id): 1, (Event.TENDER_PUBLISHED, other_manager.id): 1})
    clarifications.publish_answer(s, tender, "Can homes be outside the region?", "No.",
                                  tender.clarification_closes_at - timedelta(days=1))
    bid = bid_for(s, region.provider, lot, 500000, [make_home(s, region.provider, "Ash")])
    s.commit()
    assert told.since() == Counter({(Event.QUESTION_ANSWERED, manager.id): 1,
                                    (Event.QUESTION_ANSWERED, other_manager.id): 1})
    closes = aware(tender.bids_close_at)
    tick(app, closes - timedelta(hours=20))
    tick(app, closes - timedelta(hours=10))
    assert told.since() == Counter({(Event.TENDER_DEADLINE_TOMORROW, manager.id): 1,
                                    (Event.TENDER_DEADLINE_TOMORROW, other_manager.id): 1})
    tick(app, closes)
    tick(app, closes + timedelta(minutes=1))
    assert told.since() == Counter({(Event.TENDER_CLOSED, manager.id): 1, (Event.EVALUATION_DUE, commissioner.id): 1})
    later = closes + timedelta(hours=1)
    s.refresh(tender)
    tenders.start_evaluation(s, tender, later)
    moderate_all(s, lot, commissioner.id, {bid.id: [4, 4]}, later)
    evaluation.decide_lot_award(s, lot, bid.id, "The only bid, and a good one", later)
    evaluation.award_tender(s, tender, later)
    s.commit()
    assert told.since() == Counter({(Event.TENDER_RESULT, manager.id): 1})

    # Nobody outside the region's own people was told anything, ever.
    s.expire_all()
    everyone = {n.user_id for n in s.scalars(select(Notification))}
    assert not everyone & never_told
    assert {n.event for n in s.scalars(select(Notification))} == {str(e) for e in WALKED}
