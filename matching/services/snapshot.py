"""Builds the engine's Problem from the database: referrals, homes, vacancies, block places, weights.

Children and homes are named by pseudonymous keys (``keys.child_key``); a child's location is
the centroid of their postcode sector, never the postcode itself. What the engine cannot
express directly is turned into exclusions here, so the funnel reports it as "exclusions":
  * areas the council excluded (homes in those local authorities), and
  * a maximum distance from home (homes further away).
A home with no weekly price is costed at the median price of priced homes of its type in the
snapshot (or £0 when there is none), so it is neither favoured nor ruled out for lack of a price.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Child, Home, Referral, Vacancy
from commissioning.services.referrals import children_by_id, open_referrals_for_matching, sibling_groups_by_id
from matching.engine import Child as EngineChild
from matching.engine import Home as EngineHome
from matching.engine import Point, Problem, SolveOptions, Weights
from matching.engine import SiblingGroup as EngineSiblingGroup
from matching.services.capacity import held_places
from matching.services.keys import child_key, group_key, home_key, provider_key
from rcc.geography import great_circle_miles, local_authority_named

# Commissioning's urgencies, in the engine's words.
URGENCY_FOR_ENGINE = {"emergency": "emergency", "within_7_days": "urgent", "planned": "planned"}
SOLVE_OPTIONS = SolveOptions(time_limit_seconds=60.0)


@dataclass(frozen=True)
class BlockPlace:
    """Free block-contract places at a home, from the contracts package when it is installed."""

    home_id: int
    contract_id: int
    free_places: int
    weekly_price: int  # pence


def free_block_places(session: Session, on_date: date) -> dict[int, BlockPlace]:
    """Home id -> free block places; empty (every place is spot) until contracts provides them."""
    try:
        from contracts.services.block_places import free_block_places as contracts_free_places  # noqa: PLC0415
    except ImportError:
        return {}
    found = contracts_free_places(session, on_date)
    return {home_id: BlockPlace(p.home_id, p.contract_id, int(p.free_places), int(p.weekly_price))
            for home_id, p in found.items() if p.free_places > 0}


def referrals_for_run(session: Session, referral_ids: Sequence[int] | None) -> list[Referral]:
    """The open referrals the run covers: all of them, or the chosen ones that are still open."""
    open_referrals = open_referrals_for_matching(session)
    if referral_ids is None:
        return open_referrals
    wanted = set(referral_ids)
    return [r for r in open_referrals if r.id in wanted]


def build_problem(session: Session, referrals: Sequence[Referral], now: datetime,
                  weights: Weights | None = None) -> Problem:
    """The engine's problem for ``referrals`` and every home with a place free now."""
    today = now.date()
    homes = _homes_with_free_places(session, now)
    children = children_by_id(session, list(referrals))
    groups = sibling_groups_by_id(session, list(referrals))
    engine_children = tuple(_engine_child(r, children[r.child_id], homes, today) for r in referrals)
    grouped = {c.sibling_group for c in engine_children if c.sibling_group}
    engine_groups = tuple(EngineSiblingGroup(group_key(g.id), g.keep_together)
                          for g in groups.values() if group_key(g.id) in grouped)
    blocks = free_block_places(session, today)
    prices = _fallback_prices([home for home, _, _ in homes])
    engine_homes = tuple(_engine_home(home, free, where, blocks.get(home.id), prices) for home, free, where in homes)
    return Problem(children=engine_children, homes=engine_homes, sibling_groups=engine_groups,
                   weights=weights or Weights(), options=SOLVE_OPTIONS)


def _homes_with_free_places(session: Session, now: datetime) -> list[tuple[Home, int, Point]]:
    """Active homes with a place not already held by an open offer, with where they are."""
    rows = session.execute(select(Home, Vacancy).join(Vacancy, Vacancy.home_id == Home.id)
                           .where(col(Home.active).is_(True), Vacancy.places_free > 0).order_by(Home.id)).all()
    held = held_places(session, [int(home.id or 0) for home, _ in rows], now)
    found = []
    for home, vacancy in rows:
        free = vacancy.places_free - held.get(home.id, 0)
        location = _location_of_home(home)
        if free > 0 and location is not None:
            found.append((home, free, location))
    return found


def _location_of_home(home: Home) -> Point | None:
    if home.latitude is not None and home.longitude is not None:
        return Point(home.latitude, home.longitude)
    authority = local_authority_named(home.local_authority)
    return authority.centre if authority else None


def _location_of_child(child: Child) -> Point:
    if child.home_latitude is not None and child.home_longitude is not None:
        return Point(child.home_latitude, child.home_longitude)
    return Point(52.5, -1.5)  # never reached: commissioning places every child's postcode when it is entered


def _engine_child(referral: Referral, child: Child, homes: list[tuple[Home, int, Point]], today: date) -> EngineChild:
    location = _location_of_child(child)
    school = (Point(child.school_latitude, child.school_longitude)
              if child.school_latitude is not None and child.school_longitude is not None else None)
    excluded = {home_key(h) for h in referral.excluded_home_ids}
    if referral.excluded_areas:
        areas = set(referral.excluded_areas)
        excluded |= {home_key(int(home.id or 0)) for home, _, _ in homes if home.local_authority in areas}
    if referral.max_distance_miles is not None:
        limit = referral.max_distance_miles
        excluded |= {home_key(int(home.id or 0)) for home, _, where in homes
                     if great_circle_miles(location, where) > limit}
    return EngineChild(
        id=child_key(int(referral.id or 0)),
        age=max(0, child.age_on(max(referral.date_needed, today))),
        sex=child.sex,
        placement_types=referral.allowed_placement_types(),
        home_location=location,
        urgency=URGENCY_FOR_ENGINE.get(referral.urgency, "planned"),
        sibling_group=group_key(referral.sibling_group_id) if referral.sibling_group_id else None,
        needs=frozenset(referral.needs),
        risk_flags=frozenset(referral.risk_flags),
        school_location=school,
        excluded_homes=frozenset(excluded),
        excluded_providers=frozenset(provider_key(p) for p in referral.excluded_provider_ids),
        max_weekly_cost=None if referral.max_weekly_cost is None else referral.max_weekly_cost / 100,
        needs_deprivation_of_liberty=bool(referral.dol_order_needed),
    )


def _fallback_prices(homes: list[Home]) -> dict[str, float]:
    """Placement type -> median weekly price in pounds of the priced homes of that type."""
    by_type: dict[str, list[int]] = defaultdict(list)
    for home in homes:
        if home.weekly_price is not None:
            by_type[home.placement_type].append(home.weekly_price)
    return {kind: statistics.median(prices) / 100 for kind, prices in by_type.items()}


def weekly_cost_pounds(home: Home, fallback: dict[str, float]) -> float:
    if home.weekly_price is not None:
        return home.weekly_price / 100
    return fallback.get(home.placement_type, 0.0)


def _engine_home(home: Home, free: int, location: Point, block: BlockPlace | None,
                 fallback: dict[str, float]) -> EngineHome:
    return EngineHome(
        id=home_key(home.id),
        provider=provider_key(home.provider_id),
        placement_type=home.placement_type,
        location=location,
        free_places=free,
        weekly_cost=weekly_cost_pounds(home, fallback),
        block_places=min(block.free_places, free) if block else 0,
        min_age=home.age_min,
        max_age=home.age_max,
        sexes=frozenset(home.sexes),
        needs_met=frozenset(home.needs_met),
        max_sibling_group=max(1, home.max_sibling_group),
        ofsted_rating=home.ofsted_rating,
        deprivation_of_liberty=bool(home.dol_capable),
        area=home.local_authority,
    )


def snapshot_summary(problem: dict[str, Any]) -> dict[str, int]:
    return {"children": len(problem.get("children", [])), "homes": len(problem.get("homes", [])),
            "sibling_groups": len(problem.get("sibling_groups", [])),
            "free_places": sum(h["free_places"] for h in problem.get("homes", [])),
            "block_places": sum(h.get("block_places", 0) for h in problem.get("homes", []))}

