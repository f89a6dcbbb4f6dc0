"""Tenders and their lots: the status worked out from dates and decisions, and the legal moves.

Status is never stored. ``tender_status(tender, now)`` reads the stored dates
(clarification and bid deadlines, standstill end) and decisions (published, evaluation
started, awarded, cancelled) against ``now``, which every caller passes in, so tests can
move time and no hidden clock decides anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.vocabulary import NEEDS_AND_RISKS, PLACEMENT_TYPES
from contracts import notices
from contracts.models import Lot, QualityQuestion, Tender
from contracts.services.common import aware, is_rcc
from contracts.services.settings import settings_for
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import Organisation
from rcc.numbers import pounds
from rcc.versions import save_edit

DRAFT = "draft"
OPEN = "open"
CLARIFICATIONS_CLOSED = "clarifications_closed"
BIDS_CLOSED = "bids_closed"
EVALUATING = "evaluating"
STANDSTILL = "standstill"
AWARDED = "awarded"
CANCELLED = "cancelled"

STATUS_LABELS = {
    DRAFT: "Draft",
    OPEN: "Open for questions and bids",
    CLARIFICATIONS_CLOSED: "Open for bids",
    BIDS_CLOSED: "Bids closed",
    EVALUATING: "Evaluating",
    STANDSTILL: "Awarded: standstill",
    AWARDED: "Awarded",
    CANCELLED: "Cancelled",
}
STATUS_TAG_CLASSES = {
    DRAFT: "govuk-tag--grey",
    OPEN: "govuk-tag--green",
    CLARIFICATIONS_CLOSED: "govuk-tag--turquoise",
    BIDS_CLOSED: "govuk-tag--yellow",
    EVALUATING: "govuk-tag--orange",
    STANDSTILL: "govuk-tag--purple",
    AWARDED: "govuk-tag--blue",
    CANCELLED: "govuk-tag--red",
}
STANDSTILL_DAYS = 10  # the default: calendar days between award and contracts (the RCC sets its own)


def tender_status(tender: Tender, now: datetime) -> str:
    """The one place a tender's status is worked out."""
    if tender.cancelled_at is not None:
        return CANCELLED
    if tender.awarded_at is not None:
        ends = tender.standstill_ends_at
        return STANDSTILL if ends is not None and now < aware(ends) else AWARDED
    if tender.published_at is None:
        return DRAFT
    if tender.evaluation_started_at is not None:
        return EVALUATING
    if now < aware(tender.clarification_closes_at):
        return OPEN
    if now < aware(tender.bids_close_at):
        return CLARIFICATIONS_CLOSED
    return BIDS_CLOSED


def accepts_questions(tender: Tender, now: datetime) -> bool:
    return tender_status(tender, now) == OPEN


def accepts_bids(tender: Tender, now: datetime) -> bool:
    return tender_status(tender, now) in (OPEN, CLARIFICATIONS_CLOSED)


def bids_unsealed(tender: Tender, now: datetime) -> bool:
    """The RCC may open bids only once the deadline has passed; a tender cancelled before then never opens."""
    if tender.published_at is None or now < aware(tender.bids_close_at):
        return False
    return tender.cancelled_at is None or aware(tender.cancelled_at) >= aware(tender.bids_close_at)


def is_awarded(tender: Tender) -> bool:
    return tender.awarded_at is not None and tender.cancelled_at is None


# Drafting -------------------------------------------------------------------------------

@dataclass
class TenderDetails:
    reference: str
    title: str
    description: str
    clarification_closes_at: datetime | None
    bids_close_at: datetime | None
    contract_start: date | None


@dataclass
class LotDetails:
    title: str
    placement_type: str
    council_ids: list[int]
    needs: list[str]
    places: int | None
    max_weekly_price: int | None  # pence
    term_months: int | None
    extension_months: int | None
    max_extensions: int | None
    price_weight: int | None  # percent
    questions: list[tuple[str, int | None]] = field(default_factory=list)  # (text, weight percent)


def check_tender(details: TenderDetails) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not details.reference.strip():
        errors["reference"] = "Enter the tender's reference"
    elif len(details.reference) > 30:
        errors["reference"] = "Reference must be 30 characters or fewer"
    if not details.title.strip():
        errors["title"] = "Enter the tender's title"
    elif len(details.title) > 200:
        errors["title"] = "Title must be 200 characters or fewer"
    if len(details.description) > 4000:
        errors["description"] = "Description must be 4,000 characters or fewer"
    if details.clarification_closes_at is None:
        errors["clarification_closes_at"] = "Enter the date and time questions close"
    if details.bids_close_at is None:
        errors["bids_close_at"] = "Enter the date and time bids close"
    elif details.clarification_closes_at and details.bids_close_at <= details.clarification_closes_at:
        errors["bids_close_at"] = "Bids must close after questions close"
    if details.contract_start is None:
        errors["contract_start"] = "Enter the date contracts start"
    elif details.bids_close_at and details.contract_start <= details.bids_close_at.date():
        errors["contract_start"] = "Contracts must start after bids close"
    return errors


def create_tender(session: Session, rcc_id: int, details: TenderDetails, user_id: int | None) -> Tender:
    errors = check_tender(details)
    if errors:
        raise FieldErrors(errors)
    tender = Tender(rcc_id=rcc_id, created_by_user_id=user_id, reference="", title="",
                    clarification_closes_at=details.clarification_closes_at, bids_close_at=details.bids_close_at,
                    contract_start=details.contract_start)
    _apply(tender, details)
    session.add(tender)
    audit.record(session, AuditAction.TENDER_CREATED, tender, reference=tender.reference)
    return tender


def update_tender(session: Session, tender: Tender, details: TenderDetails, now: datetime,
                  seen_version: int | None = None) -> Tender:
    """Change a draft tender; refused if someone else changed it after the person read ``seen_version``."""
    _refuse_unless_draft(tender, now, "change")
    errors = check_tender(details)
    if errors:
        raise FieldErrors(errors)
    _apply(tender, details)
    save_edit(session, "tender", seen_version, tender)
    audit.record(session, AuditAction.TENDER_UPDATED, tender)
    return tender


def _apply(tender: Tender, details: TenderDetails) -> None:
    tender.reference = details.reference.strip()
    tender.title = details.title.strip()
    tender.description = details.description.strip()
    tender.clarification_closes_at = details.clarification_closes_at  # type: ignore[assignment]
    tender.bids_close_at = details.bids_close_at  # type: ignore[assignment]
    tender.contract_start = details.contract_start  # type: ignore[assignment]


def _refuse_unless_draft(tender: Tender, now: datetime, verb: str) -> None:
    if tender_status(tender, now) != DRAFT:
        raise Conflict(f"You can only {verb} a tender while it is a draft; this one is "
                       f"'{STATUS_LABELS[tender_status(tender, now)].lower()}'")


def check_lot(session: Session, rcc_id: int, details: LotDetails) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not details.title.strip():
        errors["title"] = "Enter the lot's title"
    if details.placement_type not in PLACEMENT_TYPES:
        errors["placement_type"] = "Select the type of placement"
    members = set(session.scalars(select(Organisation.id).where(
        Organisation.kind == "council", Organisation.rcc_id == rcc_id)))
    if not details.council_ids:
        errors["council_ids"] = "Select at least one council the lot covers"
    elif not set(details.council_ids) <= members:
        errors["council_ids"] = "Select only member councils"
    if any(need not in NEEDS_AND_RISKS for need in details.needs):
        errors["needs"] = "Select needs from the list"
    _positive(errors, "places", details.places, "Enter the number of places, 1 or more")
    _positive(errors, "max_weekly_price", details.max_weekly_price,
              "Enter the maximum price per place per week in pounds, more than £0")
    _positive(errors, "term_months", details.term_months, "Enter the contract term in months, 1 or more")
    for name, value in (("extension_months", details.extension_months), ("max_extensions", details.max_extensions)):
        if value is None or value < 0:
            errors[name] = "Enter a whole number, 0 or more"
    if details.price_weight is None or not 0 <= details.price_weight <= 100:
        errors["price_weight"] = "Enter the price weighting as a whole percentage from 0 to 100"
    errors.update(check_questions(details.questions))
    return errors


def check_questions(questions: list[tuple[str, int | None]]) -> dict[str, str]:
    if not questions:
        return {"questions": "Add at least one quality question"}
    for number, (text, weight) in enumerate(questions, start=1):
        if not text.strip():
            return {"questions": f"Enter the text of quality question {number}"}
        if weight is None or weight <= 0:
            return {"questions": f"Give quality question {number} a weight, a whole percentage more than 0"}
    total = sum(weight or 0 for _, weight in questions)
    if total != 100:
        return {"questions": f"Quality question weights must add up to 100%; they add up to {total}%"}
    return {}


def _positive(errors: dict[str, str], name: str, value: int | None, message: str) -> None:
    if value is None or value <= 0:
        errors[name] = message


def add_lot(session: Session, tender: Tender, details: LotDetails, now: datetime) -> Lot:
    _refuse_unless_draft(tender, now, "add a lot to")
    errors = check_lot(session, tender.rcc_id, details)
    if errors:
        raise FieldErrors(errors)
    number = (session.scalar(select(func.max(Lot.number)).where(Lot.tender_id == tender.id)) or 0) + 1
    lot = Lot(rcc_id=tender.rcc_id, tender_id=tender.id, number=number, title=details.title.strip(),
              placement_type=details.placement_type, council_ids=sorted(set(details.council_ids)),
              needs=list(dict.fromkeys(details.needs)), places=details.places or 0,
              max_weekly_price=details.max_weekly_price or 0, term_months=details.term_months or 0,
              extension_months=details.extension_months or 0, max_extensions=details.max_extensions or 0,
              price_weight=details.price_weight or 0)
    session.add(lot)
    session.flush()
    for q_number, (text, weight) in enumerate(details.questions, start=1):
        session.add(QualityQuestion(rcc_id=tender.rcc_id, lot_id=lot.id, number=q_number, text=text.strip(),
                                    weight=weight or 0))
    audit.record(session, AuditAction.TENDER_LOT_ADDED, tender, lot_id=lot.id, lot_number=number)
    return lot


def _claim_draft(session: Session, tender: Tender, verb: str) -> None:
    """Hold the tender as a draft for this transaction: a conditional UPDATE that matches only an
    unpublished, uncancelled tender, so a lot change racing a publish cannot land after it."""
    claimed = session.execute(update(Tender).where(Tender.id == tender.id, col(Tender.published_at).is_(None),
                                                   col(Tender.cancelled_at).is_(None))
                              .values(row_version=Tender.row_version + 1)
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"You can only {verb} a tender while it is a draft; this one has been published "
                       "or cancelled")
    session.refresh(tender)


def update_lot(session: Session, tender: Tender, lot: Lot, details: LotDetails, now: datetime) -> Lot:
    """Change a lot, its questions included, while the tender is a draft (never after publication)."""
    _refuse_unless_draft(tender, now, "change a lot of")
    if lot.tender_id != tender.id:
        raise NotFound()
    errors = check_lot(session, tender.rcc_id, details)
    if errors:
        raise FieldErrors(errors)
    _claim_draft(session, tender, "change a lot of")
    before = {"title": lot.title, "places": lot.places, "max_weekly_price": lot.max_weekly_price,
              "term_months": lot.term_months}
    lot.title, lot.placement_type = details.title.strip(), details.placement_type
    lot.council_ids, lot.needs = sorted(set(details.council_ids)), list(dict.fromkeys(details.needs))
    lot.places, lot.max_weekly_price = details.places or 0, details.max_weekly_price or 0
    lot.term_months, lot.extension_months = details.term_months or 0, details.extension_months or 0
    lot.max_extensions, lot.price_weight = details.max_extensions or 0, details.price_weight or 0
    for question in questions_of(session, lot):
        session.delete(question)
    session.flush()
    for q_number, (text, weight) in enumerate(details.questions, start=1):
        session.add(QualityQuestion(rcc_id=tender.rcc_id, lot_id=lot.id, number=q_number, text=text.strip(),
                                    weight=weight or 0))
    session.flush()
    audit.record(session, AuditAction.TENDER_LOT_UPDATED, tender, lot_id=lot.id, lot_number=lot.number,
                 before=before)
    return lot


def remove_lot(session: Session, tender: Tender, lot: Lot, now: datetime) -> None:
    """Withdraw a lot from a draft tender (never after publication)."""
    _refuse_unless_draft(tender, now, "remove a lot from")
    if lot.tender_id != tender.id:
        raise NotFound()
    _claim_draft(session, tender, "remove a lot from")
    for question in questions_of(session, lot):
        session.delete(question)
    session.flush()  # the questions go first: they refer to the lot
    session.delete(lot)
    audit.record(session, AuditAction.TENDER_LOT_REMOVED, tender, lot_id=lot.id)


# Moves ----------------------------------------------------------------------------------

def publish(session: Session, tender: Tender, now: datetime) -> Tender:
    """Open a complete draft to providers."""
    _refuse_unless_draft(tender, now, "publish")
    problems = [message for message in check_tender(details_of(tender)).values()]
    if now >= aware(tender.clarification_closes_at):
        problems.append("The date questions close must be in the future")
    lots = lots_of(session, tender)
    if not lots:
        problems.append("Add at least one lot")
    for lot in lots:
        weights = [(q.text, q.weight) for q in questions_of(session, lot)]
        problems += [f"Lot {lot.number}: {m}" for m in check_questions(weights).values()]  # type: ignore[arg-type]
    if problems:
        raise Conflict("This tender cannot be published yet. " + " ".join(problems))
    minimum = settings_for(session, tender.rcc_id).min_tender_days
    if aware(tender.bids_close_at) < now + timedelta(days=minimum):
        raise FieldErrors({"bids_close_at": f"Bids must close at least {minimum} "
                           f"{'day' if minimum == 1 else 'days'} after the tender is published (the RCC's "
                           "minimum tender period). Move the date bids close later, then publish."})
    # Conditional: of two publishes (or a publish racing a lot edit) only one moves the draft on.
    claimed = session.execute(update(Tender).where(Tender.id == tender.id, col(Tender.published_at).is_(None),
                                                   col(Tender.cancelled_at).is_(None))
                              .values(published_at=now, row_version=Tender.row_version + 1)
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("This tender has already been published or cancelled")
    session.refresh(tender)
    audit.record(session, AuditAction.TENDER_PUBLISHED, tender)
    notices.tender_published(session, tender)
    return tender


def start_evaluation(session: Session, tender: Tender, now: datetime) -> Tender:
    status = tender_status(tender, now)
    if status != BIDS_CLOSED:
        raise Conflict("Evaluation can start only after bids close; this tender is "
                       f"'{STATUS_LABELS[status].lower()}'")
    tender.evaluation_started_at = now
    audit.record(session, AuditAction.TENDER_EVALUATION_STARTED, tender)
    return tender


def cancel(session: Session, tender: Tender, reason: str, now: datetime) -> Tender:
    status = tender_status(tender, now)
    if status in (STANDSTILL, AWARDED, CANCELLED):
        raise Conflict(f"A tender that is '{STATUS_LABELS[status].lower()}' cannot be cancelled")
    if not reason.strip():
        raise FieldErrors({"reason": "Enter why the tender is cancelled"})
    tender.cancelled_at = now
    tender.cancel_reason = reason.strip()[:2000]
    audit.record(session, AuditAction.TENDER_CANCELLED, tender, reason=tender.cancel_reason)
    return tender


# Reading --------------------------------------------------------------------------------

def visible_tenders(session: Session, now: datetime) -> list[Tender]:
    """Every tender for the RCC; councils and providers never see drafts."""
    query = select(Tender).order_by(col(Tender.bids_close_at).desc(), col(Tender.id).desc())
    if not is_rcc(session):
        query = query.where(col(Tender.published_at).is_not(None))
    return list(session.scalars(query))


def get_tender(session: Session, tender_id: int) -> Tender:
    tender = session.get(Tender, tender_id)
    if tender is None or (tender.published_at is None and not is_rcc(session)):
        raise NotFound()
    return tender


def get_lot(session: Session, lot_id: int) -> tuple[Tender, Lot]:
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound()
    return get_tender(session, lot.tender_id), lot


def lots_of(session: Session, tender: Tender) -> list[Lot]:
    return list(session.scalars(select(Lot).where(Lot.tender_id == tender.id).order_by(Lot.number)))


def questions_of(session: Session, lot: Lot) -> list[QualityQuestion]:
    return list(session.scalars(select(QualityQuestion).where(QualityQuestion.lot_id == lot.id)
                                .order_by(QualityQuestion.number)))


def details_of(tender: Tender) -> TenderDetails:
    return TenderDetails(tender.reference, tender.title, tender.description, aware(tender.clarification_closes_at),
                         aware(tender.bids_close_at), tender.contract_start)


def timeline(tender: Tender) -> list[tuple[str, datetime | date | None]]:
    """The dates a provider plans around, in order."""
    return [
        ("Published", tender.published_at and aware(tender.published_at)),
        ("Questions close", aware(tender.clarification_closes_at)),
        ("Bids close", aware(tender.bids_close_at)),
        ("Evaluation started", tender.evaluation_started_at and aware(tender.evaluation_started_at)),
        ("Awarded", tender.awarded_at and aware(tender.awarded_at)),
        ("Standstill ends", tender.standstill_ends_at and aware(tender.standstill_ends_at)),
        ("Contracts start", tender.contract_start),
    ]


def describe_lot(lot: Lot) -> str:
    kind = PLACEMENT_TYPES[lot.placement_type].label if lot.placement_type in PLACEMENT_TYPES else lot.placement_type
    return f"{lot.places} places, {kind.lower()}, up to {pounds(lot.max_weekly_price)} a week"
