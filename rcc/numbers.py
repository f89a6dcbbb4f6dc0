"""Numbers people type, read one way for forms, CSV columns and anything else that arrives as text.

Money lives here once: ``pence`` reads pounds as typed, ``pounds`` shows pence as pounds, and
every package (forms, CSV imports, templates, PDFs, charts) uses these two.

Python's own readers are too generous for a public service: ``int("²")`` fails only after
``"²".isdigit()`` said yes, ``int("١٢")`` is 12, ``Decimal("sNaN")``, ``Decimal("Infinity")`` and
``Decimal("1e30")`` are all numbers, and a value too big for its column fails in the database.
Here a number is ASCII digits only, with a comma allowed between thousands, and it is checked
against the bounds its column can hold before anything is written. Each reader raises
``ValueError`` with a plain reason; the caller names the field.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

MAX_INTEGER = 2**31 - 1  # PostgreSQL ``integer``: the type of every count and id column
# £100,000 a week: far above any real placement, far below the integer pence column.
MAX_WEEKLY_PENCE = 10_000_000

_WHOLE = re.compile(r"-?[0-9]{1,10}")
_MONEY = re.compile(r"[0-9]{1,9}(\.[0-9]{1,2})?")
_PERCENT = re.compile(r"-?[0-9]{1,5}(\.[0-9]{1,2})?")


def _clean(text: str | None) -> str:
    return (text or "").strip().replace(",", "")


def whole_number(text: str | None, minimum: int = 0, maximum: int = MAX_INTEGER) -> int | None:
    """A whole number from ``minimum`` to ``maximum``; None when nothing was typed."""
    cleaned = _clean(text)
    if not cleaned:
        return None
    if not _WHOLE.fullmatch(cleaned):
        raise ValueError("must be a whole number, in digits, like 12")
    value = int(cleaned)
    if not minimum <= value <= maximum:
        raise ValueError(f"must be from {minimum:,} to {maximum:,}")
    return value


def pence(text: str | None, maximum: int = MAX_WEEKLY_PENCE, negative: bool = False) -> int | None:
    """Pounds as typed ('£4,500.50', '4500') to whole pence; None when nothing was typed.

    A minus sign ('-£20', '£-20') is read only where the field says a negative amount makes
    sense (``negative=True``); anywhere else it is refused with a reason.
    """
    typed = _clean(text)
    if not typed:
        return None
    sign, cleaned = (-1, typed[1:]) if typed.startswith("-") else (1, typed)
    cleaned = cleaned.removeprefix("£").strip()
    if sign == 1 and cleaned.startswith("-"):
        sign, cleaned = -1, cleaned[1:].strip()
    if not _MONEY.fullmatch(cleaned):
        raise ValueError("must be an amount in pounds, like 4500 or 4500.50")
    if sign == -1 and not negative:
        raise ValueError("must be £0 or more")
    amount = sign * int(Decimal(cleaned) * 100)
    if abs(amount) > maximum:
        raise ValueError(f"must be £{maximum // 100:,} or less" if amount > 0 else
                         f"must be -£{maximum // 100:,} or more")
    return amount


def pounds(amount: int | float | Decimal | None, whole: bool = False) -> str:
    """Pence shown as pounds, the GOV.UK way: '£1,234.56', '£1,234' (no '.00'), '-£20.50'.

    ``whole=True`` rounds to the nearest pound (half up), for figures that are estimates or
    statistics. Nothing (None) shows as an empty string, so a template can say what a missing
    amount means: ``pounds(referral.max_weekly_cost) or 'No maximum'``.
    """
    if amount is None:
        return ""
    value = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
    sign = "-" if value < 0 else ""
    step = Decimal(100) if whole else Decimal(1)
    rounded = int((abs(value) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)
    if rounded == 0:
        sign = ""
    whole_pounds, part = divmod(rounded, 100)
    return f"{sign}£{whole_pounds:,}" + (f".{part:02d}" if part else "")


def basis_points(text: str | None, minimum: int = -10_000, maximum: int = 10_000) -> int | None:
    """A percentage as typed ('2.5' or '2.5%') to basis points (250); None when nothing was typed."""
    cleaned = _clean(text).removesuffix("%").strip()
    if not cleaned:
        return None
    if not _PERCENT.fullmatch(cleaned):
        raise ValueError("must be a percentage, like 2.5")
    value = int(Decimal(cleaned) * 100)
    if not minimum <= value <= maximum:
        raise ValueError(f"must be from {minimum / 100:g}% to {maximum / 100:g}%")
    return value


def pounds_for_input(amount: int | None) -> str:
    """Pence as a form field's value, the way a person would type it back: '4500.50', '4500'."""
    return pounds(amount).removeprefix("£").replace(",", "")
