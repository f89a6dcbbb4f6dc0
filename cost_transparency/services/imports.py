"""CSV import of cost records: every row checked first, then all written or none.

Columns (the template's header row): child_reference, placement_start_date, start_date,
end_date, core_weekly, additional_support_weekly, education_weekly, health_weekly,
nhs_contribution_weekly, education_contribution_weekly, need_band, notes. Dates are
YYYY-MM-DD or DD/MM/YYYY; amounts are pounds a week (e.g. 6108 or 6,108.50). The placement
is found by the council's own child reference and the placement's start date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.models import Child, Placement
from cost_transparency.models import CostRecord
from cost_transparency.services import cost_records
from cost_transparency.services.cost_records import CostDetails
from cost_transparency.vocabulary import NEED_BANDS
from rcc import numbers
from rcc.csv_files import CsvFileError, read_csv, write_csv
from rcc.errors import ServiceError
from rcc.models import Organisation

COLUMNS = ["child_reference", "placement_start_date", "start_date", "end_date", "core_weekly",
           "additional_support_weekly", "education_weekly", "health_weekly", "nhs_contribution_weekly",
           "education_contribution_weekly", "need_band", "notes"]
REQUIRED = ["child_reference", "placement_start_date", "start_date", "core_weekly"]
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


class ImportRejected(ServiceError):
    """Nothing was saved; ``problems`` says which rows and columns to correct."""

    def __init__(self, message: str, problems: list[RowError] | None = None):
        super().__init__(message)
        self.problems = problems or []


def template_csv() -> str:
    return write_csv(COLUMNS, [["CH-0001", "2026-01-05", "2026-01-05", "", "5800", "650", "0", "0", "300", "0",
                                "enhanced", "Extra night staffing"]])


def parse_date(text: str) -> date:
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError("Enter a date as YYYY-MM-DD or DD/MM/YYYY")


def _read(data: bytes) -> list[tuple[int, dict[str, str]]]:
    try:
        rows = read_csv(data, REQUIRED, max_bytes=MAX_BYTES, what="cost records")
    except CsvFileError as error:
        raise ImportRejected(error.message) from error
    if len(rows) > MAX_ROWS:
        raise ImportRejected(f"The file has more than {MAX_ROWS:,} rows. Split it and upload each part.")
    return rows


def import_cost_records(session: Session, council: Organisation, data: bytes, user_id: int | None,
                        today: date | None = None) -> list[CostRecord]:
    """Check every row, then create every record; on any problem nothing is written."""
    rows = _read(data)
    placements = _placements_by_reference(session, council)
    problems: list[RowError] = []
    planned: list[tuple[Placement, CostDetails]] = []
    for number, row in rows:
        found = _row(number, row, placements, problems)
        if found is None:
            continue
        placement, details = found
        errors = cost_records.check_details(details, placement)
        existing = cost_records.records_for(session, placement)
        if not errors:
            clash = cost_records.overlapping(existing, details)
            earlier = [d for p, d in planned if p.id == placement.id]
            if clash is not None:
                errors["start_date"] = cost_records.overlap_message(clash)
            elif any(cost_records.overlapping([_as_record(d)], details) for d in earlier):
                errors["start_date"] = "This overlaps another row of this file for the same placement"
        problems += [RowError(number, column, message) for column, message in errors.items()]
        if not errors:
            planned.append((placement, details))
    if problems:
        rows_wrong = len({p.row for p in problems})
        raise ImportRejected(f"{rows_wrong} row{'s' if rows_wrong != 1 else ''} of the file "
                             f"{'have' if rows_wrong != 1 else 'has'} problems, so nothing was saved. "
                             "Correct them and upload the whole file again.", problems)
    return [cost_records.create_record(session, placement, details, "import", user_id, today)
            for placement, details in planned]


def _as_record(details: CostDetails) -> CostRecord:
    """A stand-in record with only the dates, to check rows of the file against each other."""
    return CostRecord.model_construct(start_date=details.start_date, end_date=details.end_date)


def _placements_by_reference(session: Session, council: Organisation) -> dict[tuple[str, date], Placement]:
    query = (select(Placement, Child.reference).join(Child, Child.id == Placement.child_id)
             .where(Placement.council_id == council.id))
    return {(reference.strip().upper(), placement.start_date): placement
            for placement, reference in session.execute(query)}


def _row(number: int, row: dict[str, str], placements: dict[tuple[str, date], Placement],
         problems: list[RowError]) -> tuple[Placement, CostDetails] | None:
    values: dict[str, object] = {}
    before = len(problems)
    for column in ("placement_start_date", "start_date", "end_date"):
        text = row.get(column, "")
        if not text:
            if column != "end_date":
                problems.append(RowError(number, column, "Enter a date"))
            values[column] = None
            continue
        try:
            values[column] = parse_date(text)
        except ValueError as error:
            problems.append(RowError(number, column, str(error)))
    for column in cost_records.AMOUNT_FIELDS:
        text = row.get(column, "")
        if column == "core_weekly" and not text:
            problems.append(RowError(number, column, "Enter the core weekly cost in pounds"))
            continue
        try:
            values[column] = numbers.pence(text) or 0  # a blank amount is nothing paid
        except ValueError as error:
            problems.append(RowError(number, column, f"Enter an amount in pounds, like 6108 or 6108.50 (it {error})"))
    band = (row.get("need_band") or "standard").strip().lower()
    if band not in NEED_BANDS:
        problems.append(RowError(number, "need_band", f"Need band must be one of: {', '.join(NEED_BANDS)}"))
    reference = row.get("child_reference", "").strip().upper()
    if not reference:
        problems.append(RowError(number, "child_reference", "Enter the child's reference"))
    if len(problems) > before:
        return None
    placement = placements.get((reference, values["placement_start_date"]))  # type: ignore[arg-type]
    if placement is None:
        problems.append(RowError(number, "child_reference",
                                 "No placement of your council's child with this reference started on that date"))
        return None
    details = CostDetails(
        start_date=values["start_date"], end_date=values["end_date"],  # type: ignore[arg-type]
        core_weekly=values["core_weekly"],  # type: ignore[arg-type]
        **{c: values[c] for c in cost_records.AMOUNT_FIELDS[1:]},  # type: ignore[arg-type]
        need_band=band, notes=row.get("notes", ""))
    return placement, details
