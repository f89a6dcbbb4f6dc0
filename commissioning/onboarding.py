"""Providers joining an RCC from the Ofsted register: the RCC admin adds one by URN or name, or a provider
asks to join by its URN and the RCC admin approves or refuses. The organisation is the one the Ofsted
import makes for the same owner (``imports._provider_for``), so a provider is never in the RCC twice."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.models import JOIN_APPROVED, JOIN_PENDING, JOIN_REFUSED, ProviderJoinRequest
from commissioning.services.imports import (
    MAX_URN_LENGTH,
    OFSTED_FILE,
    SECTORS,
    _provider_key,
    provider_display_name,
)
from rcc import audit, notifications, onboarding, users
from rcc.audit import AuditAction
from rcc.db import transition
from rcc.errors import Conflict, FieldError, FieldErrors
from rcc.forms import ConfirmForm
from rcc.models import Organisation, User, utcnow
from rcc.roles import Role
from rcc.tenancy import OrgKind, within_rcc

MAX_RESULTS = 20


@dataclass(frozen=True)
class RegisterEntry:
    """One setting on the Ofsted register, and the organisation that owns it."""

    urn: str
    name: str
    provider: str
    sector: str
    local_authority: str
    provider_type: str


@cache
def _register() -> dict[str, RegisterEntry]:
    with open(OFSTED_FILE, newline="", encoding="utf-8") as f:
        return {row["urn"]: RegisterEntry(
            urn=row["urn"], name=row["name"].strip() or f"Ofsted {row['urn']}",
            provider=provider_display_name(row["organisation"] or row["name"] or f"Ofsted {row['urn']}"),
            sector=SECTORS.get(row["sector"], "private"), local_authority=row["local_authority"],
            provider_type=row["provider_type"]) for row in csv.DictReader(f) if row["urn"]}


def clean_urn(text: str) -> str:
    urn = (text or "").strip().upper()
    if not urn:
        raise FieldError("urn", "Enter the Ofsted URN")
    if not (urn.isascii() and urn.isalnum()) or len(urn) > MAX_URN_LENGTH:
        raise FieldError("urn", "The Ofsted URN must be letters and numbers only, like 1234567 or SC123456")
    return urn


def register_entry(urn: str) -> RegisterEntry | None:
    return _register().get(urn.strip().upper())


def search_register(text: str) -> list[RegisterEntry]:
    """Settings whose URN is ``text``, or whose name or owner contains it (at most ``MAX_RESULTS``)."""
    wanted = " ".join((text or "").split()).casefold()
    if len(wanted) < 3 and not wanted.isdigit():
        return []
    exact = register_entry(wanted)
    if exact is not None:
        return [exact]
    found = [e for e in _register().values() if wanted in e.name.casefold() or wanted in e.provider.casefold()]
    return sorted(found, key=lambda e: (e.provider, e.name))[:MAX_RESULTS]


def provider_for(session: Session, rcc: Organisation, entry: RegisterEntry) -> tuple[Organisation, bool]:
    """The RCC's organisation for the setting's owner (as the Ofsted import names it), made if need be;
    and whether it was made now."""
    key = _provider_key(entry.provider)
    for provider in session.scalars(select(Organisation).where(Organisation.rcc_id == rcc.id,
                                                               Organisation.kind == OrgKind.PROVIDER)):
        if _provider_key(provider.name) == key:
            return provider, False
    ifa_urn = entry.urn if entry.provider_type == "Independent Fostering Agency" else None
    provider = users.add_provider(session, rcc, entry.provider, entry.sector, ifa_urn)
    session.flush()
    return provider, True


def add_provider_from_register(session: Session, rcc: Organisation, urn: str) -> tuple[Organisation, bool]:
    entry = register_entry(clean_urn(urn))
    if entry is None:
        raise FieldError("urn", "No setting on the Ofsted register has this URN")
    return provider_for(session, rcc, entry)


# Asking to join ----------------------------------------------------------------------------------

JOIN_ANSWER = ("Thank you. If the Ofsted URN is on the register, the Regional Care Cooperative will look at "
               "your request and, if it approves it, email you an invitation.")


def request_to_join(session: Session, rcc_id: int, urn: str, name: str, email: str) -> ProviderJoinRequest | None:
    """Record a provider's request, answered the same (``JOIN_ANSWER``) whether or not the URN is on the
    register; the RCC's admins are told. None if there is no such RCC."""
    errors: dict[str, str] = {}
    try:
        urn = clean_urn(urn)
    except FieldError as error:
        errors["urn"] = error.message
    if not name.strip():
        errors["name"] = "Enter your full name"
    elif len(name.strip()) > 120:
        errors["name"] = "Your name must be 120 characters or fewer"
    try:
        address = users.normalise_email(email)
    except FieldError as error:
        errors["email"] = error.message
    if errors:
        raise FieldErrors(errors)
    with within_rcc(session, rcc_id):
        rcc = session.get(Organisation, rcc_id)
        if rcc is None or rcc.kind != OrgKind.RCC:
            return None
        entry = register_entry(urn)
        request = ProviderJoinRequest(rcc_id=rcc_id, ofsted_urn=urn, provider_name=entry.provider if entry else None,
                                      requester_name=name.strip(), requester_email=address)
        session.add(request)
        session.flush()
        audit.record(session, AuditAction.PROVIDER_JOIN_REQUESTED, request, actor=audit.Actor(
            None, rcc_id, rcc_id, audit.current_actor(session).request_id), on_register=entry is not None)
        notifications.notify(session, notifications.Event.JOIN_REQUEST_RECEIVED, rcc_id,
                             [notifications.To(rcc_id, (Role.RCC_ADMIN,))],
                             {"urn": urn, "requester": name.strip()}, about=f"join_request:{request.id}",
                             link="/admin/organisations")
    return request


def pending_requests(session: Session) -> list[ProviderJoinRequest]:
    return list(session.scalars(select(ProviderJoinRequest).where(ProviderJoinRequest.status == JOIN_PENDING)
                                .order_by(ProviderJoinRequest.id)))


def approve(session: Session, request: ProviderJoinRequest, by: User, link_for: Any) -> Organisation:
    """Approve once (a conditional UPDATE: two admins approving at the same moment approve once), find or
    make the provider's organisation, and invite the requester as its manager."""
    entry = register_entry(request.ofsted_urn)
    if entry is None:
        raise Conflict(f"No setting on the Ofsted register has the URN {request.ofsted_urn}. Refuse the request.")
    if request.status != JOIN_PENDING:  # a plain answer; the conditional UPDATE below is what holds
        raise Conflict(f"This request has already been {request.status}.")
    rcc = session.get(Organisation, request.rcc_id)
    assert rcc is not None
    provider, _made = provider_for(session, rcc, entry)
    transition(session, request, "status", JOIN_PENDING, JOIN_APPROVED,
               lambda r: f"This request has already been {r.status}.", decided_at=utcnow(), decided_by=by.id,
               organisation_id=provider.id)
    # Only as the provider's first manager: an Ofsted URN is public and proves nothing about who asks, so a
    # provider already on the platform with people of its own is never joined this way (its managers
    # invite their colleagues); ``invite_first_admin`` refuses, and the approval is rolled back.
    onboarding.invite_first_admin(session, provider, request.requester_name, request.requester_email, by.name,
                                  link_for)
    audit.record(session, AuditAction.PROVIDER_JOIN_APPROVED, request, organisation_id=provider.id)
    return provider


def refuse(session: Session, request: ProviderJoinRequest, by: User) -> None:
    transition(session, request, "status", JOIN_PENDING, JOIN_REFUSED,
               lambda r: f"This request has already been {r.status}.", decided_at=utcnow(), decided_by=by.id)
    audit.record(session, AuditAction.PROVIDER_JOIN_REFUSED, request)


def organisations_page_part(session: Session, rcc: Organisation) -> Markup | None:
    """The pending requests, on the RCC admin's organisations page."""
    from flask import render_template  # noqa: PLC0415


    return Markup(render_template("commissioning/onboarding/_join_requests.html",  # noqa: S704 - our template
                                  requests=pending_requests(session), form=ConfirmForm(), rcc=rcc))
