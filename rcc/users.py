"""Organisations and the people in them: membership rules, invitations, sign-in checks."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import case, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rcc import audit
from rcc.audit import AuditAction
from rcc.config import SESSION_LIFETIME
from rcc.errors import Conflict, FieldError, NotFound
from rcc.geography import LocalAuthority
from rcc.models import (
    TOKEN_READ_WRITE,
    TOKEN_SCOPES,
    ApiToken,
    Organisation,
    SignInThrottle,
    User,
    UserSession,
    utcnow,
)
from rcc.roles import ROLES_BY_KIND
from rcc.tenancy import OrgKind, TenantScope, acting_as, system_access

MAX_MEMBER_COUNCILS = 20
# Sign-in back-off: after FREE_ATTEMPTS wrong passwords or codes for one address, each further
# one makes it wait, doubling from FIRST_WAIT up to LONGEST_WAIT. Never a permanent lock.
FREE_ATTEMPTS = 5
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
# Failures older than this are forgotten, so last month's typos do not make today's wait longer.
FORGET_FAILURES_AFTER = timedelta(days=1)
# How often a session's "last seen" time is written: once a minute, not on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 12
INVITE_LIFETIME = timedelta(days=7)
PENDING_SIGN_IN_LIFETIME = timedelta(minutes=5)  # from the password step to the security code
PROVIDER_SECTORS = ("private", "voluntary", "local_authority")

_hasher = PasswordHasher()


# Organisations -------------------------------------------------------------------------

def create_rcc(session: Session, name: str, region: str | None = None) -> Organisation:
    rcc = Organisation(kind=OrgKind.RCC, name=name.strip(), region=region)
    session.add(rcc)
    session.flush()
    rcc.rcc_id = rcc.id
    audit.record(session, AuditAction.ORGANISATION_CREATED, rcc)
    return rcc


def member_councils(session: Session, rcc_id: int) -> list[Organisation]:
    query = select(Organisation).where(Organisation.rcc_id == rcc_id, Organisation.kind == OrgKind.COUNCIL)
    return list(session.scalars(query.order_by(Organisation.name)))


def add_member_council(session: Session, rcc: Organisation, council: LocalAuthority) -> Organisation:
    count = session.scalar(
        select(func.count()).select_from(Organisation)
        .where(Organisation.rcc_id == rcc.id, Organisation.kind == OrgKind.COUNCIL)
    ) or 0
    if count >= MAX_MEMBER_COUNCILS:
        raise Conflict(
            f"{rcc.name} already has {MAX_MEMBER_COUNCILS} member councils, the most an RCC can have, "
            f"so {council.name} cannot join."
        )
    if session.scalar(select(Organisation).where(Organisation.ons_code == council.ons_code,
                                                 Organisation.kind == OrgKind.COUNCIL)):
        raise Conflict(f"{council.name} is already a member of a Regional Care Cooperative.")
    member = Organisation(kind=OrgKind.COUNCIL, name=council.name, rcc_id=rcc.id, ons_code=council.ons_code,
                          dfe_code=council.dfe_code, region=council.region)
    session.add(member)
    audit.record(session, AuditAction.ORGANISATION_CREATED, member)
    return member


def add_provider(session: Session, rcc: Organisation, name: str, sector: str,
                 ofsted_urn: str | None = None) -> Organisation:
    if sector not in PROVIDER_SECTORS:
        raise FieldError("sector", f"Sector must be one of: {', '.join(PROVIDER_SECTORS)}")
    if not name.strip():
        raise FieldError("name", "Enter the provider's name")
    provider = Organisation(kind=OrgKind.PROVIDER, name=name.strip(), rcc_id=rcc.id, provider_sector=sector,
                            ofsted_urn=ofsted_urn, region=rcc.region)
    session.add(provider)
    audit.record(session, AuditAction.ORGANISATION_CREATED, provider)
    return provider


# People --------------------------------------------------------------------------------

def names_of(session: Session, user_ids: set[int]) -> dict[int, str]:
    """People's names by id, for pages that say who did what."""
    if not user_ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())  # type: ignore[arg-type]


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise FieldError("email", "Enter an email address in the correct format, like name@example.gov.uk") \
            from error


def check_roles(organisation: Organisation, roles: list[str]) -> list[str]:
    allowed = ROLES_BY_KIND[OrgKind(organisation.kind)]
    if not roles:
        raise FieldError("roles", "Select at least one role")
    wrong = [role for role in roles if role not in allowed]
    if wrong:
        raise FieldError("roles", f"{organisation.name} cannot have the role {', '.join(wrong)}")
    return [role.value for role in allowed if role in roles]


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldError("password", f"Password must be {MIN_PASSWORD_LENGTH} characters or more")
    return password


# One message whether the address is in this organisation or in one the admin cannot see, so an
# invitation never reveals that someone elsewhere has an account.
ADDRESS_TAKEN = ("This email address cannot be used for a new account. Check it is right, or ask the person "
                 "whether they already have an account with another address.")


class AddressElsewhere(FieldError):
    """The address is someone's in an organisation the caller cannot see. ``decoy`` is what an
    invite would have returned (a person never saved, a token that opens nothing), so an invite
    answers exactly as if it had been made and nobody learns the address exists elsewhere."""

    def __init__(self) -> None:
        super().__init__("email", ADDRESS_TAKEN)
        self.decoy: tuple[User, str] | None = None


def create_user(session: Session, organisation: Organisation, email: str, name: str, roles: list[str],
                password: str | None = None, with_two_factor: bool = False,
                totp_secret: str | None = None) -> User:
    address = normalise_email(email)
    if not name.strip():
        raise FieldError("name", "Enter the person's full name")
    if session.scalar(select(User.id).where(func.lower(User.email) == address)):
        raise FieldError("email", ADDRESS_TAKEN)
    user = User(rcc_id=organisation.rcc_id, organisation_id=organisation.id, email=address, name=name.strip(),
                roles=check_roles(organisation, roles))
    if password is not None:
        user.password_hash = _hasher.hash(check_password(password))
    if with_two_factor:
        user.totp_secret = totp_secret or pyotp.random_base32()
    session.add(user)
    try:
        # The look-up above sees only the admin's own organisation; the unique index sees everyone.
        session.flush()
    except IntegrityError as error:
        raise AddressElsewhere() from error
    audit.record(session, AuditAction.USER_CREATED, user, roles=user.roles)
    return user


def invite_user(session: Session, organisation: Organisation, email: str, name: str,
                roles: list[str]) -> tuple[User, str]:
    """Create the user with a one-time invite link token, returned once and stored hashed.

    An address someone in another organisation has raises ``AddressElsewhere`` carrying a decoy
    invite: the caller rolls back (nothing was written) and answers as for any invite."""
    decoy = User(rcc_id=organisation.rcc_id, organisation_id=organisation.id, email=normalise_email(email),
                 name=name.strip(), roles=list(roles))  # made first: after a refused flush nothing may be read
    try:
        user = create_user(session, organisation, email, name, roles)
    except AddressElsewhere as elsewhere:
        elsewhere.decoy = (decoy, secrets.token_urlsafe(32))
        raise
    token = _issue_invite(user)
    audit.record(session, AuditAction.USER_INVITED, user)
    return user, token


def _issue_invite(user: User) -> str:
    token = secrets.token_urlsafe(32)
    user.invite_token_hash = hash_token(token)
    user.invite_expires_at = utcnow() + INVITE_LIFETIME
    return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_invite(session: Session, token: str) -> User | None:
    user = session.scalar(select(User).where(User.invite_token_hash == hash_token(token)))
    if user is None or user.invite_expires_at is None or user.invite_expires_at < utcnow() or not user.active:
        return None
    return user


def accept_invite(session: Session, user: User, password: str, totp_secret: str, code: str) -> None:
    check_password(password)
    step = accepted_step(totp_secret, code, after=None)
    if step is None:
        raise FieldError("code", WRONG_CODE)
    user.password_hash = _hasher.hash(password)
    user.totp_secret = totp_secret
    user.totp_last_step = step
    user.invite_token_hash = None
    user.invite_expires_at = None
    revoke_sessions(session, user)  # a new password ends every session from before it
    audit.record(session, AuditAction.USER_INVITE_ACCEPTED, user, actor=_themselves(session, user))


def deactivate_user(session: Session, user: User, by: User) -> None:
    if user.id == by.id:
        raise Conflict("You cannot deactivate your own account. Ask another admin.")
    user.active = False
    revoke_sessions(session, user)
    audit.record(session, AuditAction.USER_DEACTIVATED, user)


def reactivate_user(session: Session, user: User) -> None:
    user.active = True
    audit.record(session, AuditAction.USER_REACTIVATED, user)


def reset_two_factor(session: Session, user: User) -> None:
    """Clear the user's authenticator; they set up a new one at their next sign-in."""
    user.totp_secret = None
    user.totp_last_step = None
    revoke_sessions(session, user)
    audit.record(session, AuditAction.USER_TWO_FACTOR_RESET, user)


def unlock_user(session: Session, user: User) -> None:
    """Clear the sign-in back-off on the person's address, so they can try again at once."""
    throttle = session.get(SignInThrottle, _address_hash(user.email))
    if throttle is not None:
        session.delete(throttle)
    audit.record(session, AuditAction.USER_UNLOCKED, user)


def locked_until(session: Session, people: list[User]) -> dict[int, datetime]:
    """When each of ``people`` who must wait before signing in again may next try."""
    hashes = {_address_hash(person.email): person.id for person in people if person.id is not None}
    if not hashes:
        return {}
    now = utcnow()
    rows = session.execute(select(SignInThrottle.address_hash, SignInThrottle.locked_until)
                           .where(SignInThrottle.address_hash.in_(hashes),  # type: ignore[attr-defined]
                                  SignInThrottle.locked_until > now)).all()  # type: ignore[operator]
    return {hashes[address]: until for address, until in rows}


# Sign-in -------------------------------------------------------------------------------

@contextlib.contextmanager
def account_access(session: Session, *, email: str | None = None, user_id: int | None = None,
                   invite_token: str | None = None, api_token: str | None = None,
                   reset_token: str | None = None) -> Iterator[Session]:
    """Before anyone is signed in, act within the organisation of the person (or API token) named,
    so the sign-in steps can read and update that person, and nobody else; what they change is
    audited against the person and their organisation.

    The web's database role cannot read across organisations; on PostgreSQL the one look-up it
    needs, which organisation the person belongs to, is the ``rcc_account_scope`` function
    (migration 0008). Nobody named: the public scope, which sees no one.
    """
    if email is not None:
        by, value = "email", email.strip().lower()
    elif user_id is not None:
        by, value = "id", str(user_id)
    elif invite_token is not None:
        by, value = "invite", hash_token(invite_token)
    elif api_token is not None:
        by, value = "api_token", hash_token(api_token)
    elif reset_token is not None:  # a "forgot password" link (rcc.onboarding; the function in migration 0023)
        by, value = "reset", hash_token(reset_token)
    else:
        raise TypeError("account_access needs one of email, user_id, invite_token or api_token")
    scope, actor = _account_scope(session, by, value)
    previous_actor = audit.current_actor(session)
    audit.set_actor(session, actor)
    try:
        with acting_as(session, scope):
            yield session
    finally:
        audit.set_actor(session, previous_actor)


def _account_scope(session: Session, by: str, value: str) -> tuple[TenantScope, audit.Actor]:
    request_id = audit.current_actor(session).request_id
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(text("SELECT kind, organisation_id, rcc_id, user_id FROM rcc_account_scope(:by, :value)"),
                              {"by": by, "value": value}).first()
    else:  # SQLite has no row-level security to keep the web out, so the ORM looks it up directly
        with system_access(session):
            if by == "api_token":
                query = select(Organisation.kind, ApiToken.organisation_id, ApiToken.rcc_id, ApiToken.user_id).join(
                    Organisation, Organisation.id == ApiToken.organisation_id).where(
                    ApiToken.token_hash == value, ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
            else:
                found = {"email": func.lower(User.email) == value, "id": User.id == int(value) if value.isdigit() else False,
                         "invite": User.invite_token_hash == value, "reset": User.reset_token_hash == value}[by]
                query = select(Organisation.kind, User.organisation_id, User.rcc_id, User.id).join(
                    Organisation, Organisation.id == User.organisation_id).where(found)
            row = session.execute(query.limit(1)).first()
    if row is None:
        return TenantScope.public(), audit.Actor.platform(request_id)
    kind, organisation_id, rcc_id, user_id = row
    return (TenantScope.for_organisation(kind, organisation_id, rcc_id),
            audit.Actor(user_id, organisation_id, rcc_id, request_id))


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


WRONG_DETAILS = "Enter a correct email address and password"
WRONG_CODE = "The code is not right. Enter the 6-digit code your app shows now"
SIGN_IN_AGAIN = "Sign in again with your email address and password, then enter the code your app shows."
PENDING_EXPIRED = ("You took more than 5 minutes to enter your security code, so you need to sign in again: "
                   "enter your email address and password.")
DEACTIVATED = "Your account has been deactivated. Ask an admin in your organisation."


def try_again_message(wait: timedelta) -> str:
    """The one message for an address that must wait, whether or not anyone has that address."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return (f"You have tried to sign in too many times. Try again in {minutes} "
            f"{'minute' if minutes == 1 else 'minutes'}.")


def check_password_sign_in(session: Session, email: str, password: str) -> SignInResult:
    """Known and unknown addresses get the same messages, the same back-off and similar work."""
    address = email.strip().lower()
    wait = _wait_left(session, address)
    if wait is not None:
        return SignInResult(None, try_again_message(wait))
    user = session.scalar(select(User).where(func.lower(User.email) == address))
    if user is None or user.password_hash is None:
        _hasher.hash(password)  # same work either way, so timing does not reveal who has an account
        return SignInResult(None, record_failed_attempt(session, address, None))
    if not _password_matches(user, password):
        return SignInResult(user, record_failed_attempt(session, address, user))
    if not user.active:
        return SignInResult(user, DEACTIVATED)
    return SignInResult(user, None)


def _password_matches(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash or "", password)
    except (VerificationError, InvalidHashError):
        return False


def _address_hash(address: str) -> str:
    return hash_token("sign-in:" + address.strip().lower())


def _wait_left(session: Session, address: str) -> timedelta | None:
    until = session.scalar(select(SignInThrottle.locked_until)
                           .where(SignInThrottle.address_hash == _address_hash(address)))
    now = utcnow()
    return until - now if until is not None and until > now else None


def record_failed_attempt(session: Session, address: str, user: User | None) -> str:
    """Count a wrong password or code for ``address``; past FREE_ATTEMPTS, make it wait."""
    now = utcnow()
    table = SignInThrottle.__table__  # type: ignore[attr-defined]
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
    # One statement, so attempts made at the same moment are all counted.
    failures = session.execute(
        insert.values(address_hash=_address_hash(address), failures=1, last_failed_at=now)
        .on_conflict_do_update(index_elements=["address_hash"], set_={
            "failures": case((table.c.last_failed_at < now - FORGET_FAILURES_AFTER, 1), else_=table.c.failures + 1),
            "last_failed_at": now})
        .returning(table.c.failures)).scalar_one()
    account = audit.on_behalf_of_account(session, user.organisation_id, user.rcc_id) if user else None
    if failures < FREE_ATTEMPTS:
        if user is not None:
            audit.record(session, AuditAction.USER_SIGN_IN_FAILED, user, actor=account)
        return WRONG_DETAILS
    wait = min(FIRST_WAIT * 2 ** min(failures - FREE_ATTEMPTS, 10), LONGEST_WAIT)
    session.execute(update(SignInThrottle).where(SignInThrottle.address_hash == _address_hash(address))
                    .values(locked_until=now + wait))
    if user is not None:
        audit.record(session, AuditAction.USER_LOCKED, user, actor=account, failures=failures,
                     minutes=int(wait.total_seconds() // 60))
    return try_again_message(wait)


def accepted_step(secret: str, code: str, after: int | None) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side for clock drift), if it
    is later than ``after``, the last step accepted: so a code cannot be used twice."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(utcnow())
    code = code.strip()
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_two_factor(session: Session, user: User, code: str) -> str | None:
    """None when the code is right and not used before; otherwise the message to show."""
    wait = _wait_left(session, user.email)
    if wait is not None:
        return try_again_message(wait)
    step = accepted_step(user.totp_secret, code, user.totp_last_step) if user.totp_secret else None
    # Conditional, so two requests racing with the same code cannot both get through.
    if step is not None and _changed_one(session, update(User).where(
            User.id == user.id,
            User.totp_last_step.is_(None) | (User.totp_last_step < step))  # type: ignore[union-attr,operator]
            .values(totp_last_step=step)):
        return None
    message = record_failed_attempt(session, user.email, user)
    return WRONG_CODE if message == WRONG_DETAILS else message


def begin_pending_sign_in(session: Session, user: User) -> str:
    """After the right password: the person is half signed in until they enter their code, for
    ``PENDING_SIGN_IN_LIFETIME`` at most. Returns a token for the browser's session only; the
    server keeps its hash, so a copied or old cookie is no use once this one ends, and a newer
    password step replaces it."""
    token = secrets.token_urlsafe(32)
    session.execute(update(User).where(User.id == user.id).values(
        pending_sign_in_hash=hash_token(token), pending_sign_in_expires_at=utcnow() + PENDING_SIGN_IN_LIFETIME))
    return token


def pending_sign_in_problem(user: User, token: str | None, now: datetime | None = None) -> str | None:
    """Why the browser's half-signed-in state is no good ("expired", "ended"), or None if it is."""
    if not token or user.pending_sign_in_hash is None or user.pending_sign_in_expires_at is None:
        return "ended"
    if not hmac.compare_digest(hash_token(token), user.pending_sign_in_hash):
        return "ended"  # a newer password step replaced it, or it was never this browser's
    if (now or utcnow()) >= user.pending_sign_in_expires_at:
        return "expired"
    return None


def end_pending_sign_in(session: Session, user: User) -> None:
    """The half-signed-in state is over (signed in, a wrong code, or expired): nothing can resume it."""
    session.execute(update(User).where(User.id == user.id).values(pending_sign_in_hash=None,
                                                                  pending_sign_in_expires_at=None))


def record_sign_in(session: Session, user: User, user_agent: str = "", ip_address: str = "") -> str:
    """Start a server-side session for ``user``; returns its token, for the cookie only."""
    throttle = session.get(SignInThrottle, _address_hash(user.email))
    if throttle is not None:
        session.delete(throttle)
    now = utcnow()
    user.last_sign_in_at = now
    end_pending_sign_in(session, user)
    token = secrets.token_urlsafe(32)
    session.add(UserSession(rcc_id=user.rcc_id, organisation_id=user.organisation_id, user_id=user.id,
                            token_hash=hash_token(token), created_at=now, last_seen_at=now,
                            expires_at=now + SESSION_LIFETIME, user_agent=browser_summary(user_agent),
                            ip_address=(ip_address or "")[:45]))
    audit.record(session, AuditAction.USER_SIGNED_IN, user)
    return token


def set_up_two_factor(session: Session, user: User, secret: str, code: str) -> None:
    """Enrol an authenticator for a person who has none (first sign-in, or after an admin reset).

    Never replaces one: that would let anyone who knows the password take the account over.
    """
    if user.totp_secret:
        raise Conflict("You already have an authenticator app. Enter the code it shows to sign in.")
    step = accepted_step(secret, code, after=None)
    if step is None:
        raise FieldError("code", WRONG_CODE)
    # Conditional, so a second enrolment racing with the first cannot replace it either.
    if not _changed_one(session, update(User).where(User.id == user.id, User.totp_secret.is_(None))  # type: ignore[union-attr]
                        .values(totp_secret=secret, totp_last_step=step)):
        raise Conflict("You already have an authenticator app. Enter the code it shows to sign in.")
    audit.record(session, AuditAction.USER_TWO_FACTOR_SET_UP, user, actor=_themselves(session, user))


def _changed_one(session: Session, statement: Any) -> bool:
    """Run a conditional UPDATE; whether it changed the one row (so no one else got there first)."""
    return session.execute(statement).rowcount == 1  # type: ignore[attr-defined, no-any-return]


def _themselves(session: Session, user: User) -> audit.Actor:
    """The person acting on their own account before they are signed in (enrolling, accepting)."""
    return audit.Actor(user.id, user.organisation_id, user.rcc_id, audit.current_actor(session).request_id)


def current_code(user: User) -> str:
    """A code from the person's authenticator that has not been used yet (for ``flask code``)."""
    if not user.totp_secret:
        raise Conflict(f"{user.email} has no two-factor authenticator set up")
    totp = pyotp.TOTP(user.totp_secret)
    step = max(totp.timecode(utcnow()), (user.totp_last_step or 0) + 1)
    return totp.generate_otp(step)


# Sessions ------------------------------------------------------------------------------

def session_problem(record: UserSession, idle_limit: timedelta, now: datetime | None = None) -> str | None:
    """Why a session can no longer be used ("revoked", "expired", "idle"), or None if it can."""
    now = now or utcnow()
    if record.revoked_at is not None:
        return "revoked"
    if now >= record.expires_at:
        return "expired"
    if now - record.last_seen_at > idle_limit:
        return "idle"
    return None


def last_seen_is_stale(record: UserSession) -> bool:
    """Whether the session's "last seen" time is due to move on (it does so once a minute)."""
    return utcnow() - record.last_seen_at >= LAST_SEEN_RESOLUTION


def note_session_activity(session: Session, record: UserSession) -> None:
    record.last_seen_at = utcnow()


def end_session(session: Session, record: UserSession) -> None:
    """Sign out: the session's token never works again, wherever it was copied to."""
    if record.revoked_at is None:
        record.revoked_at = utcnow()
    audit.record(session, AuditAction.USER_SIGNED_OUT, record)


def end_other_session(session: Session, user: User, session_id: int, current: UserSession) -> UserSession:
    """The person ends one of their other sessions (a browser they left signed in)."""
    record = session.scalar(select(UserSession).where(UserSession.id == session_id,
                                                      UserSession.user_id == user.id))
    if record is None:
        raise NotFound("There is no such session")
    if record.id == current.id:
        raise Conflict("This is the session you are using. Sign out to end it.")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        audit.record(session, AuditAction.USER_SESSION_REVOKED, record)
    return record


def revoke_sessions(session: Session, user: User) -> None:
    """End every session of ``user`` (deactivated, new password, authenticator reset)."""
    session.execute(update(UserSession).where(UserSession.user_id == user.id,
                                              UserSession.revoked_at.is_(None))  # type: ignore[union-attr]
                    .values(revoked_at=utcnow()))


def open_sessions(session: Session, user: User, idle_limit: timedelta) -> list[UserSession]:
    """The person's sessions that could still be used, newest first."""
    now = utcnow()
    found = session.scalars(select(UserSession).where(UserSession.user_id == user.id,
                                                      UserSession.revoked_at.is_(None),  # type: ignore[union-attr]
                                                      UserSession.expires_at > now)
                            .order_by(UserSession.last_seen_at.desc())).all()  # type: ignore[attr-defined]
    return [record for record in found if session_problem(record, idle_limit, now) is None]


_BROWSERS = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Windows", "Windows"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Android", "Android"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def browser_summary(user_agent: str) -> str:
    """'Firefox on Windows': enough for a person to recognise a session, and no more."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


# API tokens ----------------------------------------------------------------------------

API_TOKEN_DAYS, MAX_API_TOKEN_DAYS = 90, 366  # a year, leap day included


def create_api_token(session: Session, user: User, name: str, scope: str = TOKEN_READ_WRITE,
                     days: int = API_TOKEN_DAYS) -> tuple[ApiToken, str]:
    if not name.strip():
        raise FieldError("name", "Enter a name for the token, like 'Case management system'")
    if scope not in TOKEN_SCOPES:
        raise FieldError("scope", "Select whether the token may only read, or read and change")
    if not 1 <= days <= MAX_API_TOKEN_DAYS:
        raise FieldError("days", "A token lasts from 1 day to 1 year")
    secret = "rcc_" + secrets.token_urlsafe(32)
    token = ApiToken(rcc_id=user.rcc_id, organisation_id=user.organisation_id, user_id=user.id,
                     name=name.strip(), token_hash=hash_token(secret), scope=scope,
                     expires_at=utcnow() + timedelta(days=days))
    session.add(token)
    audit.record(session, AuditAction.API_TOKEN_CREATED, token, scope=scope, expires_at=token.expires_at.isoformat())
    return token, secret


def api_client(session: Session, secret: str) -> tuple[User, ApiToken] | None:
    """The active person a presented token acts as, and the token; None if it is unknown, revoked or expired."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret),
                                                  ApiToken.revoked_at.is_(None)))
    if token is None or token.expires_at <= utcnow():
        return None
    user = session.get(User, token.user_id)
    return (user, token) if user is not None and user.is_active else None


def revoke_api_token(session: Session, token: ApiToken) -> None:
    token.revoked_at = utcnow()
    audit.record(session, AuditAction.API_TOKEN_REVOKED, token)
