"""Reading a council's SSDA903 files (the DfE children looked after return) in the CSV layout councils produce.

Pure: bytes in, frozen rows out, no database. The *header* file has one row per child (CHILD, SEX, DOB,
ETHNIC, UPN, MOTHER, MC_DOB); the *episodes* file one row per episode of care (CHILD, DECOM, RNE, LS, CIN,
PLACE, PLACE_PROVIDER, DEC, REC, REASON_PLACE_CHANGE, HOME_POST, PL_POST, URN). Dates are dd/mm/yyyy, as
the DfE's own tools write them (ISO yyyy-mm-dd is read too). Extra columns are ignored.

This module checks the layout and that each value can be read (a date is a date, a required value is
there); whether a code is on the DfE's list, a date is inside the reporting year or episodes overlap is the
import's business (``commissioning.services.ssda903``). Every problem is reported together, as
(row, field, message) in an ``Ssda903Error``; row numbers are as a spreadsheet shows them (header row 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rcc.csv_files import CsvFileError, RowProblem, read_csv
from rcc.errors import ServiceError

HEADER_COLUMNS = ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"]
EPISODE_COLUMNS = ["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                   "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"]
MAX_903_BYTES = 40 * 1024 * 1024  # a large council's episodes over several years are a few MB
MAX_CHILD_ID = 10  # the DfE's CHILD is up to 10 characters
EARLIEST_903_DAY = date(1900, 1, 1)
LATEST_903_DAY = date(2100, 12, 31)
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_CHILD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")  # no leading "-": a spreadsheet would run it as a formula


class Ssda903Error(ServiceError):
    """The file cannot be used: every problem found, as (row, field, message). Nothing was written."""

    def __init__(self, what: str, problems: list[RowProblem]):
        rows = len({p.row for p in problems})
        if rows == 1 and problems[0].row <= 1:
            message = f"The {what} file cannot be used: {problems[0].problem}"
        else:
            message = (f"{rows} row{'s' if rows != 1 else ''} of the {what} file "
                       f"{'have' if rows != 1 else 'has'} problems, so nothing was saved. "
                       "Correct them and upload the files again.")
        super().__init__(message)
        self.what = what
        self.problems = problems


@dataclass(frozen=True)
class HeaderRow:
    child: str
    sex: str  # "1" male, "2" female
    dob: date
    ethnic: str
    upn: str
    mother: str  # "1", "0" or blank
    mc_dob: date | None
    row: int = 0  # the row number in the file, as a spreadsheet shows it (header row 1)
    la: str = ""  # an optional LA column some councils' extracts carry (ONS or DfE code)


@dataclass(frozen=True)
class EpisodeRow:
    child: str
    decom: date
    rne: str
    ls: str
    cin: str
    place: str
    place_provider: str
    dec: date | None
    rec: str
    reason_place_change: str
    home_post: str
    pl_post: str
    urn: str
    row: int = 0
    la: str = ""


def read_903_date(text: str) -> date:
    """A 903 date: dd/mm/yyyy (or yyyy-mm-dd). ValueError with a readable message otherwise."""
    if len(text) == 10 and text[2] == "/" and text[5] == "/" and text[:2].isdigit() and text[3:5].isdigit() \
            and text[6:].isdigit() and text.isascii():  # the usual form, read without the patterns
        try:
            found = date(int(text[6:]), int(text[3:5]), int(text[:2]))
        except ValueError:
            raise ValueError(f"'{text}' is not a date like 31/03/2024") from None
        if not EARLIEST_903_DAY <= found <= LATEST_903_DAY:
            raise ValueError(f"'{text}' is not a date between 1900 and 2100")
        return found
    dmy, iso = _DMY.fullmatch(text), _ISO.fullmatch(text)
    try:
        if dmy:
            day, month, year = (int(part) for part in dmy.groups())
        elif iso:
            year, month, day = (int(part) for part in iso.groups())
        else:
            raise ValueError
        found = date(year, month, day)
    except ValueError:
        raise ValueError(f"'{text}' is not a date like 31/03/2024") from None
    if not EARLIEST_903_DAY <= found <= LATEST_903_DAY:
        raise ValueError(f"'{text}' is not a date between 1900 and 2100")
    return found


def _rows(data: bytes, columns: list[str], what: str) -> list[tuple[int, dict[str, str]]]:
    try:
        return read_csv(data, columns, max_bytes=MAX_903_BYTES, what=f"{what} rows")
    except CsvFileError as error:
        raise Ssda903Error(what, [RowProblem(1, "", error.message)]) from error


def _child(row: dict[str, str], problems: list[RowProblem], number: int) -> str:
    child = row["CHILD"]
    if not child:
        problems.append(RowProblem(number, "CHILD", "Enter the child's identifier"))
    elif len(child) > MAX_CHILD_ID or not _CHILD.fullmatch(child):
        problems.append(RowProblem(number, "CHILD", f"'{child[:20]}' is not a child identifier: up to "
                                                    f"{MAX_CHILD_ID} letters, digits, '-' or '_', starting with a letter or digit"))
    return child


def _date(row: dict[str, str], field: str, problems: list[RowProblem], number: int,
          required: bool) -> date | None:
    text = row[field]
    if not text:
        if required:
            problems.append(RowProblem(number, field, "Enter a date like 31/03/2024"))
        return None
    try:
        return read_903_date(text)
    except ValueError as error:
        problems.append(RowProblem(number, field, str(error)))
        return None


def _required(row: dict[str, str], fields: tuple[str, ...], problems: list[RowProblem], number: int) -> None:
    for field in fields:
        if not row[field]:
            problems.append(RowProblem(number, field, "This value is required"))


def read_header(data: bytes) -> list[HeaderRow]:
    """Every row of a 903 header file, or Ssda903Error naming every problem."""
    problems: list[RowProblem] = []
    found: list[HeaderRow] = []
    for number, row in _rows(data, HEADER_COLUMNS, "header"):
        before = len(problems)
        child = _child(row, problems, number)
        _required(row, ("SEX", "ETHNIC"), problems, number)
        dob = _date(row, "DOB", problems, number, required=True)
        mc_dob = _date(row, "MC_DOB", problems, number, required=False)
        if len(problems) == before and dob is not None:
            found.append(HeaderRow(child, row["SEX"], dob, row["ETHNIC"].upper(), row["UPN"],
                                   row["MOTHER"], mc_dob, row=number,
                                   la=row.get("LA", "").upper()))
    if problems:
        raise Ssda903Error("header", problems)
    return found


def count_episode_rows(data: bytes) -> int:
    """How many rows an episodes file holds, its columns and encoding checked (Ssda903Error if not), its
    cells not: for a progress count before the job reads every row with ``read_episodes``."""
    return len(_rows(data, EPISODE_COLUMNS, "episodes"))


def read_episodes(data: bytes) -> list[EpisodeRow]:
    """Every row of a 903 episodes file, or Ssda903Error naming every problem."""
    problems: list[RowProblem] = []
    found: list[EpisodeRow] = []
    for number, row in _rows(data, EPISODE_COLUMNS, "episodes"):
        before = len(problems)
        child = _child(row, problems, number)
        _required(row, ("RNE", "LS", "CIN", "PLACE"), problems, number)
        decom = _date(row, "DECOM", problems, number, required=True)
        dec = _date(row, "DEC", problems, number, required=False)
        if decom is not None and dec is not None and dec < decom:
            problems.append(RowProblem(number, "DEC", "The episode ends (DEC) before it starts (DECOM)"))
        if len(problems) == before and decom is not None:
            found.append(EpisodeRow(
                child, decom, row["RNE"].upper(), row["LS"].upper(), row["CIN"].upper(),
                row["PLACE"].upper(), row["PLACE_PROVIDER"].upper(), dec, row["REC"].upper(),
                row["REASON_PLACE_CHANGE"].upper(), row["HOME_POST"].upper(), row["PL_POST"].upper(),
                row["URN"].upper(), row=number, la=row.get("LA", "").upper()))
    if problems:
        raise Ssda903Error("episodes", problems)
    return found
