"""Reading the contracts pages' forms into the services' inputs.

The forms have a field per quality question and per home, so they are read straight from
``request.form`` here rather than through WTForms classes; CSRF is still checked for every
POST by the app's CSRFProtect. Each parser returns the service's dataclass and a dict of
field errors for what could not even be read (a date that is not a date); the services
check the rest.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from contracts.services.bids import BidDetails
from contracts.services.common import parse_percentage
from contracts.services.contracts import ContractDetails
from contracts.services.tenders import LotDetails, TenderDetails
from rcc import numbers
from rcc.web import parse_day, whole_number

UK = ZoneInfo("Europe/London")
MAX_QUESTIONS = 6


def parse_date(text: str | None) -> date | None:
    """27/3/2027 or 2027-03-27."""
    try:
        return parse_day(text)  # rcc's one date parser, which refuses a year no service can count from
    except ValueError:
        return None


def parse_time(text: str | None) -> time | None:
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", (text or "").strip())
    if not match:
        return None
    try:
        return time(int(match.group(1)), int(match.group(2)))
    except ValueError:
        return None


def parse_uk_datetime(day_text: str | None, time_text: str | None) -> datetime | None:
    """A date and time as people in England read them, as UTC."""
    day, moment = parse_date(day_text), parse_time(time_text or "12:00")
    if day is None or moment is None:
        return None
    return datetime.combine(day, moment, tzinfo=UK).astimezone(UTC)


def uk_date_text(moment: datetime | None) -> str:
    return moment.astimezone(UK).strftime("%-d/%-m/%Y") if moment else ""


def uk_time_text(moment: datetime | None) -> str:
    return moment.astimezone(UK).strftime("%H:%M") if moment else ""


def parse_int(text: str | None) -> int | None:
    text = (text or "").strip().replace(",", "")
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def parse_ids(values: list[str]) -> list[int]:
    return [number for number in map(whole_number, values) if number is not None]


def tender_from(form: Any) -> tuple[TenderDetails, dict[str, str]]:
    errors = {}
    clarifications = parse_uk_datetime(form.get("clarification_closes_date"), form.get("clarification_closes_time"))
    bids_close = parse_uk_datetime(form.get("bids_close_date"), form.get("bids_close_time"))
    start = parse_date(form.get("contract_start"))
    if clarifications is None and form.get("clarification_closes_date"):
        errors["clarification_closes_at"] = "Enter the date questions close as a real date and time, like 27/3/2027 and 17:00"
    if bids_close is None and form.get("bids_close_date"):
        errors["bids_close_at"] = "Enter the date bids close as a real date and time, like 27/3/2027 and 12:00"
    if start is None and form.get("contract_start"):
        errors["contract_start"] = "Enter the contract start as a real date, like 1/6/2027"
    details = TenderDetails(form.get("reference", ""), form.get("title", ""), form.get("description", ""),
                            clarifications, bids_close, start)
    return details, errors


def lot_from(form: Any) -> tuple[LotDetails, dict[str, str]]:
    errors = {}
    try:
        price = numbers.pence(form.get("max_weekly_price"))
    except ValueError:
        price = None
        errors["max_weekly_price"] = "Enter the maximum price in pounds and pence, like 5200 or 5200.50"
    questions = []
    for number in range(1, MAX_QUESTIONS + 1):
        text = (form.get(f"question_{number}") or "").strip()
        weight_text = form.get(f"weight_{number}") or ""
        if text or weight_text.strip():
            questions.append((text, parse_int(weight_text)))
    details = LotDetails(form.get("title", ""), form.get("placement_type", ""), parse_ids(form.getlist("council_ids")),
                         form.getlist("needs"), parse_int(form.get("places")), price, parse_int(form.get("term_months")),
                         parse_int(form.get("extension_months") or "0"), parse_int(form.get("max_extensions") or "0"),
                         parse_int(form.get("price_weight")), questions)
    return details, errors


def bid_from(form: Any, question_ids: list[int]) -> tuple[BidDetails, dict[str, str]]:
    errors = {}
    try:
        price = numbers.pence(form.get("weekly_price"))
    except ValueError:
        price = None
        errors["weekly_price"] = "Enter your price in pounds and pence, like 4950 or 4950.50"
    places = parse_int(form.get("places_offered"))
    if places is None and form.get("places_offered"):
        errors["places_offered"] = "Enter the number of places as a whole number, like 2"
    answers = {qid: form.get(f"answer_{qid}", "") for qid in question_ids}
    return BidDetails(price, places, parse_ids(form.getlist("home_ids")), answers, form.get("summary", "")), errors


def contract_from(form: Any, home_ids: list[int], council_ids: list[int]) -> tuple[ContractDetails, dict[str, str]]:
    errors: dict[str, str] = {}
    try:
        price = numbers.pence(form.get("weekly_price"))
    except ValueError:
        price = None
        errors["weekly_price"] = "Enter the weekly price in pounds and pence, like 4950 or 4950.50"
    uplift = parse_percentage(form.get("annual_uplift") or "0")
    homes = {}
    for home_id in home_ids:
        places = parse_int(form.get(f"places_{home_id}"))
        if places is None and (form.get(f"places_{home_id}") or "").strip():
            errors["homes"] = "Enter reserved places as whole numbers, like 2"
        elif places:
            homes[home_id] = places
    shares = {}
    for council_id in council_ids:
        text = (form.get(f"share_{council_id}") or "").strip()
        if not text:
            continue
        share = parse_percentage(text)
        if share is None:
            errors["cost_shares"] = "Enter each council's share as a percentage, like 25 or 12.5"
        elif share:
            shares[council_id] = share
    details = ContractDetails(form.get("reference", ""), form.get("title", ""), parse_int(form.get("provider_id")),
                              form.get("placement_type", ""), parse_date(form.get("start_date")),
                              parse_date(form.get("end_date")), price, uplift, homes, shares)
    for name in ("start_date", "end_date"):
        if form.get(name) and getattr(details, name) is None:
            errors[name] = "Enter a real date, like 1/4/2027"
    return details, errors
