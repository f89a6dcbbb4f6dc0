"""What-if replay: month-by-month matching of a region, with and without a change in supply.

Pure: plain dataclasses in, plain dataclasses out, no database and no Flask, so a replay can run
in a worker process (``run_scenarios`` fans scenarios out over a ``ProcessPoolExecutor``).

The model, so every figure can be recomputed:

* **Supply** is the region's homes (and approved foster households) with their capacity (registered
  places) and, at the start, the places already taken. Each place taken at the start is freed at a
  month drawn once from the seeded generator. A scenario adds places: ``places`` more of a type in a
  local authority (a new home at the authority's centre, able to meet what the region's homes of that
  type meet, at the type's median weekly cost unless one is given) or at a named home, from a month.
* **Demand** per month is the referrals recorded in that month (past months), plus, where a month
  has a forecast, a Poisson number of children drawn from the region's recorded referrals of the
  same council and type (``MonthDemand.expected``).
* **Each month** the children arriving and those still waiting are matched by the engine
  (``matching.engine.solve``) against the places free that month. A child placed stays for a number
  of months drawn when they arrive (mean ``MEAN_STAY_MONTHS`` by type); a child not placed waits, and
  after ``MAX_WAIT_MONTHS`` unplaced months is counted as unplaced for good (placed outside the
  region's supply).
* **Reproducible**: every random draw comes from ``random.Random`` seeded by the seed alone, drawn in
  the same order whatever the scenario (demand and lengths of stay are drawn before any matching),
  so the same scenario and seed give the same replay, and a scenario and the baseline see the same
  children (common random numbers: the difference is the scenario's, not the dice's).
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from commissioning.vocabulary import PLACEMENT_TYPES
from matching.engine import Child, Home, Point, Problem, SolveOptions, solve
from rcc.geography import great_circle_miles

WITHIN_MILES = 20
MAX_WAIT_MONTHS = 3
WEEKS_PER_MONTH = 52 / 12
MEAN_STAY_MONTHS = {"foster_care": 18.0, "childrens_home": 12.0, "supported_accommodation": 9.0,
                    "residential_school": 12.0, "parent_and_child": 4.0, "secure": 4.0}
DEFAULT_STAY_MONTHS = 12.0
INITIAL_STAY_MONTHS = 24  # a place taken at the start is freed uniformly within this many months
MONTHS = 12
SOLVE = SolveOptions(time_limit_seconds=20.0)
SCENARIO_HOME_PROVIDER = "P-whatif"


class ScenarioError(ValueError):
    """A scenario that cannot be replayed; ``field`` names what is wrong."""

    def __init__(self, message: str, field_name: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class SupplyHome:
    """A home (or foster household) as the replay sees it: the engine's home with ``free_places``
    its capacity, and how many of those places are taken at the start."""

    home: Home
    taken: int


@dataclass(frozen=True)
class MonthDemand:
    month: str  # "YYYY-MM"
    recorded: tuple[Child, ...] = ()  # referrals recorded in the month
    expected: float = 0.0  # further children expected (the forecast's), drawn from ``pool``


@dataclass(frozen=True)
class Region:
    homes: tuple[SupplyHome, ...]
    months: tuple[MonthDemand, ...]
    pool: tuple[Child, ...] = ()  # recorded referrals to draw forecast children from
    area_centres: dict[str, tuple[float, float]] = field(default_factory=dict)  # local authority -> lat, lon
    # a child's referral's limits, which the engine knows only as excluded homes: applied to new homes too
    max_miles: dict[str, float] = field(default_factory=dict)  # child id -> the furthest a home may be
    excluded_areas: dict[str, frozenset[str]] = field(default_factory=dict)  # child id -> areas refused


@dataclass(frozen=True)
class SupplyChange:
    """``places`` more (never fewer) places of ``placement_type`` in ``area`` (or at ``home``) from
    month index ``from_month`` (0: the first month of the replay)."""

    placement_type: str
    places: int
    area: str | None = None
    home: str | None = None
    from_month: int = 0
    weekly_cost: float | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    changes: tuple[SupplyChange, ...] = ()


@dataclass(frozen=True)
class MonthResult:
    month: str
    referrals: int  # children arriving this month
    matched: int  # children the engine had to place this month (arrivals and those waiting)
    placed: int
    placed_within: int  # placed within WITHIN_MILES of home
    unplaced: int  # still without a place at the month's end
    gave_up: int  # waited MAX_WAIT_MONTHS and left the replay unplaced
    miles: float  # total miles from home of the children placed this month
    weekly_cost: float  # £ a week of the placements made this month
    spend: float  # £ spent in the month on every child the replay has placed and who is still there
    seconds: float


@dataclass(frozen=True)
class Replay:
    scenario: str
    seed: int
    months: tuple[MonthResult, ...]
    cpu_seconds: float = 0.0
    # each council's share (the child's council; "" where the child names none): placed, placed within
    # WITHIN_MILES, unplaced (left or still waiting at the end), spend
    by_council: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def placed(self) -> int:
        return sum(m.placed for m in self.months)

    @property
    def placed_within(self) -> int:
        return sum(m.placed_within for m in self.months)

    @property
    def unplaced(self) -> int:
        """Children who left unplaced, and those still waiting at the end."""
        return sum(m.gave_up for m in self.months) + (self.months[-1].unplaced if self.months else 0)

    @property
    def spend(self) -> float:
        return sum(m.spend for m in self.months)

    @property
    def miles(self) -> float:
        return sum(m.miles for m in self.months)

    def outcome(self) -> tuple:
        """Everything the replay decided (not its timings): equal for equal scenario and seed."""
        return tuple((m.month, m.referrals, m.matched, m.placed, m.placed_within, m.unplaced, m.gave_up,
                      round(m.miles, 6), round(m.weekly_cost, 2), round(m.spend, 2)) for m in self.months)


# Validation --------------------------------------------------------------------------------------

def validate_scenario(region: Region, scenario: Scenario) -> None:
    """Raises ScenarioError naming the field: places not a positive whole number, an unknown type,
    area or home, or a month outside the replay."""

    homes = {h.home.id for h in region.homes}
    for change in scenario.changes:
        if change.placement_type not in PLACEMENT_TYPES:
            raise ScenarioError(f"Unknown placement type '{change.placement_type}'", "placement_type")
        if not isinstance(change.places, int) or change.places < 1 or change.places > 500:
            raise ScenarioError("Places must be a whole number from 1 to 500", "places")
        if not 0 <= change.from_month < max(len(region.months), 1):
            raise ScenarioError(f"The month must be one of the {len(region.months)} months replayed", "from_month")
        if change.home is not None:
            if change.home not in homes:
                raise ScenarioError(f"Unknown home '{change.home}'", "home")
        elif change.area not in region.area_centres:
            raise ScenarioError(f"Unknown local authority '{change.area}'", "area")
        if change.weekly_cost is not None and not 0 <= change.weekly_cost <= 100_000:
            raise ScenarioError("The weekly cost must be from £0 to £100,000", "weekly_cost")


# The replay --------------------------------------------------------------------------------------

@dataclass
class _Draws:
    """Every random draw of a replay, made before any matching (the same for every scenario)."""

    arrivals: list[list[Child]]
    origin: dict[str, str]  # a forecast child's id -> the recorded referral it was drawn from
    stays: dict[str, int]
    initial_leaves: dict[str, list[int]]


def _draw(region: Region, seed: int) -> _Draws:
    rng = random.Random(seed)
    pool_by: dict[tuple[str | None, frozenset[str]], list[Child]] = {}
    for child in region.pool:
        pool_by.setdefault((child.council, child.placement_types), []).append(child)
    keys = sorted(pool_by, key=lambda k: (k[0] or "", sorted(k[1])))
    weights = [len(pool_by[k]) for k in keys]
    arrivals: list[list[Child]] = []
    origin: dict[str, str] = {}
    for index, month in enumerate(region.months):
        children = list(month.recorded)
        extra = _poisson(rng, month.expected) if keys else 0
        for n in range(extra):
            key = rng.choices(keys, weights)[0]
            template = rng.choice(pool_by[key])
            children.append(dataclasses.replace(template, id=f"W{index:02d}-{n:04d}", sibling_group=None))
            origin[children[-1].id] = template.id
        arrivals.append(children)
    stays = {}
    for children in arrivals:
        for child in sorted(children, key=lambda c: c.id):
            mean = min((MEAN_STAY_MONTHS.get(t, DEFAULT_STAY_MONTHS) for t in child.placement_types),
                       default=DEFAULT_STAY_MONTHS)
            stays[child.id] = 1 + int(rng.expovariate(1 / mean))
    initial = {h.home.id: sorted(rng.randint(1, INITIAL_STAY_MONTHS) for _ in range(h.taken))
               for h in sorted(region.homes, key=lambda h: h.home.id)}
    return _Draws(arrivals, origin, stays, initial)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:  # normal approximation, still from the same generator
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def scenario_homes(region: Region, scenario: Scenario) -> list[tuple[int, Home | str, int]]:
    """(from month, new Home or existing home id, places) for each change of the scenario."""
    found: list[tuple[int, Home | str, int]] = []
    for index, change in enumerate(scenario.changes):
        if change.home is not None:
            found.append((change.from_month, change.home, change.places))
            continue
        of_type = [h.home for h in region.homes if h.home.placement_type == change.placement_type]
        lat, lon = region.area_centres[change.area or ""]
        cost = change.weekly_cost if change.weekly_cost is not None else (
            statistics.median(h.weekly_cost for h in of_type) if of_type else 0.0)
        needs = frozenset().union(*(h.needs_met for h in of_type)) if of_type else frozenset()
        home = Home(id=f"H-whatif-{index}", provider=SCENARIO_HOME_PROVIDER, placement_type=change.placement_type,
                    location=Point(lat, lon), free_places=change.places, weekly_cost=float(cost),
                    min_age=min((h.min_age for h in of_type), default=0),
                    max_age=max((h.max_age for h in of_type), default=17),
                    needs_met=needs, max_sibling_group=max((h.max_sibling_group for h in of_type), default=1),
                    deprivation_of_liberty=any(h.deprivation_of_liberty for h in of_type), area=change.area)
        found.append((change.from_month, home, change.places))
    return found


def replay(region: Region, scenario: Scenario, seed: int) -> Replay:
    """The region's months matched one by one, with the scenario's supply changes."""
    validate_scenario(region, scenario)
    started_cpu = time.process_time()
    draws = _draw(region, seed)
    homes: dict[str, Home] = {h.home.id: h.home for h in region.homes}
    capacity: dict[str, int] = {h.home.id: h.home.free_places for h in region.homes}
    leaving: dict[str, list[int]] = {k: list(v) for k, v in draws.initial_leaves.items()}  # months places free
    extra = scenario_homes(region, scenario)
    children: dict[str, Child] = {}
    waiting: dict[str, int] = {}  # child id -> months waited
    staying: list[tuple[int, str, float, str]] = []  # (month it ends, home, £ a week, council) placed by the replay
    share: dict[str, dict[str, float]] = {}

    def tally(child: Child, name: str, amount: float = 1.0) -> None:
        row = share.setdefault(child.council or "", {"placed": 0, "placed_within": 0, "unplaced": 0, "spend": 0.0})
        row[name] += amount

    results = []
    for index, month in enumerate(region.months):
        started = time.perf_counter()
        for from_month, what, places in extra:
            if from_month == index:
                if isinstance(what, Home):
                    homes[what.id], capacity[what.id] = what, places
                    leaving[what.id] = []
                else:
                    capacity[what] += places
        staying = [s for s in staying if s[0] > index]
        for home_id in leaving:
            leaving[home_id] = [m for m in leaving[home_id] if m > index]
        taken: dict[str, int] = {k: len(v) for k, v in leaving.items()}
        for _, home_id, _, _ in staying:
            taken[home_id] = taken.get(home_id, 0) + 1
        arrivals = draws.arrivals[index]
        for child in arrivals:
            children[child.id] = child
            waiting[child.id] = 0
        free = [dataclasses.replace(h, free_places=capacity[h.id] - taken.get(h.id, 0))
                for h in homes.values() if capacity[h.id] - taken.get(h.id, 0) > 0]
        added = [h for _, h, _ in extra if isinstance(h, Home) and h.id in homes]
        matched = [_limited(region, draws, children[c], added) for c in sorted(waiting)]
        placed = within = 0
        miles = weekly = 0.0
        if matched and free:
            result = solve(Problem(children=tuple(matched), homes=tuple(free), options=SOLVE))
            for assignment in result.assignments:
                child, home = children[assignment.child], homes[assignment.home]
                distance = great_circle_miles(child.home_location, home.location)
                placed += 1
                within += distance <= WITHIN_MILES
                tally(child, "placed")
                tally(child, "placed_within", float(distance <= WITHIN_MILES))
                miles += distance
                weekly += home.weekly_cost
                staying.append((index + draws.stays[child.id], home.id, home.weekly_cost, child.council or ""))
                del waiting[child.id]
        gave_up = 0
        for child_id in sorted(waiting):
            waiting[child_id] += 1
            if waiting[child_id] >= MAX_WAIT_MONTHS:
                del waiting[child_id]
                gave_up += 1
                tally(children[child_id], "unplaced")
        if index == len(region.months) - 1:
            for child_id in waiting:
                tally(children[child_id], "unplaced")
        spend = sum(cost for _, _, cost, _ in staying) * WEEKS_PER_MONTH
        for _, _, cost, council in staying:
            row = share.setdefault(council, {"placed": 0, "placed_within": 0, "unplaced": 0, "spend": 0.0})
            row["spend"] += cost * WEEKS_PER_MONTH
        results.append(MonthResult(month.month, len(arrivals), len(matched), placed, within, len(waiting), gave_up,
                                   miles, weekly, spend, time.perf_counter() - started))
    return Replay(scenario.name, seed, tuple(results), time.process_time() - started_cpu,
                  {k: {n: round(v, 2) for n, v in row.items()} for k, row in sorted(share.items())})


def _limited(region: Region, draws: _Draws, child: Child, added: list[Home]) -> Child:
    """The child, alone (siblings are matched one by one here), with the scenario's new homes that
    their referral's distance limit or refused areas rule out added to their excluded homes."""
    source = draws.origin.get(child.id, child.id)
    limit, areas = region.max_miles.get(source), region.excluded_areas.get(source, frozenset())
    refused = {h.id for h in added if (h.area in areas) or (
        limit is not None and great_circle_miles(child.home_location, h.location) > limit)}
    return dataclasses.replace(child, sibling_group=None, excluded_homes=child.excluded_homes | refused)


def _replay_task(args: tuple[Region, Scenario, int]) -> Replay:
    return replay(*args)


def run_scenarios(region: Region, scenarios: Sequence[Scenario], seed: int, workers: int = 1) -> list[Replay]:
    """Each scenario's replay, in order; with ``workers`` > 1 in that many worker processes (the
    region and scenarios are plain dataclasses, pickled to them)."""
    for scenario in scenarios:
        validate_scenario(region, scenario)
    tasks = [(region, scenario, seed) for scenario in scenarios]
    if workers <= 1 or len(tasks) <= 1:
        return [replay(*task) for task in tasks]
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=_context()) as pool:
        return list(pool.map(_replay_task, tasks))


def _context() -> Any:
    import multiprocessing  # noqa: PLC0415

    # fork is cheapest where it is safe (a worker process, a benchmark); spawn from threaded servers.
    method = os.environ.get("RCC_WHATIF_START_METHOD") or ("fork" if os.name == "posix" else "spawn")
    return multiprocessing.get_context(method)


# JSON --------------------------------------------------------------------------------------------

def replay_to_json(result: Replay) -> dict[str, Any]:
    return {"scenario": result.scenario, "seed": result.seed,
            "totals": {"placed": result.placed, "placed_within": result.placed_within,
                       "unplaced": result.unplaced, "spend": round(result.spend, 2),
                       "miles": round(result.miles, 1)},
            "cpu_seconds": round(result.cpu_seconds, 3), "by_council": result.by_council,
            "months": [{**dataclasses.asdict(m), "miles": round(m.miles, 1), "weekly_cost": round(m.weekly_cost, 2),
                        "spend": round(m.spend, 2), "seconds": round(m.seconds, 3)} for m in result.months]}


def scenario_from_json(data: Any) -> Scenario:
    """A scenario from ``{"name": ..., "changes": [{"placement_type", "places", "area" | "home",
    "from_month", "weekly_cost"}]}``; ScenarioError names a field of the wrong kind."""
    if not isinstance(data, dict):
        raise ScenarioError("A scenario is an object", "scenario")
    changes = data.get("changes", [])
    if not isinstance(changes, list):
        raise ScenarioError("Changes are a list", "changes")
    found = []
    for item in changes:
        if not isinstance(item, dict):
            raise ScenarioError("A change is an object", "changes")
        places, month, cost = item.get("places"), item.get("from_month", 0), item.get("weekly_cost")
        if not isinstance(places, int) or isinstance(places, bool):
            raise ScenarioError("Places must be a whole number", "places")
        if not isinstance(month, int) or isinstance(month, bool):
            raise ScenarioError("The month must be a whole number", "from_month")
        if cost is not None and (not isinstance(cost, int | float) or isinstance(cost, bool)):
            raise ScenarioError("The weekly cost must be a number", "weekly_cost")
        for name in ("placement_type", "area", "home"):
            if item.get(name) is not None and not isinstance(item[name], str):
                raise ScenarioError(f"{name} must be text", name)
        found.append(SupplyChange(str(item.get("placement_type") or ""), places, item.get("area"), item.get("home"),
                                  month, None if cost is None else float(cost)))
    return Scenario(str(data.get("name") or "Scenario")[:120], tuple(found))


def scenario_to_json(scenario: Scenario) -> dict[str, Any]:
    return {"name": scenario.name, "changes": [dataclasses.asdict(c) for c in scenario.changes]}
