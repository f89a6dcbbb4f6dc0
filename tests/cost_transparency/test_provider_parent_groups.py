"""Provider risk by parent group: the RCC links Ofsted legal entities to one group (issue 19 item 13)."""

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from cost_transparency.models import ProviderParentGroup
from cost_transparency.services import provider_groups, provider_risk
from rcc.errors import FieldErrors
from rcc.models import AuditEvent, Organisation
from rcc.roles import Role
from tests.cost_transparency.conftest import TODAY


def _soup(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _providers(session, names):
    return {p.name: p for p in session.scalars(select(Organisation).where(Organisation.name.in_(names)))}


def test_the_risk_report_counts_a_parent_groups_legal_entities_as_one(session, region, costed):
    """`costed` has Group 0, 1 and 2; the RCC says 0 and 1 are the same parent group."""
    before = provider_risk.assess(session, region.rcc.id, TODAY)
    by_name = {g.name: g for g in before.groups}
    group_0, group_1 = by_name["Group 0"], by_name["Group 1"]
    providers = _providers(session, ["Group 0", "Group 1"])
    provider_groups.set_parent_group(session, region.rcc.id, providers["Group 0"].id, "Acme Holdings")
    provider_groups.set_parent_group(session, region.rcc.id, providers["Group 1"].id, "  acme   HOLDINGS ")
    session.flush()
    after = provider_risk.assess(session, region.rcc.id, TODAY)
    names = [g.name for g in after.groups]
    assert "Group 0" not in names and "Group 1" not in names and names.count("Acme Holdings") == 1
    acme = next(g for g in after.groups if g.name == "Acme Holdings")
    assert acme.members == ["Group 0", "Group 1"]
    assert acme.weekly_spend == group_0.weekly_spend + group_1.weekly_spend
    assert acme.placements == group_0.placements + group_1.placements and acme.places == group_0.places + group_1.places
    assert after.spend_hhi > before.spend_hhi  # more concentrated once the group is one
    assert {d.top_group for d in after.dependence} <= {"Acme Holdings", "Group 2"}
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "provider_parent_group.set")).all()

    link = session.scalars(select(ProviderParentGroup).where(
        ProviderParentGroup.provider_id == providers["Group 1"].id)).one()
    provider_groups.remove_parent_group(session, link.id)
    session.flush()
    assert "Group 1" in [g.name for g in provider_risk.assess(session, region.rcc.id, TODAY).groups]


def test_a_parent_group_needs_a_provider_of_the_region_and_a_name(session, region, costed):
    with pytest.raises(FieldErrors) as refused:
        provider_groups.set_parent_group(session, region.rcc.id, region.councils[0].id, " ")
    assert set(refused.value.errors) == {"provider_id", "parent_name"}


def test_the_commissioner_links_providers_on_the_page(signed_in_client, region, costed, setup_session):
    providers = _providers(setup_session, ["Group 0", "Group 2"])
    commissioner = signed_in_client(region.people[Role.RCC_COMMISSIONER])
    empty = commissioner.post("/provider-risk/parent-groups", data={"provider_id": "0", "parent_name": ""})
    assert empty.status_code == 400
    links = {a["href"] for a in _soup(empty).select(".govuk-error-summary a")}
    assert links == {"#provider_id", "#parent_name"}
    for provider in providers.values():
        saved = commissioner.post("/provider-risk/parent-groups",
                                  data={"provider_id": str(provider.id), "parent_name": "Northern Care Group"})
        assert saved.status_code == 302
    page = _soup(commissioner.get("/provider-risk/parent-groups"))
    rows = [[c.get_text(strip=True) for c in r.select("td")][:2] for r in page.select("tbody tr")]
    assert rows == [["Northern Care Group", "Group 0"], ["Northern Care Group", "Group 2"]]
    risk = _soup(commissioner.get("/provider-risk"))
    assert "Northern Care Group" in risk.select_one("table").get_text()
    link = setup_session.scalars(select(ProviderParentGroup).where(
        ProviderParentGroup.provider_id == providers["Group 2"].id)).one()
    taken_out = commissioner.post(f"/provider-risk/parent-groups/{link.id}/remove")
    assert taken_out.status_code == 302
    setup_session.expire_all()
    assert [r.provider_id for r in setup_session.scalars(select(ProviderParentGroup))] == [providers["Group 0"].id]
    # Others in the RCC read the page but cannot change it.
    officer = signed_in_client(region.people[Role.RCC_PLACEMENT_OFFICER])
    assert officer.get("/provider-risk/parent-groups").status_code == 200
    assert officer.post("/provider-risk/parent-groups", data={"provider_id": str(providers["Group 2"].id),
                                                               "parent_name": "X"}).status_code == 403
    council = signed_in_client(region.people[Role.COUNCIL_FINANCE_LEAD])
    assert council.get("/provider-risk/parent-groups").status_code == 403
