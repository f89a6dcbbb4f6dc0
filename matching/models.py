"""Matching's tables: runs (with their snapshot and result), proposals per child, offers to providers.

A run is the RCC's own work: it belongs to the RCC organisation (``organisation_id`` is the RCC's
id, so ``OWN_ORGANISATION`` shows it to RCC staff only). A proposal concerns one council's child,
so that council sees it too. An offer is shared by the RCC, the child's council and the provider
of the offered home — the provider reads only its anonymised ``profile``.

Money is whole pence in integer columns, as in commissioning.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKeyConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from rcc.encryption import EncryptedFile
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
    # The matching policy (weights) the run used; its exact weights are also in ``problem["weights"]``.
    policy_id: int | None = Field(default=None, foreign_key="matching_policy.id")
    # A run repeated with another policy re-solves this run's snapshot, to compare the two.
    repeat_of_run_id: int | None = Field(default=None, foreign_key="matching_run.id")


class MatchingPolicy(SQLModel, table=True):
    """One version of the RCC's matching policy: the engine's weights as whole numbers people set.

    Versions are never changed: saving the policy adds a version, and the newest is the one a new
    run uses. See ``services.policy`` for what each number means and its range.
    """

    __tablename__ = "matching_policy"
    __tenant_policy__: ClassVar[TenantPolicy] = OWN_ORGANISATION
    __table_args__ = (UniqueConstraint("rcc_id", "version", name="uq_matching_policy_version"),
                      CheckConstraint("home_miles >= 0 AND school_miles >= 0 AND cost_per_100_pounds >= 0 "
                                      "AND rating_percent >= 0 AND block_place_credit >= 0 AND sibling_split >= 0",
                                      name="ck_matching_policy_weights"))

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)  # the RCC itself
    version: int
    preset: str = Field(default="", max_length=40)  # the preset it started from, or "" when set by hand
    home_miles: int  # points per mile from the child's home
    school_miles: int  # points per mile from the child's school
    cost_per_100_pounds: int  # points per £100 a week
    rating_percent: int  # how much the Ofsted rating points count, in per cent
    block_place_credit: int  # points saved by using a contracted (already paid for) place
    sibling_split: int  # points per sibling placed apart from their group when the plan is to keep them together
    note: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")


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


# A proposal, offer or placement names a home or a foster household (see migration 0027).
ONE_PLACE = "(home_id IS NULL) <> (foster_household_id IS NULL)"
AT_MOST_ONE_PLACE = "home_id IS NULL OR foster_household_id IS NULL"


def place_key_of(home_id: int | None, foster_household_id: int | None) -> str | None:
    """The snapshot's key for a home ("H7") or a foster household ("F4"), as ``services.keys`` makes them."""
    if home_id is not None:
        return f"H{home_id}"
    if foster_household_id is not None:
        return f"F{foster_household_id}"
    return None


class Proposal(SQLModel, table=True):
    """One child's line in a run: the proposed home (or foster household) and why, or the funnel that
    left them unmatched."""

    __tablename__ = "matching_proposal"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    __table_args__ = (CheckConstraint(AT_MOST_ONE_PLACE, name="ck_matching_proposal_one_place"),
                      CheckConstraint("chosen_home_id IS NULL OR chosen_foster_household_id IS NULL",
                                      name="ck_matching_proposal_one_chosen_place"))

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
    foster_household_id: int | None = Field(default=None, foreign_key="foster_household.id")
    chosen_foster_household_id: int | None = Field(default=None, foreign_key="foster_household.id")

    @property
    def place_key(self) -> str | None:
        """The proposed home's or household's key, or None when no home was found."""
        return place_key_of(self.home_id, self.foster_household_id)

    @property
    def chosen_place_key(self) -> str | None:
        """The home or household offered: the chosen alternative, else the proposed one."""
        return place_key_of(self.chosen_home_id, self.chosen_foster_household_id) or self.place_key


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


# A group offer's provider answer: the whole group's, once.
GROUP_ANSWERS = (SENT, PROVIDER_ACCEPTED, DECLINED, WITHDRAWN)


class GroupOffer(SQLModel, table=True):
    """Siblings the run proposed to one provider, offered together: accepted or declined as a whole.

    Each child still has their own ``Offer`` (their profile, home and price); the provider's answer
    lives here and is copied to every offer of the group by the database (``Offer.group_answer`` is
    a foreign key with ON UPDATE CASCADE), and an offer may only show the answer its group has, so
    accepting one sibling and declining another is impossible at the database level too.
    """

    __tablename__ = "matching_group_offer"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_PROVIDER_AND_RCC
    __table_args__ = (UniqueConstraint("id", "answer", name="uq_matching_group_offer_id_answer"),
                      CheckConstraint(f"answer IN {GROUP_ANSWERS!r}", name="ck_matching_group_offer_answer"))

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    sibling_group_id: int = Field(foreign_key="sibling_group.id")
    run_id: int | None = Field(default=None, foreign_key="matching_run.id")
    answer: str = Field(default=SENT, max_length=20)
    sent_at: datetime = Field(default_factory=utcnow)
    respond_by: datetime
    answered_at: datetime | None = None
    answered_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    decline_reason: str | None = Field(default=None, max_length=30)
    decline_details: str | None = Field(default=None, max_length=2000)


class Offer(SQLModel, table=True):
    """A child offered to a provider's home, with a deadline for the provider's answer."""

    __tablename__ = "matching_offer"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_PROVIDER_AND_RCC
    # At most one open offer (sent or accepted) per referral: a child is never offered twice at once.
    # An offer in a group carries its group's answer (kept by the database, ON UPDATE CASCADE) and
    # may only be accepted or declined as its group was.
    __table_args__ = (Index("uq_matching_offer_open_per_referral", "referral_id", unique=True,
                            sqlite_where=text(f"status IN {HOLDING_STATUSES!r}"),
                            postgresql_where=text(f"status IN {HOLDING_STATUSES!r}")),
                      ForeignKeyConstraint(["group_offer_id", "group_answer"],
                                           ["matching_group_offer.id", "matching_group_offer.answer"],
                                           name="fk_matching_offer_group_answer", onupdate="CASCADE"),
                      CheckConstraint("(group_offer_id IS NULL) = (group_answer IS NULL)",
                                      name="ck_matching_offer_group_answer_set"),
                      CheckConstraint("group_offer_id IS NULL OR status NOT IN ('accepted', 'declined') "
                                      "OR status = group_answer", name="ck_matching_offer_group_answered_whole"),
                      CheckConstraint(ONE_PLACE, name="ck_matching_offer_one_place"))

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    # A home, or a foster household (exactly one). An in-house household's ``provider_id`` is its
    # council: that council answers the offer, as an agency answers for its own households.
    home_id: int | None = Field(default=None, foreign_key="home.id", index=True)
    foster_household_id: int | None = Field(default=None, foreign_key="foster_household.id", index=True)
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
    group_offer_id: int | None = Field(default=None, index=True)
    group_answer: str | None = Field(default=None, max_length=20)

    @property
    def place_key(self) -> str:
        return place_key_of(self.home_id, self.foster_household_id) or ""

# Referral packs and expressions of interest (branch eoi) -----------------------------------
# A council sends a child's anonymised pack, with documents it chooses, to the providers whose homes
# could take the child; each provider answers for each home by the pack's deadline. Matching then
# leaves out a home whose provider said "cannot" and scores a home at the price its provider offered.

DOCUMENT_KINDS = {"care_plan_summary": "Care plan summary", "risk_assessment": "Risk assessment",
                  "other": "Other document"}
AWAITING = "awaiting"
CAN_MEET = "can_meet"
CANNOT = "cannot"
EOI_ANSWERS = (AWAITING, CAN_MEET, CANNOT)
EOI_ANSWER_LABELS = {AWAITING: "Awaiting answer", CAN_MEET: "Can meet needs", CANNOT: "Cannot meet needs"}
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


class ReferralPack(SQLModel, table=True):
    """A council's pack for one referral: the anonymised profile providers see, and the deadline."""

    __tablename__ = "referral_pack"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    __table_args__ = (UniqueConstraint("referral_id", name="uq_referral_pack_referral"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    referral_id: int = Field(foreign_key="referral.id")
    respond_by: datetime
    created_at: datetime = Field(default_factory=utcnow)
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")


class ReferralDocument(SQLModel, table=True):
    """A document the council attached to a pack, stored encrypted (``rcc.encryption.EncryptedFile``)."""

    __tablename__ = "referral_document"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_AND_RCC
    __table_args__ = (CheckConstraint(f"kind IN {tuple(DOCUMENT_KINDS)!r}", name="ck_referral_document_kind"),
                      CheckConstraint(f"size_bytes > 0 AND size_bytes <= {MAX_DOCUMENT_BYTES}",
                                      name="ck_referral_document_size"))

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    pack_id: int = Field(foreign_key="referral_pack.id", index=True)
    referral_id: int = Field(foreign_key="referral.id")
    kind: str = Field(max_length=30)
    file_name: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size_bytes: int
    content: bytes = Field(sa_column=Column(EncryptedFile(), nullable=False))
    uploaded_at: datetime = Field(default_factory=utcnow)
    uploaded_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")


class ReferralDocumentRelease(SQLModel, table=True):
    """A document released to one provider: the provider may download it (and sees only these)."""

    __tablename__ = "referral_document_release"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_PROVIDER_AND_RCC
    __table_args__ = (UniqueConstraint("document_id", "provider_id", name="uq_referral_document_release"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    document_id: int = Field(foreign_key="referral_document.id", index=True)
    pack_id: int = Field(foreign_key="referral_pack.id")
    released_at: datetime = Field(default_factory=utcnow)


class ExpressionOfInterest(SQLModel, table=True):
    """The pack as released to one provider's home, and the provider's answer: one per home per referral."""

    __tablename__ = "expression_of_interest"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_PROVIDER_AND_RCC
    __table_args__ = (
        UniqueConstraint("referral_id", "home_id", name="uq_expression_of_interest_home"),
        CheckConstraint(f"answer IN {EOI_ANSWERS!r}", name="ck_expression_of_interest_answer"),
        CheckConstraint("answer != 'can_meet' OR (available_from IS NOT NULL AND weekly_price > 0)",
                        name="ck_expression_of_interest_can_meet"),
        CheckConstraint("answer != 'cannot' OR (cannot_reason IS NOT NULL AND weekly_price IS NULL)",
                        name="ck_expression_of_interest_cannot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    home_id: int = Field(foreign_key="home.id", index=True)
    pack_id: int = Field(foreign_key="referral_pack.id", index=True)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    # The anonymised profile the provider sees, fixed at release (``offers.profile_document``).
    profile: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    respond_by: datetime
    released_at: datetime = Field(default_factory=utcnow)
    answer: str = Field(default=AWAITING, max_length=10)
    available_from: date | None = None
    weekly_price: int | None = None  # pence a week the provider offers
    cannot_reason: str | None = Field(default=None, max_length=30)  # a key of offers.DECLINE_REASONS
    cannot_details: str | None = Field(default=None, max_length=2000)
    answered_at: datetime | None = None
    answered_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
