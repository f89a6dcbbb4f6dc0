"""The RCC's tender rules: the minimum tender period and the standstill period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.models import TenderSettings
from contracts.services.common import is_rcc
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import FieldErrors, NotFound

DEFAULT_MIN_TENDER_DAYS = 14
DEFAULT_STANDSTILL_DAYS = 10


def settings_for(session: Session, rcc_id: int) -> TenderSettings:
    """The RCC's settings; the defaults (not saved) if it has never set them."""
    found = session.scalars(select(TenderSettings).where(TenderSettings.rcc_id == rcc_id)).first()
    return found or TenderSettings(rcc_id=rcc_id, min_tender_days=DEFAULT_MIN_TENDER_DAYS,
                                   standstill_days=DEFAULT_STANDSTILL_DAYS)


def update_settings(session: Session, rcc_id: int, min_tender_days: int | None, standstill_days: int | None,
                    user_id: int | None, now: datetime) -> TenderSettings:
    if not is_rcc(session):
        raise NotFound()
    errors = {}
    if min_tender_days is None or not 1 <= min_tender_days <= 365:
        errors["min_tender_days"] = "Enter the minimum tender period as a whole number of days from 1 to 365"
    if standstill_days is None or not 0 <= standstill_days <= 60:
        errors["standstill_days"] = "Enter the standstill period as a whole number of days from 0 to 60"
    if errors:
        raise FieldErrors(errors)
    settings = settings_for(session, rcc_id)
    before = (settings.min_tender_days, settings.standstill_days) if settings.id else None
    settings.min_tender_days, settings.standstill_days = min_tender_days or 0, standstill_days or 0
    settings.updated_by_user_id, settings.updated_at = user_id, now
    session.add(settings)
    session.flush()
    audit.record(session, AuditAction.TENDER_SETTINGS_UPDATED, settings, before=before,
                 min_tender_days=settings.min_tender_days, standstill_days=settings.standstill_days)
    return settings
