"""Every page and API response that shows a child's data writes one audit read naming the records,
for every role; and a council's trail shows the RCC's reads of its children.

Routes come from the URL map, as in the tenancy matrix, so a new page that shows a child is checked
without anyone remembering to add it: a response counts as showing a child's data when it carries a
marker from a child, referral, sibling group, placement, proposal or offer (tests/tenancy_world.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from commissioning.models import (
    CareEpisode,
    Child,
    LookedAfterChild,
    Placement,
    Referral,
    ReferralEvent,
    SiblingGroup,
    SsdChild,
)
from cost_transparency.models import CostRecord, HighCostReview
from matching.models import Offer, Proposal
from rcc.models import AuditEvent
from rcc.roles import Role
from rcc.web import scope_for
from tests.conftest import sign_in
from tests.tenancy_world import ID_ARGUMENTS, build_world, markers_of, visible
from tests.test_tenancy_matrix import _client_for, _fill_other_arguments, _may_use, _people

# A cost record and a high-cost review are one child's placement, its costs and why it was flagged.
# The council's SSDA903 cohort and episodes and its SSD extract are children's records without a referral.
CHILD_DATA = (Child, Referral, ReferralEvent, SiblingGroup, Placement, Proposal, Offer, CostRecord, HighCostReview,
              LookedAfterChild, CareEpisode, SsdChild)
WITHOUT_REFERRAL = (LookedAfterChild, CareEpisode, SsdChild)


@pytest.fixture
def world(setup_session):
    return build_world(setup_session)


def _url(rule, rows, user):
    """The rule's URL for records ``user`` may see, and the child-data records it names (None if there are none)."""
    values, named = {}, []
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            candidates = [r for r in rows if isinstance(r, ID_ARGUMENTS[name]) and visible(r, scope_for(user))]
            if not candidates:
                return None, []
            values[name] = candidates[0].id
            if isinstance(candidates[0], CHILD_DATA):
                named.append(candidates[0])
    return rule.build(_fill_other_arguments(rule, values), append_unknown=False)[1], named


def _referrals_of(row, rows) -> set[int]:
    """The referrals a child-data row belongs to: what an audit read must name for it."""
    if isinstance(row, Referral):
        return {row.id}
    if isinstance(row, Child):
        return {r.id for r in rows if isinstance(r, Referral) and r.child_id == row.id}
    if isinstance(row, SiblingGroup):
        return {r.id for r in rows if isinstance(r, Referral) and r.sibling_group_id == row.id}
    if isinstance(row, WITHOUT_REFERRAL):
        return set()  # its read must name the record itself
    if isinstance(row, (CostRecord, HighCostReview)):
        return {p.referral_id for p in rows if isinstance(p, Placement) and p.id == row.placement_id}
    return {row.referral_id}


def _reads_since(session, last_id, user):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.id > last_id, AuditEvent.user_id == user.id)
                                .order_by(AuditEvent.id)))


def _last_id(session) -> int:
    return session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


def test_every_response_showing_a_childs_data_is_audited_once_naming_the_records(app, world, setup_session):
    rows = world.rows(setup_session)
    child_rows = [r for r in rows if isinstance(r, CHILD_DATA)]
    marker_rows = {marker: row for row in child_rows for marker in markers_of(row)}
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods
             and rule.endpoint not in ("static", "auth.sign_out") and not rule.endpoint.endswith(".static")]
    tokens: dict = {}
    audited_routes: set[str] = set()
    for user in _people(world):
        page_client, _ = _client_for(app, user, api=False, tokens=tokens)
        for rule in rules:
            if not _may_use(app, rule, "GET", user):
                continue
            url, records_in_url = _url(rule, rows, user)
            if url is None:
                continue
            api = rule.rule.startswith("/api/")
            client, headers = _client_for(app, user, api=True, tokens=tokens) if api else (page_client, {})
            before = _last_id(setup_session)
            response = client.get(url, headers=headers)
            assert response.status_code < 500, f"GET {url} as {user.roles[0]} failed"
            body = response.get_data().decode("utf-8", "replace")
            shown = {marker: row for marker, row in marker_rows.items() if marker in body}
            if response.status_code == 200:  # a page or API response about a child's record reads it
                shown.update({f"{type(row).__name__} {row.id} in the URL": row for row in records_in_url})
            shown_rows = list(shown.values())
            reads = [e for e in _reads_since(setup_session, before, user) if "count" in (e.detail or {})]
            where = f"GET {url} as {user.roles[0]}"
            if not shown_rows:
                continue
            audited_routes.add(rule.endpoint)
            assert reads, f"{where} shows {sorted(shown)[:3]} but wrote no audit read"
            # One read: one action, one row per council whose children it showed, all in one request.
            assert len({e.action for e in reads}) == 1, f"{where} wrote several reads: {[e.action for e in reads]}"
            councils = [e.subject_organisation_id for e in reads]
            assert len(councils) == len(set(councils)), f"{where} wrote more than one row for a council"
            named = {referral for e in reads for referral in e.detail["referral_ids"]}
            named_records = {(e.object_type, record) for e in reads for record in e.detail["ids"]}
            for marker, row in shown.items():
                covered = (type(row).__tablename__, row.id) in named_records or _referrals_of(row, rows) & named
                assert covered, f"{where} shows {marker} but its read names {sorted(named_records)}"
            for event in reads:
                assert event.detail["count"] == len(event.detail["ids"])
                assert event.record_ids == (f",{','.join(map(str, event.detail['ids']))}," if event.detail["ids"]
                                            else None)
    # The walk really reached the child's pages (pages and API, lists and single records).
    for endpoint in ("commissioning.referrals", "commissioning.export_referrals", "commissioning.referral",
                     "commissioning.edit_referral", "commissioning.sibling_group", "commissioning.placement",
                     "matching.run", "matching.proposal", "matching_offers.offers_list", "matching_offers.offer",
                     "matching_provider.provider_offer", "matching_placements.placements",
                     "cost_transparency.placement_costs", "cost_transparency.edit_record",
                     "cost_transparency.review", "cost_transparency_api.list_cost_records",
                     "cost_transparency_api.get_cost_record", "cost_transparency_api.list_reviews",
                     "commissioning.ssd_extract"):
        assert endpoint in audited_routes, f"the walk never saw a child's data on {endpoint}: {sorted(audited_routes)}"
    assert any("api" in endpoint for endpoint in audited_routes), "the walk never read a child through the API"


def test_a_councils_trail_shows_the_rccs_reads_of_its_children_and_no_other_councils(app, world, setup_session):
    region = world.regions["A"]
    coventry, warwickshire = region.councils
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    sign_in(app.test_client(), officer).get("/referrals")
    reads = list(setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "referral.listed")))
    by_council = {e.subject_organisation_id: e for e in reads}
    assert set(by_council) == {coventry.id, warwickshire.id}
    ours = {r.id for r in setup_session.scalars(select(Referral).where(Referral.council_id == coventry.id))}
    theirs = {r.id for r in setup_session.scalars(select(Referral).where(Referral.council_id == warwickshire.id))}
    assert set(by_council[coventry.id].detail["ids"]) == ours
    assert by_council[coventry.id].organisation_id == region.rcc.id

    admin = region.people[Role.COUNCIL_ADMIN]
    client = sign_in(app.test_client(), admin)
    page = client.get("/admin/audit-trail?action=referral.listed").get_data(as_text=True)
    # Someone at the RCC: by number and organisation, as people are not shared between organisations.
    assert f"Person {officer.id}" in page and region.rcc.name in page and officer.name not in page
    assert ", ".join(map(str, sorted(ours))) in page
    for other in theirs:
        assert f"/{other}" not in page and f" {other}," not in page and f"({other})" not in page
    exported = client.get("/admin/audit-trail.csv?action=referral.listed").get_data(as_text=True)
    assert f"Person {officer.id}" in exported and " ".join(map(str, sorted(ours))) in exported

    api_client, headers = _client_for(app, admin, api=True, tokens={})
    events = api_client.get("/api/v1/audit-events", headers=headers).get_json()
    listed = [e for e in events if e["action"] == "referral.listed" and e["organisation_id"] == region.rcc.id]
    assert [set(e["record_ids"]) for e in listed] == [ours]
    assert all(e["subject_organisation_id"] == coventry.id for e in listed)

    other_admin = region.other_council_people[Role.COUNCIL_ADMIN]
    other_page = sign_in(app.test_client(), other_admin).get("/admin/audit-trail?action=referral.listed")
    assert ", ".join(map(str, sorted(theirs))) in other_page.get_data(as_text=True)


def test_a_read_of_many_childrens_records_costs_one_insert(app, setup_session):
    from sqlalchemy import event

    from tests.factories import make_region
    from tests.matching import builders

    region = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    for number in range(30):
        for council in region.councils:
            builders.add_referral(setup_session, council, f"C{council.id}-{number}")
    setup_session.commit()
    client = sign_in(app.test_client(), region.people[Role.RCC_PLACEMENT_OFFICER])
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT"):
            statements.append(statement)

    engine = app.extensions["rcc_engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/referrals").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    rows = list(setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "referral.listed")))
    assert sorted(e.detail["count"] for e in rows) == [25, 25]  # a page of 50, one row per council
