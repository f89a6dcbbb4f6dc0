"""The RCC's matching policy: the engine's weights as whole numbers people set, with named presets,
the trade-off in plain terms, versions, and the comparison of two runs of the same snapshot.

Each field is points the engine adds to a child's score for a home (fewer is better):

* ``home_miles``: per mile from the child's home; ``school_miles``: per mile from their school;
* ``cost_per_100_pounds``: per £100 a week the home costs;
* ``rating_percent``: how much the Ofsted rating points count (100 = as the engine's README lists them);
* ``block_place_credit``: taken off for using a contracted place the region already pays for;
* ``sibling_split``: per sibling placed apart when the plan is to keep them together.

Placing one more child always outweighs all of these (the engine's unmatched penalty). Saving the
policy adds a version (never changes one); a new run uses the newest, and records it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matching.engine import Weights
from matching.models import MatchingPolicy, MatchingRun
from rcc import audit, numbers
from rcc.audit import AuditAction
from rcc.errors import FieldErrors, NotFound


@dataclass(frozen=True)
class PolicyField:
    name: str
    label: str
    hint: str
    maximum: int


FIELDS = (
    PolicyField("home_miles", "Points per mile from the child's home", "For example, 10", 1_000),
    PolicyField("school_miles", "Points per mile from the child's school", "For example, 5", 1_000),
    PolicyField("cost_per_100_pounds", "Points per £100 a week the home costs", "For example, 10", 1_000),
    PolicyField("rating_percent", "How much the Ofsted rating counts, in per cent",
                "100 counts the rating points as listed; 200 doubles them; 0 ignores the rating", 1_000),
    PolicyField("block_place_credit", "Points saved by using a contracted place",
                "A place of a block contract is already paid for. For example, 200", 100_000),
    PolicyField("sibling_split", "Points per brother or sister placed apart from their group",
                "Only where the plan is to keep them together if possible. For example, 1000", 100_000),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)

BALANCED = "balanced"
PRESETS: dict[str, tuple[str, dict[str, int]]] = {
    BALANCED: ("Balanced", {"home_miles": 10, "school_miles": 5, "cost_per_100_pounds": 10, "rating_percent": 100,
                            "block_place_credit": 200, "sibling_split": 1000}),
    "closest": ("Closest to home", {"home_miles": 30, "school_miles": 15, "cost_per_100_pounds": 3,
                                    "rating_percent": 100, "block_place_credit": 200, "sibling_split": 1000}),
    "lowest_cost": ("Lowest cost", {"home_miles": 3, "school_miles": 1, "cost_per_100_pounds": 30,
                                    "rating_percent": 100, "block_place_credit": 600, "sibling_split": 1000}),
}
MAX_NOTE = 200


@dataclass(frozen=True)
class PolicyValues:
    """A policy's numbers, whether saved (a version) or a preset or the defaults."""

    home_miles: int
    school_miles: int
    cost_per_100_pounds: int
    rating_percent: int
    block_place_credit: int
    sibling_split: int

    @classmethod
    def of(cls, source: Any) -> PolicyValues:
        return cls(**{name: int(getattr(source, name) if not isinstance(source, Mapping) else source[name])
                      for name in FIELD_NAMES})

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FIELD_NAMES}


DEFAULTS = PolicyValues.of(PRESETS[BALANCED][1])


def weights_of(values: PolicyValues) -> Weights:
    """The engine's weights for the policy (points per pound and rating multiplier from whole numbers)."""
    return Weights(home_miles=float(values.home_miles), school_miles=float(values.school_miles),
                   weekly_cost=values.cost_per_100_pounds / 100, rating=values.rating_percent / 100,
                   block_place_credit=values.block_place_credit, sibling_split=values.sibling_split)


def trade_off(values: PolicyValues) -> str:
    """The policy in plain terms: what a mile nearer home is worth in pounds a week."""
    if values.cost_per_100_pounds == 0:
        return "Cost is not weighed: a home 1 mile nearer is worth any price."
    if values.home_miles == 0:
        return "Distance from home is not weighed: the cheaper home wins, however far away."
    worth = values.home_miles * 10_000 / values.cost_per_100_pounds  # in pence
    return f"1 mile nearer the child's home is worth {numbers.pounds(worth)} a week."


def parse(form: Mapping[str, str]) -> PolicyValues:
    """Whole numbers in range, each field named on error (FieldErrors)."""
    errors: dict[str, str] = {}
    found: dict[str, int] = {}
    for field in FIELDS:
        try:
            value = numbers.whole_number(form.get(field.name), 0, field.maximum)
        except ValueError as error:
            errors[field.name] = f"{field.label} {error}"
            continue
        if value is None:
            errors[field.name] = f"Enter {field.label[0].lower()}{field.label[1:]}, a whole number from 0 to " \
                                 f"{field.maximum:,}"
        else:
            found[field.name] = value
    if errors:
        raise FieldErrors(errors)
    return PolicyValues(**found)


def current_policy(session: Session) -> MatchingPolicy | None:
    """The newest version of the RCC's policy (None until one is saved: runs then use the defaults)."""
    return session.scalars(select(MatchingPolicy).order_by(MatchingPolicy.version.desc()).limit(1)).first()  # type: ignore[attr-defined]


def versions(session: Session, limit: int = 50) -> list[MatchingPolicy]:
    return list(session.scalars(select(MatchingPolicy).order_by(MatchingPolicy.version.desc())  # type: ignore[attr-defined]
                                .limit(limit)))


def get_policy(session: Session, policy_id: int | None) -> MatchingPolicy:
    policy = session.get(MatchingPolicy, policy_id) if policy_id else None
    if policy is None:
        raise NotFound()
    return policy


def preset_of(values: PolicyValues) -> str:
    """The preset these numbers are, or "" when they are the RCC's own."""
    return next((name for name, (_label, preset) in PRESETS.items() if preset == values.as_dict()), "")


def save_policy(session: Session, rcc_id: int, form: Mapping[str, str], note: str = "") -> MatchingPolicy:
    """A new version of the policy from the form; the newest is what the next run uses."""
    note = (note or "").strip()
    errors: dict[str, str] = {}
    try:
        values = parse(form)
    except FieldErrors as error:
        errors.update(error.errors)
    if len(note) > MAX_NOTE:
        errors["note"] = f"The note must be {MAX_NOTE} characters or fewer"
    if errors:
        raise FieldErrors(errors)
    version = (session.scalar(select(func.max(MatchingPolicy.version))) or 0) + 1
    policy = MatchingPolicy(rcc_id=rcc_id, organisation_id=rcc_id, version=version, preset=preset_of(values),
                            note=note, created_by_user_id=audit.current_actor(session).user_id, **values.as_dict())
    session.add(policy)
    session.flush()
    audit.record(session, AuditAction.MATCHING_POLICY_SAVED, policy, version=version, preset=policy.preset,
                 **values.as_dict())
    return policy


def values_of_run(session: Session, run: MatchingRun) -> tuple[PolicyValues, MatchingPolicy | None]:
    """The policy a run used: its version, or the defaults when none had been saved."""
    policy = session.get(MatchingPolicy, run.policy_id) if run.policy_id else None
    return (PolicyValues.of(policy) if policy else DEFAULTS), policy


def describe(values: PolicyValues, policy: MatchingPolicy | None) -> str:
    name = PRESETS[values_preset][0] if (values_preset := preset_of(values)) else "the RCC's own weights"
    if policy is None:
        return f"Default weights ({name}): no policy had been saved"
    return f"Version {policy.version} ({name})"


# Comparing two runs ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RunFigures:
    """What a run's proposals add up to, for comparing policies side by side."""

    run_id: int
    children: int
    placed: int
    miles_from_home: float
    weekly_cost: float  # pounds a week, all proposed placements
    groups: int
    groups_together: int


def figures(run: MatchingRun) -> RunFigures:
    """Children placed, miles from home and £ a week of the proposals, and sibling groups kept in one home."""
    result = run.result or {}
    problem = run.problem or {}
    assignments = result.get("assignments", [])
    home_of = {a["child"]: a["home"] for a in assignments}
    members: dict[str, list[str]] = {}
    for child in problem.get("children", []):
        if child.get("sibling_group"):
            members.setdefault(child["sibling_group"], []).append(child["id"])
    together = sum(1 for children in members.values()
                   if all(c in home_of for c in children) and len({home_of[c] for c in children}) == 1)
    return RunFigures(
        run_id=int(run.id or 0), children=len(assignments) + len(result.get("unmatched", [])), placed=len(assignments),
        miles_from_home=round(sum(float(a["parts"].get("miles_from_home", 0)) for a in assignments), 1),
        weekly_cost=round(sum(float(a["parts"].get("weekly_cost", 0)) for a in assignments), 2),
        groups=len(members), groups_together=together)
