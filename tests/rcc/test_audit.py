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
    assert response.status_code == 200 and "Invitation link created" in response.get_data(as_text=True)
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
    assert page.count("user: signed in") == 1
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
    used = set(re.findall(r"AuditAction\.([A-Z_]+)", text))
    members = {member.name for member in AuditAction}
    assert used - members == set()
    assert members - used == set(), "members no code records: remove them or record them"
