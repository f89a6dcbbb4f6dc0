"""What the platform told whom: one row per person per event, in-app and (perhaps) by email."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import JSON, CheckConstraint, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from rcc.models import utcnow
from rcc.tenancy import OWN_ORGANISATION, OWN_ORGANISATION_AND_RCC, RCC_ONLY, TenantPolicy

EMAIL_OFF, EMAIL_QUEUED, EMAIL_SENT, EMAIL_FAILED = "off", "queued", "sent", "failed"
EMAIL_STATUSES = (EMAIL_OFF, EMAIL_QUEUED, EMAIL_SENT, EMAIL_FAILED)


class Notification(SQLModel, table=True):
    """``dedupe_key`` names the occurrence (``offer:12``, ``tender:3:deadline_tomorrow``): the same
    person is never told of the same occurrence twice, which the unique constraint holds."""

    __tablename__ = "notification"
    __tenant_policy__: ClassVar[TenantPolicy] = OWN_ORGANISATION_AND_RCC
    __table_args__ = (
        UniqueConstraint("user_id", "event", "dedupe_key", name="uq_notification_once"),
        CheckConstraint("email_status IN ('off', 'queued', 'sent', 'failed')", name="ck_notification_email_status"),
        CheckConstraint("email_attempts >= 0", name="ck_notification_attempts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    event: str = Field(max_length=40)
    dedupe_key: str = Field(max_length=120)
    title: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    link: str | None = Field(default=None, max_length=300)
    personalisation: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = None
    to_email: str | None = Field(default=None, max_length=254)
    email_status: str = Field(default=EMAIL_OFF, max_length=10)
    email_backend: str | None = Field(default=None, max_length=10)
    email_attempts: int = 0
    email_reference: str | None = Field(default=None, max_length=100)
    email_error: str | None = Field(default=None, max_length=500)
    emailed_at: datetime | None = None


class NotificationPreference(SQLModel, table=True):
    """A person's choice not to be emailed about one kind of event (the in-app list still shows it)."""

    __tablename__ = "notification_preference"
    __tenant_policy__: ClassVar[TenantPolicy] = OWN_ORGANISATION
    __table_args__ = (UniqueConstraint("user_id", "event", name="uq_notification_preference"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    event: str = Field(max_length=40)
    email: bool = True


class ScheduledAction(SQLModel, table=True):
    """A deadline the tick has acted on (``kind`` and ``subject``, e.g. ``tender_closed`` and ``tender:3``):
    claimed by inserting this row, which the unique constraint lets only one tick do."""

    __tablename__ = "scheduled_action"
    __tenant_policy__: ClassVar[TenantPolicy] = RCC_ONLY
    __table_args__ = (UniqueConstraint("kind", "subject", name="uq_scheduled_action_once"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    kind: str = Field(max_length=40)
    subject: str = Field(max_length=120)
    done_at: datetime = Field(default_factory=utcnow)
