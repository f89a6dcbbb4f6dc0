"""Small builders for engine tests: a suitable child and home unless told otherwise."""

from __future__ import annotations

import dataclasses
from typing import Any

from matching.engine import Child, Home, Point, Problem, SiblingGroup, SolveOptions, Weights

COVENTRY = Point(52.4068, -1.5197)


def near(point: Point, miles_north: float) -> Point:
    """A point this many miles due north (1° of latitude ≈ 69.09 miles)."""
    return Point(point.latitude + miles_north / 69.09, point.longitude)


def child(child_id: str, miles_north: float = 0.0, **fields: Any) -> Child:
    values: dict[str, Any] = {"age": 12, "sex": "F", "placement_types": {"childrens_home"},
                              "home_location": near(COVENTRY, miles_north)}
    values.update(fields)
    return Child(child_id, **values)


def home(home_id: str, miles_north: float = 0.0, **fields: Any) -> Home:
    values: dict[str, Any] = {"provider": "P-" + home_id, "placement_type": "childrens_home",
                              "location": near(COVENTRY, miles_north), "free_places": 1, "weekly_cost": 4000.0,
                              "max_age": 17, "max_sibling_group": 4}
    values.update(fields)
    return Home(home_id, **values)


def problem(children: list[Child], homes: list[Home], groups: list[SiblingGroup] | None = None,
            weights: Weights | None = None, **options: Any) -> Problem:
    return Problem(tuple(children), tuple(homes), tuple(groups or ()), weights or Weights(),
                   dataclasses.replace(SolveOptions(time_limit_seconds=30), **options))
