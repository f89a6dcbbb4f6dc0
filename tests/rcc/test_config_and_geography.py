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


@pytest.mark.parametrize("mode", ["Production", "prod", "staging", "", "production "])
def test_unknown_environments_are_refused_by_name(monkeypatch, tmp_path, mode):
    """Before, anything but exactly 'production' ran without Secure cookies or HSTS."""
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("RCC_ENV", mode)
    with pytest.raises(ConfigurationError, match=f"RCC_ENV is {mode!r}"):
        load_config(str(tmp_path))


@pytest.mark.parametrize("mode", ["production", "development"])
def test_short_secret_keys_are_refused_outside_testing(monkeypatch, tmp_path, mode):
    monkeypatch.setenv("RCC_ENV", mode)
    for short in ("x", "a" * 31):
        monkeypatch.setenv("SECRET_KEY", short)
        with pytest.raises(ConfigurationError, match=f"SECRET_KEY is {len(short)} characters long"):
            load_config(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "a" * 32)
    assert load_config(str(tmp_path))["SECRET_KEY"] == "a" * 32


def test_testing_never_runs_on_a_published_key(monkeypatch, tmp_path):
    from rcc.config import DEVELOPMENT_SECRET_KEY

    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_config(str(tmp_path), {"RCC_ENV": "testing"})["SECRET_KEY"]
    second = load_config(str(tmp_path), {"RCC_ENV": "testing"})["SECRET_KEY"]
    assert first != second and DEVELOPMENT_SECRET_KEY not in (first, second) and len(first) >= 32


def test_production_always_sends_secure_cookies_and_hsts(database_url):
    from rcc.app import create_app

    app = create_app({"RCC_ENV": "production", "SECRET_KEY": "s" * 40, "DATABASE_URL": database_url,
                      "SESSION_COOKIE_SECURE": False, "RCC_TOTP_KEY": "A" * 43 + "="})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
        response = app.test_client().get("/sign-in", base_url="https://localhost")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        app.extensions["rcc_engine"].dispose()


def test_database_defaults_to_sqlite_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = load_config(str(tmp_path), {"RCC_ENV": "development"})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'rcc.db'}"
    assert config["REDIS_URL"] in (None, "") or config["REDIS_URL"].startswith("redis")


def test_postcode_is_placed_at_its_own_centroid_else_its_outcode():
    assert locate_postcode("cv12ab") == Point(52.403317, -1.499704)  # CV1 2AB in the ONS Postcode Directory
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
