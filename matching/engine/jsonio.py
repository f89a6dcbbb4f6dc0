"""The JSON contract: problems in, results out. Validation errors name the record and field."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from rcc.geography import Point

from .model import (
    SIBLING_PLANS,
    Child,
    Home,
    Problem,
    ProblemError,
    SiblingGroup,
    SolveOptions,
    Weights,
    validate,
)
from .result import Result

FORMAT_VERSION = 1


def problem_from_json(data: str | bytes | dict[str, Any]) -> Problem:
    """Parse and validate a problem given as JSON text or as the decoded dict."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
        except json.JSONDecodeError as error:
            raise ProblemError("problem", "(document)", f"is not valid JSON: {error}") from error
        except UnicodeDecodeError as error:
            raise ProblemError("problem", "(document)", f"is not UTF-8 text: {error.reason} at byte "
                               f"{error.start}") from error
        except RecursionError as error:
            raise ProblemError("problem", "(document)", "is nested too deeply to be a problem") from error
    _require(isinstance(data, dict), "problem", "(document)", "must be a JSON object")
    assert isinstance(data, dict)
    _no_unknown("problem", data, {"version", "children", "homes", "sibling_groups", "weights", "options"})
    version = data.get("version", FORMAT_VERSION)
    _require(version == FORMAT_VERSION, "problem", "version", f"must be {FORMAT_VERSION}, got {version!r}")
    problem = Problem(
        children=tuple(_child(f"children[{i}]", r) for i, r in enumerate(_list(data, "children"))),
        homes=tuple(_home(f"homes[{i}]", r) for i, r in enumerate(_list(data, "homes"))),
        sibling_groups=tuple(_group(f"sibling_groups[{i}]", r) for i, r in enumerate(_list(data, "sibling_groups"))),
        weights=_weights(data.get("weights") or {}),
        options=_options(data.get("options") or {}),
    )
    validate(problem)
    return problem


def problem_to_json(problem: Problem) -> dict[str, Any]:
    """The problem as a JSON-ready dict, children and homes sorted by id, sets sorted."""
    return {
        "version": FORMAT_VERSION,
        "sibling_groups": [dataclasses.asdict(g) for g in sorted(problem.sibling_groups, key=lambda g: g.id)],
        "children": [_jsonable(c) for c in sorted(problem.children, key=lambda c: c.id)],
        "homes": [_jsonable(h) for h in sorted(problem.homes, key=lambda h: h.id)],
        "weights": _jsonable(problem.weights),
        "options": _jsonable(problem.options),
    }


def result_to_json(result: Result) -> dict[str, Any]:
    return _jsonable(result)


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Point):
        return {"latitude": value.latitude, "longitude": value.longitude}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, frozenset | set):
        return [_jsonable(v) for v in sorted(value)]
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- parsing helpers: each names the record and field ------------------------------------------


def _require(condition: bool, record: str, field_name: str, message: str) -> None:
    if not condition:
        raise ProblemError(record, field_name, message)


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    _require(isinstance(value, list), "problem", key, "must be a list")
    return value


def _no_unknown(record: str, data: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(data) - known)
    _require(not unknown, record, unknown[0] if unknown else "", "is not a field of this record")


def _record_name(record: str, data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        return f"{record} '{data['id']}'"
    return record


def _point(record: str, field_name: str, value: Any, *, optional: bool = False) -> Point | None:
    if value is None and optional:
        return None
    _require(isinstance(value, dict) and {"latitude", "longitude"} <= set(value), record, field_name,
             "must be an object with latitude and longitude")
    return Point(value["latitude"], value["longitude"])


def _strings(record: str, field_name: str, value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    _require(isinstance(value, list) and all(isinstance(v, str) for v in value), record, field_name,
             "must be a list of strings")
    return frozenset(value)


def _child(record: str, data: Any) -> Child:
    _require(isinstance(data, dict), record, "(record)", "must be an object")
    record = _record_name(record, data)
    _no_unknown(record, data, {f.name for f in dataclasses.fields(Child)})
    for key in ("id", "age", "sex", "placement_types", "home_location"):
        _require(key in data, record, key, "is required")
    home = _point(record, "home_location", data["home_location"])
    assert home is not None
    return Child(
        id=data["id"],
        age=data["age"],
        sex=data["sex"],
        placement_types=_strings(record, "placement_types", data["placement_types"]),
        home_location=home,
        urgency=data.get("urgency", "planned"),
        sibling_group=data.get("sibling_group"),
        needs=_strings(record, "needs", data.get("needs")),
        risk_flags=_strings(record, "risk_flags", data.get("risk_flags")),
        school_location=_point(record, "school_location", data.get("school_location"), optional=True),
        excluded_homes=_strings(record, "excluded_homes", data.get("excluded_homes")),
        excluded_providers=_strings(record, "excluded_providers", data.get("excluded_providers")),
        max_weekly_cost=data.get("max_weekly_cost"),
        needs_deprivation_of_liberty=data.get("needs_deprivation_of_liberty", False),
        preferred_placement_types=_strings(record, "preferred_placement_types", data.get("preferred_placement_types")),
        council=data.get("council"),
        in_house_bonus=data.get("in_house_bonus", 0),
        declined_homes=_strings(record, "declined_homes", data.get("declined_homes")),
        offered_prices=_pairs(record, "offered_prices", data.get("offered_prices")),
    )


def _pairs(record: str, field_name: str, value: Any) -> frozenset[tuple[str, float]]:
    if value is None:
        return frozenset()
    _require(isinstance(value, list) and all(isinstance(v, list | tuple) and len(v) == 2 for v in value), record,
             field_name, "must be a list of [home, pounds] pairs")
    return frozenset((v[0], v[1]) for v in value)


def _home(record: str, data: Any) -> Home:
    _require(isinstance(data, dict), record, "(record)", "must be an object")
    record = _record_name(record, data)
    _no_unknown(record, data, {f.name for f in dataclasses.fields(Home)})
    for key in ("id", "provider", "placement_type", "location", "free_places", "weekly_cost"):
        _require(key in data, record, key, "is required")
    location = _point(record, "location", data["location"])
    assert location is not None
    optional = {
        key: data[key] for key in ("block_places", "min_age", "max_age", "max_sibling_group", "ofsted_rating",
                                   "deprivation_of_liberty", "area", "allow_inadequate", "council") if key in data
    }
    if "sexes" in data:
        optional["sexes"] = _strings(record, "sexes", data["sexes"])
    return Home(
        id=data["id"],
        provider=data["provider"],
        placement_type=data["placement_type"],
        location=location,
        free_places=data["free_places"],
        weekly_cost=data["weekly_cost"],
        needs_met=_strings(record, "needs_met", data.get("needs_met")),
        **optional,
    )


def _group(record: str, data: Any) -> SiblingGroup:
    _require(isinstance(data, dict), record, "(record)", "must be an object")
    record = _record_name(record, data)
    _no_unknown(record, data, {"id", "plan"})
    _require("id" in data, record, "id", "is required")
    plan = data.get("plan", "together")
    _require(plan in SIBLING_PLANS, record, "plan", f"must be one of {', '.join(SIBLING_PLANS)}, got {plan!r}")
    return SiblingGroup(data["id"], plan)


def _weights(data: Any) -> Weights:
    _require(isinstance(data, dict), "weights", "(record)", "must be an object")
    _no_unknown("weights", data, {f.name for f in dataclasses.fields(Weights)})
    values = dict(data)
    if "rating_points" in values:
        _require(isinstance(values["rating_points"], dict), "weights", "rating_points", "must be an object")
        values["rating_points"] = {**Weights().rating_points, **values["rating_points"]}
    return Weights(**values)


def _options(data: Any) -> SolveOptions:
    _require(isinstance(data, dict), "options", "(record)", "must be an object")
    _no_unknown("options", data, {f.name for f in dataclasses.fields(SolveOptions)})
    return SolveOptions(**data)
