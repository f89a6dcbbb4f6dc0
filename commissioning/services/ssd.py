"""A council's Standard Safeguarding Dataset (SSD) extract, to pre-fill referrals.

The SSD (data-to-insight/ssd-data-model, MIT) is a set of tables a council builds from its case
management system (Liquidlogic, Mosaic, ...). This reads four of them as CSV, by the column names
of the SSD's specification (``data/objects/<table>.yml`` at commit
4987c73f5369395fa873397277fb8a66e9aa5243):

  ssd_person        pers_person_id, pers_sex, pers_dob (pers_forename, pers_surname,
                    pers_common_child_id (NHS number) and every other column are never read)
  ssd_legal_status  lega_person_id, lega_legal_status, lega_legal_status_start_date, lega_legal_status_end_date
  ssd_cla_episodes  clae_person_id, clae_cla_episode_start_date, clae_cla_primary_need_code,
                    clae_cla_episode_ceased_date
  ssd_cla_placement clap_person_id, clap_cla_placement_start_date, clap_cla_placement_type,
                    clap_cla_placement_end_date

and keeps, for each child under 18 with a care episode open on the day of import, what the 903
import keeps: the person id as the council's reference, month and year of birth, sex, the legal
status and primary need code in force, and the current placement's SSDA903 type. Every row is
checked; one problem anywhere (named by table, row and column) and nothing is kept. A new import
replaces the council's previous one. ``prefill`` turns one child into the referral form's answers;
nothing about the referral is saved until the officer submits the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from commissioning.models import SsdChild
from commissioning.services.referrals import ChildDetails
from commissioning.ssda903 import categories_of_need, codes, legal_statuses
from commissioning.vocabulary import PLACEMENT_TYPES
from rcc.csv_files import CsvFileError, CsvRowErrors, RowProblem, read_csv
from rcc.models import Organisation, utcnow
from rcc.web import parse_day

TABLES: dict[str, tuple[str, ...]] = {
    "ssd_person": ("pers_person_id", "pers_sex", "pers_dob"),
    "ssd_legal_status": ("lega_person_id", "lega_legal_status", "lega_legal_status_start_date",
                         "lega_legal_status_end_date"),
    "ssd_cla_episodes": ("clae_person_id", "clae_cla_episode_start_date", "clae_cla_primary_need_code",
                         "clae_cla_episode_ceased_date"),
    "ssd_cla_placement": ("clap_person_id", "clap_cla_placement_start_date", "clap_cla_placement_type",
                          "clap_cla_placement_end_date"),
}
SEXES = {"M": "M", "MALE": "M", "1": "M", "F": "F", "FEMALE": "F", "2": "F"}
UNSTATED_SEXES = {"", "U", "I", "UNKNOWN", "INDETERMINATE", "0", "9"}
MAX_SSD_BYTES = 20 * 1024 * 1024


@dataclass
class _Person:
    row: int
    reference: str
    birth: date
    sex: str | None
    legal: list[tuple[date, date | None, str]] = field(default_factory=list)
    episodes: list[tuple[date, date | None, str]] = field(default_factory=list)
    placements: list[tuple[date, date | None, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    children: int
    people_left_out: int


def _day(value: str, table: str, row: int, column: str, problems: list[RowProblem],
         required: bool = True) -> date | None:
    text = (value or "").strip().replace("T", " ").split(" ")[0]
    if not text:
        if required:
            problems.append(RowProblem(row, f"{table}.{column}", "Enter a date"))
        return None
    try:
        return parse_day(text)
    except ValueError as error:
        try:  # parse_day keeps to this century; an extract also holds adults (parents) born before it
            older = date.fromisoformat(text)
            if older.year >= 1900:
                return older
        except ValueError:
            pass
        problems.append(RowProblem(row, f"{table}.{column}", str(error)))
        return None


def _in_force(spans: list[tuple[date, date | None, str]], on: date) -> tuple[date, str] | None:
    """The (start, value) of the latest span open on ``on``."""
    found = [(start, value) for start, end, value in spans if start <= on and (end is None or end >= on)]
    return max(found) if found else None


def read_extract(files: dict[str, bytes], today: date) -> tuple[list[_Person], int]:
    """The children in care on ``today`` and how many people were left out; CsvFileError or
    CsvRowErrors (field ``table.column``) if anything is wrong."""
    missing = [name for name in TABLES if name not in files]
    if missing:
        raise CsvFileError(f"Upload all four SSD tables: {', '.join(missing)} missing")
    rows = {}
    for name, columns in TABLES.items():
        try:
            rows[name] = read_csv(files[name], columns, max_bytes=MAX_SSD_BYTES, what=name)
        except CsvFileError as error:
            raise CsvFileError(f"{name}: {error.message}") from error
    problems: list[RowProblem] = []
    people: dict[str, _Person] = {}
    for number, row in rows["ssd_person"]:
        reference = row["pers_person_id"].strip()
        if not reference or len(reference) > 40:
            problems.append(RowProblem(number, "ssd_person.pers_person_id", "Enter the person id (up to 40 characters)"))
            continue
        if reference in people:
            problems.append(RowProblem(number, "ssd_person.pers_person_id",
                                       f"Person {reference} is also on row {people[reference].row}"))
            continue
        sex_text = row["pers_sex"].strip().upper()
        if sex_text not in SEXES and sex_text not in UNSTATED_SEXES:
            problems.append(RowProblem(number, "ssd_person.pers_sex", f"'{row['pers_sex']}' is not M, F, U or I"))
        birth = _day(row["pers_dob"], "ssd_person", number, "pers_dob", problems)
        if birth is not None and birth > today:
            problems.append(RowProblem(number, "ssd_person.pers_dob", "The date of birth is in the future"))
        if birth is not None:
            people[reference] = _Person(number, reference, birth, SEXES.get(sex_text))
    placement_codes = codes("placement_type")
    for table, prefix, code_column, start_column, end_column, known, kept in (
            ("ssd_legal_status", "lega", "lega_legal_status", "lega_legal_status_start_date",
             "lega_legal_status_end_date", legal_statuses(), "legal"),
            ("ssd_cla_episodes", "clae", "clae_cla_primary_need_code", "clae_cla_episode_start_date",
             "clae_cla_episode_ceased_date", categories_of_need(), "episodes"),
            ("ssd_cla_placement", "clap", "clap_cla_placement_type", "clap_cla_placement_start_date",
             "clap_cla_placement_end_date", placement_codes, "placements")):
        for number, row in rows[table]:
            reference = row[f"{prefix}_person_id"].strip()
            person = people.get(reference)
            if person is None:
                problems.append(RowProblem(number, f"{table}.{prefix}_person_id",
                                           f"Person {reference or '(blank)'} is not in ssd_person"))
            code = row[code_column].strip().upper()
            if code not in known:
                problems.append(RowProblem(number, f"{table}.{code_column}",
                                           f"'{row[code_column]}' is not an SSDA903 code ({', '.join(sorted(known))})"))
            start = _day(row[start_column], table, number, start_column, problems)
            end = _day(row[end_column], table, number, end_column, problems, required=False)
            if start is not None and end is not None and end < start:
                problems.append(RowProblem(number, f"{table}.{end_column}", "Ends before it starts"))
            if person is not None and start is not None and code in known:
                getattr(person, kept).append((start, end, code))
    if problems:
        raise CsvRowErrors(problems)
    children = [p for p in people.values() if _in_force(p.episodes, today) is not None
                and _age(p.birth, today) < 18]
    return children, len(people) - len(children)


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def import_extract(session: Session, council: Organisation, files: dict[str, bytes],
                   today: date | None = None) -> ImportResult:
    """Replace the council's SSD children with those in ``files`` (all, or none: see ``read_extract``)."""
    today = today or date.today()
    children, left_out = read_extract(files, today)
    now = utcnow()
    session.execute(delete(SsdChild).where(SsdChild.council_id == council.id))
    values = []
    for person in children:
        episode = _in_force(person.episodes, today)
        legal = _in_force(person.legal, today)
        placement = _in_force(person.placements, today)
        values.append({
            "rcc_id": council.rcc_id, "council_id": council.id, "reference": person.reference,
            "birth_month": person.birth.month, "birth_year": person.birth.year, "sex": person.sex,
            "legal_status": legal[1] if legal else None, "category_of_need": episode[1] if episode else None,
            "episode_start": episode[0] if episode else None,
            "placement_code": placement[1] if placement else None,
            "placement_start": placement[0] if placement else None, "imported_at": now})
    if values:
        session.execute(insert(SsdChild), values)
    return ImportResult(len(values), left_out)


def children(session: Session) -> list[SsdChild]:
    """The children of the session's council's latest extract (or every council's for the RCC)."""
    return list(session.scalars(select(SsdChild).order_by(SsdChild.council_id, SsdChild.reference)))


def platform_type_of(placement_code: str | None) -> str:
    """The platform's placement type grouping an SSDA903 placement code ('' when none does)."""
    return next((key for key, kind in PLACEMENT_TYPES.items() if placement_code in kind.ssda903_codes), "")


def prefill(child: SsdChild) -> tuple[ChildDetails, str]:
    """The referral form's child answers, and the type to look for first (the current placement's)."""
    details = ChildDetails(reference=child.reference, birth_month=child.birth_month, birth_year=child.birth_year,
                           sex=child.sex or "", legal_status=child.legal_status or "",
                           category_of_need=child.category_of_need or "")
    return details, platform_type_of(child.placement_code)
