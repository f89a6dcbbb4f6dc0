import pytest

from rcc.config import ConfigurationError, load_config
from rcc.geography import (
    Point,
    PostcodeNotFound,
    great_circle_miles,
    local_authority_named,
    locate_postcode,
    normalise_postcode,
)


def test_secret_key_is_required_outside_development(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("RCC_ENV", raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_config(str(tmp_path))
    assert load_config(str(tmp_path), {"RCC_ENV": "development"})["SECRET_KEY"]


def test_database_defaults_to_sqlite_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = load_config(str(tmp_path), {"RCC_ENV": "development"})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'rcc.db'}"
    assert config["REDIS_URL"] in (None, "") or config["REDIS_URL"].startswith("redis")


def test_postcode_is_placed_at_its_sector_else_its_outcode():
    assert locate_postcode("cv12ab") == Point(52.40381, -1.50239)  # sector "CV1 2"
    assert locate_postcode("CV1") != locate_postcode("CV1 2AB")  # outcode centroid differs
    assert normalise_postcode(" le1  6zg ") == "LE1 6ZG"


@pytest.mark.parametrize("text, problem", [("hello", "not a valid UK postcode"),
                                           ("ZZ9 9ZZ", "that we can place"), ("", "not a valid UK postcode")])
def test_unplaceable_postcodes_get_a_clear_message(text, problem):
    with pytest.raises(PostcodeNotFound, match=problem):
        locate_postcode(text)


def test_straight_line_miles_match_a_known_distance():
    london = Point(51.5074, -0.1278)
    manchester = Point(53.4808, -2.2426)
    assert great_circle_miles(london, manchester) == pytest.approx(163.0, abs=1.0)
    assert great_circle_miles(london, london) == 0


def test_local_authorities_carry_codes_and_centroids():
    coventry = local_authority_named("coventry")
    assert (coventry.ons_code, coventry.dfe_code, coventry.region) == ("E08000026", "331", "West Midlands")
