"""Contracts' objects for the tenancy matrix: for each region, a tender with a lot, a quality
question, a provider's question and a published answer, a bid with evaluators' and agreed
marks, and a block contract with a home, a price and a council's cost share."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from commissioning.models import Home
from contracts.models import (
    Bid,
    BlockContract,
    ClarificationAnswer,
    ClarificationQuestion,
    ContractHome,
    ContractPrice,
    CostShare,
    EvaluatorScore,
    Lot,
    ModeratedScore,
    QualityQuestion,
    Tender,
)
from rcc.roles import Role
from tests.factories import Region


def build(session: Session, region: Region, label: str) -> None:
    rcc_id, provider_id = region.rcc.id, region.provider.id
    # Bids closed yesterday, so the RCC of the region may open them: the matrix then checks
    # that only tenancy, not the seal, keeps other regions' bids out.
    now = datetime.now(UTC)
    tender = Tender(rcc_id=rcc_id, reference=f"MARK-{label}-tref", title=f"MARK-{label}-tender",
                    clarification_closes_at=now - timedelta(days=5), bids_close_at=now - timedelta(days=1),
                    contract_start=date.today() + timedelta(days=60), published_at=now - timedelta(days=20),
                    evaluation_started_at=now - timedelta(hours=12))
    session.add(tender)
    session.flush()
    lot = Lot(rcc_id=rcc_id, tender_id=tender.id, number=1, title=f"MARK-{label}-lot", placement_type="childrens_home",
              council_ids=[c.id for c in region.councils], needs=["therapeutic_support"], places=2, max_weekly_price=600000,
              term_months=24, price_weight=60)
    session.add(lot)
    session.flush()
    question = QualityQuestion(rcc_id=rcc_id, lot_id=lot.id, number=1, text=f"MARK-{label}-quality", weight=100)
    answer = ClarificationAnswer(rcc_id=rcc_id, tender_id=tender.id, question=f"MARK-{label}-published-q",
                                 answer=f"MARK-{label}-published-a")
    session.add_all([question, answer])
    session.flush()
    session.add(ClarificationQuestion(rcc_id=rcc_id, provider_id=provider_id, tender_id=tender.id,
                                      text=f"MARK-{label}-asked", answer_id=answer.id))
    home = Home(rcc_id=rcc_id, provider_id=provider_id, ofsted_urn=f"SC{label}C1", name=f"MARK-{label}-block-home",
                placement_type="childrens_home", local_authority=region.councils[0].name, registered_places=3)
    session.add(home)
    session.flush()
    bid = Bid(rcc_id=rcc_id, provider_id=provider_id, tender_id=tender.id, lot_id=lot.id, weekly_price=500000,
              places_offered=2, home_ids=[home.id], answers={str(question.id): f"MARK-{label}-bid-answer"},
              summary=f"MARK-{label}-bid")
    session.add(bid)
    session.flush()
    evaluator = region.people[Role.RCC_COMMISSIONER].id
    session.add(EvaluatorScore(rcc_id=rcc_id, bid_id=bid.id, question_id=question.id, evaluator_user_id=evaluator,
                               score=4, comment=f"MARK-{label}-mark"))
    session.add(ModeratedScore(rcc_id=rcc_id, bid_id=bid.id, question_id=question.id, score=4,
                               reason=f"MARK-{label}-moderation", moderated_by_user_id=evaluator))
    contract = BlockContract(rcc_id=rcc_id, provider_id=provider_id, reference=f"MARK-{label}-cref",
                             title=f"MARK-{label}-contract", placement_type="childrens_home",
                             start_date=date.today() - timedelta(days=90), end_date=date.today() + timedelta(days=640),
                             weekly_price=480000, annual_uplift_bp=250)
    session.add(contract)
    session.flush()
    owner = {"rcc_id": rcc_id, "provider_id": provider_id, "contract_id": contract.id}
    session.add(ContractHome(**owner, home_id=home.id, reserved_places=2))
    session.add(ContractPrice(**owner, effective_from=contract.start_date, weekly_price=480000, reason="start"))
    session.add(CostShare(**owner, council_id=region.councils[0].id, share_bp=10000))
    session.flush()
