"""The what-if pages: an RCC commissioner runs a scenario (a background job, inline in tests) and
sees it beside the baseline, audited; a council's finance lead reads it with their council's share;
bad input is a 400 naming the field; a provider cannot reach it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from commissioning.models import Child, Referral
from cost_transparency.models import WhatifRun
from rcc.models import AuditEvent
from rcc.roles import Role
from tests.conftest import TEST_PASSWORD, sign_in
from tests.cost_transparency.conftest import TODAY, add_home, add_provider


@pytest.fixture
def world(session, region):
    provider = add_provider(session, region, "Whatif Homes")
    for _ in range(3):
        add_home(session, region, provider, local_authority="Coventry", places=2)
    coventry = region.councils[0]
    for index in range(6):
        child = Child(rcc_id=region.rcc.id, council_id=coventry.id, reference=f"WI-{index:03d}", birth_month=1,
                      birth_year=TODAY.year - 13, sex="F", legal_status="C2", category_of_need="N1",
                      home_postcode="CV1 2AB", home_latitude=52.41, home_longitude=-1.51)
        session.add(child)
        session.flush()
        session.add(Referral(rcc_id=region.rcc.id, council_id=coventry.id, child_id=child.id,
                             placement_type="childrens_home", urgency="planned", date_needed=TODAY, status="placed",
                             submitted_at=datetime.now(UTC) - timedelta(days=60 + 30 * index)))
    session.commit()
    return region


def _client(app, user):
    return sign_in(app.test_client(), user, TEST_PASSWORD)


def _page(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


GOOD = {"name": "Two more in Coventry", "placement_type": "childrens_home", "area": "Coventry", "places": "2",
        "from_month": "0", "weekly_cost": "", "seed": "5"}


def test_a_commissioner_runs_a_scenario_and_sees_it_beside_the_baseline(app, world, setup_session):
    client = _client(app, world.people[Role.RCC_COMMISSIONER])
    form = client.get("/sufficiency/what-if")
    assert form.status_code == 200
    started = client.post("/sufficiency/what-if", data={**GOOD, "start": _page(form).select_one(
        "input[name=start]")["value"]})
    assert started.status_code == 302, started.get_data(as_text=True)[:2000]
    page = _page(client.get(started.headers["Location"]))
    assert page.find("h1").get_text(strip=True) == "Two more in Coventry"
    rows = {r.find("th").get_text(strip=True): [c.get_text(strip=True) for c in r.find_all("td")]
            for r in page.select("#totals tbody tr")}
    assert set(rows) >= {"Children placed", "Placed within 20 miles of home", "Children left without a place"}
    assert len(page.select("#months tbody tr")) == 12
    run = setup_session.scalars(select(WhatifRun)).one()
    assert run.status == "done" and run.result["scenario"]["seed"] == 5
    actions = set(setup_session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "whatif_run", AuditEvent.object_id == str(run.id))))
    assert {"whatif_run.started", "whatif_run.finished"} <= actions

    finance = _client(app, world.people[Role.COUNCIL_FINANCE_LEAD])
    read = finance.get(started.headers["Location"])
    assert read.status_code == 200
    assert _page(read).select_one("#council-share") is not None
    listing = finance.get("/sufficiency/what-if")
    assert listing.status_code == 200 and _page(listing).select_one("main form[method=post]") is None
    assert finance.post("/sufficiency/what-if", data=GOOD).status_code in (403, 404)

    provider = _client(app, world.people[Role.PROVIDER_MANAGER])
    assert provider.get(started.headers["Location"]).status_code in (403, 404)


@pytest.mark.parametrize(("change", "field"), [
    ({"places": "-3"}, "places"), ({"places": "two"}, "places"), ({"places": "0"}, "places"),
    ({"placement_type": "castle"}, "placement_type"), ({"area": "Atlantis"}, "area"),
    ({"from_month": "99"}, "from_month"), ({"seed": "-1"}, "seed"), ({"weekly_cost": "-5"}, "weekly_cost"),
    ({"name": ""}, "name"), ({"start": "1999-01-01"}, "start"),
])
def test_bad_input_is_a_400_naming_the_field(app, world, setup_session, change, field):
    client = _client(app, world.people[Role.RCC_COMMISSIONER])
    start = _page(client.get("/sufficiency/what-if")).select_one("input[name=start]")["value"]
    refused = client.post("/sufficiency/what-if", data={**GOOD, "start": start, **change})
    assert refused.status_code == 400
    links = [a["href"] for a in _page(refused).select(".govuk-error-summary a")]
    assert f"#{field}" in links
    assert setup_session.scalars(select(WhatifRun)).first() is None
