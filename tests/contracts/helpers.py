"""Builders for contracts tests: tenders with lots, providers' homes, bids, placements."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from commissioning.models import Child, Home, Placement, Referral
from contracts.services import bids, evaluation, tenders
from contracts.services.contracts import ContractDetails, create_contract
from rcc import users
from rcc.models import Organisation
from rcc.tenancy import TenantScope, current_scope, set_scope
from tests.factories import Region

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@contextlib.contextmanager
def acting_as(session: Session, organisation: Organisation) -> Iterator[Session]:
    """Run services as ``organisation`` would, then go back to the platform's view."""
    previous = current_scope(session)
    set_scope(session, TenantScope.for_organisation(organisation.kind, organisation.id,
                                                    organisation.rcc_id))  # type: ignore[arg-type]
    try:
        yield session
    finally:
        set_scope(session, previous or TenantScope.system())


def make_home(session: Session, provider: Organisation, name: str, placement_type: str = "childrens_home",
              urn: str | None = None) -> Home:
    home = Home(rcc_id=provider.rcc_id, provider_id=provider.id, ofsted_urn=urn or f"SC-{name[:17]}",
                name=name, placement_type=placement_type, local_authority="Coventry", postcode="CV1 2AA",
                latitude=52.41, longitude=-1.51, registered_places=4, weekly_price=500000,
                needs_met=["therapeutic_support"])
    session.add(home)
    session.flush()
    return home


def tender_details(reference: str = "NW-2027-01", now: datetime = NOW, title: str = "Children's homes block") -> Any:
    return tenders.TenderDetails(reference, title, "Places near home for children with complex needs",
                                 now + timedelta(days=10), now + timedelta(days=20), (now + timedelta(days=60)).date())


def lot_details(region: Region, title: str = "Lot: Coventry and Warwickshire", price_weight: int = 60,
                questions: list[tuple[str, int | None]] | None = None) -> tenders.LotDetails:
    return tenders.LotDetails(title, "childrens_home", [c.id for c in region.councils], ["therapeutic_support"],
                              4, 600000, 24, 12, 2, price_weight,
                              questions or [("How will you keep children safe?", 60), ("How will you support education?", 40)])


def published_tender(session: Session, region: Region, now: datetime = NOW,
                     reference: str = "NW-2027-01") -> tuple[Any, Any]:
    tender = tenders.create_tender(session, region.rcc.id, tender_details(reference, now), None)
    session.flush()
    lot = tenders.add_lot(session, tender, lot_details(region), now)
    tenders.publish(session, tender, now)
    session.flush()
    return tender, lot


def add_provider(session: Session, region: Region, name: str) -> Organisation:
    provider = users.add_provider(session, region.rcc, name, "private")
    session.flush()
    return provider


def bid_for(session: Session, provider: Organisation, lot: Any, price: int, homes: list[Home],
            now: datetime = NOW, places: int = 2) -> Any:
    questions = tenders.questions_of(session, lot)
    with acting_as(session, provider):
        return bids.submit_bid(session, lot, bids.BidDetails(
            price, places, [h.id for h in homes], {q.id: f"Our answer to {q.number}" for q in questions},
            "Summary"), None, now)


def moderate_all(session: Session, lot: Any, evaluator_id: int, marks: dict[int, list[int]], now: datetime) -> None:
    """``marks`` maps bid id to its marks in question order."""
    questions = tenders.questions_of(session, lot)
    for bid_id, bid_marks in marks.items():
        for question, mark in zip(questions, bid_marks, strict=True):
            evaluation.record_score(session, bid_id, question.id, evaluator_id, mark, "", now)
            evaluation.moderate(session, bid_id, question.id, mark, "Agreed at moderation", evaluator_id, now)


def make_contract(session: Session, region: Region, provider: Organisation, homes: list[tuple[Home, int]],
                  start: date, end: date, weekly_price: int, uplift_bp: int = 0, reference: str = "BC-1") -> Any:
    return create_contract(session, region.rcc.id, ContractDetails(
        reference, f"Block contract {reference}", provider.id, "childrens_home", start, end, weekly_price, uplift_bp,
        {h.id: places for h, places in homes},
        {region.councils[0].id: 6000, region.councils[1].id: 4000}), None)


def make_placement(session: Session, region: Region, home: Home, start: date, end: date | None,
                   funding: str = "block", contract_id: int | None = None, weekly_cost: int = 420000,
                   council: Organisation | None = None, reference: str | None = None) -> Placement:
    council = council or region.councils[0]
    child = Child(rcc_id=region.rcc.id, council_id=council.id, reference=reference or f"C-{start}-{home.id}-{funding}",
                  birth_month=1, birth_year=2012, sex="F", legal_status="C2", category_of_need="N1",
                  home_postcode="CV1 2AA")
    session.add(child)
    session.flush()
    referral = Referral(rcc_id=region.rcc.id, council_id=council.id, child_id=child.id,
                        placement_type=home.placement_type, urgency="planned", date_needed=start, status="placed")
    session.add(referral)
    session.flush()
    placement = Placement(rcc_id=region.rcc.id, council_id=council.id, provider_id=home.provider_id,
                          referral_id=referral.id, child_id=child.id, home_id=home.id,
                          placement_type=home.placement_type, start_date=start, end_date=end, weekly_cost=weekly_cost,
                          funding=funding, block_contract_id=contract_id)
    session.add(placement)
    session.flush()
    return placement
