"""Small helpers every contracts service uses: who is asking, money and percentages as text."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from rcc import numbers
from rcc.errors import NotFound
from rcc.tenancy import OrgKind, TenantScope, current_scope

HUNDREDTH = Decimal("0.01")


def scope_of(session: Session) -> TenantScope:
    scope = current_scope(session)
    if scope is None:
        raise NotFound()
    return scope


def is_rcc(session: Session) -> bool:
    """RCC staff, or the platform itself (demo, imports)."""
    scope = scope_of(session)
    return scope.is_system or scope.kind == OrgKind.RCC


def provider_id_of(session: Session) -> int:
    """The provider the session acts for; anyone else is refused as if nothing were there."""
    scope = scope_of(session)
    if scope.kind != OrgKind.PROVIDER or scope.organisation_id is None:
        raise NotFound()
    return scope.organisation_id


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC; compare everything as aware UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def round_half_up(value: Decimal, places: Decimal = HUNDREDTH) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)


def parse_percentage(text: str | None) -> int | None:
    """Basis points from '2.5' or '2.5%' (250); None if it is not a percentage with at most 2 decimals."""
    try:
        return numbers.basis_points(text)
    except ValueError:
        return None


def percentage(basis_points: int) -> str:
    """'2.5%' for 250."""
    value = Decimal(basis_points) / 100
    return f"{value.normalize():f}%"
