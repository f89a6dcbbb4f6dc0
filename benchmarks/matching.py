"""Benchmark of the matching engine on synthetic regions built from real reference data.

Homes are clustered where Ofsted-registered providers really are (the local authorities in
``ofsted_providers.csv``), placed at real postcode outcodes of that authority; children live
where people live (outcodes weighted by postcode count). About 30 % of children are in sibling
groups of 2–4. Everything is drawn from a seeded generator, so a size always gives the same
instance.

Beside them, **real-shaped** regions (``benchmarks/real_shaped.py``): real Ofsted and postcode
locations, foster households, cost and rating spread, sibling groups larger than most homes.

    python benchmarks/matching.py        # synthetic 200x2000, 1000x10000, 2000x20000;
                                         # real-shaped 2000x20000, 4000x45000
    python benchmarks/matching.py --sizes 200x2000 --real-sizes "" --json

For each size it prints the optimiser's time per stage, status and objective; the broker
greedy (one child at a time in urgency order, siblings one at a time) on the same instance, and
the engine's own greedy (sibling plans honoured: the optimiser's first incumbent); and the time
of the pure assignment bound without sibling rules (SciPy). Wall and CPU seconds and the load
average are reported: on a shared machine wall time alone misleads. ``--json`` prints only JSON.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from commissioning.services.imports import CUMBRIA_SUCCESSORS, OFSTED_NAMES_2022, RATINGS  # noqa: E402
from matching.engine import Child, Home, Problem, SiblingGroup, SolveOptions, solve  # noqa: E402
from matching.engine.candidates import HomeGrid  # noqa: E402
from matching.engine.evaluation import groups_split, objective_of  # noqa: E402
from matching.engine.greedy import greedy_placement  # noqa: E402
from matching.engine.prepared import PreparedProblem, miles_between  # noqa: E402
from rcc.geography import REFERENCE_DATA, Point, local_authorities, outcode_points  # noqa: E402

DEFAULT_SIZES = "200x2000,1000x10000,2000x20000"
DEFAULT_REAL_SIZES = "2000x20000,4000x45000"
SEED = 20261129
# Keys of the platform's closed vocabulary (commissioning.vocabulary: the Placements Data Standard's).
# Ofsted's 2022 council names as the platform reads them; the platform splits Cumbria's homes between its
# successors by where they are, the benchmark keeps them in the first.
OFSTED_NAMES = {**OFSTED_NAMES_2022, "Cumbria": CUMBRIA_SUCCESSORS[0]}
NEEDS = ("therapeutic_support", "home_adaptation", "communication_bsl", "additional_supervision", "solo_placement",
         "cultural_needs")
RISKS = ("sexual_exploitation", "going_missing", "self_harm", "criminal_exploitation")
# placement type: (share of homes, weekly cost range, free places choices, largest sibling group choices)
HOME_TYPES = {
    "foster_care": (0.56, (650, 1300), (1, 1, 2, 2, 3, 4), (1, 2, 2, 3, 4, 4)),
    "childrens_home": (0.30, (3500, 7500), (1, 1, 1, 2, 3), (1, 1, 2)),
    "supported_accommodation": (0.08, (900, 2500), (1, 2, 3), (1, 2)),
    "residential_school": (0.03, (4000, 8500), (1, 2), (1,)),
    "parent_and_child": (0.02, (1800, 4000), (1,), (1,)),
    "secure": (0.01, (7000, 11000), (1,), (1,)),
}


@dataclass
class Geography:
    la_names: list[str]
    la_outcodes: dict[str, list[Point]]
    la_outcode_weights: dict[str, np.ndarray]
    provider_weights: np.ndarray  # per LA, share of Ofsted-registered providers
    people_weights: np.ndarray  # per LA, share of postcodes


def load_geography() -> Geography:
    authorities = list(local_authorities())
    centres = np.radians([[la.centre.latitude, la.centre.longitude] for la in authorities])
    counts = _postcode_counts()
    la_outcodes: dict[str, list[Point]] = defaultdict(list)
    la_weights: dict[str, list[int]] = defaultdict(list)
    for outcode, point in sorted(outcode_points().items()):
        lat, lon = math.radians(point.latitude), math.radians(point.longitude)
        miles = miles_between(lat, lon, centres[:, 0], centres[:, 1])
        nearest = int(np.argmin(miles))
        if miles[nearest] <= 20:  # England only: drops Scotland and most of Wales
            la_outcodes[authorities[nearest].name].append(point)
            la_weights[authorities[nearest].name].append(counts.get(outcode, 1))
    names = sorted(la_outcodes)
    providers: Counter[str] = Counter()
    with open(REFERENCE_DATA / "ofsted_providers.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            providers[OFSTED_NAMES.get(row["local_authority"], row["local_authority"])] += 1
    provider_weights = np.array([providers.get(n, 0) for n in names], dtype=float) + 0.5
    people_weights = np.array([sum(la_weights[n]) for n in names], dtype=float)
    return Geography(
        la_names=names,
        la_outcodes=dict(la_outcodes),
        la_outcode_weights={n: np.array(la_weights[n], dtype=float) / sum(la_weights[n]) for n in names},
        provider_weights=provider_weights / provider_weights.sum(),
        people_weights=people_weights / people_weights.sum(),
    )


def _postcode_counts() -> dict[str, int]:
    with open(REFERENCE_DATA / "outcodes.csv", newline="", encoding="utf-8") as f:
        return {row["outcode"]: int(row["postcode_count"]) for row in csv.DictReader(f)}


def _place(rng: np.random.Generator, geography: Geography, la: str, spread: float) -> Point:
    outcodes = geography.la_outcodes[la]
    point = outcodes[rng.choice(len(outcodes), p=geography.la_outcode_weights[la])]
    return Point(round(point.latitude + rng.normal(0, spread), 5), round(point.longitude + rng.normal(0, spread), 5))


def generate(children: int, homes: int, seed: int = SEED, geography: Geography | None = None) -> Problem:
    geography = geography or load_geography()
    rng = np.random.default_rng(seed)
    home_records = [_home(rng, geography, index) for index in range(homes)]
    child_records, groups = _children(rng, geography, children, home_records)
    problem = Problem(tuple(child_records), tuple(home_records), tuple(groups),
                      options=SolveOptions(time_limit_seconds=60))
    return _separate_groups_no_home_can_take(problem)


def _separate_groups_no_home_can_take(problem: Problem) -> Problem:
    """Social workers ask to keep a group together only where some home could take all of it."""
    prepared = PreparedProblem(problem)
    every_home = np.arange(len(prepared.homes))
    impossible = {entity.id for entity in prepared.entities
                  if entity.keep_together and not prepared.entity_suitable(entity, every_home).any()}
    groups = tuple(SiblingGroup(g.id, "together_if_possible" if g.plan == "together" and g.id in impossible else g.plan)
                   for g in problem.sibling_groups)
    return dataclasses.replace(problem, sibling_groups=groups)


def _home(rng: np.random.Generator, geography: Geography, index: int) -> Home:
    types = list(HOME_TYPES)
    placement_type = types[rng.choice(len(types), p=[HOME_TYPES[t][0] for t in types])]
    _, (low, high), places, siblings = HOME_TYPES[placement_type]
    la = geography.la_names[rng.choice(len(geography.la_names), p=geography.provider_weights)]
    free = int(rng.choice(places))
    min_age, max_age = {
        "foster_care": (0, 17), "childrens_home": (int(rng.choice([8, 10, 11])), 17),
        "supported_accommodation": (16, 17), "residential_school": (8, 17), "parent_and_child": (14, 17),
        "secure": (10, 17),
    }[placement_type]
    covered = [n for n in NEEDS if rng.random() < 0.45] + [r for r in RISKS if rng.random() < 0.4]
    rating = list(RATINGS.values())[rng.choice(5, p=[0.15, 0.60, 0.16, 0.02, 0.07])]
    return Home(
        id=f"H{index:06d}",
        provider=f"P{int(rng.integers(0, max(1, index // 6 + 1))):05d}",
        placement_type=placement_type,
        location=_place(rng, geography, la, 0.02),
        free_places=free,
        block_places=int(rng.random() < 0.2),
        min_age=min_age,
        max_age=max_age,
        sexes=frozenset(["F", "M"] if rng.random() < 0.85 else [rng.choice(["F", "M"])]),
        needs_met=frozenset(covered),
        max_sibling_group=int(rng.choice(siblings)),
        weekly_cost=float(round(rng.uniform(low, high), -1)),
        ofsted_rating=rating,
        deprivation_of_liberty=placement_type == "secure" or (placement_type == "childrens_home" and rng.random() < 0.1),
        area=la,
    )


def _children(rng: np.random.Generator, geography: Geography, count: int,
              homes: list[Home]) -> tuple[list[Child], list[SiblingGroup]]:
    children: list[Child] = []
    groups: list[SiblingGroup] = []
    providers = sorted({h.provider for h in homes})
    while len(children) < count:
        room = count - len(children)
        size = 1 if rng.random() >= 0.13 or room < 2 else int(min(room, rng.choice([2, 2, 2, 2, 3, 3, 4])))
        group = None
        if size > 1:
            group = f"G{len(groups):05d}"
            groups.append(SiblingGroup(group, plan="together" if rng.random() < 0.75 else "together_if_possible"))
        la = geography.la_names[rng.choice(len(geography.la_names), p=geography.people_weights)]
        family_home = _place(rng, geography, la, 0.01)
        urgency = str(rng.choice(["emergency", "urgent", "planned"], p=[0.1, 0.25, 0.65]))
        eldest = int(rng.integers(size - 1, 18))
        ages = [max(0, eldest - 2 * k) for k in range(size)]
        for age in ages:
            child = _child(rng, f"C{len(children):06d}", age, family_home, urgency, group, providers)
            if size > 1 and min(ages) < 16:
                # Brokers look for a foster family able to take the siblings together.
                types = child.placement_types | {"foster_care"}
                child = dataclasses.replace(child, placement_types=types, needs_deprivation_of_liberty=False)
            children.append(child)
    return children, groups


def _child(rng: np.random.Generator, child_id: str, age: int, home: Point, urgency: str, group: str | None,
           providers: list[str]) -> Child:
    if age < 10:
        types = {"foster_care"}
    elif age < 16:
        types = {"foster_care", "childrens_home"} if rng.random() < 0.6 else {"childrens_home"}
    else:
        types = {"childrens_home", "supported_accommodation"} | ({"foster_care"} if rng.random() < 0.5 else set())
    if age >= 8 and rng.random() < 0.03:
        types = {"residential_school"}
    needs_dol = age >= 10 and rng.random() < 0.02
    if needs_dol:
        types = {"secure", "childrens_home"}
    school = None
    if 5 <= age <= 16 and rng.random() < 0.7:
        school = Point(round(home.latitude + rng.normal(0, 0.03), 5), round(home.longitude + rng.normal(0, 0.04), 5))
    return Child(
        id=child_id,
        age=age,
        sex=str(rng.choice(["F", "M"])),
        placement_types=frozenset(types),
        home_location=home,
        urgency=urgency,
        sibling_group=group,
        needs=frozenset(n for n in NEEDS if rng.random() < 0.12),
        risk_flags=frozenset(r for r in RISKS if age >= 11 and rng.random() < 0.12),
        school_location=school,
        excluded_providers=frozenset([providers[int(rng.integers(len(providers)))]] if rng.random() < 0.05 else []),
        max_weekly_cost=float(rng.choice([6000, 8000])) if rng.random() < 0.3 else None,
        needs_deprivation_of_liberty=needs_dol,
    )


def assignment_bound_seconds(prepared: PreparedProblem, grid: HomeGrid, keep: int) -> float:
    """Time of the pure min-cost assignment (no siblings): each child's best homes, one column per place."""
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    from matching.engine.prepared import Entity

    started = time.perf_counter()
    rows, cols, costs = [], [], []
    columns: dict[tuple[int, int], int] = {}
    for c, child in enumerate(prepared.children):
        candidates = grid.candidates(Entity(child.id, (c,), False), keep)
        for home, score in zip(candidates.homes.tolist(), candidates.scores.tolist(), strict=True):
            for place in range(int(prepared.home_free[home])):
                column = columns.setdefault((home, place), len(columns))
                rows.append(c)
                cols.append(column)
                costs.append(score + 1)
    # Unmatched children: a private dummy column each, dearer than any home.
    dummy_cost = max(costs, default=0) * 10 + 1
    for c in range(len(prepared.children)):
        rows.append(c)
        cols.append(len(columns) + c)
        costs.append(dummy_cost)
    matrix = csr_matrix((costs, (rows, cols)), shape=(len(prepared.children), len(columns) + len(prepared.children)))
    try:
        min_weight_full_bipartite_matching(matrix)
    except ValueError:
        linear_sum_assignment(matrix.toarray())
    return time.perf_counter() - started


def run(children: int, homes: int, geography: Geography | None, shape: str = "synthetic") -> dict:
    if shape == "real":
        from benchmarks.real_shaped import generate as generate_real_shaped

        problem = generate_real_shaped(children, homes)
    else:
        problem = generate(children, homes, geography=geography)
    load_before = os.getloadavg()[0]
    cpu_started = time.process_time()
    result = solve(problem)
    cpu_seconds = time.process_time() - cpu_started
    prepared = PreparedProblem(problem)
    grid = HomeGrid(prepared)
    started = time.perf_counter()
    greedy = greedy_placement(prepared, grid=grid)
    greedy_seconds = time.perf_counter() - started
    greedy_objective = objective_of(prepared, greedy)
    optimised = {prepared.child_index[a.child]: prepared.home_index[a.home] for a in result.assignments}
    placement = {c: optimised.get(c) for c in range(len(prepared.children))}
    seconds = result.seconds
    return {
        "shape": shape,
        "children": children,
        "homes": homes,
        "status": result.status,
        "status_text": result.status_text,
        "time_limit_seconds": problem.options.time_limit_seconds,
        "pruning_exact": result.pruning_exact,
        "gap": result.gap,
        "seconds_candidates": round(seconds.candidates, 4),
        "seconds_build": round(seconds.build, 4),
        "seconds_relaxation": round(seconds.relaxation, 4),
        "seconds_solve": round(seconds.solve, 4),
        "seconds_report": round(seconds.report, 4),
        "seconds_greedy_incumbent": round(seconds.greedy, 4),
        "seconds_total": round(seconds.total, 4),
        # CPU of this process (all its threads) during solve, and the machine's load average
        # before it: on a shared machine wall time alone can mislead.
        "cpu_seconds_total": round(cpu_seconds, 4),
        "load_average": round(load_before, 2),
        "pruning_rounds": result.model.pruning_rounds,
        "candidate_pairs": result.model.candidate_pairs,
        "objective": result.objective,
        "bound": result.bound,
        "placed": result.placed,
        "unmatched": len(result.unmatched),
        "pricing_rounds": result.model.pricing_rounds,
        "cut_rounds": result.model.cut_rounds,
        "groups_split": result.groups_split,
        "keep_together_groups_split": _keep_together_split(problem, placement, prepared),
        "greedy_objective": greedy_objective,
        "greedy_placed": sum(1 for h in greedy.values() if h is not None),
        # The engine's greedy honouring sibling plans: the optimiser's first incumbent.
        "plan_greedy_objective": result.greedy_objective,
        "greedy_unmatched": sum(1 for h in greedy.values() if h is None),
        "greedy_groups_split": groups_split(prepared, greedy),
        "greedy_keep_together_groups_split": _keep_together_split(problem, greedy, prepared),
        "greedy_seconds": round(greedy_seconds, 4),
        "improvement_vs_greedy": round(1 - result.objective / greedy_objective, 4) if greedy_objective else 0.0,
        "score_per_placed_child": round(_placed_score(prepared, placement), 1),
        "greedy_score_per_placed_child": round(_placed_score(prepared, greedy), 1),
        "assignment_bound_seconds": round(assignment_bound_seconds(prepared, grid, 12), 4),
    }


def _keep_together_split(problem: Problem, placement: dict, prepared: PreparedProblem) -> int:
    keep = {g.id for g in problem.sibling_groups if g.plan == "together"}
    return sum(1 for group, members in prepared.group_members.items()
               if group in keep and len({placement.get(m) for m in members} - {None}) > 1)


def _placed_score(prepared: PreparedProblem, placement: dict) -> float:
    """Average score of placed children, without unmatched penalties (lower is better)."""
    placed = {c: h for c, h in placement.items() if h is not None}
    if not placed:
        return 0.0
    unmatched = {c: None for c, h in placement.items() if h is None}
    total = objective_of(prepared, {**placed, **unmatched}) - int(sum(prepared.unmatched_penalty[list(unmatched)]))
    return total / len(placed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="children x homes, comma separated")
    parser.add_argument("--real-sizes", default=DEFAULT_REAL_SIZES,
                        help="real-shaped regions, children x homes, comma separated ('' for none)")
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per size")
    args = parser.parse_args(argv)
    runs = []
    geography = load_geography() if _sizes(args.sizes) else None
    for shape, sizes in (("synthetic", _sizes(args.sizes)), ("real", _sizes(args.real_sizes))):
        for children, homes in sizes:
            runs.append(run(children, homes, geography, shape))
            if not args.json:
                _print_run(runs[-1])
    if args.json:
        print(json.dumps(runs, indent=2))
    return 0


def _sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for size in text.split(","):
        if size.strip():
            children, homes = size.lower().split("x")
            sizes.append((int(children), int(homes)))
    return sizes


def _print_run(run: dict) -> None:
    print(f"\n{run['shape']}: {run['children']} children x {run['homes']} homes")
    print(f"  optimiser: {run['status_text']} (pruning exact: {run['pruning_exact']}, gap {run['gap']}), "
          f"{run['candidate_pairs']} candidate pairs, {run['pruning_rounds']} round(s)")
    print(f"    seconds: candidates {run['seconds_candidates']:.3f}, build {run['seconds_build']:.3f}, "
          f"relaxation {run['seconds_relaxation']:.3f}, solve {run['seconds_solve']:.3f}, "
          f"report {run['seconds_report']:.3f}, total {run['seconds_total']:.3f} "
          f"(CPU {run['cpu_seconds_total']:.3f}; load average {run['load_average']:.2f})")
    print(f"    objective {run['objective']:,}, unmatched {run['unmatched']}, groups split {run['groups_split']} "
          f"(keep-together {run['keep_together_groups_split']}), score per placed child "
          f"{run['score_per_placed_child']}")
    print(f"  engine greedy (sibling plans honoured, the first incumbent): {run['plan_greedy_objective']:,}")
    print(f"  greedy: objective {run['greedy_objective']:,}, unmatched {run['greedy_unmatched']}, "
          f"groups split {run['greedy_groups_split']} (keep-together {run['greedy_keep_together_groups_split']}), "
          f"score per placed child {run['greedy_score_per_placed_child']}, {run['greedy_seconds']:.3f} s")
    print(f"  optimiser objective {run['improvement_vs_greedy']:.1%} better than greedy")
    print(f"  assignment bound (SciPy, no sibling rules): {run['assignment_bound_seconds']:.3f} s")


if __name__ == "__main__":
    raise SystemExit(main())
