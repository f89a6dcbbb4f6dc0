"""The RCC's region dashboard: what is waiting, for how long, and what supply there is."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.lifecycle import LIVE_STATUSES
from commissioning.models import Child, Home, Referral, SiblingGroup, Vacancy, is_stale
from commissioning.vocabulary import PLACEMENT_TYPES, URGENCIES
from rcc.models import Organisation, utcnow

AGE_BANDS = ((0, 7, "0 to 7 days"), (8, 14, "8 to 14 days"), (15, 28, "15 to 28 days"), (29, 10**6, "29 days or more"))


@dataclass
class Dashboard:
    open_total: int
    by_urgency: list[tuple[str, int]]
    by_type: list[tuple[str, int]]
    by_council: list[tuple[str, int]]
    ageing: list[tuple[str, int]]
    oldest: list[tuple[Referral, str, int, str]]  # (referral, council name, days waiting, child's reference)
    vacancies_by_type: list[tuple[str, int]]
    vacancies_by_area: list[tuple[str, int]]
    stale: list[tuple[Vacancy, Home]]
    sibling_groups_waiting: list[tuple[SiblingGroup, str, int]]  # (group, council name, children waiting)
    referrals_shown: list[Referral]  # the children the page names (oldest, and those in waiting groups): audited


def days_waiting(referral: Referral, now: datetime | None = None) -> int:
    since = referral.submitted_at or referral.created_at
    return max(0, ((now or utcnow()) - since).days)


def region_dashboard(session: Session) -> Dashboard:
    now = utcnow()
    councils: dict[int, str] = dict(session.execute(  # type: ignore[arg-type]
        select(Organisation.id, Organisation.name)
                                    .where(Organisation.kind == "council")).all())
    live = list(session.scalars(select(Referral).where(col(Referral.status).in_(LIVE_STATUSES))))
    urgency = Counter(r.urgency for r in live)
    types = Counter(r.placement_type for r in live)
    by_council = Counter(councils.get(r.council_id, "Unknown") for r in live)
    ages = Counter(next(label for low, high, label in AGE_BANDS if low <= days_waiting(r, now) <= high)
                   for r in live)
    oldest = sorted(live, key=lambda r: (-days_waiting(r, now), r.id))[:10]
    references: dict[int, str] = dict(session.execute(  # type: ignore[arg-type]
        select(Child.id, Child.reference).where(col(Child.id).in_({r.child_id for r in oldest})))
                                      .all()) if oldest else {}
    supply = session.execute(select(Home, Vacancy).join(Vacancy, Vacancy.home_id == Home.id)
                             .where(col(Home.active).is_(True))).all()
    free_by_type: Counter[str] = Counter()
    free_by_area: Counter[str] = Counter()
    stale: list[tuple[Vacancy, Home]] = []
    for home, vacancy in supply:
        if vacancy.places_free > 0:
            free_by_type[home.placement_type] += vacancy.places_free
            free_by_area[home.local_authority] += vacancy.places_free
        if is_stale(vacancy.last_confirmed_at, now):
            stale.append((vacancy, home))
    waiting_counts = Counter(r.sibling_group_id for r in live if r.sibling_group_id is not None)
    groups = {g.id: g for g in session.scalars(select(SiblingGroup).where(
        col(SiblingGroup.id).in_(list(waiting_counts))))} if waiting_counts else {}
    return Dashboard(
        open_total=len(live),
        by_urgency=[(label, urgency[key]) for key, label in URGENCIES.items()],
        by_type=[(pt.label, types[key]) for key, pt in PLACEMENT_TYPES.items()],
        by_council=sorted(by_council.items(), key=lambda item: (-item[1], item[0])),
        ageing=[(label, ages[label]) for _, _, label in AGE_BANDS],
        oldest=[(r, councils.get(r.council_id, ""), days_waiting(r, now), references.get(r.child_id, f"Referral {r.id}"))
                for r in oldest],
        vacancies_by_type=[(pt.label, free_by_type[key]) for key, pt in PLACEMENT_TYPES.items()],
        vacancies_by_area=sorted(free_by_area.items(), key=lambda item: (-item[1], item[0])),
        stale=sorted(stale, key=lambda pair: pair[0].last_confirmed_at),
        sibling_groups_waiting=sorted(
            ((groups[gid], councils.get(groups[gid].council_id, ""), count) for gid, count in waiting_counts.items()
             if gid in groups), key=lambda item: (-item[2], item[0].id)),
        referrals_shown=[*oldest, *(r for r in live if r.sibling_group_id in groups and r not in oldest)],
    )


def home_count(session: Session) -> int:
    return session.scalar(select(func.count(Home.id))) or 0
