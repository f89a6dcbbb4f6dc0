"""Reading the audit trail: an admin's filters (person, record, action, dates), a page, a CSV.

What a trail shows is the tenancy's business (``AUDIT_TRAIL``): an organisation's own actions and
anyone's actions on its records. This module only narrows and lays that out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from rcc import users
from rcc.audit import AuditAction
from rcc.models import AuditEvent, Organisation

PER_PAGE = 50
MAX_PAGE = 100_000
CSV_HEADER = ["id", "occurred_at", "person", "organisation", "action", "record_type", "record_id", "record_count",
              "record_ids", "council", "request_id"]


@dataclass(frozen=True)
class TrailFilters:
    user_id: int | None = None
    action: AuditAction | None = None
    record_type: str | None = None
    record_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def query_string_items(self) -> list[tuple[str, str]]:
        items = [("user_id", self.user_id), ("action", self.action), ("record_type", self.record_type),
                 ("record_id", self.record_id)]
        for name, day in (("from", self.date_from), ("to", self.date_to)):
            if day:
                items += [(f"{name}_day", day.day), (f"{name}_month", day.month), (f"{name}_year", day.year)]
        return [(name, str(value)) for name, value in items if value not in (None, "")]


@dataclass
class ParsedFilters:
    filters: TrailFilters
    errors: dict[str, str] = field(default_factory=dict)  # field id -> message, for the error summary


def parse_filters(args: Mapping[str, str]) -> ParsedFilters:
    """Filters from a query string. A bad value is named in ``errors`` and that filter is left out."""
    errors: dict[str, str] = {}
    user_id = _whole_number(args.get("user_id", ""), "user_id", "Select a person from the list", errors)
    action_text = (args.get("action") or "").strip()
    action = None
    if action_text:
        try:
            action = AuditAction(action_text)
        except ValueError:
            errors["action"] = "Select an action from the list"
    record_type = (args.get("record_type") or "").strip() or None
    if record_type is not None and record_type not in record_types():
        errors["record_type"] = "Select a kind of record from the list"
        record_type = None
    record_id = _whole_number(args.get("record_id", ""), "record_id",
                              "Record number must be a whole number, like 41", errors)
    if record_id is not None and record_type is None and "record_type" not in errors:
        errors["record_type"] = "Select the kind of record the number belongs to"
        record_id = None
    date_from = _day(args, "from", "Date from", errors)
    date_to = _day(args, "to", "Date to", errors)
    if date_from and date_to and date_to < date_from:
        errors["to_day"] = "Date to must be the same as or after date from"
        date_to = None
    return ParsedFilters(TrailFilters(user_id, action, record_type, record_id, date_from, date_to), errors)


def _whole_number(text: str, name: str, message: str, errors: dict[str, str]) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 2**31 - 1:
        errors[name] = message
        return None
    return int(text)


def _day(args: Mapping[str, str], prefix: str, label: str, errors: dict[str, str]) -> date | None:
    parts = [(args.get(f"{prefix}_{part}") or "").strip() for part in ("day", "month", "year")]
    if not any(parts):
        return None
    if not all(p.isdigit() for p in parts):
        errors[f"{prefix}_day"] = f"{label} must include a day, month and year, like 27 3 2027"
        return None
    day, month, year = map(int, parts)
    try:
        if not 1900 <= year <= 9999:
            raise ValueError(year)
        return date(year, month, day)
    except ValueError:
        errors[f"{prefix}_day"] = f"{label} must be a real date, like 27 3 2027"
        return None


def record_types() -> dict[str, str]:
    """Kinds of record a trail can be searched by: the tables audit rows name."""
    return {"referral": "Referral", "sibling_group": "Sibling group", "placement": "Placement",
            "matching_proposal": "Matching proposal", "matching_offer": "Offer", "matching_run": "Matching run",
            "user_account": "Person", "api_token": "API token", "organisation": "Organisation", "home": "Home",
            "vacancy": "Vacancy", "tender": "Tender", "bid": "Bid", "block_contract": "Block contract",
            "cost_record": "Cost record", "high_cost_review": "High-cost review",
            "cost_publication": "Cost publication"}


def action_choices() -> list[tuple[str, str]]:
    return [(member.value, describe(member.value)) for member in sorted(AuditAction, key=lambda m: m.value)]


def describe(action: str) -> str:
    return action.replace("_", " ").replace(".", ": ")


def _query(filters: TrailFilters) -> Any:
    query = select(AuditEvent)
    if filters.user_id is not None:
        query = query.where(AuditEvent.user_id == filters.user_id)
    if filters.action is not None:
        query = query.where(AuditEvent.action == filters.action.value)
    if filters.record_type is not None:
        query = query.where(AuditEvent.object_type == filters.record_type)
    if filters.record_id is not None:
        query = query.where(or_(AuditEvent.object_id == str(filters.record_id),
                                col(AuditEvent.record_ids).contains(f",{filters.record_id},")))
    if filters.date_from is not None:
        query = query.where(AuditEvent.occurred_at >= datetime.combine(filters.date_from, time(), UTC))
    if filters.date_to is not None:
        query = query.where(AuditEvent.occurred_at < datetime.combine(filters.date_to + timedelta(days=1), time(), UTC))
    return query


@dataclass
class TrailPage:
    events: list[AuditEvent]
    total: int
    page: int
    per_page: int
    people: dict[int, str]
    organisations: dict[int, str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def trail_page(session: Session, filters: TrailFilters, page: int, per_page: int = PER_PAGE) -> TrailPage:
    query = _query(filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(1, page), max(1, -(-total // per_page)))
    events = list(session.scalars(query.order_by(col(AuditEvent.id).desc()).limit(per_page)
                                  .offset((page - 1) * per_page)))
    return TrailPage(events, total, page, per_page, *_names(session, events))


def people_in_trail(session: Session) -> list[tuple[int, str]]:
    """Everyone who appears in the trail the session may see, for the person filter."""
    ids = set(session.scalars(select(AuditEvent.user_id).where(col(AuditEvent.user_id).is_not(None)).distinct()))
    people = _people(session, {int(i) for i in ids})
    return sorted(people.items(), key=lambda item: item[1])


def _people(session: Session, ids: set[int]) -> dict[int, str]:
    """Names of the people in your own organisation; someone elsewhere (at the RCC, say, reading one of
    your children) by number, which their organisation can put a name to: people are not shared."""
    names = users.names_of(session, ids)
    return {i: names.get(i, f"Person {i}") for i in ids}


def _names(session: Session, events: list[AuditEvent]) -> tuple[dict[int, str], dict[int, str]]:
    people = _people(session, {e.user_id for e in events if e.user_id})
    org_ids = {o for e in events for o in (e.organisation_id, e.subject_organisation_id) if o}
    organisations: dict[int, str] = {}
    if org_ids:
        organisations = {int(i): name for i, name in session.execute(
            select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(org_ids)))}
    return people, organisations


def trail_csv_rows(session: Session, filters: TrailFilters, limit: int = MAX_PAGE) -> Iterator[list[object]]:
    """Every matching row, newest first (up to ``limit``), as CSV cells."""
    events = list(session.scalars(_query(filters).order_by(col(AuditEvent.id).desc()).limit(limit)))
    people, organisations = _names(session, events)
    for e in events:
        ids = (e.record_ids or "").strip(",")
        yield [e.id, e.occurred_at.isoformat(), people.get(e.user_id or 0, "The platform"),
               organisations.get(e.organisation_id or 0, ""), e.action, e.object_type, e.object_id or "",
               e.detail.get("count", "") if isinstance(e.detail, dict) else "", ids.replace(",", " "),
               organisations.get(e.subject_organisation_id or 0, ""), e.request_id or ""]
