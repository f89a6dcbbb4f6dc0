"""Block contracts: made from an award or entered directly, with homes, reserved places,
a weekly price that rises by the annual uplift on each anniversary, and council cost shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Home
from commissioning.vocabulary import PLACEMENT_TYPES
from contracts.models import BlockContract, ContractHome, ContractPrice, CostShare, Lot
from contracts.services import tenders
from contracts.services.common import aware, is_rcc, percentage, round_half_up, scope_of
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import Organisation
from rcc.tenancy import OrgKind

WHOLE = 10_000  # basis points in 100 %


@dataclass
class ContractDetails:
    reference: str
    title: str
    provider_id: int | None
    placement_type: str
    start_date: date | None
    end_date: date | None
    weekly_price: int | None  # pence per place per week at the start
    annual_uplift_bp: int | None
    homes: dict[int, int] = field(default_factory=dict)  # home id -> reserved places
    cost_shares_bp: dict[int, int] = field(default_factory=dict)  # council id -> basis points


def check_cost_shares(session: Session, rcc_id: int, shares: dict[int, int]) -> str | None:
    members = set(session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.COUNCIL,
                                                                Organisation.rcc_id == rcc_id)))
    if not shares:
        return "Enter at least one member council's share of the cost"
    if not set(shares) <= members:
        return "Cost shares can only be given to member councils"
    if any(bp <= 0 for bp in shares.values()):
        return "Each council's share of the cost must be more than 0%"
    total = sum(shares.values())
    if total != WHOLE:
        return f"Councils' shares of the cost must add up to 100%; they add up to {percentage(total)}"
    return None


def check_contract(session: Session, rcc_id: int, details: ContractDetails) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not details.reference.strip():
        errors["reference"] = "Enter the contract's reference"
    elif len(details.reference) > 30:
        errors["reference"] = "Reference must be 30 characters or fewer"
    if not details.title.strip():
        errors["title"] = "Enter the contract's title"
    provider = session.get(Organisation, details.provider_id) if details.provider_id else None
    if provider is None or provider.kind != OrgKind.PROVIDER or provider.rcc_id != rcc_id:
        errors["provider_id"] = "Select the provider"
    if details.placement_type not in PLACEMENT_TYPES:
        errors["placement_type"] = "Select the type of placement"
    if details.start_date is None:
        errors["start_date"] = "Enter the date the contract starts"
    if details.end_date is None:
        errors["end_date"] = "Enter the date the contract ends"
    elif details.start_date and details.end_date <= details.start_date:
        errors["end_date"] = "The contract must end after it starts"
    if details.weekly_price is None or details.weekly_price <= 0:
        errors["weekly_price"] = "Enter the weekly price per place in pounds, more than £0"
    if details.annual_uplift_bp is None or not 0 <= details.annual_uplift_bp <= 2000:
        errors["annual_uplift"] = "Enter the annual uplift as a percentage from 0 to 20, like 2.5"
    if provider is not None and "provider_id" not in errors:
        homes = {h.id for h in session.scalars(select(Home).where(Home.provider_id == provider.id))}
        if not details.homes:
            errors["homes"] = "Reserve places in at least one of the provider's homes"
        elif not set(details.homes) <= homes:
            errors["homes"] = "Reserve places only in the provider's own homes"
        elif any(places <= 0 for places in details.homes.values()):
            errors["homes"] = "Reserve at least 1 place in each home you select"
    share_problem = check_cost_shares(session, rcc_id, details.cost_shares_bp)
    if share_problem:
        errors["cost_shares"] = share_problem
    return errors


def create_contract(session: Session, rcc_id: int, details: ContractDetails, user_id: int | None,
                    lot: Lot | None = None, bid_id: int | None = None) -> BlockContract:
    if not is_rcc(session):
        raise NotFound()
    errors = check_contract(session, rcc_id, details)
    if errors:
        raise FieldErrors(errors)
    contract = BlockContract(
        rcc_id=rcc_id, provider_id=details.provider_id or 0, reference=details.reference.strip(),
        title=details.title.strip(), placement_type=details.placement_type,
        start_date=details.start_date, end_date=details.end_date,  # type: ignore[arg-type]
        weekly_price=details.weekly_price or 0, annual_uplift_bp=details.annual_uplift_bp or 0,
        tender_id=lot.tender_id if lot else None, lot_id=lot.id if lot else None, bid_id=bid_id,
        created_by_user_id=user_id)
    session.add(contract)
    session.flush()
    owner = {"rcc_id": rcc_id, "provider_id": contract.provider_id, "contract_id": contract.id}
    for home_id, places in sorted(details.homes.items()):
        session.add(ContractHome(**owner, home_id=home_id, reserved_places=places))
    for council_id, share in sorted(details.cost_shares_bp.items()):
        session.add(CostShare(**owner, council_id=council_id, share_bp=share))
    session.add(ContractPrice(**owner, effective_from=contract.start_date, weekly_price=contract.weekly_price,
                              reason="start"))
    audit.record(session, AuditAction.CONTRACT_CREATED, contract, provider_id=contract.provider_id,
                 weekly_price=contract.weekly_price, homes=details.homes, cost_shares_bp=details.cost_shares_bp,
                 lot_id=contract.lot_id)
    return contract


def details_from_award(session: Session, lot: Lot, now: datetime) -> ContractDetails:
    """A contract for the lot's winning bid, ready to check and confirm: the bid's homes share its places,
    and the lot's councils share the cost equally."""
    tender = tenders.get_tender(session, lot.tender_id)
    if not tenders.is_awarded(tender) or lot.awarded_bid_id is None:
        raise Conflict("Only an awarded lot can become a contract")
    if session.scalars(select(BlockContract.id).where(BlockContract.lot_id == lot.id)).first():
        raise Conflict(f"Lot {lot.number} already has its contract")
    from contracts.models import Bid  # noqa: PLC0415

    bid = session.get(Bid, lot.awarded_bid_id)
    if bid is None:
        raise NotFound()
    start = max(tender.contract_start, (aware(tender.standstill_ends_at or now) + timedelta(days=1)).date())
    return ContractDetails(
        reference=f"{tender.reference}-L{lot.number}"[:30], title=f"{tender.title}: {lot.title}"[:200],
        provider_id=bid.provider_id, placement_type=lot.placement_type, start_date=start,
        end_date=add_months(start, lot.term_months) - timedelta(days=1), weekly_price=bid.weekly_price,
        annual_uplift_bp=0, homes=split_evenly(bid.home_ids, bid.places_offered),
        cost_shares_bp=split_evenly(lot.council_ids, WHOLE))


def create_contract_from_award(session: Session, lot: Lot, details: ContractDetails, user_id: int | None,
                               now: datetime) -> BlockContract:
    proposed = details_from_award(session, lot, now)  # refuses if not awarded or already made
    tender = tenders.get_tender(session, lot.tender_id)
    if tenders.tender_status(tender, now) == tenders.STANDSTILL:
        raise Conflict("Contracts can be made once the standstill period ends on "
                       f"{aware(tender.standstill_ends_at or now):%d %B %Y}")
    # The award fixes the terms: the winning bid's provider, price and places, the lot's type and term.
    details.provider_id = proposed.provider_id
    details.placement_type = proposed.placement_type
    details.weekly_price = proposed.weekly_price
    if details.start_date is None or proposed.start_date is None or details.start_date < proposed.start_date:
        details.start_date = proposed.start_date
    details.end_date = add_months(details.start_date, lot.term_months) - timedelta(days=1)  # type: ignore[arg-type]
    offered = sum(proposed.homes.values())
    if not set(details.homes) <= set(proposed.homes) or sum(details.homes.values()) != offered:
        raise FieldErrors({"homes": f"Reserve the {offered} places the winning bid offered, in the homes it named"})
    try:
        with session.begin_nested():
            return create_contract(session, tender.rcc_id, details, user_id, lot=lot, bid_id=lot.awarded_bid_id)
    except IntegrityError as clash:  # another request made this lot's contract at the same moment
        raise Conflict(f"Lot {lot.number} already has its contract") from clash


def split_evenly(keys: list[int], total: int) -> dict[int, int]:
    """``total`` shared across ``keys`` as evenly as whole numbers allow, earlier keys taking the remainder."""
    if not keys:
        return {}
    each, remainder = divmod(total, len(keys))
    return {key: each + (1 if i < remainder else 0) for i, key in enumerate(keys) if each or i < remainder}


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


# Prices ---------------------------------------------------------------------------------

def anniversary(start: date, years: int) -> date:
    """``start`` plus whole years; 29 February falls back to 28 February."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def uplifted(price: int, uplift_bp: int) -> int:
    return int(round_half_up(Decimal(price) * (WHOLE + uplift_bp) / WHOLE, Decimal(1)))


def price_schedule(contract: BlockContract, history: list[ContractPrice], until: date) -> list[tuple[date, int]]:
    """(effective from, weekly pence) up to ``until``: recorded prices, then any anniversary uplift not yet
    recorded, each compounding on the price before it."""
    recorded = sorted((p.effective_from, p.weekly_price) for p in history)
    if not recorded:
        recorded = [(contract.start_date, contract.weekly_price)]
    schedule = [entry for entry in recorded if entry[0] <= until]
    years = 1
    while (day := anniversary(contract.start_date, years)) <= min(until, contract.end_date):
        if day > schedule[-1][0]:
            schedule.append((day, uplifted(schedule[-1][1], contract.annual_uplift_bp)))
        years += 1
    return schedule


def weekly_price_on(contract: BlockContract, history: list[ContractPrice], day: date) -> int:
    schedule = price_schedule(contract, history, day)
    return next((price for start, price in reversed(schedule) if start <= day), contract.weekly_price)


def apply_due_uplifts(session: Session, contract: BlockContract, today: date) -> list[ContractPrice]:
    """Record in the price history every anniversary uplift due by ``today``."""
    history = price_history(session, contract)
    known = {p.effective_from for p in history}
    added = []
    for day, price in price_schedule(contract, history, today):
        if day in known:
            continue
        entry = ContractPrice(rcc_id=contract.rcc_id, provider_id=contract.provider_id, contract_id=contract.id,
                              effective_from=day, weekly_price=price, reason="uplift")
        session.add(entry)
        added.append(entry)
        audit.record(session, AuditAction.CONTRACT_UPLIFT_APPLIED, contract, effective_from=day, weekly_price=price)
    return added


# Reading --------------------------------------------------------------------------------

def visible_contracts(session: Session) -> list[BlockContract]:
    """RCC staff see every contract; a provider its own; a council those it shares the cost of."""
    query = select(BlockContract).order_by(col(BlockContract.start_date).desc(), col(BlockContract.id).desc())
    scope = scope_of(session)
    if scope.kind == OrgKind.COUNCIL:
        query = query.where(col(BlockContract.id).in_(
            select(CostShare.contract_id).where(CostShare.council_id == scope.organisation_id)))
    return list(session.scalars(query))


def get_contract(session: Session, contract_id: int) -> BlockContract:
    contract = session.get(BlockContract, contract_id)
    if contract is None:
        raise NotFound()
    scope = scope_of(session)
    if scope.kind == OrgKind.COUNCIL and not session.scalars(select(CostShare.id).where(
            CostShare.contract_id == contract.id, CostShare.council_id == scope.organisation_id)).first():
        raise NotFound()
    return contract


def contract_homes(session: Session, contract: BlockContract) -> list[tuple[ContractHome, Home | None]]:
    reserved = list(session.scalars(select(ContractHome).where(ContractHome.contract_id == contract.id)
                                    .order_by(ContractHome.id)))
    homes = {h.id: h for h in session.scalars(select(Home).where(col(Home.id).in_([r.home_id for r in reserved])))}
    return [(r, homes.get(r.home_id)) for r in reserved]


def price_history(session: Session, contract: BlockContract) -> list[ContractPrice]:
    return list(session.scalars(select(ContractPrice).where(ContractPrice.contract_id == contract.id)
                                .order_by(ContractPrice.effective_from)))


def cost_shares(session: Session, contract: BlockContract) -> list[tuple[CostShare, str]]:
    shares = list(session.scalars(select(CostShare).where(CostShare.contract_id == contract.id)
                                  .order_by(col(CostShare.share_bp).desc(), CostShare.council_id)))
    names: dict[int, str] = {row[0]: row[1] for row in session.execute(select(Organisation.id, Organisation.name).where(
        col(Organisation.id).in_([s.council_id for s in shares])))}
    return [(share, names.get(share.council_id, "")) for share in shares]


def is_live(contract: BlockContract, day: date) -> bool:
    return contract.start_date <= day <= contract.end_date


def provider_name(session: Session, contract: BlockContract) -> str:
    provider = session.get(Organisation, contract.provider_id)
    return provider.name if provider else ""
