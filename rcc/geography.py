"""Places a postcode on the map and measures straight-line miles.

Postcodes are placed at the centroid of their sector (e.g. "CV1 2"), else of their
outcode (e.g. "CV1"), from Code-Point Open figures shipped in ``reference_data``.
The DfE measures distance from home in straight-line miles, so that is what we give.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REFERENCE_DATA = Path(__file__).parent / "reference_data"
EARTH_RADIUS_KM = 6371.0
KM_PER_MILE = 1.609344

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})?$")


class PostcodeNotFound(ValueError):
    """A postcode that is malformed or that the reference data cannot place."""


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


def great_circle_miles(a: Point, b: Point) -> float:
    """Haversine distance in statute miles on a sphere of radius 6,371 km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h))) / KM_PER_MILE


def normalise_postcode(text: str) -> str:
    """Upper-case with one space before the inward code: " cv12ab " -> "CV1 2AB"."""
    compact = re.sub(r"\s+", "", text or "").upper()
    if len(compact) > 4 and compact[-3].isdigit():
        return f"{compact[:-3]} {compact[-3:]}"
    return compact


def outcode_of(postcode: str) -> str:
    return normalise_postcode(postcode).split(" ")[0]


def sector_of(postcode: str) -> str | None:
    """The sector ("CV1 2") of a full postcode, or None for an outcode alone."""
    parts = normalise_postcode(postcode).split(" ")
    return f"{parts[0]} {parts[1][0]}" if len(parts) == 2 else None


def locate_postcode(postcode: str) -> Point:
    """Centroid of the postcode's sector, else its outcode.

    Accepts a full postcode or an outcode alone. Raises PostcodeNotFound with a
    message fit to show a user.
    """
    normalised = normalise_postcode(postcode)
    if not _POSTCODE.match(normalised):
        raise PostcodeNotFound(f"'{postcode}' is not a valid UK postcode, like CV1 2AB or CV1")
    sector = sector_of(normalised)
    if sector and sector in _sectors():
        return _sectors()[sector]
    outcode = outcode_of(normalised)
    if outcode in _outcodes():
        return _outcodes()[outcode]
    raise PostcodeNotFound(f"'{postcode}' is not a postcode in Great Britain that we can place")


def is_known_outcode(outcode: str) -> bool:
    return outcode.upper() in _outcodes()


def outcode_points() -> dict[str, Point]:
    """Every outcode centroid, keyed by outcode (used by the demo and benchmarks)."""
    return dict(_outcodes())


@cache
def _outcodes() -> dict[str, Point]:
    return _read_points("outcodes.csv", "outcode")


@cache
def _sectors() -> dict[str, Point]:
    return _read_points("postcode_sectors.csv", "sector")


def _read_points(filename: str, key: str) -> dict[str, Point]:
    with open(REFERENCE_DATA / filename, newline="", encoding="utf-8") as f:
        return {
            row[key]: Point(float(row["latitude"]), float(row["longitude"]))
            for row in csv.DictReader(f)
        }


@dataclass(frozen=True)
class LocalAuthority:
    ons_code: str
    dfe_code: str
    name: str
    region: str
    centre: Point


@cache
def local_authorities() -> tuple[LocalAuthority, ...]:
    """The 153 English upper-tier councils with children's services."""
    with open(REFERENCE_DATA / "local_authorities.csv", newline="", encoding="utf-8") as f:
        return tuple(
            LocalAuthority(
                ons_code=row["ons_code"],
                dfe_code=row["dfe_code"],
                name=row["name"],
                region=row["region"],
                centre=Point(float(row["latitude"]), float(row["longitude"])),
            )
            for row in csv.DictReader(f)
        )


def local_authority_named(name: str) -> LocalAuthority | None:
    wanted = name.strip().casefold()
    return next((la for la in local_authorities() if la.name.casefold() == wanted), None)
