"""Keeping children's records no longer than the retention policy allows (docs/retention.md).

A child's identifiable details are removed once nothing about them is open and their retention period
has passed:

* a child who was ever placed through the platform: the Children's Homes (England) Regulations 2015
  (regulation 37) and the Care Planning, Placement and Case Review (England) Regulations 2010
  (regulation 50) keep a looked-after child's case record until their 75th birthday, so the details stay
  until the end of the month in which they turn 75;
* a child referred but never placed: ``RCC_RETENTION_UNPLACED_YEARS`` (default 6, the local choice the
  policy documents) after their last referral closed (withdrawn).

What is removed: the council's reference for the child (replaced by ``removed-<id>``), initials, month of
birth (kept as January: the year stays), postcodes cut to their outward code (the district) and the
exact locations, and every free-text field of the child's referrals (wishes, the summary for providers,
risks described in words, preferred location, the out-of-area reason) and of their history, and the name
and reason of a sibling group once none of its referrals is open. What stays, for cost transparency and
sufficiency figures: the records themselves, with their council, dates, placement types, homes,
providers, weekly costs and cost records, and the child's sex, year of birth, legal status, category of
need and needs as tick-box codes: none of which names the child.

Each child is purged once (``rcc.ticks.claim``, kind ``retention_purge``), audited
(``retention.purged``), by the tick every minute or by ``flask purge-expired-records``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select

from commissioning.lifecycle import OPEN_STATUSES, WITHDRAWN
from commissioning.models import Child, Placement, Referral, ReferralEvent, SiblingGroup
from rcc import audit
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.ticks import claim, on_behalf_of, system

CARE_RECORD_YEARS = 75  # until the 75th birthday (Children's Homes Regulations 2015, reg. 37)
DEFAULT_UNPLACED_YEARS = 6
REMOVED_PREFIX = "removed-"

# What other capabilities hold about a placed child in words (cost notes, review notes): each step is
# ``step(session, placement_ids)``, run in the purge's transaction (``add_purge_step``).
PurgeStep = Callable[[Any, list[int]], None]
_STEPS: list[PurgeStep] = []


# What other capabilities hold about a child's referrals (referral packs' documents, the profile copies
# offers and answers keep): ``step(session, referral_ids)``, in the purge's transaction.
_REFERRAL_STEPS: list[PurgeStep] = []


def add_referral_purge_step(step: PurgeStep) -> None:
    """Have the purge also clear what ``step`` clears for the child's referrals (once per function)."""
    if step not in _REFERRAL_STEPS:
        _REFERRAL_STEPS.append(step)


def add_purge_step(step: PurgeStep) -> None:
    """Have the purge also clear what ``step`` clears for the child's placements (once per function)."""
    if step not in _STEPS:
        _STEPS.append(step)


def unplaced_years() -> int:
    """``RCC_RETENTION_UNPLACED_YEARS``: how long a referral never placed keeps the child's details."""
    raw = os.environ.get("RCC_RETENTION_UNPLACED_YEARS", str(DEFAULT_UNPLACED_YEARS))
    try:
        years = int(raw)
    except ValueError:
        raise ValueError(f"RCC_RETENTION_UNPLACED_YEARS is {raw!r}: give a whole number of years") from None
    if years < 1:
        raise ValueError("RCC_RETENTION_UNPLACED_YEARS must be at least 1")
    return years


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def care_record_until(child: Child) -> date:
    """The first day after the month of the child's 75th birthday (only the month is known)."""
    year, month = child.birth_year + CARE_RECORD_YEARS, child.birth_month + 1
    return date(year + 1, 1, 1) if month == 13 else date(year, month, 1)


@dataclass(frozen=True)
class Due:
    child_id: int
    reason: str  # "care_record_75" | "never_placed"
    kept_until: date


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def due_for_purge(session: Any, now: datetime) -> list[Due]:
    """Children whose details may now be removed: nothing open, no live placement, retention passed,
    not already removed."""
    today = now.date()
    open_referral = exists().where(Referral.child_id == Child.id, Referral.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
    live_placement = exists().where(Placement.child_id == Child.id, Placement.end_date.is_(None))  # type: ignore[union-attr]
    children = list(session.scalars(select(Child).where(
        ~open_referral, ~live_placement, ~Child.reference.startswith(REMOVED_PREFIX))  # type: ignore[attr-defined]
        .order_by(Child.id)))
    found: list[Due] = []
    years = unplaced_years()
    for child in children:
        placed = session.scalar(select(exists().where(Placement.child_id == child.id)))
        if placed:
            until = care_record_until(child)
            if until <= today:
                found.append(Due(int(child.id or 0), "care_record_75", until))
            continue
        closed = [_aware(r.status_changed_at) for r in session.scalars(
            select(Referral).where(Referral.child_id == child.id))]
        last = max(closed) if closed else _aware(child.created_at)
        until = _add_years(last.date(), years) + timedelta(days=1)
        if until <= today:
            found.append(Due(int(child.id or 0), "never_placed", until))
    return found


def _outward(postcode: str | None) -> str | None:
    if not postcode:
        return postcode
    parts = postcode.strip().split()
    return parts[0][:8] if len(parts) > 1 else postcode.strip()[:-3].strip()[:8] or None


def purge_child(session: Any, due: Due) -> bool:
    """Remove one child's identifiable details (in the caller's transaction, acting as the platform):
    False if another tick or command has already done it."""
    child = session.get(Child, due.child_id)
    if child is None or child.reference.startswith(REMOVED_PREFIX):
        return False
    if not claim(session, child.rcc_id, "retention_purge", f"child:{child.id}"):
        return False
    child.reference = f"{REMOVED_PREFIX}{child.id}"
    child.initials = None
    child.birth_month = 1
    child.home_postcode = _outward(child.home_postcode) or ""
    child.school_postcode = _outward(child.school_postcode)
    child.home_latitude = child.home_longitude = child.school_latitude = child.school_longitude = None
    referrals = list(session.scalars(select(Referral).where(Referral.child_id == child.id).order_by(Referral.id)))
    groups: set[int] = set()
    for referral in referrals:
        referral.child_wishes = ""
        referral.provider_summary = ""
        referral.risk_to_child_other = referral.risk_to_others_other = None
        referral.preferred_location = referral.out_of_area_reason = None
        for event in session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id,
                                                                 ReferralEvent.reason.is_not(None))):  # type: ignore[union-attr]
            event.reason = None
        if referral.sibling_group_id is not None:
            groups.add(referral.sibling_group_id)
    for group_id in sorted(groups):
        still_open = session.scalar(select(exists().where(Referral.sibling_group_id == group_id,
                                                          Referral.status.in_(OPEN_STATUSES))))  # type: ignore[attr-defined]
        group = session.get(SiblingGroup, group_id)
        if group is not None and not still_open:
            group.name = f"Sibling group {group.id}"
            if group.plan_reason:
                group.plan_reason = "Removed under the retention policy"
    placement_ids = [int(i) for i in session.scalars(select(Placement.id).where(Placement.child_id == child.id))]
    for step in _STEPS:
        step(session, placement_ids)
    for step in _REFERRAL_STEPS:
        step(session, [int(r.id or 0) for r in referrals])
    audit.record(session, AuditAction.RETENTION_PURGED, child, actor=on_behalf_of(child.rcc_id),
                 reason=due.reason, kept_until=due.kept_until.isoformat(),
                 referral_ids=[r.id for r in referrals],
                 withdrawn=sum(1 for r in referrals if r.status == WITHDRAWN))
    return True


def purge_expired(make_session: Callable[[], Any], now: datetime, dry_run: bool = False) -> int:
    """The tick's task and the command's work: purge every child due, one per transaction. Gives how
    many were purged (or, with ``dry_run``, would be)."""
    with system(make_session) as session:
        due = due_for_purge(session, now)
    if dry_run:
        return len(due)
    done = 0
    for item in due:
        with system(make_session) as session, transaction(session):
            if purge_child(session, item):
                done += 1
    return done
