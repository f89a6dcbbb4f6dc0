"""Bulk input: a council's referrals from CSV, and the Ofsted provider list into the supply register.

Both read the whole file first and write nothing unless every row is valid (referrals), or
write an idempotent upsert keyed on the Ofsted URN with a summary of what happened (Ofsted).
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from commissioning.models import RATING_FROM_IMPORT, Child, Home, ReferralUpload, SiblingGroup
from commissioning.services import referrals as referral_service
from commissioning.services import supply_history
from commissioning.services.referrals import ChildDetails, ReferralDetails
from commissioning.services.sibling_groups import check_group
from commissioning.vocabulary import SIBLING_PLANS, STANDARD_PLACEMENT_TYPES
from rcc import audit, numbers, users
from rcc.audit import AuditAction, set_actor
from rcc.csv_files import CsvFileError, CsvRowErrors, RowProblem, read_csv
from rcc.db import lost_connection, transaction
from rcc.errors import NotFound
from rcc.geography import (
    REFERENCE_DATA,
    LocalAuthority,
    PostcodeNotFound,
    great_circle_miles,
    local_authority_named,
    locate,
    locate_postcode,
    normalise_postcode,
)
from rcc.models import Organisation, utcnow
from rcc.tenancy import OrgKind, TenantScope, set_scope

log = logging.getLogger(__name__)

# Referral upload ---------------------------------------------------------------------------

REFERRAL_COLUMNS: list[tuple[str, bool, str]] = [
    # (column, required, how to fill it in) — the downloadable template and the help page use these
    ("reference", True, "Your council's reference for the child (no names)"),
    ("initials", False, "Optional; only your council sees them"),
    ("birth_month", True, "1 to 12"),
    ("birth_year", True, "Like 2012"),
    ("sex", True, "F or M"),
    ("legal_status", True, "SSDA903 legal status code, like C2"),
    ("category_of_need", True, "N1 to N8"),
    ("uasc", False, "yes or no (unaccompanied asylum-seeking child)"),
    ("ehcp", False, "yes or no (education, health and care plan)"),
    ("home_postcode", True, "Full postcode, like M1 1AE"),
    ("school_postcode", False, "Full postcode, or blank"),
    ("placement_type", False, "The type to look for first: foster_care, childrens_home, supported_accommodation, "
                              "residential_school, parent_and_child or secure. Blank: the first preferred type. "
                              "Given with no suitability columns: its type preferred, the others unsuitable"),
    ("urgency", True, "emergency, within_7_days or planned"),
    ("date_needed", True, "YYYY-MM-DD, like 2027-03-27"),
    *((f"{key}_suitability", False, "preferred, suitable, unsuitable or not_specified (blank: not_specified)")
      for key in STANDARD_PLACEMENT_TYPES),
    ("communication_needs", False, "yes, no or not_specified (blank: not_specified)"),
    ("communication_requirements", False, "esol, bsl, makaton, other or none, separated by semicolons"),
    ("home_adaptation", False, "yes or no (an adapted home is needed)"),
    ("cultural_needs", False, "required, not_required, not_known or other (blank: not_known)"),
    ("living_companions", False, "solo, with_others, older_only, younger_only or no_preference (blank: no_preference)"),
    ("pets", False, "must, can, no or not_known (blank: not_known)"),
    ("additional_support", False, "additional_supervision, therapeutic_support, respite_worker, taxis_to_school, "
                                  "not_applicable, other, or blank"),
    ("risk_flags", False, "The Placements Data Standard's risks present, separated by semicolons, like "
                          "going_missing;self_harm"),
    ("risk_to_child_other", False, "Another risk to the child, in words"),
    ("risk_to_others_other", False, "Another risk to others or property, in words"),
    ("preferred_location", False, "Preferred location for the home search"),
    ("education_continuity", False, "yes or no (the child should keep their school)"),
    ("dol_order_needed", False, "yes or no (deprivation of liberty order)"),
    ("child_wishes", False, "The child's own words (never shown to providers)"),
    ("provider_summary", False, "What providers may be told about the child, in your words"),
    ("excluded_areas", False, "Local authority names separated by semicolons"),
    ("max_weekly_cost", False, "Pounds, like 4500 or 4500.50"),
    ("max_distance_miles", False, "Whole miles, like 20"),
    ("out_of_area_reason", False, "Needed if you exclude your own council's area"),
    ("sibling_group", False, "A name shared by brothers and sisters in this file, like Family A"),
    ("sibling_plan", False, "together, together_if_possible or apart; blank means together"),
    ("sibling_plan_reason", False, "Needed when sibling_plan is apart"),
]
REQUIRED_REFERRAL_COLUMNS = [name for name, required, _ in REFERRAL_COLUMNS if required]
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


def referral_template_csv() -> str:
    """The template: the header row and one example row."""
    example = {
        "reference": "ABC-1234", "initials": "JS", "birth_month": "4", "birth_year": "2012", "sex": "F",
        "legal_status": "C2", "category_of_need": "N1", "uasc": "no", "ehcp": "yes", "home_postcode": "M1 1AE",
        "school_postcode": "M13 9PL", "placement_type": "", "urgency": "planned", "date_needed": "2027-03-27",
        "foster_suitability": "preferred", "residential_suitability": "suitable",
        "supported_accommodation_suitability": "unsuitable", "communication_needs": "yes",
        "communication_requirements": "bsl", "home_adaptation": "no", "cultural_needs": "not_required",
        "living_companions": "no_preference", "pets": "can", "additional_support": "therapeutic_support",
        "risk_flags": "going_missing", "education_continuity": "yes", "dol_order_needed": "no",
        "child_wishes": "I want to stay at my school",
        "provider_summary": "Settled at school; a home within reach of it would help",
        "max_weekly_cost": "1200", "max_distance_miles": "20", "sibling_group": "Family A",
        "sibling_plan": "together"}
    example_row = [example.get(name, "") for name, _, _ in REFERRAL_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, _, _ in REFERRAL_COLUMNS])
    writer.writerow(example_row)
    return out.getvalue()


MAX_REFERRAL_ROWS = 50_000  # a large council's whole list of children looked after is under 2,000
MAX_REFERRAL_BYTES = 9 * 1024 * 1024  # 50,000 rows of the template come to about 8 MB
PROGRESS_EVERY = 2_000  # rows checked between progress updates (each is one short transaction)
MAX_PROBLEMS_KEPT = 1_000  # problems listed on the page; the count covers the rest
UPLOAD_STOPPED_AFTER = timedelta(minutes=2)  # no sign of life for this long: the job has died


@dataclass
class UploadResult:
    referrals_created: int
    sibling_groups_created: int
    submitted: bool


def read_referral_file(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's rows, or CsvFileError if the file as a whole cannot be used (including too many rows)."""
    rows = read_csv(data, REQUIRED_REFERRAL_COLUMNS, max_bytes=MAX_REFERRAL_BYTES, what="referrals")
    if len(rows) > MAX_REFERRAL_ROWS:
        raise CsvFileError(f"The file has {len(rows):,} referrals; the most in one file is {MAX_REFERRAL_ROWS:,}. "
                           "Split it into smaller files and upload each one.")
    return rows


def upload_referrals(session: Session, council: Organisation, data: bytes, submit: bool,
                     today: date | None = None,
                     progress: Callable[[int], None] | None = None) -> UploadResult:
    """Create (and optionally submit) a referral per row; all or nothing.

    Raises CsvFileError for an unusable file, or CsvRowErrors listing every bad row's field and problem.
    ``progress(rows_checked)`` is called every ``PROGRESS_EVERY`` rows while the rows are checked.
    """
    today = today or date.today()
    rows = read_referral_file(data)
    problems: list[RowProblem] = []
    parsed: list[tuple[int, ChildDetails, ReferralDetails, str]] = []
    groups: dict[str, tuple[int, str, str]] = {}
    seen_references: dict[str, int] = {}
    existing_groups = {g.name.casefold(): g for g in session.scalars(
        select(SiblingGroup).where(SiblingGroup.council_id == council.id))}
    existing_children = {c.casefold() for c in session.scalars(
        select(Child.reference).where(Child.council_id == council.id))}
    for checked, (number, row) in enumerate(rows, start=1):
        row_problems: dict[str, str] = {}
        child, details = _parse_row(row, row_problems)
        group_name = row.get("sibling_group", "")
        errors = referral_service.check_referral(session, council, child, details, today)
        errors.pop("sibling_group_id", None)
        if submit and details.date_needed and details.date_needed < today:
            errors.setdefault("date_needed", "The date needed is in the past")
        for name, message in errors.items():
            row_problems.setdefault(name, message)  # a value that could not be read keeps that message
        reference = child.reference.strip().casefold()
        if reference and reference in seen_references:
            row_problems.setdefault("reference", f"The same reference is on row {seen_references[reference]}")
        elif reference and reference in existing_children:
            row_problems.setdefault("reference", "Your council already has a child with this reference; "
                                                 "change that child's referral on its page instead")
        seen_references.setdefault(reference, number)
        if group_name:
            _check_group_row(row, number, group_name, groups, existing_groups, row_problems)
        problems += [RowProblem(number, name, message) for name, message in row_problems.items()]
        parsed.append((number, child, details, group_name))
        if progress is not None and checked % PROGRESS_EVERY == 0 and checked < len(rows):
            progress(checked)
    if problems:
        raise CsvRowErrors(problems)
    if progress is not None:
        progress(len(rows))
    return _write_referrals(session, council, parsed, groups, existing_groups, submit, today)


# The upload as a background job -----------------------------------------------------------------

def start_referral_upload(session: Session, council: Organisation, data: bytes, file_name: str,
                          submit: bool) -> ReferralUpload:
    """Check the file as a whole now (so a wrong file is refused at once) and keep it for the job.

    Raises CsvFileError; the job itself is started by the caller once this is committed.
    """
    rows = read_referral_file(data)
    upload = ReferralUpload(rcc_id=council.rcc_id, council_id=council.id, file_name=file_name[:200],
                            submit=submit, content=data, rows_total=len(rows),
                            created_by_user_id=audit.current_actor(session).user_id)
    session.add(upload)
    audit.record(session, AuditAction.REFERRAL_UPLOAD_STARTED, upload, rows=len(rows), submit=submit)
    return upload


def abandon_upload(session: Session, upload: ReferralUpload, message: str) -> None:
    """The job could not be started: the upload is failed at once, with the reason, and its file dropped."""
    upload.status, upload.message = "failed", message
    _finish(upload)
    session.add(upload)
    audit.record(session, AuditAction.REFERRAL_UPLOAD_REFUSED, upload, problems=0)


def upload_status(upload: ReferralUpload, now: datetime | None = None) -> str:
    """The upload's status as a person should read it: a job with no sign of life is "stopped"."""
    if upload.status in ("queued", "checking", "saving") and \
            (now or utcnow()) - upload.heartbeat_at > UPLOAD_STOPPED_AFTER:
        return "stopped"
    return upload.status


STOPPED_MESSAGE = "The upload stopped before it finished. Nothing was saved. Upload the file again."


def fail_if_stopped(session: Session, upload: ReferralUpload, now: datetime | None = None) -> bool:
    """An upload whose job died is failed, and the file it kept (it describes children) dropped.

    Conditional on it still being unfinished with no sign of life, so a job that is only slow and
    writes its progress meanwhile is never failed under it."""
    now = now or utcnow()
    moved = session.execute(update(ReferralUpload).where(
        ReferralUpload.id == upload.id, ReferralUpload.status.in_(("queued", "checking", "saving")),  # type: ignore[attr-defined]
        ReferralUpload.heartbeat_at < now - UPLOAD_STOPPED_AFTER)
        .values(status="failed", message=STOPPED_MESSAGE, content=None, finished_at=now)
        .execution_options(synchronize_session=False))
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    session.refresh(upload)
    audit.record(session, AuditAction.REFERRAL_UPLOAD_REFUSED, upload, problems=0, stopped=True)
    return True


def get_upload(session: Session, upload_id: int) -> ReferralUpload:
    found = session.get(ReferralUpload, upload_id)
    if found is None:
        raise NotFound("No such upload")
    return found


def run_referral_upload(make_session: Callable[[], Session], upload_id: int, rcc_id: int, council_id: int,
                        user_id: int | None, request_id: str | None = None) -> None:
    """The job: check every row (recording progress), then save them all in one transaction, or
    record the problems and save nothing. The file's bytes are dropped either way."""
    with make_session() as session:
        set_scope(session, TenantScope.for_organisation(OrgKind.COUNCIL, council_id, rcc_id))
        set_actor(session, audit.Actor(user_id, council_id, rcc_id, request_id))
        with transaction(session):
            if not _move_upload(session, upload_id, "queued", "checking"):
                return  # another worker has it, or it was already finished
        for attempt in (1, 2):
            try:
                _check_and_save(session, make_session, upload_id, rcc_id, council_id)
                return
            except (CsvRowErrors, CsvFileError) as error:
                _record_refusal(session, upload_id, error)
                return
            except Exception as error:  # noqa: BLE001 - the person is told; nothing was saved (one transaction)
                if attempt == 1 and lost_connection(error):
                    # The server rolled the save back with the connection: nothing of it was kept,
                    # so it is done again once on a fresh connection, as a request would be (rcc.web).
                    log.warning("Referral upload %s lost its database connection; trying once more", upload_id)
                    session.rollback()
                    continue
                log.exception("Referral upload %s failed", upload_id)
                _record_refusal(session, upload_id, None)
                return


def _check_and_save(session: Session, make_session: Callable[[], Session], upload_id: int, rcc_id: int,
                    council_id: int) -> None:
    with transaction(session):
        upload = get_upload(session, upload_id)
        council = session.get(Organisation, council_id)
        result = upload_referrals(session, council, upload.content or b"", upload.submit,
                                  progress=lambda checked: _note_progress(make_session, upload_id,
                                                                          rcc_id, council_id, checked))
        upload = get_upload(session, upload_id)
        upload.status, upload.rows_checked = "done", upload.rows_total
        upload.referrals_created, upload.sibling_groups_created = (result.referrals_created,
                                                                   result.sibling_groups_created)
        _finish(upload)
        session.add(upload)


def _move_upload(session: Session, upload_id: int, from_status: str, to_status: str) -> bool:
    moved = session.execute(update(ReferralUpload).where(ReferralUpload.id == upload_id,
                                                         ReferralUpload.status == from_status)
                            .values(status=to_status, heartbeat_at=utcnow()))
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def _note_progress(make_session: Callable[[], Session], upload_id: int, rcc_id: int, council_id: int,
                   checked: int) -> None:
    """Progress from its own short transaction, so the page sees it while the rows are still being checked."""
    with make_session() as session:
        set_scope(session, TenantScope.for_organisation(OrgKind.COUNCIL, council_id, rcc_id))
        with transaction(session):
            # Every row checked: the save (one transaction) starts now, with a fresh sign of life.
            session.execute(update(ReferralUpload).where(ReferralUpload.id == upload_id)
                            .values(rows_checked=checked, heartbeat_at=utcnow(),
                                    status=case((ReferralUpload.rows_total <= checked, "saving"),
                                                else_=ReferralUpload.status)))


def _finish(upload: ReferralUpload) -> None:
    upload.content = None
    upload.finished_at = upload.heartbeat_at = utcnow()


def _record_refusal(session: Session, upload_id: int, error: CsvRowErrors | CsvFileError | None) -> None:
    session.rollback()
    with transaction(session):
        upload = get_upload(session, upload_id)
        upload.status = "failed"
        if error is None:
            upload.message = "The upload failed unexpectedly, so nothing was saved. Upload the file again."
        else:
            upload.message = error.message
        if isinstance(error, CsvRowErrors):
            upload.problems = [{"row": p.row, "field": p.field, "problem": p.problem}
                               for p in error.problems[:MAX_PROBLEMS_KEPT]]
            upload.rows_checked = upload.rows_total
        _finish(upload)
        session.add(upload)
        audit.record(session, AuditAction.REFERRAL_UPLOAD_REFUSED, upload, problems=len(getattr(error, "problems", [])))


def _check_group_row(row: dict[str, str], number: int, group_name: str, groups: dict[str, tuple[int, str, str]],
                     existing: dict[str, SiblingGroup], row_problems: dict[str, str]) -> None:
    plan = row.get("sibling_plan", "").strip().lower() or "together"
    if plan not in SIBLING_PLANS:
        row_problems["sibling_plan"] = "Enter together, together_if_possible or apart"
        return
    reason = row.get("sibling_plan_reason", "")
    key = group_name.casefold()
    if key in existing:
        row_problems["sibling_group"] = (f"Your council already has a sibling group called '{group_name}'; "
                                         "use a new name, or add the child to it on the group's page")
        return
    if key in groups:
        first_row, first_plan, _ = groups[key]
        if first_plan != plan:
            row_problems["sibling_plan"] = f"Must be the same as row {first_row} for {group_name}"
        return
    errors = check_group(group_name, plan, reason)
    column = {"name": "sibling_group", "plan": "sibling_plan", "plan_reason": "sibling_plan_reason"}
    for name, message in errors.items():
        row_problems[column.get(name, name)] = message
    groups[key] = (number, plan, reason)


def _parse_row(row: dict[str, str], problems: dict[str, str]) -> tuple[ChildDetails, ReferralDetails]:
    child = ChildDetails(
        reference=row.get("reference", ""), initials=row.get("initials") or None,
        birth_month=_integer(row, "birth_month", problems), birth_year=_integer(row, "birth_year", problems),
        sex=row.get("sex", "").upper(), legal_status=row.get("legal_status", "").upper(),
        category_of_need=row.get("category_of_need", "").upper(), uasc=_yes_no(row, "uasc", problems),
        ehcp=_yes_no(row, "ehcp", problems), home_postcode=row.get("home_postcode", ""),
        school_postcode=row.get("school_postcode") or None)
    if row.get("needs", "").strip():
        problems["needs"] = ("Needs are no longer a column: they come from the Placements Data Standard's answers "
                             "(communication_requirements, home_adaptation, cultural_needs, living_companions, pets, "
                             "additional_support)")
    suitability_columns = [f"{key}_suitability" for key in STANDARD_PLACEMENT_TYPES]
    suitability = ({key: (row.get(f"{key}_suitability", "").strip().lower() or "not_specified")
                    for key in STANDARD_PLACEMENT_TYPES}
                   if any(row.get(name, "").strip() for name in suitability_columns) else None)
    details = ReferralDetails(
        placement_type=row.get("placement_type", "").strip().lower(), urgency=row.get("urgency", "").lower(),
        date_needed=_date(row, "date_needed", problems), suitability=suitability,
        communication_needs=row.get("communication_needs", "").strip().lower() or "not_specified",
        communication_requirements=_keys(row, "communication_requirements"),
        home_adaptation=_yes_no(row, "home_adaptation", problems),
        cultural_needs=row.get("cultural_needs", "").strip().lower() or "not_known",
        living_companions=row.get("living_companions", "").strip().lower() or "no_preference",
        pets=row.get("pets", "").strip().lower() or "not_known",
        additional_support=row.get("additional_support", "").strip().lower() or None,
        risk_flags=_keys(row, "risk_flags"), risk_to_child_other=row.get("risk_to_child_other") or None,
        risk_to_others_other=row.get("risk_to_others_other") or None,
        preferred_location=row.get("preferred_location") or None,
        education_continuity=_yes_no(row, "education_continuity", problems),
        dol_order_needed=_yes_no(row, "dol_order_needed", problems),
        child_wishes=row.get("child_wishes", ""), provider_summary=row.get("provider_summary", ""),
        excluded_areas=[a.strip() for a in row.get("excluded_areas", "").split(";") if a.strip()],
        max_weekly_cost=_pence(row, "max_weekly_cost", problems),
        max_distance_miles=_integer(row, "max_distance_miles", problems),
        out_of_area_reason=row.get("out_of_area_reason") or None)
    return child, details


def _integer(row: dict[str, str], name: str, problems: dict[str, str]) -> int | None:
    try:
        return numbers.whole_number(row.get(name, ""))
    except ValueError as error:
        problems[name] = f"'{row.get(name)}' {error}"
        return None


def _pence(row: dict[str, str], name: str, problems: dict[str, str]) -> int | None:
    try:
        return numbers.pence(row.get(name, ""))
    except ValueError as error:
        problems[name] = f"'{row.get(name)}' {error}"
        return None


def _date(row: dict[str, str], name: str, problems: dict[str, str]) -> date | None:
    text = row.get(name, "")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems[name] = f"'{text}' is not a date in the form YYYY-MM-DD, like 2027-03-27"
        return None


def _yes_no(row: dict[str, str], name: str, problems: dict[str, str]) -> bool:
    text = row.get(name, "").lower()
    if text not in YES | NO:
        problems[name] = "Enter yes or no"
    return text in YES


def _keys(row: dict[str, str], name: str) -> list[str]:
    return [key.strip().lower() for key in row.get(name, "").split(";") if key.strip()]


def _write_referrals(session: Session, council: Organisation,
                     parsed: list[tuple[int, ChildDetails, ReferralDetails, str]],
                     groups: dict[str, tuple[int, str, str]], existing: dict[str, SiblingGroup],
                     submit: bool, today: date) -> UploadResult:
    from commissioning.services.sibling_groups import create_sibling_group  # noqa: PLC0415

    created_groups: dict[str, SiblingGroup] = {}
    names = {name.casefold(): name for _, _, _, name in parsed if name}
    for key, (_, plan, reason) in groups.items():
        created_groups[key] = create_sibling_group(session, council, names[key], plan, reason)
    session.flush()
    for _, _child, details, group_name in parsed:
        if group_name:
            details.sibling_group_id = created_groups[group_name.casefold()].id
    ids = referral_service.create_referrals_in_bulk(
        session, council, [(child, details) for _, child, details, _ in parsed], submit, today)
    audit.record(session, AuditAction.REFERRAL_UPLOADED, council, referrals=len(ids), submitted=submit,
                 first_referral_id=min(ids, default=None), last_referral_id=max(ids, default=None))
    return UploadResult(len(parsed), len(created_groups), submit)


# Ofsted provider list ----------------------------------------------------------------------

OFSTED_FILE = REFERENCE_DATA / "ofsted_providers.csv"
OFSTED_COLUMNS = ["urn", "provider_type", "sector", "local_authority", "region", "registered_places",
                  "overall_effectiveness", "organisation", "postcode", "name", "latest_inspection_date"]
MAX_OFSTED_BYTES = 20 * 1024 * 1024
MAX_URN_LENGTH = 20  # the home.ofsted_urn column; Ofsted's URNs are 6 to 8 characters
MAX_REGISTERED_PLACES = 1_000  # the largest registered setting in England has fewer than 200 places

# Ofsted provider type -> our placement type; None means skipped, with the reason.
OFSTED_TYPES: dict[str, str | None] = {
    "Children's home": "childrens_home",
    "Secure children's home": "secure",
    "Residential Special School": "residential_school",
    "Residential special school (registered as a children's home)": "residential_school",
    "Boarding School": "residential_school",
    "Residential Family Centre": "parent_and_child",
    "Independent Fostering Agency": "foster_care",
}
SKIP_REASONS: dict[str, str] = {
    "Voluntary Adoption Agency": "adoption agency: no placement type",
    "Adoption Support Agency": "adoption support: no placement type",
    "Further Education College with Residential Accommodation": "college accommodation: not a placement",
    "Residential Holiday Scheme for Disabled Children": "holiday scheme: not a placement",
    "Secure Training Centre": "youth custody, not commissioned by councils",
}
# The Ofsted list uses 2022 names (rcc/reference_data/README.md).
OFSTED_NAMES_2022 = {
    "Durham": "County Durham",
    "St Helens": "St. Helens",
    "Herefordshire": "Herefordshire, County of",
    "Kingston upon Hull": "Kingston upon Hull, City of",
    "Bristol": "Bristol, City of",
    "Bournemouth, Christchurch & Poole": "Bournemouth, Christchurch and Poole",
    "Southend on Sea": "Southend-on-Sea",
}
CUMBRIA_SUCCESSORS = ("Cumberland", "Westmorland and Furness")
RATINGS = {"Outstanding": "outstanding", "Good": "good", "Requires improvement to be good": "requires_improvement",
           "Inadequate": "inadequate", "": "not_yet_inspected"}
SECTORS = {"Private": "private", "Voluntary": "voluntary", "Local Authority": "local_authority",
           "Health Authority": "local_authority", "Academy": "voluntary"}
# Starting values for what only a provider knows; the import never overwrites them later.
DEFAULT_AGES = {"foster_care": (0, 17), "childrens_home": (8, 17), "secure": (10, 17),
                "residential_school": (8, 18), "parent_and_child": (0, 17), "supported_accommodation": (16, 18)}
DEFAULT_SIBLING_GROUP = {"foster_care": 3, "childrens_home": 2}
IFA_NOTE = ("Independent fostering agencies are imported as a provider with one foster care record at their "
            "office, with 0 registered places until the agency gives its carers' capacity.")


@dataclass
class ImportSummary:
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    outside_region: int = 0
    providers_created: int = 0
    skipped: list[tuple[int, str, str, str]] = field(default_factory=list)  # (row, urn, name, reason)
    notes: list[str] = field(default_factory=list)

    @property
    def skip_reasons(self) -> Counter[str]:
        return Counter(reason for _, _, _, reason in self.skipped)

    @property
    def accounted_for(self) -> int:
        return self.created + self.updated + self.unchanged + self.outside_region + len(self.skipped)


def import_ofsted(session: Session, rcc: Organisation, data: bytes | None = None,
                  path: Path | None = None) -> ImportSummary:
    """Upsert the region's homes (and their provider organisations) from the Ofsted list."""
    raw = data if data is not None else Path(path or OFSTED_FILE).read_bytes()
    rows = read_csv(raw, OFSTED_COLUMNS, max_bytes=MAX_OFSTED_BYTES, what="providers")
    members = {c.name for c in users.member_councils(session, rcc.id)}
    if not members:
        raise CsvFileError(f"{rcc.name} has no member councils yet, so no home is in its region.")
    homes = {h.ofsted_urn: h for h in session.scalars(select(Home).where(Home.rcc_id == rcc.id))}
    providers = {_provider_key(p.name): p for p in session.scalars(select(Organisation).where(
        Organisation.rcc_id == rcc.id, Organisation.kind == OrgKind.PROVIDER))}
    summary = ImportSummary(rows_read=len(rows), notes=[IFA_NOTE])
    seen: set[str] = set()
    before = {urn: supply_history.supply_key(home) for urn, home in homes.items()}
    for number, row in rows:
        outcome = _import_row(session, rcc, row, members, homes, providers, summary, seen)
        if outcome is not None:
            summary.skipped.append((number, row.get("urn", ""), row.get("name", ""), outcome))
    supply_history.record_many(session, [home for urn, home in homes.items()
                                         if before.get(urn) != supply_history.supply_key(home)],
                               supply_history.OFSTED_IMPORT)
    audit.record(session, AuditAction.SUPPLY_OFSTED_IMPORTED, rcc, created=summary.created, updated=summary.updated,
                 unchanged=summary.unchanged, skipped=len(summary.skipped), outside_region=summary.outside_region,
                 providers_created=summary.providers_created)
    return summary


def _import_row(session: Session, rcc: Organisation, row: dict[str, str], members: set[str],
                homes: dict[str, Home], providers: dict[str, Organisation], summary: ImportSummary,
                seen: set[str]) -> str | None:
    """Import one row; returns a reason if skipped."""
    urn = row["urn"]
    if not (urn.isascii() and urn.isalnum()) or len(urn) > MAX_URN_LENGTH:
        return "no valid URN"
    if urn in seen:
        return "the same URN is on an earlier row"
    seen.add(urn)
    authority, problem = _authority_of(row)
    if authority is None:
        if problem == "cumbria" and not members & set(CUMBRIA_SUCCESSORS):
            summary.outside_region += 1
            return None
        if problem == "cumbria":
            return "Cumbria split in 2023 and the row has no postcode to tell which successor council it is in"
        return problem
    if authority.name not in members:
        summary.outside_region += 1
        return None
    provider_type = row["provider_type"]
    if provider_type not in OFSTED_TYPES:
        return SKIP_REASONS.get(provider_type, f"provider type '{provider_type}' has no placement type")
    placement_type = OFSTED_TYPES[provider_type]
    assert placement_type is not None
    places_text = row["registered_places"]
    try:
        places = numbers.whole_number(places_text, maximum=MAX_REGISTERED_PLACES) or 0
    except ValueError as error:
        return f"registered places '{places_text}' {error}"
    provider = _provider_for(session, rcc, row, providers, summary)
    postcode, point, precision = _located(row, authority)
    values = {
        "name": row["name"].strip() or f"Ofsted {urn}", "placement_type": placement_type,
        "local_authority": authority.name, "registered_places": places,
        "ofsted_rating": RATINGS.get(row["overall_effectiveness"], "not_yet_inspected"),
        "rating_date": _iso_date(row["latest_inspection_date"]), "provider_id": provider.id,
    }
    home = homes.get(urn)
    if home is not None and home.rating_source != RATING_FROM_IMPORT:
        values["rating_source"] = RATING_FROM_IMPORT  # the import now vouches for the rating
    if home is None:
        age_min, age_max = DEFAULT_AGES[placement_type]
        home = Home(rcc_id=rcc.id, ofsted_urn=urn, age_min=age_min, age_max=age_max,
                    max_sibling_group=DEFAULT_SIBLING_GROUP.get(placement_type, 1),
                    dol_capable=placement_type == "secure", postcode=postcode,
                    latitude=point.latitude, longitude=point.longitude,
                    location_precision=precision,
                    rating_source=RATING_FROM_IMPORT, rating_recorded_at=utcnow(), **values)
        session.add(home)
        homes[urn] = home
        summary.created += 1
        return None
    # The provider's own name for the home, and an agency's carers' places (Ofsted lists an agency with 0),
    # are theirs to keep: the import set them once, when it made the home.
    del values["name"]
    if placement_type == "foster_care" and places == 0:
        del values["registered_places"]
    if postcode is not None and home.postcode != postcode:
        values.update(postcode=postcode, latitude=point.latitude, longitude=point.longitude,
                      location_precision=precision)
    elif postcode is None and home.location_precision == "local_authority" and home.local_authority != authority.name:
        values.update(latitude=point.latitude, longitude=point.longitude)  # still at its council's centre
    changed = {name: value for name, value in values.items() if getattr(home, name) != value}
    if not changed:
        summary.unchanged += 1
        return None
    for name, value in changed.items():
        setattr(home, name, value)
    if {"ofsted_rating", "rating_date", "rating_source"} & changed.keys():
        home.rating_recorded_at, home.rating_recorded_by = utcnow(), None
    session.add(home)
    summary.updated += 1
    return None


def _authority_of(row: dict[str, str]) -> tuple[LocalAuthority | None, str]:
    name = row["local_authority"].strip()
    if name == "Cumbria":
        # Split in 2023: place by the postcode, when the row has one.
        successors = [la for n in CUMBRIA_SUCCESSORS if (la := local_authority_named(n))]
        try:
            point = locate_postcode(row["postcode"]) if row["postcode"] else None
        except PostcodeNotFound:
            point = None
        if point is None:
            return None, "cumbria"
        return min(successors, key=lambda la: great_circle_miles(la.centre, point)), ""
    authority = local_authority_named(OFSTED_NAMES_2022.get(name, name))
    if authority is None:
        return None, f"local authority '{name}' is not one we can place"
    return authority, ""


def _located(row: dict[str, str], authority: LocalAuthority):  # type: ignore[no-untyped-def]
    """(postcode, point, precision): the row's postcode if it has one we can place (at its own centroid,
    else its sector's or outcode's), else its council's centre."""
    if row["postcode"]:
        try:
            where = locate(row["postcode"])
            return normalise_postcode(row["postcode"]), where.point, where.precision
        except PostcodeNotFound:
            pass
    return None, authority.centre, "local_authority"


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def provider_display_name(name: str) -> str:
    """Ofsted writes some groups in capitals; show them as people write them."""
    name = " ".join(name.split())
    return name.title() if name.isupper() else name


def _provider_key(name: str) -> str:
    return provider_display_name(name).casefold()


def _provider_for(session: Session, rcc: Organisation, row: dict[str, str], providers: dict[str, Organisation],
                  summary: ImportSummary) -> Organisation:
    """The owning organisation, created once; a home with no named owner is its own provider."""
    name = provider_display_name(row["organisation"] or row["name"] or f"Ofsted {row['urn']}")
    key = _provider_key(name)
    if key not in providers:
        ifa_urn = row["urn"] if row["provider_type"] == "Independent Fostering Agency" else None
        providers[key] = users.add_provider(session, rcc, name, SECTORS.get(row["sector"], "private"), ifa_urn)
        summary.providers_created += 1
    return providers[key]
