"""Cost transparency's deadline, acted on by ``flask tick``: a high-cost review that is due (flagged and
not yet reviewed, or past its next review date) is reminded to the council's finance leads, once per due date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlmodel import col

from cost_transparency.models import CostRecord, HighCostReview
from rcc import audit
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.notifications import Event, To, notify
from rcc.roles import Role
from rcc.ticks import claim, on_behalf_of, system


def due_on(review: HighCostReview) -> Any:
    return review.flagged_on if review.status == "open" else review.next_review_on


def remind_reviews_due(make_session: Callable[[], Any], now: datetime) -> int:
    today = now.date()
    with system(make_session) as session:
        ids = list(session.scalars(select(HighCostReview.id).where(or_(
            and_(HighCostReview.status == "open", HighCostReview.flagged_on <= today),  # type: ignore[arg-type]
            and_(HighCostReview.status == "reviewed", HighCostReview.next_review_on <= today),  # type: ignore[operator]
        )).order_by(HighCostReview.id)))
    done = 0
    for review_id in ids:
        with system(make_session) as session, transaction(session):
            review = session.get(HighCostReview, review_id)
            if review is None or due_on(review) is None:
                continue
            occurrence = f"high_cost_review:{review.id}:{due_on(review).isoformat()}"
            if not claim(session, review.rcc_id, "high_cost_review_due", occurrence):
                continue
            audit.record(session, AuditAction.HIGH_COST_REVIEW_REMINDED, review, actor=on_behalf_of(review.rcc_id),
                         due_on=due_on(review))
            notify(session, Event.HIGH_COST_REVIEW_DUE, review.rcc_id,
                   [To(review.council_id, (Role.COUNCIL_FINANCE_LEAD,))],
                   {"placement": f"#{review.placement_id}", "due_on": f"{due_on(review):%-d %B %Y}"},
                   about=occurrence)
            done += 1
    return done


def forget_notes_of_placements(session: Any, placement_ids: list[int]) -> None:
    """The retention purge (``commissioning.retention``): the notes written on a child's cost records and
    high-cost reviews go; the figures stay."""
    if not placement_ids:
        return
    for record in session.scalars(select(CostRecord).where(col(CostRecord.placement_id).in_(placement_ids))):
        if record.notes:
            record.notes = ""
    for review in session.scalars(select(HighCostReview).where(col(HighCostReview.placement_id).in_(placement_ids))):
        if review.notes:
            review.notes = ""
