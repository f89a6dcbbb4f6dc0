"""Who tendering tells of what (``rcc.notifications``): one call from each service at the moment it acts."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.models import Bid, ClarificationAnswer, Lot, Tender
from rcc.models import Organisation
from rcc.notifications import Event, To, notify
from rcc.roles import Role
from rcc.tenancy import OrgKind, within_rcc

PROVIDER = (Role.PROVIDER_MANAGER,)
EVALUATORS = (Role.RCC_COMMISSIONER,)


def _when(moment: object) -> str:
    return f"{moment:%H:%M on %-d %B %Y} (UTC)"


def every_provider(session: Session, rcc_id: int) -> list[To]:
    session.flush()  # the caller's changes, in the caller's scope, before reading in the RCC's
    with within_rcc(session, rcc_id):
        ids = session.scalars(select(Organisation.id).where(
            Organisation.rcc_id == rcc_id, Organisation.kind == OrgKind.PROVIDER).order_by(Organisation.id))
        return [To(int(i), PROVIDER) for i in ids]


def bidders(session: Session, tender: Tender) -> list[To]:
    session.flush()
    with within_rcc(session, tender.rcc_id):
        ids = sorted(set(session.scalars(select(Bid.provider_id).where(Bid.tender_id == tender.id))))
    return [To(int(i), PROVIDER) for i in ids]


def _link(tender: Tender) -> str:
    return f"/contracts/tenders/{tender.id}"


def tender_published(session: Session, tender: Tender) -> None:
    notify(session, Event.TENDER_PUBLISHED, tender.rcc_id, every_provider(session, tender.rcc_id),
           {"tender": tender.title, "bid_deadline": _when(tender.bids_close_at)},
           about=f"tender:{tender.id}", link=_link(tender))


def question_answered(session: Session, tender: Tender, answer: ClarificationAnswer) -> None:
    notify(session, Event.QUESTION_ANSWERED, tender.rcc_id, every_provider(session, tender.rcc_id),
           {"tender": tender.title}, about=f"clarification_answer:{answer.id}", link=_link(tender))


def deadline_tomorrow(session: Session, tender: Tender) -> None:
    notify(session, Event.TENDER_DEADLINE_TOMORROW, tender.rcc_id, every_provider(session, tender.rcc_id),
           {"tender": tender.title, "bid_deadline": _when(tender.bids_close_at)},
           about=f"tender:{tender.id}", link=_link(tender))


def tender_closed(session: Session, tender: Tender) -> None:
    """Bids closed: the providers who bid are told no more bids can be made."""
    notify(session, Event.TENDER_CLOSED, tender.rcc_id, bidders(session, tender),
           {"tender": tender.title, "bid_deadline": _when(tender.bids_close_at)},
           about=f"tender:{tender.id}", link=_link(tender))


def evaluation_due(session: Session, tender: Tender) -> None:
    """Bids closed and evaluation begins: the RCC's commissioners, who mark the bids, are told once
    (only if there is a bid to mark)."""
    session.flush()
    with within_rcc(session, tender.rcc_id):
        count = len(list(session.scalars(select(Bid.id).where(Bid.tender_id == tender.id))))
    if not count:
        return
    notify(session, Event.EVALUATION_DUE, tender.rcc_id, [To(tender.rcc_id, EVALUATORS)],
           {"tender": tender.title, "bid_deadline": _when(tender.bids_close_at),
            "bids": "1 bid" if count == 1 else f"{count} bids"},
           about=f"tender:{tender.id}", link=_link(tender))


def tender_result(session: Session, tender: Tender, lots: list[Lot]) -> None:
    """Each bidder is told its own result, lot by lot, and nobody else's."""
    by_provider: dict[int, list[str]] = defaultdict(list)
    numbers = {lot.id: lot.number for lot in lots}
    session.flush()
    with within_rcc(session, tender.rcc_id):
        bids = list(session.scalars(select(Bid).where(Bid.tender_id == tender.id).order_by(Bid.lot_id)))
    for bid in bids:
        outcome = "successful" if bid.successful else "not successful"
        by_provider[bid.provider_id].append(f"lot {numbers.get(bid.lot_id, '?')}: your bid was {outcome}")
    for provider_id, results in sorted(by_provider.items()):
        notify(session, Event.TENDER_RESULT, tender.rcc_id, [To(provider_id, PROVIDER)],
               {"tender": tender.title, "result": "; ".join(results) + ". Your award letter, with your scores "
                "and the winning bid's, is on the tender's page"}, about=f"tender:{tender.id}",
               link=_link(tender))
