"""The Placements Data Standard v2's data dictionary, and the JSON Schema derived from it.

``derive_schema`` turns the dictionary (``standards/placements.json``: entities, fields, types,
cardinalities and options) into a JSON Schema for the documents the platform exports and
imports (``services/standard_json.py``). ``scripts/placements_schema.py`` writes it to
``standards/placements.schema.json``, which is committed; a test checks the committed file is
what the dictionary derives, so the two never drift.

How the dictionary becomes a schema:
  * each entity is an object of its fields (no others); a field whose cardinality starts at 1 is
    required; ``1..*`` and ``0..*`` are arrays (at least one item for ``1..*``);
  * Integer, String, Boolean and Date are JSON integer, string, boolean and an ISO date string;
    Categorical is one of its options, word for word;
  * a document is ``{"standard": ..., "placements": [...]}``; each placement has the entities
    as properties. The dictionary describes two moments, the referral and the agreed placement:
    ``ActualPlacement`` and the placement-time fields of ``QualityAssurance`` (``PLACEMENT_STAGE``)
    are required only once a placement is agreed (``ActualPlacement`` present). This split is ours:
    the dictionary does not say which fields belong to which moment, the field names do;
  * ``extensions`` holds what the platform needs to re-create a referral that the standard does
    not carry (the child's details, urgency and date needed); other readers ignore it.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

STANDARDS = Path(__file__).parent / "standards"
DICTIONARY_PATH = STANDARDS / "placements.json"
SCHEMA_PATH = STANDARDS / "placements.schema.json"
SOURCE = {
    "repository": "https://github.com/SocialCareData/placements-standard",
    "path": "placements.json",
    "commit": "7024bf5760d681581007188a9477277072ff4f9b",
    "licence": "MIT, Copyright (c) 2025 Data Standards for Social Care",
}
# Entity -> its fields recorded when the placement is agreed (None: every field).
PLACEMENT_STAGE: dict[str, frozenset[str] | None] = {
    "ActualPlacement": None,
    "QualityAssurance": frozenset({"placementOfficerName", "placementDate", "costOfficerName", "costDate"}),
}
TYPES: dict[str, dict[str, Any]] = {
    "Integer": {"type": "integer"},
    "String": {"type": "string"},
    "Boolean": {"type": "boolean"},
    "Date": {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
}


def dictionary_text() -> str:
    return DICTIONARY_PATH.read_text(encoding="utf-8")


@cache
def dictionary() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(dictionary_text())
    return loaded


def entities() -> dict[str, dict[str, Any]]:
    return {entity["name"]: entity for entity in dictionary()["entities"]}


def _field_schema(field: dict[str, Any]) -> dict[str, Any]:
    kind = field["type"]
    if kind == "Categorical":
        item: dict[str, Any] = {"enum": list(field["options"])}
    elif kind in TYPES:
        item = dict(TYPES[kind])
    else:
        raise ValueError(f"The dictionary's field {field['name']} has a type the schema does not know: {kind}")
    item["description"] = field["description"]
    low, _, high = field["cardinality"].partition("..")
    if high == "*":
        return {"type": "array", "items": {k: v for k, v in item.items() if k != "description"},
                "minItems": int(low), "description": field["description"], "x-cardinality": field["cardinality"]}
    if high != "1" or low not in ("0", "1"):
        raise ValueError(f"The dictionary's field {field['name']} has a cardinality the schema does not know: "
                         f"{field['cardinality']}")
    return {**item, "x-cardinality": field["cardinality"]}


def _required(entity: dict[str, Any], stage_fields: frozenset[str] | None, placement_stage: bool) -> list[str]:
    """The entity's fields of cardinality 1.. at the referral (or, ``placement_stage``, the extra ones then)."""
    names = [f["name"] for f in entity["fields"] if f["cardinality"].startswith("1")]
    if stage_fields is None:
        return names
    return [n for n in names if (n in stage_fields) == placement_stage]


def derive_schema() -> dict[str, Any]:
    """The JSON Schema of an export document, from the dictionary alone (plus ``PLACEMENT_STAGE``)."""
    meta = dictionary()["metadata"]
    defs: dict[str, Any] = {}
    for name, entity in entities().items():
        stage = PLACEMENT_STAGE.get(name, frozenset())
        defs[name] = {
            "type": "object", "description": entity["description"], "additionalProperties": False,
            "properties": {f["name"]: _field_schema(f) for f in entity["fields"]},
            "required": _required(entity, stage, placement_stage=False) if name != "ActualPlacement" else
            _required(entity, None, placement_stage=False),
        }
    at_referral = [n for n in entities() if PLACEMENT_STAGE.get(n, frozenset()) is not None]
    placement_extras = {
        name: {"required": _required(entities()[name], stage, placement_stage=True)}
        for name, stage in PLACEMENT_STAGE.items() if stage is not None}
    defs["Placement"] = {
        "type": "object", "additionalProperties": False,
        "description": "One child's referral for a placement and, once agreed, the placement.",
        "properties": {**{n: {"$ref": f"#/$defs/{n}"} for n in entities()},
                       "extensions": {"type": "object", "description": "Not part of the standard: what a "
                                      "system needs to re-create the referral (ignored by other readers)"}},
        "required": at_referral,
        "if": {"required": ["ActualPlacement"]},
        "then": {"properties": {n: rule for n, rule in placement_extras.items()}},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://rcc.invalid/schemas/placements-data-standard-v2.json",
        "title": f"{meta['title']} {meta['version']} (derived)",
        "description": f"{meta['description']} Derived from the standard's data dictionary by "
                       "scripts/placements_schema.py; do not edit by hand.",
        "x-source": {**SOURCE, "version": meta["version"], "status": meta["status"],
                     "effectiveDate": meta["effectiveDate"],
                     "sha256": hashlib.sha256(dictionary_text().encode("utf-8")).hexdigest()},
        "type": "object", "additionalProperties": False, "required": ["standard", "placements"],
        "properties": {
            "standard": {"type": "object", "required": ["title", "version"], "properties": {
                "title": {"const": meta["title"]}, "version": {"const": meta["version"]},
                "effectiveDate": {"const": meta["effectiveDate"]}, "source": {"type": "object"}}},
            "placements": {"type": "array", "items": {"$ref": "#/$defs/Placement"}},
        },
        "$defs": defs,
    }


def schema_text() -> str:
    return json.dumps(derive_schema(), indent=2, ensure_ascii=False) + "\n"


@cache
def schema() -> dict[str, Any]:
    """The committed schema (``SCHEMA_PATH``)."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def problems(document: Any, limit: int = 200) -> list[tuple[str, str]]:
    """(where, what) for each way ``document`` breaks the schema: where is a path like
    ``placements[2].Risks.riskSelfHarm``."""
    import jsonschema_rs  # noqa: PLC0415 - only importing and checking needs it

    found = []
    for error in jsonschema_rs.validator_for(schema()).iter_errors(document):
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.instance_path)
        found.append((where.lstrip(".") or "(the document)", error.message))
        if len(found) >= limit:
            break
    return found
