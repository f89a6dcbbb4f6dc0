"""Providers' requests to join, for the tenancy matrix: one per region, marked."""

from __future__ import annotations

from sqlalchemy.orm import Session

from commissioning.models import ProviderJoinRequest
from tests.factories import Region


def build(session: Session, region: Region, label: str) -> None:
    session.add(ProviderJoinRequest(rcc_id=region.rcc.id, ofsted_urn="1234567", provider_name=None,
                                    requester_name=f"MARK-{label}-join-requester",
                                    requester_email=f"join-{label.lower()}@example.org"))
    session.flush()
