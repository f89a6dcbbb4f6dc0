"""Builds the engine's Problem from the database: referrals, homes, vacancies, block places, weights.

Supply is every active home with a free place: a place its provider's vacancy records, or a
contracted void place (a place of a live block contract that no live placement and no open offer
holds), which is available without any vacancy and priced at the contract's price.

Children and homes are named by pseudonymous keys (``keys.child_key``); a child's location is
the centroid of their postcode sector, never the postcode itself. What the engine cannot
express directly is turned into exclusions here, so the funnel reports it as "exclusions":
  * areas the council excluded (homes in those local authorities), and
  * a maximum distance from home (homes further away).
A provider's answer to the council's referral pack is the engine's too: "cannot" rules the home
out for that child (the funnel's "provider_cannot" step) and a price offered is that child's price
for the home.
A home with no weekly price is costed at the median price of priced homes of its type in the
snapshot (or £0 when there is none), so it is neither favoured nor ruled out for lack of a price.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Child, FosterHousehold, Home, Referral, Vacancy
from commissioning.services.fostering import in_house_points_by_council
from commissioning.services.referrals import children_by_id, open_referrals_for_matching, sibling_groups_by_id
from matching.engine import Child as EngineChild
from matching.engine import Home as EngineHome
from matching.engine import Point, Problem, SolveOptions, Weights
from matching.engine import SiblingGroup as EngineSiblingGroup
from matching.models import DECLINED, REJECTED, Offer
from matching.services.capacity import BlockPlace, free_block_places, held_block_places, held_places
from matching.services.keys import child_key, council_key, group_key, home_key, household_key, provider_key
from matching.services.places import held_household_places
from matching.services.referral_packs import answers_for_engine
from rcc.geography import great_circle_miles, local_authority_named
from rcc.models import Organisation, utcnow
from rcc.tenancy import OrgKind

# Commissioning's urgencies, in the engine's words.
URGENCY_FOR_ENGINE = {"emergency": "emergency", "within_7_days": "urgent", "planned": "planned"}
SOLVE_OPTIONS = SolveOptions(time_limit_seconds=60.0)


def referrals_for_run(session: Session, referral_ids: Sequence[int] | None) -> list[Referral]:
    """The open referrals the run covers: all of them, or the chosen ones that are still open."""
    open_referrals = open_referrals_for_matching(session)
    if referral_ids is None:
        return open_referrals
    wanted = set(referral_ids)
    return [r for r in open_referrals if r.id in wanted]


def build_problem(session: Session, referrals: Sequence[Referral], now: datetime,
                  weights: Weights | None = None, foster_households: bool = True) -> Problem:
    """The engine's problem for ``referrals`` and every home and approved foster household with a
    place free now (foster households keyed "F<id>"; ``foster_households=False`` leaves them out)."""
    today = now.date()
    homes = _homes_with_free_places(session, now)
    households = households_with_free_places(session, now) if foster_households else []
    places = [(home_key(int(home.id or 0)), home.local_authority, where) for home, _, where in homes]
    places += [(household_key(int(h.id or 0)), h.local_authority, Point(h.latitude, h.longitude))
               for h, _, _ in households]
    preferences = in_house_points_by_council(session) if households else {}
    children = children_by_id(session, list(referrals))
    groups = sibling_groups_by_id(session, list(referrals))
    # Providers' answers to referral packs: "cannot" rules a home out for that child, a price offered
    # replaces the home's price for that child (``referral_packs``); a home nobody asked is unaffected.
    answers = answers_for_engine(session, [int(r.id or 0) for r in referrals])
    turned_down = _households_turned_down(session, [int(r.id or 0) for r in referrals]) if households else {}
    engine_children = tuple(
        _engine_child(r, children[r.child_id], places, today,
                      {**in_house_child_fields(r, preferences), **answers.get(int(r.id or 0), {})},
                      turned_down.get(int(r.id or 0), set()))
        for r in referrals)
    grouped = {c.sibling_group for c in engine_children if c.sibling_group}
    engine_groups = tuple(EngineSiblingGroup(group_key(g.id), g.plan)
                          for g in groups.values() if group_key(g.id) in grouped)
    blocks = _unheld_block_places(session, now)
    prices = _fallback_prices([(home.placement_type, home.weekly_price) for home, _, _ in homes]
                              + [("foster_care", h.weekly_cost) for h, _, _ in households])
    engine_homes = tuple(_engine_home(home, free, where, blocks.get(home.id), prices) for home, free, where in homes)
    engine_homes += tuple(engine_household(h, owner, prices, free) for h, owner, free in households)
    return Problem(children=engine_children, homes=engine_homes, sibling_groups=engine_groups,
                   weights=weights or Weights(), options=SOLVE_OPTIONS)


def _homes_with_free_places(session: Session, now: datetime) -> list[tuple[Home, int, Point]]:
    """Active homes with a place not already held by an open offer, with where they are.

    A home's free places are its vacancy's or its contracted void places, whichever is more
    (``capacity.free_places``): a live block contract's unused place needs no vacancy record.
    """
    vacancies: dict[int, int] = dict(session.execute(  # type: ignore[arg-type]
        select(Vacancy.home_id, Vacancy.places_free).where(Vacancy.places_free > 0)).all())
    blocks = free_block_places(session, now.date())
    ids = sorted(set(vacancies) | set(blocks))
    homes = list(session.scalars(select(Home).where(col(Home.id).in_(ids), col(Home.active).is_(True))
                                 .order_by(Home.id))) if ids else []
    held = held_places(session, [int(home.id or 0) for home in homes], now)
    found = []
    for home in homes:
        block = blocks.get(int(home.id or 0))
        free = max(vacancies.get(home.id, 0), block.free_places if block else 0) - held.get(home.id, 0)
        location = _location_of_home(home)
        if free > 0 and location is not None:
            found.append((home, free, location))
    return found


def _unheld_block_places(session: Session, now: datetime) -> dict[int, BlockPlace]:
    """Contracted void places less those already held by open offers at the contract's price."""
    blocks = free_block_places(session, now.date())
    held = held_block_places(session, list(blocks), now)
    return {home_id: BlockPlace(b.home_id, b.contract_id, b.free_places - held.get(home_id, 0), b.weekly_price)
            for home_id, b in blocks.items() if b.free_places > held.get(home_id, 0)}


def _location_of_home(home: Home) -> Point | None:
    if home.latitude is not None and home.longitude is not None:
        return Point(home.latitude, home.longitude)
    authority = local_authority_named(home.local_authority)
    return authority.centre if authority else None


def _location_of_child(child: Child) -> Point:
    if child.home_latitude is not None and child.home_longitude is not None:
        return Point(child.home_latitude, child.home_longitude)
    return Point(52.5, -1.5)  # never reached: commissioning places every child's postcode when it is entered


def _engine_child(referral: Referral, child: Child, places: list[tuple[str, str, Point]], today: date,
                  extra: dict[str, Any] | None = None, excluded_households: set[int] | None = None) -> EngineChild:
    """``places``: (engine key, council area, point) of every home and household in the problem;
    ``excluded_households``: households whose offer for this child was declined or rejected."""
    location = _location_of_child(child)
    school = (Point(child.school_latitude, child.school_longitude)
              if child.school_latitude is not None and child.school_longitude is not None else None)
    excluded = {home_key(h) for h in referral.excluded_home_ids}
    excluded |= {household_key(h) for h in excluded_households or ()}
    if referral.excluded_areas:
        areas = set(referral.excluded_areas)
        excluded |= {key for key, area, _ in places if area in areas}
    if referral.max_distance_miles is not None:
        limit = referral.max_distance_miles
        excluded |= {key for key, _, where in places if great_circle_miles(location, where) > limit}
    return EngineChild(
        id=child_key(int(referral.id or 0)),
        age=max(0, child.age_on(max(referral.date_needed, today))),
        sex=child.sex,
        placement_types=referral.allowed_placement_types(),
        preferred_placement_types=referral.preferred_placement_types(),
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
        **(extra or {}),
    )


def _fallback_prices(prices: list[tuple[str, int | None]]) -> dict[str, float]:
    """Placement type -> median weekly price in pounds of the priced homes (and households) of that type,
    from (placement type, pence or None) pairs."""
    by_type: dict[str, list[int]] = defaultdict(list)
    for placement_type, pence in prices:
        if pence is not None:
            by_type[placement_type].append(pence)
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
        # A home with a contracted void place is priced at the contract's price: its block places
        # are filled first, and the engine has one price per home.
        weekly_cost=block.weekly_price / 100 if block else weekly_cost_pounds(home, fallback),
        block_places=min(block.free_places, free) if block else 0,
        min_age=home.age_min,
        max_age=home.age_max,
        sexes=frozenset(home.sexes),
        needs_met=frozenset(home.needs_met),
        max_sibling_group=max(1, home.max_sibling_group),
        ofsted_rating=home.ofsted_rating,
        deprivation_of_liberty=bool(home.dol_capable),
        area=home.local_authority,
        allow_inadequate=home.inadequate_override_reason is not None,
    )


# Foster households --------------------------------------------------------------------------

def households_with_free_places(session: Session, now: datetime | None = None
                                ) -> list[tuple[FosterHousehold, Organisation, int]]:
    """Approved foster households with a place free and not held by an offer waiting for an answer, with
    their owner (a council or an agency) and those free places. ``places_free`` is what is left once
    accepted offers took theirs; offers still waiting for an answer hold a place too."""
    rows = session.execute(
        select(FosterHousehold, Organisation).join(Organisation, Organisation.id == FosterHousehold.owner_id)
        .where(FosterHousehold.status == "approved", FosterHousehold.places_free > 0)
        .order_by(FosterHousehold.id)).all()
    held = held_household_places(session, [int(h.id or 0) for h, _ in rows], now or utcnow())
    found = []
    for household, owner in rows:
        free = household.places_free - held.get(int(household.id or 0), 0)
        if free > 0:
            found.append((household, owner, free))
    return found


def _households_turned_down(session: Session, referral_ids: list[int]) -> dict[int, set[int]]:
    """Referral id -> households whose owner declined the child, or whose offer the council rejected:
    not proposed again (as a declined home joins the referral's ``excluded_home_ids``)."""
    if not referral_ids:
        return {}
    found: dict[int, set[int]] = defaultdict(set)
    for referral_id, household_id in session.execute(
            select(Offer.referral_id, Offer.foster_household_id).where(
                col(Offer.referral_id).in_(referral_ids), col(Offer.foster_household_id).is_not(None),
                col(Offer.status).in_((DECLINED, REJECTED)))):
        found[int(referral_id)].add(int(household_id))
    return found


def engine_household(household: FosterHousehold, owner: Organisation, fallback: dict[str, float],
                     free: int | None = None) -> EngineHome:
    """One household as one engine home: foster care, its free places, its postcode's point, the
    siblings it is approved for, its owner as provider (and, in-house, as its council). Carers are
    not rated one by one, so it carries the engine's default rating."""
    weekly = household.weekly_cost / 100 if household.weekly_cost is not None else fallback.get("foster_care", 0.0)
    return EngineHome(
        id=household_key(int(household.id or 0)),
        provider=provider_key(owner.id),
        placement_type="foster_care",
        location=Point(household.latitude, household.longitude),
        free_places=household.places_free if free is None else free,
        weekly_cost=weekly,
        min_age=household.age_min,
        max_age=household.age_max,
        needs_met=frozenset(household.needs_met),
        max_sibling_group=household.max_sibling_group,
        area=household.local_authority,
        **in_house_home_fields(owner),
    )


def in_house_home_fields(owner: Organisation) -> dict[str, Any]:
    """The engine's ``Home.council`` for an in-house household (none for an agency's)."""
    values = {"council": council_key(owner.id)} if owner.kind == OrgKind.COUNCIL else {}
    return _fields_the_engine_has(EngineHome, values)


def in_house_child_fields(referral: Referral, points_by_council: dict[int, int]) -> dict[str, Any]:
    """The engine's ``Child.council`` and ``Child.in_house_bonus`` (the points the child's council set)."""
    if not points_by_council:
        return {}
    values = {"council": council_key(referral.council_id),
              "in_house_bonus": points_by_council.get(referral.council_id, 0)}
    return _fields_the_engine_has(EngineChild, values)


def _fields_the_engine_has(engine_class: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Only the values the engine's dataclass takes: the in-house fields arrive with the engine's own
    change, and until then a problem is built without them rather than refused."""
    names = {f.name for f in dataclasses.fields(engine_class)}
    return {name: value for name, value in values.items() if name in names}


def snapshot_summary(problem: dict[str, Any]) -> dict[str, int]:
    return {"children": len(problem.get("children", [])), "homes": len(problem.get("homes", [])),
            "sibling_groups": len(problem.get("sibling_groups", [])),
            "free_places": sum(h["free_places"] for h in problem.get("homes", [])),
            "block_places": sum(h.get("block_places", 0) for h in problem.get("homes", []))}

