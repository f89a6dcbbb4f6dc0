"""Provider risk: how much of the region's spend and places each provider group holds, how
concentrated the market is (HHI), which councils depend on one group, and rating drops.

Spend is the weekly gross cost of placements running on the day (from cost records, else
the placement's price), times 52. Places are the registered places of active homes. An alert
is raised for any group holding more than the RCC's set share of spend or of places.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Home, Placement
from cost_transparency.models import CostRecord, RatingObservation
from cost_transparency.services import provider_groups, statistics
from cost_transparency.services.high_cost_review import settings_for
from cost_transparency.vocabulary import RATING_ORDER
from rcc import audit
from rcc.audit import AuditAction
from rcc.models import Organisation
from rcc.tenancy import OrgKind


@dataclass
class GroupFigures:
    provider_id: int
    name: str
    sector: str
    weekly_spend: int = 0  # pence
    placements: int = 0
    places: int = 0
    homes: int = 0
    spend_share: float = 0.0
    places_share: float = 0.0
    members: list[str] = field(default_factory=list)  # the providers (Ofsted legal entities) in the group


@dataclass(frozen=True)
class RatingDrop:
    home_id: int
    home_name: str
    provider_name: str
    from_rating: str
    to_rating: str
    seen_on: date | None  # None: the home's current rating, not yet recorded


@dataclass(frozen=True)
class CouncilDependence:
    council: str
    top_group: str
    share: float
    weekly_spend: int


@dataclass
class ProviderRisk:
    on: date
    groups: list[GroupFigures]
    spend_hhi: int
    places_hhi: int
    alert_percent: int
    alerts: list[str] = field(default_factory=list)
    drops: list[RatingDrop] = field(default_factory=list)
    dependence: list[CouncilDependence] = field(default_factory=list)

    @property
    def annual_spend(self) -> int:
        return sum(g.weekly_spend for g in self.groups) * 52


def assess(session: Session, rcc_id: int, on: date) -> ProviderRisk:
    providers = {p.id: p for p in session.scalars(select(Organisation).where(
        Organisation.rcc_id == rcc_id, Organisation.kind == OrgKind.PROVIDER))}
    councils = {c.id: c.name for c in session.scalars(select(Organisation).where(
        Organisation.rcc_id == rcc_id, Organisation.kind == OrgKind.COUNCIL))}
    # A provider the RCC linked to a parent group counts with the group's other providers (provider_groups).
    parents = provider_groups.parents_by_provider(session, rcc_id)
    key_of = {pid: f"group:{parents[pid].casefold()}" if pid in parents else f"provider:{pid}" for pid in providers}
    groups: dict[str, GroupFigures] = {}
    for pid, p in sorted(providers.items()):
        groups.setdefault(key_of[pid], GroupFigures(pid or 0, parents.get(pid, p.name),
                                                    p.provider_sector or "private")).members.append(p.name)
    council_spend: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for placement, weekly in current_spend(session, rcc_id, on):
        group = groups.get(key_of.get(placement.provider_id, ""))
        if group is None:
            continue
        group.weekly_spend += weekly
        group.placements += 1
        council_spend[placement.council_id][key_of[placement.provider_id]] += weekly
    for home in session.scalars(select(Home).where(Home.rcc_id == rcc_id, col(Home.active).is_(True))):
        group = groups.get(key_of.get(home.provider_id, ""))
        if group is not None:
            group.places += home.registered_places
            group.homes += 1
    spend = {str(g.provider_id): g.weekly_spend for g in groups.values()}
    places = {str(g.provider_id): g.places for g in groups.values()}
    spend_shares, place_shares = statistics.shares_percent(spend), statistics.shares_percent(places)
    for g in groups.values():
        g.spend_share = float(spend_shares[str(g.provider_id)])
        g.places_share = float(place_shares[str(g.provider_id)])
    alert_percent = settings_for(session, rcc_id).provider_share_alert_percent
    ordered = sorted(groups.values(), key=lambda g: (-g.weekly_spend, -g.places, g.name))
    risk = ProviderRisk(on, ordered, statistics.herfindahl_hirschman(spend), statistics.herfindahl_hirschman(places),
                        alert_percent)
    for g in ordered:
        if g.spend_share > alert_percent:
            risk.alerts.append(f"{g.name} holds {g.spend_share:.0f}% of the region's placement spend, "
                               f"more than the {alert_percent}% alert level.")
        if g.places_share > alert_percent:
            risk.alerts.append(f"{g.name} holds {g.places_share:.0f}% of the region's registered places, "
                               f"more than the {alert_percent}% alert level.")
    for council_id, by_group in sorted(council_spend.items(), key=lambda item: councils.get(item[0], "")):
        total = sum(by_group.values())
        top_id, top = max(by_group.items(), key=lambda item: item[1])
        risk.dependence.append(CouncilDependence(councils.get(council_id, "?"), groups[top_id].name,
                                                 100 * top / total if total else 0.0, total))
    risk.drops = rating_drops(session, rcc_id, providers)
    return risk


def current_spend(session: Session, rcc_id: int, on: date) -> list[tuple[Placement, int]]:
    placements = list(session.scalars(select(Placement).where(
        Placement.rcc_id == rcc_id, col(Placement.start_date) <= on,
        (col(Placement.end_date).is_(None)) | (col(Placement.end_date) >= on))))
    records = session.scalars(select(CostRecord).where(
        CostRecord.rcc_id == rcc_id, col(CostRecord.start_date) <= on,
        (col(CostRecord.end_date).is_(None)) | (col(CostRecord.end_date) >= on)))
    gross = {r.placement_id: r.gross_weekly for r in records}
    return [(p, gross.get(p.id or 0, p.weekly_cost)) for p in placements]


def rating_drops(session: Session, rcc_id: int, providers: dict) -> list[RatingDrop]:
    """Homes whose rating got worse: between recorded observations, or now against the last one."""
    homes = {h.id: h for h in session.scalars(select(Home).where(Home.rcc_id == rcc_id))}
    seen: dict[int, list[RatingObservation]] = defaultdict(list)
    for observation in session.scalars(select(RatingObservation).where(RatingObservation.rcc_id == rcc_id)
                                       .order_by(RatingObservation.observed_on)):
        seen[observation.home_id].append(observation)
    drops = []
    for home_id, home in homes.items():
        history = [(o.rating, o.observed_on) for o in seen.get(home_id or 0, [])]
        if not history or history[-1][0] != home.ofsted_rating:
            history.append((home.ofsted_rating, None))  # type: ignore[arg-type]
        for (before, _), (after, when) in zip(history, history[1:], strict=False):
            if RATING_ORDER.get(after, 0) and RATING_ORDER.get(before, 0) > RATING_ORDER.get(after, 0):
                provider = providers.get(home.provider_id)
                drops.append(RatingDrop(home_id or 0, home.name, provider.name if provider else "?", before, after,
                                        when))
    return sorted(drops, key=lambda d: (d.seen_on or date.max, d.home_name), reverse=True)


def record_ratings(session: Session, rcc_id: int, on: date) -> int:
    """Write down each home's rating today where it differs from the last one written down."""
    latest: dict[int, str] = {}
    for observation in session.scalars(select(RatingObservation).where(RatingObservation.rcc_id == rcc_id)
                                       .order_by(RatingObservation.observed_on)):
        latest[observation.home_id] = observation.rating
    added = 0
    for home in session.scalars(select(Home).where(Home.rcc_id == rcc_id)):
        if latest.get(home.id or 0) == home.ofsted_rating:
            continue
        exists = session.scalars(select(RatingObservation).where(RatingObservation.home_id == home.id,
                                                                 RatingObservation.observed_on == on)).first()
        if exists is not None:
            exists.rating = home.ofsted_rating
            session.add(exists)
        else:
            session.add(RatingObservation(rcc_id=rcc_id, provider_id=home.provider_id, home_id=home.id or 0,
                                          rating=home.ofsted_rating, observed_on=on))
        added += 1
    if added:
        session.flush()
        marker = session.scalars(select(RatingObservation).where(RatingObservation.rcc_id == rcc_id)).first()
        if marker is not None:
            audit.record(session, AuditAction.RATINGS_RECORDED, marker, homes=added, on=on)
    return added
