"""Contracts' tables: block tenders with lots and quality questions, clarifications,
sealed bids, evaluation scores, and the block contracts that come out of them.

Money is whole pence in integer columns. Percentages are basis points (1 % = 100) in
integer columns; scores are hundredths of a point, so no float ever holds money or a score.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import JSON, CheckConstraint, Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from rcc.models import utcnow
from rcc.tenancy import (
    COUNCIL_PROVIDER_AND_RCC,
    PROVIDER_AND_RCC,
    SUPPLY_REGISTER,
    WHOLE_RCC,
    TenantPolicy,
)
from rcc.versions import Versioned

# Evaluators' working scores are for the RCC's eyes only: no council or provider, not even the bidder.
RCC_ONLY = TenantPolicy(rcc_staff=True)


class Tender(Versioned, table=True):
    """A block tender. Its status is worked out from these dates and decisions (``services.tenders``)."""

    __tablename__ = "tender"
    __tenant_policy__: ClassVar[TenantPolicy] = WHOLE_RCC

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    reference: str = Field(max_length=30)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    clarification_closes_at: datetime
    bids_close_at: datetime
    contract_start: date
    published_at: datetime | None = None
    evaluation_started_at: datetime | None = None
    awarded_at: datetime | None = None
    standstill_ends_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = Field(default=None, max_length=2000)
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)


class Lot(Versioned, table=True):
    """One part of a tender: a number of places of one type, for an area, at a capped price."""

    __tablename__ = "tender_lot"
    __tenant_policy__: ClassVar[TenantPolicy] = WHOLE_RCC
    __table_args__ = (UniqueConstraint("tender_id", "number", name="uq_tender_lot_number"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    tender_id: int = Field(foreign_key="tender.id", index=True)
    number: int
    title: str = Field(max_length=200)
    placement_type: str = Field(max_length=30)
    council_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    needs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    places: int
    max_weekly_price: int  # pence per place per week
    term_months: int
    extension_months: int = 0
    max_extensions: int = 0
    price_weight: int = 60  # percent; quality gets the rest
    awarded_bid_id: int | None = None  # no FK: the bid table refers to lots
    award_justification: str | None = Field(default=None, max_length=4000)
    award_decided_at: datetime | None = None

    @property
    def quality_weight(self) -> int:
        return 100 - self.price_weight

    @property
    def numbered(self) -> str:
        """'1: Children's homes', for 'Lot 1: …' and 'Bid for lot 1: …': a title typed as
        'Lot 1: Children's homes' (or just 'Lot 1') is not given its number a second time."""
        rest = re.sub(rf"^\s*lot\s*{self.number}\b\s*[:.\-–]?\s*", "", self.title or "", flags=re.IGNORECASE)
        return f"{self.number}: {rest}" if rest else f"{self.number}"


class QualityQuestion(SQLModel, table=True):
    """A question every bid on a lot answers; its weight is its share (percent) of the quality mark."""

    __tablename__ = "quality_question"
    __tenant_policy__: ClassVar[TenantPolicy] = WHOLE_RCC
    __table_args__ = (UniqueConstraint("lot_id", "number", name="uq_quality_question_number"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    lot_id: int = Field(foreign_key="tender_lot.id", index=True)
    number: int
    text: str = Field(max_length=2000)
    weight: int  # percent of the lot's quality mark; a lot's weights add up to 100


class ClarificationQuestion(SQLModel, table=True):
    """A provider's question. Only the asker and the RCC see it; the answer is published apart from it."""

    __tablename__ = "clarification_question"
    __tenant_policy__: ClassVar[TenantPolicy] = PROVIDER_AND_RCC

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    tender_id: int = Field(foreign_key="tender.id", index=True)
    text: str = Field(max_length=2000)
    asked_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    asked_at: datetime = Field(default_factory=utcnow)
    answer_id: int | None = Field(default=None, foreign_key="clarification_answer.id")


class ClarificationAnswer(SQLModel, table=True):
    """A published question and answer, visible to every provider. It names no asker, by design."""

    __tablename__ = "clarification_answer"
    __tenant_policy__: ClassVar[TenantPolicy] = WHOLE_RCC

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    tender_id: int = Field(foreign_key="tender.id", index=True)
    question: str = Field(max_length=2000)
    answer: str = Field(max_length=4000)
    published_at: datetime = Field(default_factory=utcnow)


class Bid(SQLModel, table=True):
    """A provider's sealed offer for one lot. Nobody at the RCC may read it before bids close."""

    __tablename__ = "bid"
    __tenant_policy__: ClassVar[TenantPolicy] = PROVIDER_AND_RCC
    __table_args__ = (UniqueConstraint("lot_id", "provider_id", name="uq_bid_lot_provider"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    tender_id: int = Field(foreign_key="tender.id", index=True)
    lot_id: int = Field(foreign_key="tender_lot.id", index=True)
    weekly_price: int  # pence per place per week
    places_offered: int
    home_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # {question id (as text): answer}
    answers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: str = Field(default="", max_length=2000)
    submitted_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    submitted_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Filled in at award, so nothing about the result exists before it.
    price_score: int | None = None  # hundredths of a point
    quality_score: int | None = None
    total_score: int | None = None
    rank: int | None = None
    successful: bool | None = None

    def score(self, name: str) -> Decimal | None:
        value = getattr(self, f"{name}_score")
        return None if value is None else Decimal(value) / 100


class EvaluatorScore(SQLModel, table=True):
    """One evaluator's mark (0 to 5) for one bid's answer to one question."""

    __tablename__ = "evaluator_score"
    __tenant_policy__: ClassVar[TenantPolicy] = RCC_ONLY
    __table_args__ = (UniqueConstraint("bid_id", "question_id", "evaluator_user_id",
                                       name="uq_evaluator_score"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    bid_id: int = Field(foreign_key="bid.id", index=True)
    question_id: int = Field(foreign_key="quality_question.id", index=True)
    evaluator_user_id: int = Field(foreign_key="user_account.id")
    score: int
    comment: str = Field(default="", max_length=2000)
    scored_at: datetime = Field(default_factory=utcnow)


class ModeratedScore(SQLModel, table=True):
    """The one agreed mark for a bid's answer, and why it was agreed."""

    __tablename__ = "moderated_score"
    __tenant_policy__: ClassVar[TenantPolicy] = RCC_ONLY
    __table_args__ = (UniqueConstraint("bid_id", "question_id", name="uq_moderated_score"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    bid_id: int = Field(foreign_key="bid.id", index=True)
    question_id: int = Field(foreign_key="quality_question.id", index=True)
    score: int
    reason: str = Field(max_length=2000)
    moderated_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    moderated_at: datetime = Field(default_factory=utcnow)


class BlockContract(Versioned, table=True):
    """Places reserved with a provider at a weekly price per place, paid for whether used or not."""

    __tablename__ = "block_contract"
    __tenant_policy__: ClassVar[TenantPolicy] = SUPPLY_REGISTER
    # One contract per awarded lot, even when two people make it at the same moment.
    __table_args__ = (Index("uq_block_contract_lot", "lot_id", unique=True, sqlite_where=text("lot_id IS NOT NULL"),
                            postgresql_where=text("lot_id IS NOT NULL")),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    reference: str = Field(max_length=30)
    title: str = Field(max_length=200)
    placement_type: str = Field(max_length=30)
    start_date: date
    end_date: date
    weekly_price: int  # pence per place per week at the start; later prices are in the history
    annual_uplift_bp: int = 0  # basis points: 250 = 2.5 % a year, compounded on each anniversary
    tender_id: int | None = Field(default=None, foreign_key="tender.id")
    lot_id: int | None = Field(default=None, foreign_key="tender_lot.id")
    bid_id: int | None = Field(default=None, foreign_key="bid.id")
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)


class ContractHome(SQLModel, table=True):
    """Places reserved at one home under a block contract."""

    __tablename__ = "block_contract_home"
    __tenant_policy__: ClassVar[TenantPolicy] = SUPPLY_REGISTER
    __table_args__ = (UniqueConstraint("contract_id", "home_id", name="uq_block_contract_home"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    contract_id: int = Field(foreign_key="block_contract.id", index=True)
    home_id: int = Field(foreign_key="home.id", index=True)
    reserved_places: int


class ContractPrice(SQLModel, table=True):
    """The weekly price per place from a date: the starting price, then each uplift."""

    __tablename__ = "block_contract_price"
    __tenant_policy__: ClassVar[TenantPolicy] = SUPPLY_REGISTER
    __table_args__ = (UniqueConstraint("contract_id", "effective_from", name="uq_block_contract_price"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    contract_id: int = Field(foreign_key="block_contract.id", index=True)
    effective_from: date
    weekly_price: int  # pence
    reason: str = Field(max_length=20)  # "start" | "uplift"
    recorded_at: datetime = Field(default_factory=utcnow)


class CostShare(SQLModel, table=True):
    """A member council's share of a block contract's cost; a contract's shares add up to 100 %."""

    __tablename__ = "block_contract_cost_share"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_PROVIDER_AND_RCC
    __table_args__ = (UniqueConstraint("contract_id", "council_id", name="uq_block_contract_cost_share"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    contract_id: int = Field(foreign_key="block_contract.id", index=True)
    share_bp: int  # basis points: 10000 = 100 %


# Commissioning paperwork (issue 18) ---------------------------------------------------------

DOCUMENT_KINDS = ("specification", "terms", "pricing_schedule")


class TenderSettings(SQLModel, table=True):
    """The RCC's rules for its tenders: the shortest time a tender may be open for bids, and
    the standstill between award and contracts. One row per RCC; without one the defaults hold."""

    __tablename__ = "tender_settings"
    __tenant_policy__: ClassVar[TenantPolicy] = WHOLE_RCC
    __table_args__ = (
        UniqueConstraint("rcc_id", name="uq_tender_settings_rcc"),
        CheckConstraint("min_tender_days >= 1 AND min_tender_days <= 365", name="ck_tender_settings_min_days"),
        CheckConstraint("standstill_days >= 0 AND standstill_days <= 60", name="ck_tender_settings_standstill"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    min_tender_days: int = 14  # days from publication to the bid deadline, at least
    standstill_days: int = 10  # calendar days between award and contracts
    updated_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    updated_at: datetime = Field(default_factory=utcnow)


class TenderDocument(SQLModel, table=True):
    """A tender's specification, terms or pricing schedule: the file itself, checked on upload."""

    __tablename__ = "tender_document"
    __tenant_policy__: ClassVar[TenantPolicy] = WHOLE_RCC
    __table_args__ = (
        UniqueConstraint("tender_id", "kind", name="uq_tender_document_kind"),
        CheckConstraint("kind IN ('specification', 'terms', 'pricing_schedule')", name="ck_tender_document_kind"),
        CheckConstraint("size_bytes > 0", name="ck_tender_document_size"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    tender_id: int = Field(foreign_key="tender.id", index=True)
    kind: str = Field(max_length=20)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    uploaded_at: datetime = Field(default_factory=utcnow)


class AwardLetter(SQLModel, table=True):
    """The letter each bidder gets at award: its scores, the winner's, and the winner's advantage.
    Only the bidder and the RCC see it."""

    __tablename__ = "award_letter"
    __tenant_policy__: ClassVar[TenantPolicy] = PROVIDER_AND_RCC
    __table_args__ = (UniqueConstraint("bid_id", name="uq_award_letter_bid"),)

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    tender_id: int = Field(foreign_key="tender.id", index=True)
    bid_id: int = Field(foreign_key="bid.id")
    successful: bool
    html: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ContractVariation(SQLModel, table=True):
    """One dated change to a block contract: its price, places at a home, term, or its ending.
    ``sequence`` counts a contract's variations; two made at once cannot take the same number."""

    __tablename__ = "block_contract_variation"
    __tenant_policy__: ClassVar[TenantPolicy] = SUPPLY_REGISTER
    __table_args__ = (
        UniqueConstraint("contract_id", "sequence", name="uq_block_contract_variation_sequence"),
        CheckConstraint("kind IN ('price', 'places', 'term', 'end')", name="ck_block_contract_variation_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    contract_id: int = Field(foreign_key="block_contract.id", index=True)
    sequence: int
    kind: str = Field(max_length=10)
    effective_from: date
    # {"from": old, "to": new} and, for places, "home_id"
    changes: dict[str, int | str | None] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str = Field(max_length=2000)
    recorded_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    recorded_at: datetime = Field(default_factory=utcnow)


class PlacementAgreement(SQLModel, table=True):
    """The individual placement agreement (IPA) for a placement under a block contract: the weekly
    fee, any additional support and its weekly cost, and when the placement is reviewed."""

    __tablename__ = "placement_agreement"
    __tenant_policy__: ClassVar[TenantPolicy] = COUNCIL_PROVIDER_AND_RCC
    __table_args__ = (
        UniqueConstraint("placement_id", name="uq_placement_agreement_placement"),
        CheckConstraint("weekly_fee > 0", name="ck_placement_agreement_fee"),
        CheckConstraint("additional_support_weekly >= 0", name="ck_placement_agreement_support"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rcc_id: int = Field(foreign_key="organisation.id", index=True)
    council_id: int = Field(foreign_key="organisation.id", index=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    placement_id: int = Field(foreign_key="placement.id")
    contract_id: int = Field(foreign_key="block_contract.id", index=True)
    weekly_fee: int  # pence
    additional_support: str = Field(default="", max_length=2000)
    additional_support_weekly: int = 0  # pence
    review_date: date
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)
