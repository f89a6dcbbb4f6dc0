"""Organisations and the people in them: membership rules, invitations, sign-in checks."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rcc import audit
from rcc.errors import Conflict, FieldError
from rcc.geography import LocalAuthority
from rcc.models import TOKEN_READ_WRITE, TOKEN_SCOPES, ApiToken, Organisation, User, utcnow
from rcc.roles import ROLES_BY_KIND
from rcc.tenancy import OrgKind

MAX_MEMBER_COUNCILS = 20
MAX_FAILED_SIGN_INS = 10
MIN_PASSWORD_LENGTH = 12
INVITE_LIFETIME = timedelta(days=7)
PROVIDER_SECTORS = ("private", "voluntary", "local_authority")

_hasher = PasswordHasher()


# Organisations -------------------------------------------------------------------------

def create_rcc(session: Session, name: str, region: str | None = None) -> Organisation:
    rcc = Organisation(kind=OrgKind.RCC, name=name.strip(), region=region)
    session.add(rcc)
    session.flush()
    rcc.rcc_id = rcc.id
    audit.record(session, "organisation.created", rcc)
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
    audit.record(session, "organisation.created", member)
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
    audit.record(session, "organisation.created", provider)
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
        raise FieldError("email", ADDRESS_TAKEN) from error
    audit.record(session, "user.created", user, roles=user.roles)
    return user


def invite_user(session: Session, organisation: Organisation, email: str, name: str,
                roles: list[str]) -> tuple[User, str]:
    """Create the user with a one-time invite link token, returned once and stored hashed."""
    user = create_user(session, organisation, email, name, roles)
    token = _issue_invite(user)
    audit.record(session, "user.invited", user)
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
    if not pyotp.TOTP(totp_secret).verify(code.strip(), valid_window=1):
        raise FieldError("code", "The code is not right. Enter the 6-digit code your app shows now")
    user.password_hash = _hasher.hash(password)
    user.totp_secret = totp_secret
    user.invite_token_hash = None
    user.invite_expires_at = None
    audit.record(session, "user.invite_accepted", user)


def deactivate_user(session: Session, user: User, by: User) -> None:
    if user.id == by.id:
        raise Conflict("You cannot deactivate your own account. Ask another admin.")
    user.active = False
    audit.record(session, "user.deactivated", user)


def reactivate_user(session: Session, user: User) -> None:
    user.active = True
    audit.record(session, "user.reactivated", user)


def reset_two_factor(session: Session, user: User) -> None:
    """Clear the user's authenticator; they set up a new one at their next sign-in."""
    user.totp_secret = None
    audit.record(session, "user.two_factor_reset", user)


def unlock_user(session: Session, user: User) -> None:
    user.locked_at = None
    user.failed_sign_ins = 0
    audit.record(session, "user.unlocked", user)


# Sign-in -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignInResult:
    user: User | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


WRONG_DETAILS = "Enter a correct email address and password"
LOCKED = ("Your account is locked after too many failed sign-in attempts. "
          "Ask an admin in your organisation to unlock it.")


def check_password_sign_in(session: Session, email: str, password: str) -> SignInResult:
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or user.password_hash is None:
        _hasher.hash(password)  # same work either way, so timing does not reveal who has an account
        return SignInResult(None, WRONG_DETAILS)
    if user.locked_at is not None:
        return SignInResult(user, LOCKED)
    if not _password_matches(user, password):
        return SignInResult(user, record_failed_attempt(session, user))
    if not user.active:
        return SignInResult(user, "Your account has been deactivated. Ask an admin in your organisation.")
    return SignInResult(user, None)


def _password_matches(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash or "", password)
    except (VerificationError, InvalidHashError):
        return False


def record_failed_attempt(session: Session, user: User) -> str:
    user.failed_sign_ins += 1
    account = audit.on_behalf_of_account(session, user.organisation_id, user.rcc_id)
    if user.failed_sign_ins >= MAX_FAILED_SIGN_INS:
        user.locked_at = utcnow()
        audit.record(session, "user.locked", user, actor=account)
        return LOCKED
    audit.record(session, "user.sign_in_failed", user, actor=account)
    return WRONG_DETAILS


def check_two_factor(session: Session, user: User, code: str) -> str | None:
    """None when the code is right; otherwise the message to show."""
    if user.locked_at is not None:
        return LOCKED
    if user.totp_secret and pyotp.TOTP(user.totp_secret).verify(code.strip(), valid_window=1):
        return None
    message = record_failed_attempt(session, user)
    return LOCKED if message == LOCKED else "The code is not right. Enter the 6-digit code your app shows now"


def record_sign_in(session: Session, user: User) -> None:
    user.failed_sign_ins = 0
    user.last_sign_in_at = utcnow()
    audit.record(session, "user.signed_in", user)


def set_up_two_factor(session: Session, user: User, secret: str, code: str) -> None:
    if not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        raise FieldError("code", "The code is not right. Enter the 6-digit code your app shows now")
    user.totp_secret = secret
    audit.record(session, "user.two_factor_set_up", user)


def current_code(user: User) -> str:
    if not user.totp_secret:
        raise Conflict(f"{user.email} has no two-factor authenticator set up")
    return pyotp.TOTP(user.totp_secret).now()


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
    audit.record(session, "api_token.created", token, scope=scope, expires_at=token.expires_at.isoformat())
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
    audit.record(session, "api_token.revoked", token)
