"""Words for the engine's explanations: score parts, why an alternative lost, the hard-rule funnel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcc.numbers import pounds

# The engine's score parts (points, lower is better), in the order pages show them.
SCORE_PARTS: dict[str, str] = {
    "home_distance": "Miles from home",
    "school_distance": "Miles from school",
    "cost": "Weekly cost",
    "rating": "Ofsted rating",
    "block_place": "Block-contract place",
    "sibling_split": "Siblings together",
    "not_preferred_type": "Preferred type of placement",
    "in_house": "The council's own (in-house) carers",
}

# Each reason is true by construction in the engine (matching/engine/report.py).
ALTERNATIVE_REASONS: dict[str, str] = {
    "worse": "Scores more points for this child than the proposed home (distance, cost, rating, preferences)",
    "taken": "Its free places went to other children in this run",
    "keeps_siblings_together": "The proposed home keeps the child with a brother or sister",
    "siblings_apart": "A brother or sister is proposed there, and the plan is to place them apart",
    "sibling_limit": "It cannot take any more of this sibling group",
    "costs_others": "Scores no more for this child, but choosing it would cost other children: see the next column",
}

FUNNEL_RULES: dict[str, str] = {
    "placement_type": "Offers the type of placement needed",
    "age": "Takes children of this age",
    "sex": "Takes children of this sex",
    "needs": "Meets every need and risk",
    "exclusions": "Not excluded by the council (home, provider, area or distance)",
    "provider_cannot": "Its provider did not say it cannot meet the child's needs (referral pack)",
    "cost": "Within the maximum weekly cost",
    "deprivation_of_liberty": "Can care for a child under a deprivation of liberty order",
    "inadequate": "Not rated Inadequate by Ofsted (or the RCC allowed this home with a reason)",
    "free_places": "Has a free place",
    "whole_sibling_group": "Can take the whole sibling group together",
}

RATING_LABELS = {
    "outstanding": "Outstanding", "good": "Good", "requires_improvement": "Requires improvement",
    "inadequate": "Inadequate", "not_yet_inspected": "Not yet inspected",
}


@dataclass(frozen=True)
class PartLine:
    label: str
    figure: str
    points: int


def part_lines(parts: dict[str, Any]) -> list[PartLine]:
    """One line per score part: what it measures, the raw figure, and the points it added."""
    points = parts.get("points", {})
    together = parts.get("siblings_together")
    figures = {
        "home_distance": f"{parts['miles_from_home']:.1f} miles",
        "school_distance": ("no school given" if parts.get("miles_from_school") is None
                            else f"{parts['miles_from_school']:.1f} miles"),
        "cost": f"{pounds(parts['weekly_cost'] * 100, whole=True)} a week",
        "rating": RATING_LABELS.get(parts.get("ofsted_rating", ""), parts.get("ofsted_rating", "")),
        "block_place": "Yes" if parts.get("block_place_used") else "No (spot purchase)",
        "sibling_split": ("no siblings in this run" if together is None
                          else "No: apart, as the plan says" if parts.get("sibling_plan") == "apart"
                          else "Yes" if together else "No, the group is split"),
        "not_preferred_type": ("Yes, or no preference" if not points.get("not_preferred_type")
                               else "No, a type the child does not prefer"),
        "in_house": "Yes" if parts.get("in_house") else "No",
    }
    return [PartLine(label, figures[key], int(points.get(key, 0))) for key, label in SCORE_PARTS.items()]


def alternative_reason(reason: str) -> str:
    return ALTERNATIVE_REASONS.get(reason, reason.replace("_", " "))


def funnel_rule(rule: str) -> str:
    return FUNNEL_RULES.get(rule, rule.replace("_", " "))


def binding_rule(funnel: list[dict[str, Any]], all_taken: bool) -> str:
    """The rule that left no home: the first step after which none remained (or 'free places taken')."""
    if all_taken:
        return "taken_in_run"
    for step in funnel:
        if step["remaining"] == 0:
            return step["rule"]
    return "taken_in_run"


BINDING_RULE_LABELS = {**FUNNEL_RULES, "taken_in_run": "Suitable homes were all proposed for other children"}
