"""The supply register: homes and their vacancies, kept up to date by providers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import RATING_FROM_RCC, Home, Vacancy, is_stale
from commissioning.services import supply_history
from commissioning.vocabulary import NEEDS_AND_RISKS, OFSTED_RATINGS, PLACEMENT_TYPES, SEXES, STALE_AFTER_DAYS
from rcc import audit
from rcc.audit import AuditAction
from rcc.db import transition
from rcc.errors import Conflict, FieldErrors
from rcc.geography import PostcodeNotFound, local_authority_named, locate_full_postcode, normalise_postcode
from rcc.models import Organisation, User, utcnow
from rcc.tenancy import OrgKind, within_rcc
from rcc.versions import save_edit

MAX_AGE = 18  # supported accommodation takes young people to their 18th birthday


@dataclass
class HomeDetails:
    """A home as a provider describes it. ``weekly_price`` is in pence."""

    ofsted_urn: str = ""
    name: str = ""
    placement_type: str = ""
    local_authority: str = ""
    postcode: str | None = None
    registered_places: int | None = None
    age_min: int | None = None
    age_max: int | None = None
    sexes: list[str] = field(default_factory=lambda: ["F", "M"])
    needs_met: list[str] = field(default_factory=list)
    max_sibling_group: int | None = 1
    weekly_price: int | None = None
    price_band: str | None = None
    dol_capable: bool = False
    active: bool = True


def check_home(details: HomeDetails) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not (details.ofsted_urn or "").strip():
        errors["ofsted_urn"] = "Enter the home's Ofsted URN"
    elif not details.ofsted_urn.strip().isalnum() or len(details.ofsted_urn.strip()) > 20:
        errors["ofsted_urn"] = "The Ofsted URN must be letters and numbers only, like SC123456"
    if not (details.name or "").strip():
        errors["name"] = "Enter the home's name"
    elif len(details.name) > 200:
        errors["name"] = "The name must be 200 characters or fewer"
    if details.placement_type not in PLACEMENT_TYPES:
        errors["placement_type"] = "Select the type of placement the home offers"
    if local_authority_named(details.local_authority or "") is None:
        errors["local_authority"] = "Select the local authority the home is in"
    if details.postcode and details.postcode.strip():
        try:
            locate_full_postcode(details.postcode)
        except PostcodeNotFound as problem:
            errors["postcode"] = str(problem)
    if details.registered_places is None or not 0 <= details.registered_places <= 500:
        errors["registered_places"] = "Enter the number of registered places, from 0 to 500"
    if details.age_min is None or not 0 <= details.age_min <= MAX_AGE:
        errors["age_min"] = f"Enter the youngest age, from 0 to {MAX_AGE}"
    if details.age_max is None or not 0 <= details.age_max <= MAX_AGE:
        errors["age_max"] = f"Enter the oldest age, from 0 to {MAX_AGE}"
    elif details.age_min is not None and details.age_min > details.age_max:
        errors["age_max"] = "The oldest age must be the same as or more than the youngest"
    if not details.sexes or set(details.sexes) - set(SEXES):
        errors["sexes"] = "Select who the home can care for: girls, boys or both"
    unknown = set(details.needs_met) - set(NEEDS_AND_RISKS)
    if unknown:
        errors["needs_met"] = f"Needs met must be from the list; not {sorted(unknown)}"
    if details.max_sibling_group is None or not 1 <= details.max_sibling_group <= 10:
        errors["max_sibling_group"] = "Enter the largest sibling group the home can take, from 1 to 10"
    if details.weekly_price is not None and details.weekly_price < 0:
        errors["weekly_price"] = "The weekly price cannot be negative"
    return errors


def create_home(session: Session, provider: Organisation, details: HomeDetails) -> Home:
    errors = check_home(details)
    if "ofsted_urn" not in errors and _urn_taken(session, provider.rcc_id, details.ofsted_urn.strip(), None):
        errors["ofsted_urn"] = "Another home in the register already has this Ofsted URN"
    if errors:
        raise FieldErrors(errors)
    home = Home(rcc_id=provider.rcc_id, provider_id=provider.id, ofsted_urn="", name="", placement_type="",
                local_authority="")
    apply_home_details(home, details)
    session.add(home)
    audit.record(session, AuditAction.HOME_CREATED, home, ofsted_urn=home.ofsted_urn)
    supply_history.record(session, home, supply_history.HOME_CREATED)
    return home


def update_home(session: Session, home: Home, details: HomeDetails, seen_version: int | None = None) -> Home:
    """Change a home's details; refused if someone else changed it after the person read ``seen_version``."""
    errors = check_home(details)
    if "ofsted_urn" not in errors and _urn_taken(session, home.rcc_id, details.ofsted_urn.strip(), home.id):
        errors["ofsted_urn"] = "Another home in the register already has this Ofsted URN"
    if errors:
        raise FieldErrors(errors)
    before = supply_history.supply_key(home)
    apply_home_details(home, details)
    home.updated_at = utcnow()
    save_edit(session, "home", seen_version, home, money=("weekly_price",))
    audit.record(session, AuditAction.HOME_UPDATED, home)
    if supply_history.supply_key(home) != before:
        supply_history.record(session, home, supply_history.HOME_UPDATED)
    return home


def apply_home_details(home: Home, details: HomeDetails) -> None:
    """Copy checked details onto ``home`` and place it on the map (its postcode's centroid in the ONS
    Postcode Directory, else its council's centre); ``location_precision`` says which."""
    authority = local_authority_named(details.local_authority)
    assert authority is not None  # checked by check_home
    home.ofsted_urn = details.ofsted_urn.strip()
    home.name = details.name.strip()
    home.placement_type = details.placement_type
    home.local_authority = authority.name
    if details.postcode and details.postcode.strip():
        location = locate_full_postcode(details.postcode)
        point = location.point
        home.postcode = normalise_postcode(details.postcode)
        home.location_precision = location.precision
    else:
        point = authority.centre
        home.postcode = None
        home.location_precision = "local_authority"
    home.latitude, home.longitude = point.latitude, point.longitude
    home.registered_places = int(details.registered_places or 0)
    home.age_min = int(details.age_min or 0)
    home.age_max = int(details.age_max if details.age_max is not None else 17)
    home.sexes = [s for s in SEXES if s in details.sexes]
    home.needs_met = [k for k in NEEDS_AND_RISKS if k in details.needs_met]
    home.max_sibling_group = int(details.max_sibling_group or 1)
    home.weekly_price = details.weekly_price
    home.price_band = (details.price_band or "").strip() or None
    home.dol_capable = bool(details.dol_capable)
    home.active = bool(details.active)


def home_details_of(home: Home) -> HomeDetails:
    return HomeDetails(
        ofsted_urn=home.ofsted_urn, name=home.name, placement_type=home.placement_type,
        local_authority=home.local_authority, postcode=home.postcode, registered_places=home.registered_places,
        age_min=home.age_min, age_max=home.age_max, sexes=list(home.sexes), needs_met=list(home.needs_met),
        max_sibling_group=home.max_sibling_group, weekly_price=home.weekly_price, price_band=home.price_band,
        dol_capable=home.dol_capable,
        active=home.active)


def sees_private_location(kind: str | None, organisation_id: int | None, provider_id: int) -> bool:
    """A home's or household's postcode (and the point placed from it) is for the RCC and its owner only."""
    return kind == OrgKind.RCC or (organisation_id is not None and organisation_id == provider_id)


PRIVATE_LOCATION_FIELDS = ("postcode", "latitude", "longitude")


def home_as_seen_by(home: Home, kind: str | None, organisation_id: int | None) -> Home | dict:
    """The home as the API shows it to a reader: without its postcode and point unless they may see them."""
    if sees_private_location(kind, organisation_id, home.provider_id):
        return home
    return {**home.model_dump(), **dict.fromkeys(PRIVATE_LOCATION_FIELDS)}


RATING_NOT_YOURS = "Only the Ofsted import or someone at the RCC can set a home's Ofsted rating."


def set_rating(session: Session, home: Home, rating: str, rating_date: date | None, by: User) -> Home:
    """An RCC user records a home's Ofsted rating (the Ofsted import is the other source).

    Providers describe their homes but never rate them: a provider, or a council, is refused here
    whatever page or API call asked.
    """
    if by.organisation_kind != OrgKind.RCC or by.rcc_id != home.rcc_id:
        raise Conflict(RATING_NOT_YOURS)
    errors: dict[str, str] = {}
    if rating not in OFSTED_RATINGS:
        errors["ofsted_rating"] = "Select the latest Ofsted rating"
    if rating_date is not None and rating_date > date.today():
        errors["rating_date"] = "The date of the rating must be today or in the past"
    if errors:
        raise FieldErrors(errors)
    previous = home.ofsted_rating
    home.ofsted_rating, home.rating_date = rating, rating_date
    home.rating_source, home.rating_recorded_by, home.rating_recorded_at = RATING_FROM_RCC, by.name, utcnow()
    session.add(home)
    audit.record(session, AuditAction.HOME_RATING_SET, home, rating=rating, previous=previous,
                 rating_date=rating_date.isoformat() if rating_date else None)
    return home


OVERRIDE_NOT_YOURS = "Only someone at the RCC can let matching propose a home rated Inadequate."
MAX_OVERRIDE_REASON = 2000


def set_inadequate_override(session: Session, home: Home, allow: bool, reason: str | None, by: User) -> Home:
    """The RCC lets matching propose a home rated Inadequate (with the reason), or stops it again.

    By default matching excludes a home rated Inadequate (a hard rule in the funnel). Only the RCC
    that runs the home's region may override that, per home, and the reason is recorded and audited.
    """
    if by.organisation_kind != OrgKind.RCC or by.rcc_id != home.rcc_id:
        raise Conflict(OVERRIDE_NOT_YOURS)
    text = (reason or "").strip()
    if allow and not text:
        raise FieldErrors({"reason": "Say why matching may propose this home although it is rated Inadequate"})
    if len(text) > MAX_OVERRIDE_REASON:
        raise FieldErrors({"reason": f"The reason must be {MAX_OVERRIDE_REASON:,} characters or fewer"})
    new = text if allow else None
    previous = home.inadequate_override_reason
    transition(session, home, "inadequate_override_reason", previous, new,
               "Someone else changed this home's Inadequate override at the same moment. Look at the home again.")
    audit.record(session, AuditAction.HOME_INADEQUATE_OVERRIDE_SET, home, allowed=allow, rating=home.ofsted_rating,
                 reason=new, previous=previous)
    return home


def _urn_taken(session: Session, rcc_id: int, urn: str, home_id: int | None) -> bool:
    # URNs are unique across the region, including homes of providers the session cannot see.
    with within_rcc(session, rcc_id):
        query = select(Home.id).where(Home.rcc_id == rcc_id, Home.ofsted_urn == urn)
        if home_id is not None:
            query = query.where(Home.id != home_id)
        return session.scalar(query.limit(1)) is not None


# Vacancies -----------------------------------------------------------------------------

def set_vacancy(session: Session, home: Home, places_free: int | None, available_from: date | None,
                seen_version: int | None = None) -> Vacancy:
    """Record the home's free places now (which also confirms them); refused if someone else changed
    them after the person read version ``seen_version``."""
    errors: dict[str, str] = {}
    if places_free is None or places_free < 0:
        errors["places_free"] = "Enter the number of free places, 0 or more"
    elif places_free > home.registered_places:
        errors["places_free"] = (f"Free places cannot be more than the home's {home.registered_places} "
                                 "registered places")
    if available_from is None:
        errors["available_from"] = "Enter the date the places are free from"
    if errors:
        raise FieldErrors(errors)
    if not home.active:
        raise Conflict("This home is marked inactive; make it active before you add vacancies")
    vacancy = vacancy_of(session, home)
    if vacancy is None:
        vacancy = Vacancy(rcc_id=home.rcc_id, provider_id=home.provider_id, home_id=home.id,
                          available_from=available_from)
    vacancy.places_free = int(places_free or 0)
    vacancy.available_from = available_from or date.today()
    vacancy.last_confirmed_at = utcnow()
    if vacancy.id is None:
        session.add(vacancy)
    else:
        save_edit(session, "vacancy", seen_version, vacancy)
    audit.record(session, AuditAction.VACANCY_UPDATED, vacancy, home_id=home.id, places_free=vacancy.places_free)
    supply_history.record(session, home, supply_history.VACANCY_SET)
    return vacancy


def confirm_vacancy(session: Session, vacancy: Vacancy) -> Vacancy:
    """The provider says the vacancy is still right as it stands."""
    vacancy.last_confirmed_at = utcnow()
    session.add(vacancy)
    audit.record(session, AuditAction.VACANCY_CONFIRMED, vacancy, places_free=vacancy.places_free)
    return vacancy


def vacancy_of(session: Session, home: Home) -> Vacancy | None:
    return session.scalars(select(Vacancy).where(Vacancy.home_id == home.id)).first()


# Reading the register --------------------------------------------------------------------

@dataclass(frozen=True)
class HomeFilters:
    placement_type: str | None = None
    local_authority: str | None = None
    provider_id: int | None = None
    with_vacancies: bool = False
    stale_only: bool = False
    search: str | None = None


@dataclass
class HomePage:
    rows: list[tuple[Home, Vacancy | None, Organisation]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_homes(session: Session, filters: HomeFilters, page: int = 1, per_page: int = 50) -> HomePage:
    """One page of homes with their vacancy and provider, in one query."""
    conditions = []
    if filters.placement_type:
        conditions.append(Home.placement_type == filters.placement_type)
    if filters.local_authority:
        conditions.append(Home.local_authority == filters.local_authority)
    if filters.provider_id:
        conditions.append(Home.provider_id == filters.provider_id)
    if filters.search:
        like = f"%{filters.search.strip().lower()}%"
        conditions.append(or_(func.lower(Home.name).like(like), func.lower(Home.ofsted_urn).like(like)))
    if filters.with_vacancies:
        conditions.append(Vacancy.places_free > 0)
    if filters.stale_only:
        conditions.append(Vacancy.last_confirmed_at < utcnow() - timedelta(days=STALE_AFTER_DAYS))
    base = (select(Home, Vacancy, Organisation).outerjoin(Vacancy, Vacancy.home_id == Home.id)
            .join(Organisation, Organisation.id == Home.provider_id).where(*conditions))
    total = session.scalar(select(func.count(Home.id)).outerjoin(Vacancy, Vacancy.home_id == Home.id)
                           .where(*conditions)) or 0
    page = max(1, page)
    rows = session.execute(base.order_by(Home.name, Home.id).offset((page - 1) * per_page).limit(per_page)).all()
    return HomePage([(h, v, o) for h, v, o in rows], total, page, per_page)


def providers(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).where(Organisation.kind == OrgKind.PROVIDER)
                                .order_by(Organisation.name)))


def homes_by_id(session: Session, ids: list[int]) -> dict[int, Home]:
    return {int(h.id or 0): h for h in session.scalars(select(Home).where(col(Home.id).in_(ids)))} if ids else {}


def stale(vacancy: Vacancy | None) -> bool:
    return vacancy is not None and is_stale(vacancy.last_confirmed_at)
