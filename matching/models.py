"""Matching's tables: runs (with their snapshot and result), proposals per child, offers to providers.

A run is the RCC's own work: it belongs to the RCC organisation (``organisation_id`` is the RCC's
id, so ``OWN_ORGANISATION`` shows it to RCC staff only). A proposal concerns one council's child,
so that council sees it too. An offer is shared by the RCC, the child's council and the provider
of the offered home — the provider reads only its anonymised ``profile``.

Money is whole pence in integer columns, as in commissioning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Column, Index, text
from sqlmodel import Field, SQLModel

from rcc.models import utcnow
from rcc.tenancy import COUNCIL_AND_RCC, COUNCIL_PROVIDER_AND_RCC, OWN_ORGANISATION, TenantPolicy

# Run stages, in order; "failed" or "cancelled" can follow any of them but "done".
QUEUED = "queued"
SNAPSHOT = "snapshot"
CANDIDATES = "candidates"
SOLVING = "solving"
EXPLAINING = "explaining"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"
RUN_STAGES = (QUEUED, SNAPSHOT, CANDIDATES, SOLVING, EXPLAINING, DONE)
RUNNING_STAGES = (QUEUED, SNAPSHOT, CANDIDATES, SOLVING, EXPLAINING)
ENDED_STAGES = (DONE, FAILED, CANCELLED)
# A failed or cancelled run can be tried again (a new run over the same referrals).
RETRYABLE_STAGES = (FAILED, CANCELLED)
# The database keeps one active run per RCC: this index is the rule (see migration 0013).
ACTIVE_RUN_INDEX = "uq_matching_run_one_active_per_rcc"
_ACTIVE_WHERE = text("stage IN ('queued', 'snapshot', 'candidates', 'solving', 'explaining')")


class MatchingRun(SQLModel, table=True):
    """One run of the engine over a set of referrals, with everything needed to reproduce it."""

    __tablename__ = "matching_run"
    __tenant_policy__: ClassVar[TenantPolicy] = OWN_ORGANISATION
    __table_args__ = (Index(ACTIVE_RUN_INDEX, "rcc_id", unique=True, sqlite_where=_ACTIVE_WHERE,
                            postgresql_where=_ACTIVE_WHERE),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)  # the RCC itself
    started_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    note: str = Field(default="", max_length=200)
    whole_region: bool = True
    referral_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    stage: str = Field(default=QUEUED, max_length=20, index=True)
    background: bool = False
    job_id: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=2000)
    # Seconds spent in each stage, e.g. {"snapshot": 0.12, "solving": 1.4}.
    stage_seconds: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The engine's problem (problem_to_json) and result (result_to_json), exactly as solved.
    problem: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    children: int = 0
    placed: int = 0
    unmatched: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    stage_started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    # The worker touches this while it works on the run; a run whose heartbeat stops is failed by the reaper.
    heartbeat_at: datetime | None = None
    # A retry is a new run over the same referrals, linked to the run it retries.
    retry_of_run_id: int | None = Field(default=None, foreign_key="matching_run.id")
    cancelled_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")


# What the officer decided about a proposal.
PROPOSED = "proposed"  # the engine proposed a home; nobody has decided yet
NO_HOME = "no_home"  # the engine found no home; nobody has decided yet
ACCEPTED = "accepted"  # the proposed home was accepted and offered
ALTERNATIVE_CHOSEN = "alternative_chosen"  # another home was chosen (with a reason) and offered
LEFT_UNMATCHED = "left_unmatched"  # left without a home this time (with a reason)
UNDECIDED_STATUSES = (PROPOSED, NO_HOME)

PROPOSAL_STATUS_LABELS = {
    PROPOSED: "To review",
    NO_HOME: "No home found",
    ACCEPTED: "Accepted",
    ALTERNATIVE_CHOSEN: "Alternative chosen",
    LEFT_UNMATCHED: "Left unmatched",
}


class Proposal(SQLModel, table=True):
    """One child's line in a run: the proposed home and why, or the funnel that left them unmatched."""

    __tablename__ = "matching_proposal"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    run_id: int = Field(foreign_key="matching_run.id", index=True)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    child_key: str = Field(max_length=20)  # the pseudonym in the snapshot, e.g. "C123"
    home_id: int | None = Field(default=None, foreign_key="home.id")
    score: int | None = None
    rank: int | None = None
    candidates: int | None = None
    # Engine output for this child: score parts, alternatives (and why they lost), or the funnel.
    parts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    alternatives: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    funnel: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    all_taken: bool = False
    status: str = Field(default=PROPOSED, max_length=20, index=True)
    chosen_home_id: int | None = Field(default=None, foreign_key="home.id")
    decision_reason: str | None = Field(default=None, max_length=2000)
    decided_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = None


# An offer's life: sent -> accepted -> approved (placement recorded) or rejected;
# sent -> declined; sent or accepted -> withdrawn by the RCC.
SENT = "sent"
PROVIDER_ACCEPTED = "accepted"
DECLINED = "declined"
APPROVED = "approved"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
# Offers that hold one of the home's free places until they are decided.
HOLDING_STATUSES = (SENT, PROVIDER_ACCEPTED)

OFFER_STATUS_LABELS = {
    SENT: "Awaiting provider",
    PROVIDER_ACCEPTED: "Accepted by provider",
    DECLINED: "Declined by provider",
    APPROVED: "Approved by council",
    REJECTED: "Rejected by council",
    WITHDRAWN: "Withdrawn",
    "expired": "Expired",
}

OFFER_STATUS_TAGS = {
    SENT: "govuk-tag--blue",
    PROVIDER_ACCEPTED: "govuk-tag--turquoise",
    DECLINED: "govuk-tag--orange",
    APPROVED: "govuk-tag--green",
    REJECTED: "govuk-tag--red",
    WITHDRAWN: "govuk-tag--grey",
    "expired": "govuk-tag--yellow",
}


class Offer(SQLModel, table=True):
    """A child offered to a provider's home, with a deadline for the provider's answer."""

    __tablename__ = "matching_offer"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_PROVIDER_AND_RCC
    # At most one open offer (sent or accepted) per referral: a child is never offered twice at once.
    __table_args__ = (Index("uq_matching_offer_open_per_referral", "referral_id", unique=True,
                            sqlite_where=text(f"status IN {HOLDING_STATUSES!r}"),
                            postgresql_where=text(f"status IN {HOLDING_STATUSES!r}")),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    home_id: int = Field(foreign_key="home.id", index=True)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    proposal_id: int | None = Field(default=None, foreign_key="matching_proposal.id")
    status: str = Field(default=SENT, max_length=20, index=True)
    # The anonymised profile the provider sees, fixed when the offer is made (see services.offers).
    profile: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    weekly_cost: int  # pence: the home's price, or the block contract's price for a block place
    funding: str = Field(default="spot", max_length=10)
    block_contract_id: int | None = None
    sent_at: datetime = Field(default_factory=utcnow)
    respond_by: datetime
    sent_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    answered_at: datetime | None = None
    answered_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    decline_reason: str | None = Field(default=None, max_length=30)
    decline_details: str | None = Field(default=None, max_length=2000)
    decided_at: datetime | None = None
    decided_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    decision_reason: str | None = Field(default=None, max_length=2000)
    placement_id: int | None = Field(default=None, foreign_key="placement.id")
