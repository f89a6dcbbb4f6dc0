"""Evaluation: price and quality scores, moderation, ranking, award decisions and reports.

Price score = lowest price on the lot ÷ this bid's price × the price weight.
Quality score = Σ (moderated mark ÷ 5 × question weight %) × the quality weight ÷ 100.
Both are rounded half-up to two decimal places, and the total is their sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from contracts import notices
from contracts.models import Bid, EvaluatorScore, Lot, ModeratedScore, QualityQuestion, Tender
from contracts.services import bids as bid_service
from contracts.services import letters, tenders
from contracts.services.common import is_rcc, round_half_up
from contracts.services.settings import settings_for
from rcc import audit, users
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import Organisation

MAX_MARK = 5
MARKS = {0: "Unacceptable", 1: "Poor", 2: "Weak", 3: "Satisfactory", 4: "Good", 5: "Excellent"}


def price_score(lowest_price: int, bid_price: int, price_weight: int) -> Decimal:
    return round_half_up(Decimal(lowest_price) / Decimal(bid_price) * price_weight)


def quality_score(marks: dict[int, int], questions: list[QualityQuestion], quality_weight: int) -> Decimal:
    """``marks`` maps question id to the moderated mark (0 to 5)."""
    percent = sum((Decimal(marks[q.id or 0]) / MAX_MARK * q.weight for q in questions), Decimal(0))
    return round_half_up(percent * quality_weight / 100)


@dataclass
class RankedBid:
    bid: Bid
    provider_name: str
    price_score: Decimal
    quality_score: Decimal | None  # None until every question is moderated
    total_score: Decimal | None
    rank: int | None
    missing_marks: int


def _require_evaluating(tender: Tender, now: datetime, verb: str) -> None:
    status = tenders.tender_status(tender, now)
    if status != tenders.EVALUATING:
        raise Conflict(f"You can {verb} only while the tender is being evaluated; it is "
                       f"'{tenders.STATUS_LABELS[status].lower()}'")


def _bid_and_question(session: Session, bid_id: int, question_id: int,
                      now: datetime) -> tuple[Tender, Bid, QualityQuestion]:
    if not is_rcc(session):
        raise NotFound()
    bid = bid_service.get_bid(session, bid_id, now)
    question = session.get(QualityQuestion, question_id)
    if question is None or question.lot_id != bid.lot_id:
        raise NotFound()
    return tenders.get_tender(session, bid.tender_id), bid, question


def _check_mark(mark: int | None, field: str) -> int:
    if mark is None or not 0 <= mark <= MAX_MARK:
        raise FieldErrors({field: f"Enter a mark from 0 to {MAX_MARK}"})
    return mark


def record_score(session: Session, bid_id: int, question_id: int, evaluator_user_id: int, mark: int | None,
                 comment: str, now: datetime) -> EvaluatorScore:
    """One evaluator's own mark for one answer; marking again replaces it."""
    tender, bid, question = _bid_and_question(session, bid_id, question_id, now)
    _require_evaluating(tender, now, "enter marks")
    mark = _check_mark(mark, "score")
    if len(comment) > 2000:
        raise FieldErrors({"comment": "Comment must be 2,000 characters or fewer"})
    if has_submitted(session, bid, evaluator_user_id):
        raise Conflict("You have already submitted your marks for this bid and may now see the other evaluators' "
                       "marks. Any change is agreed at moderation.")
    score = session.scalars(select(EvaluatorScore).where(
        EvaluatorScore.bid_id == bid.id, EvaluatorScore.question_id == question.id,
        EvaluatorScore.evaluator_user_id == evaluator_user_id)).first()
    if score is None:
        score = EvaluatorScore(rcc_id=bid.rcc_id, bid_id=bid.id, question_id=question.id,
                               evaluator_user_id=evaluator_user_id, score=mark)
        session.add(score)
    score.score, score.comment, score.scored_at = mark, comment.strip(), now
    audit.record(session, AuditAction.EVALUATION_SCORED, score, bid_id=bid.id, question_id=question.id, score=mark)
    return score


def moderate(session: Session, bid_id: int, question_id: int, mark: int | None, reason: str,
             user_id: int | None, now: datetime) -> ModeratedScore:
    """The agreed mark for one answer, with the reason it was agreed."""
    tender, bid, question = _bid_and_question(session, bid_id, question_id, now)
    _require_evaluating(tender, now, "moderate marks")
    mark = _check_mark(mark, "score")
    if not reason.strip():
        raise FieldErrors({"reason": "Enter the reason for the agreed mark"})
    if len(reason) > 2000:
        raise FieldErrors({"reason": "Reason must be 2,000 characters or fewer"})
    if not session.scalars(select(EvaluatorScore.id).where(EvaluatorScore.bid_id == bid.id,
                                                           EvaluatorScore.question_id == question.id)).first():
        raise Conflict("At least one evaluator must mark this answer before it is moderated")
    moderated = session.scalars(select(ModeratedScore).where(
        ModeratedScore.bid_id == bid.id, ModeratedScore.question_id == question.id)).first()
    if moderated is None:
        moderated = ModeratedScore(rcc_id=bid.rcc_id, bid_id=bid.id, question_id=question.id, score=mark,
                                   reason=reason.strip())
        session.add(moderated)
    moderated.score, moderated.reason = mark, reason.strip()
    moderated.moderated_by_user_id, moderated.moderated_at = user_id, now
    audit.record(session, AuditAction.EVALUATION_MODERATED, moderated, bid_id=bid.id, question_id=question.id,
                 score=mark, reason=moderated.reason)
    return moderated


def has_submitted(session: Session, bid: Bid, evaluator_user_id: int | None) -> bool:
    """Has this evaluator marked every question of the bid (submitted their own marks)?"""
    if evaluator_user_id is None:
        return False
    questions = set(session.scalars(select(QualityQuestion.id).where(QualityQuestion.lot_id == bid.lot_id)))
    marked = set(session.scalars(select(EvaluatorScore.question_id).where(
        EvaluatorScore.bid_id == bid.id, EvaluatorScore.evaluator_user_id == evaluator_user_id)))
    return bool(questions) and questions <= marked


def evaluator_scores(session: Session, lot: Lot, viewer_user_id: int | None) -> dict[tuple[int, int],
                                                                                      list[EvaluatorScore]]:
    """(bid id, question id) -> the evaluators' marks that ``viewer_user_id`` may see.

    Evaluators mark independently: before they have submitted their own marks for a bid they see
    only their own; the others' appear once theirs are in (for moderation). After award the marks are
    the record of the evaluation and every evaluation reader sees them."""
    tender = session.get(Tender, lot.tender_id)
    everyone = tender is not None and tenders.is_awarded(tender)
    found: dict[tuple[int, int], list[EvaluatorScore]] = {}
    query = (select(EvaluatorScore).join(Bid, Bid.id == EvaluatorScore.bid_id)
             .where(Bid.lot_id == lot.id).order_by(EvaluatorScore.id))
    scores = list(session.scalars(query))
    questions = set(session.scalars(select(QualityQuestion.id).where(QualityQuestion.lot_id == lot.id)))
    own: dict[int, set[int]] = {}
    for score in scores:
        if score.evaluator_user_id == viewer_user_id:
            own.setdefault(score.bid_id, set()).add(score.question_id)
    for score in scores:
        submitted = bool(questions) and questions <= own.get(score.bid_id, set())
        if everyone or submitted or score.evaluator_user_id == viewer_user_id:
            found.setdefault((score.bid_id, score.question_id), []).append(score)
    return found


def marks_for_bid(session: Session, bid_id: int, viewer_user_id: int | None,
                  now: datetime) -> tuple[bool, list[EvaluatorScore]]:
    """The marks on one bid that the viewer may see, and whether the viewer has submitted their own."""
    if not is_rcc(session):
        raise NotFound()
    bid = bid_service.get_bid(session, bid_id, now)
    lot = session.get(Lot, bid.lot_id)
    if lot is None:
        raise NotFound()
    visible = evaluator_scores(session, lot, viewer_user_id)
    marks = [s for (b, _q), scores in sorted(visible.items()) if b == bid.id for s in scores]
    return has_submitted(session, bid, viewer_user_id), marks


def moderated_scores(session: Session, lot: Lot) -> dict[tuple[int, int], ModeratedScore]:
    query = select(ModeratedScore).join(Bid, Bid.id == ModeratedScore.bid_id).where(Bid.lot_id == lot.id)
    return {(m.bid_id, m.question_id): m for m in session.scalars(query)}


def rank_lot(session: Session, lot: Lot, now: datetime) -> list[RankedBid]:
    """Bids best first: highest total, then lowest price. Unmoderated bids come last, unranked."""
    if not is_rcc(session):
        raise NotFound()
    bids = bid_service.bids_for_lot(session, lot, now)
    if not bids:
        return []
    questions = tenders.questions_of(session, lot)
    moderated = moderated_scores(session, lot)
    names: dict[int, str] = {row[0]: row[1] for row in session.execute(select(Organisation.id, Organisation.name).where(
        col(Organisation.id).in_({b.provider_id for b in bids})))}
    lowest = min(b.weekly_price for b in bids)
    ranked = []
    for bid in bids:
        marks = {q.id or 0: moderated[(bid.id or 0, q.id or 0)].score for q in questions if (bid.id, q.id) in moderated}
        missing = len(questions) - len(marks)
        price = price_score(lowest, bid.weekly_price, lot.price_weight)
        quality = quality_score(marks, questions, lot.quality_weight) if not missing else None
        ranked.append(RankedBid(bid, names.get(bid.provider_id, ""), price, quality,
                                price + quality if quality is not None else None, None, missing))
    ranked.sort(key=lambda r: (r.total_score is None, -(r.total_score or 0), r.bid.weekly_price, r.bid.id))
    for position, entry in enumerate(r for r in ranked if r.total_score is not None):
        entry.rank = position + 1
    return ranked


def decide_lot_award(session: Session, lot: Lot, bid_id: int | None, justification: str, now: datetime) -> Lot:
    """Choose the winning bid for a lot, with the reason. Every answer must be moderated first."""
    tender = tenders.get_tender(session, lot.tender_id)
    _require_evaluating(tender, now, "decide an award")
    ranking = rank_lot(session, lot, now)
    unmoderated = sum(r.missing_marks for r in ranking)
    if unmoderated:
        raise Conflict(f"Moderate every mark before deciding the award: {unmoderated} "
                       f"{'answer is' if unmoderated == 1 else 'answers are'} not moderated yet on lot {lot.number}")
    errors = {}
    if bid_id is None or bid_id not in {r.bid.id for r in ranking}:
        errors["bid_id"] = "Select the bid to award the lot to"
    if not justification.strip():
        errors["justification"] = "Enter the justification for the award decision"
    elif len(justification) > 4000:
        errors["justification"] = "Justification must be 4,000 characters or fewer"
    if errors:
        raise FieldErrors(errors)
    lot.awarded_bid_id = bid_id
    lot.award_justification = justification.strip()
    lot.award_decided_at = now
    top = ranking[0].bid.id
    audit.record(session, AuditAction.EVALUATION_AWARD_DECIDED, lot, bid_id=bid_id, justification=lot.award_justification,
                 highest_ranked=bid_id == top)
    return lot


def award_tender(session: Session, tender: Tender, now: datetime) -> Tender:
    """Award every lot as decided, record each bid's result, and start the standstill period."""
    _require_evaluating(tender, now, "award the tender")
    lots = tenders.lots_of(session, tender)
    results: list[tuple[Lot, list[RankedBid]]] = []
    problems = []
    for lot in lots:
        ranking = rank_lot(session, lot, now)
        if not ranking:
            continue
        missing = sum(r.missing_marks for r in ranking)
        if missing:
            problems.append(f"lot {lot.number} has {missing} unmoderated {'mark' if missing == 1 else 'marks'}")
        elif lot.awarded_bid_id is None:
            problems.append(f"lot {lot.number} has no award decision")
        results.append((lot, ranking))
    if problems:
        raise Conflict("The tender cannot be awarded yet: " + "; ".join(problems) + ".")
    if not results:
        raise Conflict("The tender cannot be awarded: no lot received a bid. Cancel it instead.")
    for lot, ranking in results:
        for entry in ranking:
            entry.bid.price_score = int(entry.price_score * 100)
            entry.bid.quality_score = int((entry.quality_score or 0) * 100)
            entry.bid.total_score = int((entry.total_score or 0) * 100)
            entry.bid.rank = entry.rank
            entry.bid.successful = entry.bid.id == lot.awarded_bid_id
    standstill = timedelta(days=settings_for(session, tender.rcc_id).standstill_days)
    # Conditional: two awards at once both pass the checks above, but only one UPDATE matches.
    claimed = session.execute(update(Tender).where(
        Tender.id == tender.id, col(Tender.awarded_at).is_(None), col(Tender.cancelled_at).is_(None),
        col(Tender.evaluation_started_at).is_not(None)).values(
        awarded_at=now, standstill_ends_at=now + standstill, row_version=Tender.row_version + 1)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("This tender has already been awarded or cancelled")
    session.refresh(tender)
    audit.record(session, AuditAction.TENDER_AWARDED, tender,
                 lots={lot.number: lot.awarded_bid_id for lot, _ in results},
                 standstill_ends_at=tender.standstill_ends_at)
    letters.write_award_letters(session, tender, results, now)
    notices.tender_result(session, tender, lots)
    return tender


@dataclass
class LotReport:
    tender: Tender
    lot: Lot
    questions: list[QualityQuestion]
    ranking: list[RankedBid]
    moderated: dict[tuple[int, int], ModeratedScore]
    marks: dict[tuple[int, int], list[EvaluatorScore]]
    evaluators: dict[int, str]
    lowest_price: int | None
    awarded: RankedBid | None


def lot_report(session: Session, lot: Lot, now: datetime, viewer_user_id: int | None) -> LotReport:
    """Everything the evaluation report for a lot shows. RCC only, once bids are unsealed. Other
    evaluators' marks show only as ``evaluator_scores`` allows the viewer."""
    tender = tenders.get_tender(session, lot.tender_id)
    ranking = rank_lot(session, lot, now)
    marks = evaluator_scores(session, lot, viewer_user_id)
    evaluators = users.names_of(session, {s.evaluator_user_id for scores in marks.values() for s in scores})
    awarded = next((r for r in ranking if r.bid.id == lot.awarded_bid_id), None)
    return LotReport(tender, lot, tenders.questions_of(session, lot), ranking, moderated_scores(session, lot), marks,
                     evaluators, min((r.bid.weekly_price for r in ranking), default=None), awarded)
