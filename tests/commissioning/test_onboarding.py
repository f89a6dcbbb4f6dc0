"""Providers join an RCC from the Ofsted register: added by the RCC admin, or asking by their URN."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from commissioning import onboarding
from commissioning.models import JOIN_APPROVED, JOIN_PENDING, ProviderJoinRequest
from rcc.models import AuditEvent, Organisation, User
from rcc.roles import Role
from tests.concurrency.harness import REFUSED, WON, Attempt, race
from tests.conftest import sign_in
from tests.factories import make_region, make_user
from tests.rcc.outbox import emails_to, link_sent_to

URN = "1155775"  # a Cambian Childcare Limited children's home in Manchester (Ofsted 2022)


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "A", ("Coventry", "Warwickshire"))


def _providers(session, name: str) -> list[Organisation]:
    session.expire_all()
    found = list(session.scalars(select(Organisation).where(Organisation.name == name)))
    session.commit()
    return found


def test_the_register_is_searched_by_urn_or_name():
    [entry] = onboarding.search_register(URN)
    assert (entry.provider, entry.local_authority) == ("Cambian Childcare Limited", "Manchester")
    by_name = onboarding.search_register("cambian childcare")
    assert by_name and all("Cambian" in e.provider for e in by_name)
    assert onboarding.search_register("ab") == []


def test_rcc_admin_adds_a_provider_from_the_register_once_and_invites_its_manager(app, region, setup_session):
    client = sign_in(app.test_client(), region.people[Role.RCC_ADMIN])
    assert "Cambian Childcare Limited" in client.get(f"/admin/organisations/add-provider?q={URN}").get_data(as_text=True)
    assert client.post("/admin/organisations/add-provider", data={"urn": "99999999"}).status_code == 400
    added = client.post("/admin/organisations/add-provider", data={"urn": URN})
    assert added.status_code == 302
    again = client.post("/admin/organisations/add-provider", data={"urn": "1156098"})  # another of its homes
    assert again.headers["Location"] == added.headers["Location"]
    [provider] = _providers(setup_session, "Cambian Childcare Limited")
    assert (provider.kind, provider.rcc_id, provider.provider_sector) == ("provider", region.rcc.id, "private")
    client.post(f"/admin/organisations/{provider.id}/invite-admin",
                data={"admin_name": "Cam Manager", "admin_email": "cam@example.org"})
    assert link_sent_to(setup_session, "cam@example.org", "invitation").startswith("/invite/")
    manager = setup_session.scalars(select(User).where(User.email == "cam@example.org")).one()
    assert (manager.organisation_id, manager.roles) == (provider.id, ["provider_manager"])
    setup_session.commit()


def test_asking_to_join_answers_the_same_whether_or_not_the_urn_is_on_the_register(app, region, setup_session):
    form = f"/join?rcc={region.rcc.id}"
    assert app.test_client().get(form).status_code == 200
    assert app.test_client().get("/join?rcc=99999").status_code in (200, 404)
    on = app.test_client().post(form, data={"urn": URN, "name": "Asha Requester", "email": "asha@example.org"})
    off = app.test_client().post(form, data={"urn": "7654321", "name": "Asha Requester", "email": "asha@example.org"})
    assert on.status_code == off.status_code == 200
    assert on.get_data(as_text=True) == off.get_data(as_text=True)
    bad = app.test_client().post(form, data={"urn": "no such!", "name": "N", "email": "x@example.org"})
    assert bad.status_code == 400 and "letters and numbers only" in bad.get_data(as_text=True)
    setup_session.expire_all()
    requests = setup_session.scalars(select(ProviderJoinRequest).order_by(ProviderJoinRequest.id)).all()
    assert [(r.ofsted_urn, r.provider_name, r.status) for r in requests] == [
        (URN, "Cambian Childcare Limited", JOIN_PENDING), ("7654321", None, JOIN_PENDING)]
    # The RCC's admins are told; nobody else is.
    admin = region.people[Role.RCC_ADMIN]
    assert len(emails_to(setup_session, admin.email, "join_request_received")) == 2
    assert emails_to(setup_session, region.people[Role.RCC_COMMISSIONER].email, "join_request_received") == []


def test_asking_to_join_is_throttled_like_sign_in(app, region):
    client = app.test_client()
    answers = [client.post(f"/join?rcc={region.rcc.id}", data={"urn": "1", "name": "N", "email": f"n{i}@example.org"})
               for i in range(6)]
    assert "Try again in" in answers[-1].get_data(as_text=True)
    assert "Try again in" not in answers[0].get_data(as_text=True)


def test_approving_makes_the_organisation_and_invites_the_requester(app, region, setup_session):
    app.test_client().post(f"/join?rcc={region.rcc.id}",
                           data={"urn": URN, "name": "Asha Requester", "email": "asha@example.org"})
    setup_session.expire_all()
    request = setup_session.scalars(select(ProviderJoinRequest)).one()
    setup_session.commit()
    client = sign_in(app.test_client(), region.people[Role.RCC_ADMIN])
    assert "Asha Requester" in client.get("/admin/organisations").get_data(as_text=True)
    assert client.post(f"/admin/join-requests/{request.id}/approve").status_code == 302
    [provider] = _providers(setup_session, "Cambian Childcare Limited")
    path = link_sent_to(setup_session, "asha@example.org", "invitation")
    assert path.startswith("/invite/")
    setup_session.expire_all()
    request = setup_session.get(ProviderJoinRequest, request.id)
    assert (request.status, request.organisation_id) == (JOIN_APPROVED, provider.id)
    again = client.post(f"/admin/join-requests/{request.id}/refuse", follow_redirects=True)
    assert "already been approved" in again.get_data(as_text=True)
    actions = [e.action for e in setup_session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "provider_join_request").order_by(AuditEvent.id))]
    assert actions == ["provider_join_request.created", "provider_join_request.approved"]
    setup_session.commit()


def test_refusing_invites_nobody(app, region, setup_session):
    app.test_client().post(f"/join?rcc={region.rcc.id}", data={"urn": URN, "name": "R", "email": "r@example.org"})
    setup_session.expire_all()
    request = setup_session.scalars(select(ProviderJoinRequest)).one()
    setup_session.commit()
    client = sign_in(app.test_client(), region.people[Role.RCC_ADMIN])
    client.post(f"/admin/join-requests/{request.id}/refuse")
    assert emails_to(setup_session, "r@example.org") == []
    assert _providers(setup_session, "Cambian Childcare Limited") == []


def test_only_the_rcc_admin_decides(app, region, setup_session):
    app.test_client().post(f"/join?rcc={region.rcc.id}", data={"urn": URN, "name": "R", "email": "r@example.org"})
    setup_session.expire_all()
    request_id = setup_session.scalars(select(ProviderJoinRequest.id)).one()
    setup_session.commit()
    for role in (Role.RCC_COMMISSIONER, Role.COUNCIL_ADMIN, Role.PROVIDER_MANAGER):
        client = sign_in(app.test_client(), region.people[role])
        assert client.post(f"/admin/join-requests/{request_id}/approve").status_code == 403


def test_two_admins_approving_one_request_at_once_approve_it_once(app, region, setup_session, is_postgres):
    second = make_user(setup_session, region.rcc, Role.RCC_ADMIN, "A-second-rcc-admin")
    setup_session.commit()
    admins = [region.people[Role.RCC_ADMIN], second]
    tries = 10 if is_postgres else 3
    # A provider new to the platform each time: one already there refuses strangers (the test below).
    owners: dict[str, onboarding.RegisterEntry] = {}
    for entry in onboarding._register().values():
        if entry.provider and entry.provider not in owners:
            owners[entry.provider] = entry
    entries = list(owners.values())[:tries]
    for attempt, entry in enumerate(entries):
        request = ProviderJoinRequest(rcc_id=region.rcc.id, ofsted_urn=entry.urn, provider_name=entry.provider,
                                      requester_name=f"R{attempt}", requester_email=f"r{attempt}@example.org")
        setup_session.add(request)
        setup_session.commit()

        def load(session, request_id=request.id):
            return session.get(ProviderJoinRequest, request_id)

        outcomes = race(app, [Attempt(admin, load, lambda s, r, admin=admin: onboarding.approve(
            s, r, s.get(User, admin.id), lambda token: f"http://localhost/invite/{token}")) for admin in admins])
        assert sorted(outcomes) == [REFUSED, WON], outcomes
        assert len(emails_to(setup_session, f"r{attempt}@example.org", "invitation")) == 1
    setup_session.expire_all()
    assert len(setup_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "provider_join_request.approved")).all()) == tries
    assert len({r.organisation_id for r in setup_session.scalars(select(ProviderJoinRequest))}) == tries


def test_a_stranger_who_gives_the_urn_of_a_provider_already_on_the_platform_is_not_made_its_manager(
        app, region, setup_session):
    """An Ofsted URN is public: approving a request for a provider that already has people would hand its
    offers, referral packs and documents to whoever typed the URN. The approval is refused; nobody is invited."""
    from rcc import users  # noqa: PLC0415

    admin = sign_in(app.test_client(), region.people[Role.RCC_ADMIN])
    assert admin.post("/admin/organisations/add-provider", data={"urn": URN}).status_code == 302
    [provider] = _providers(setup_session, "Cambian Childcare Limited")
    users.create_user(setup_session, provider, "real.manager@cambian.example.org", "Real Manager",
                      [Role.PROVIDER_MANAGER.value], password="a-long-test-password-1")
    setup_session.commit()
    app.test_client().post(f"/join?rcc={region.rcc.id}",
                           data={"urn": URN, "name": "Mallory", "email": "mallory@example.org"})
    request = setup_session.scalars(select(ProviderJoinRequest)).one()
    setup_session.commit()
    answer = admin.post(f"/admin/join-requests/{request.id}/approve", follow_redirects=True)
    assert "already has people" in answer.get_data(as_text=True)
    setup_session.expire_all()
    assert setup_session.get(ProviderJoinRequest, request.id).status == "pending"
    assert not setup_session.scalars(select(User).where(User.email == "mallory@example.org")).first()
