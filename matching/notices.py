"""Who matching tells of what (``rcc.notifications``): one call from each service at the moment it acts.

Nothing told to a provider names the child: the home, the offer's number and its deadline only.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from commissioning.models import Home, Placement
from matching.models import MatchingRun, Offer
from rcc.notifications import Event, To, notify
from rcc.roles import Role
from rcc.tenancy import within_rcc

RCC_PLACEMENTS = (Role.RCC_PLACEMENT_OFFICER,)
PROVIDER = (Role.PROVIDER_MANAGER,)
COUNCIL_PLACEMENTS = (Role.COUNCIL_PLACEMENT_OFFICER,)


def _home_name(session: Session, rcc_id: int, home_id: int) -> str:
    session.flush()  # the caller's changes, in the caller's scope, before reading in the RCC's
    with within_rcc(session, rcc_id):
        home = session.get(Home, home_id)
    return home.name if home is not None else f"home {home_id}"


def _when(moment: object) -> str:
    return f"{moment:%H:%M on %-d %B %Y} (UTC)"


def offer_sent(session: Session, offer: Offer) -> None:
    notify(session, Event.OFFER_SENT, offer.rcc_id, [To(offer.provider_id, PROVIDER)],
           {"home": _home_name(session, offer.rcc_id, offer.home_id), "respond_by": _when(offer.respond_by)},
           about=f"offer:{offer.id}", link=f"/offers-for-your-homes/{offer.id}")


def offer_answered(session: Session, offer: Offer, answer: str) -> None:
    """The provider answered: the RCC is told; if they accepted, the council has a placement to approve."""
    home = _home_name(session, offer.rcc_id, offer.home_id)
    notify(session, Event.OFFER_ANSWERED, offer.rcc_id, [To(offer.rcc_id, RCC_PLACEMENTS)],
           {"home": home, "answer": answer, "offer": f"#{offer.id}", "referral": f"#{offer.referral_id}"},
           about=f"offer:{offer.id}", link=f"/matching/offers/{offer.id}")
    if answer == "accepted":
        notify(session, Event.PROPOSAL_TO_APPROVE, offer.rcc_id, [To(offer.council_id, COUNCIL_PLACEMENTS)],
               {"home": home, "referral": f"#{offer.referral_id}"},
               about=f"offer:{offer.id}", link=f"/matching/approvals/{offer.id}")


def offer_expiring(session: Session, offer: Offer) -> None:
    notify(session, Event.OFFER_EXPIRING, offer.rcc_id, [To(offer.rcc_id, RCC_PLACEMENTS)],
           {"home": _home_name(session, offer.rcc_id, offer.home_id), "offer": f"#{offer.id}",
            "respond_by": _when(offer.respond_by)}, about=f"offer:{offer.id}", link=f"/matching/offers/{offer.id}")


def offer_expired(session: Session, offer: Offer) -> None:
    values = {"home": _home_name(session, offer.rcc_id, offer.home_id), "offer": f"#{offer.id}",
              "respond_by": _when(offer.respond_by)}
    notify(session, Event.OFFER_EXPIRED, offer.rcc_id, [To(offer.rcc_id, RCC_PLACEMENTS)], values,
           about=f"offer:{offer.id}", link=f"/matching/offers/{offer.id}")


def placement_approved(session: Session, offer: Offer, placement: Placement) -> None:
    notify(session, Event.PLACEMENT_APPROVED, offer.rcc_id,
           [To(offer.provider_id, PROVIDER), To(offer.rcc_id, RCC_PLACEMENTS)],
           {"home": _home_name(session, offer.rcc_id, offer.home_id), "offer": f"#{offer.id}",
            "start_date": f"{placement.start_date:%-d %B %Y}"}, about=f"placement:{placement.id}")


def run_failed(session: Session, run: MatchingRun) -> None:
    notify(session, Event.RUN_FAILED, run.rcc_id, [To(run.rcc_id, RCC_PLACEMENTS)],
           {"run": f"#{run.id}", "reason": (run.error or "no reason was recorded")[:500]},
           about=f"run:{run.id}", link=f"/matching/runs/{run.id}")
