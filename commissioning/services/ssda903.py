"""A council's SSDA903 return in and out: its looked-after cohort and episodes of care.

Import: the header and episodes files of one collection year (1 April to 31 March, named by the year it
ends), read by ``commissioning.ssda903_files`` and checked here against the DfE's code lists of that year,
the year's dates, the pair of files and the council's history; all or nothing. What is kept is
pseudonymised: the council's own CHILD id, sex, month and year of birth and ethnicity per child (no UPN, no
day of birth, no mother's details), and every episode's fields. Postcodes are kept in full, as referrals
keep them: the DfE's rules and the platform's distance figures need them, and only the council and its
RCC can read the rows (row-level security).

Re-importing a year replaces that year: every stored episode open at any time in the year is replaced by
the file's, so the same file twice leaves the same rows, and a later year adds history before it.

Export: the episodes open in a collection year, the imported ones and those of placements made or ended
through the platform, in the 903 episodes layout.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from commissioning.models import (
    CareEpisode,
    Child,
    FosterHousehold,
    Home,
    LookedAfterChild,
    Placement,
    Ssda903Upload,
)
from commissioning.ssda903 import codes_in_year
from commissioning.ssda903_files import (
    EPISODE_COLUMNS,
    HEADER_COLUMNS,
    EpisodeRow,
    HeaderRow,
    Ssda903Error,
    count_episode_rows,
    read_episodes,
    read_header,
)
from rcc import audit
from rcc.audit import AuditAction, set_actor
from rcc.csv_files import RowProblem, write_csv
from rcc.db import insert_many, lost_connection, transaction
from rcc.errors import NotFound
from rcc.geography import normalise_postcode
from rcc.models import Organisation, utcnow
from rcc.tenancy import OrgKind, TenantScope, set_scope

log = logging.getLogger(__name__)

SEX_CODES = {"1": "M", "2": "F", "M": "M", "F": "F", "U": "U"}  # 903 SEX (1/2 until 2023-24) -> kept
CODED_FIELDS: dict[str, str] = {  # 903 column -> its code list in rcc/reference_data/ssda903_codes.csv
    "RNE": "reason_new_episode", "LS": "legal_status", "CIN": "category_of_need", "PLACE": "placement_type",
    "PLACE_PROVIDER": "placement_provider", "REC": "reason_episode_ceased",
    "REASON_PLACE_CHANGE": "reason_for_placement_change",
}
POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}")  # in full, one space, as the DfE asks
PROGRESS_EVERY = 5_000
# The platform's placement types as 903 PLACE codes: the code a home of that type is registered for.
# Foster care through the platform is with carers who are not relatives and not long-term (U6) until the
# council records otherwise in its own return.
PLACE_OF_TYPE = {"foster_care": "U6", "childrens_home": "K2", "supported_accommodation": "K3",
                 "residential_school": "S1", "parent_and_child": "R3", "secure": "K1"}
PROVIDER_OF_SECTOR = {"private": "PR4", "voluntary": "PR5", "local_authority": "PR2"}
# A placement with no Ofsted URN (a foster household) is returned with this URN, as the 903 guidance says.
NO_URN = "XXXXXXX"


def collection_year(day: date) -> int:
    """The 903 collection year a day falls in, named by the year it ends: 1 April 2023 to 31 March 2024 is 2024."""
    return day.year + 1 if day.month >= 4 else day.year


def year_start(year: int) -> date:
    return date(year - 1, 4, 1)


def year_end(year: int) -> date:
    return date(year, 3, 31)


def year_label(year: int) -> str:
    return f"{year - 1}-{str(year)[2:]}"


def latest_year(episodes: list[EpisodeRow]) -> int:
    """The collection year of a file whose year was not given: the year of its latest date."""
    return collection_year(max(max(e.decom, e.dec or e.decom) for e in episodes))


@dataclass(frozen=True)
class ImportResult:
    year: int
    children: int
    episodes: int
    episodes_replaced: int


def scrub_header(data: bytes) -> bytes:
    """The header file with its UPN and mother's date of birth emptied: what may be kept while the import waits.

    Raises Ssda903Error when the file cannot be read as a 903 header."""
    return _scrubbed(read_header(data))


def _scrubbed(rows: list[HeaderRow]) -> bytes:
    return write_csv(HEADER_COLUMNS + ["LA"], (
        [r.child, r.sex, r.dob.strftime("%d/%m/%Y"), r.ethnic, "", r.mother, "", r.la] for r in rows)).encode("utf-8")


def _sex(code: str) -> str:
    return SEX_CODES.get(code, code)


def check_903(council: Organisation, header: list[HeaderRow], episodes: list[EpisodeRow], year: int | None,
              history: Iterable[CareEpisode] = ()) -> tuple[int, list[RowProblem]]:
    """The collection year and every problem with the pair of files, named by row and field.

    ``history``: the council's stored episodes that the import keeps (those ending before the year)."""
    problems: list[RowProblem] = []
    if year is None:
        year = latest_year(episodes)
    first, last = year_start(year), year_end(year)
    own_codes = {code for code in (council.ons_code, council.dfe_code) if code}

    def wrong_council(row: int, la: str, what: str) -> None:
        if la and la not in own_codes:
            problems.append(RowProblem(row, f"LA ({what})", f"'{la}' is another council's code; this is "
                                                            f"{council.name}'s return ({', '.join(sorted(own_codes))})"))

    children: dict[str, HeaderRow] = {}
    for h in header:
        wrong_council(h.row, h.la, "header")
        if h.child in children:
            problems.append(RowProblem(h.row, "CHILD (header)", f"The same child is on row {children[h.child].row}"))
        children.setdefault(h.child, h)
        if h.sex not in codes_in_year("sex", year):
            problems.append(RowProblem(h.row, "SEX (header)", f"'{h.sex}' is not a 903 sex code in {year_label(year)}: "
                                                              f"{', '.join(sorted(codes_in_year('sex', year)))}"))
        if h.ethnic not in codes_in_year("ethnicity", year):
            problems.append(RowProblem(h.row, "ETHNIC (header)", f"'{h.ethnic}' is not a 903 ethnicity code"))
        if h.dob > last:
            problems.append(RowProblem(h.row, "DOB (header)", f"The child is born after the year ends ({last:%d/%m/%Y})"))
    by_child: dict[str, list[EpisodeRow]] = defaultdict(list)
    for e in episodes:
        wrong_council(e.row, e.la, "episodes")
        by_child[e.child].append(e)
        if e.child not in children:
            problems.append(RowProblem(e.row, "CHILD (episodes)", f"Child {e.child} is not in the header file"))
        elif e.decom < children[e.child].dob:
            problems.append(RowProblem(e.row, "DECOM (episodes)", "The episode starts before the child was born"))
        for column, field in CODED_FIELDS.items():
            value = getattr(e, column.lower())
            if value and value not in codes_in_year(field, year):
                problems.append(RowProblem(e.row, f"{column} (episodes)",
                                           f"'{value}' is not a 903 code for {column} in {year_label(year)}"))
        if not e.place_provider and not e.place.startswith(("P", "T")):
            problems.append(RowProblem(e.row, "PLACE_PROVIDER (episodes)", "Enter the placement provider code"))
        if e.decom > last:
            problems.append(RowProblem(e.row, "DECOM (episodes)",
                                       f"The episode starts after {year_label(year)} ends ({last:%d/%m/%Y})"))
        if e.dec is not None and not first <= e.dec <= last:
            problems.append(RowProblem(e.row, "DEC (episodes)", f"The episode ends outside {year_label(year)} "
                                                                f"({first:%d/%m/%Y} to {last:%d/%m/%Y})"))
        if bool(e.dec) != bool(e.rec):
            field, message = (("REC (episodes)", "Enter why the episode ceased, since it has an end date")
                              if e.dec else ("REC (episodes)", "The episode has not ended (no DEC), so leave "
                                                               "the reason it ceased empty"))
            problems.append(RowProblem(e.row, field, message))
        for column in ("HOME_POST", "PL_POST"):
            value = getattr(e, column.lower())
            if value and not _is_postcode(value):
                problems.append(RowProblem(e.row, f"{column} (episodes)", f"'{value}' is not a full postcode"))
        if len(e.urn) > 10:
            problems.append(RowProblem(e.row, "URN (episodes)", "An Ofsted URN is at most 10 characters"))
    kept: dict[str, list[tuple[date, date | None]]] = defaultdict(list)
    for stored in history:
        kept[stored.child_ref].append((stored.start, stored.end))
    for child, rows in by_child.items():
        rows.sort(key=lambda e: e.decom)
        for before, after in zip(rows, rows[1:], strict=False):
            if before.decom == after.decom:
                problems.append(RowProblem(after.row, "DECOM (episodes)",
                                           f"Another episode of child {child} starts the same day (row {before.row})"))
            elif before.dec is None or before.dec > after.decom:
                problems.append(RowProblem(after.row, "DECOM (episodes)",
                                           f"The episode starts before child {child}'s episode on row "
                                           f"{before.row} ends: episodes must not overlap"))
        for start, end in kept.get(child, []):
            for e in rows:
                if end is not None and start < (e.dec or date.max) and e.decom < end:
                    problems.append(RowProblem(e.row, "DECOM (episodes)",
                                               f"The episode overlaps child {child}'s stored episode of "
                                               f"{start:%d/%m/%Y} to {end:%d/%m/%Y} from an earlier year"))
    problems.sort(key=lambda p: p.row)
    return year, problems


def _is_postcode(text: str) -> bool:
    return POSTCODE.fullmatch(text) is not None


def _kept_history(session: Session, council: Organisation, year: int) -> list[CareEpisode]:
    return list(session.scalars(select(CareEpisode).where(CareEpisode.council_id == council.id,
                                                          CareEpisode.end < year_start(year))))  # type: ignore[operator]


def _in_year(year: int) -> list:  # type: ignore[type-arg]
    return [CareEpisode.start <= year_end(year),
            or_(CareEpisode.end.is_(None), CareEpisode.end >= year_start(year))]  # type: ignore[union-attr,operator]


def import_903(session: Session, council: Organisation, header_data: bytes, episodes_data: bytes,
               year: int | None = None, progress: Callable[[int], None] | None = None,
               audit_target: object | None = None) -> ImportResult:
    """Check the pair of files and replace the council's episodes of that year with them: all or nothing.

    Raises Ssda903Error naming every problem (nothing is written then)."""
    if not header_data or not header_data.strip():
        raise Ssda903Error("header", [RowProblem(1, "", "The header file is missing: upload the header and "
                                                        "the episodes file of the same year together.")])
    if not episodes_data or not episodes_data.strip():
        raise Ssda903Error("episodes", [RowProblem(1, "", "The episodes file is missing: upload the header and "
                                                          "the episodes file of the same year together.")])
    header, episodes = read_header(header_data), read_episodes(episodes_data)
    guess = year if year is not None else latest_year(episodes)
    year, problems = check_903(council, header, episodes, guess, _kept_history(session, council, guess))
    if problems:
        raise Ssda903Error("header and episodes", problems)
    if progress is not None:
        progress(len(header) + len(episodes))
    replaced = session.execute(delete(CareEpisode).where(CareEpisode.council_id == council.id, *_in_year(year))
                               .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    _save_children(session, council, header)
    rows = [{"rcc_id": council.rcc_id, "council_id": council.id, "child_ref": e.child, "start": e.decom,
             "end": e.dec, "rne": e.rne, "legal_status": e.ls, "cin": e.cin, "place": e.place,
             "place_provider": e.place_provider, "rec": e.rec, "reason_place_change": e.reason_place_change,
             "home_post": e.home_post, "pl_post": e.pl_post, "urn": e.urn, "source_year": year}
            for e in episodes]
    insert_many(session, CareEpisode.__table__, rows, batch=PROGRESS_EVERY)  # type: ignore[attr-defined]
    audit.record(session, AuditAction.SSDA903_IMPORTED, audit_target or council, year=year,
                 children=len(header), episodes=len(episodes), replaced=replaced)
    return ImportResult(year, len(header), len(episodes), replaced)


def _save_children(session: Session, council: Organisation, header: list[HeaderRow]) -> None:
    stored = {c.child_ref: c for c in session.scalars(
        select(LookedAfterChild).where(LookedAfterChild.council_id == council.id))}
    new, changed = [], []
    for h in header:
        values = {"sex": _sex(h.sex), "birth_year": h.dob.year, "birth_month": h.dob.month, "ethnicity": h.ethnic}
        found = stored.get(h.child)
        if found is None:
            new.append({"rcc_id": council.rcc_id, "council_id": council.id, "child_ref": h.child, **values})
        elif any(getattr(found, k) != v for k, v in values.items()):
            changed.append({"id": found.id, **values})
    if new:
        insert_many(session, LookedAfterChild.__table__, new)  # type: ignore[attr-defined]
    for values in changed:
        session.execute(update(LookedAfterChild).where(LookedAfterChild.id == values.pop("id"))
                        .values(**values).execution_options(synchronize_session=False))


# Export ----------------------------------------------------------------------------------------------

def export_rows(session: Session, council: Organisation, year: int) -> list[EpisodeRow]:
    """The council's episodes open at any time in the collection year, the imported and the platform's."""
    return _export(session, council, year)[0]


def _export(session: Session, council: Organisation,
            year: int) -> tuple[list[EpisodeRow], list[CareEpisode], list[Placement]]:
    stored = list(session.scalars(select(CareEpisode).where(CareEpisode.council_id == council.id, *_in_year(year))))
    found = [EpisodeRow(e.child_ref, e.start, e.rne, e.legal_status, e.cin, e.place, e.place_provider, e.end,
                        e.rec, e.reason_place_change, e.home_post, e.pl_post, e.urn) for e in stored]
    read: list[Placement] = []
    known = {(r.child, r.decom) for r in found}
    started = {r.child for r in found}
    placed = session.execute(
        select(Placement, Child, Home, Organisation)
        .join(Child, Child.id == Placement.child_id)
        .outerjoin(Home, Home.id == Placement.home_id)  # type: ignore[arg-type]  # none for a foster household
        .join(Organisation, Organisation.id == Placement.provider_id)  # type: ignore[arg-type]
        .where(Placement.council_id == council.id, Placement.start_date <= year_end(year),
               or_(Placement.end_date.is_(None), Placement.end_date >= year_start(year)))  # type: ignore[union-attr,operator]
        .order_by(Placement.start_date)).all()  # type: ignore[arg-type]
    for placement, child, home, provider in placed:
        reference = child.reference.strip()[:10]
        if (reference, placement.start_date) in known:
            continue  # the council's own return already carries it
        read.append(placement)
        place = PLACE_OF_TYPE.get(home.placement_type if home is not None else placement.placement_type, "")
        if place == "K3" and "K3" not in codes_in_year("placement_type", year):
            place = "H5"
        ended = placement.end_date is not None
        if home is not None:
            place_provider = PROVIDER_OF_SECTOR.get(provider.provider_sector or "", "PR4")
            place_postcode, urn = home.postcode or "", home.ofsted_urn[:10]
        else:  # a foster household: the council's own carers (PR1), another council's (PR2) or an agency's
            place_provider = ("PR1" if provider.id == council.id else "PR2" if provider.kind == OrgKind.COUNCIL
                              else PROVIDER_OF_SECTOR.get(provider.provider_sector or "", "PR4"))
            household = session.get(FosterHousehold, placement.foster_household_id)  # only if the council may see it
            place_postcode, urn = (household.postcode if household is not None else ""), NO_URN
        found.append(EpisodeRow(
            reference, placement.start_date, "P" if reference in started else "S", child.legal_status,
            child.category_of_need, place, place_provider,
            placement.end_date, "X1" if ended else "", (placement.end_reason or "") if ended else "",
            normalise_postcode(child.home_postcode), normalise_postcode(place_postcode), urn))
        started.add(reference)
    last = year_end(year)
    # An episode that ended after the year was still open on 31 March: the year's return shows it so.
    found = [replace(r, dec=None, rec="", reason_place_change="") if r.dec and r.dec > last else r for r in found]
    found.sort(key=lambda r: (r.child, r.decom))
    return found, stored, read


def export_rows_audited(session: Session, council: Organisation, year: int) -> list[EpisodeRow]:
    """The year's episodes (``export_rows``), their read audited: the episodes and placements in it."""
    rows, stored, placements = _export(session, council, year)
    for records in (stored, placements):
        if records:
            audit.record_read(session, AuditAction.SSDA903_EXPORTED, records, year=year)
    if not stored and not placements:
        audit.record(session, AuditAction.SSDA903_EXPORTED, council, year=year, episodes=0)
    return rows


def export_csv(session: Session, council: Organisation, year: int) -> str:
    """The 903 episodes file of the council's year: an audited read of the episodes and placements in it."""
    return write_episodes_csv(export_rows_audited(session, council, year))


def years_held(session: Session, council: Organisation) -> list[tuple[int, int, int]]:
    """(collection year, episodes open in it, children) for every year the council's history covers."""
    spans = session.execute(select(CareEpisode.child_ref, CareEpisode.start, CareEpisode.end)
                            .where(CareEpisode.council_id == council.id)).all()
    if not spans:
        return []
    first = min(collection_year(start) for _, start, _ in spans)
    last = max(collection_year(end or start) for _, start, end in spans)
    found = []
    for year in range(first, last + 1):
        open_in = [(child, start) for child, start, end in spans
                   if start <= year_end(year) and (end is None or end >= year_start(year))]
        found.append((year, len(open_in), len({child for child, _ in open_in})))
    return found


def episode_cells(r: EpisodeRow) -> list[str]:
    """One episode as the 903 layout's cells, in ``EPISODE_COLUMNS`` order; dates dd/mm/yyyy."""
    def day(d: date | None) -> str:
        return d.strftime("%d/%m/%Y") if d else ""

    return [r.child, day(r.decom), r.rne, r.ls, r.cin, r.place, r.place_provider, day(r.dec), r.rec,
            r.reason_place_change, r.home_post, r.pl_post, r.urn]


def write_episodes_csv(rows: Iterable[EpisodeRow]) -> str:
    return write_csv(EPISODE_COLUMNS, (episode_cells(r) for r in rows))


# The import as a background job (the referral upload's pattern: commissioning.services.imports) -----------

UPLOAD_STOPPED_AFTER = timedelta(minutes=2)
STOPPED_MESSAGE = "The import stopped before it finished. Nothing was saved. Upload the files again."
MAX_PROBLEMS_KEPT = 1_000
RUNNING = ("queued", "checking", "saving")


def start_upload(session: Session, council: Organisation, header_data: bytes, episodes_data: bytes,
                 file_name: str, year: int | None) -> Ssda903Upload:
    """Read both files now (a wrong file is refused at once) and keep them for the job, the header without
    its UPN and mother's date of birth. Raises Ssda903Error; the caller starts the job once this is committed."""
    if not header_data or not header_data.strip() or not episodes_data or not episodes_data.strip():
        which = "header" if not header_data or not header_data.strip() else "episodes"
        raise Ssda903Error(which, [RowProblem(1, "", f"The {which} file is missing: upload the header and the "
                                                     "episodes file of the same year together.")])
    header = read_header(header_data)
    scrubbed = _scrubbed(header)
    rows = len(header) + count_episode_rows(episodes_data)  # the job checks each row; read it once, there
    upload = Ssda903Upload(rcc_id=council.rcc_id, council_id=council.id, file_name=file_name[:200], year=year,
                           header_content=scrubbed, episodes_content=episodes_data, rows_total=rows,
                           created_by_user_id=audit.current_actor(session).user_id)
    session.add(upload)
    session.flush()
    audit.record(session, AuditAction.SSDA903_IMPORT_STARTED, upload, rows=rows, year=year)
    return upload


def get_upload(session: Session, upload_id: int) -> Ssda903Upload:
    found = session.get(Ssda903Upload, upload_id)
    if found is None:
        raise NotFound("No such import")
    return found


def upload_status(upload: Ssda903Upload, now: datetime | None = None) -> str:
    if upload.status in RUNNING and (now or utcnow()) - upload.heartbeat_at > UPLOAD_STOPPED_AFTER:
        return "stopped"
    return upload.status


def abandon_upload(session: Session, upload: Ssda903Upload, message: str) -> None:
    """The job could not be started: failed at once, with the reason, and its files dropped."""
    upload.status, upload.message = "failed", message
    _finish(upload)
    session.add(upload)
    audit.record(session, AuditAction.SSDA903_IMPORT_REFUSED, upload, problems=0)


def fail_if_stopped(session: Session, upload: Ssda903Upload, now: datetime | None = None) -> bool:
    """An import whose job died is failed and its files dropped; conditional, so a slow job is never failed."""
    now = now or utcnow()
    moved = session.execute(update(Ssda903Upload).where(
        Ssda903Upload.id == upload.id, Ssda903Upload.status.in_(RUNNING),  # type: ignore[attr-defined]
        Ssda903Upload.heartbeat_at < now - UPLOAD_STOPPED_AFTER)
        .values(status="failed", message=STOPPED_MESSAGE, header_content=None, episodes_content=None,
                finished_at=now).execution_options(synchronize_session=False))
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    session.refresh(upload)
    audit.record(session, AuditAction.SSDA903_IMPORT_REFUSED, upload, problems=0, stopped=True)
    return True


def run_upload(make_session: Callable[[], Session], upload_id: int, rcc_id: int, council_id: int,
               user_id: int | None, request_id: str | None = None) -> None:
    """The job: check every row, then save them all in one transaction, or record the problems and save
    nothing. The files are dropped either way."""
    with make_session() as session:
        set_scope(session, TenantScope.for_organisation(OrgKind.COUNCIL, council_id, rcc_id))
        set_actor(session, audit.Actor(user_id, council_id, rcc_id, request_id))
        with transaction(session):
            moved = session.execute(update(Ssda903Upload).where(Ssda903Upload.id == upload_id,
                                                                Ssda903Upload.status == "queued")
                                    .values(status="checking", heartbeat_at=utcnow()))
            if not moved.rowcount:  # type: ignore[attr-defined]
                return  # another worker has it, or it was already finished
        for attempt in (1, 2):
            try:
                with transaction(session):
                    upload = get_upload(session, upload_id)
                    council = session.get(Organisation, council_id)
                    assert council is not None
                    result = import_903(
                        session, council, upload.header_content or b"", upload.episodes_content or b"",
                        upload.year, audit_target=upload,
                        progress=lambda checked: _note_progress(make_session, upload_id, rcc_id, council_id, checked))
                    upload = get_upload(session, upload_id)
                    upload.status, upload.rows_checked = "done", upload.rows_total
                    upload.year, upload.children, upload.episodes = result.year, result.children, result.episodes
                    _finish(upload)
                    session.add(upload)
                return
            except Ssda903Error as error:
                _record_refusal(session, upload_id, error)
                return
            except Exception as error:  # noqa: BLE001 - the person is told; nothing was saved (one transaction)
                if attempt == 1 and lost_connection(error):
                    log.warning("903 import %s lost its database connection; trying once more", upload_id)
                    session.rollback()
                    continue
                log.exception("903 import %s failed", upload_id)
                _record_refusal(session, upload_id, None)
                return


def _note_progress(make_session: Callable[[], Session], upload_id: int, rcc_id: int, council_id: int,
                   checked: int) -> None:
    """Progress from its own short transaction: every row checked, the save starts now."""
    with make_session() as session:
        set_scope(session, TenantScope.for_organisation(OrgKind.COUNCIL, council_id, rcc_id))
        with transaction(session):
            session.execute(update(Ssda903Upload).where(Ssda903Upload.id == upload_id)
                            .values(rows_checked=checked, heartbeat_at=utcnow(), status="saving"))


def _finish(upload: Ssda903Upload) -> None:
    upload.header_content = upload.episodes_content = None
    upload.finished_at = upload.heartbeat_at = utcnow()


def _record_refusal(session: Session, upload_id: int, error: Ssda903Error | None) -> None:
    session.rollback()
    with transaction(session):
        upload = get_upload(session, upload_id)
        upload.status = "failed"
        upload.message = error.message if error is not None else \
            "The import failed unexpectedly, so nothing was saved. Upload the files again."
        if error is not None:
            upload.problems = [{"row": p.row, "field": p.field, "problem": p.problem}
                               for p in error.problems[:MAX_PROBLEMS_KEPT]]
            upload.rows_checked = upload.rows_total
        _finish(upload)
        session.add(upload)
        audit.record(session, AuditAction.SSDA903_IMPORT_REFUSED, upload,
                     problems=len(error.problems) if error is not None else 0)
