"""Referrals and actual placements as JSON in the Placements Data Standard v2's entities and
field names, out and back in.

``export_document`` writes every referral the session may see (its council's, or the region's
for the RCC) as one ``placements`` record each, with ``ActualPlacement`` once it has a placement;
the document validates against ``standards/placements.schema.json``. ``import_document`` checks a
document against the schema and every record against the referral rules, then creates all its
referrals as drafts for the council, or none. Which standard field comes from which column, and
what is derived, is in ``commissioning/README.md`` (field coverage).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.lifecycle import PLACED
from commissioning.models import Child, Home, Placement, Referral, ReferralEvent, SiblingGroup
from commissioning.placements_standard import SOURCE, dictionary, problems
from commissioning.services import referrals as referral_service
from commissioning.services.referrals import ChildDetails, ReferralDetails
from commissioning.vocabulary import (
    ADDITIONAL_SUPPORT,
    COMMUNICATION_NEEDS,
    COMMUNICATION_REQUIREMENTS,
    CULTURAL_NEEDS,
    LIVING_COMPANIONS,
    NO_KNOWN_RISK,
    PETS,
    RISK_PRESENT,
    RISKS,
    STANDARD_PLACEMENT_TYPES,
    SUITABILITIES,
    Option,
    standard_type_of,
)
from rcc import users
from rcc.errors import FieldErrors
from rcc.geography import local_authority_named
from rcc.models import Organisation

EXTENSION = "rcc"  # the key of the platform's own block under a record's ``extensions``
CHILD_FIELDS = ("reference", "birth_month", "birth_year", "sex", "legal_status", "category_of_need", "uasc", "ehcp",
                "home_postcode", "school_postcode")
REFERRAL_FIELDS = ("placement_type", "urgency", "date_needed", "education_continuity", "child_wishes",
                   "provider_summary", "max_weekly_cost", "max_distance_miles", "excluded_areas", "out_of_area_reason")
MAX_RECORDS = 5_000


def needed_by(referral: Referral) -> str:
    """PlacementAvailability.neededBy, from the days between the referral and the date needed."""
    days = (referral.date_needed - referral.created_at.date()).days
    return "Today" if days <= 0 else "in less than 5 days" if days < 5 else "in more than 5 days"


def _standard(options: dict[str, Option], key: str | None) -> str | None:
    return options[key].standard if key in options else None


def _from_standard(options: dict[str, Option], text: Any) -> str | None:
    return next((key for key, option in options.items() if option.standard == text), None)


def _placement_record(placement: Placement, home: Home, referral: Referral, together: int) -> dict[str, Any]:
    preferred = local_authority_named(referral.preferred_location or "")
    if preferred is not None:
        location_ok = preferred.name == home.local_authority
    else:  # no preferred authority named: preferable unless in an excluded area
        location_ok = home.local_authority not in referral.excluded_areas
    return {
        "totalWeeklyCost": round(placement.weekly_cost / 100), "placementLocation": home.local_authority,
        "preferabilityLocation": location_ok, "educationContinuity": referral.education_continuity,
        "providerURN": home.ofsted_urn, "siblingsPlacedTogether": together,
        "placementType": standard_type_of(placement.placement_type).standard,
    }


def record_of(referral: Referral, child: Child, placement: Placement | None, home: Home | None,
              siblings: int, together: int, names: dict[int, str], placed_by: int | None) -> dict[str, Any]:
    """One referral (and its placement) in the standard's entities."""
    availability: dict[str, Any] = {"childId": int(child.id or 0), "neededBy": needed_by(referral),
                                    "siblingCount": siblings}
    if referral.preferred_location:
        availability["preferredLocation"] = referral.preferred_location
    requirements: dict[str, Any] = {
        "communicationNeeds": _standard(COMMUNICATION_NEEDS, referral.communication_needs),
        "specificCommunicationRequirements": [COMMUNICATION_REQUIREMENTS[k].standard
                                              for k in referral.communication_requirements],
        "homeAdaptation": referral.home_adaptation,
        "culturalNeeds": _standard(CULTURAL_NEEDS, referral.cultural_needs),
        "livingCompanions": _standard(LIVING_COMPANIONS, referral.living_companions),
        "pets": _standard(PETS, referral.pets), "deprivationOfLiberty": referral.dol_order_needed}
    if referral.additional_support:
        requirements["additionalSupport"] = _standard(ADDITIONAL_SUPPORT, referral.additional_support)
    recommendation = {t.field: SUITABILITIES[referral.suitability(key)].standard
                      for key, t in STANDARD_PLACEMENT_TYPES.items()}
    risks: dict[str, Any] = {r.field: RISK_PRESENT if key in referral.risk_flags else NO_KNOWN_RISK
                             for key, r in RISKS.items()}
    if referral.risk_to_child_other:
        risks["riskOther"] = referral.risk_to_child_other
    if referral.risk_to_others_other:
        risks["riskToOthersOther"] = referral.risk_to_others_other
    quality: dict[str, Any] = {"referralDate": referral.created_at.date().isoformat()}
    if referral.created_by_user_id in names:
        quality["referralOfficerName"] = names[referral.created_by_user_id]
    record: dict[str, Any] = {"PlacementAvailability": availability, "PlacementRequirements": requirements,
                              "PlacementRecommendation": recommendation, "Risks": risks}
    if placement is not None and home is not None:
        record["ActualPlacement"] = _placement_record(placement, home, referral, together)
        quality["placementDate"] = quality["costDate"] = placement.created_at.date().isoformat()
        quality["placementOfficerName"] = names.get(placed_by or 0, "Not recorded")
    record["QualityAssurance"] = quality
    extension: dict[str, Any] = {"child": {name: getattr(child, name) for name in CHILD_FIELDS},
                                 "referral": {name: getattr(referral, name) for name in REFERRAL_FIELDS}}
    extension["referral"]["date_needed"] = referral.date_needed.isoformat()
    extension["referral"]["status"] = referral.status
    record["extensions"] = {EXTENSION: extension}
    return record


def export_document(session: Session) -> tuple[dict[str, Any], list[Referral]]:
    """Every referral the session may see, as one document; and the referrals read (for the audit)."""
    rows = session.execute(select(Referral, Child).join(Child, Child.id == Referral.child_id)
                           .order_by(Referral.id)).all()
    referral_ids = [int(r.id or 0) for r, _ in rows]
    placements: dict[int, Placement] = {}
    if referral_ids:
        for placement in session.scalars(select(Placement).where(col(Placement.referral_id).in_(referral_ids))
                                         .order_by(Placement.start_date, Placement.id)):
            placements[placement.referral_id] = placement  # the latest
    homes = {int(h.id or 0): h for h in session.scalars(select(Home).where(
        col(Home.id).in_({p.home_id for p in placements.values()})))} if placements else {}
    group_sizes: Counter[int] = Counter(r.sibling_group_id for r, _ in rows if r.sibling_group_id is not None)
    groups = {int(g.id or 0): g for g in session.scalars(select(SiblingGroup).where(
        col(SiblingGroup.id).in_(set(group_sizes))))} if group_sizes else {}
    group_of = {int(r.id or 0): r.sibling_group_id for r, _ in rows}
    placed_together = Counter((group_of[p.referral_id], p.place_key) for p in placements.values()
                              if group_of[p.referral_id] is not None)
    placed_by: dict[int, int | None] = dict(session.execute(  # type: ignore[arg-type]
        select(ReferralEvent.referral_id, ReferralEvent.user_id).where(
            col(ReferralEvent.referral_id).in_(list(placements)), ReferralEvent.to_status == PLACED)
        .order_by(ReferralEvent.at)).all()) if placements else {}
    names = users.names_of(session, {r.created_by_user_id for r, _ in rows if r.created_by_user_id}
                           | {u for u in placed_by.values() if u})
    records = []
    for referral, child in rows:
        group = groups.get(referral.sibling_group_id or 0)
        siblings = group_sizes[int(group.id or 0)] - 1 if group is not None and group.plan != "apart" else 0
        latest = placements.get(int(referral.id or 0))
        home = homes.get(latest.home_id) if latest else None
        together = (placed_together[(referral.sibling_group_id, latest.place_key)] - 1
                    if latest is not None and referral.sibling_group_id is not None else 0)
        records.append(record_of(referral, child, latest, home, siblings, together, names,
                                 placed_by.get(int(referral.id or 0))))
    meta = dictionary()["metadata"]
    document = {"standard": {"title": meta["title"], "version": meta["version"],
                             "effectiveDate": meta["effectiveDate"], "source": SOURCE},
                "placements": records}
    return document, [r for r, _ in rows]


# Import ------------------------------------------------------------------------------------

def details_from_record(record: dict[str, Any]) -> tuple[ChildDetails, ReferralDetails, dict[str, str]]:
    """The child and referral a record describes, and field -> problem for what cannot be read."""
    errors: dict[str, str] = {}
    extension = (record.get("extensions") or {}).get(EXTENSION)
    if not isinstance(extension, dict) or not isinstance(extension.get("child"), dict):
        errors["extensions.rcc"] = ("The standard carries no child details (age, sex, postcode, legal status): "
                                    "a record needs the platform's extensions.rcc block, as the export writes it")
        return ChildDetails(), ReferralDetails(), errors
    child_values = extension["child"]
    referral_values = extension.get("referral") or {}
    child = ChildDetails(**{name: child_values.get(name) for name in CHILD_FIELDS
                            if child_values.get(name) is not None})
    availability = record["PlacementAvailability"]
    requirements = record["PlacementRequirements"]
    risks = record["Risks"]
    date_text = referral_values.get("date_needed")
    try:
        date_needed = date.fromisoformat(date_text) if isinstance(date_text, str) else None
    except ValueError:
        date_needed = None
        errors["extensions.rcc.referral.date_needed"] = "Must be a date like 2027-03-27"
    details = ReferralDetails(
        placement_type=str(referral_values.get("placement_type") or ""),
        urgency=str(referral_values.get("urgency") or ""), date_needed=date_needed,
        suitability={key: _from_standard(SUITABILITIES, record["PlacementRecommendation"][t.field]) or ""
                     for key, t in STANDARD_PLACEMENT_TYPES.items()},
        communication_needs=_from_standard(COMMUNICATION_NEEDS, requirements["communicationNeeds"]) or "",
        communication_requirements=[k for text in requirements["specificCommunicationRequirements"]
                                    if (k := _from_standard(COMMUNICATION_REQUIREMENTS, text))],
        home_adaptation=bool(requirements["homeAdaptation"]),
        cultural_needs=_from_standard(CULTURAL_NEEDS, requirements["culturalNeeds"]) or "",
        living_companions=_from_standard(LIVING_COMPANIONS, requirements["livingCompanions"]) or "",
        pets=_from_standard(PETS, requirements["pets"]) or "",
        additional_support=_from_standard(ADDITIONAL_SUPPORT, requirements.get("additionalSupport")),
        dol_order_needed=bool(requirements.get("deprivationOfLiberty", False)),
        risk_flags=[key for key, r in RISKS.items() if risks[r.field] == RISK_PRESENT],
        risk_to_child_other=risks.get("riskOther"), risk_to_others_other=risks.get("riskToOthersOther"),
        preferred_location=availability.get("preferredLocation"),
        education_continuity=bool(referral_values.get("education_continuity", False)),
        child_wishes=str(referral_values.get("child_wishes") or ""),
        provider_summary=str(referral_values.get("provider_summary") or ""),
        excluded_areas=list(referral_values.get("excluded_areas") or []),
        max_weekly_cost=referral_values.get("max_weekly_cost"),
        max_distance_miles=referral_values.get("max_distance_miles"),
        out_of_area_reason=referral_values.get("out_of_area_reason"))
    return child, details, errors


MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
# A standard document nests about 7 deep (document, placements, record, extensions, rcc, referral, a list);
# anything far deeper is not one, and the schema check cannot walk it.
MAX_DOCUMENT_DEPTH = 32


def parse_document(data: bytes) -> Any:
    """The JSON in ``data``, or FieldErrors naming the file's problem (not UTF-8, not JSON, too deep)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise FieldErrors({"file": f"The file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB"})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FieldErrors({"file": f"The file is not UTF-8 text (byte {error.start} cannot be read)"}) from error
    too_deep = FieldErrors({"file": "The JSON is nested too deeply to be a placements document"})
    try:
        document = json.loads(text)
        json.dumps(document, ensure_ascii=False).encode("utf-8")  # a lone surrogate (\ud800) is not text
    except RecursionError as error:
        raise too_deep from error
    except UnicodeEncodeError as error:
        raise FieldErrors({"file": "The JSON holds a character that is not valid Unicode (a lone surrogate)"}) from error
    except ValueError as error:
        raise FieldErrors({"file": f"The file is not JSON: {error}"}) from error
    if _depth_over(document, MAX_DOCUMENT_DEPTH):
        raise too_deep  # JSON Python reads but the schema check cannot walk (it would end in a 500)
    return document


def _depth_over(document: Any, limit: int) -> bool:
    """Whether ``document`` nests objects and arrays more than ``limit`` deep (walked without recursion)."""
    waiting: list[tuple[Any, int]] = [(document, 1)]
    while waiting:
        value, depth = waiting.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        waiting.extend((child, depth + 1) for child in children)
    return False


def import_document(session: Session, council: Organisation, document: Any,
                    today: date | None = None) -> list[Referral]:
    """Draft referrals for the council from a standard document: all of them, or none (FieldErrors
    keyed by record and field, like ``placements[2].Risks.riskSelfHarm``)."""
    today = today or date.today()
    found = problems(document)
    if found:
        raise FieldErrors({where: message for where, message in found})
    records = document["placements"]
    if len(records) > MAX_RECORDS:
        raise FieldErrors({"placements": f"At most {MAX_RECORDS:,} placements in one document"})
    errors: dict[str, str] = {}
    parsed = []
    references: dict[str, int] = {}
    for index, record in enumerate(records):
        child, details, record_errors = details_from_record(record)
        if not record_errors:
            record_errors = referral_service.check_referral(session, council, child, details, today)
            reference = (child.reference or "").strip().lower()
            if reference in references:
                record_errors["reference"] = f"The same child as placements[{references[reference]}]"
            references.setdefault(reference, index)
        errors.update({f"placements[{index}].{name}": message for name, message in record_errors.items()})
        parsed.append((child, details))
    if errors:
        raise FieldErrors(errors)
    made = []
    for index, (child, details) in enumerate(parsed):
        try:
            made.append(referral_service.create_referral(session, council, child, details, today))
        except FieldErrors as refused:
            raise FieldErrors({f"placements[{index}].{name}": message
                               for name, message in refused.errors.items()}) from refused
    return made
