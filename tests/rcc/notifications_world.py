"""Notifications for the tenancy matrix: one for each person of the region (every role and council),
its text marked so the matrix can tell if another tenant's page shows it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rcc.models import User
from rcc.notification_models import Notification
from tests.factories import Region


def build(session: Session, region: Region, label: str) -> None:
    for user in session.scalars(select(User).where(User.rcc_id == region.rcc.id).order_by(User.id)):
        session.add(Notification(rcc_id=user.rcc_id, organisation_id=user.organisation_id, user_id=user.id,
                                 event="vacancy_stale", dedupe_key=f"world:{label}:{user.id}",
                                 title=f"MARK-notification-{label}-{user.id:06d}", body=f"MARK-notice-{label}-{user.id:06d}",
                                 to_email=user.email, email_status="sent", email_backend="outbox"))
    session.flush()
