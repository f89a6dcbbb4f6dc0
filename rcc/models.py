"""Organisations, people, API tokens and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import JSON, Column, Index, Text, text
from sqlmodel import Field, SQLModel

from rcc.encryption import EncryptedSecret
from rcc.roles import TWO_FACTOR_REQUIRED_KINDS, Role
from rcc.tenancy import AUDIT_TRAIL, OWN_ORGANISATION, WHOLE_RCC, OrgKind, TenantPolicy


def utcnow() -> datetime:
    return datetime.now(UTC)


class Organisation(SQLModel, table=True):
    """An RCC, one of its member councils, or a provider that works with it.

    ``rcc_id`` is the RCC the organisation belongs to; an RCC's own row points at itself.
    """

    __tablename__ = "organisation"
    __tenant_policy__: ClassVar[TenantPolicy] = WHOLE_RCC
    # branch onboard: a member council's codes are unique within its RCC (migration 0023)
    __table_args__ = (
        Index("uq_member_council_ons_code", "rcc_id", "ons_code", unique=True,
              sqlite_where=text("kind = 'council'"), postgresql_where=text("kind = 'council'")),
        Index("uq_member_council_dfe_code", "rcc_id", "dfe_code", unique=True,
              sqlite_where=text("kind = 'council'"), postgresql_where=text("kind = 'council'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=200)
    ons_code: str | None = Field(default=None, max_length=9)
    dfe_code: str | None = Field(default=None, max_length=3)
    region: str | None = Field(default=None, max_length=60)
    provider_sector: str | None = Field(default=None, max_length=20)
    ofsted_urn: str | None = Field(default=None, max_length=20)
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def kind_label(self) -> str:
        return {OrgKind.RCC: "Regional Care Cooperative", OrgKind.COUNCIL: "Member council",
                OrgKind.PROVIDER: "Provider"}[OrgKind(self.kind)]


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    __tenant_policy__: ClassVar[TenantPolicy] = OWN_ORGANISATION

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=120)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    password_hash: str | None = Field(default=None, max_length=200)
    # Encrypted in the database with RCC_TOTP_KEY (rcc.encryption); plain only in memory.
    totp_secret: str | None = Field(default=None, sa_column=Column(EncryptedSecret(255), nullable=True))
    # The time step (30-second window) of the last security code accepted, so no code works twice.
    totp_last_step: int | None = None
    active: bool = True
    invite_token_hash: str | None = Field(default=None, max_length=64, index=True)
    invite_expires_at: datetime | None = None
    # Between the password and the security code: the hash of the token the browser holds, and when
    # that half-signed-in state ends (rcc.users.begin_pending_sign_in). Cleared on success or failure.
    pending_sign_in_hash: str | None = Field(default=None, max_length=64)
    pending_sign_in_expires_at: datetime | None = None
    last_sign_in_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # A "forgot password" link: the hash of its single-use token and when it stops working (rcc.onboarding).
    reset_token_hash: str | None = Field(default=None, max_length=64, index=True)
    reset_expires_at: datetime | None = None

    # Flask-Login's interface
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def has_any_role(self, roles: frozenset[str] | tuple[str, ...]) -> bool:
        return any(role in roles for role in self.roles)

    @property
    def role_labels(self) -> list[str]:
        return [Role(role).label for role in self.roles]

    @property
    def organisation_kind(self) -> OrgKind:
        return Role(self.roles[0]).organisation_kind

    @property
    def two_factor_required(self) -> bool:
        return self.organisation_kind in TWO_FACTOR_REQUIRED_KINDS


TOKEN_READ_ONLY, TOKEN_READ_WRITE = "read_only", "read_write"
TOKEN_SCOPES = {TOKEN_READ_ONLY: "Read only", TOKEN_READ_WRITE: "Read and change"}


class ApiToken(SQLModel, table=True):
    """A secret an API client presents; it acts as the user who made it, until it expires, and
    a read-only one only reads."""

    __tablename__ = "api_token"
    __tenant_policy__: ClassVar[TenantPolicy] = OWN_ORGANISATION

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    scope: str = Field(default=TOKEN_READ_ONLY, max_length=10)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def scope_label(self) -> str:
        return TOKEN_SCOPES.get(self.scope, self.scope)


class UserSession(SQLModel, table=True):
    """A signed-in browser. The cookie carries only a random token; this row, found by the token's
    hash, says whether the session is still good (not revoked, not idle too long, not too old)."""

    __tablename__ = "user_session"
    __tenant_policy__: ClassVar[TenantPolicy] = OWN_ORGANISATION

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None
    user_agent: str = Field(default="", max_length=200)
    ip_address: str = Field(default="", max_length=45)


class SignInThrottle(SQLModel, table=True):
    """Failed sign-in attempts for one email address, whether or not anyone has that address,
    so that the back-off (and its message) cannot tell the two apart. Holds no tenant data:
    only a hash of the address."""

    __tablename__ = "sign_in_throttle"

    address_hash: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    locked_until: datetime | None = None
    last_failed_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Append-only: who did what to which record, written in the change's own transaction.

    ``organisation_id`` is the actor's organisation; ``subject_organisation_id`` the council whose
    record it is, so a council's trail shows what others (the RCC, a provider) did with its children.
    A read of several records names them all in ``record_ids`` (",12,15," so one id can be searched).
    """

    __tablename__ = "audit_event"
    __tenant_policy__: ClassVar[TenantPolicy] = AUDIT_TRAIL

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow, index=True)
    rcc_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    action: str = Field(max_length=60)
    object_type: str = Field(max_length=60)
    object_id: str | None = Field(default=None, max_length=40)
    request_id: str | None = Field(default=None, max_length=40)
    subject_organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    record_ids: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
