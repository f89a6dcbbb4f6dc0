"""What a run returns. Plain dataclasses; ``result_to_json`` turns them into JSON-ready dicts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScoreParts:
    """One child's score in one home: the raw figures and the points each contributed."""

    miles_from_home: float
    miles_from_school: float | None
    weekly_cost: float
    ofsted_rating: str
    block_place_used: bool
    siblings_together: bool | None  # None when the child has no siblings in the run
    points: dict[str, int]  # home_distance, school_distance, cost, rating, block_place, sibling_split,
    # not_preferred_type, in_house (≤ 0)
    placement_type: str = ""
    in_house: bool = False  # the home belongs to the child's own council
    sibling_plan: str | None = None  # the plan of the child's sibling group (None without one)

    @property
    def total(self) -> int:
        return sum(self.points.values())


@dataclass(frozen=True)
class Alternative:
    home: str
    score: int
    parts: ScoreParts
    reason: str  # "worse", "taken", "keeps_siblings_together", "siblings_apart", "sibling_limit", "costs_others"
    taken_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    child: str
    home: str
    score: int
    parts: ScoreParts
    rank: int  # 1 + how many candidates score fewer points for this child (own score, no credits)
    candidates: int
    alternatives: tuple[Alternative, ...]


@dataclass(frozen=True)
class FunnelStep:
    rule: str
    removed: int
    remaining: int


@dataclass(frozen=True)
class Unmatched:
    child: str
    urgency: str
    sibling_group: str | None
    homes_considered: int
    funnel: tuple[FunnelStep, ...]
    suitable_homes: int
    all_taken: bool  # suitable homes existed, but other children in this run filled them


@dataclass(frozen=True)
class Pressure:
    placement_type: str
    area: str
    homes: int
    free_places: int
    places_proposed: int
    extra_place_value: float  # objective points one more place would save, at the best home
    best_home: str | None


@dataclass(frozen=True)
class Timings:
    candidates: float
    build: float
    relaxation: float
    solve: float
    report: float
    total: float
    greedy: float = 0.0  # the greedy incumbent (counted in ``total``)


@dataclass(frozen=True)
class ModelSize:
    candidate_pairs: int
    variables: int
    constraints: int
    pruning_rounds: int
    relaxation_objective: float
    pricing_rounds: int = 0  # column generation rounds of the relaxation
    cut_rounds: int = 0


@dataclass(frozen=True)
class Result:
    status: str  # "optimal", "feasible" or "not_solved"
    objective: int
    bound: float | None
    gap: float | None
    pruning_exact: bool
    solver: str
    placed: int
    groups_split: int
    assignments: tuple[Assignment, ...]
    unmatched: tuple[Unmatched, ...]
    pressure: tuple[Pressure, ...]
    seconds: Timings
    model: ModelSize
    unmatched_penalties: dict[str, int] = field(default_factory=dict)
    status_text: str = ""  # the status in words, with the gap: "feasible, within 0.4% of the best possible"
    greedy_objective: int | None = None  # the engine's greedy, the first incumbent: objective ≤ this
    time_limit_reached: bool = False

    def proposals(self) -> dict[str, str | None]:
        """Child id -> proposed home id, or None when unmatched."""
        placed: dict[str, str | None] = {a.child: a.home for a in self.assignments}
        placed.update({u.child: None for u in self.unmatched})
        return dict(sorted(placed.items()))


def status_text(status: str, gap: float | None) -> str:
    """What a status means for the reader: proven best, or how far from the best it can be."""
    if status == "optimal":
        return "optimal: proven the best possible"
    if status == "feasible":
        if gap is None:
            return "feasible, not proven: no bound was reached in the time allowed"
        if gap >= 1:
            return "feasible, not proven: the bound reached in the time allowed is too weak to say how close"
        return f"feasible, within {_percent(gap)} of the best possible"
    return "not solved"


def _percent(gap: float) -> str:
    """Rounded up, so the claim stays true: 0.0001 is "0.01%", not "0.0%"."""
    hundredths = math.ceil(gap * 10_000 - 1e-9)
    return f"{hundredths / 100:.2f}%"
