"""Notifications: one row per person in the action's transaction, emails after commit, tenancy,
choices, and GOV.UK Notify spoken to through its own client against a local stub of its API."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from rcc import notifications, users
from rcc.audit import Actor, set_actor
from rcc.db import transaction
from rcc.errors import NotFound
from rcc.models import Organisation, User
from rcc.notification_models import EMAIL_FAILED, EMAIL_OFF, EMAIL_SENT, Notification
from rcc.notifications import Event, To
from rcc.roles import Role
from rcc.tenancy import TenantScope, set_scope
from rcc.web import scope_for
from tests.factories import make_region, make_user


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "N", ("Coventry", "Warwickshire"))


@pytest.fixture
def no_retry_wait(monkeypatch):
    monkeypatch.setenv("NOTIFY_RETRY_SECONDS", "0,0")
    monkeypatch.delenv("NOTIFY_API_KEY", raising=False)


def session_as(app, user: User):
    session = app.extensions["rcc_sessions"]()
    set_scope(session, scope_for(user))
    set_actor(session, Actor(user.id, user.organisation_id, user.rcc_id, "test"))
    return session


def all_notifications(setup_session) -> list[Notification]:
    setup_session.expire_all()
    return list(setup_session.scalars(select(Notification).order_by(Notification.id)))


def offer_values() -> dict[str, str]:
    return {"home": "Elm House", "respond_by": "14:00 on 8 December 2026"}


def test_a_provider_is_told_and_the_outbox_sends_after_commit(app, region, setup_session, no_retry_wait):
    manager = region.people[Role.PROVIDER_MANAGER]
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    with app.app_context(), session_as(app, officer) as session, transaction(session):
        made = notifications.notify(session, Event.OFFER_SENT, region.rcc.id,
                                    [To(region.provider.id, (Role.PROVIDER_MANAGER,))], offer_values(),
                                    about="offer:1", link="/offers/1")
        assert [n.email_status for n in made] == ["queued"]  # not sent before the commit
    rows = all_notifications(setup_session)
    assert [(n.user_id, n.event, n.email_status, n.email_backend) for n in rows] == [
        (manager.id, "offer_sent", EMAIL_SENT, "outbox")]
    assert rows[0].to_email == manager.email
    assert rows[0].title == "A child is offered to Elm House"
    assert "Answer by 14:00 on 8 December 2026" in rows[0].body


def test_a_rolled_back_action_tells_nobody(app, region, setup_session, no_retry_wait):
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    with app.app_context(), session_as(app, officer) as session, pytest.raises(RuntimeError), \
            transaction(session):
        notifications.notify(session, Event.OFFER_SENT, region.rcc.id,
                             [To(region.provider.id, (Role.PROVIDER_MANAGER,))], offer_values(), about="offer:1")
        raise RuntimeError("the action failed")
    assert all_notifications(setup_session) == []


def test_the_same_occurrence_is_told_once(app, region, setup_session, no_retry_wait):
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    for _ in range(2):
        with app.app_context(), session_as(app, officer) as session, transaction(session):
            notifications.notify(session, Event.OFFER_SENT, region.rcc.id,
                                 [To(region.provider.id, (Role.PROVIDER_MANAGER,))], offer_values(), about="offer:1")
    assert len(all_notifications(setup_session)) == 1


def test_recipients_only_in_the_organisation_and_role_named(app, region, setup_session, no_retry_wait):
    other_provider = users.add_provider(setup_session, region.rcc, "Other Homes Ltd", "private")
    setup_session.flush()
    other_manager = make_user(setup_session, other_provider, Role.PROVIDER_MANAGER, "other-manager")
    setup_session.commit()
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    with app.app_context(), session_as(app, officer) as session, transaction(session):
        notifications.notify(session, Event.PROPOSAL_TO_APPROVE, region.rcc.id,
                             [To(region.councils[0].id, (Role.COUNCIL_PLACEMENT_OFFICER,))],
                             {"home": "Elm House", "referral": "COV-1"}, about="offer:1")
        notifications.notify(session, Event.OFFER_SENT, region.rcc.id,
                             [To(region.provider.id, (Role.PROVIDER_MANAGER,))], offer_values(), about="offer:1")
    told = {(n.event, n.user_id) for n in all_notifications(setup_session)}
    assert told == {("proposal_to_approve", region.people[Role.COUNCIL_PLACEMENT_OFFICER].id),
                    ("offer_sent", region.people[Role.PROVIDER_MANAGER].id)}
    assert not any(user_id == other_manager.id for _, user_id in told)
    assert not any(user_id == region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER].id for _, user_id in told)


def test_nobody_in_another_rcc_can_be_told(app, region, setup_session, no_retry_wait):
    other = make_region(setup_session, "O", ("Leicester", "Rutland"))
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    with app.app_context(), session_as(app, officer) as session, pytest.raises(ValueError, match="not in RCC"), \
            transaction(session):
        notifications.notify(session, Event.OFFER_SENT, region.rcc.id,
                             [To(other.provider.id, (Role.PROVIDER_MANAGER,))], offer_values(), about="offer:1")
    assert all_notifications(setup_session) == []


def test_each_person_sees_only_their_own_list(app, region, setup_session, no_retry_wait):
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    manager = region.people[Role.PROVIDER_MANAGER]
    council = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    with app.app_context(), session_as(app, officer) as session, transaction(session):
        notifications.notify(session, Event.PROPOSAL_TO_APPROVE, region.rcc.id,
                             [To(region.councils[0].id, (Role.COUNCIL_PLACEMENT_OFFICER,))],
                             {"home": "Elm House", "referral": "COV-1"}, about="offer:1")
    with session_as(app, manager) as session:
        assert notifications.for_user(session, manager) == []
        assert notifications.unread_count(session, manager) == 0
        # Even asking for the council's row by id finds nothing.
        theirs = all_notifications(setup_session)[0]
        with pytest.raises(NotFound):
            notifications.mark_read(session, manager, int(theirs.id))
    with session_as(app, council) as session:
        assert notifications.unread_count(session, council) == 1
        with transaction(session):
            notifications.mark_read(session, council, int(theirs.id))
        assert notifications.unread_count(session, council) == 0


def test_choices_are_kept_but_safety_critical_mail_always_goes(app, region, setup_session, no_retry_wait):
    manager = region.people[Role.PROVIDER_MANAGER]
    with session_as(app, manager) as session, transaction(session):
        notifications.set_email_choices(session, manager, [])  # no email for anything choosable
    with session_as(app, manager) as session:
        assert set(notifications.email_choices(session, manager).values()) == {False}
        assert Event.OFFER_SENT not in notifications.email_choices(session, manager)
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    with app.app_context(), session_as(app, officer) as session, transaction(session):
        notifications.notify(session, Event.OFFER_SENT, region.rcc.id,
                             [To(region.provider.id, (Role.PROVIDER_MANAGER,))], offer_values(), about="offer:1")
        notifications.notify(session, Event.VACANCY_STALE, region.rcc.id,
                             [To(region.provider.id, (Role.PROVIDER_MANAGER,))],
                             {"home": "Elm House", "confirmed_on": "1 December 2026"}, about="vacancy:1")
    by_event = {n.event: n.email_status for n in all_notifications(setup_session)}
    assert by_event == {"offer_sent": EMAIL_SENT, "vacancy_stale": EMAIL_OFF}


# GOV.UK Notify, through its own client, against a stub of its API ---------------------------------

class NotifyStub:
    def __init__(self, fail_times: int = 0, status: int = 500) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_times = fail_times
        self.status = status


@pytest.fixture
def notify_stub(monkeypatch) -> Iterator[NotifyStub]:
    stub = NotifyStub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the standard library's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            stub.requests.append({"path": self.path, "body": body,
                                  "authorised": self.headers.get("Authorization", "").startswith("Bearer ")})
            if len(stub.requests) <= stub.fail_times:
                answer, status = {"status_code": stub.status, "errors": [
                    {"error": "Exception", "message": "Internal server error"}]}, stub.status
            else:
                answer, status = {"id": str(uuid.uuid4()), "reference": body.get("reference"),
                                  "content": {"subject": "s", "body": "b", "from_email": "rcc@notify.example"},
                                  "uri": "https://api.notifications.service.gov.uk/v2/notifications/x",
                                  "template": {"id": body["template_id"], "version": 1, "uri": "x"}}, 201
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    service_id, secret = str(uuid.uuid4()), str(uuid.uuid4())
    monkeypatch.setenv("NOTIFY_API_KEY", f"rcc_test-{service_id}-{secret}")
    monkeypatch.setenv("NOTIFY_BASE_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("NOTIFY_TEMPLATE_OFFER_SENT", "f33517ff-2a88-4f6e-b855-c550268ce08a")
    monkeypatch.setenv("NOTIFY_RETRY_SECONDS", "0,0")
    yield stub
    server.shutdown()


def test_notify_is_sent_the_template_and_personalisation(app, region, setup_session, notify_stub, monkeypatch):
    manager = region.people[Role.PROVIDER_MANAGER]
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    monkeypatch.setitem(app.config, "RCC_BASE_URL", "https://rcc.example.gov.uk")
    with app.app_context(), session_as(app, officer) as session, transaction(session):
        notifications.notify(session, Event.OFFER_SENT, region.rcc.id,
                             [To(region.provider.id, (Role.PROVIDER_MANAGER,))], offer_values(), about="offer:1",
                             link="/offers-for-your-homes/1")
    [sent] = notify_stub.requests
    assert sent["path"] == "/v2/notifications/email"
    assert sent["authorised"]
    assert sent["body"]["email_address"] == manager.email
    assert sent["body"]["template_id"] == "f33517ff-2a88-4f6e-b855-c550268ce08a"
    # The email's link is absolute, on RCC_BASE_URL; the in-app list keeps the path.
    assert sent["body"]["personalisation"] == {**offer_values(), "name": manager.name,
                                               "link": "https://rcc.example.gov.uk/offers-for-your-homes/1"}
    [row] = all_notifications(setup_session)
    assert (row.email_status, row.email_backend, row.email_attempts) == (EMAIL_SENT, "notify", 1)
    assert row.email_reference
    assert row.link == "/offers-for-your-homes/1"


def test_a_failing_notify_retries_then_marks_failed_and_keeps_the_action(app, region, setup_session, notify_stub):
    notify_stub.fail_times = 99
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    with app.app_context(), session_as(app, officer) as session, transaction(session):
        # The action: a new provider organisation, and the notification in the same transaction.
        with users_scope_system(session):
            made = users.add_provider(session, region.rcc, "Made Homes Ltd", "private")
        notifications.notify(session, Event.OFFER_SENT, region.rcc.id,
                             [To(region.provider.id, (Role.PROVIDER_MANAGER,))], offer_values(), about="offer:1")
    assert len(notify_stub.requests) == 3  # the first try and two retries
    [row] = all_notifications(setup_session)
    assert (row.email_status, row.email_attempts) == (EMAIL_FAILED, 3)
    assert "500" in (row.email_error or "") or "Internal" in (row.email_error or "")
    assert setup_session.get(Organisation, made.id) is not None  # the action stands


def test_a_failure_then_success_is_sent_once(app, region, setup_session, notify_stub):
    notify_stub.fail_times = 1
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    with app.app_context(), session_as(app, officer) as session, transaction(session):
        notifications.notify(session, Event.OFFER_SENT, region.rcc.id,
                             [To(region.provider.id, (Role.PROVIDER_MANAGER,))], offer_values(), about="offer:1")
    assert len(notify_stub.requests) == 2
    [row] = all_notifications(setup_session)
    assert (row.email_status, row.email_attempts) == (EMAIL_SENT, 2)


def users_scope_system(session):
    from rcc.tenancy import acting_as  # noqa: PLC0415

    return acting_as(session, TenantScope.for_organisation("rcc", session.info["actor"].rcc_id,
                                                           session.info["actor"].rcc_id))


# Pages --------------------------------------------------------------------------------------------

def test_pages_list_count_mark_read_choose_and_outbox(app, region, setup_session, signed_in_client, no_retry_wait):
    manager = region.people[Role.PROVIDER_MANAGER]
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    with app.app_context(), session_as(app, officer) as session, transaction(session):
        notifications.notify(session, Event.OFFER_SENT, region.rcc.id,
                             [To(region.provider.id, (Role.PROVIDER_MANAGER,))], offer_values(), about="offer:1",
                             link="/")
    client = signed_in_client(manager)
    page = client.get("/notifications").get_data(as_text=True)
    assert "A child is offered to Elm House" in page
    assert "1<span class=\"govuk-visually-hidden\"> unread</span>" in page
    [row] = all_notifications(setup_session)
    assert client.post(f"/notifications/{row.id}/read", data={"open": "1"}).headers["Location"] == "/"
    assert "unread</span>" not in client.get("/notifications").get_data(as_text=True)
    # Someone else's notification is a 404, whoever asks.
    council = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert council.post(f"/notifications/{row.id}/read").status_code == 404
    # Choices: the page lists only the choosable kinds; saving keeps them.
    page = client.get("/notifications/email").get_data(as_text=True)
    assert 'value="vacancy_stale" checked' in page and 'value="offer_sent"' not in page
    assert client.post("/notifications/email", data={"email": ["tender_published"]}).status_code == 302
    page = client.get("/notifications/email").get_data(as_text=True)
    assert 'value="tender_published" checked' in page and 'value="vacancy_stale" checked' not in page
    # The outbox: admins only; the provider manager is refused.
    assert client.get("/outbox").status_code == 403
    admin = signed_in_client(region.people[Role.RCC_ADMIN])
    assert manager.email in admin.get("/outbox").get_data(as_text=True)


def test_the_tick_sends_an_email_whose_job_was_lost_and_gives_up_when_attempts_are_used(
        app, region, setup_session, notify_stub, monkeypatch):
    from datetime import timedelta  # noqa: PLC0415

    from sqlalchemy import update  # noqa: PLC0415

    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    # No app context: nothing starts the job after the commit (a lost job), so the email stays queued.
    with session_as(app, officer) as session, transaction(session):
        notifications.notify(session, Event.OFFER_SENT, region.rcc.id,
                             [To(region.provider.id, (Role.PROVIDER_MANAGER,))], offer_values(), about="offer:1")
    [row] = all_notifications(setup_session)
    assert row.email_status == "queued" and notify_stub.requests == []
    from rcc.models import utcnow  # noqa: PLC0415

    setup_session.execute(update(Notification).values(created_at=utcnow() - timedelta(minutes=11)))
    setup_session.commit()
    notify_stub.fail_times = 99
    with app.app_context():
        from rcc.cli import system_session  # noqa: PLC0415

        system_session().close()
        sessions = app.extensions["rcc_system_sessions"]
        assert [notifications.send_queued(sessions) for _ in range(4)] == [1, 1, 1, 0]
    [row] = all_notifications(setup_session)
    assert (row.email_status, row.email_attempts, len(notify_stub.requests)) == (EMAIL_FAILED, 3, 3)
