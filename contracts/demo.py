"""The demo's contracts: one block contract awarded from a past tender, with children placed
in it, and one tender open now with two lots. Built through the services, with ``now``
moved back for the past tender; dates are relative to today, choices fixed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.lifecycle import PLACED
from commissioning.models import Child, Home, Placement, Referral
from contracts.models import Lot, Tender
from contracts.services import bids, clarifications, evaluation, tenders
from contracts.services import contracts as contract_service
from contracts.services.common import aware
from rcc.audit import Actor, set_actor
from rcc.demo import DemoRegion
from rcc.models import utcnow
from rcc.roles import Role
from rcc.tenancy import TenantScope, current_scope, set_scope

QUESTIONS = [("How will you keep children safe, including from exploitation and going missing?", 40),
             ("How will you help children stay in education and reach their goals?", 30),
             ("How will you work with councils, health and families?", 30)]


def add_contracts(session: Session, region: DemoRegion) -> None:
    provider = region.providers[0]
    homes = _childrens_homes(session, provider.id)
    if len(homes) < 2:
        return  # the register has too few of this provider's homes to make a sensible demo contract
    today = utcnow().date()
    start = (today.replace(day=1) - timedelta(days=100)).replace(day=1)  # the 1st, about four months ago
    contract = _awarded_contract(session, region, homes, start)
    _children_in_block(session, region, contract, homes, start, today)
    _open_tender(session, region, utcnow())


def _childrens_homes(session: Session, provider_id: int | None) -> list[Home]:
    query = select(Home).where(Home.provider_id == provider_id, Home.placement_type == "childrens_home",
                               Home.registered_places >= 2).order_by(Home.id)
    return list(session.scalars(query))


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=utcnow().tzinfo)


def _as_provider(session: Session, region: DemoRegion, provider_id: int | None) -> TenantScope | None:
    """Act as the bidding provider; on PostgreSQL row-level security then checks every row written,
    so what the platform wrote so far is flushed first, and the provider's own rows are its own."""
    previous = current_scope(session)
    session.flush()
    set_scope(session, TenantScope.for_organisation("provider", provider_id or 0, region.rcc.id or 0))
    set_actor(session, Actor(None, provider_id, region.rcc.id))
    return previous


def _as_platform(session: Session, previous: TenantScope | None) -> None:
    session.flush()
    set_scope(session, previous or TenantScope.system())
    set_actor(session, Actor.platform())


def _awarded_contract(session: Session, region: DemoRegion, homes: list[Home], start: date):  # type: ignore[no-untyped-def]
    commissioner = next(p for p in region.people if Role.RCC_COMMISSIONER in p.roles)
    published = _at(start - timedelta(days=120), 9)
    tender = tenders.create_tender(session, region.rcc.id or 0, tenders.TenderDetails(
        "NWRCC-2026-01", "Children's homes for young people with complex needs",
        "Two-year block of children's home places close to home, across the North West.",
        published + timedelta(days=20), published + timedelta(days=30), start), commissioner.id)
    session.flush()
    price = max(homes[0].weekly_price or 0, 450000)
    lot = tenders.add_lot(session, tender, tenders.LotDetails(
        "Children's homes: central North West", "childrens_home", [c.id or 0 for c in region.councils[:4]],
        ["therapeutic_support", "going_missing"], 3, price + 50000, 24, 12, 1, 60, QUESTIONS), published)
    tenders.publish(session, tender, published)
    bidders = [(region.providers[0], homes[:2], price, [4, 4, 3])]
    for rival in region.providers[1:3]:
        rival_homes = _childrens_homes(session, rival.id)
        if rival_homes:
            bidders.append((rival, rival_homes[:1], price + 25000, [3, 3, 3]))
    placed = []
    for bidder, offered, bid_price, _marks in bidders:
        previous = _as_provider(session, region, bidder.id)
        bid = bids.submit_bid(session, lot, bids.BidDetails(
            bid_price, min(3, 2 * len(offered)), [h.id or 0 for h in offered],
            {q.id or 0: f"{bidder.name}'s answer: our approach, staffing and outcomes." for q in
             tenders.questions_of(session, lot)}, ""), None, published + timedelta(days=5))
        _as_platform(session, previous)
        placed.append(bid)
    evaluated = aware(tender.bids_close_at) + timedelta(days=2)
    tenders.start_evaluation(session, tender, evaluated)
    for bid, (_bidder, _offered, _price, marks) in zip(placed, bidders, strict=True):
        for question, mark in zip(tenders.questions_of(session, lot), marks, strict=True):
            evaluation.record_score(session, bid.id or 0, question.id or 0, commissioner.id or 0, mark,
                                    "Evidence is clear", evaluated)
            evaluation.moderate(session, bid.id or 0, question.id or 0, mark, "Agreed by the panel", commissioner.id,
                                evaluated)
    evaluation.decide_lot_award(session, lot, placed[0].id, "Highest total score, with strong safeguarding",
                                evaluated)
    evaluation.award_tender(session, tender, evaluated + timedelta(days=1))
    details = contract_service.details_from_award(session, lot, evaluated + timedelta(days=20))
    details.annual_uplift_bp = 250
    details.homes = {homes[0].id or 0: 2, homes[1].id or 0: 1}
    details.cost_shares_bp = {c.id or 0: 2500 for c in region.councils[:4]}
    contract = contract_service.create_contract_from_award(session, lot, details, commissioner.id,
                                                           evaluated + timedelta(days=20))
    contract_service.apply_due_uplifts(session, contract, utcnow().date())
    return contract


def _children_in_block(session: Session, region: DemoRegion, contract, homes: list[Home], start: date,  # type: ignore[no-untyped-def]
                       today: date) -> None:
    stays = [(homes[0], region.councils[0], start + timedelta(days=9), None, 14),
             (homes[0], region.councils[1], start + timedelta(days=20), today - timedelta(days=30), 15),
             (homes[1], region.councils[2], start + timedelta(days=40), None, 13)]
    for number, (home, council, begins, ends, age) in enumerate(stays, start=1):
        child = Child(rcc_id=region.rcc.id or 0, council_id=council.id or 0, reference=f"DEMO-BLOCK-{number:02d}",
                      initials="BK", birth_month=6, birth_year=today.year - age, sex="MF"[number % 2],
                      legal_status="C2", category_of_need="N1", home_postcode=home.postcode or "M1 1AE")
        session.add(child)
        session.flush()
        referral = Referral(rcc_id=child.rcc_id, council_id=child.council_id, child_id=child.id or 0,
                            placement_type="childrens_home", urgency="planned", date_needed=begins,
                            needs=["therapeutic_support"], status=PLACED, submitted_at=_at(begins - timedelta(days=14)),
                            created_at=_at(begins - timedelta(days=14)), status_changed_at=_at(begins))
        session.add(referral)
        session.flush()
        session.add(Placement(rcc_id=child.rcc_id, council_id=child.council_id, provider_id=home.provider_id,
                              referral_id=referral.id or 0, child_id=child.id or 0, home_id=home.id or 0,
                              placement_type="childrens_home", start_date=begins, end_date=ends,
                              end_reason="E11" if ends else None, weekly_cost=contract.weekly_price, funding="block",
                              block_contract_id=contract.id))
    session.flush()


def _open_tender(session: Session, region: DemoRegion, now: datetime) -> Tender:
    commissioner = next(p for p in region.people if Role.RCC_COMMISSIONER in p.roles)
    published = now - timedelta(days=3)
    tender = tenders.create_tender(session, region.rcc.id or 0, tenders.TenderDetails(
        "NWRCC-2027-02", "Places for teenagers and sibling groups, 2027 to 2029",
        "Children's home places for older teenagers and foster placements that keep brothers and sisters together.",
        _at((now + timedelta(days=10)).date(), 17), _at((now + timedelta(days=24)).date(), 12),
        (now + timedelta(days=120)).date().replace(day=1)), commissioner.id)
    session.flush()
    councils = [c.id or 0 for c in region.councils]
    lots: list[Lot] = [
        tenders.add_lot(session, tender, tenders.LotDetails(
            "Children's homes for 15 to 17 year olds", "childrens_home", councils[:6],
            ["therapeutic_support", "criminal_exploitation"], 6, 550000, 24, 12, 2, 60, QUESTIONS), published),
        tenders.add_lot(session, tender, tenders.LotDetails(
            "Foster care for sibling groups", "foster_care", councils[6:12], ["respite_worker"], 8,
            120000, 36, 12, 1, 50, [("How will you recruit and support carers for sibling groups?", 60),
                                    ("How will you keep children in their schools?", 40)]), published),
    ]
    tenders.publish(session, tender, published)
    clarifications.publish_answer(session, tender, "Can one bid cover both lots?",
                                  "No. Bid for each lot separately; you may bid for one or both.",
                                  published + timedelta(days=1))
    assert lots
    return tender
