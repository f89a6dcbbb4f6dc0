"""Cost transparency's tables: weekly cost records of placements, the high-cost review queue,
the RCC's settings, observed Ofsted ratings (to see drops) and versioned publications.

Money is whole pence in integer columns, never floats. A publication's ``snapshot`` is the
aggregated, suppressed tables as JSON: once approved it is never changed (services refuse,
and on PostgreSQL a trigger refuses too), and the public pages read nothing else.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import JSON, CheckConstraint, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from rcc.models import utcnow
from rcc.tenancy import COUNCIL_AND_RCC, PROVIDER_AND_RCC, RCC_AND_COUNCILS, RCC_ONLY, WHOLE_RCC, TenantPolicy
from rcc.versions import Versioned

# Drafts of publications are the RCC's own working papers: no council or provider sees them.
RCC_STAFF_ONLY = TenantPolicy(rcc_staff=True)
# A published version is public (anyone may read it, signed in or not); drafts are the RCC's.
PUBLISHED_OR_RCC_STAFF = TenantPolicy(rcc_staff=True, public_when=("status", "published"))

DEFAULT_HIGH_COST_THRESHOLD = 1_000_000  # pence a week: £10,000, the LGA survey's "high-cost" line
DEFAULT_PROVIDER_SHARE_ALERT = 25  # percent of the region's spend held by one provider group


class CostSettings(Versioned, table=True):
    """The RCC's thresholds for the high-cost review queue and provider concentration alerts."""

    __tablename__ = "cost_settings"
    __tenant_policy__: ClassVar[TenantPolicy] = WHOLE_RCC

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", unique=True)
    high_cost_threshold: int = DEFAULT_HIGH_COST_THRESHOLD  # pence a week
    provider_share_alert_percent: int = DEFAULT_PROVIDER_SHARE_ALERT
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")


class CostRecord(Versioned, table=True):
    """What one placement costs a week over a date range, split into its parts.

    Gross cost is core + additional support + education + health; other bodies' contributions
    (NHS, education) are what they pay of it, so the council's net cost is gross minus those.
    """

    __tablename__ = "cost_record"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    placement_id: int = Field(foreign_key="placement.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)  # copied from the placement
    placement_type: str = Field(max_length=30, index=True)  # copied from the placement
    funding: str = Field(max_length=10)  # "block" | "spot", copied from the placement
    need_band: str = Field(max_length=20)
    start_date: date
    end_date: date | None = None
    core_weekly: int  # pence
    additional_support_weekly: int = 0
    education_weekly: int = 0
    health_weekly: int = 0
    nhs_contribution_weekly: int = 0
    education_contribution_weekly: int = 0
    source: str = Field(max_length=20)  # "contract_price" | "entered" | "import"
    notes: str = Field(default="", max_length=2000)
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def gross_weekly(self) -> int:
        return self.core_weekly + self.additional_support_weekly + self.education_weekly + self.health_weekly

    @property
    def contributions_weekly(self) -> int:
        return self.nhs_contribution_weekly + self.education_contribution_weekly

    @property
    def net_weekly(self) -> int:
        return self.gross_weekly - self.contributions_weekly

    def active_on(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


class HighCostReview(SQLModel, table=True):
    """A placement flagged for review: above the RCC's threshold, or an outlier for its type."""

    __tablename__ = "high_cost_review"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    __table_args__ = (UniqueConstraint("cost_record_id", name="uq_high_cost_review_cost_record"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    placement_id: int = Field(foreign_key="placement.id", index=True)
    cost_record_id: int = Field(foreign_key="cost_record.id")
    placement_type: str = Field(max_length=30)
    weekly_cost: int  # pence, gross, when flagged
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    threshold: int  # pence, the threshold in force when flagged
    outlier_limit: int | None = None  # pence: upper quartile + 1.5 × IQR for the type, when flagged
    flagged_on: date
    status: str = Field(default="open", max_length=20, index=True)  # "open" | "reviewed"
    outcome: str | None = Field(default=None, max_length=40)
    notes: str = Field(default="", max_length=4000)
    next_review_on: date | None = None
    reviewed_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    reviewed_at: datetime | None = None


class RatingObservation(SQLModel, table=True):
    """A home's Ofsted rating as seen on a day; a worse rating than the one before is a drop."""

    __tablename__ = "rating_observation"
    __tenant_policy__: ClassVar[TenantPolicy] = PROVIDER_AND_RCC
    __table_args__ = (UniqueConstraint("home_id", "observed_on", name="uq_rating_observation_home_day"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    home_id: int = Field(foreign_key="home.id", index=True)
    rating: str = Field(max_length=30)
    observed_on: date


class Publication(Versioned, table=True):
    """One version of a published cost report: draft → approved → published, then never changed.

    A correction is a new version of the same ``slug`` whose ``changes`` says what changed.
    """

    __tablename__ = "cost_publication"
    __tenant_policy__: ClassVar[TenantPolicy] = PUBLISHED_OR_RCC_STAFF
    __table_args__ = (UniqueConstraint("slug", "version", name="uq_cost_publication_slug_version"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    slug: str = Field(max_length=120, index=True)
    version: int = 1
    title: str = Field(max_length=200)
    period_start: date
    period_end: date
    status: str = Field(default="draft", max_length=20, index=True)
    changes: str = Field(default="", max_length=4000)  # a correction's note of what changed
    snapshot: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)
    approved_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    approved_at: datetime | None = None
    published_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    published_at: datetime | None = None


WHATIF_STATUSES = ("queued", "running", "done", "failed")


class WhatifRun(SQLModel, table=True):
    """One what-if scenario and its replay beside the baseline (issue 17): the scenario as JSON
    (``cost_transparency.whatif.replay.scenario_to_json``), the seed and first month that make it
    reproducible, and, when done, both replays with each council's share. The RCC's; its member
    councils read it (their own share is what their pages show)."""

    __tablename__ = "whatif_run"
    __tenant_policy__: ClassVar[TenantPolicy] = RCC_AND_COUNCILS
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="ck_whatif_run_status"),
        CheckConstraint("months_done >= 0 AND months_done <= months * 2", name="ck_whatif_run_progress"),
        CheckConstraint("months >= 1 AND months <= 24", name="ck_whatif_run_months"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(max_length=120)
    scenario: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    seed: int
    start: date  # the first month replayed
    months: int = 12
    status: str = Field(default="queued", max_length=10)
    months_done: int = 0  # progress: months replayed, over both replays
    result: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, max_length=500)
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class ProviderParentGroup(SQLModel, table=True):
    """The parent group an RCC says a provider (one Ofsted legal entity) belongs to, so provider risk
    counts a group's several legal entities as one. A provider with no row is its own group."""

    __tablename__ = "provider_parent_group"
    __tenant_policy__: ClassVar[TenantPolicy] = RCC_ONLY
    __table_args__ = (UniqueConstraint("provider_id", name="uq_provider_parent_group_provider"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id")
    parent_name: str = Field(max_length=200)
