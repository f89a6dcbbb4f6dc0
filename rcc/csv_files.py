"""Reading uploaded CSV files safely, and writing CSV downloads that spreadsheets cannot execute.

Uploads: UTF-8 (with or without a byte-order mark) only, a size limit, named missing
columns, and every bad row reported as (row number, field, problem). Row numbers are
as a spreadsheet shows them: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rcc.errors import ServiceError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Characters no database text column can hold (PostgreSQL refuses NUL outright) and no one types.
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CsvFileError(ServiceError):
    """The file as a whole cannot be read (empty, too big, not UTF-8, missing columns)."""


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    problem: str


class CsvRowErrors(ServiceError):
    """One or more rows are wrong; nothing was written."""

    def __init__(self, problems: list[RowProblem]):
        rows = len({p.row for p in problems})
        super().__init__(f"{rows} row{'s' if rows != 1 else ''} of the file {'have' if rows != 1 else 'has'} "
                         "problems, so nothing was saved. Correct them and upload the whole file again.")
        self.problems = problems


def read_csv(data: bytes, required_columns: Iterable[str], max_bytes: int = MAX_UPLOAD_BYTES,
             what: str = "rows") -> list[tuple[int, dict[str, str]]]:
    """(row number, row) for every data row; raises CsvFileError if the file cannot be used."""
    if not data or not data.strip():
        raise CsvFileError("The file is empty. Choose a CSV file with a header row and at least one row.")
    if len(data) > max_bytes:
        raise CsvFileError(f"The file is larger than {max_bytes // (1024 * 1024)} MB. "
                           "Split it into smaller files and upload each one.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvFileError("The file is not UTF-8 text. In your spreadsheet, save it as 'CSV UTF-8' "
                           "and upload it again.") from error
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in (reader.fieldnames or [])]
    except csv.Error as error:
        raise CsvFileError(f"The header row cannot be read ({error}). Use the template's header row.") from error
    missing = [column for column in required_columns if column not in header]
    if missing:
        raise CsvFileError(f"The file is missing these columns: {', '.join(missing)}. "
                           "Use the template's header row.")
    reader.fieldnames = header
    rows = []
    # One search of the whole text: only a file holding a control character pays for the cell-by-cell
    # search that names where it is.
    clean = UNSTORABLE.search(text) is None
    try:
        for index, row in enumerate(reader):
            if clean:
                rows.append((index + 2, {k: (v or "").strip() for k, v in row.items() if k is not None}))
            else:
                rows.append((index + 2, {k: _cell(v, index + 2, k) for k, v in row.items() if k is not None}))
    except csv.Error as error:  # a field over csv's size limit, a NUL byte, a broken quote
        raise CsvFileError(f"Row {reader.line_num} of the file cannot be read ({error}). Check that row: "
                           f"a cell may be over {csv.field_size_limit():,} characters long.") from error
    rows = [(number, row) for number, row in rows if any(row.values())]
    if not rows:
        raise CsvFileError(f"The file has a header row but no {what}.")
    return rows


def _cell(value: str | None, row: int, column: str) -> str:
    """A cell's text, refusing characters no database column can hold (NUL and other controls)."""
    text = (value or "").strip()
    if UNSTORABLE.search(text):
        raise CsvFileError(f"Row {row}, column {column}: remove the control characters (such as NUL) from "
                           "this cell and upload the file again.")
    return text


def safe_cell(value: object) -> str:
    """A value for a CSV download: text a spreadsheet would run as a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
