"""Matching problems shaped like real regions, from the reference data (seeded, deterministic).

* **Where.** Every postcode sector of England (``postcode_sectors.csv``) belongs to its nearest
  council. Children live where people live: a council drawn by its postcode count, a sector of it
  by its postcode count, a few hundred metres of jitter. Children's homes, residential schools
  and secure homes are where Ofsted-registered ones are (``ofsted_providers.csv``: a council by
  its number of registered homes of that type, then a populated sector of it). Foster households
  live where people live, near their agency: an independent agency's households within reach of
  its office (its real postcode), a council's in-house households in that council.
* **Supply.** About 60 % of places are foster households (1–3 free places, approved for sibling
  groups up to their places, an age range), the rest small children's homes (1–3 free places,
  siblings up to 2), supported accommodation and a few residential schools and secure homes.
  Sibling groups of 2–4 are larger than most homes: the hard part of real matching.
* **Cost and rating.** Weekly costs spread by type around the figures in
  ``placement_costs_reference.csv`` (children's homes about £4,500 with a long tail to £12,000,
  independent fostering about £820, in-house fostering less, supported accommodation about
  £1,800); ratings as Ofsted's register spreads them (a home takes its council's real mix). The
  default weights weigh both.
* **Demand.** Ages, placement types and needs like the looked-after population: most under 10
  in foster care, teenagers in foster care or children's homes, 16–17 also supported
  accommodation; about a third of children in sibling groups of 2–4, three in four asked to be
  kept together (only where some home could take the whole group).

    from benchmarks.real_shaped import generate
    problem = generate(2000, 20000)      # same arguments, same problem
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache

import numpy as np

from benchmarks.matching import NEEDS, OFSTED_NAMES, RISKS, _separate_groups_no_home_can_take
from commissioning.services.imports import RATINGS
from matching.engine import Child, Home, Problem, SiblingGroup, SolveOptions
from matching.engine.prepared import miles_between
from rcc.geography import REFERENCE_DATA, Point, local_authorities, locate_postcode

SEED = 20261207
# Share of supply records by kind (foster households are most of them).
KINDS = {"ifa_household": 0.40, "in_house_household": 0.22, "childrens_home": 0.28, "supported": 0.07,
         "residential_school": 0.02, "secure": 0.01}
OFSTED_TYPES = {
    "childrens_home": ("Children's home",),
    "residential_school": ("Residential Special School", "Residential special school (registered as a children's home)"),
    "secure": ("Secure children's home",),
}
# Miles an independent agency's households live from its office (about a region).
AGENCY_REACH_MILES = 45.0


@dataclass
class Region:
    """Sectors by council, councils' weights, Ofsted homes and agencies."""

    councils: list[str]
    sectors: dict[str, np.ndarray]  # council -> (n, 2) latitude, longitude in degrees
    sector_weights: dict[str, np.ndarray]  # council -> postcode counts, normalised
    people: np.ndarray  # per council, share of postcodes
    ofsted_homes: dict[str, np.ndarray]  # kind -> per council share of registered homes of that kind
    ratings: dict[str, list[str]]  # council -> ratings of its registered homes (with repeats)
    agencies: list[tuple[str, Point, str]]  # (name, office, rating)
    all_sectors: np.ndarray  # every sector point, degrees
    all_weights: np.ndarray


@cache
def load_region() -> Region:
    authorities = list(local_authorities())
    centres = np.radians([[la.centre.latitude, la.centre.longitude] for la in authorities])
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    weights: dict[str, list[int]] = defaultdict(list)
    with open(REFERENCE_DATA / "postcode_sectors.csv", newline="", encoding="utf-8") as f:
        rows = [(float(r["latitude"]), float(r["longitude"]), int(r["postcode_count"])) for r in csv.DictReader(f)]
    lat = np.radians([r[0] for r in rows])
    lon = np.radians([r[1] for r in rows])
    nearest = np.empty(len(rows), dtype=np.int64)
    nearest_miles = np.full(len(rows), np.inf)
    for index, (la_lat, la_lon) in enumerate(centres):
        miles = miles_between(lat, lon, la_lat, la_lon)
        closer = miles < nearest_miles
        nearest[closer] = index
        nearest_miles[closer] = miles[closer]
    for (latitude, longitude, count), la, miles in zip(rows, nearest.tolist(), nearest_miles.tolist(), strict=True):
        if miles <= 25:  # England only
            points[authorities[la].name].append((latitude, longitude))
            weights[authorities[la].name].append(count)
    councils = sorted(points)
    homes_by_kind: dict[str, Counter[str]] = {kind: Counter() for kind in OFSTED_TYPES}
    ratings: dict[str, list[str]] = defaultdict(list)
    agencies = []
    with open(REFERENCE_DATA / "ofsted_providers.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            council = OFSTED_NAMES.get(row["local_authority"], row["local_authority"])
            rating = RATINGS.get(row["overall_effectiveness"], "not_yet_inspected")
            for kind, types in OFSTED_TYPES.items():
                if row["provider_type"] in types:
                    homes_by_kind[kind][council] += 1
                    if kind == "childrens_home":
                        ratings[council].append(rating)
            if row["provider_type"] == "Independent Fostering Agency" and row["postcode"]:
                try:
                    agencies.append((row["urn"], locate_postcode(row["postcode"]), rating))
                except ValueError:
                    continue
    everywhere = [rating for council in councils for rating in ratings[council]]
    for council in councils:
        ratings[council] = ratings[council] or everywhere
    people = np.array([sum(weights[c]) for c in councils], dtype=float)
    all_points = np.array([p for c in councils for p in points[c]])
    all_weights = np.array([w for c in councils for w in weights[c]], dtype=float)
    return Region(
        councils=councils,
        sectors={c: np.array(points[c]) for c in councils},
        sector_weights={c: np.array(weights[c], dtype=float) / sum(weights[c]) for c in councils},
        people=people / people.sum(),
        ofsted_homes={kind: _shares(counter, councils) for kind, counter in homes_by_kind.items()},
        ratings=dict(ratings),
        agencies=sorted(agencies),
        all_sectors=all_points,
        all_weights=all_weights / all_weights.sum(),
    )


def _shares(counter: Counter[str], councils: list[str]) -> np.ndarray:
    counts = np.array([counter.get(c, 0) for c in councils], dtype=float) + 0.2
    return counts / counts.sum()


def generate(children: int, homes: int, seed: int = SEED, time_limit_seconds: float = 60.0) -> Problem:
    """A real-shaped region: ``children`` referrals and ``homes`` homes and foster households."""
    region = load_region()
    rng = np.random.default_rng(seed)
    kinds = list(KINDS)
    counts = rng.multinomial(homes, [KINDS[k] for k in kinds])
    home_records: list[Home] = []
    for kind, count in zip(kinds, counts.tolist(), strict=True):
        home_records.extend(_supply(rng, region, kind, count, len(home_records)))
    child_records, groups = _demand(rng, region, children, home_records)
    problem = Problem(tuple(child_records), tuple(home_records), tuple(groups),
                      options=SolveOptions(time_limit_seconds=time_limit_seconds))
    return _separate_groups_no_home_can_take(problem)


def _point(rng: np.random.Generator, region: Region, council: str, jitter_degrees: float) -> Point:
    sectors = region.sectors[council]
    lat, lon = sectors[rng.choice(len(sectors), p=region.sector_weights[council])]
    return Point(round(float(lat + rng.normal(0, jitter_degrees)), 5),
                 round(float(lon + rng.normal(0, jitter_degrees * 1.6)), 5))


def _near(rng: np.random.Generator, region: Region, office: Point) -> Point:
    """A populated sector within an agency's reach, drawn by its postcode count."""
    within, cumulative = _reach(office)
    lat, lon = region.all_sectors[within[int(np.searchsorted(cumulative, rng.random() * cumulative[-1]))]]
    return Point(round(float(lat + rng.normal(0, 0.01)), 5), round(float(lon + rng.normal(0, 0.016)), 5))


@cache
def _reach(office: Point) -> tuple[np.ndarray, np.ndarray]:
    region = load_region()
    miles = miles_between(math.radians(office.latitude), math.radians(office.longitude),
                          np.radians(region.all_sectors[:, 0]), np.radians(region.all_sectors[:, 1]))
    within = np.flatnonzero(miles <= AGENCY_REACH_MILES)
    if not len(within):
        within = np.argsort(miles)[:20]
    return within, np.cumsum(region.all_weights[within])


def _cost(rng: np.random.Generator, median: float, spread: float, low: float, high: float) -> float:
    return float(round(min(high, max(low, median * math.exp(rng.normal(0, spread)))), -1))


def _supply(rng: np.random.Generator, region: Region, kind: str, count: int, first: int) -> list[Home]:
    records = []
    councils = region.councils
    for number in range(count):
        home_id = f"H{first + number:06d}"
        needs = frozenset([n for n in NEEDS if rng.random() < 0.35] + [r for r in RISKS if rng.random() < 0.3])
        if kind in ("ifa_household", "in_house_household"):
            places = int(rng.choice([1, 1, 1, 2, 2, 3]))
            youngest = int(rng.choice([0, 0, 0, 5, 8, 11]))
            oldest = int(rng.choice([10, 15, 17, 17, 17])) if youngest < 10 else 17
            if kind == "ifa_household":
                agency, office, rating = region.agencies[int(rng.integers(len(region.agencies)))]
                location = _near(rng, region, office)
                provider, cost, area = f"IFA-{agency}", _cost(rng, 820, 0.18, 550, 1500), None
            else:
                council = councils[rng.choice(len(councils), p=region.people)]
                location = _point(rng, region, council, 0.01)
                provider, cost, rating, area = f"LA-{council}", _cost(rng, 480, 0.2, 300, 900), "good", council
            records.append(Home(
                id=home_id, provider=provider, placement_type="foster_care", location=location,
                free_places=places, weekly_cost=cost, min_age=youngest, max_age=max(oldest, youngest + 2),
                needs_met=needs, max_sibling_group=places, ofsted_rating=rating, area=area or _council_of(location),
            ))
            continue
        share = region.ofsted_homes["childrens_home" if kind == "supported" else kind]
        council = councils[rng.choice(len(councils), p=share)]
        location = _point(rng, region, council, 0.02)
        ratings = region.ratings[council]
        rating = ratings[int(rng.integers(len(ratings)))]
        if kind == "childrens_home":
            cost, places, siblings = _cost(rng, 4500, 0.35, 2500, 12000), int(rng.choice([1, 1, 1, 2, 2, 3])), 2
            ages = (int(rng.choice([8, 10, 11, 12])), 17)
        elif kind == "supported":
            cost, places, siblings, ages = _cost(rng, 1800, 0.3, 700, 4000), int(rng.choice([1, 2, 3])), 2, (16, 17)
            rating = "not_yet_inspected"
        elif kind == "residential_school":
            cost, places, siblings, ages = _cost(rng, 6000, 0.3, 3000, 12000), int(rng.choice([1, 2])), 1, (8, 17)
        else:
            cost, places, siblings, ages = _cost(rng, 9000, 0.2, 6000, 15000), 1, 1, (10, 17)
        placement_type = {"childrens_home": "childrens_home", "supported": "supported_accommodation",
                          "residential_school": "residential_school", "secure": "secure"}[kind]
        records.append(Home(
            id=home_id, provider=f"P-{council[:12]}-{int(rng.integers(0, 40)):02d}", placement_type=placement_type,
            location=location, free_places=places, weekly_cost=cost, block_places=int(rng.random() < 0.15),
            min_age=ages[0], max_age=ages[1],
            sexes=frozenset(["F", "M"] if rng.random() < 0.85 else [str(rng.choice(["F", "M"]))]),
            needs_met=needs, max_sibling_group=min(siblings, places), ofsted_rating=rating,
            deprivation_of_liberty=kind == "secure" or (kind == "childrens_home" and rng.random() < 0.08),
            area=council,
        ))
    return records


def _council_of(point: Point) -> str:
    """The council whose centre is nearest (the area a household's places count in)."""
    names, centres = _centres()
    miles = miles_between(math.radians(point.latitude), math.radians(point.longitude), centres[:, 0], centres[:, 1])
    return names[int(np.argmin(miles))]


@cache
def _centres() -> tuple[list[str], np.ndarray]:
    authorities = [la for la in local_authorities() if la.name in load_region().sectors]
    return ([la.name for la in authorities],
            np.radians([[la.centre.latitude, la.centre.longitude] for la in authorities]))


def _group(group_id: str, draw: float) -> SiblingGroup:
    """The one place the sibling plan is drawn: 65 % together, 25 % together if possible, 10 % apart
    (about the demo's shares)."""
    return SiblingGroup(group_id, plan="together" if draw < 0.65 else "together_if_possible" if draw < 0.9 else "apart")


def _demand(rng: np.random.Generator, region: Region, count: int,
            homes: list[Home]) -> tuple[list[Child], list[SiblingGroup]]:
    children: list[Child] = []
    groups: list[SiblingGroup] = []
    providers = sorted({h.provider for h in homes})
    councils = region.councils
    while len(children) < count:
        room = count - len(children)
        size = 1 if rng.random() >= 0.17 or room < 2 else int(min(room, rng.choice([2, 2, 2, 3, 3, 4])))
        group = None
        if size > 1:
            group = f"G{len(groups):05d}"
            groups.append(_group(group, float(rng.random())))
        council = councils[rng.choice(len(councils), p=region.people)]
        family_home = _point(rng, region, council, 0.005)
        urgency = str(rng.choice(["emergency", "urgent", "planned"], p=[0.1, 0.25, 0.65]))
        eldest = int(rng.integers(size - 1, 18))
        ages = [max(0, eldest - int(rng.integers(1, 4)) * k) for k in range(size)]
        for age in ages:
            children.append(_child(rng, f"C{len(children):06d}", age, family_home, urgency, group, providers,
                                   siblings=size > 1))
    return children, groups


def _child(rng: np.random.Generator, child_id: str, age: int, home: Point, urgency: str, group: str | None,
           providers: list[str], *, siblings: bool) -> Child:
    if age < 10 or (siblings and age < 16):
        types = {"foster_care"}
    elif age < 16:
        types = {"foster_care", "childrens_home"} if rng.random() < 0.55 else {"childrens_home"}
    else:
        types = {"childrens_home", "supported_accommodation"} | ({"foster_care"} if rng.random() < 0.4 else set())
    needs_dol = not siblings and age >= 10 and rng.random() < 0.015
    if needs_dol:
        types = {"secure", "childrens_home"}
    elif not siblings and age >= 8 and rng.random() < 0.03:
        types = {"residential_school"}
    school = None
    if 5 <= age <= 16 and rng.random() < 0.7:
        school = Point(round(home.latitude + rng.normal(0, 0.03), 5), round(home.longitude + rng.normal(0, 0.045), 5))
    return Child(
        id=child_id, age=age, sex=str(rng.choice(["F", "M"])), placement_types=frozenset(types),
        home_location=home, urgency=urgency, sibling_group=group,
        needs=frozenset(n for n in NEEDS if rng.random() < 0.1),
        risk_flags=frozenset(r for r in RISKS if age >= 11 and rng.random() < 0.1),
        school_location=school,
        excluded_providers=frozenset([providers[int(rng.integers(len(providers)))]] if rng.random() < 0.05 else []),
        max_weekly_cost=float(rng.choice([6000, 8000])) if rng.random() < 0.25 else None,
        needs_deprivation_of_liberty=needs_dol,
    )
