"""Foster households: approved foster carers, a council's in-house or an agency's, and the weight a
council gives its own in-house carers for its children.

A household is seen only by the RCC and its owner (``OWNER_AND_RCC``); its postcode, checked
against the ONS Postcode Directory, places it for matching and is never shown to anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commissioning.models import HOUSEHOLD_STATUSES, MAX_FOSTER_CHILDREN, FosterHousehold, InHousePreference
from commissioning.vocabulary import NEEDS_AND_RISKS
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors
from rcc.geography import (
    LocalAuthority,
    Location,
    PostcodeNotFound,
    great_circle_miles,
    local_authorities,
    locate_full_postcode,
    normalise_postcode,
)
from rcc.models import Organisation, utcnow
from rcc.tenancy import OrgKind
from rcc.versions import save_edit

MAX_AGE = 17
MAX_WEEKLY_COST = 10_000_000  # pence: £100,000 a week, far above any real fee
MAX_IN_HOUSE_POINTS = 10_000
OWNER_KINDS = (OrgKind.COUNCIL, OrgKind.PROVIDER)


@dataclass
class HouseholdDetails:
    """A household as its owner describes it. ``weekly_cost`` is in pence."""

    reference: str = ""
    postcode: str = ""
    age_min: int | None = 0
    age_max: int | None = 17
    max_children: int | None = 1
    siblings: bool = False
    places_free: int | None = 0
    needs_met: list[str] = field(default_factory=list)
    weekly_cost: int | None = None
    status: str = "approved"


def check_household(details: HouseholdDetails) -> dict[str, str]:
    errors: dict[str, str] = {}
    reference = (details.reference or "").strip()
    if not reference:
        errors["reference"] = "Enter your reference for the household (not the carers' names)"
    elif len(reference) > 40:
        errors["reference"] = "The reference must be 40 characters or fewer"
    if not (details.postcode or "").strip():
        errors["postcode"] = "Enter the household's full postcode, like CV1 2AB"
    else:
        try:
            locate_full_postcode(details.postcode)
        except PostcodeNotFound as problem:
            errors["postcode"] = str(problem)
    if details.age_min is None or not 0 <= details.age_min <= MAX_AGE:
        errors["age_min"] = f"Enter the youngest age the carers are approved for, from 0 to {MAX_AGE}"
    if details.age_max is None or not 0 <= details.age_max <= MAX_AGE:
        errors["age_max"] = f"Enter the oldest age the carers are approved for, from 0 to {MAX_AGE}"
    elif details.age_min is not None and 0 <= details.age_min <= MAX_AGE and details.age_min > details.age_max:
        errors["age_max"] = "The oldest age must be the same as or more than the youngest"
    if details.max_children is None or not 1 <= details.max_children <= MAX_FOSTER_CHILDREN:
        errors["max_children"] = f"Enter how many children the carers are approved for, from 1 to {MAX_FOSTER_CHILDREN}"
    if details.places_free is None or details.places_free < 0:
        errors["places_free"] = "Enter the number of free places, 0 or more"
    elif "max_children" not in errors and details.max_children is not None \
            and details.places_free > details.max_children:
        errors["places_free"] = f"Free places cannot be more than the {details.max_children} children approved for"
    unknown = set(details.needs_met or []) - set(NEEDS_AND_RISKS)
    if unknown:
        errors["needs_met"] = f"Needs met must be from the list; not {sorted(unknown)}"
    if details.weekly_cost is not None and not 0 <= details.weekly_cost <= MAX_WEEKLY_COST:
        errors["weekly_cost"] = "Enter the weekly cost in pounds, from £0 to £100,000"
    if details.status not in HOUSEHOLD_STATUSES:
        errors["status"] = "Select the household's status"
    return errors


def create_household(session: Session, owner: Organisation, details: HouseholdDetails) -> FosterHousehold:
    """A council adds one of its in-house households, or an agency one of its own."""
    if owner.kind not in OWNER_KINDS:
        raise Conflict("Only a council (its in-house carers) or a fostering agency can add a foster household")
    errors = check_household(details)
    if "reference" not in errors and _reference_taken(session, owner.id, details.reference.strip(), None):
        errors["reference"] = "You already have a household with this reference"
    if errors:
        raise FieldErrors(errors)
    household = FosterHousehold(rcc_id=owner.rcc_id, owner_id=owner.id, reference="", postcode="", latitude=0.0,
                                longitude=0.0, local_authority="")
    _apply(household, details)
    session.add(household)
    session.flush()
    audit.record(session, AuditAction.FOSTER_HOUSEHOLD_CREATED, household, reference=household.reference,
                 status=household.status)
    return household


def update_household(session: Session, household: FosterHousehold, details: HouseholdDetails,
                     seen_version: int | None = None) -> FosterHousehold:
    """Change a household; refused if someone else changed it after the person read ``seen_version``."""
    errors = check_household(details)
    if "reference" not in errors and _reference_taken(session, household.owner_id, details.reference.strip(),
                                                      household.id):
        errors["reference"] = "You already have a household with this reference"
    if errors:
        raise FieldErrors(errors)
    _apply(household, details)
    household.updated_at = utcnow()
    save_edit(session, "foster household", seen_version, household, money=("weekly_cost",))
    audit.record(session, AuditAction.FOSTER_HOUSEHOLD_UPDATED, household, status=household.status,
                 places_free=household.places_free)
    return household


def _apply(household: FosterHousehold, details: HouseholdDetails) -> None:
    location = locate_full_postcode(details.postcode)
    household.reference = details.reference.strip()
    household.postcode = normalise_postcode(details.postcode)
    household.latitude, household.longitude = location.point.latitude, location.point.longitude
    household.location_precision = location.precision
    household.local_authority = council_area_of(location).name
    household.age_min, household.age_max = int(details.age_min or 0), int(details.age_max or 0)
    household.max_children = int(details.max_children or 1)
    household.siblings = bool(details.siblings)
    household.places_free = int(details.places_free or 0)
    household.needs_met = [k for k in NEEDS_AND_RISKS if k in (details.needs_met or [])]
    household.weekly_cost = details.weekly_cost
    household.status = details.status


def council_area_of(location: Location) -> LocalAuthority:
    """The council with children's services whose area the postcode is in: by its ONS code where the
    directory's district is that council (unitary, metropolitan, London), else the nearest council centre
    (a district of a two-tier county)."""
    councils = local_authorities()
    by_code = next((la for la in councils if la.ons_code == location.la_code), None)
    return by_code or min(councils, key=lambda la: great_circle_miles(la.centre, location.point))


def details_of(household: FosterHousehold) -> HouseholdDetails:
    return HouseholdDetails(
        reference=household.reference, postcode=household.postcode, age_min=household.age_min,
        age_max=household.age_max, max_children=household.max_children, siblings=household.siblings,
        places_free=household.places_free, needs_met=list(household.needs_met), weekly_cost=household.weekly_cost,
        status=household.status)


def _reference_taken(session: Session, owner_id: int, reference: str, household_id: int | None) -> bool:
    query = select(FosterHousehold.id).where(FosterHousehold.owner_id == owner_id,
                                             FosterHousehold.reference == reference)
    if household_id is not None:
        query = query.where(FosterHousehold.id != household_id)
    return session.scalar(query.limit(1)) is not None


@dataclass
class HouseholdPage:
    rows: list[tuple[FosterHousehold, Organisation]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_households(session: Session, page: int = 1, per_page: int = 50) -> HouseholdPage:
    """The households the session may see (its own, or all for the RCC), with their owners."""
    total = session.scalar(select(func.count(FosterHousehold.id))) or 0
    page = max(1, page)
    rows = session.execute(
        select(FosterHousehold, Organisation).join(Organisation, Organisation.id == FosterHousehold.owner_id)
        .order_by(Organisation.name, FosterHousehold.reference, FosterHousehold.id)
        .offset((page - 1) * per_page).limit(per_page)).all()
    return HouseholdPage([(h, o) for h, o in rows], total, page, per_page)


# A council's preference for its own in-house carers -----------------------------------------

def in_house_preference_of(session: Session, council_id: int) -> InHousePreference | None:
    return session.scalars(select(InHousePreference).where(InHousePreference.council_id == council_id)).first()


def set_in_house_preference(session: Session, council: Organisation, points: int | None,
                            seen_version: int | None = None) -> InHousePreference:
    """The points taken off the score of the council's own in-house households for its children."""
    if council.kind != OrgKind.COUNCIL:
        raise Conflict("Only a council sets a preference for its own in-house foster carers")
    if points is None or not 0 <= points <= MAX_IN_HOUSE_POINTS:
        raise FieldErrors({"points": f"Enter the points, a whole number from 0 to {MAX_IN_HOUSE_POINTS:,}"})
    preference = in_house_preference_of(session, int(council.id or 0))
    if preference is None:
        preference = InHousePreference(rcc_id=council.rcc_id, council_id=council.id, points=points)
        session.add(preference)
        session.flush()
    else:
        previous = preference.points
        preference.points, preference.updated_at = points, utcnow()
        save_edit(session, "in-house preference", seen_version, preference)
        if previous == points:
            return preference
    audit.record(session, AuditAction.IN_HOUSE_PREFERENCE_SET, preference, points=points)
    return preference


def in_house_points_by_council(session: Session) -> dict[int, int]:
    """Council id -> points, for every council the session sees that has set a preference."""
    return {p.council_id: p.points for p in session.scalars(select(InHousePreference))}
