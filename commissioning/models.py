"""Commissioning's tables: children and their referrals, sibling groups, the supply
register of homes and vacancies, and placements.

Money is whole pence in integer columns (``weekly_price``, ``weekly_cost``,
``max_weekly_cost``): never floats. Pages show pounds.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import ClassVar

from sqlalchemy import JSON, CheckConstraint, Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from commissioning.lifecycle import DRAFT, OPEN_STATUSES
from commissioning.vocabulary import (  # noqa: F401 - re-exported: the names other packages use
    ADDITIONAL_SUPPORT,
    COMMUNICATION_NEEDS,
    CULTURAL_NEEDS,
    LIVING_COMPANIONS,
    NEEDS,
    NEEDS_AND_RISKS,
    OFSTED_RATINGS,
    PETS,
    PLACEMENT_TYPES,
    RISK_FLAGS,
    SEXES,
    SPECIALIST_TYPES,
    STALE_AFTER_DAYS,
    STANDARD_PLACEMENT_TYPES,
    SUITABILITIES,
    URGENCIES,
)
from rcc.models import utcnow
from rcc.tenancy import (
    COUNCIL_AND_RCC,
    COUNCIL_PROVIDER_AND_RCC,
    OWNER_AND_RCC,
    RCC_ONLY,
    SUPPLY_REGISTER,
    TenantPolicy,
)
from rcc.versions import Versioned


class Child(SQLModel, table=True):
    """A child in a member council's care, pseudonymised: the council's own reference, no name."""

    __tablename__ = "child"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    __table_args__ = (UniqueConstraint("council_id", "reference", name="uq_child_council_reference"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    reference: str = Field(max_length=40)
    initials: str | None = Field(default=None, max_length=5)  # shown to the owning council only
    birth_month: int
    birth_year: int
    sex: str = Field(max_length=1)
    legal_status: str = Field(max_length=3)
    category_of_need: str = Field(max_length=2)
    uasc: bool = False
    ehcp: bool = False
    home_postcode: str = Field(max_length=8)
    school_postcode: str | None = Field(default=None, max_length=8)
    home_latitude: float | None = None
    home_longitude: float | None = None
    school_latitude: float | None = None
    school_longitude: float | None = None
    created_at: datetime = Field(default_factory=utcnow)

    def age_on(self, day: date) -> int:
        """Whole years on ``day``, counting the birthday as the first of the birth month."""
        return day.year - self.birth_year - (1 if day.month < self.birth_month else 0)


class SiblingGroup(Versioned, table=True):
    """Brothers and sisters referred together, and their care plan: together (one home or none),
    together if possible, or apart (never the same home; the reason is required)."""

    __tablename__ = "sibling_group"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    __table_args__ = (
        CheckConstraint("plan IN ('together', 'together_if_possible', 'apart')", name="ck_sibling_group_plan"),
        CheckConstraint("plan <> 'apart' OR (plan_reason IS NOT NULL AND length(trim(plan_reason)) > 0)",
                        name="ck_sibling_group_apart_reason"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(max_length=80)
    plan: str = Field(default="together", max_length=30)  # commissioning.vocabulary.SIBLING_PLANS
    plan_reason: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)


def _one_of(column: str, keys: object, nullable: bool = False) -> CheckConstraint:
    """The column holds one of ``keys`` (and NULL when ``nullable``): the vocabulary, held by the database."""
    allowed = ", ".join(f"'{key}'" for key in keys)  # type: ignore[attr-defined]
    condition = f"{column} IN ({allowed})"
    return CheckConstraint(f"{column} IS NULL OR {condition}" if nullable else condition, name=f"ck_referral_{column}")


# The referral's answers to the Placements Data Standard, each checked by the database.
REFERRAL_STANDARD_CHECKS = (
    *(_one_of(f"{key}_suitability", SUITABILITIES) for key in STANDARD_PLACEMENT_TYPES),
    _one_of("communication_needs", COMMUNICATION_NEEDS),
    _one_of("cultural_needs", CULTURAL_NEEDS),
    _one_of("living_companions", LIVING_COMPANIONS),
    _one_of("pets", PETS),
    _one_of("additional_support", ADDITIONAL_SUPPORT, nullable=True),
)


class Referral(Versioned, table=True):
    """A council's request for a home for one child, in the Placements Data Standard's terms.

    ``placement_type`` is the platform's type to look for first: one of the types the
    suitabilities allow. It is the only way to ask for a specialist type (secure, parent and
    child), which is then the only type matched: a secure place needs a court order, a parent and
    child place a parent and baby, so "residential is suitable" never implies either. ``needs`` are derived from the standard's placement requirements
    (``vocabulary.matching_needs``); ``risk_flags`` are the standard's risks present.
    """

    __tablename__ = "referral"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    # A child has at most one open referral, whoever asks at the same moment.
    __table_args__ = (Index("uq_referral_open_per_child", "child_id", unique=True,
                            sqlite_where=text(f"status IN {OPEN_STATUSES!r}"),
                            postgresql_where=text(f"status IN {OPEN_STATUSES!r}")),
                      # The referral list's order, carrying what row-level security and the filters read, so
                      # a page is an index-only scan that stops at the page (list_referrals).
                      Index("ix_referral_list_order", "date_needed", "id",
                            postgresql_include=["rcc_id", "council_id", "status", "urgency", "placement_type"]),
                      *REFERRAL_STANDARD_CHECKS)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    child_id: int = Field(foreign_key="child.id", index=True)
    sibling_group_id: int | None = Field(default=None, foreign_key="sibling_group.id", index=True)
    placement_type: str = Field(max_length=30, index=True)
    urgency: str = Field(max_length=20)
    date_needed: date
    needs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    risk_flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    dol_order_needed: bool = False
    # Placements Data Standard v2: PlacementRecommendation
    foster_suitability: str = Field(default="not_specified", max_length=20)
    residential_suitability: str = Field(default="not_specified", max_length=20)
    supported_accommodation_suitability: str = Field(default="not_specified", max_length=20)
    # PlacementRequirements
    communication_needs: str = Field(default="not_specified", max_length=20)
    communication_requirements: list[str] = Field(default_factory=lambda: ["none"],
                                                  sa_column=Column(JSON, nullable=False))
    home_adaptation: bool = False
    cultural_needs: str = Field(default="not_known", max_length=20)
    living_companions: str = Field(default="no_preference", max_length=20)
    pets: str = Field(default="not_known", max_length=20)
    additional_support: str | None = Field(default=None, max_length=30)
    # Risks: the "other (please specify)" texts
    risk_to_child_other: str | None = Field(default=None, max_length=2000)
    risk_to_others_other: str | None = Field(default=None, max_length=2000)
    # PlacementAvailability.preferredLocation; ActualPlacement.educationContinuity asked for up front
    preferred_location: str | None = Field(default=None, max_length=200)
    education_continuity: bool = False
    child_wishes: str = Field(default="", max_length=4000)  # the child's own words: never shown to providers
    # What the council chooses to tell providers about the child, in its own words: the only free text
    # about the child that leaves the council and the RCC.
    provider_summary: str = Field(default="", max_length=2000)
    excluded_provider_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    excluded_home_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    excluded_areas: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    max_weekly_cost: int | None = None  # pence
    max_distance_miles: int | None = None
    out_of_area_reason: str | None = Field(default=None, max_length=2000)
    status: str = Field(default=DRAFT, max_length=20, index=True)
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    status_changed_at: datetime = Field(default_factory=utcnow)

    @property
    def needs_and_risks(self) -> list[str]:
        return [*self.needs, *self.risk_flags]

    def suitability(self, standard_type: str) -> str:
        return str(getattr(self, f"{standard_type}_suitability"))

    def allowed_placement_types(self) -> frozenset[str]:
        """The platform's types matching may propose: those of every standard type not unsuitable,
        but never a specialist type (secure, parent and child) unless asked for, and then only it."""
        if self.placement_type in SPECIALIST_TYPES:
            return frozenset({self.placement_type})
        return frozenset(t for key, standard in STANDARD_PLACEMENT_TYPES.items()
                         if self.suitability(key) != "unsuitable" for t in standard.platform_types
                         if t not in SPECIALIST_TYPES)

    def preferred_placement_types(self) -> frozenset[str]:
        """The allowed types of every standard type marked preferred."""
        allowed = self.allowed_placement_types()
        return frozenset(t for key, standard in STANDARD_PLACEMENT_TYPES.items()
                         if self.suitability(key) == "preferred" for t in standard.platform_types if t in allowed)


class ReferralEvent(SQLModel, table=True):
    """One step of a referral's life: who moved it, from what, to what, when and why."""

    __tablename__ = "referral_event"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = Field(default_factory=utcnow)
    reason: str | None = Field(default=None, max_length=2000)
    # The organisation of who acted, so a page can say "North West RCC" where it may not show the person.
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")


RATING_FROM_IMPORT, RATING_FROM_RCC = "ofsted_import", "rcc"


class Home(Versioned, table=True):
    """A registered home (or, for a fostering agency, its carers taken together)."""

    __tablename__ = "home"
    __tenant_policy__: ClassVar[TenantPolicy] = SUPPLY_REGISTER
    __table_args__ = (UniqueConstraint("rcc_id", "ofsted_urn", name="uq_home_rcc_urn"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    ofsted_urn: str = Field(max_length=20)
    name: str = Field(max_length=200)
    placement_type: str = Field(max_length=30, index=True)
    local_authority: str = Field(max_length=80)
    postcode: str | None = Field(default=None, max_length=8)
    latitude: float | None = None
    longitude: float | None = None
    location_precision: str = Field(default="postcode", max_length=20)
    registered_places: int = 0
    age_min: int = 0
    age_max: int = 17
    sexes: list[str] = Field(default_factory=lambda: ["F", "M"], sa_column=Column(JSON, nullable=False))
    needs_met: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    max_sibling_group: int = 1
    weekly_price: int | None = None  # pence
    price_band: str | None = Field(default=None, max_length=40)
    # The rating comes only from the Ofsted import or an RCC user, never from the provider; where it
    # came from and when are kept with it and shown wherever it is.
    ofsted_rating: str = Field(default="not_yet_inspected", max_length=30)
    rating_date: date | None = None
    rating_source: str | None = Field(default=None, max_length=20)  # RATING_FROM_IMPORT or RATING_FROM_RCC
    rating_recorded_at: datetime | None = None
    rating_recorded_by: str | None = Field(default=None, max_length=120)  # the RCC person's name
    dol_capable: bool = False
    # The RCC's recorded reason to let matching propose this home while it is rated Inadequate
    # (null: an Inadequate home is excluded, the default).
    inadequate_override_reason: str | None = Field(default=None, max_length=2000)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def rating_provenance(self) -> str:
        """Where the rating came from, in words: "Ofsted import 7 December 2026" or "Set by … on …"."""
        when = f"{self.rating_recorded_at:%-d %B %Y}" if self.rating_recorded_at else "an unknown date"
        if self.rating_source == RATING_FROM_IMPORT:
            return f"Ofsted import {when}"
        if self.rating_source == RATING_FROM_RCC:
            return f"Set by {self.rating_recorded_by} on {when}"
        return "Not yet confirmed by the Ofsted import or the RCC"


class Vacancy(Versioned, table=True):
    """The free places a home has now; one row per home, kept current by its provider."""

    __tablename__ = "vacancy"
    __tenant_policy__: ClassVar[TenantPolicy] = SUPPLY_REGISTER
    __table_args__ = (CheckConstraint("places_free >= 0", name="ck_vacancy_places_free_not_negative"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    home_id: int = Field(foreign_key="home.id", unique=True)
    places_free: int = 0
    available_from: date
    last_confirmed_at: datetime = Field(default_factory=utcnow)

    def is_stale(self, now: datetime | None = None) -> bool:
        return is_stale(self.last_confirmed_at, now)

    @property
    def stale(self) -> bool:
        return self.is_stale()


class SupplyChange(SQLModel, table=True):
    """A home's supply as it stood after one change: registered places, whether it is active, and its
    vacancy. Written in the same transaction as each change (``services.supply_history.record``) and
    never changed or removed (on PostgreSQL a trigger refuses), so the supply on any past day is the
    latest row of each home recorded on or before it."""

    __tablename__ = "supply_change"
    __tenant_policy__: ClassVar[TenantPolicy] = SUPPLY_REGISTER
    __table_args__ = (
        CheckConstraint("registered_places >= 0", name="ck_supply_change_places_not_negative"),
        CheckConstraint("places_free >= 0", name="ck_supply_change_free_not_negative"),
        Index("ix_supply_change_home_changed", "home_id", "changed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    home_id: int = Field(foreign_key="home.id")
    changed_at: datetime = Field(default_factory=utcnow)
    changed_on: date = Field(index=True)  # the day of the change (UTC)
    cause: str = Field(max_length=30)
    placement_type: str = Field(max_length=30)
    local_authority: str = Field(max_length=80)
    active: bool
    registered_places: int
    places_free: int = 0  # 0 when the home has no vacancy recorded
    available_from: date | None = None


def is_stale(last_confirmed_at: datetime, now: datetime | None = None) -> bool:
    """Not confirmed in the last ``STALE_AFTER_DAYS`` days."""
    now = now or utcnow()
    if last_confirmed_at.tzinfo is None:  # SQLite hands back naive UTC
        last_confirmed_at = last_confirmed_at.replace(tzinfo=now.tzinfo)
    return now - last_confirmed_at > timedelta(days=STALE_AFTER_DAYS)


# A foster household's status: only an approved household with a free place reaches matching.
HOUSEHOLD_STATUSES = {"approved": "Approved, taking placements", "on_hold": "On hold (not taking placements now)",
                      "deregistered": "No longer approved"}
MAX_FOSTER_CHILDREN = 6  # the usual limit of three may be exceeded only for a sibling group


class FosterHousehold(Versioned, table=True):
    """Approved foster carers, as one household: a council's in-house carers or an independent
    fostering agency's. Only the RCC and the owner see it; its postcode places it for matching."""

    __tablename__ = "foster_household"
    __tenant_policy__: ClassVar[TenantPolicy] = OWNER_AND_RCC
    __table_args__ = (
        UniqueConstraint("owner_id", "reference", name="uq_foster_household_owner_reference"),
        CheckConstraint("age_min >= 0 AND age_min <= age_max AND age_max <= 17",
                        name="ck_foster_household_ages"),
        CheckConstraint(f"max_children >= 1 AND max_children <= {MAX_FOSTER_CHILDREN}",
                        name="ck_foster_household_max_children"),
        CheckConstraint("places_free >= 0 AND places_free <= max_children", name="ck_foster_household_places"),
        CheckConstraint("status IN ('approved', 'on_hold', 'deregistered')", name="ck_foster_household_status"),
        CheckConstraint("weekly_cost IS NULL OR weekly_cost >= 0", name="ck_foster_household_weekly_cost"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    owner_id: int = Field(foreign_key="organisation.id", index=True)  # a member council or an agency provider
    reference: str = Field(max_length=40)  # the owner's own reference, never the carers' names
    postcode: str = Field(max_length=8)
    latitude: float
    longitude: float
    location_precision: str = Field(default="postcode", max_length=20)
    local_authority: str = Field(max_length=80)  # the council area the postcode is in
    age_min: int = 0
    age_max: int = 17
    max_children: int = 1  # approved for this many children at once
    siblings: bool = False  # approved to take brothers and sisters together
    places_free: int = 0
    needs_met: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    weekly_cost: int | None = None  # pence: the fee (agency) or the council's own weekly cost (in-house)
    status: str = Field(default="approved", max_length=20, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def max_sibling_group(self) -> int:
        return self.max_children if self.siblings else 1


class InHousePreference(Versioned, table=True):
    """How many points a council takes off the score of its own in-house foster households for its
    children (0: no preference). One row per council that has set it."""

    __tablename__ = "in_house_preference"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    __table_args__ = (CheckConstraint("points >= 0 AND points <= 10000", name="ck_in_house_preference_points"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", unique=True)
    points: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class Placement(SQLModel, table=True):
    """A child living in a home: from its start, until it ends."""

    __tablename__ = "placement"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_PROVIDER_AND_RCC
    # At most one live placement per referral and per child; a placement ends on or after its start
    # (and only once: ``services.placements.end_placement`` sets the end only while it is empty).
    __table_args__ = (
        Index("uq_placement_live_per_referral", "referral_id", unique=True,
              sqlite_where=text("end_date IS NULL"), postgresql_where=text("end_date IS NULL")),
        Index("uq_placement_live_per_child", "child_id", unique=True,
              sqlite_where=text("end_date IS NULL"), postgresql_where=text("end_date IS NULL")),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_placement_ends_after_start"),
        CheckConstraint("(home_id IS NULL) <> (foster_household_id IS NULL)", name="ck_placement_one_place"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    child_id: int = Field(foreign_key="child.id", index=True)
    # A home, or a foster household (exactly one); a household's ``provider_id`` is its owner (an
    # agency, or the council whose in-house carers they are).
    home_id: int | None = Field(default=None, foreign_key="home.id", index=True)
    foster_household_id: int | None = Field(default=None, foreign_key="foster_household.id", index=True)
    placement_type: str = Field(max_length=30)
    start_date: date
    end_date: date | None = None
    end_reason: str | None = Field(default=None, max_length=6)
    weekly_cost: int  # pence
    funding: str = Field(max_length=10)
    block_contract_id: int | None = None  # the contracts package's block contract; no FK on purpose
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def place_key(self) -> str:
        """"H<home id>" or "F<foster household id>", as matching's snapshot keys name them."""
        return f"H{self.home_id}" if self.home_id is not None else f"F{self.foster_household_id}"


class ReferralUpload(SQLModel, table=True):
    """A council's CSV of referrals, checked and saved in the background: all rows or none.

    The file's bytes are kept only until the upload finishes (they describe children); what stays
    is who uploaded it, how far it got, and either the referrals it made or the problems found.
    A worker that dies part way leaves ``heartbeat_at`` behind: the upload is then shown as
    stopped (nothing was saved, because the rows are written in one transaction at the end).
    """

    __tablename__ = "referral_upload"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    file_name: str = Field(default="", max_length=200)
    submit: bool = False
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    status: str = Field(default="queued", max_length=20)  # queued, checking, saving, done, failed
    rows_total: int = 0
    rows_checked: int = 0
    referrals_created: int = 0
    sibling_groups_created: int = 0
    message: str | None = Field(default=None, max_length=2000)
    problems: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class SsdChild(SQLModel, table=True):
    """A child in care from a council's Standard Safeguarding Dataset extract, pseudonymised as the
    SSDA903 import is: the council's own person id, month and year of birth, no name, no UPN, no NHS
    number. Used only to pre-fill a referral form; the council's latest import replaces the last."""

    __tablename__ = "ssd_child"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    __table_args__ = (UniqueConstraint("council_id", "reference", name="uq_ssd_child_council_reference"),
                      CheckConstraint("birth_month BETWEEN 1 AND 12", name="ck_ssd_child_birth_month"))

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    reference: str = Field(max_length=40)  # ssd_person.pers_person_id
    birth_month: int
    birth_year: int
    sex: str | None = Field(default=None, max_length=1)  # F or M; None when the extract says neither
    legal_status: str | None = Field(default=None, max_length=3)
    category_of_need: str | None = Field(default=None, max_length=2)
    episode_start: date | None = None
    placement_code: str | None = Field(default=None, max_length=3)  # the current placement's SSDA903 code
    placement_start: date | None = None
    imported_at: datetime = Field(default_factory=utcnow)


class LookedAfterChild(SQLModel, table=True):
    """A child in a council's SSDA903 return, pseudonymised: the council's own CHILD id as the reference,
    month and year of birth only, no UPN, no name, no mother's details (see ``services.ssda903``)."""

    __tablename__ = "looked_after_child"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    __table_args__ = (
        UniqueConstraint("council_id", "child_ref", name="uq_looked_after_child_ref"),
        CheckConstraint("birth_month BETWEEN 1 AND 12", name="ck_looked_after_child_birth_month"),
        CheckConstraint("sex IN ('F', 'M', 'U')", name="ck_looked_after_child_sex"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    child_ref: str = Field(max_length=10)  # the 903 CHILD: the council's own identifier
    sex: str = Field(max_length=1)  # F, M or U (903 SEX 2 or 1 until 2023-24, then F, M or U)
    birth_year: int
    birth_month: int
    ethnicity: str = Field(max_length=4)  # 903 ETHNIC code


class CareEpisode(SQLModel, table=True):
    """One SSDA903 episode of care: a period with one legal status and one placement.

    Postcodes are kept in full, as on referrals: the DfE's rules derive the placement's local authority
    and distance from them, and only the council and its RCC can read the rows.
    """

    __tablename__ = "care_episode"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    __table_args__ = (
        UniqueConstraint("council_id", "child_ref", "start", name="uq_care_episode_start"),
        CheckConstraint('"end" IS NULL OR "end" >= start', name="ck_care_episode_dates"),
        CheckConstraint("(\"end\" IS NULL) = (rec = '')", name="ck_care_episode_rec_with_end"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    child_ref: str = Field(max_length=10)
    start: date  # DECOM
    end: date | None = None  # DEC
    rne: str = Field(max_length=2)
    legal_status: str = Field(max_length=2)  # LS
    cin: str = Field(max_length=2)
    place: str = Field(max_length=2)
    place_provider: str = Field(default="", max_length=3)
    rec: str = Field(default="", max_length=3)  # reason episode ceased
    reason_place_change: str = Field(default="", max_length=6)
    home_post: str = Field(default="", max_length=8)
    pl_post: str = Field(default="", max_length=8)
    urn: str = Field(default="", max_length=10)
    source_year: int  # the collection year (ending 31 March) of the latest file that carried it


class Ssda903Upload(SQLModel, table=True):
    """A council's SSDA903 header and episodes files, imported in the background: all rows or none.

    The files are kept only until the import finishes, and the header is kept without its UPN and
    mother's date of birth columns (``services.ssda903.scrub_header``): they are never stored.
    """

    __tablename__ = "ssda903_upload"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'checking', 'saving', 'done', 'failed')",
                        name="ck_ssda903_upload_status"),
        CheckConstraint("rows_checked >= 0 AND rows_checked <= rows_total", name="ck_ssda903_upload_progress"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    file_name: str = Field(default="", max_length=200)
    year: int | None = None  # the collection year asked for; None: worked out from the file's dates
    header_content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    episodes_content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    status: str = Field(default="queued", max_length=20)
    rows_total: int = 0
    rows_checked: int = 0
    children: int = 0
    episodes: int = 0
    message: str | None = Field(default=None, max_length=2000)
    problems: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


# branch onboard: a provider asking to join an RCC by its Ofsted URN (commissioning.onboarding)
JOIN_PENDING, JOIN_APPROVED, JOIN_REFUSED = "pending", "approved", "refused"


class ProviderJoinRequest(SQLModel, table=True):
    """Made by the public "ask to join" form; the RCC admin approves (which makes or finds the provider's
    organisation from the Ofsted register and invites the requester) or refuses. Only the RCC sees it."""

    __tablename__ = "provider_join_request"
    __tenant_policy__: ClassVar[TenantPolicy] = RCC_ONLY
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'refused')", name="ck_provider_join_request_status"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="ck_provider_join_request_decided"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    ofsted_urn: str = Field(max_length=20)
    provider_name: str | None = Field(default=None, max_length=200)  # from the register; None: not on it
    requester_name: str = Field(max_length=120)
    requester_email: str = Field(max_length=254)
    status: str = Field(default=JOIN_PENDING, max_length=10)
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    decided_by: int | None = Field(default=None, foreign_key="user_account.id")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
