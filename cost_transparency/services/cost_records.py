"""Cost records: what each placement costs a week, split into parts, over date ranges.

A record is derived from the placement's price (its block contract's price in force on the
start date, or the spot price agreed) or entered by the council. A placement's records never
overlap in time, so on any day at most one says what the placement costs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Placement, Referral
from cost_transparency.models import CostRecord, HighCostReview
from cost_transparency.services import high_cost_review
from cost_transparency.vocabulary import NEED_BANDS, need_band_for
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import FieldErrors, NotFound
from rcc.models import utcnow
from rcc.numbers import MAX_WEEKLY_PENCE
from rcc.tenancy import OrgKind, current_scope
from rcc.versions import save_edit

AMOUNT_FIELDS = ("core_weekly", "additional_support_weekly", "education_weekly", "health_weekly",
                 "nhs_contribution_weekly", "education_contribution_weekly")


@dataclass(frozen=True)
class CostDetails:
    start_date: date | None
    end_date: date | None
    core_weekly: int | None
    additional_support_weekly: int = 0
    education_weekly: int = 0
    health_weekly: int = 0
    nhs_contribution_weekly: int = 0
    education_contribution_weekly: int = 0
    need_band: str = "standard"
    notes: str = ""

    @property
    def gross_weekly(self) -> int:
        return ((self.core_weekly or 0) + self.additional_support_weekly + self.education_weekly
                + self.health_weekly)


def check_details(details: CostDetails, placement: Placement) -> dict[str, str]:
    """Field errors, named as the form and the CSV name them; empty if all is well."""
    errors: dict[str, str] = {}
    if details.start_date is None:
        errors["start_date"] = "Enter the date this cost starts"
    elif details.start_date < placement.start_date:
        errors["start_date"] = (f"The cost cannot start before the placement did "
                                f"({placement.start_date:%-d %B %Y})")
    if details.end_date is not None and details.start_date is not None and details.end_date < details.start_date:
        errors["end_date"] = "The end date must be the same as or after the start date"
    elif details.end_date is not None and placement.end_date is not None and details.end_date > placement.end_date:
        errors["end_date"] = f"The cost cannot end after the placement did ({placement.end_date:%-d %B %Y})"
    if details.core_weekly is None or details.core_weekly <= 0:
        errors["core_weekly"] = "Enter the core weekly cost in pounds, more than £0"
    for name in AMOUNT_FIELDS[1:]:
        value = getattr(details, name)
        if value is None or value < 0:
            errors[name] = "Enter an amount in pounds, £0 or more"
    if "core_weekly" not in errors and details.gross_weekly > MAX_WEEKLY_PENCE:
        errors["core_weekly"] = "The weekly cost adds up to more than £100,000 a week; check the amounts"
    contributions = (details.nhs_contribution_weekly or 0) + (details.education_contribution_weekly or 0)
    if not errors and contributions > details.gross_weekly:
        errors["nhs_contribution_weekly"] = "Contributions from other bodies cannot be more than the weekly cost"
    if details.need_band not in NEED_BANDS:
        errors["need_band"] = "Select a need band"
    if len(details.notes or "") > 2000:
        errors["notes"] = "Notes must be 2,000 characters or fewer"
    return errors


def overlapping(records: list[CostRecord], details: CostDetails, ignore_id: int | None = None) -> CostRecord | None:
    start = details.start_date or date.min
    end = details.end_date or date.max
    for record in records:
        if record.id == ignore_id:
            continue
        if record.start_date <= end and start <= (record.end_date or date.max):
            return record
    return None


def overlap_message(record: CostRecord) -> str:
    until = f"{record.end_date:%-d %B %Y}" if record.end_date else "now"
    return (f"This overlaps the cost already recorded from {record.start_date:%-d %B %Y} to {until}. "
            "End that one first, or choose dates that do not overlap.")


def records_for(session: Session, placement: Placement) -> list[CostRecord]:
    return list(session.scalars(select(CostRecord).where(CostRecord.placement_id == placement.id)
                                .order_by(CostRecord.start_date)))


def need_band_of(session: Session, placement: Placement) -> str:
    referral = session.get(Referral, placement.referral_id)
    if referral is None:
        return "standard"
    return need_band_for(len(referral.needs_and_risks), referral.dol_order_needed)


def derived_details(session: Session, placement: Placement) -> CostDetails:
    """A record from the placement's own price: the block contract's price then, or the spot price."""
    return CostDetails(start_date=placement.start_date, end_date=placement.end_date,
                       core_weekly=contract_price_on(session, placement) or placement.weekly_cost,
                       need_band=need_band_of(session, placement))


def contract_price_on(session: Session, placement: Placement) -> int | None:
    if placement.funding != "block" or placement.block_contract_id is None:
        return None
    try:
        from contracts.models import ContractPrice  # noqa: PLC0415 - contracts is optional at this layer
    except ImportError:  # pragma: no cover - contracts not installed
        return None
    price = session.scalars(
        select(ContractPrice).where(ContractPrice.contract_id == placement.block_contract_id,
                                    col(ContractPrice.effective_from) <= placement.start_date)
        .order_by(col(ContractPrice.effective_from).desc())).first()
    return price.weekly_price if price else None


def create_record(session: Session, placement: Placement, details: CostDetails, source: str,
                  user_id: int | None = None, today: date | None = None) -> CostRecord:
    errors = check_details(details, placement)
    if not errors:
        clash = overlapping(records_for(session, placement), details)
        if clash is not None:
            errors["start_date"] = overlap_message(clash)
    if errors:
        raise FieldErrors(errors)
    record = CostRecord(rcc_id=placement.rcc_id, council_id=placement.council_id, placement_id=placement.id,
                        provider_id=placement.provider_id, placement_type=placement.placement_type,
                        funding=placement.funding, source=source, created_by_user_id=user_id,
                        **_columns(details))
    session.add(record)
    audit.record(session, AuditAction.COST_RECORD_CREATED, record, placement_id=placement.id, source=source,
                 gross_weekly=record.gross_weekly)
    high_cost_review.flag_if_above_threshold(session, record, today or date.today())
    return record


def update_record(session: Session, record: CostRecord, details: CostDetails,
                  today: date | None = None, seen_version: int | None = None) -> CostRecord:
    """Change a cost record; refused if someone else changed it after the person read ``seen_version``."""
    placement = placement_of(session, record)
    errors = check_details(details, placement)
    if not errors:
        clash = overlapping(records_for(session, placement), details, ignore_id=record.id)
        if clash is not None:
            errors["start_date"] = overlap_message(clash)
    if errors:
        raise FieldErrors(errors)
    before = record.gross_weekly
    for name, value in _columns(details).items():
        setattr(record, name, value)
    record.source = "entered" if record.source == "contract_price" else record.source
    record.updated_at = utcnow()
    save_edit(session, "cost record", seen_version, record, money=AMOUNT_FIELDS)
    audit.record(session, AuditAction.COST_RECORD_UPDATED, record, gross_weekly_before=before,
                 gross_weekly=record.gross_weekly)
    high_cost_review.flag_if_above_threshold(session, record, today or date.today())
    return record


def placement_of(session: Session, record: CostRecord) -> Placement:
    placement = session.get(Placement, record.placement_id)
    if placement is None:
        raise NotFound()
    return placement


def referral_of(session: Session, rows: Sequence[CostRecord | HighCostReview]) -> Callable[[Any], int | None]:
    """For auditing a read of cost records or high-cost reviews: each row's child's referral (through its
    placement), so the read names the referrals as reads of a child's own records do."""
    placement_ids = {row.placement_id for row in rows}
    found: dict[int, int] = dict(session.execute(select(Placement.id, Placement.referral_id)
                                 .where(col(Placement.id).in_(placement_ids))).tuples().all()) if rows else {}
    return lambda row: found.get(row.placement_id)


def _columns(details: CostDetails) -> dict[str, Any]:
    return {
        "start_date": details.start_date, "end_date": details.end_date,
        "core_weekly": details.core_weekly, "additional_support_weekly": details.additional_support_weekly,
        "education_weekly": details.education_weekly, "health_weekly": details.health_weekly,
        "nhs_contribution_weekly": details.nhs_contribution_weekly,
        "education_contribution_weekly": details.education_contribution_weekly,
        "need_band": details.need_band, "notes": (details.notes or "").strip(),
    }


def details_of(record: CostRecord) -> CostDetails:
    return CostDetails(**{name: getattr(record, name) for name in (
        "start_date", "end_date", *AMOUNT_FIELDS, "need_band", "notes")})


def costed_placements(session: Session) -> Any:
    """The placements whose costs the reader keeps. A council sees, besides its own children's, the
    placements of other councils' children with its own in-house foster carers (it answered their
    offers): those are paid for, and costed, by the child's council, never by the carers' council."""
    query = select(Placement)
    scope = current_scope(session)
    if scope is not None and scope.kind == OrgKind.COUNCIL:
        query = query.where(Placement.council_id == scope.organisation_id)
    return query


def check_costed_by_reader(session: Session, placement: Placement) -> None:
    """NotFound for a placement whose costs the reader does not keep (``costed_placements``)."""
    scope = current_scope(session)
    if scope is not None and scope.kind == OrgKind.COUNCIL and placement.council_id != scope.organisation_id:
        raise NotFound()


def placements_without_records(session: Session) -> list[Placement]:
    costed = select(CostRecord.placement_id)
    return list(session.scalars(costed_placements(session).where(col(Placement.id).not_in(costed))
                                .order_by(Placement.start_date, Placement.id)))


def create_missing_records(session: Session, user_id: int | None = None, today: date | None = None) -> int:
    """A record from its own price for every placement the session can see that has none."""
    missing = placements_without_records(session)
    for placement in missing:
        create_record(session, placement, derived_details(session, placement), "contract_price", user_id, today)
    return len(missing)


def with_end(details: CostDetails, end: date | None) -> CostDetails:
    return replace(details, end_date=end)


def placements_with_costs(session: Session, on: date) -> list[tuple[Placement, CostRecord | None]]:
    """Every placement the session can see, newest first, with the cost record in force on ``on``
    (or, for an ended placement, its last one)."""
    placements = list(session.scalars(costed_placements(session)
                                      .order_by(col(Placement.start_date).desc(), col(Placement.id).desc())))
    records: dict[int, list[CostRecord]] = {}
    for record in session.scalars(select(CostRecord).order_by(CostRecord.start_date)):
        records.setdefault(record.placement_id, []).append(record)
    result = []
    for placement in placements:
        own = records.get(placement.id or 0, [])
        current = next((r for r in own if r.active_on(on)), own[-1] if own else None)
        result.append((placement, current))
    return result
