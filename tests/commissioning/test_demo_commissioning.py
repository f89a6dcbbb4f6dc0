from __future__ import annotations

import re
from collections import Counter

from bs4 import BeautifulSoup
from sqlalchemy import select

from commissioning.models import Child, FosterHousehold, Home, InHousePreference, Referral, Vacancy
from rcc.geography import locate
from rcc.models import User
from tests.conftest import sign_in


def test_the_demo_region_loads_a_realistic_mix_and_the_dashboard_renders_it(app, setup_session, demo_region):
    region = demo_region
    # Other packages' demo steps add referrals of their own; ours are the DEMO-<council>-<number> children.
    referrals = [r for r, c in setup_session.execute(select(Referral, Child).join(Child, Child.id == Referral.child_id))
                 if re.fullmatch(r"DEMO-\d{2}-\d{4}", c.reference)]
    assert len(referrals) == 200
    types = Counter(r.placement_type for r in referrals)
    assert types.most_common(1)[0][0] == "foster_care"
    in_groups = sum(1 for r in referrals if r.sibling_group_id)
    assert 0.2 <= in_groups / len(referrals) <= 0.4
    assert Counter(r.status for r in referrals).most_common(1)[0][0] == "submitted"
    manager = next(p for p in region.people if p.roles == ["provider_manager"])
    assert setup_session.scalars(select(Home).where(Home.provider_id == manager.organisation_id)).first()
    assert setup_session.scalars(select(Vacancy)).first()
    assert all(h.weekly_price for h in setup_session.scalars(select(Home)))
    # Real postcodes from the ONS Postcode Directory for every home and child, and foster households.
    precisions = Counter(h.location_precision for h in setup_session.scalars(select(Home)))
    assert "local_authority" not in precisions and precisions["postcode"] >= 0.9 * sum(precisions.values())
    children = setup_session.scalars(select(Child).where(Child.reference.like("DEMO-%"))).all()
    assert all(locate(c.home_postcode).precision == "postcode" for c in children[:50])
    households = setup_session.scalars(select(FosterHousehold)).all()
    owners = {h.owner_id for h in households}
    assert {c.id for c in region.councils} <= owners and owners - {c.id for c in region.councils}
    assert sum(1 for h in households if h.status == "approved" and h.places_free > 0) >= 100
    assert {p.council_id for p in setup_session.scalars(select(InHousePreference))} == {c.id for c in region.councils}

    rcc_officer = next(p for p in region.people if p.roles == ["rcc_placement_officer"])
    rcc_officer = setup_session.get(User, rcc_officer.id)
    client = sign_in(app.test_client(), rcc_officer, password="correct-horse-battery-2026")
    dashboard = BeautifulSoup(client.get("/region").get_data(as_text=True), "html.parser")
    shown = int(re.match(r"(\d+) open referrals", dashboard.select_one(".govuk-body-l").get_text()).group(1))
    assert shown >= sum(1 for r in referrals if r.status != "draft")
    assert dashboard.select("svg[role=img] title")
    assert client.get("/supply?page=2").status_code == 200



def test_the_demo_councils_have_a_903_history_that_exports(app, setup_session, demo_region):
    from datetime import date  # noqa: PLC0415

    from sqlalchemy import func  # noqa: PLC0415

    from commissioning.models import LookedAfterChild  # noqa: PLC0415
    from commissioning.services import ssda903  # noqa: PLC0415

    council = demo_region.councils[0]
    assert setup_session.scalar(select(func.count()).select_from(LookedAfterChild)
                                .where(LookedAfterChild.council_id == council.id)) > 100
    last = ssda903.collection_year(date.today()) - 1
    years = [year for year, episodes, _ in ssda903.years_held(setup_session, council) if episodes]
    assert {last - 2, last - 1, last} <= set(years)
    assert len(ssda903.export_rows(setup_session, council, last)) > 50
