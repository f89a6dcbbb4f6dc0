"""SSDA903 code lists (the DfE children looked after return), read from the shipped reference data."""

from __future__ import annotations

import csv
from functools import cache

from rcc.geography import REFERENCE_DATA

CURRENT_YEAR = 2026  # DfE reporting year ending 31 March; codes retired before it are not offered


@cache
def codes(field: str) -> dict[str, str]:
    """Code -> description for one SSDA903 field, current codes only."""
    found: dict[str, str] = {}
    with open(REFERENCE_DATA / "ssda903_codes.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            retired = row["valid_to_year"] and int(row["valid_to_year"]) < CURRENT_YEAR
            if row["field"] == field and not retired:
                found[row["code"]] = row["description"]
    return found


@cache
def codes_in_year(field: str, year: int) -> frozenset[str]:
    """The codes of one SSDA903 field that were valid in the collection year ending 31 March ``year``."""
    found: set[str] = set()
    with open(REFERENCE_DATA / "ssda903_codes.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["field"] != field:
                continue
            if row["valid_from_year"] and int(row["valid_from_year"]) > year:
                continue
            if row["valid_to_year"] and int(row["valid_to_year"]) < year:
                continue
            found.add(row["code"])
    return frozenset(found)


def legal_statuses() -> dict[str, str]:
    return codes("legal_status")


def categories_of_need() -> dict[str, str]:
    return codes("category_of_need")


def placement_end_reasons() -> dict[str, str]:
    """Why a placement ended: the SSDA903 reason for placement change."""
    return codes("reason_for_placement_change")
