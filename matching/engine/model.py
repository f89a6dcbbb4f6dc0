"""The problem the engine solves: children, sibling groups, homes, weights and options.

Everything here is an immutable dataclass so that a problem can be stored as a snapshot,
compared, and re-solved to the same proposals. Collections of keys (needs, sexes, ...)
are frozensets: their order never matters, and serialisation sorts them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from commissioning.vocabulary import NEEDS as NEED_LABELS
from commissioning.vocabulary import PLACEMENT_TYPES as PLACEMENT_TYPE_LABELS
from commissioning.vocabulary import RISK_FLAGS as RISK_FLAG_LABELS
from commissioning.vocabulary import SIBLING_PLANS as SIBLING_PLAN_LABELS
from rcc.geography import Point

URGENCIES = ("emergency", "urgent", "planned")
# How many urgency steps above "planned" a child's unmatched penalty is raised.
URGENCY_LEVEL = {"planned": 0, "urgent": 1, "emergency": 2}
SEXES = ("F", "M")
OFSTED_RATINGS = ("outstanding", "good", "requires_improvement", "inadequate", "not_yet_inspected")
# Closed vocabularies, shared with the platform (commissioning.vocabulary imports nothing).
PLACEMENT_TYPES = tuple(PLACEMENT_TYPE_LABELS)
NEEDS = tuple(NEED_LABELS)
RISK_FLAGS = tuple(RISK_FLAG_LABELS)
# together: one home for the whole group, or none of them placed (hard);
# together_if_possible: one home preferred, each sibling placed apart pays ``Weights.sibling_split``;
# apart: never two of the group in the same home (a foster household is one Home) (hard).
SIBLING_PLANS = tuple(SIBLING_PLAN_LABELS)
SOLVERS = ("auto", "highs", "cbc")


class ProblemError(ValueError):
    """Invalid input. The message names the record (e.g. ``children[3] 'C-12'``) and the field."""

    def __init__(self, record: str, field_name: str, message: str):
        self.record = record
        self.field = field_name
        super().__init__(f"{record}: field '{field_name}': {message}")


def _keys(values: Iterable[str] | None) -> frozenset[str]:
    return frozenset(values or ())


@dataclass(frozen=True)
class SiblingGroup:
    id: str
    plan: str = "together"  # one of SIBLING_PLANS


@dataclass(frozen=True)
class Child:
    """A child needing a placement. ``id`` should be a pseudonym: it appears in every report."""

    id: str
    age: int
    sex: str
    placement_types: frozenset[str]
    home_location: Point
    urgency: str = "planned"
    sibling_group: str | None = None
    needs: frozenset[str] = frozenset()
    risk_flags: frozenset[str] = frozenset()
    school_location: Point | None = None
    excluded_homes: frozenset[str] = frozenset()
    excluded_providers: frozenset[str] = frozenset()
    max_weekly_cost: float | None = None
    needs_deprivation_of_liberty: bool = False
    # Placement types preferred among ``placement_types`` (empty: no preference); a home of
    # another suitable type costs ``Weights.not_preferred_type`` points.
    preferred_placement_types: frozenset[str] = frozenset()
    council: str | None = None  # the child's council; its in-house homes earn ``in_house_bonus``
    in_house_bonus: int = 0  # points taken off in a home whose ``council`` is the child's council
    # Homes whose provider answered the referral pack "cannot meet the child's needs": the funnel's
    # "provider_cannot" rule (reported only for a child that has such homes).
    declined_homes: frozenset[str] = frozenset()
    # (home, pounds a week) the home's provider offered for this child: replaces the home's
    # ``weekly_cost`` for this child only (the cost rule, the cost points and the reported cost).
    offered_prices: frozenset[tuple[str, float]] = frozenset()

    def __post_init__(self) -> None:
        for name in ("placement_types", "needs", "risk_flags", "excluded_homes", "excluded_providers",
                     "preferred_placement_types", "declined_homes"):
            object.__setattr__(self, name, _keys(getattr(self, name)))
        prices = self.offered_prices.items() if isinstance(self.offered_prices, dict) else self.offered_prices
        object.__setattr__(self, "offered_prices", frozenset((str(k), v) for k, v in (prices or ())))

    @property
    def requirements(self) -> frozenset[str]:
        """Needs and risk flags alike must appear among a home's ``needs_met``."""
        return self.needs | self.risk_flags


@dataclass(frozen=True)
class Home:
    """A home (or foster household) with free places now."""

    id: str
    provider: str
    placement_type: str
    location: Point
    free_places: int
    weekly_cost: float
    block_places: int = 0
    min_age: int = 0
    max_age: int = 17
    sexes: frozenset[str] = frozenset(SEXES)
    needs_met: frozenset[str] = frozenset()
    max_sibling_group: int = 1
    ofsted_rating: str = "good"
    deprivation_of_liberty: bool = False
    area: str | None = None
    allow_inadequate: bool = False  # the RCC's recorded override: an Inadequate home may be proposed
    council: str | None = None  # the council owning an in-house home (foster household), else None

    def __post_init__(self) -> None:
        for name in ("sexes", "needs_met"):
            object.__setattr__(self, name, _keys(getattr(self, name)))


@dataclass(frozen=True)
class Weights:
    """Objective weights, in integer points (lower total is better).

    Each part of a score is rounded to whole points on its own, so ``home_miles=10`` measures
    distance to the nearest 0.1 mile.
    """

    home_miles: float = 10.0
    school_miles: float = 5.0
    weekly_cost: float = 0.1  # points per pound a week: £100/week weighs as much as a mile from home
    rating: float = 1.0
    rating_points: dict[str, int] = field(
        default_factory=lambda: {
            "outstanding": 0,
            "good": 50,
            "requires_improvement": 300,
            "inadequate": 2000,
            "not_yet_inspected": 150,
        }
    )
    block_place_credit: int = 200
    sibling_split: int = 1000
    not_preferred_type: int = 500  # points when placed in a suitable type the child does not prefer


@dataclass(frozen=True)
class SolveOptions:
    """How to solve. Pruning is exact, so ``candidates_per_child`` changes speed, never the optimum."""

    time_limit_seconds: float = 60.0
    candidates_per_child: int = 12
    solver: str = "auto"
    threads: int | None = None


@dataclass(frozen=True)
class Problem:
    children: tuple[Child, ...]
    homes: tuple[Home, ...]
    sibling_groups: tuple[SiblingGroup, ...] = ()
    weights: Weights = field(default_factory=Weights)
    options: SolveOptions = field(default_factory=SolveOptions)

    def __post_init__(self) -> None:
        for name in ("children", "homes", "sibling_groups"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


def validate(problem: Problem) -> None:
    """Raise ProblemError for the first invalid record, naming record and field."""
    _validate_weights(problem.weights)
    _validate_options(problem.options)
    group_ids = _unique_ids("sibling_groups", problem.sibling_groups)
    for index, group in enumerate(problem.sibling_groups):
        _check(group.plan in SIBLING_PLANS, f"sibling_groups[{index}] '{group.id}'", "plan",
               f"must be one of {', '.join(SIBLING_PLANS)}, got {group.plan!r}")
    _unique_ids("children", problem.children)
    _unique_ids("homes", problem.homes)
    for index, child in enumerate(problem.children):
        _validate_child(f"children[{index}] '{child.id}'", child, group_ids)
    for index, home in enumerate(problem.homes):
        _validate_home(f"homes[{index}] '{home.id}'", home)


def _unique_ids(kind: str, records: Iterable[Any]) -> set[str]:
    seen: set[str] = set()
    for index, record in enumerate(records):
        if not isinstance(record.id, str) or not record.id:
            raise ProblemError(f"{kind}[{index}]", "id", "must be a non-empty string")
        if record.id in seen:
            raise ProblemError(f"{kind}[{index}] '{record.id}'", "id", "appears more than once")
        seen.add(record.id)
    return seen


def _check(condition: bool, record: str, field_name: str, message: str) -> None:
    if not condition:
        raise ProblemError(record, field_name, message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _validate_point(record: str, field_name: str, point: Any) -> None:
    _check(isinstance(point, Point), record, field_name, "must have a latitude and a longitude")
    _check(_is_number(point.latitude) and -90 <= point.latitude <= 90, record, f"{field_name}.latitude",
           f"must be a number from -90 to 90, got {point.latitude!r}")
    _check(_is_number(point.longitude) and -180 <= point.longitude <= 180, record,
           f"{field_name}.longitude", f"must be a number from -180 to 180, got {point.longitude!r}")


def _validate_keys(record: str, field_name: str, values: frozenset[str],
                   vocabulary: tuple[str, ...] | None = None) -> None:
    for value in values:
        _check(isinstance(value, str) and bool(value), record, field_name,
               f"must hold non-empty strings, got {value!r}")
    if vocabulary is not None:
        unknown = sorted(values - set(vocabulary))
        _check(not unknown, record, field_name,
               f"holds {', '.join(map(repr, unknown))}, not one of {', '.join(vocabulary)}")


def _is_key(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _validate_child(record: str, child: Child, group_ids: set[str]) -> None:
    _check(_is_int(child.age) and 0 <= child.age <= 25, record, "age",
           f"must be a whole number of years from 0 to 25, got {child.age!r}")
    _check(child.sex in SEXES, record, "sex", f"must be one of {', '.join(SEXES)}, got {child.sex!r}")
    _check(child.urgency in URGENCIES, record, "urgency",
           f"must be one of {', '.join(URGENCIES)}, got {child.urgency!r}")
    _check(bool(child.placement_types), record, "placement_types", "must name at least one placement type")
    _validate_keys(record, "placement_types", child.placement_types, PLACEMENT_TYPES)
    _validate_keys(record, "needs", child.needs, NEEDS)
    _validate_keys(record, "risk_flags", child.risk_flags, RISK_FLAGS)
    for name in ("excluded_homes", "excluded_providers", "declined_homes"):
        _validate_keys(record, name, getattr(child, name))
    for home, pounds in child.offered_prices:
        _check(_is_key(home) and _is_number(pounds) and pounds >= 0, record, "offered_prices",
               f"must be [home, pounds ≥ 0] pairs, got {[home, pounds]!r}")
    _validate_keys(record, "preferred_placement_types", child.preferred_placement_types, PLACEMENT_TYPES)
    _check(child.preferred_placement_types <= child.placement_types, record, "preferred_placement_types",
           "must be among the child's placement_types")
    _check(child.council is None or _is_key(child.council), record, "council", "must be a non-empty string or null")
    _check(_is_int(child.in_house_bonus) and child.in_house_bonus >= 0, record, "in_house_bonus",
           f"must be a whole number of points ≥ 0, got {child.in_house_bonus!r}")
    _validate_point(record, "home_location", child.home_location)
    if child.school_location is not None:
        _validate_point(record, "school_location", child.school_location)
    _check(child.sibling_group is None or _is_key(child.sibling_group), record, "sibling_group",
           "must be a sibling group id (a non-empty string) or null")
    _check(child.sibling_group is None or child.sibling_group in group_ids, record, "sibling_group",
           f"names sibling group {child.sibling_group!r}, which is not in sibling_groups")
    _check(child.max_weekly_cost is None or (_is_number(child.max_weekly_cost) and child.max_weekly_cost >= 0),
           record, "max_weekly_cost", f"must be a number of pounds ≥ 0 or null, got {child.max_weekly_cost!r}")
    _check(isinstance(child.needs_deprivation_of_liberty, bool), record, "needs_deprivation_of_liberty",
           "must be true or false")


def _validate_home(record: str, home: Home) -> None:
    _check(isinstance(home.provider, str) and bool(home.provider), record, "provider", "must be a non-empty string")
    _check(home.placement_type in PLACEMENT_TYPES, record, "placement_type",
           f"must be one of {', '.join(PLACEMENT_TYPES)}, got {home.placement_type!r}")
    _validate_point(record, "location", home.location)
    _check(_is_int(home.free_places) and home.free_places >= 0, record, "free_places",
           f"must be a whole number ≥ 0, got {home.free_places!r}")
    _check(_is_int(home.block_places) and 0 <= home.block_places <= max(home.free_places, 0), record,
           "block_places", f"must be a whole number from 0 to free_places ({home.free_places}), "
           f"got {home.block_places!r}")
    _check(_is_int(home.min_age) and _is_int(home.max_age) and 0 <= home.min_age <= home.max_age, record,
           "min_age", f"min_age and max_age must be whole numbers with min_age ≤ max_age, "
           f"got {home.min_age!r} and {home.max_age!r}")
    _check(home.sexes <= set(SEXES), record, "sexes", f"may only hold {', '.join(SEXES)}, got {sorted(home.sexes)}")
    _validate_keys(record, "needs_met", home.needs_met, NEEDS + RISK_FLAGS)
    _check(_is_int(home.max_sibling_group) and home.max_sibling_group >= 1, record, "max_sibling_group",
           f"must be a whole number ≥ 1, got {home.max_sibling_group!r}")
    _check(_is_number(home.weekly_cost) and home.weekly_cost >= 0, record, "weekly_cost",
           f"must be a number of pounds ≥ 0, got {home.weekly_cost!r}")
    _check(home.ofsted_rating in OFSTED_RATINGS, record, "ofsted_rating",
           f"must be one of {', '.join(OFSTED_RATINGS)}, got {home.ofsted_rating!r}")
    _check(isinstance(home.deprivation_of_liberty, bool), record, "deprivation_of_liberty", "must be true or false")
    _check(home.area is None or isinstance(home.area, str), record, "area", "must be a string or null")
    _check(isinstance(home.allow_inadequate, bool), record, "allow_inadequate", "must be true or false")
    _check(home.council is None or _is_key(home.council), record, "council", "must be a non-empty string or null")


def _validate_weights(weights: Weights) -> None:
    for name in ("home_miles", "school_miles", "weekly_cost", "rating"):
        value = getattr(weights, name)
        _check(_is_number(value) and value >= 0, "weights", name, f"must be a number ≥ 0, got {value!r}")
    for name in ("block_place_credit", "sibling_split", "not_preferred_type"):
        value = getattr(weights, name)
        _check(_is_int(value) and value >= 0, "weights", name, f"must be a whole number ≥ 0, got {value!r}")
    missing = set(OFSTED_RATINGS) - set(weights.rating_points)
    _check(not missing, "weights", "rating_points", f"lacks {', '.join(sorted(missing))}")
    for rating, points in weights.rating_points.items():
        _check(_is_int(points) and points >= 0, "weights", f"rating_points.{rating}",
               f"must be a whole number ≥ 0, got {points!r}")


def _validate_options(options: SolveOptions) -> None:
    _check(_is_number(options.time_limit_seconds) and options.time_limit_seconds > 0, "options",
           "time_limit_seconds", "must be a number of seconds > 0")
    _check(_is_int(options.candidates_per_child) and options.candidates_per_child >= 1, "options",
           "candidates_per_child", "must be a whole number ≥ 1")
    _check(options.solver in SOLVERS, "options", "solver", f"must be one of {', '.join(SOLVERS)}")
    _check(options.threads is None or (_is_int(options.threads) and options.threads >= 1), "options", "threads",
           "must be a whole number ≥ 1 or null")
