"""Referrals: a council asks for a home for a child, and the referral moves through its lifecycle.

Every change of status goes through ``_move``, which checks the move against
``commissioning.lifecycle.TRANSITIONS``, writes a ``ReferralEvent`` (who, when, why)
and an audit row, all in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning import lifecycle
from commissioning.lifecycle import (
    DRAFT,
    ENDED,
    IN_MATCHING,
    OFFERED,
    OPEN_STATUSES,
    PLACED,
    PROPOSAL_APPROVED,
    SUBMITTED,
    WITHDRAWN,
)
from commissioning.models import Child, Home, Referral, ReferralEvent, SiblingGroup
from commissioning.ssda903 import categories_of_need, legal_statuses
from commissioning.vocabulary import (
    ADDITIONAL_SUPPORT,
    COMMUNICATION_NEEDS,
    COMMUNICATION_REQUIREMENTS,
    CULTURAL_NEEDS,
    LIVING_COMPANIONS,
    PETS,
    PLACEMENT_TYPES,
    RISK_FLAGS,
    SEXES,
    STANDARD_PLACEMENT_TYPES,
    SUITABILITIES,
    URGENCIES,
    matching_needs,
    standard_type_of,
    suitability_for,
)
from rcc import audit, users
from rcc.audit import AuditAction
from rcc.db import lock, transition
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.geography import PostcodeNotFound, local_authority_named, locate_postcode, normalise_postcode
from rcc.models import Organisation, utcnow
from rcc.tenancy import OrgKind
from rcc.versions import save_edit

EDITABLE_STATUSES = (DRAFT, SUBMITTED)
MAX_WISHES = 4000
MAX_PROVIDER_SUMMARY = 2000
MAX_REASON = 2000
# The audit action for each move into a status.
MOVE_ACTIONS: dict[str, AuditAction] = {
    SUBMITTED: AuditAction.REFERRAL_SUBMITTED,
    IN_MATCHING: AuditAction.REFERRAL_IN_MATCHING,
    OFFERED: AuditAction.REFERRAL_OFFERED,
    PROPOSAL_APPROVED: AuditAction.REFERRAL_PROPOSAL_APPROVED,
    PLACED: AuditAction.REFERRAL_PLACED,
    ENDED: AuditAction.REFERRAL_ENDED,
    WITHDRAWN: AuditAction.REFERRAL_WITHDRAWN,
}


@dataclass
class ChildDetails:
    """What a council tells us about the child (pseudonymised: no name)."""

    reference: str = ""
    initials: str | None = None
    birth_month: int | None = None
    birth_year: int | None = None
    sex: str = ""
    legal_status: str = ""
    category_of_need: str = ""
    uasc: bool = False
    ehcp: bool = False
    home_postcode: str = ""
    school_postcode: str | None = None


@dataclass
class ReferralDetails:
    """What the council asks for, in the Placements Data Standard's terms. ``max_weekly_cost`` is in pence.

    ``suitability`` is standard type key -> suitability key for all three types. Left as None
    (a caller that names only ``placement_type``, like an older CSV), the type's standard type is
    preferred and the other two unsuitable. ``placement_type`` may be empty when suitabilities are
    given: it is then the first preferred (else suitable) type. ``risk_flags`` are the risks present.
    """

    placement_type: str = ""
    urgency: str = ""
    date_needed: date | None = None
    suitability: dict[str, str] | None = None
    communication_needs: str = "not_specified"
    communication_requirements: list[str] = field(default_factory=list)
    home_adaptation: bool = False
    cultural_needs: str = "not_known"
    living_companions: str = "no_preference"
    pets: str = "not_known"
    additional_support: str | None = None
    risk_flags: list[str] = field(default_factory=list)
    risk_to_child_other: str | None = None
    risk_to_others_other: str | None = None
    preferred_location: str | None = None
    education_continuity: bool = False
    dol_order_needed: bool = False
    child_wishes: str = ""
    provider_summary: str = ""  # what providers are told about the child, written by the council
    excluded_provider_ids: list[int] = field(default_factory=list)
    excluded_home_ids: list[int] = field(default_factory=list)
    excluded_areas: list[str] = field(default_factory=list)
    max_weekly_cost: int | None = None
    max_distance_miles: int | None = None
    out_of_area_reason: str | None = None
    sibling_group_id: int | None = None


# Checking what was sent ------------------------------------------------------------------

def check_child(child: ChildDetails, today: date) -> dict[str, str]:
    """Field name -> problem, for everything wrong with ``child``."""
    errors: dict[str, str] = {}
    reference = (child.reference or "").strip()
    if not reference:
        errors["reference"] = "Enter your council's reference for the child"
    elif len(reference) > 40:
        errors["reference"] = "Your reference must be 40 characters or fewer"
    if child.initials and (len(child.initials.strip()) > 5 or not child.initials.strip().replace(" ", "").isalpha()):
        errors["initials"] = "Initials must be up to 5 letters, like JS"
    if child.birth_month is None or not 1 <= child.birth_month <= 12:
        errors["birth_month"] = "Enter the month of birth as a number from 1 to 12"
    if child.birth_year is None:
        errors["birth_year"] = "Enter the year of birth, like 2012"
    elif not today.year - 18 <= child.birth_year <= today.year:
        errors["birth_year"] = f"Year of birth must be between {today.year - 18} and {today.year}"
    elif child.birth_month and 1 <= child.birth_month <= 12:
        if (child.birth_year, child.birth_month) > (today.year, today.month):
            errors["birth_year"] = "Date of birth must be in the past"
        elif _age(child.birth_year, child.birth_month, today) >= 18:
            errors["birth_year"] = "The child must be under 18"
    if child.sex not in SEXES:
        errors["sex"] = "Select the child's sex"
    if child.legal_status not in legal_statuses():
        errors["legal_status"] = "Select the child's legal status (an SSDA903 code, like C2)"
    if child.category_of_need not in categories_of_need():
        errors["category_of_need"] = "Select the category of need (N1 to N8)"
    if not (child.home_postcode or "").strip():
        errors["home_postcode"] = "Enter the child's home postcode"
    else:
        _check_postcode(child.home_postcode, "home_postcode", errors)
    if child.school_postcode and child.school_postcode.strip():
        _check_postcode(child.school_postcode, "school_postcode", errors)
    return errors


def _check_postcode(text: str, field_name: str, errors: dict[str, str]) -> None:
    try:
        locate_postcode(text)
    except PostcodeNotFound as problem:
        errors[field_name] = str(problem)


def _age(birth_year: int, birth_month: int, on: date) -> int:
    return on.year - birth_year - (1 if on.month < birth_month else 0)


def check_referral(session: Session, council: Organisation, child: ChildDetails, details: ReferralDetails,
                   today: date) -> dict[str, str]:
    """Field name -> problem, for everything wrong with the child's details and the request."""
    errors = check_child(child, today)
    errors.update(_check_standard_answers(details))
    if details.urgency not in URGENCIES:
        errors["urgency"] = "Select how urgently the placement is needed"
    if details.date_needed is None:
        errors["date_needed"] = "Enter the date the placement is needed, like 27 3 2027"
    elif details.date_needed.year > today.year + 2:
        errors["date_needed"] = "Date needed must be within the next 2 years"
    elif ("birth_year" not in errors and "birth_month" not in errors and child.birth_year and child.birth_month
            and _age(child.birth_year, child.birth_month, details.date_needed) >= 18):
        errors["date_needed"] = ("The young person will be 18 by the date the placement is needed: "
                                 "a children's placement must start before their 18th birthday")
    unknown_risks = set(details.risk_flags) - set(RISK_FLAGS)
    if unknown_risks:
        errors["risk_flags"] = (f"Risks must be from the Placements Data Standard's list "
                                f"({', '.join(RISK_FLAGS)}); not {', '.join(sorted(unknown_risks))}")
    if len(details.child_wishes or "") > MAX_WISHES:
        errors["child_wishes"] = f"The child's wishes must be {MAX_WISHES:,} characters or fewer"
    if len(details.provider_summary or "") > MAX_PROVIDER_SUMMARY:
        errors["provider_summary"] = f"The summary for providers must be {MAX_PROVIDER_SUMMARY:,} characters or fewer"
    if details.max_weekly_cost is not None and details.max_weekly_cost <= 0:
        errors["max_weekly_cost"] = "Maximum weekly cost must be more than £0"
    if details.max_distance_miles is not None and not 1 <= details.max_distance_miles <= 1000:
        errors["max_distance_miles"] = "Distance must be between 1 and 1,000 miles"
    unknown_areas = [a for a in details.excluded_areas if local_authority_named(a) is None]
    if unknown_areas:
        errors["excluded_areas"] = f"These are not English local authorities: {', '.join(unknown_areas)}"
    if len(details.out_of_area_reason or "") > MAX_REASON:
        errors["out_of_area_reason"] = f"The reason must be {MAX_REASON:,} characters or fewer"
    own_area = local_authority_named(council.name)
    excludes_own_area = own_area is not None and own_area.name in {
        la.name for a in details.excluded_areas if (la := local_authority_named(a))}
    if excludes_own_area and not (details.out_of_area_reason or "").strip():
        errors["out_of_area_reason"] = "Say why the child should live outside your council's area"
    if ("birth_year" not in errors and "birth_month" not in errors and details.date_needed and child.birth_year
            and child.birth_month and _age(child.birth_year, child.birth_month, details.date_needed) < 16):
        if details.placement_type == "supported_accommodation":
            errors["placement_type"] = "Supported accommodation is only for young people aged 16 or 17"
        elif (details.suitability or {}).get("supported_accommodation") in ("preferred", "suitable"):
            errors["supported_accommodation_suitability"] = (
                "Supported accommodation is only for young people aged 16 or 17: mark it unsuitable")
    errors.update(_check_exclusions(session, council, details))
    if details.sibling_group_id is not None:
        group = session.get(SiblingGroup, details.sibling_group_id)
        if group is None or group.council_id != council.id:
            errors["sibling_group_id"] = "Select one of your council's sibling groups"
    return errors


MAX_OTHER_RISK = 2000
MAX_PREFERRED_LOCATION = 200


def suitabilities_of(details: ReferralDetails) -> dict[str, str]:
    """Standard type -> suitability as it will be stored (see ``ReferralDetails``)."""
    if details.suitability is not None:
        return {key: details.suitability.get(key, "") for key in STANDARD_PLACEMENT_TYPES}
    if details.placement_type not in PLACEMENT_TYPES:
        return {key: "" for key in STANDARD_PLACEMENT_TYPES}
    return suitability_for(details.placement_type)


def first_type(details: ReferralDetails) -> str:
    """The platform type to look for first: the one named, else the main type of the first
    preferred standard type, else of the first suitable or unspecified one."""
    if details.placement_type:
        return details.placement_type
    suitability = suitabilities_of(details)
    for wanted in ("preferred", "suitable", "not_specified"):
        for key, standard in STANDARD_PLACEMENT_TYPES.items():
            if suitability[key] == wanted:
                return standard.platform_types[0]
    return ""


def _check_standard_answers(details: ReferralDetails) -> dict[str, str]:
    errors: dict[str, str] = {}
    if details.suitability is None and not details.placement_type:
        errors["placement_type"] = ("Say how suitable foster care, residential care and supported accommodation "
                                    "are for the child, or the type of placement the child needs")
        return errors
    suitability = suitabilities_of(details)
    for key, standard in STANDARD_PLACEMENT_TYPES.items():
        if suitability[key] not in SUITABILITIES:
            errors[f"{key}_suitability"] = f"Select how suitable {standard.label.lower()} is for the child"
    if not errors and all(value == "unsuitable" for value in suitability.values()):
        errors["foster_suitability"] = "At least one type of placement must not be unsuitable"
    if details.placement_type and details.placement_type not in PLACEMENT_TYPES:
        errors["placement_type"] = "Select the type of placement the child needs"
    elif not errors:
        wanted = first_type(details)
        standard = standard_type_of(wanted)
        if suitability[standard.key] == "unsuitable":
            errors["placement_type"] = (f"{PLACEMENT_TYPES[wanted].label} is {standard.label.lower()}, "
                                        "which you marked unsuitable")
    if details.communication_needs not in COMMUNICATION_NEEDS:
        errors["communication_needs"] = "Select whether the child has communication, language and learning needs"
    unknown = set(details.communication_requirements) - set(COMMUNICATION_REQUIREMENTS)
    if unknown:
        errors["communication_requirements"] = (f"Communication requirements must be from "
                                                f"{', '.join(COMMUNICATION_REQUIREMENTS)}; not {', '.join(sorted(unknown))}")
    elif details.communication_needs == "yes" and not set(details.communication_requirements) - {"none"}:
        errors["communication_requirements"] = "Select the child's communication and language requirements"
    elif details.communication_needs != "yes" and set(details.communication_requirements) - {"none"}:
        errors["communication_requirements"] = ("You selected communication requirements: answer 'Yes' to "
                                                "communication, language and learning needs")
    elif "none" in details.communication_requirements and len(set(details.communication_requirements)) > 1:
        errors["communication_requirements"] = "Select 'None' or the requirements, not both"
    for name, options, message in (
            ("cultural_needs", CULTURAL_NEEDS, "Select whether the child has cultural needs"),
            ("living_companions", LIVING_COMPANIONS, "Select who the child can be cared for alongside"),
            ("pets", PETS, "Select whether the child can live with pets")):
        if getattr(details, name) not in options:
            errors[name] = message
    if details.additional_support is not None and details.additional_support not in ADDITIONAL_SUPPORT:
        errors["additional_support"] = "Select the additional support the child needs from the list"
    for name in ("risk_to_child_other", "risk_to_others_other"):
        if len(getattr(details, name) or "") > MAX_OTHER_RISK:
            errors[name] = f"The other risk must be {MAX_OTHER_RISK:,} characters or fewer"
    if len(details.preferred_location or "") > MAX_PREFERRED_LOCATION:
        errors["preferred_location"] = f"The preferred location must be {MAX_PREFERRED_LOCATION} characters or fewer"
    return errors


def _check_exclusions(session: Session, council: Organisation, details: ReferralDetails) -> dict[str, str]:
    errors: dict[str, str] = {}
    if details.excluded_provider_ids:
        known = set(session.scalars(select(Organisation.id).where(
            col(Organisation.id).in_(details.excluded_provider_ids), Organisation.kind == OrgKind.PROVIDER,
            Organisation.rcc_id == council.rcc_id)))
        if set(details.excluded_provider_ids) - known:
            errors["excluded_provider_ids"] = "Select providers from your region's list"
    if details.excluded_home_ids:
        known = set(session.scalars(select(Home.id).where(col(Home.id).in_(details.excluded_home_ids))))
        if set(details.excluded_home_ids) - known:
            errors["excluded_home_ids"] = "Select homes from your region's supply register"
    return errors


# Creating and changing -------------------------------------------------------------------

def create_referral(session: Session, council: Organisation, child: ChildDetails, details: ReferralDetails,
                    today: date | None = None) -> Referral:
    """A draft referral for the child, recording the child if the council has not before."""
    today = today or date.today()
    errors = check_referral(session, council, child, details, today)
    existing = _child_by_reference(session, council, child.reference) if "reference" not in errors else None
    if existing is not None and _has_open_referral(session, existing.id):
        errors["reference"] = (f"Child {existing.reference} already has an open referral; "
                               "change or withdraw that one instead")
    if errors:
        raise FieldErrors(errors)
    record = existing or Child(rcc_id=council.rcc_id, council_id=council.id, reference="", birth_month=1,
                               birth_year=today.year, sex="", legal_status="", category_of_need="",
                               home_postcode="")
    _apply_child(record, child)
    session.add(record)
    session.flush()
    referral = Referral(rcc_id=council.rcc_id, council_id=council.id, child_id=record.id,
                        placement_type="", urgency="", date_needed=today,
                        created_by_user_id=audit.current_actor(session).user_id)
    _apply_details(referral, details)
    session.add(referral)
    session.flush()
    _add_event(session, referral, None, DRAFT, None)
    audit.record(session, AuditAction.REFERRAL_CREATED, referral, child_id=record.id)
    return referral


def create_referrals_in_bulk(session: Session, council: Organisation,
                             items: list[tuple[ChildDetails, ReferralDetails]], submit: bool,
                             today: date | None = None) -> list[int]:
    """Referrals for children the council has not recorded before, already checked row by row
    (``check_referral`` and unique references); returns their ids, in the order of ``items``.

    Three multi-row inserts of plain values (children, referrals, their history) instead of a
    round trip per statement per row, and no model object per row: building 50,000 SQLModel
    objects was most of the time of a large upload. Submitted at once when ``submit``. The caller
    audits."""
    if not items:
        return []
    today = today or date.today()
    actor = audit.current_actor(session)
    user_id = actor.user_id
    now = utcnow()
    owner = {"rcc_id": council.rcc_id, "council_id": council.id}
    child_ids = _insert_rows(session, Child, [{**owner, "created_at": now, **_child_values(child)}
                                              for child, _ in items])
    status = SUBMITTED if submit else DRAFT
    referral_rows = []
    for child_id, (_child, details) in zip(child_ids, items, strict=True):
        values = _details_values(details)
        values["date_needed"] = values["date_needed"] or today
        referral_rows.append({**owner, "child_id": child_id, "status": status, "created_by_user_id": user_id,
                              "created_at": now, "submitted_at": now if submit else None,
                              "status_changed_at": now, **values})
    referral_ids = _insert_rows(session, Referral, referral_rows)
    steps = [(None, DRAFT), (DRAFT, SUBMITTED)] if submit else [(None, DRAFT)]
    events = [{**owner, "referral_id": referral_id, "from_status": from_status, "to_status": to_status,
               "user_id": user_id, "organisation_id": actor.organisation_id, "at": now, "reason": None}
              for from_status, to_status in steps for referral_id in referral_ids]
    if events:
        session.execute(insert(ReferralEvent), events)
    return referral_ids


def _insert_rows(session: Session, model: type[Child] | type[Referral], rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` of ``model``; their new ids, in order.

    On PostgreSQL the ids are taken from the table's sequence first and the rows sent as one
    prepared statement many times over: psycopg re-parses a multi-row INSERT ... RETURNING of
    thousands of placeholders on every batch, which took most of a 50,000-row upload's time."""
    if session.get_bind().dialect.name != "postgresql":
        return list(session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))
    ids = [int(i) for i in session.scalars(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
        {"table": model.__tablename__, "count": len(rows)})]
    session.execute(insert(model), [{"id": new_id, **row} for new_id, row in zip(ids, rows, strict=True)])
    return ids


def why_not_editable(referral: Referral) -> str | None:
    """Why ``referral`` cannot be changed now (None when it can): said before a form is opened, so
    nobody fills in a form only to have it refused on save."""
    if referral.status in EDITABLE_STATUSES:
        return None
    return (f"This referral is '{lifecycle.label(referral.status)}', so its details cannot be changed: only "
            "draft and submitted referrals can. To change what the child needs, withdraw it and refer again.")


def update_referral(session: Session, referral: Referral, child: ChildDetails, details: ReferralDetails,
                    today: date | None = None, seen_version: int | None = None) -> Referral:
    """Change a referral's details while it is a draft or newly submitted; refused if someone else
    changed it after the person read version ``seen_version``."""
    if (refusal := why_not_editable(referral)) is not None:
        raise Conflict(refusal)
    today = today or date.today()
    council = _council_of(session, referral)
    errors = check_referral(session, council, child, details, today)
    record = session.get(Child, referral.child_id)
    if record is None:
        raise NotFound()
    if "reference" not in errors and child.reference.strip() != record.reference:
        other = _child_by_reference(session, council, child.reference)
        if other is not None:
            errors["reference"] = f"Another child already has the reference {other.reference}"
    if errors:
        raise FieldErrors(errors)
    _apply_child(record, child)
    _apply_details(referral, details)
    save_edit(session, "referral", seen_version, referral, record, money=("max_weekly_cost",))
    audit.record(session, AuditAction.REFERRAL_UPDATED, referral)
    return referral


def _apply_child(record: Child, child: ChildDetails) -> None:
    for name, value in _child_values(child).items():
        setattr(record, name, value)


def _child_values(child: ChildDetails) -> dict[str, Any]:
    """The child's columns as stored, from checked details."""
    home = locate_postcode(child.home_postcode)
    values: dict[str, Any] = {
        "reference": child.reference.strip(), "initials": (child.initials or "").strip().upper() or None,
        "birth_month": int(child.birth_month or 1), "birth_year": int(child.birth_year or 0), "sex": child.sex,
        "legal_status": child.legal_status, "category_of_need": child.category_of_need, "uasc": bool(child.uasc),
        "ehcp": bool(child.ehcp), "home_postcode": normalise_postcode(child.home_postcode),
        "home_latitude": home.latitude, "home_longitude": home.longitude,
        "school_postcode": None, "school_latitude": None, "school_longitude": None}
    if child.school_postcode and child.school_postcode.strip():
        school = locate_postcode(child.school_postcode)
        values.update(school_postcode=normalise_postcode(child.school_postcode), school_latitude=school.latitude,
                      school_longitude=school.longitude)
    return values


def _apply_details(referral: Referral, details: ReferralDetails) -> None:
    values = _details_values(details)
    values["date_needed"] = values["date_needed"] or referral.date_needed
    for name, value in values.items():
        setattr(referral, name, value)


def _details_values(details: ReferralDetails) -> dict[str, Any]:
    """The referral's own columns as stored, from checked details (``date_needed`` may be None)."""
    suitability = suitabilities_of(details)
    requirements = [key for key in COMMUNICATION_REQUIREMENTS if key in details.communication_requirements]
    if not set(requirements) - {"none"}:
        requirements = ["none"]
    return {
        "placement_type": first_type(details), "urgency": details.urgency, "date_needed": details.date_needed,
        **{f"{key}_suitability": suitability[key] for key in STANDARD_PLACEMENT_TYPES},
        "communication_needs": details.communication_needs, "communication_requirements": requirements,
        "home_adaptation": bool(details.home_adaptation), "cultural_needs": details.cultural_needs,
        "living_companions": details.living_companions, "pets": details.pets,
        "additional_support": details.additional_support,
        "needs": matching_needs(requirements, bool(details.home_adaptation), details.cultural_needs,
                                details.living_companions, details.pets, details.additional_support),
        "risk_flags": [key for key in RISK_FLAGS if key in details.risk_flags],
        "risk_to_child_other": (details.risk_to_child_other or "").strip() or None,
        "risk_to_others_other": (details.risk_to_others_other or "").strip() or None,
        "preferred_location": (details.preferred_location or "").strip() or None,
        "education_continuity": bool(details.education_continuity),
        "dol_order_needed": bool(details.dol_order_needed), "child_wishes": (details.child_wishes or "").strip(),
        "provider_summary": (details.provider_summary or "").strip(),
        "excluded_provider_ids": sorted(set(details.excluded_provider_ids)),
        "excluded_home_ids": sorted(set(details.excluded_home_ids)),
        "excluded_areas": sorted({la.name for a in details.excluded_areas if (la := local_authority_named(a))}),
        "max_weekly_cost": details.max_weekly_cost, "max_distance_miles": details.max_distance_miles,
        "out_of_area_reason": (details.out_of_area_reason or "").strip() or None,
        "sibling_group_id": details.sibling_group_id}


def _child_by_reference(session: Session, council: Organisation, reference: str) -> Child | None:
    return session.scalars(select(Child).where(
        Child.council_id == council.id, func.lower(Child.reference) == reference.strip().lower())).first()


def _has_open_referral(session: Session, child_id: int) -> bool:
    found = session.scalar(select(func.count()).select_from(Referral).where(
        Referral.child_id == child_id, col(Referral.status).in_(OPEN_STATUSES)))
    return bool(found)


def _council_of(session: Session, referral: Referral) -> Organisation:
    council = session.get(Organisation, referral.council_id)
    if council is None:
        raise NotFound()
    return council


def details_of(referral: Referral) -> ReferralDetails:
    return ReferralDetails(
        placement_type=referral.placement_type, urgency=referral.urgency, date_needed=referral.date_needed,
        suitability={key: referral.suitability(key) for key in STANDARD_PLACEMENT_TYPES},
        communication_needs=referral.communication_needs,
        communication_requirements=list(referral.communication_requirements),
        home_adaptation=referral.home_adaptation, cultural_needs=referral.cultural_needs,
        living_companions=referral.living_companions, pets=referral.pets,
        additional_support=referral.additional_support, risk_flags=list(referral.risk_flags),
        risk_to_child_other=referral.risk_to_child_other, risk_to_others_other=referral.risk_to_others_other,
        preferred_location=referral.preferred_location, education_continuity=referral.education_continuity,
        dol_order_needed=referral.dol_order_needed, child_wishes=referral.child_wishes,
        provider_summary=referral.provider_summary,
        excluded_provider_ids=list(referral.excluded_provider_ids),
        excluded_home_ids=list(referral.excluded_home_ids), excluded_areas=list(referral.excluded_areas),
        max_weekly_cost=referral.max_weekly_cost, max_distance_miles=referral.max_distance_miles,
        out_of_area_reason=referral.out_of_area_reason, sibling_group_id=referral.sibling_group_id)


def child_details_of(child: Child) -> ChildDetails:
    return ChildDetails(
        reference=child.reference, initials=child.initials, birth_month=child.birth_month,
        birth_year=child.birth_year, sex=child.sex, legal_status=child.legal_status,
        category_of_need=child.category_of_need, uasc=child.uasc, ehcp=child.ehcp,
        home_postcode=child.home_postcode, school_postcode=child.school_postcode)


# The lifecycle ---------------------------------------------------------------------------

def _move(session: Session, referral: Referral, to_status: str, reason: str | None = None,
          **detail: Any) -> Referral:
    """Move the referral on, only from the status it had when it was read.

    One conditional UPDATE: if someone else moved it meanwhile (withdrew it while the council
    approved a home, say), this move is refused with a Conflict saying what it is now.
    """
    from_status = referral.status
    lifecycle.check_transition(from_status, to_status)
    now = utcnow()
    values: dict[str, Any] = {"status_changed_at": now}
    if to_status == SUBMITTED and referral.submitted_at is None:
        values["submitted_at"] = now
    transition(session, referral, "status", from_status, to_status, _changed_meanwhile, **values)
    _add_event(session, referral, from_status, to_status, reason)
    audit.record(session, MOVE_ACTIONS[to_status], referral, from_status=from_status, reason=reason, **detail)
    return referral


def _changed_meanwhile(referral: Referral) -> str:
    return (f"Someone else has just changed this referral: it is now '{lifecycle.label(referral.status)}'. "
            "Nothing was saved; check the referral and try again if you still need to.")


def lock_referral(session: Session, referral_id: int) -> Referral:
    """The referral, read afresh and locked until the transaction ends (take it before any home's vacancy)."""
    found = lock(session, Referral, Referral.id == referral_id)
    if found is None:
        raise NotFound()
    return found


def _add_event(session: Session, referral: Referral, from_status: str | None, to_status: str,
               reason: str | None) -> None:
    actor = audit.current_actor(session)
    session.add(ReferralEvent(rcc_id=referral.rcc_id, council_id=referral.council_id, referral_id=referral.id,
                              from_status=from_status, to_status=to_status,
                              user_id=actor.user_id, organisation_id=actor.organisation_id, reason=reason))


def submit_referral(session: Session, referral: Referral, today: date | None = None) -> Referral:
    """draft -> submitted: the council hands the referral to the RCC."""
    if referral.status == DRAFT and referral.date_needed < (today or date.today()):
        raise FieldErrors({"date_needed": "The date needed is in the past; change it before you submit"})
    return _move(session, referral, SUBMITTED)


def start_matching(session: Session, referral: Referral) -> Referral:
    """submitted -> in_matching: the RCC starts looking for a home."""
    return _move(session, referral, IN_MATCHING)


def mark_offered(session: Session, referral: Referral) -> Referral:
    """in_matching -> offered: a provider has been offered the child."""
    return _move(session, referral, OFFERED)


def return_to_matching(session: Session, referral: Referral, excluded_home_id: int | None,
                       reason: str) -> Referral:
    """offered -> in_matching, after a provider declines or the council rejects the home.

    The home is added to the referral's exclusions so the next run does not propose it again.
    """
    if not (reason or "").strip():
        raise FieldErrors({"reason": "Say why the offer did not go ahead"})
    _move(session, referral, IN_MATCHING, reason.strip(), excluded_home_id=excluded_home_id)
    if excluded_home_id is not None and excluded_home_id not in referral.excluded_home_ids:
        referral.excluded_home_ids = sorted([*referral.excluded_home_ids, excluded_home_id])
    return referral


def approve_proposal(session: Session, referral: Referral) -> Referral:
    """offered -> proposal_approved: the council accepts the home the provider agreed to."""
    return _move(session, referral, PROPOSAL_APPROVED)


def withdraw_referral(session: Session, referral: Referral, reason: str) -> Referral:
    """Any open state -> withdrawn, with the reason."""
    if not (reason or "").strip():
        raise FieldErrors({"reason": "Say why you are withdrawing the referral"})
    if len(reason) > MAX_REASON:
        raise FieldErrors({"reason": f"The reason must be {MAX_REASON:,} characters or fewer"})
    return _move(session, referral, WITHDRAWN, reason.strip())


def mark_placed(session: Session, referral: Referral) -> Referral:
    """proposal_approved -> placed (``services.placements.record_placement`` calls this)."""
    return _move(session, referral, PLACED)


def mark_ended(session: Session, referral: Referral, reason: str | None = None) -> Referral:
    """placed -> ended (``services.placements.end_placement`` calls this)."""
    return _move(session, referral, ENDED, reason)


# Reading ---------------------------------------------------------------------------------

def open_referrals_for_matching(session: Session) -> list[Referral]:
    """Referrals the RCC can match now (submitted or in matching), most urgent and oldest first."""
    urgency_order = {key: index for index, key in enumerate(URGENCIES)}
    found = session.scalars(select(Referral).where(col(Referral.status).in_((SUBMITTED, IN_MATCHING)))
                            .order_by(Referral.date_needed, Referral.id)).all()
    return sorted(found, key=lambda r: (urgency_order.get(r.urgency, 9), r.date_needed, r.id))


def children_by_id(session: Session, referrals: list[Referral]) -> dict[int, Child]:
    """The children of ``referrals`` in one query."""
    ids = {r.child_id for r in referrals}
    return {int(c.id or 0): c for c in session.scalars(select(Child).where(col(Child.id).in_(ids)))} if ids else {}


def sibling_groups_by_id(session: Session, referrals: list[Referral]) -> dict[int, SiblingGroup]:
    ids = {r.sibling_group_id for r in referrals if r.sibling_group_id is not None}
    if not ids:
        return {}
    return {int(g.id or 0): g for g in session.scalars(select(SiblingGroup).where(col(SiblingGroup.id).in_(ids)))}


def history(session: Session, referral: Referral) -> list[ReferralEvent]:
    return list(session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
                                .order_by(ReferralEvent.at, ReferralEvent.id)))


@dataclass(frozen=True)
class HistoryRow:
    event: ReferralEvent
    who: str  # the person when the reader may see them, else their organisation; "The platform" for none


def history_rows(session: Session, referral: Referral) -> list[HistoryRow]:
    """The referral's history, each step with who took it as the reader may be told: a person of another
    organisation (the RCC officer who decided, for a council's reader) is named by their organisation."""
    events = history(session, referral)
    people = users.names_of(session, {e.user_id for e in events if e.user_id})
    organisation_ids = {e.organisation_id for e in events if e.organisation_id}
    organisations: dict[int, str] = dict(session.execute(  # type: ignore[arg-type]
        select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(organisation_ids))).all()
    ) if organisation_ids else {}

    def who(event: ReferralEvent) -> str:
        if event.user_id is None:
            return organisations.get(event.organisation_id or 0, "The platform")
        if event.user_id in people:
            return people[event.user_id]
        return organisations.get(event.organisation_id or 0, "Someone at another organisation")

    return [HistoryRow(event, who(event)) for event in events]


def referral_with_child(session: Session, referral_id: int) -> tuple[Referral, Child] | None:
    """A referral and its child, if the session may see both."""
    row = session.execute(select(Referral, Child).join(Child, Child.id == Referral.child_id)
                          .where(Referral.id == referral_id)).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class ReferralFilters:
    status: str | None = None
    urgency: str | None = None
    placement_type: str | None = None
    council_id: int | None = None
    reference: str | None = None  # part of the child's reference, in any case


@dataclass
class ReferralPage:
    rows: list[tuple[Referral, Child]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_referrals(session: Session, filters: ReferralFilters, page: int = 1, per_page: int = 50) -> ReferralPage:
    """One page of the referrals the session may see, with their children, in one query."""
    conditions = [column == value for column, value in (
        (Referral.status, filters.status), (Referral.urgency, filters.urgency),
        (Referral.placement_type, filters.placement_type), (Referral.council_id, filters.council_id)) if value]
    if filters.reference:
        conditions.append(col(Referral.child_id).in_(
            select(Child.id).where(col(Child.reference).icontains(filters.reference, autoescape=True))))
    page = max(1, page)
    order = (Referral.date_needed, Referral.id)
    # The page's referrals are picked from the referral table alone, then joined to their children,
    # and the count rides along: one round trip, and the sort stops at the page.
    on_page = select(Referral.id).where(*conditions).order_by(*order).offset((page - 1) * per_page).limit(per_page)
    total = select(func.count(Referral.id)).where(*conditions).scalar_subquery()
    rows = session.execute(select(Referral, Child, total).join(Child, Child.id == Referral.child_id)
                           .where(col(Referral.id).in_(on_page)).order_by(*order)).all()
    # A page past the end has no rows to carry the count, but still says how many there are.
    count = rows[0][2] if rows else session.scalar(select(func.count(Referral.id)).where(*conditions)) or 0
    return ReferralPage([(r, c) for r, c, _ in rows], count, page, per_page)
