"""Entering an existing block contract: the provider first, then only that provider's homes."""

from bs4 import BeautifulSoup
from sqlalchemy import select

from contracts.models import BlockContract
from rcc import users
from rcc.roles import Role
from tests.contracts.helpers import make_home
from tests.factories import make_region


def page(response):
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def place_inputs(soup):
    return {tag["name"] for tag in soup.select("input[name^=places_]")}


def test_the_form_shows_only_the_chosen_providers_homes_not_every_home_in_the_region(app, setup_session,
                                                                                     signed_in_client):
    """Issue 19 item 13: "Enter an existing contract" had one field for every home in the region (695)."""
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    other = users.add_provider(setup_session, region.rcc, "Other Care Ltd", "private")
    setup_session.flush()
    oak, elm = make_home(setup_session, region.provider, "Oak House"), make_home(setup_session, region.provider, "Elm")
    others = [make_home(setup_session, other, f"Other home {n}", urn=f"SC-O{n}") for n in range(5)]
    setup_session.commit()
    commissioner = signed_in_client(region.people[Role.RCC_COMMISSIONER])

    first = page(commissioner.get("/contracts/new"))
    assert place_inputs(first) == set() and first.select_one("select#provider_id") is not None
    unchosen = page(commissioner.get("/contracts/new?provider_id="))
    assert unchosen.select_one(".govuk-error-summary a")["href"] == "#provider_id"

    form = page(commissioner.get(f"/contracts/new?provider_id={region.provider.id}"))
    assert place_inputs(form) == {f"places_{oak.id}", f"places_{elm.id}"}
    assert not place_inputs(form) & {f"places_{h.id}" for h in others}

    saved = commissioner.post(f"/contracts/new?provider_id={region.provider.id}", data={
        "provider_id": str(region.provider.id), "reference": "BC-9", "title": "Two places at Oak House",
        "placement_type": "childrens_home", "start_date": "1/4/2027", "end_date": "31/3/2029",
        "weekly_price": "5000", "annual_uplift": "0", f"places_{oak.id}": "2",
        f"share_{region.councils[0].id}": "100"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:3000]
    contract = setup_session.scalars(select(BlockContract).where(BlockContract.reference == "BC-9")).one()
    assert contract.provider_id == region.provider.id
