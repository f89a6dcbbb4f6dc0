"""Issue 13 items 5, 10 and 11: each attack performed through HTTP, pages and API, and refused."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from rcc.models import AuditEvent, User
from rcc.roles import Role
from tests.conftest import TEST_PASSWORD, sign_in
from tests.factories import make_region

HUGE = str(2**63 + 5)  # more than any integer column, SQLite's included, can hold


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "A", ("Coventry", "Warwickshire"))


def _text(response) -> str:
    return " ".join(BeautifulSoup(response.data, "html.parser").get_text(" ").split())


# Inviting an address another organisation uses ---------------------------------------------

def test_inviting_another_organisations_address_reveals_nothing_and_writes_nothing(app, region, setup_session):
    other = make_region(setup_session, "B", ("Leicester", "Leicestershire"))
    elsewhere = other.people[Role.PROVIDER_MANAGER].email
    own = region.people[Role.COUNCIL_FINANCE_LEAD].email
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN])
    messages = []
    for address in (elsewhere, own):
        response = client.post("/admin/people/invite", data={"name": "Jo Bloggs", "email": address,
                                                              "roles": ["council_finance_lead"]})
        assert response.status_code == 200, "was a 500 naming nothing, which told the admin the address exists"
        summary = BeautifulSoup(response.data, "html.parser").select_one(".govuk-error-summary")
        messages.append(" ".join(summary.get_text(" ").split()))
        assert other.provider.name not in _text(response) and "B RCC" not in _text(response)
    assert messages[0] == messages[1], "an address elsewhere reads exactly like one in your own organisation"
    setup_session.expire_all()
    assert setup_session.scalars(select(User).where(User.email == elsewhere)).one().organisation_id \
        == other.provider.id
    assert setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.invited")).all() == []


# X-Request-Id ---------------------------------------------------------------------------------

@pytest.mark.parametrize("supplied", ["<script>alert(1)</script>", "a" * 41, "id with spaces", "x\u00e9"])
def test_a_clients_bad_request_id_is_replaced_not_stored(app, region, setup_session, supplied):
    person = region.people[Role.PROVIDER_MANAGER]
    app.test_client().post("/sign-in", data={"email": person.email, "password": "wrong-password-here"},
                           headers={"X-Request-Id": supplied})
    event = setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.sign_in_failed")).one()
    assert event.request_id != supplied and len(event.request_id) == 32 and event.request_id.isalnum()


def test_a_clients_plain_request_id_is_kept_for_tracing(app, region, setup_session):
    person = region.people[Role.PROVIDER_MANAGER]
    app.test_client().post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD},
                           headers={"X-Request-Id": "gateway-7f3a.2_b"})
    event = setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.signed_in")).one()
    assert event.request_id == "gateway-7f3a.2_b"


# Out-of-range pages, ids and dates --------------------------------------------------------------

@pytest.mark.parametrize("role, path, status", [
    (Role.RCC_ADMIN, f"/admin/audit-trail?page={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/referrals?page={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/referrals?council_id={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/supply?page={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/supply?provider_id={HUGE}", 404),
    (Role.PROVIDER_MANAGER, f"/your-homes?page={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/sufficiency?council={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/supply/homes/{HUGE}", 404),
    (Role.RCC_COMMISSIONER, "/referrals?page=\u00b2", 200),  # '²' passes str.isdigit but not int()
])
def test_out_of_range_numbers_in_links_are_404_not_500(app, region, role, path, status):
    client = sign_in(app.test_client(), region.people[role])
    assert client.get(path).status_code == status


@pytest.mark.parametrize("role, path", [
    (Role.COUNCIL_FINANCE_LEAD, "/costs?from=0001-01-01&to=9999-12-31"),
    (Role.RCC_COMMISSIONER, "/costs/comparison?from=0001-01-01&to=9999-12-31"),
    (Role.RCC_COMMISSIONER, "/sufficiency?on=0001-01-01"),
])
def test_dates_no_service_can_count_from_are_refused_with_a_message(app, region, role, path):
    client = sign_in(app.test_client(), region.people[role])
    response = client.get(path)
    assert response.status_code == 200
    assert "Enter a date between 1 January 2000 and 31 December 2099" in _text(response)


def test_a_form_posting_a_huge_record_id_is_404_not_500(app, region):
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert client.post(f"/sibling-groups/{HUGE}/add", data={"referral_id": "1"}).status_code == 404
