"""Tendering's and contracts' deadlines, acted on by ``flask tick``: a tender closes for bids at its
deadline (its bidders are told, once), every provider is reminded the day before, and each block
contract's annual uplift is recorded on its date (once: the contract is locked, the price row unique)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from contracts import notices
from contracts.models import BlockContract, Tender
from contracts.services.common import aware
from contracts.services.contracts import apply_due_uplifts
from rcc import audit
from rcc.audit import AuditAction
from rcc.db import lock, transaction
from rcc.ticks import claim, on_behalf_of, system


def _open_tenders(make_session: Callable[[], Any]) -> list[int]:
    with system(make_session) as session:
        return list(session.scalars(select(Tender.id).where(
            Tender.published_at.is_not(None), Tender.cancelled_at.is_(None),  # type: ignore[union-attr]
            Tender.awarded_at.is_(None)).order_by(Tender.id)))  # type: ignore[union-attr]


def close_tenders(make_session: Callable[[], Any], now: datetime) -> int:
    done = 0
    for tender_id in _open_tenders(make_session):
        with system(make_session) as session, transaction(session):
            tender = session.get(Tender, tender_id)
            if tender is None or aware(tender.bids_close_at) > now:
                continue
            if not claim(session, tender.rcc_id, "tender_closed", f"tender:{tender.id}"):
                continue
            audit.record(session, AuditAction.TENDER_BIDS_CLOSED, tender, actor=on_behalf_of(tender.rcc_id),
                         bids_close_at=tender.bids_close_at.isoformat())
            notices.tender_closed(session, tender)
            notices.evaluation_due(session, tender)
            done += 1
    return done


def remind_tender_deadlines(make_session: Callable[[], Any], now: datetime) -> int:
    done = 0
    for tender_id in _open_tenders(make_session):
        with system(make_session) as session, transaction(session):
            tender = session.get(Tender, tender_id)
            if tender is None or not now < aware(tender.bids_close_at) <= now + timedelta(days=1):
                continue
            if not claim(session, tender.rcc_id, "tender_deadline_tomorrow", f"tender:{tender.id}"):
                continue
            audit.record(session, AuditAction.TENDER_DEADLINE_REMINDED, tender, actor=on_behalf_of(tender.rcc_id))
            notices.deadline_tomorrow(session, tender)
            done += 1
    return done


def apply_uplifts(make_session: Callable[[], Any], now: datetime) -> int:
    today = now.date()
    with system(make_session) as session:
        ids = list(session.scalars(select(BlockContract.id).where(
            BlockContract.start_date <= today, BlockContract.end_date >= today,  # type: ignore[operator]
            BlockContract.annual_uplift_bp > 0).order_by(BlockContract.id)))  # type: ignore[operator]
    done = 0
    for contract_id in ids:
        with system(make_session) as session, transaction(session):
            contract = lock(session, BlockContract, BlockContract.id == contract_id)
            if contract is None:
                continue
            with audit_as(session, contract.rcc_id):
                done += len(apply_due_uplifts(session, contract, today))
    return done


@contextlib.contextmanager
def audit_as(session: Any, rcc_id: int) -> Iterator[None]:
    """``apply_due_uplifts`` records its audit rows as the session's actor: make that the RCC."""
    previous = audit.current_actor(session)
    audit.set_actor(session, on_behalf_of(rcc_id))
    try:
        yield
    finally:
        audit.set_actor(session, previous)
