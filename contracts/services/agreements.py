"""Individual placement agreements (IPAs): for a placement under a block contract, the weekly fee,
any additional support (what it is and its weekly cost) and the date the placement is reviewed.

The council that placed the child, or the RCC, makes the agreement; the council, the provider and
the RCC may download it as a PDF, each download audited. The agreement names the placement, the
home and the contract, never the child, because the provider sees it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Home, Placement
from contracts.models import BlockContract, PlacementAgreement
from contracts.services.common import is_rcc, scope_of
from contracts.services.contracts import price_history, weekly_price_on
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import Organisation
from rcc.tenancy import OrgKind


@dataclass
class AgreementTerms:
    weekly_fee: int | None  # pence
    additional_support: str
    additional_support_weekly: int | None  # pence
    review_date: date | None


@dataclass
class AgreementView:
    placement: Placement
    contract: BlockContract
    home_name: str
    council_name: str
    provider_name: str
    agreement: PlacementAgreement | None
    contract_price: int


def _placement_under_contract(session: Session, placement_id: int) -> tuple[Placement, BlockContract]:
    placement = session.get(Placement, placement_id)
    if placement is None or placement.block_contract_id is None:
        raise NotFound()
    contract = session.get(BlockContract, placement.block_contract_id)
    if contract is None:
        raise NotFound()
    return placement, contract


def agreement_for(session: Session, placement_id: int) -> AgreementView:
    placement, contract = _placement_under_contract(session, placement_id)
    agreement = session.scalars(select(PlacementAgreement).where(
        PlacementAgreement.placement_id == placement.id)).first()
    home = session.get(Home, placement.home_id)
    names: dict[int, str] = {int(row[0]): row[1] for row in session.execute(select(Organisation.id, Organisation.name)
                             .where(col(Organisation.id).in_([placement.council_id, placement.provider_id])))}
    return AgreementView(placement, contract, home.name if home else "", names.get(placement.council_id, ""),
                         names.get(placement.provider_id, ""), agreement,
                         weekly_price_on(contract, price_history(session, contract), placement.start_date))


def make_agreement(session: Session, placement_id: int, terms: AgreementTerms, user_id: int | None,
                   now: datetime) -> PlacementAgreement:
    """Record the IPA for a block placement; once made it stands (a new one needs a new placement)."""
    scope = scope_of(session)
    if not (is_rcc(session) or scope.kind == OrgKind.COUNCIL):
        raise NotFound()
    placement, contract = _placement_under_contract(session, placement_id)
    errors: dict[str, str] = {}
    if terms.weekly_fee is None or terms.weekly_fee <= 0:
        errors["weekly_fee"] = "Enter the weekly fee in pounds, more than £0"
    if len(terms.additional_support) > 2000:
        errors["additional_support"] = "Additional support must be 2,000 characters or fewer"
    if terms.additional_support_weekly is None or terms.additional_support_weekly < 0:
        errors["additional_support_weekly"] = "Enter the weekly cost of additional support in pounds, £0 or more"
    elif terms.additional_support_weekly and not terms.additional_support.strip():
        errors["additional_support"] = "Describe the additional support the weekly cost pays for"
    if terms.review_date is None:
        errors["review_date"] = "Enter the date the placement is reviewed"
    elif terms.review_date < placement.start_date:
        errors["review_date"] = "The review must be on or after the placement starts"
    if errors:
        raise FieldErrors(errors)
    agreement = PlacementAgreement(
        rcc_id=placement.rcc_id, council_id=placement.council_id, provider_id=placement.provider_id,
        placement_id=placement.id or 0, contract_id=contract.id or 0, weekly_fee=terms.weekly_fee or 0,
        additional_support=terms.additional_support.strip(),
        additional_support_weekly=terms.additional_support_weekly or 0, review_date=terms.review_date,  # type: ignore[arg-type]
        created_by_user_id=user_id, created_at=now)
    try:
        with session.begin_nested():
            session.add(agreement)
            session.flush()
    except IntegrityError as clash:
        raise Conflict("This placement already has its agreement") from clash
    audit.record(session, AuditAction.PLACEMENT_AGREEMENT_MADE, agreement, placement_id=placement.id,
                 contract_id=contract.id, weekly_fee=agreement.weekly_fee,
                 additional_support_weekly=agreement.additional_support_weekly, review_date=agreement.review_date)
    return agreement


def download_agreement(session: Session, placement_id: int) -> AgreementView:
    """The agreement to render as a PDF: for the council, the provider and the RCC; audited."""
    view = agreement_for(session, placement_id)
    if view.agreement is None:
        raise NotFound()
    audit.record(session, AuditAction.PLACEMENT_AGREEMENT_DOWNLOADED, view.agreement, placement_id=placement_id)
    return view
