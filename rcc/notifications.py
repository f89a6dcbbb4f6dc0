"""Telling people what needs them: an in-app list for everyone, and email.

``notify(session, event, rcc_id, recipients, personalisation, about=...)`` adds one ``Notification``
row per person (organisation and role, never across RCCs) in the caller's transaction, so the
row exists exactly when the action that caused it was committed. Emails are sent only after that
commit, by a background job (``rcc.jobs``) with retries; a failing email service marks the row
failed and never touches the action.

Backends, chosen by the environment when a mail is sent:

* GOV.UK Notify when ``NOTIFY_API_KEY`` is set (``NOTIFY_BASE_URL`` to point elsewhere); each event's
  Notify template id comes from ``NOTIFY_TEMPLATE_<EVENT>`` (for example ``NOTIFY_TEMPLATE_OFFER_SENT``),
  and the template's text is kept here (``TEMPLATES``) so the one in Notify can be made to match;
* otherwise the local outbox: the row itself, marked sent, which admins see at ``/outbox`` in development.

Every email's link is absolute, on ``RCC_BASE_URL`` (``personalisation["link"]``; each Notify template
ends with ``((link))``); the in-app list keeps the relative path (``Notification.link``).

People choose which kinds they are emailed about, except the safety-critical ones (``SAFETY_CRITICAL``).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rcc.db import Session as RccSession
from rcc.db import transition
from rcc.errors import Conflict, NotFound
from rcc.models import Organisation, User, utcnow
from rcc.notification_models import (
    EMAIL_FAILED,
    EMAIL_OFF,
    EMAIL_QUEUED,
    EMAIL_SENT,
    Notification,
    NotificationPreference,
)
from rcc.roles import Role
from rcc.tenancy import OrgKind, TenantScope, acting_as, set_scope

log = logging.getLogger(__name__)


class Event(StrEnum):
    OFFER_SENT = "offer_sent"
    OFFER_ANSWERED = "offer_answered"
    OFFER_EXPIRING = "offer_expiring"
    OFFER_EXPIRED = "offer_expired"
    PROPOSAL_TO_APPROVE = "proposal_to_approve"
    PLACEMENT_APPROVED = "placement_approved"
    PLACEMENT_ENDED = "placement_ended"
    EMERGENCY_ESCALATION = "emergency_escalation"
    TENDER_PUBLISHED = "tender_published"
    QUESTION_ANSWERED = "question_answered"
    TENDER_DEADLINE_TOMORROW = "tender_deadline_tomorrow"
    TENDER_CLOSED = "tender_closed"
    TENDER_RESULT = "tender_result"
    VACANCY_STALE = "vacancy_stale"
    HIGH_COST_REVIEW_DUE = "high_cost_review_due"
    RUN_FAILED = "run_failed"
    GROUP_OFFER_SENT = "group_offer_sent"
    GROUP_OFFER_ANSWERED = "group_offer_answered"
    EVALUATION_DUE = "evaluation_due"
    REFERRAL_PACK_RELEASED = "referral_pack_released"  # branch eoi
    # branch onboard: to one person (``notify_person``), carrying a single-use link
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"
    JOIN_REQUEST_RECEIVED = "join_request_received"


# Always emailed, whatever the person chose: a child may be waiting on them.
SAFETY_CRITICAL = frozenset({Event.OFFER_SENT, Event.OFFER_EXPIRING, Event.OFFER_EXPIRED,
                             Event.EMERGENCY_ESCALATION, Event.RUN_FAILED, Event.GROUP_OFFER_SENT})


@dataclass(frozen=True)
class Template:
    """What a person is told, with Notify's ``((name))`` placeholders; ``label`` names the kind on the
    preferences page."""

    label: str
    subject: str
    body: str


TEMPLATES: dict[Event, Template] = {
    Event.OFFER_SENT: Template(
        "A child is offered to one of your homes", "A child is offered to ((home))",
        "A child has been offered a place at ((home)). Answer by ((respond_by)): after that the offer expires."),
    Event.OFFER_ANSWERED: Template(
        "A provider answered an offer", "((home)) has ((answer)) an offer",
        "((home)) has ((answer)) offer ((offer)) for referral ((referral))."),
    Event.OFFER_EXPIRING: Template(
        "An offer is about to expire", "An offer to ((home)) expires at ((respond_by))",
        "Offer ((offer)) to ((home)) has not been answered and expires at ((respond_by))."),
    Event.OFFER_EXPIRED: Template(
        "An offer expired", "An offer to ((home)) expired",
        "Offer ((offer)) to ((home)) was not answered by ((respond_by)). Its place is free again and the "
        "child is back in matching."),
    Event.PROPOSAL_TO_APPROVE: Template(
        "A placement to approve", "A placement for referral ((referral)) needs your approval",
        "((home)) has accepted the offer for referral ((referral)). Approve or reject the placement."),
    Event.PLACEMENT_APPROVED: Template(
        "A placement was approved", "A placement at ((home)) was approved",
        "The placement at ((home)) (offer ((offer))) was approved and starts on ((start_date))."),
    Event.PLACEMENT_ENDED: Template(
        "A placement ended", "A placement at ((home)) ended",
        "The placement at ((home)) ended on ((end_date))."),
    Event.EMERGENCY_ESCALATION: Template(
        "An emergency referral has no offer", "Emergency referral ((referral)) has no offer after ((hours)) hours",
        "Emergency referral ((referral)) was submitted ((hours)) or more hours ago and no home has been offered."),
    Event.TENDER_PUBLISHED: Template(
        "A tender was published", "Tender published: ((tender))",
        "The tender ((tender)) is open for bids until ((bid_deadline))."),
    Event.QUESTION_ANSWERED: Template(
        "A tender question was answered", "A question on ((tender)) was answered",
        "A clarification question on the tender ((tender)) has been answered and published."),
    Event.TENDER_DEADLINE_TOMORROW: Template(
        "A tender closes tomorrow", "((tender)) closes for bids tomorrow",
        "Bids for the tender ((tender)) must be in by ((bid_deadline))."),
    Event.TENDER_CLOSED: Template(
        "A tender closed for bids", "((tender)) has closed for bids",
        "The deadline for bids on ((tender)) passed at ((bid_deadline)). No more bids can be made."),
    Event.TENDER_RESULT: Template(
        "A tender's result", "The result of ((tender))",
        "The tender ((tender)) has been decided: ((result))."),
    Event.VACANCY_STALE: Template(
        "A vacancy needs confirming", "Confirm the places at ((home))",
        "The places at ((home)) were last confirmed on ((confirmed_on)). Confirm them so children can be "
        "matched to the home."),
    Event.HIGH_COST_REVIEW_DUE: Template(
        "A high-cost review is due", "A high-cost placement review is due",
        "The high-cost placement ((placement)) is due for review on ((due_on))."),
    Event.RUN_FAILED: Template(
        "A matching run failed", "Matching run ((run)) failed",
        "Matching run ((run)) failed: ((reason))"),
    Event.GROUP_OFFER_SENT: Template(
        "Brothers and sisters are offered to your homes together",
        "((children)) brothers and sisters are offered to ((homes)) together",
        "((children)) brothers and sisters have been offered places together at ((homes)). Answer for all of them "
        "at once by ((respond_by)): after that the offer expires."),
    Event.GROUP_OFFER_ANSWERED: Template(
        "A provider answered an offer of brothers and sisters", "((homes)) has ((answer)) an offer of brothers and sisters",
        "((homes)) has ((answer)) group offer ((group)) of ((children)) brothers and sisters (offers ((offers)))."),
    Event.EVALUATION_DUE: Template(
        "A tender is ready to evaluate", "Evaluation of ((tender)) can begin",
        "Bids for the tender ((tender)) closed at ((bid_deadline)) with ((bids)). Mark each answer on your own "
        "before the marks are moderated."),
    Event.REFERRAL_PACK_RELEASED: Template(  # branch eoi
        "A council asks whether your homes can take a child", "A referral for ((homes)): answer by ((respond_by))",
        "A council has sent you an anonymised referral for ((homes)). Say whether each home can meet the "
        "child's needs, from when and at what weekly price, by ((respond_by))."),
}

# branch onboard: a person's own invitation or reset link is never something they can turn off.
SAFETY_CRITICAL = SAFETY_CRITICAL | {Event.INVITATION, Event.PASSWORD_RESET}
TEMPLATES.update({
    Event.INVITATION: Template(
        "An invitation to the platform", "You are invited to the Regional Care Cooperative platform",
        "((inviter)) has invited you to join ((organisation)) on the Regional Care Cooperative platform. "
        "Open this link to create your account: ((invite_link)) It works once and lasts 7 days."),
    Event.PASSWORD_RESET: Template(
        "A password reset link", "Reset your password",
        "Someone asked to reset the password for this address. If it was you, open this link to choose a new "
        "password: ((reset_link)) It works once and lasts ((minutes)) minutes. If it was not you, ignore this "
        "email: your password has not changed."),
    Event.JOIN_REQUEST_RECEIVED: Template(
        "A provider asked to join", "A provider asked to join: Ofsted URN ((urn))",
        "((requester)) asked to join the Regional Care Cooperative for the provider with Ofsted URN ((urn)). "
        "Approve or refuse the request."),
})

_PLACEHOLDER = re.compile(r"\(\(([a-z_]+)\)\)")


def absolute_link(link: str | None) -> str | None:
    """The in-app ``link`` (a path) as an email must carry it: on ``RCC_BASE_URL`` (the service's public
    address, e.g. ``https://rcc.example.gov.uk``). Without a base URL there is no usable link to send."""
    if not link:
        return None
    base = current_app.config.get("RCC_BASE_URL") if has_app_context() else os.environ.get("RCC_BASE_URL")
    if not base:
        return None
    return str(base).rstrip("/") + "/" + link.lstrip("/")


def render(text: str, personalisation: dict[str, str]) -> str:
    """Fill ``((name))`` placeholders as Notify does; a missing one is a programming error."""
    return _PLACEHOLDER.sub(lambda m: str(personalisation[m.group(1)]), text)


@dataclass(frozen=True)
class To:
    """Everyone active in an organisation holding any of ``roles``."""

    organisation_id: int
    roles: tuple[Role, ...]


def notify(session: Session, event: Event, rcc_id: int, recipients: Iterable[To], personalisation: dict[str, Any],
           about: str, link: str | None = None) -> list[Notification]:
    """Tell ``recipients`` of ``event`` (``about`` names the occurrence, e.g. ``offer:12``): one row per
    person, in the caller's transaction; emails go after it commits. Anyone already told of this
    occurrence is not told again. A recipient organisation outside ``rcc_id`` is a programming error."""
    template = TEMPLATES[event]
    values = {key: str(value) for key, value in personalisation.items()}
    # Emails carry the link in full (Notify's templates end with ((link))); the in-app list keeps the path.
    values["link"] = absolute_link(link) or ""
    title, body = render(template.subject, values), render(template.body, values)
    session.flush()  # the caller's own changes, in the caller's scope
    made: list[Notification] = []
    for to in recipients:
        with acting_as(session, TenantScope.for_organisation(OrgKind.RCC, rcc_id, rcc_id)):
            organisation = session.get(Organisation, to.organisation_id)
        if organisation is None or organisation.rcc_id != rcc_id:
            raise ValueError(f"Organisation {to.organisation_id} is not in RCC {rcc_id}: nobody outside it is told")
        scope = TenantScope.for_organisation(organisation.kind, int(organisation.id or 0), rcc_id)
        with acting_as(session, scope):
            people = [u for u in session.scalars(select(User).where(
                User.organisation_id == organisation.id, User.active.is_(True)).order_by(User.id))  # type: ignore[attr-defined]
                if u.has_any_role(tuple(map(str, to.roles)))]
            if not people:
                continue
            ids = [int(u.id or 0) for u in people]
            told = set(session.scalars(select(Notification.user_id).where(
                Notification.event == event.value, Notification.dedupe_key == about,
                Notification.user_id.in_(ids))))  # type: ignore[attr-defined]
            declined = set() if event in SAFETY_CRITICAL else set(session.scalars(
                select(NotificationPreference.user_id).where(
                    NotificationPreference.event == event.value, NotificationPreference.email.is_(False),  # type: ignore[attr-defined]
                    NotificationPreference.user_id.in_(ids))))  # type: ignore[attr-defined]
            rows = [Notification(rcc_id=rcc_id, organisation_id=organisation.id, user_id=u.id, event=event.value,
                                 dedupe_key=about, title=title[:200], body=body, link=link,
                                 personalisation={**values, "name": u.name}, to_email=u.email,
                                 email_status=EMAIL_OFF if u.id in declined else EMAIL_QUEUED)
                    for u in people if u.id not in told]
            session.add_all(rows)
            session.flush()  # in the recipient's scope, which row-level security checks the rows against
        made += rows
        _pending(session).extend((int(n.id or 0), scope) for n in rows if n.email_status == EMAIL_QUEUED)
    return made


def notify_person(session: Session, event: Event, user: User, personalisation: dict[str, Any], about: str,
                  link: str | None = None) -> Notification | None:
    """Tell one person (an invitation or a reset link, which is theirs alone) of ``event``, in the caller's
    transaction, acting within the person's own organisation; emailed after commit like any other.
    None if they were already told of this occurrence."""
    template = TEMPLATES[event]
    values = {key: str(value) for key, value in personalisation.items()}
    session.flush()
    with acting_as(session, TenantScope.for_organisation(OrgKind.RCC, user.rcc_id, user.rcc_id)):
        organisation = session.get(Organisation, user.organisation_id)
    if organisation is None:
        raise ValueError(f"User {user.id} has no organisation in RCC {user.rcc_id}")
    scope = TenantScope.for_organisation(organisation.kind, int(organisation.id or 0), user.rcc_id)
    with acting_as(session, scope):
        if session.scalar(select(Notification.id).where(Notification.user_id == user.id,
                                                        Notification.event == event.value,
                                                        Notification.dedupe_key == about)) is not None:
            return None
        row = Notification(rcc_id=user.rcc_id, organisation_id=organisation.id, user_id=user.id, event=event.value,
                           dedupe_key=about, title=render(template.subject, values)[:200],
                           body=render(template.body, values), link=link,
                           personalisation={**values, "name": user.name}, to_email=user.email,
                           email_status=EMAIL_QUEUED)
        session.add(row)
        session.flush()
    _pending(session).append((int(row.id or 0), scope))
    return row


# Sending after commit ----------------------------------------------------------------------------

_PENDING = "notifications_to_send"


def _pending(session: Session) -> list[tuple[int, TenantScope]]:
    return session.info.setdefault(_PENDING, [])  # type: ignore[no-any-return]


@sa_event.listens_for(RccSession, "after_commit")
def _send_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if not pending or not has_app_context():
        return  # with no app (a script), ``flask tick`` sends what is still queued
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    from rcc import jobs  # noqa: PLC0415 - jobs imports the database module, as this one does

    for notification_id, scope in pending:
        try:
            jobs.start(app, "rcc.notifications:deliver", notification_id, scope.kind, scope.organisation_id,
                       scope.rcc_id)
        except Exception:  # noqa: BLE001 - the action is committed; the tick sends what is still queued
            log.exception("Could not start sending notification %s", notification_id)


@sa_event.listens_for(RccSession, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


class EmailFailed(Exception):
    """The email service refused or did not answer; the message says why."""


@dataclass(frozen=True)
class Sent:
    backend: str
    reference: str | None


def _send(notification: Notification) -> Sent:
    api_key = os.environ.get("NOTIFY_API_KEY")
    if not api_key:
        return Sent("outbox", None)
    from notifications_python_client.errors import APIError  # noqa: PLC0415
    from notifications_python_client.notifications import NotificationsAPIClient  # noqa: PLC0415

    event = Event(notification.event)
    template_id = os.environ.get(f"NOTIFY_TEMPLATE_{event.name}")
    if not template_id:
        raise EmailFailed(f"NOTIFY_TEMPLATE_{event.name} is not set, so Notify has no template for it")
    client = NotificationsAPIClient(api_key, base_url=os.environ.get("NOTIFY_BASE_URL")
                                    or "https://api.notifications.service.gov.uk", timeout=10)
    try:
        answer = client.send_email_notification(email_address=notification.to_email, template_id=template_id,
                                                personalisation=notification.personalisation,
                                                reference=f"notification-{notification.id}")
    except (APIError, OSError) as error:  # requests' errors are OSErrors
        raise EmailFailed(str(error)[:500]) from error
    return Sent("notify", str(answer.get("id")) if isinstance(answer, dict) else None)


def retry_delays() -> list[float]:
    """Seconds to wait before each retry (``NOTIFY_RETRY_SECONDS``, comma-separated; default 30, 120, 600)."""
    raw = os.environ.get("NOTIFY_RETRY_SECONDS", "30,120,600")
    return [float(part) for part in raw.split(",") if part.strip()]


def deliver(make_session: Callable[[], RccSession], notification_id: int, kind: str, organisation_id: int,
            rcc_id: int) -> str:
    """The job: email one notification, retrying after each of ``retry_delays()``; gives its final status."""
    delays = retry_delays()
    for attempt in range(len(delays) + 1):
        with make_session() as session:
            set_scope(session, TenantScope.for_organisation(kind, organisation_id, rcc_id))
            status = _attempt(session, notification_id, last=attempt == len(delays))
        if status != EMAIL_QUEUED:
            return status
        time.sleep(delays[attempt])
    return EMAIL_QUEUED  # pragma: no cover - the last attempt always settles the row


def _attempt(session: RccSession, notification_id: int, last: bool) -> str:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.email_status != EMAIL_QUEUED:
        return notification.email_status if notification else EMAIL_FAILED
    attempts = notification.email_attempts + 1
    try:
        sent = _send(notification)
    except EmailFailed as error:
        log.warning("Sending notification %s failed (attempt %s): %s", notification_id, attempts, error)
        _settle(session, notification, EMAIL_FAILED if last else EMAIL_QUEUED,
                email_attempts=attempts, email_error=str(error)[:500])
        return notification.email_status
    _settle(session, notification, EMAIL_SENT, email_attempts=attempts, email_backend=sent.backend,
            email_reference=sent.reference, email_error=None, emailed_at=utcnow())
    return EMAIL_SENT


def _settle(session: RccSession, notification: Notification, status: str, **values: Any) -> None:
    try:
        transition(session, notification, "email_status", EMAIL_QUEUED, status,
                   "Another worker has already sent this notification", **values)
        session.commit()
    except Conflict:
        session.rollback()  # another worker settled it first: its word stands


def send_queued(make_session: Callable[[], RccSession], older_than_seconds: float = 600) -> int:
    """Try once more every email still queued after ``older_than_seconds`` (its job lost, or Redis down
    when it was queued); one whose attempts are used up (``retry_delays``) is then marked failed. The tick
    calls this. Gives how many were tried. ``make_session``'s sessions must be able to act with system scope."""
    from datetime import timedelta  # noqa: PLC0415

    with make_session() as session:
        set_scope(session, TenantScope.system())
        found = list(session.execute(
            select(Notification.id, Organisation.kind, Notification.organisation_id, Notification.rcc_id,
                   Notification.email_attempts)
            .join(Organisation, Organisation.id == Notification.organisation_id)  # type: ignore[arg-type]
            .where(Notification.email_status == EMAIL_QUEUED,
                   Notification.created_at < utcnow() - timedelta(seconds=older_than_seconds))
            .order_by(Notification.id).limit(500)))
    allowed = len(retry_delays()) + 1
    for notification_id, kind, organisation_id, rcc_id, attempts in found:
        with make_session() as session:
            set_scope(session, TenantScope.for_organisation(kind, organisation_id, rcc_id))
            _attempt(session, int(notification_id), last=attempts + 1 >= allowed)
    return len(found)


# The in-app list and choices ---------------------------------------------------------------------

def for_user(session: Session, user: User, limit: int = 100) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id.desc()).limit(limit)))  # type: ignore[union-attr]


def unread_count(session: Session, user: User) -> int:
    return int(session.scalar(select(func.count(Notification.id)).where(  # type: ignore[arg-type]
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0)  # type: ignore[union-attr]


def mark_read(session: Session, user: User, notification_id: int) -> Notification:
    """Mark one of ``user``'s own notifications read (someone else's is not found)."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound()
    if notification.read_at is None:
        transition(session, notification, "read_at", None, utcnow(), "This notification was already read")
    return notification


def choosable_events() -> list[Event]:
    return [event for event in Event if event not in SAFETY_CRITICAL]


def email_choices(session: Session, user: User) -> dict[Event, bool]:
    """Whether ``user`` is emailed about each kind they may choose (yes unless they said no)."""
    said_no = set(session.scalars(select(NotificationPreference.event).where(
        NotificationPreference.user_id == user.id, NotificationPreference.email.is_(False))))  # type: ignore[attr-defined]
    return {event: event.value not in said_no for event in choosable_events()}


def set_email_choices(session: Session, user: User, wanted: Iterable[str]) -> None:
    """Email ``user`` about exactly the choosable kinds in ``wanted`` (unknown names are ignored by the
    caller's form); safety-critical kinds are always emailed."""
    wanted_set = set(wanted)
    existing = {p.event: p for p in session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    for event in choosable_events():
        email = event.value in wanted_set
        row = existing.get(event.value)
        if row is None:
            if not email:
                session.add(NotificationPreference(rcc_id=user.rcc_id, organisation_id=user.organisation_id,
                                                   user_id=user.id, event=event.value, email=False))
        elif row.email != email:
            row.email = email


def outbox(session: Session, limit: int = 200) -> list[Notification]:
    """Emails the local outbox 'sent' (no Notify key): what the reader's scope may see."""
    return list(session.scalars(select(Notification).where(Notification.email_backend == "outbox")
                                .order_by(Notification.id.desc()).limit(limit)))  # type: ignore[union-attr]


