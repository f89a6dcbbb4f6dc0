"""Clarification questions and their published answers.

A provider's question is seen only by the provider and the RCC. When the RCC answers,
it publishes a separate row holding the (possibly reworded) question and the answer,
with nothing that names the asker, so every provider can read it and none can tell who asked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts import notices
from contracts.models import ClarificationAnswer, ClarificationQuestion, Tender
from contracts.services import tenders
from contracts.services.common import is_rcc, provider_id_of
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound


def ask_question(session: Session, tender: Tender, text: str, user_id: int | None,
                 now: datetime) -> ClarificationQuestion:
    provider_id = provider_id_of(session)
    if not tenders.accepts_questions(tender, now):
        raise Conflict("Questions about this tender closed on "
                       f"{tenders.aware(tender.clarification_closes_at):%d %B %Y at %H:%M}")
    text = text.strip()
    if not text:
        raise FieldErrors({"text": "Enter your question"})
    if len(text) > 2000:
        raise FieldErrors({"text": "Question must be 2,000 characters or fewer"})
    question = ClarificationQuestion(rcc_id=tender.rcc_id, provider_id=provider_id, tender_id=tender.id,
                                     text=text, asked_by_user_id=user_id, asked_at=now)
    session.add(question)
    audit.record(session, AuditAction.CLARIFICATION_ASKED, question, tender_id=tender.id)
    return question


def answer_question(session: Session, question: ClarificationQuestion, published_question: str, answer: str,
                    now: datetime) -> ClarificationAnswer:
    """Publish an answer to every provider; ``published_question`` is the question as everyone will read it."""
    if not is_rcc(session):
        raise NotFound()
    if question.answer_id is not None:
        raise Conflict("This question has already been answered")
    tender = tenders.get_tender(session, question.tender_id)
    published = publish_answer(session, tender, published_question, answer, now)
    question.answer_id = published.id
    audit.record(session, AuditAction.CLARIFICATION_ANSWERED, question, answer_id=published.id)
    return published


def publish_answer(session: Session, tender: Tender, question: str, answer: str,
                   now: datetime) -> ClarificationAnswer:
    if not is_rcc(session):
        raise NotFound()
    if not tenders.accepts_bids(tender, now):
        raise Conflict("Answers can be published only while the tender is open for bids")
    errors = {}
    if not question.strip():
        errors["published_question"] = "Enter the question as every provider will read it"
    elif len(question) > 2000:
        errors["published_question"] = "Question must be 2,000 characters or fewer"
    if not answer.strip():
        errors["answer"] = "Enter the answer"
    elif len(answer) > 4000:
        errors["answer"] = "Answer must be 4,000 characters or fewer"
    if errors:
        raise FieldErrors(errors)
    published = ClarificationAnswer(rcc_id=tender.rcc_id, tender_id=tender.id, question=question.strip(),
                                    answer=answer.strip(), published_at=now)
    session.add(published)
    audit.record(session, AuditAction.CLARIFICATION_PUBLISHED, published, tender_id=tender.id)
    notices.question_answered(session, tender, published)
    return published


def questions_for(session: Session, tender: Tender) -> list[ClarificationQuestion]:
    """All questions for the RCC; a provider's own questions for a provider; none for councils."""
    query = select(ClarificationQuestion).where(ClarificationQuestion.tender_id == tender.id)
    return list(session.scalars(query.order_by(ClarificationQuestion.asked_at, ClarificationQuestion.id)))


def get_question(session: Session, question_id: int) -> ClarificationQuestion:
    question = session.get(ClarificationQuestion, question_id)
    if question is None:
        raise NotFound()
    tenders.get_tender(session, question.tender_id)
    return question


def published_answers(session: Session, tender: Tender) -> list[ClarificationAnswer]:
    query = select(ClarificationAnswer).where(ClarificationAnswer.tender_id == tender.id)
    return list(session.scalars(query.order_by(ClarificationAnswer.published_at, ClarificationAnswer.id)))
