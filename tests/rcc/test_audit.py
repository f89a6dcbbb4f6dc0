"""Creating, changing and reading a record each writes one audit row, in the same transaction."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from rcc import audit, users
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.errors import FieldError
from rcc.models import AuditEvent, User
from rcc.roles import Role
from tests.conftest import sign_in
from tests.factories import make_region


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "A", ("Coventry", "Warwickshire"))


def _events(session, **where):
    query = select(AuditEvent)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return session.scalars(query.order_by(AuditEvent.id)).all()


def test_creating_changing_and_reading_each_write_one_row(app, region, setup_session):
    admin = region.people[Role.COUNCIL_ADMIN]
    client = sign_in(app.test_client(), admin)
    before = len(_events(setup_session))
    response = client.post("/admin/people/invite", data={"name": "New Person", "email": "new.person@example.org",
                                                         "roles": ["council_finance_lead"]})
    assert response.status_code == 200 and "Invitation sent" in response.get_data(as_text=True)
    created = setup_session.scalar(select(User).where(User.email == "new.person@example.org"))
    assert [e.action for e in _events(setup_session, object_id=str(created.id))] == ["user.created", "user.invited"]

    client.post(f"/admin/people/{created.id}/deactivate")
    assert [e.action for e in _events(setup_session, object_id=str(created.id))][-1] == "user.deactivated"
    events = _events(setup_session)
    assert len(events) == before + 3
    change = events[-1]
    assert change.user_id == admin.id and change.organisation_id == admin.organisation_id
    assert change.request_id


def test_a_failed_change_leaves_neither_the_change_nor_its_audit_row(app, region, setup_session):
    rcc = region.rcc
    before = len(_events(setup_session))
    with pytest.raises(FieldError), transaction(setup_session):
        users.add_provider(setup_session, rcc, "Half Written Homes", "private")  # audited, then…
        users.add_provider(setup_session, rcc, "", "private")  # …this one fails
    assert len(_events(setup_session)) == before
    from rcc.models import Organisation

    assert setup_session.scalar(select(Organisation).where(Organisation.name == "Half Written Homes")) is None


def test_reading_a_record_can_be_audited_with_the_reader(region, setup_session):
    reader = region.people[Role.RCC_PLACEMENT_OFFICER]
    audit.set_actor(setup_session, audit.Actor(reader.id, reader.organisation_id, reader.rcc_id, "req-1"))
    with transaction(setup_session):
        audit.record(setup_session, AuditAction.USER_UNLOCKED, reader)
    event = _events(setup_session, action="user.unlocked")[0]
    assert (event.user_id, event.request_id, event.object_id) == (reader.id, "req-1", str(reader.id))


def test_admins_see_their_own_organisations_trail_only(app, region, setup_session):
    other_region = make_region(setup_session, "B", ("Leicester", "Leicestershire"))
    council_officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    other_rcc_admin = other_region.people[Role.RCC_ADMIN]
    for person in (council_officer, other_rcc_admin):
        sign_in(app.test_client(), person)
    admin = region.people[Role.RCC_ADMIN]
    page = sign_in(app.test_client(), admin).get("/admin/audit-trail").get_data(as_text=True)
    assert page.count('<td class="govuk-table__cell">user: signed in</td>') == 1
    assert admin.name in page
    assert council_officer.name not in page and other_rcc_admin.name not in page


# The closed vocabulary -----------------------------------------------------------------------

PROJECT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("rcc", "commissioning", "matching", "contracts", "cost_transparency")


def _source_files():
    for directory in SOURCE_DIRS:
        yield from (path for path in (PROJECT / directory).rglob("*.py") if path.name != "audit.py"
                    or path.parent.name != "rcc")


def test_record_refuses_an_action_outside_the_vocabulary(region, setup_session):
    person = region.people[Role.RCC_ADMIN]
    with pytest.raises(TypeError), transaction(setup_session):
        audit.record(setup_session, "user.viewed", person)  # type: ignore[arg-type]
    with pytest.raises(TypeError), transaction(setup_session):
        audit.record(setup_session, "user.unlocked", person)  # type: ignore[arg-type]  # spelled like a member
    assert _events(setup_session, action="user.viewed") == []


def test_every_call_site_names_a_member_and_every_member_is_used():
    text = "\n".join(path.read_text() for path in _source_files())
    # No call passes a literal or formatted string as the action.
    literal = re.findall(r"audit\.record(?:_read)?\(\s*[\w.]+,\s*f?[\"']", text)
    assert literal == []
    used = set(re.findall(r"AuditAction\.([A-Z][A-Z0-9_]*)", text))
    members = {member.name for member in AuditAction}
    assert used - members == set()
    assert members - used == set(), "members no code records: remove them or record them"


# The trail: filters, pages, export ------------------------------------------------------------

def _trail_world(setup_session, region):
    from datetime import UTC, datetime

    from rcc.models import AuditEvent

    admin = region.people[Role.COUNCIL_ADMIN]
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    officer.name = "=HYPERLINK(\"http://evil\")"
    council = admin.organisation_id
    for number, (who, action, when) in enumerate([
            (officer, "referral.viewed", datetime(2027, 3, 1, 9, tzinfo=UTC)),
            (admin, "referral.viewed", datetime(2027, 3, 2, 9, tzinfo=UTC)),
            (officer, "referral.listed", datetime(2027, 3, 3, 23, 59, tzinfo=UTC)),
            (officer, "user.invited", datetime(2027, 3, 5, 9, tzinfo=UTC))]):
        setup_session.add(AuditEvent(
            occurred_at=when, rcc_id=region.rcc.id, organisation_id=council, user_id=who.id, action=action,
            object_type="referral" if action.startswith("referral") else "user_account",
            object_id=None if action == "referral.listed" else str(40 + number),
            record_ids=",7,41,410," if action == "referral.listed" else None,
            detail={"count": 3, "ids": [7, 41, 410]} if action == "referral.listed" else {}))
    setup_session.commit()
    return admin, officer


def _entries(page: str) -> int:
    return page.count('<td class="govuk-table__cell rcc-nowrap">')  # each entry's time


def test_the_trail_filters_by_person_action_record_and_dates(app, region, setup_session):
    admin, officer = _trail_world(setup_session, region)
    client = sign_in(app.test_client(), admin)
    base = "/admin/audit-trail?record_type=referral"
    assert _entries(client.get(base).get_data(as_text=True)) == 3
    assert _entries(client.get(f"{base}&user_id={officer.id}").get_data(as_text=True)) == 2
    assert _entries(client.get(f"{base}&action=referral.viewed").get_data(as_text=True)) == 2
    # A record's number finds it alone or named in a list read, and not a number that merely contains it.
    page = client.get(f"{base}&record_id=41").get_data(as_text=True)
    assert _entries(page) == 2 and "7, 41, 410" in page
    assert _entries(client.get(f"{base}&record_id=4").get_data(as_text=True)) == 0
    dated = f"{base}&from_day=2&from_month=3&from_year=2027&to_day=3&to_month=3&to_year=2027"
    assert _entries(client.get(dated).get_data(as_text=True)) == 2  # the 3rd counts to its last minute


def test_the_trail_names_a_bad_filter_and_never_fails(app, region, setup_session):
    admin, _officer = _trail_world(setup_session, region)
    client = sign_in(app.test_client(), admin)
    for query, message in [("action=user.deleted_everything", "Select an action from the list"),
                           ("record_type=referral&record_id=abc", "Record number must be a whole number"),
                           ("record_id=41", "Select the kind of record the number belongs to"),
                           ("from_day=31&from_month=2&from_year=2027", "Date from must be a real date"),
                           ("to_day=1&to_month=&to_year=2027", "Date to must include a day, month and year"),
                           ("from_day=3&from_month=3&from_year=2027&to_day=1&to_month=3&to_year=2027",
                            "Date to must be the same as or after date from"),
                           ("user_id=99999999999999999999", "Select a person from the list")]:
        response = client.get(f"/admin/audit-trail?{query}")
        assert response.status_code == 400, query
        assert message in response.get_data(as_text=True), query
    assert client.get("/admin/audit-trail?page=999999999999").status_code == 404  # past any list: rcc.web.page_number
    assert client.get("/admin/audit-trail.csv?action=nonsense").status_code == 400


def test_the_trail_pages_and_exports_what_the_filters_match_as_a_safe_csv(app, region, setup_session):
    from rcc.models import AuditEvent

    admin, officer = _trail_world(setup_session, region)
    for number in range(60):
        setup_session.add(AuditEvent(rcc_id=region.rcc.id, organisation_id=admin.organisation_id, user_id=admin.id,
                                     action="user.unlocked", object_type="user_account", object_id=str(number)))
    setup_session.commit()
    client = sign_in(app.test_client(), admin)
    first = client.get("/admin/audit-trail?action=user.unlocked").get_data(as_text=True)
    assert _entries(first) == 50 and "Page 1 of 2" in first and "action=user.unlocked&amp;page=2" in first
    assert _entries(client.get("/admin/audit-trail?action=user.unlocked&page=2").get_data(as_text=True)) == 10
    exported = client.get(f"/admin/audit-trail.csv?user_id={officer.id}")
    assert exported.mimetype == "text/csv"
    lines = exported.get_data(as_text=True).splitlines()
    assert lines[0].startswith("id,occurred_at,person") and len(lines) == 1 + 3
    assert all("'=HYPERLINK" in line for line in lines[1:])  # formula-safe: the spreadsheet shows it as text
    assert "7 41 410" in exported.get_data(as_text=True)
