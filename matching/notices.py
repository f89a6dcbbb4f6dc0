"""Who matching tells of what (``rcc.notifications``): one call from each service at the moment it acts.

Nothing told to a provider names the child: the home, the offer's number and its deadline only.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from commissioning.models import FosterHousehold, Home, Placement
from matching.models import GroupOffer, MatchingRun, Offer
from rcc.models import Organisation
from rcc.notifications import Event, To, notify
from rcc.roles import Role
from rcc.tenancy import OrgKind, within_rcc

RCC_PLACEMENTS = (Role.RCC_PLACEMENT_OFFICER,)
PROVIDER = (Role.PROVIDER_MANAGER,)
COUNCIL_PLACEMENTS = (Role.COUNCIL_PLACEMENT_OFFICER,)


def _home_name(session: Session, rcc_id: int, home_id: int | None, household_id: int | None = None) -> str:
    session.flush()  # the caller's changes, in the caller's scope, before reading in the RCC's
    if household_id is not None:
        with within_rcc(session, rcc_id):
            household = session.get(FosterHousehold, household_id)
        return f"foster household {household.reference}" if household is not None else "a foster household"
    with within_rcc(session, rcc_id):
        home = session.get(Home, home_id)
    return home.name if home is not None else f"home {home_id}"


def _place_name(session: Session, row: Offer | Placement, told: int) -> str:
    """The home's name; a foster household's reference only for its owner or the RCC (anyone else,
    such as the council of a child placed with another council's carers, reads "a foster household")."""
    if row.foster_household_id is not None and told not in (row.provider_id, row.rcc_id):
        return "a foster household"
    return _home_name(session, row.rcc_id, row.home_id, row.foster_household_id)


def _answerer(session: Session, offer: Offer | Placement) -> To:
    """Who answers for the home: the provider's managers, or for a council's in-house foster household
    that council's placement officers."""
    if offer.foster_household_id is not None:
        session.flush()
        with within_rcc(session, offer.rcc_id):
            owner = session.get(Organisation, offer.provider_id)
        if owner is not None and owner.kind == OrgKind.COUNCIL:
            return To(offer.provider_id, COUNCIL_PLACEMENTS)
    return To(offer.provider_id, PROVIDER)


def _when(moment: object) -> str:
    return f"{moment:%H:%M on %-d %B %Y} (UTC)"


def offer_sent(session: Session, offer: Offer) -> None:
    answerer = _answerer(session, offer)
    link = (f"/matching/offers/{offer.id}" if answerer.roles == COUNCIL_PLACEMENTS
            else f"/offers-for-your-homes/{offer.id}")
    notify(session, Event.OFFER_SENT, offer.rcc_id, [answerer],
           {"home": _place_name(session, offer, offer.provider_id), "respond_by": _when(offer.respond_by)},
           about=f"offer:{offer.id}", link=link)


def offer_answered(session: Session, offer: Offer, answer: str) -> None:
    """The provider answered: the RCC is told; if they accepted, the council has a placement to approve."""
    notify(session, Event.OFFER_ANSWERED, offer.rcc_id, [To(offer.rcc_id, RCC_PLACEMENTS)],
           {"home": _place_name(session, offer, offer.rcc_id), "answer": answer, "offer": f"#{offer.id}", "referral": f"#{offer.referral_id}"},
           about=f"offer:{offer.id}", link=f"/matching/offers/{offer.id}")
    if answer == "accepted":
        proposal_to_approve(session, offer)


def proposal_to_approve(session: Session, offer: Offer) -> None:
    notify(session, Event.PROPOSAL_TO_APPROVE, offer.rcc_id, [To(offer.council_id, COUNCIL_PLACEMENTS)],
           {"home": _place_name(session, offer, offer.council_id), "referral": f"#{offer.referral_id}"},
           about=f"offer:{offer.id}", link=f"/matching/approvals/{offer.id}")


def _homes(session: Session, offers: list[Offer]) -> str:
    names = sorted({_place_name(session, o, o.provider_id) for o in offers})
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def group_offer_sent(session: Session, group: GroupOffer, offers: list[Offer]) -> None:
    """One notice to the provider for the whole group (not one per child): it is answered as a whole."""
    notify(session, Event.GROUP_OFFER_SENT, group.rcc_id, [To(group.provider_id, PROVIDER)],
           {"homes": _homes(session, offers), "children": len(offers), "respond_by": _when(group.respond_by)},
           about=f"group_offer:{group.id}", link=f"/offers-for-your-homes/{offers[0].id}")


def group_offer_answered(session: Session, group: GroupOffer, offers: list[Offer], answer: str) -> None:
    """The RCC is told once for the group; if accepted, the council approves each child's placement."""
    notify(session, Event.GROUP_OFFER_ANSWERED, group.rcc_id, [To(group.rcc_id, RCC_PLACEMENTS)],
           {"homes": _homes(session, offers), "answer": answer, "group": f"#{group.id}", "children": len(offers),
            "offers": ", ".join(f"#{o.id}" for o in offers)},
           about=f"group_offer:{group.id}", link=f"/matching/offers/{offers[0].id}")
    if answer == "accepted":
        for offer in offers:
            proposal_to_approve(session, offer)


def offer_expiring(session: Session, offer: Offer) -> None:
    notify(session, Event.OFFER_EXPIRING, offer.rcc_id, [To(offer.rcc_id, RCC_PLACEMENTS)],
           {"home": _place_name(session, offer, offer.rcc_id), "offer": f"#{offer.id}",
            "respond_by": _when(offer.respond_by)}, about=f"offer:{offer.id}", link=f"/matching/offers/{offer.id}")


def offer_expired(session: Session, offer: Offer) -> None:
    values = {"home": _place_name(session, offer, offer.rcc_id), "offer": f"#{offer.id}",
              "respond_by": _when(offer.respond_by)}
    notify(session, Event.OFFER_EXPIRED, offer.rcc_id, [To(offer.rcc_id, RCC_PLACEMENTS)], values,
           about=f"offer:{offer.id}", link=f"/matching/offers/{offer.id}")


def placement_approved(session: Session, offer: Offer, placement: Placement) -> None:
    notify(session, Event.PLACEMENT_APPROVED, offer.rcc_id,
           [_answerer(session, offer), To(offer.rcc_id, RCC_PLACEMENTS)],
           {"home": _place_name(session, offer, offer.provider_id), "offer": f"#{offer.id}",
            "start_date": f"{placement.start_date:%-d %B %Y}"}, about=f"placement:{placement.id}")


def run_failed(session: Session, run: MatchingRun) -> None:
    notify(session, Event.RUN_FAILED, run.rcc_id, [To(run.rcc_id, RCC_PLACEMENTS)],
           {"run": f"#{run.id}", "reason": (run.error or "no reason was recorded")[:500]},
           about=f"run:{run.id}", link=f"/matching/runs/{run.id}")
