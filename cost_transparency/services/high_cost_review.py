"""The high-cost review queue: placements costing more than the RCC's threshold a week, or
outliers for their placement type (above the upper quartile + 1.5 × IQR of the region's
current weekly costs of that type), each reviewed and its outcome recorded.

Saving a cost record flags it at once if it is above the threshold. Outliers need the whole
region's costs, so the RCC's "Check for high-cost placements" (``refresh_queue``) finds them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Placement
from cost_transparency.models import CostRecord, CostSettings, HighCostReview
from cost_transparency.services import statistics
from cost_transparency.vocabulary import REVIEW_OUTCOMES
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import FieldErrors
from rcc.models import utcnow
from rcc.versions import save_edit

MIN_FOR_OUTLIERS = 4  # quartiles of fewer costs say nothing about what is unusual


def settings_for(session: Session, rcc_id: int) -> CostSettings:
    """The RCC's settings, or the defaults (not saved) if it has never changed them."""
    found = session.scalars(select(CostSettings).where(CostSettings.rcc_id == rcc_id)).first()
    return found or CostSettings(rcc_id=rcc_id)


def update_settings(session: Session, rcc_id: int, threshold_pounds: int | None, share_percent: int | None,
                    user_id: int | None, seen_version: int | None = None) -> CostSettings:
    """Change the RCC's thresholds; refused if someone else changed them after the person read ``seen_version``."""
    errors = {}
    if threshold_pounds is None or not 500 <= threshold_pounds <= 100_000:
        errors["high_cost_threshold"] = "Enter a weekly threshold between £500 and £100,000"
    if share_percent is None or not 5 <= share_percent <= 100:
        errors["provider_share_alert_percent"] = "Enter a share between 5% and 100%"
    if errors:
        raise FieldErrors(errors)
    settings = settings_for(session, rcc_id)
    before = (settings.high_cost_threshold, settings.provider_share_alert_percent)
    settings.high_cost_threshold = int(threshold_pounds or 0) * 100
    settings.provider_share_alert_percent = int(share_percent or 0)
    settings.updated_at = utcnow()
    settings.updated_by_user_id = user_id
    if settings.id is None:
        session.add(settings)
    else:
        save_edit(session, "setting", seen_version, settings, money=("high_cost_threshold",))
    audit.record(session, AuditAction.COST_SETTINGS_UPDATED, settings, before=list(before),
                 after=[settings.high_cost_threshold, settings.provider_share_alert_percent])
    return settings


def flag_if_above_threshold(session: Session, record: CostRecord, today: date) -> HighCostReview | None:
    threshold = settings_for(session, record.rcc_id).high_cost_threshold
    if record.gross_weekly <= threshold:
        return None
    placement = session.get(Placement, record.placement_id)
    if placement is not None and placement.end_date is not None and placement.end_date < today:
        return None  # an ended placement's cost, recorded late: nothing left to review
    return _flag(session, record, ["threshold"], threshold, None, today)


def _flag(session: Session, record: CostRecord, reasons: list[str], threshold: int, outlier_limit: int | None,
          today: date) -> HighCostReview:
    session.flush()
    review = session.scalars(select(HighCostReview).where(HighCostReview.cost_record_id == record.id)).first()
    if review is not None:
        if set(reasons) - set(review.reasons):
            review.reasons = sorted(set(review.reasons) | set(reasons))
            review.outlier_limit = outlier_limit or review.outlier_limit
            session.add(review)
        return review
    review = HighCostReview(rcc_id=record.rcc_id, council_id=record.council_id, placement_id=record.placement_id,
                            cost_record_id=record.id or 0, placement_type=record.placement_type,
                            weekly_cost=record.gross_weekly, reasons=sorted(reasons), threshold=threshold,
                            outlier_limit=outlier_limit, flagged_on=today)
    session.add(review)
    audit.record(session, AuditAction.HIGH_COST_REVIEW_FLAGGED, review, reasons=review.reasons,
                 weekly_cost=review.weekly_cost)
    return review


@dataclass(frozen=True)
class RefreshResult:
    checked: int
    flagged: int
    outlier_limits: dict[str, int]


def current_records(session: Session, on: date) -> list[CostRecord]:
    """Cost records in force on ``on`` for placements still running then."""
    query = (select(CostRecord).join(Placement, Placement.id == CostRecord.placement_id)
             .where(col(CostRecord.start_date) <= on,
                    (col(CostRecord.end_date).is_(None)) | (col(CostRecord.end_date) >= on),
                    col(Placement.start_date) <= on,
                    (col(Placement.end_date).is_(None)) | (col(Placement.end_date) >= on)))
    return list(session.scalars(query))


def refresh_queue(session: Session, rcc_id: int, today: date) -> RefreshResult:
    """Flag every current cost above the threshold or above its type's outlier limit."""
    records = [r for r in current_records(session, today) if r.rcc_id == rcc_id]
    threshold = settings_for(session, rcc_id).high_cost_threshold
    by_type: dict[str, list[int]] = defaultdict(list)
    for record in records:
        by_type[record.placement_type].append(record.gross_weekly)
    limits = {kind: statistics.outlier_fences(costs).upper
              for kind, costs in by_type.items() if len(costs) >= MIN_FOR_OUTLIERS}
    before = len(list(session.scalars(select(HighCostReview.id).where(HighCostReview.rcc_id == rcc_id))))
    for record in records:
        reasons = []
        if record.gross_weekly > threshold:
            reasons.append("threshold")
        limit = limits.get(record.placement_type)
        if limit is not None and record.gross_weekly > limit:
            reasons.append("outlier")
        if reasons:
            _flag(session, record, reasons, threshold, limit, today)
    session.flush()
    after = len(list(session.scalars(select(HighCostReview.id).where(HighCostReview.rcc_id == rcc_id))))
    return RefreshResult(len(records), after - before, limits)


def record_outcome(session: Session, review: HighCostReview, outcome: str | None, notes: str,
                   next_review_on: date | None, user_id: int | None) -> HighCostReview:
    errors = {}
    if outcome not in REVIEW_OUTCOMES:
        errors["outcome"] = "Select the outcome of the review"
    if not (notes or "").strip():
        errors["notes"] = "Enter what was decided and why"
    elif len(notes) > 4000:
        errors["notes"] = "Notes must be 4,000 characters or fewer"
    if next_review_on is not None and next_review_on < review.flagged_on:
        errors["next_review_on"] = "The next review date must be after the placement was flagged"
    if errors:
        raise FieldErrors(errors)
    previous = review.outcome
    review.outcome = outcome
    review.notes = notes.strip()
    review.next_review_on = next_review_on
    review.status = "reviewed"
    review.reviewed_by_user_id = user_id
    review.reviewed_at = utcnow()
    session.add(review)
    audit.record(session, AuditAction.HIGH_COST_REVIEW_REVIEWED, review, outcome=outcome, previous_outcome=previous)
    return review


def queue(session: Session, status: str | None = None, today: date | None = None) -> list[HighCostReview]:
    """Reviews of placements still running on ``today``: a placement that has ended needs no review."""
    today = today or date.today()
    query = (select(HighCostReview).join(Placement, Placement.id == HighCostReview.placement_id)
             .where(col(Placement.end_date).is_(None) | (col(Placement.end_date) >= today))
             .order_by(HighCostReview.status, col(HighCostReview.weekly_cost).desc(), HighCostReview.id))
    if status:
        query = query.where(HighCostReview.status == status)
    return list(session.scalars(query))
