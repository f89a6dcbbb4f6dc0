"""Money is read and shown one way (``rcc.numbers.pence`` and ``rcc.numbers.pounds``) on every page.

Issue 19, item 1: cost transparency's app-wide ``pounds`` once replaced commissioning's, so "No
maximum" showed as "–" and £1,234.56 as £1,235 on the referral, home and placement pages.
"""

from __future__ import annotations

from datetime import date

import pytest
from bs4 import BeautifulSoup
from flask import render_template_string

from commissioning.services import referrals, supply
from commissioning.services.placements import record_placement
from rcc import numbers
from rcc.roles import Role
from tests.commissioning.world import child_details, home_details, referral_details
from tests.factories import make_region

SHOWN = [(None, ""), (0, "£0"), (1, "£0.01"), (123456, "£1,234.56"), (123400, "£1,234"), (-2050, "-£20.50"),
         (100_000_000, "£1,000,000")]
SHOWN_WHOLE = [(None, ""), (123456, "£1,235"), (123449, "£1,234"), (4512.5, "£45"), (-2050, "-£21")]
READ = [("", None), ("  ", None), ("4500", 450000), ("£4,500.50", 450050), ("4500.5", 450050), ("0", 0)]
REFUSED = ["abc", "4500.505", "1e3", "١٢", "£", "-", "99999999999"]


@pytest.mark.parametrize(("amount", "text"), SHOWN)
def test_pounds_shows_pence_the_govuk_way(amount, text):
    assert numbers.pounds(amount) == text


@pytest.mark.parametrize(("amount", "text"), SHOWN_WHOLE)
def test_pounds_rounds_half_up_to_whole_pounds_when_asked(amount, text):
    assert numbers.pounds(amount, whole=True) == text


@pytest.mark.parametrize(("typed", "amount"), READ)
def test_pence_reads_what_people_type_and_blank_is_nothing(typed, amount):
    assert numbers.pence(typed) == amount


@pytest.mark.parametrize("typed", REFUSED)
def test_pence_refuses_what_is_not_an_amount(typed):
    with pytest.raises(ValueError, match="must be"):
        numbers.pence(typed)


def test_a_negative_amount_is_read_only_where_the_field_allows_it():
    with pytest.raises(ValueError, match="£0 or more"):
        numbers.pence("-20")
    assert numbers.pence("-20", negative=True) == -2000
    assert numbers.pence("-£20.50", negative=True) == -2050
    assert numbers.pence("£-20.50", negative=True) == -2050
    with pytest.raises(ValueError, match="or less"):
        numbers.pence("200000")


def test_a_form_field_gets_back_what_a_person_would_type():
    assert [numbers.pounds_for_input(a) for a in (None, 450050, 450000, 123456789)] == \
        ["", "4500.50", "4500", "1234567.89"]
    assert numbers.pence(numbers.pounds_for_input(450050)) == 450050


def _one_url_per_blueprint(app) -> dict[str, str]:
    """A URL each blueprint answers, so its own context processors run as they do on its pages."""
    found: dict[str, str] = {}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint and blueprint not in found and "GET" in (rule.methods or ()):
            found[blueprint] = rule.build({name: 1 for name in rule.arguments})[1]
    return found


def test_every_package_renders_each_amount_the_same(app):
    urls = _one_url_per_blueprint(app)
    assert {"commissioning", "matching", "contracts", "cost_transparency"} <= {b.split(".")[0] for b in urls}
    template = "|".join(f"{{{{ pounds({amount!r}) or 'No maximum' }}}}" for amount, _ in SHOWN) + \
        "|" + "|".join(f"{{{{ pounds({amount!r}, whole=True) }}}}" for amount, _ in SHOWN_WHOLE)
    expected = "|".join(text or "No maximum" for _, text in SHOWN) + "|" + "|".join(t for _, t in SHOWN_WHOLE)
    for blueprint, url in urls.items():
        with app.test_request_context(url):
            assert render_template_string(template) == expected, blueprint


@pytest.fixture
def region(app, setup_session):
    return make_region(setup_session, "T", ("Coventry", "Warwickshire"))


def _value(soup: BeautifulSoup, key: str) -> str:
    for row in soup.select(".govuk-summary-list__row"):
        if row.select_one(".govuk-summary-list__key").get_text(strip=True) == key:
            return row.select_one(".govuk-summary-list__value").get_text(strip=True)
    raise AssertionError(f"no row {key!r}")


def test_referral_home_and_placement_pages_show_money_as_commissioning_meant(app, region, setup_session,
                                                                              signed_in_client):
    council = region.councils[0]
    open_ended = referrals.create_referral(setup_session, council, child_details("M-1"), referral_details())
    capped = referrals.create_referral(setup_session, council, child_details("M-2"),
                                       referral_details(max_weekly_cost=123456))
    home = supply.create_home(setup_session, region.provider, home_details("SC9", "Ash House", weekly_price=123456))
    setup_session.flush()
    supply.set_vacancy(setup_session, home, 1, date.today())
    for step in (referrals.submit_referral, referrals.start_matching, referrals.mark_offered,
                 referrals.approve_proposal):
        step(setup_session, capped)
    placement = record_placement(setup_session, capped, home, date.today(), 123456, "spot")
    setup_session.commit()
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])

    def page(url: str) -> BeautifulSoup:
        response = officer.get(url)
        assert response.status_code == 200, url
        return BeautifulSoup(response.get_data(as_text=True), "html.parser")

    assert _value(page(f"/referrals/{open_ended.id}"), "Maximum weekly cost") == "No maximum"
    assert _value(page(f"/referrals/{capped.id}"), "Maximum weekly cost") == "£1,234.56"
    assert _value(page(f"/supply/homes/{home.id}"), "Weekly price") == "£1,234.56"
    assert _value(page(f"/placements/{placement.id}"), "Weekly cost") == "£1,234.56"
