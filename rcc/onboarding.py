"""Onboarding a region: member councils, each organisation's first admin, invitations and password
resets sent by the notification service, and a person changing their own password or authenticator.

Providers come from the Ofsted register, which is the commissioning capability's: it adds them with
``invite_first_admin`` below, so the core never reads a capability.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rcc import audit, notifications, users
from rcc.audit import AuditAction
from rcc.db import lock
from rcc.errors import Conflict, FieldError, FieldErrors
from rcc.geography import LocalAuthority, Point
from rcc.models import Organisation, User, UserSession, utcnow
from rcc.roles import Role
from rcc.tenancy import OrgKind, TenantScope, acting_as

ONS_CODE = re.compile(r"^E(06|08|09|10)\d{6}$")
DFE_CODE = re.compile(r"^\d{3}$")
RESET_LIFETIME = timedelta(minutes=60)
FIRST_ADMIN_ROLES = {OrgKind.COUNCIL: [Role.COUNCIL_ADMIN], OrgKind.RCC: [Role.RCC_ADMIN],
                     OrgKind.PROVIDER: [Role.PROVIDER_MANAGER]}


# Member councils ---------------------------------------------------------------------------------

def check_council(name: str, ons_code: str, dfe_code: str) -> tuple[str, str, str]:
    errors: dict[str, str] = {}
    name, ons_code, dfe_code = name.strip(), ons_code.strip().upper(), dfe_code.strip()
    if not name:
        errors["name"] = "Enter the council's name"
    elif len(name) > 200:
        errors["name"] = "The council's name must be 200 characters or fewer"
    if not ons_code:
        errors["ons_code"] = "Enter the council's ONS code"
    elif not ONS_CODE.match(ons_code):
        errors["ons_code"] = "The ONS code must be E06, E08, E09 or E10 then 6 digits, like E08000026"
    if not dfe_code:
        errors["dfe_code"] = "Enter the council's DfE code"
    elif not DFE_CODE.match(dfe_code):
        errors["dfe_code"] = "The DfE code must be 3 digits, like 331"
    if errors:
        raise FieldErrors(errors)
    return name, ons_code, dfe_code


def add_council(session: Session, rcc: Organisation, name: str, ons_code: str, dfe_code: str) -> Organisation:
    """Add a member council, at most ``users.MAX_MEMBER_COUNCILS``; its codes unique within the RCC
    (the partial unique indexes of migration 0023 hold that when two admins add at the same moment)."""
    name, ons_code, dfe_code = check_council(name, ons_code, dfe_code)
    lock(session, Organisation, Organisation.id == rcc.id)  # one member added at a time: the count holds
    errors: dict[str, str] = {}
    same = select(Organisation.id).where(Organisation.rcc_id == rcc.id, Organisation.kind == OrgKind.COUNCIL)
    if session.scalar(same.where(Organisation.ons_code == ons_code)):
        errors["ons_code"] = "A member council already has this ONS code"
    if session.scalar(same.where(Organisation.dfe_code == dfe_code)):
        errors["dfe_code"] = "A member council already has this DfE code"
    if session.scalar(same.where(func.lower(Organisation.name) == name.lower())):
        errors["name"] = "A member council already has this name"
    if errors:
        raise FieldErrors(errors)
    council = LocalAuthority(ons_code=ons_code, dfe_code=dfe_code, name=name, region=rcc.region or "",
                             centre=Point(0, 0))
    member = users.add_member_council(session, rcc, council)
    session.flush()
    return member


def organisations(session: Session, rcc_id: int) -> list[Organisation]:
    """The RCC's member councils and providers, councils first."""
    return list(session.scalars(select(Organisation).where(
        Organisation.rcc_id == rcc_id, Organisation.kind != OrgKind.RCC).order_by(
        Organisation.kind, Organisation.name)))


def people_count(session: Session, organisation: Organisation) -> int:
    """How many accounts the organisation has (the RCC acting within it: people are not shared)."""
    with acting_as(session, TenantScope.for_organisation(organisation.kind, int(organisation.id or 0),
                                                         int(organisation.rcc_id or 0))):
        return int(session.scalar(select(func.count(User.id)).where(  # type: ignore[arg-type]
            User.organisation_id == organisation.id)) or 0)


# Invitations -------------------------------------------------------------------------------------

def send_invitation(session: Session, user: User, token: str, organisation: Organisation, inviter: str,
                    link: str) -> None:
    """Email the person their invitation link (the notification service; the outbox in development)."""
    notifications.notify_person(session, notifications.Event.INVITATION, user,
                                {"inviter": inviter, "organisation": organisation.name, "invite_link": link},
                                about=f"invite:{users.hash_token(token)[:16]}")


def invite_first_admin(session: Session, organisation: Organisation, name: str, email: str,
                       inviter: str, link_for: object, only_first: bool = True) -> User:
    """The RCC admin invites an organisation's first admin (a provider's: its first manager), acting
    within that organisation, and the invitation is sent. ``link_for(token)`` makes the link. With
    ``only_first`` false (a provider's approved request to join) the organisation may have people already."""
    if organisation.kind == OrgKind.RCC:
        raise Conflict("An RCC's admins invite their own people from the People page.")
    scope = TenantScope.for_organisation(organisation.kind, int(organisation.id or 0), int(organisation.rcc_id or 0))
    with acting_as(session, scope), audit.held_until_after(session):
        if only_first and session.scalar(select(User.id).where(User.organisation_id == organisation.id).limit(1)):
            raise Conflict(f"{organisation.name} already has people: its admins invite anyone else.")
        user, token = users.invite_user(session, organisation, email, name,
                                        [str(r) for r in FIRST_ADMIN_ROLES[OrgKind(organisation.kind)]])
        send_invitation(session, user, token, organisation, inviter, link_for(token))  # type: ignore[operator]
    audit.record(session, AuditAction.ORGANISATION_ADMIN_INVITED, organisation, user_id=user.id)
    return user


# Public forms: the sign-in back-off, counted per key ----------------------------------------------

def throttled(session: Session, key: str) -> str | None:
    """Count one use of a public form by ``key`` (its kind and the caller's address); past the sign-in
    back-off's free attempts, the message saying how long to wait, as signing in does."""
    wait = users._wait_left(session, key)
    if wait is not None:
        return users.try_again_message(wait).replace("sign in", "do this")
    message = users.record_failed_attempt(session, key, None)
    return None if message == users.WRONG_DETAILS else message.replace("sign in", "do this")


# Forgot password ---------------------------------------------------------------------------------

RESET_SENT = ("If that email address has an account, we have sent it a link to reset the password. "
              "The link works once and lasts 60 minutes.")


def request_password_reset(session: Session, email: str, link_for: object) -> None:
    """Send a single-use reset link to the account with ``email``, if there is one. The caller answers
    the same either way (``RESET_SENT``); the token is stored only as its hash."""
    address = email.strip().lower()
    user = session.scalar(select(User).where(func.lower(User.email) == address))
    if user is None or not user.active or user.password_hash is None:
        users.hash_token(secrets.token_urlsafe(32))  # similar work either way
        return
    token = secrets.token_urlsafe(32)
    user.reset_token_hash = users.hash_token(token)
    user.reset_expires_at = utcnow() + RESET_LIFETIME
    session.add(user)
    audit.record(session, AuditAction.USER_PASSWORD_RESET_REQUESTED, user, actor=users._themselves(session, user))
    notifications.notify_person(session, notifications.Event.PASSWORD_RESET, user,
                                {"reset_link": link_for(token),  # type: ignore[operator]
                                 "minutes": int(RESET_LIFETIME.total_seconds() // 60)},
                                about=f"reset:{user.reset_token_hash[:16]}")


def user_for_reset(session: Session, token: str) -> User | None:
    user = session.scalar(select(User).where(User.reset_token_hash == users.hash_token(token)))
    if user is None or user.reset_expires_at is None or user.reset_expires_at <= utcnow() or not user.active:
        return None
    return user


def reset_password(session: Session, token: str, password: str) -> User:
    """Choose a new password with a reset link: once only (a conditional UPDATE clears the token), and
    every session from before ends."""
    users.check_password(password)
    user = user_for_reset(session, token)
    if user is None:
        raise Conflict("This link has expired or has been used. Ask for a new one.")
    changed = session.execute(update(User).where(User.id == user.id,
                                                 User.reset_token_hash == users.hash_token(token))
                              .values(reset_token_hash=None, reset_expires_at=None,
                                      password_hash=users._hasher.hash(password))
                              .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise Conflict("This link has expired or has been used. Ask for a new one.")
    users.revoke_sessions(session, user)
    # A reset link proves the address, not the person: the sign-in back-off is left as it is.
    audit.record(session, AuditAction.USER_PASSWORD_RESET, user, actor=users._themselves(session, user))
    return user


# A person's own account --------------------------------------------------------------------------

def _end_other_sessions(session: Session, user: User, keep_session_id: int | None) -> None:
    """Someone who changes a password or an authenticator may fear a stolen session: end every other one."""
    others = update(UserSession).where(UserSession.user_id == user.id,
                                       UserSession.revoked_at.is_(None))  # type: ignore[union-attr]
    if keep_session_id is not None:
        others = others.where(UserSession.id != keep_session_id)
    session.execute(others.values(revoked_at=utcnow()).execution_options(synchronize_session=False))


def change_password(session: Session, user: User, current: str, new: str, keep_session_id: int | None = None) -> None:
    if not users._password_matches(user, current or ""):
        raise FieldError("current_password", "Your current password is not right")
    users.check_password(new)
    if new == current:
        raise FieldError("password", "Choose a password different from your current one")
    user.password_hash = users._hasher.hash(new)
    session.add(user)
    _end_other_sessions(session, user, keep_session_id)
    audit.record(session, AuditAction.USER_PASSWORD_CHANGED, user)


def re_enrol_authenticator(session: Session, user: User, current_code: str, new_secret: str, new_code: str,
                           keep_session_id: int | None = None) -> None:
    """Replace the person's authenticator: a code from the one they have now proves it is them, a code
    from the new one proves it is set up. Each code works once."""
    if not user.totp_secret:
        raise Conflict("You have no authenticator app yet: set one up when you sign in.")
    step = users.accepted_step(user.totp_secret, current_code or "", user.totp_last_step)
    if step is None:
        raise FieldError("current_code", users.WRONG_CODE)
    new_step = users.accepted_step(new_secret, new_code or "", after=None)
    if new_step is None:
        raise FieldError("code", "The code from your new authenticator app is not right. Check the key and try again.")
    # Conditional on the old key and its last step, so a code cannot be used twice, even at once.
    changed = session.execute(update(User).where(
        User.id == user.id, User.totp_secret.is_not(None),  # type: ignore[union-attr]
        User.totp_last_step.is_(None) | (User.totp_last_step < step))  # type: ignore[union-attr,operator]
        .values(totp_secret=new_secret, totp_last_step=new_step)
        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise FieldError("current_code", users.WRONG_CODE)
    session.refresh(user)
    _end_other_sessions(session, user, keep_session_id)
    audit.record(session, AuditAction.USER_TWO_FACTOR_REENROLLED, user)
