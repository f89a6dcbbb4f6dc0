"""Contracts' JSON API: tenders, lots, clarifications, bids (provider-scoped and sealed),
evaluation and block contracts. Same services, rules and tenancy as the pages; service
errors become 404, 409 (not allowed now) or 422 (named fields)."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

from flask_login import current_user
from flask_smorest import Page
from sqlalchemy import select

from contracts import schemas
from contracts.models import Bid, BlockContract, Lot, Tender
from contracts.services import bids as bid_service
from contracts.services import clarifications, documents, evaluation, tenders, utilisation, variations
from contracts.services import contracts as contract_service
from contracts.services.bids import BidDetails
from contracts.services.block_places import free_block_places
from contracts.services.contracts import ContractDetails
from contracts.services.tenders import LotDetails, TenderDetails
from rcc.api import api_blueprint, raise_service_error
from rcc.db import transaction
from rcc.errors import FieldErrors, ServiceError
from rcc.models import Organisation, utcnow
from rcc.permissions import allow
from rcc.roles import EVERY_ROLE, PROVIDER_STAFF, RCC_STAFF, Role
from rcc.web import db

bp = api_blueprint("contracts_api", __name__, "Block tenders, clarifications, sealed bids, evaluation, block contracts")

COMMISSIONER = (Role.RCC_COMMISSIONER,)
EVALUATION_READERS = (Role.RCC_COMMISSIONER, Role.RCC_ADMIN)
CONTRACT_READERS = (Role.RCC_COMMISSIONER, Role.RCC_ADMIN, Role.RCC_PLACEMENT_OFFICER, Role.COUNCIL_FINANCE_LEAD,
                    Role.COUNCIL_ADMIN, Role.PROVIDER_MANAGER)
MATCHERS = (*RCC_STAFF, Role.COUNCIL_PLACEMENT_OFFICER, Role.COUNCIL_ADMIN)

TENDER_EXAMPLE = {"reference": "NWRCC-2027-01", "title": "Children's homes for teenagers",
                  "description": "Places near home for young people with complex needs",
                  "clarification_closes_at": "2027-03-10T17:00:00+00:00", "bids_close_at": "2027-03-24T12:00:00+00:00",
                  "contract_start": "2027-06-01"}
LOT_EXAMPLE = {"title": "Greater Manchester", "placement_type": "childrens_home", "council_ids": [3, 4],
               "needs": ["therapeutic_support"], "places": 4, "max_weekly_price": 600000, "term_months": 24,
               "extension_months": 12, "max_extensions": 2, "price_weight": 60,
               "questions": [{"text": "How will you keep children safe?", "weight": 60},
                             {"text": "How will you support education?", "weight": 40}]}
BID_EXAMPLE = {"weekly_price": 495000, "places_offered": 2, "home_ids": [12, 13],
               "answers": {"31": "Our safeguarding approach…", "32": "Our education support…"}, "summary": ""}
CONTRACT_EXAMPLE = {"reference": "BC-2026-01", "title": "Teenagers' homes block", "provider_id": 9,
                    "placement_type": "childrens_home", "start_date": "2026-04-01", "end_date": "2028-03-31",
                    "weekly_price": 480000, "annual_uplift_bp": 250, "homes": {"12": 2, "13": 1},
                    "cost_shares_bp": {"3": 6000, "4": 4000}}


def _call(service: Any, *args: Any) -> Any:
    try:
        return service(db(), *args)
    except ServiceError as error:
        raise_service_error(error)


def _write(service: Any, *args: Any) -> Any:
    try:
        with transaction(db()) as s:
            return service(s, *args)
    except ServiceError as error:
        raise_service_error(error)


def _tender_out(tender: Tender) -> dict[str, Any]:
    s = db()
    out = {name: getattr(tender, name) for name in schemas.TenderSchema().fields if hasattr(tender, name)}
    out["status"] = tenders.tender_status(tender, utcnow())
    out["lots"] = [_lot_out(lot) for lot in tenders.lots_of(s, tender)]
    return out


def _lot_out(lot: Lot) -> dict[str, Any]:
    out = {name: getattr(lot, name) for name in schemas.LotSchema().fields if hasattr(lot, name)}
    out["questions"] = tenders.questions_of(db(), lot)
    if not tenders.is_awarded(_call(tenders.get_tender, lot.tender_id)):
        out["awarded_bid_id"] = out["award_justification"] = None
    return out


def _bid_out(bid: Bid) -> dict[str, Any]:
    out = {name: getattr(bid, name) for name in schemas.BidSchema().fields if hasattr(bid, name)}
    tender = _call(tenders.get_tender, bid.tender_id)
    out["result"] = None
    if bid_service.result_visible(bid, tender):
        out["result"] = {"price_score": str(bid.score("price")), "quality_score": str(bid.score("quality")),
                         "total_score": str(bid.score("total")), "rank": bid.rank, "successful": bid.successful}
    return out


def _contract_out(contract: BlockContract) -> dict[str, Any]:
    s = db()
    history = contract_service.price_history(s, contract)
    out = {name: getattr(contract, name) for name in schemas.ContractSchema().fields if hasattr(contract, name)}
    out["current_weekly_price"] = contract_service.weekly_price_on(contract, history, date.today())
    out["homes"] = {str(r.home_id): r.reserved_places for r, _ in contract_service.contract_homes(s, contract)}
    out["cost_shares_bp"] = {str(share.council_id): share.share_bp for share, _ in contract_service.cost_shares(s, contract)}
    out["price_history"] = [{"effective_from": p.effective_from.isoformat(), "weekly_price": p.weekly_price,
                             "reason": p.reason} for p in history]
    return out


# Tenders and lots -----------------------------------------------------------------------

@bp.route("/tenders")
@bp.response(200, schemas.TenderSchema(many=True), example=[schemas.OPEN_TENDER_EXAMPLE])
@allow(*EVERY_ROLE)
@bp.paginate(Page)
def list_tenders() -> Any:
    """Tenders in your region; only the RCC sees drafts."""
    return [_tender_out(t) for t in tenders.visible_tenders(db(), utcnow())]


@bp.route("/tenders", methods=["POST"])
@bp.arguments(schemas.TenderInSchema, example=TENDER_EXAMPLE)
@bp.response(201, schemas.TenderSchema, example=schemas.TENDER_EXAMPLE)
@allow(*COMMISSIONER)
def create_tender(body: dict[str, Any]) -> Any:
    """Create a draft tender."""
    tender = _write(tenders.create_tender, current_user.rcc_id, TenderDetails(**body), current_user.id)
    return _tender_out(tender)


@bp.route("/tenders/<int:tender_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.TenderSchema, example=schemas.OPEN_TENDER_EXAMPLE)
@allow(*EVERY_ROLE)
def get_tender(tender_id: int) -> Any:
    """A tender with its lots and quality questions."""
    return _tender_out(_call(tenders.get_tender, tender_id))


@bp.route("/tenders/<int:tender_id>/lots", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.LotSchema, example=LOT_EXAMPLE)
@bp.response(201, schemas.LotSchema, example=schemas.LOT_EXAMPLE)
@allow(*COMMISSIONER)
def add_lot(body: dict[str, Any], tender_id: int) -> Any:
    """Add a lot to a draft tender."""
    tender = _call(tenders.get_tender, tender_id)
    questions = [(q["text"], q["weight"]) for q in body.pop("questions")]
    lot = _write(tenders.add_lot, tender, LotDetails(**body, questions=questions), utcnow())
    return _lot_out(lot)


def _move(tender_id: int, move: Any, *args: Any) -> Any:
    tender = _call(tenders.get_tender, tender_id)
    return _tender_out(_write(move, tender, *args))


@bp.route("/tenders/<int:tender_id>/publish", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.response(200, schemas.TenderSchema, example=schemas.OPEN_TENDER_EXAMPLE)
@allow(*COMMISSIONER)
def publish_tender(tender_id: int) -> Any:
    """Publish a complete draft."""
    return _move(tender_id, tenders.publish, utcnow())


@bp.route("/tenders/<int:tender_id>/start-evaluation", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.response(200, schemas.TenderSchema, example=schemas.EVALUATING_TENDER_EXAMPLE)
@allow(*COMMISSIONER)
def start_evaluation(tender_id: int) -> Any:
    """Start evaluation once bids have closed."""
    return _move(tender_id, tenders.start_evaluation, utcnow())


@bp.route("/tenders/<int:tender_id>/award", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.response(200, schemas.TenderSchema, example=schemas.AWARDED_TENDER_EXAMPLE)
@allow(*COMMISSIONER)
def award_tender(tender_id: int) -> Any:
    """Award every lot as decided; needs every mark moderated and every lot decided."""
    return _move(tender_id, evaluation.award_tender, utcnow())


@bp.route("/tenders/<int:tender_id>/cancel", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.CancelTenderSchema, example={"reason": "The region's needs have changed"})
@bp.response(200, schemas.TenderSchema, example=schemas.CANCELLED_TENDER_EXAMPLE)
@allow(*COMMISSIONER)
def cancel_tender(body: dict[str, Any], tender_id: int) -> Any:
    """Cancel a tender at any time before award."""
    tender = _call(tenders.get_tender, tender_id)
    return _tender_out(_write(lambda s, t: tenders.cancel(s, t, body["reason"], utcnow()), tender))


@bp.route("/tenders/<int:tender_id>/documents")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.TenderDocumentSchema(many=True), example=[schemas.DOCUMENT_EXAMPLE])
@allow(*EVERY_ROLE)
@bp.paginate(Page)
def list_documents(tender_id: int) -> Any:
    """A tender's documents: the specification, terms and pricing schedule (published tenders only,
    except for the RCC)."""
    return documents.documents_of(db(), _call(tenders.get_tender, tender_id))


@bp.route("/tenders/<int:tender_id>/documents/<any(specification,terms,pricing_schedule):kind>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.TenderDocumentFileSchema, example=schemas.DOCUMENT_FILE_EXAMPLE)
@allow(*EVERY_ROLE)
def download_document(tender_id: int, kind: str) -> Any:
    """Download one of a tender's documents (its bytes in base64); each download is audited."""
    document = _write(documents.download_document, tender_id, kind)
    return {**{name: getattr(document, name) for name in schemas.TenderDocumentSchema().fields},
            "content_base64": base64.b64encode(document.content).decode("ascii")}


# Clarifications -------------------------------------------------------------------------

@bp.route("/tenders/<int:tender_id>/answers")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.ClarificationAnswerSchema(many=True), example=[schemas.ANSWER_EXAMPLE])
@allow(*EVERY_ROLE)
@bp.paginate(Page)
def published_answers(tender_id: int) -> Any:
    """Published questions and answers, visible to every provider, naming no asker."""
    return clarifications.published_answers(db(), _call(tenders.get_tender, tender_id))


@bp.route("/tenders/<int:tender_id>/questions")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.ClarificationQuestionSchema(many=True), example=[schemas.QUESTION_EXAMPLE])
@allow(*RCC_STAFF, *PROVIDER_STAFF)
@bp.paginate(Page)
def list_questions(tender_id: int) -> Any:
    """Every provider's questions for the RCC; your own for a provider."""
    return clarifications.questions_for(db(), _call(tenders.get_tender, tender_id))


@bp.route("/tenders/<int:tender_id>/questions", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.ClarificationQuestionInSchema, example={"text": "Can a bid cover part of a lot?"})
@bp.response(201, schemas.ClarificationQuestionSchema, example=schemas.QUESTION_EXAMPLE)
@allow(*PROVIDER_STAFF)
def ask_question(body: dict[str, Any], tender_id: int) -> Any:
    """Ask the RCC a question while questions are open."""
    tender = _call(tenders.get_tender, tender_id)
    return _write(clarifications.ask_question, tender, body["text"], current_user.id, utcnow())


@bp.route("/questions/<int:clarification_id>/answer", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.ClarificationAnswerInSchema, example={"published_question": "Can a bid cover part of a lot?",
                                                "answer": "Yes: offer fewer places"})
@bp.response(201, schemas.ClarificationAnswerSchema, example=schemas.ANSWER_EXAMPLE)
@allow(*COMMISSIONER)
def answer_question(body: dict[str, Any], clarification_id: int) -> Any:
    """Publish an answer to every provider, worded so it does not identify the asker."""
    question = _call(clarifications.get_question, clarification_id)
    return _write(clarifications.answer_question, question, body["published_question"], body["answer"], utcnow())


# Bids -----------------------------------------------------------------------------------

@bp.route("/lots/<int:lot_id>/bids")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.BidSchema(many=True), example=[schemas.AWARDED_BID_EXAMPLE])
@allow(Role.PROVIDER_MANAGER, *EVALUATION_READERS)
@bp.paginate(Page)
def list_bids(lot_id: int) -> Any:
    """Your own bid for a provider; every bid for the RCC, but only once bids have closed (404 before)."""
    _tender, lot = _call(tenders.get_lot, lot_id)
    return [_bid_out(b) for b in _call(bid_service.bids_for_lot, lot, utcnow())]


@bp.route("/lots/<int:lot_id>/bid", methods=["PUT"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.BidInSchema, example=BID_EXAMPLE)
@bp.response(200, schemas.BidSchema, example=schemas.BID_EXAMPLE)
@allow(*PROVIDER_STAFF)
def submit_bid(body: dict[str, Any], lot_id: int) -> Any:
    """Submit or replace your bid for a lot; refused once bids have closed."""
    _tender, lot = _call(tenders.get_lot, lot_id)
    return _bid_out(_write(bid_service.submit_bid, lot, BidDetails(**body), current_user.id, utcnow()))


@bp.route("/bids/<int:bid_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.BidSchema, example=schemas.BID_EXAMPLE)
@allow(Role.PROVIDER_MANAGER, *EVALUATION_READERS)
def get_bid(bid_id: int) -> Any:
    """A bid: its own provider's at any time; the RCC's only after bids close (404 before)."""
    return _bid_out(_call(bid_service.get_bid, bid_id, utcnow()))


# Evaluation -----------------------------------------------------------------------------

@bp.route("/lots/<int:lot_id>/evaluation")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.LotEvaluationSchema, example=schemas.LOT_EVALUATION_EXAMPLE)
@allow(*EVALUATION_READERS)
def lot_evaluation(lot_id: int) -> Any:
    """Scores and ranking for a lot, once bids have closed."""
    _tender, lot = _call(tenders.get_lot, lot_id)
    names = {o.id: o.name for o in db().scalars(select(Organisation))}
    ranking = _call(evaluation.rank_lot, lot, utcnow())
    return {"lot_id": lot.id, "awarded_bid_id": lot.awarded_bid_id, "award_justification": lot.award_justification,
            "ranking": [{"bid_id": r.bid.id, "provider_id": r.bid.provider_id,
                         "provider_name": names.get(r.bid.provider_id, ""), "weekly_price": r.bid.weekly_price,
                         "price_score": r.price_score, "quality_score": r.quality_score,
                         "total_score": r.total_score, "rank": r.rank, "unmoderated_marks": r.missing_marks}
                        for r in ranking]}


def _require_question(bid_id: int, body: dict[str, Any]) -> None:
    """Another tenant's or a sealed bid is a 404 before any complaint about the body."""
    _call(bid_service.get_bid, bid_id, utcnow())
    if not body.get("question_id"):
        raise_service_error(FieldErrors({"question_id": "Give the id of the quality question you are marking"}))


@bp.route("/bids/<int:bid_id>/marks")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.BidMarksSchema, example=schemas.BID_MARKS_EXAMPLE)
@allow(*EVALUATION_READERS)
def bid_marks(bid_id: int) -> Any:
    """Evaluators' marks on a bid: your own, and the others' only once you have submitted yours."""
    submitted, marks = _call(evaluation.marks_for_bid, bid_id, current_user.id, utcnow())
    return {"bid_id": bid_id, "submitted": submitted, "marks": marks}


@bp.route("/bids/<int:bid_id>/marks", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.EvaluatorMarkInSchema, example={"question_id": 31, "score": 4, "comment": "Clear and specific"})
@bp.response(200, schemas.EvaluationScoreSchema, example=schemas.SCORE_EXAMPLE)
@allow(*COMMISSIONER)
def mark_bid(body: dict[str, Any], bid_id: int) -> Any:
    """Your own mark (0–5) for one answer."""
    _require_question(bid_id, body)
    return _write(evaluation.record_score, bid_id, body["question_id"], current_user.id, body["score"],
                  body["comment"], utcnow())


@bp.route("/bids/<int:bid_id>/moderation", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.ModerationInSchema, example={"question_id": 31, "score": 4, "reason": "Panel agreed"})
@bp.response(200, schemas.EvaluationScoreSchema, example=schemas.SCORE_EXAMPLE)
@allow(*COMMISSIONER)
def moderate_bid(body: dict[str, Any], bid_id: int) -> Any:
    """The agreed mark for one answer, with the reason."""
    _require_question(bid_id, body)
    return _write(evaluation.moderate, bid_id, body["question_id"], body["score"], body["reason"], current_user.id,
                  utcnow())


@bp.route("/lots/<int:lot_id>/award-decision", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.AwardDecisionInSchema, example={"bid_id": 41, "justification": "Highest total score"})
@bp.response(200, schemas.LotSchema, example=schemas.AWARDED_LOT_EXAMPLE)
@allow(*COMMISSIONER)
def decide_award(body: dict[str, Any], lot_id: int) -> Any:
    """Choose the winning bid for a lot, with its justification."""
    _tender, lot = _call(tenders.get_lot, lot_id)
    lot = _write(evaluation.decide_lot_award, lot, body["bid_id"], body["justification"], utcnow())
    out = {name: getattr(lot, name) for name in schemas.LotSchema().fields if hasattr(lot, name)}
    out["questions"] = tenders.questions_of(db(), lot)
    return out


# Block contracts ------------------------------------------------------------------------

@bp.route("/contracts")
@bp.response(200, schemas.ContractSchema(many=True), example=[schemas.CONTRACT_EXAMPLE])
@allow(*CONTRACT_READERS)
@bp.paginate(Page)
def list_contracts() -> Any:
    """Block contracts: all for the RCC, a provider's own, those a council shares the cost of."""
    return [_contract_out(c) for c in contract_service.visible_contracts(db())]


@bp.route("/contracts", methods=["POST"])
@bp.arguments(schemas.ContractInSchema, example=CONTRACT_EXAMPLE)
@bp.response(201, schemas.ContractSchema, example=schemas.CONTRACT_EXAMPLE)
@allow(*COMMISSIONER)
def create_contract(body: dict[str, Any]) -> Any:
    """Enter an existing block contract."""
    details = ContractDetails(**body)

    def create(s: Any) -> BlockContract:
        contract = contract_service.create_contract(s, current_user.rcc_id, details, current_user.id)
        contract_service.apply_due_uplifts(s, contract, date.today())
        return contract

    return _contract_out(_write(create))


@bp.route("/contracts/<int:contract_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.ContractSchema, example=schemas.CONTRACT_EXAMPLE)
@allow(*CONTRACT_READERS)
def get_contract(contract_id: int) -> Any:
    """A block contract with its homes, cost shares and price history."""
    return _contract_out(_call(contract_service.get_contract, contract_id))


@bp.route("/contracts/<int:contract_id>/variations")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.VariationSchema(many=True), example=[schemas.VARIATION_EXAMPLE])
@allow(*CONTRACT_READERS)
@bp.paginate(Page)
def list_variations(contract_id: int) -> Any:
    """Every dated change to a block contract, in the order made."""
    return variations.variations_of(db(), _call(contract_service.get_contract, contract_id))


@bp.route("/contracts/<int:contract_id>/variations", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.VariationInSchema, example={"kind": "places", "effective_from": "2027-04-01", "home_id": 12,
                                                  "places": 3, "reason": "More teenagers need places"})
@bp.response(201, schemas.VariationSchema, example=schemas.VARIATION_EXAMPLE)
@allow(*COMMISSIONER)
def vary_contract(body: dict[str, Any], contract_id: int) -> Any:
    """Vary a block contract's price, places at a home or term, or end it; dated and audited."""
    contract = _call(contract_service.get_contract, contract_id)
    seen = body.pop("row_version", None)
    change = variations.Variation(**body)
    return _write(variations.vary_contract, contract, change, seen, current_user.id, utcnow())


@bp.route("/contracts/<int:contract_id>/utilisation")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.MonthUtilisationSchema(many=True), example=schemas.UTILISATION_EXAMPLE)
@allow(*CONTRACT_READERS)
@bp.paginate(Page)
def contract_utilisation(contract_id: int) -> Any:
    """Occupied and void place-days, void cost and utilisation by month, to today."""
    contract = _call(contract_service.get_contract, contract_id)
    return [{**vars(m), "utilisation": m.utilisation} for m in
            utilisation.contract_utilisation(db(), contract, date.today())]


@bp.route("/block-places")
@bp.arguments(schemas.BlockPlacesQuerySchema, location="query")
@bp.response(200, schemas.BlockPlacesSchema(many=True), example=schemas.BLOCK_PLACES_EXAMPLE)
@allow(*MATCHERS)
@bp.paginate(Page)
def block_places(query: dict[str, Any]) -> Any:
    """Free block-contract places by home on a date: what matching offers first."""
    return list(free_block_places(db(), query.get("on") or date.today()).values())
