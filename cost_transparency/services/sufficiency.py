"""Sufficiency: is there enough of the right kind of home in the right places, on a given day?

The snapshot counts, per placement type: children placed (in and out of their council's own
area), how far from home (median miles, share over 20 miles), registered places, vacancies,
free block-contract places and unmatched referrals. It reads the session as given, so an RCC
sees the region and a council would see its own children.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.lifecycle import IN_MATCHING, OFFERED, PROPOSAL_APPROVED, SUBMITTED
from commissioning.models import Child, FosterHousehold, Home, Placement, Referral
from commissioning.services import supply_history
from commissioning.vocabulary import PLACEMENT_TYPES
from cost_transparency.services import statistics
from rcc.geography import Point, great_circle_miles
from rcc.models import Organisation

FAR_MILES = 20
WAITING = (SUBMITTED, IN_MATCHING, OFFERED, PROPOSAL_APPROVED)


@dataclass
class TypeSufficiency:
    placement_type: str
    placed: int = 0
    in_area: int = 0
    out_of_area: int = 0
    distances: list[float] = field(default_factory=list)
    homes: int = 0
    registered_places: int = 0
    vacancies: int = 0
    block_places: int = 0
    block_places_used: int = 0
    waiting: int = 0

    @property
    def free_block_places(self) -> int:
        return max(self.block_places - self.block_places_used, 0)

    @property
    def median_miles(self) -> float | None:
        if not self.distances:
            return None
        return float(statistics.quantile_exact([round(d * 10) for d in self.distances], Fraction(1, 2))) / 10

    @property
    def share_far(self) -> float | None:
        if not self.distances:
            return None
        return 100 * sum(1 for d in self.distances if d > FAR_MILES) / len(self.distances)

    @property
    def out_of_area_share(self) -> float | None:
        return 100 * self.out_of_area / self.placed if self.placed else None


@dataclass
class Snapshot:
    on: date
    council: Organisation | None
    by_type: dict[str, TypeSufficiency]
    unmatched_in_last_run: int | None = None
    last_run_on: date | None = None
    shortages: list[dict] = field(default_factory=list)

    @property
    def totals(self) -> TypeSufficiency:
        total = TypeSufficiency("all")
        for row in self.by_type.values():
            for name in ("placed", "in_area", "out_of_area", "homes", "registered_places", "vacancies",
                         "block_places", "block_places_used", "waiting"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
            total.distances.extend(row.distances)
        return total


def snapshot(session: Session, on: date, council: Organisation | None = None) -> Snapshot:
    """The region's position on ``on``, or a council's: its own children, and the supply in its area."""
    rows = {kind: TypeSufficiency(kind) for kind in PLACEMENT_TYPES}
    _placements(session, on, council, rows)
    area = council.name if council is not None else None
    _supply(session, on, rows, area)
    for kind, reserved, used in block_capacity(session, on, area):
        row = rows.setdefault(kind, TypeSufficiency(kind))
        row.block_places += reserved
        row.block_places_used += used
    _waiting(session, on, council, rows)
    result = Snapshot(on, council, rows)
    _matching(session, result)
    return result


def local_places(session: Session, on: date) -> dict[str, dict[str, int]]:
    """Area (local authority) → placement type → registered places in homes there, on ``on``, and for
    foster care the places of approved foster households there (``approved_households``)."""
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for home in supply_history.on(session, on) if on < date.today() else supply_history.now(session, on):
        found[home.local_authority][home.placement_type] += home.registered_places
    for area, places, _free in approved_households(session, on):
        found[area][FOSTER] += places
    return {area: dict(by_type) for area, by_type in found.items()}


FOSTER = "foster_care"


def approved_households(session: Session, on: date, area: str | None = None) -> list[tuple[str, int, int]]:
    """(local authority, places approved, places free) of each foster household approved now and
    recorded on or before ``on`` (a household's status history is not kept: one approved now counts from
    when it was recorded); in ``area`` if given. In-house and agency households alike."""

    query = select(FosterHousehold.local_authority, FosterHousehold.max_children, FosterHousehold.places_free,
                   FosterHousehold.created_at).where(FosterHousehold.status == "approved")
    if area is not None:
        query = query.where(FosterHousehold.local_authority == area)
    return [(authority, places, free) for authority, places, free, created in session.execute(query)
            if created is None or created.date() <= on]


def _placements(session: Session, on: date, council: Organisation | None, rows: dict[str, TypeSufficiency]) -> None:
    query = (select(Placement, Child, Home, Organisation.name)
             .join(Child, Child.id == Placement.child_id)
             .join(Home, Home.id == Placement.home_id)
             .join(Organisation, Organisation.id == Placement.council_id)
             .where(col(Placement.start_date) <= on, (col(Placement.end_date).is_(None)) | (col(Placement.end_date) >= on)))
    if council is not None:
        query = query.where(Placement.council_id == council.id)
    for placement, child, home, council_name in session.execute(query):
        row = rows.setdefault(placement.placement_type, TypeSufficiency(placement.placement_type))
        row.placed += 1
        if home.local_authority == council_name:
            row.in_area += 1
        else:
            row.out_of_area += 1
        if None not in (child.home_latitude, child.home_longitude, home.latitude, home.longitude):
            row.distances.append(great_circle_miles(Point(child.home_latitude, child.home_longitude),  # type: ignore[arg-type]
                                                    Point(home.latitude, home.longitude)))  # type: ignore[arg-type]


def _supply(session: Session, on: date, rows: dict[str, TypeSufficiency], area: str | None = None) -> None:
    """Homes, registered places and vacancies: the register as it stands for today or later, and as
    recorded at the end of ``on`` (the supply history) for a past day; in ``area`` (a local
    authority) if given. Block places are those of contracts running that day. Approved foster
    households add their places to foster care's (and, for today or later, their free places)."""
    for home in supply_history.on(session, on) if on < date.today() else supply_history.now(session, on):
        if area is not None and home.local_authority != area:
            continue
        row = rows.setdefault(home.placement_type, TypeSufficiency(home.placement_type))
        row.homes += 1
        row.registered_places += home.registered_places
        row.vacancies += home.places_free
    foster = rows.setdefault(FOSTER, TypeSufficiency(FOSTER))
    for _authority, places, free in approved_households(session, on, area):
        foster.registered_places += places  # approved places: a household is not a registered home
        if on >= date.today():  # a household's free places are known now, not for past days
            foster.vacancies += free


def block_capacity(session: Session, on: date, area: str | None = None) -> list[tuple[str, int, int]]:
    """(placement type, places reserved, places in use) for each block contract running on ``on``; with
    ``area``, only the places reserved in homes in that local authority."""
    try:
        from contracts.models import BlockContract, ContractHome  # noqa: PLC0415 - read only, optional
    except ImportError:  # pragma: no cover
        return []
    contracts = list(session.scalars(select(BlockContract).where(col(BlockContract.start_date) <= on,
                                                                 col(BlockContract.end_date) >= on)))
    if not contracts:
        return []
    ids = [c.id for c in contracts]
    reserved: dict[int, int] = defaultdict(int)
    query = select(ContractHome).where(col(ContractHome.contract_id).in_(ids))
    if area is not None:
        query = query.join(Home, Home.id == ContractHome.home_id).where(Home.local_authority == area)
    for line in session.scalars(query):
        reserved[line.contract_id] += line.reserved_places
    used: dict[int, int] = defaultdict(int)
    in_use = select(Placement.block_contract_id).where(
        col(Placement.block_contract_id).in_(ids), col(Placement.start_date) <= on,
        (col(Placement.end_date).is_(None)) | (col(Placement.end_date) >= on))
    if area is not None:
        in_use = in_use.join(Home, Home.id == Placement.home_id).where(Home.local_authority == area)
    for contract_id in session.scalars(in_use):
        used[contract_id] += 1
    return [(c.placement_type, reserved[c.id or 0], min(used[c.id or 0], reserved[c.id or 0])) for c in contracts
            if area is None or reserved[c.id or 0]]


def _waiting(session: Session, on: date, council: Organisation | None, rows: dict[str, TypeSufficiency]) -> None:
    query = select(Referral).where(col(Referral.status).in_(WAITING))
    if council is not None:
        query = query.where(Referral.council_id == council.id)
    for referral in session.scalars(query):
        if referral.submitted_at is None or referral.submitted_at.date() <= on:
            rows.setdefault(referral.placement_type, TypeSufficiency(referral.placement_type)).waiting += 1


def _matching(session: Session, result: Snapshot) -> None:
    """The latest finished matching run on or before the day: children it could not place, and shortages."""
    from matching.models import DONE, MatchingRun, Proposal  # noqa: PLC0415 - read only
    from matching.services.shortage import shortage_report  # noqa: PLC0415

    runs = session.scalars(select(MatchingRun).where(MatchingRun.stage == DONE)
                           .order_by(col(MatchingRun.created_at).desc(), col(MatchingRun.id).desc()))
    run = next((r for r in runs if r.result and r.created_at.date() <= result.on), None)
    if run is None:
        return
    report = shortage_report(session, run)
    result.last_run_on = run.created_at.date()
    lines = [line for line in report.lines if result.council is None or line.area == result.council.name]
    if result.council is None:
        result.unmatched_in_last_run = report.unmatched_children
    else:  # the council's own children only
        result.unmatched_in_last_run = session.scalar(select(func.count(Proposal.id)).where(
            Proposal.run_id == run.id, col(Proposal.home_id).is_(None), Proposal.council_id == result.council.id))
    result.shortages = [{"placement_type": line.placement_type, "need": line.need, "area": line.area,
                         "children": line.children, "rules": line.rules_text} for line in lines[:15]]
