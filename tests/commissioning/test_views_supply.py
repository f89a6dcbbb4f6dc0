from __future__ import annotations

import io
from datetime import date, timedelta

from bs4 import BeautifulSoup
from sqlalchemy import select

from commissioning.models import Home, Vacancy
from commissioning.services import supply
from rcc.models import utcnow
from rcc.roles import Role
from tests.commissioning.world import home_details


def page(response):
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def make_home(setup_session, region, urn="SC1", name="Ash House", confirmed_days_ago=0):
    home = supply.create_home(setup_session, region.provider, home_details(urn, name))
    setup_session.flush()
    vacancy = supply.set_vacancy(setup_session, home, 1, date.today())
    vacancy.last_confirmed_at = utcnow() - timedelta(days=confirmed_days_ago)
    setup_session.commit()
    return home, vacancy


def test_a_provider_adds_a_home_then_sets_and_confirms_its_vacancy(app, region, setup_session, signed_in_client):
    provider = signed_in_client(region.people[Role.PROVIDER_MANAGER])
    errors = page(provider.post("/supply/homes/new", data={"name": "Elm"}))
    assert errors.select_one(".govuk-error-summary a[href='#ofsted_urn']")
    response = provider.post("/supply/homes/new", data={
        "ofsted_urn": "SC777", "name": "Elm House", "placement_type": "childrens_home", "local_authority": "Coventry",
        "registered_places": "3", "age_min": "11", "age_max": "17", "sexes": ["F", "M"], "max_sibling_group": "2",
        "weekly_price": "4,750.50", "active": "y"})
    assert response.status_code == 302
    home = setup_session.scalars(select(Home).where(Home.ofsted_urn == "SC777")).one()
    assert home.weekly_price == 475050 and home.location_precision == "local_authority"
    too_many = page(provider.post(f"/supply/homes/{home.id}/vacancy", data={"places_free": "4", "available_from": "1/1/2030"}))
    assert "more than the home's 3 registered places" in too_many.select_one(".govuk-error-summary").get_text()
    provider.post(f"/supply/homes/{home.id}/vacancy", data={"places_free": "2", "available_from": "1/1/2030"})
    vacancy = setup_session.scalars(select(Vacancy).where(Vacancy.home_id == home.id)).one()
    vacancy.last_confirmed_at = utcnow() - timedelta(days=10)
    setup_session.commit()
    listing = page(provider.get("/your-homes"))
    assert "Stale" in listing.select_one("tbody").get_text()
    provider.post(f"/supply/vacancies/{vacancy.id}/confirm")
    assert "Stale" not in page(provider.get("/your-homes")).select_one("tbody").get_text()


def test_stale_vacancies_are_tagged_in_the_register_and_the_home_page(app, region, setup_session, signed_in_client):
    home, _ = make_home(setup_session, region, confirmed_days_ago=8)
    make_home(setup_session, region, "SC2", "Fresh House")
    council = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    rows = {tr.select_one("a").get_text(): tr.get_text() for tr in page(council.get("/supply")).select("tbody tr")}
    assert "Stale" in rows["Ash House"] and "Stale" not in rows["Fresh House"]
    assert "Stale" in page(council.get(f"/supply/homes/{home.id}")).get_text()
    stale_only = page(council.get("/supply?stale=yes")).select("tbody tr")
    assert len(stale_only) == 1


def test_a_provider_cannot_change_another_providers_home(app, region, setup_session, signed_in_client):
    from rcc import users

    other = users.add_provider(setup_session, region.rcc, "Other Ltd", "private")
    setup_session.flush()
    home = supply.create_home(setup_session, other, home_details("SC3", "Not Yours"))
    setup_session.commit()
    provider = signed_in_client(region.people[Role.PROVIDER_MANAGER])
    assert provider.get(f"/supply/homes/{home.id}").status_code == 404
    assert provider.post(f"/supply/homes/{home.id}/edit", data={}).status_code == 404


def test_the_rcc_runs_the_ofsted_import_from_a_page(app, region, setup_session, signed_in_client):
    commissioner = signed_in_client(region.people[Role.RCC_COMMISSIONER])
    result = page(commissioner.post("/supply/import-ofsted", data={}, content_type="multipart/form-data"))
    rows = {dt.get_text(strip=True): dd.get_text(strip=True) for dt, dd in
            zip(result.select(".govuk-summary-list__key"), result.select(".govuk-summary-list__value"), strict=True)}
    assert rows["Rows read"] == "3576" and int(rows["Homes created"]) > 0
    bad = page(commissioner.post("/supply/import-ofsted", data={"file": (io.BytesIO(b"\xff\xfe"), "x.csv")},
                                 content_type="multipart/form-data"))
    assert "not UTF-8" in bad.select_one(".govuk-error-summary").get_text()
    assert signed_in_client(region.people[Role.COUNCIL_ADMIN]).get("/supply/import-ofsted").status_code == 403


def test_a_homes_postcode_is_shown_to_its_provider_and_the_rcc_but_not_to_a_council(
        app, region, setup_session, signed_in_client):
    home, _ = make_home(setup_session, region)
    for role, shown in ((Role.PROVIDER_MANAGER, True), (Role.RCC_PLACEMENT_OFFICER, True),
                        (Role.COUNCIL_PLACEMENT_OFFICER, False)):
        text = page(signed_in_client(region.people[role]).get(f"/supply/homes/{home.id}")).get_text()
        assert ("CV1 2AB" in text) is shown, role
        assert "Ash House" in text
