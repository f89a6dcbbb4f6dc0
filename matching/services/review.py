"""Reviewing a run: for each child, accept the proposed home, choose an alternative, or leave unmatched.

Accepting (or choosing an alternative) sends the offer to the home's provider at once. Choosing
an alternative and leaving a child unmatched both need a reason. Every decision is audited,
and a proposal is decided once: the status moves only from "to review" with a conditional
UPDATE, so two officers deciding the same child at the same moment cannot both succeed. Once a
later run has finished with a proposal for the same child, the older proposal is superseded and
can no longer be decided (a Conflict), so two runs cannot send the child two offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from commissioning.lifecycle import IN_MATCHING, SUBMITTED
from commissioning.models import Child, Referral
from commissioning.services.referrals import lock_referral
from matching.models import (
    ACCEPTED,
    ALTERNATIVE_CHOSEN,
    DECLINED,
    DONE,
    HOLDING_STATUSES,
    LEFT_UNMATCHED,
    NO_HOME,
    PROPOSED,
    UNDECIDED_STATUSES,
    MatchingRun,
    Offer,
    Proposal,
)
from matching.services import explain, places
from matching.services.capacity import free_unheld_places
from matching.services.offers import make_group_offer, make_offer
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import Organisation, utcnow

MAX_REASON = 2000
# The audit action for each decision that makes an offer.
DECISION_ACTIONS: dict[str, AuditAction] = {
    ACCEPTED: AuditAction.MATCHING_PROPOSAL_ACCEPTED,
    ALTERNATIVE_CHOSEN: AuditAction.MATCHING_PROPOSAL_ALTERNATIVE_CHOSEN,
}


@dataclass(frozen=True)
class ReviewRow:
    """One child's line in a run's result table."""

    proposal: Proposal
    referral: Referral
    child: Child
    council: Organisation | None
    home: places.Place | None  # the proposed (or chosen) home or foster household
    offer: Offer | None


@dataclass(frozen=True)
class AlternativeLine:
    home_id: str  # the place key: "H7" for a home, "F4" for a foster household
    home: places.Place | None
    score: int
    reason: str
    taken_by: tuple[str, ...]
    parts: list[explain.PartLine]


# The run page's groups of proposals: what is left to review, who has no home, what is decided.
TO_REVIEW = "review"
UNMATCHED = "unmatched"
DECIDED = "decided"
SHOW_ALL = "all"
PROPOSAL_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    TO_REVIEW: ("To review", (PROPOSED,)),
    UNMATCHED: ("No home found", (NO_HOME,)),
    DECIDED: ("Decided", (ACCEPTED, ALTERNATIVE_CHOSEN, LEFT_UNMATCHED)),
    SHOW_ALL: ("All", (PROPOSED, NO_HOME, ACCEPTED, ALTERNATIVE_CHOSEN, LEFT_UNMATCHED)),
}
PER_PAGE = 50


@dataclass(frozen=True)
class ReviewPage:
    """One page of one group of a run's proposals, with how many each group holds."""

    rows: list[ReviewRow]
    show: str
    total: int
    page: int
    per_page: int
    counts: dict[str, int]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def review_page(session: Session, run: MatchingRun, show: str = SHOW_ALL, page: int = 1,
                per_page: int = PER_PAGE) -> ReviewPage:
    """One page (``per_page`` rows) of the run's proposals in the group ``show``; a page past the end
    gives the last page. Unknown groups show every proposal."""
    show = show if show in PROPOSAL_GROUPS else SHOW_ALL
    by_status: dict[str, int] = dict(session.execute(  # type: ignore[arg-type]
        select(Proposal.status, func.count(Proposal.id)).where(Proposal.run_id == run.id)
        .group_by(Proposal.status)).all())
    counts = {name: sum(by_status.get(s, 0) for s in statuses) for name, (_label, statuses) in PROPOSAL_GROUPS.items()}
    total = counts[show]
    page = min(max(1, page), max(1, -(-total // per_page)))
    statuses = PROPOSAL_GROUPS[show][1]
    return ReviewPage(review_rows(session, run, statuses, (page - 1) * per_page, per_page), show, total, page,
                      per_page, counts)


def next_to_review(session: Session, proposal: Proposal) -> Proposal | None:
    """The run's next proposal still to review after this one (or the first before it), if any."""
    query = select(Proposal).where(Proposal.run_id == proposal.run_id, Proposal.status == PROPOSED,
                                   Proposal.id != proposal.id, ~_superseded_condition(Proposal))
    return (session.scalars(query.where(col(Proposal.id) > proposal.id).order_by(Proposal.id).limit(1)).first()
            or session.scalars(query.order_by(Proposal.id).limit(1)).first())


def review_rows(session: Session, run: MatchingRun, statuses: tuple[str, ...] | None = None, offset: int = 0,
                limit: int | None = None) -> list[ReviewRow]:
    """Children in the run (those with a proposal in ``statuses``, a page at a time) with their
    referral, council, proposed home and latest offer: five queries."""
    query = select(Proposal).where(Proposal.run_id == run.id)
    if statuses is not None:
        query = query.where(col(Proposal.status).in_(statuses))
    proposals = list(session.scalars(query.order_by(Proposal.status != PROPOSED, Proposal.id)
                                     .offset(offset).limit(limit)))
    referrals = _by_id(session, Referral, {p.referral_id for p in proposals})
    children = _by_id(session, Child, {r.child_id for r in referrals.values()})
    homes = places.places_by_key(session, {p.chosen_place_key for p in proposals})
    councils = _by_id(session, Organisation, {p.council_id for p in proposals})
    offers = {o.proposal_id: o for o in session.scalars(
        select(Offer).where(Offer.proposal_id.in_([p.id for p in proposals])).order_by(Offer.id))}
    rows = []
    for proposal in proposals:
        referral = referrals.get(proposal.referral_id)
        if referral is None:
            continue
        rows.append(ReviewRow(proposal, referral, children[referral.child_id], councils.get(proposal.council_id),
                              homes.get(proposal.chosen_place_key or ""), offers.get(proposal.id)))
    return rows


def _by_id(session: Session, model: Any, ids: set[Any]) -> dict[int, Any]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}


def alternatives_of(session: Session, proposal: Proposal) -> list[AlternativeLine]:
    home_ids = [str(a["home"]) for a in proposal.alternatives]
    homes = places.places_by_key(session, set(home_ids))
    return [AlternativeLine(home_id, homes.get(home_id), a["score"], explain.alternative_reason(a["reason"]),
                            tuple(a.get("taken_by", ())), explain.part_lines(a["parts"]))
            for home_id, a in zip(home_ids, proposal.alternatives, strict=True)]


def get_proposal(session: Session, proposal_id: int) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound()
    return proposal


# Deciding ------------------------------------------------------------------------------------

def accept_proposal(session: Session, proposal: Proposal, now: datetime | None = None) -> Offer:
    """Accept the proposed home and send the offer to its provider.

    When the run proposed this child's brothers and sisters to the same provider (one home or
    several of its homes), accepting one accepts them all: one group offer, answered as a whole.
    """
    if proposal.place_key is None:
        raise Conflict("The engine found no home for this child, so there is nothing to accept")
    siblings = sibling_proposals(session, proposal)
    if len(siblings) > 1:
        return _decide_group(session, siblings, now or utcnow(), proposal.referral_id)
    return _decide_with_offer(session, proposal, proposal.place_key, ACCEPTED, None, now)


def sibling_proposals(session: Session, proposal: Proposal) -> list[Proposal]:
    """The proposal and those of the child's brothers and sisters in the same run that are still to review
    and were proposed to a home of the same provider (just the proposal when there are none)."""
    referral = session.get(Referral, proposal.referral_id)
    home = places.row_for(session, proposal.place_key) if proposal.place_key else None
    if referral is None or referral.sibling_group_id is None or home is None:
        return [proposal]
    rows = session.scalars(
        select(Proposal).join(Referral, Referral.id == Proposal.referral_id)
        .where(Proposal.run_id == proposal.run_id, Referral.sibling_group_id == referral.sibling_group_id,
               Proposal.status == PROPOSED, ~(col(Proposal.home_id).is_(None)
                                              & col(Proposal.foster_household_id).is_(None)))
        .order_by(Proposal.referral_id)).all()
    owner = places.provider_of(home)
    together = []
    for p in rows:
        row = places.row_for(session, p.place_key or "")
        if row is not None and places.provider_of(row) == owner:
            together.append(p)
    return together if any(p.id == proposal.id for p in together) else [proposal]


def _decide_group(session: Session, proposals: list[Proposal], now: datetime, referral_id: int) -> Offer:
    referrals = [session.get(Referral, p.referral_id) for p in proposals]
    homes = [places.row_for(session, p.place_key or "") for p in proposals]
    if any(r is None for r in referrals) or any(h is None for h in homes):
        raise NotFound()
    for proposal in proposals:
        _record_decision(session, proposal, ACCEPTED, proposal.place_key, None, now)
    group, made = make_group_offer(session, referrals, homes, [p.id for p in proposals],  # type: ignore[arg-type]
                                   proposals[0].run_id, now)
    by_referral = {o.referral_id: o for o in made}
    for proposal in proposals:
        audit.record(session, AuditAction.MATCHING_PROPOSAL_ACCEPTED, proposal, home_id=proposal.home_id,
                     foster_household_id=proposal.foster_household_id, reason=None, referral_id=proposal.referral_id, offer_id=by_referral[proposal.referral_id].id,
                     group_offer_id=group.id)
    return by_referral[referral_id]


def choose_alternative(session: Session, proposal: Proposal, home_id: int | str | None, reason: str,
                       now: datetime | None = None) -> Offer:
    """Offer one of the runner-up homes (or foster households) instead of the proposed one, saying why.

    ``home_id`` is a home's id, or the place key of a home ("H7") or a foster household ("F4")."""
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    allowed = {str(a["home"]) for a in proposal.alternatives}
    key = _place_key(home_id)
    if key is None or key not in allowed:
        errors["home_id"] = "Select one of the other homes listed"
    _check_reason(reason, errors, "Say why you chose another home")
    if errors:
        raise FieldErrors(errors)
    assert key is not None
    return _decide_with_offer(session, proposal, key, ALTERNATIVE_CHOSEN, reason, now)


def _place_key(value: int | str | None) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int) or value.isdigit():
        return f"H{int(value)}"
    try:
        places.ids_of(value)
    except ValueError:
        return None
    return value


# After a provider declines: offer the child the next home --------------------------------------

def next_homes(session: Session, offer: Offer) -> list[AlternativeLine]:
    """The homes the RCC may offer the child next after ``offer`` was declined: the run's proposed
    home and its runners-up, less every home the child has already been offered and the homes the
    referral excludes. Empty when the offer was not declined, was one of a sibling group's (the group
    is matched again as a whole), or the child is no longer waiting."""
    if offer.status != DECLINED or offer.proposal_id is None or offer.group_offer_id is not None:
        return []
    proposal = session.get(Proposal, offer.proposal_id)
    referral = session.get(Referral, offer.referral_id)
    if proposal is None or referral is None or referral.status not in (SUBMITTED, IN_MATCHING):
        return []
    tried = {places.key_of_columns(h, f) for h, f in session.execute(
        select(Offer.home_id, Offer.foster_household_id).where(Offer.referral_id == offer.referral_id))}
    unwanted = tried | {f"{places.HOME}{h}" for h in referral.excluded_home_ids or []}
    lines = alternatives_of(session, proposal)
    proposed = proposal.place_key
    if proposed is not None:
        lines.insert(0, AlternativeLine(proposed, places.places_by_key(session, {proposed}).get(proposed),
                                        proposal.score or 0, "The home the run proposed", (), []))
    return [line for line in lines if line.home is not None and line.home_id not in unwanted]


def offer_next_home(session: Session, declined: Offer, place_key: str | None, now: datetime | None = None) -> Offer:
    """Send the child's offer to the next home after a provider declined (one of ``next_homes``)."""
    proposal = session.get(Proposal, declined.proposal_id) if declined.proposal_id else None
    if proposal is None:
        raise Conflict("This offer did not come from a matching run's proposal, so there is no next home to offer")
    if is_superseded(session, proposal):
        raise Conflict("A newer matching run has a proposal for this child: decide it on that run instead")
    candidates = {line.home_id: line.home for line in next_homes(session, declined)}
    if not candidates:
        raise Conflict("There is no next home to offer: the offer was not declined, the child is no longer "
                       "waiting, or every home the run found has been tried")
    if candidates.get(place_key or "") is None:
        raise FieldErrors({"home_id": "Select one of the homes listed"})
    home = places.row_for(session, place_key or "")
    referral = session.get(Referral, declined.referral_id)
    if referral is None or home is None:
        raise NotFound()
    offer = make_offer(session, referral, home, proposal.id, now)  # locks the child: one open offer at a time
    audit.record(session, AuditAction.MATCHING_NEXT_HOME_OFFERED, offer, declined_offer_id=declined.id,
                 home_id=offer.home_id, foster_household_id=offer.foster_household_id,
                 referral_id=referral.id, proposal_id=proposal.id)
    return offer


def leave_unmatched(session: Session, proposal: Proposal, reason: str, now: datetime | None = None) -> Proposal:
    """Leave the child without a home from this run, saying why; they stay in matching for the next."""
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    _check_reason(reason, errors, "Say why you are leaving this child unmatched")
    if errors:
        raise FieldErrors(errors)
    _record_decision(session, proposal, LEFT_UNMATCHED, None, reason, now or utcnow())
    audit.record(session, AuditAction.MATCHING_PROPOSAL_LEFT_UNMATCHED, proposal, reason=reason,
                 referral_id=proposal.referral_id)
    return proposal


def _check_reason(reason: str, errors: dict[str, str], missing: str) -> None:
    if not reason:
        errors["reason"] = missing
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"The reason must be {MAX_REASON:,} characters or fewer"


def _decide_with_offer(session: Session, proposal: Proposal, place_key: str, status: str, reason: str | None,
                       now: datetime | None) -> Offer:
    now = now or utcnow()
    referral = session.get(Referral, proposal.referral_id)
    home = places.row_for(session, place_key)
    if referral is None or home is None:
        raise NotFound()
    _record_decision(session, proposal, status, place_key, reason, now)
    offer = make_offer(session, referral, home, proposal.id, now)
    audit.record(session, DECISION_ACTIONS[status], proposal, home_id=offer.home_id,
                 foster_household_id=offer.foster_household_id, reason=reason,
                 referral_id=referral.id, offer_id=offer.id)
    return offer


def _record_decision(session: Session, proposal: Proposal, status: str, place_key: str | None, reason: str | None,
                     now: datetime) -> None:
    """Decide the proposal once, and only while no newer run has replaced it (one conditional UPDATE)."""
    home_id, household_id = places.ids_of(place_key) if place_key else (None, None)
    changed = session.execute(
        update(Proposal).where(Proposal.id == proposal.id, col(Proposal.status).in_(UNDECIDED_STATUSES),
                               ~_superseded_condition(Proposal))
        .values(status=status, chosen_home_id=home_id, chosen_foster_household_id=household_id,
                decision_reason=reason, decided_at=now,
                decided_by_user_id=audit.current_actor(session).user_id)
        .execution_options(synchronize_session=False))
    session.refresh(proposal)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        if proposal.status in UNDECIDED_STATUSES and is_superseded(session, proposal):
            raise Conflict(SUPERSEDED)
        raise Conflict("This child's proposal has already been decided")


# Accepting every first choice that conflicts with nothing, in one step ---------------------------

def first_choices_without_conflict(session: Session, run: MatchingRun, now: datetime | None = None) -> list[Proposal]:
    """Proposals still to review that can be accepted together without taking anything from anyone:

    * the child's first choice (``rank`` 1: the home that scored best for them),
    * the child is not one of brothers and sisters (they are decided as a group, one by one),
    * the run proposes no more children to the home than it has free places not already held, and
    * the proposal is current (no newer run replaced it) and the child has no open offer.
    """
    now = now or utcnow()
    undecided = list(session.scalars(select(Proposal).where(
        Proposal.run_id == run.id, Proposal.status == PROPOSED,
        col(Proposal.home_id).is_not(None) | col(Proposal.foster_household_id).is_not(None),
        ~_superseded_condition(Proposal)).order_by(Proposal.referral_id)))
    demand: dict[str, int] = {}
    for proposal in undecided:
        demand[proposal.place_key or ""] = demand.get(proposal.place_key or "", 0) + 1
    free = {key: _free_unheld(session, key, now) for key in demand}
    referrals = _by_id(session, Referral, {p.referral_id for p in undecided})
    offered = set(session.scalars(select(Offer.referral_id).where(
        col(Offer.referral_id).in_(list(referrals)), col(Offer.status).in_(HOLDING_STATUSES))))
    return [p for p in undecided
            if p.rank == 1 and p.referral_id in referrals and referrals[p.referral_id].sibling_group_id is None
            and referrals[p.referral_id].status in (SUBMITTED, IN_MATCHING) and p.referral_id not in offered
            and demand[p.place_key or ""] <= free[p.place_key or ""]]


def _free_unheld(session: Session, key: str, now: datetime) -> int:
    home_id, household_id = places.ids_of(key)
    if household_id is not None:
        return places.free_unheld_household_places(session, household_id, now)
    return free_unheld_places(session, int(home_id or 0), now)


def accept_first_choices(session: Session, run: MatchingRun, expected: int | None = None,
                         now: datetime | None = None) -> list[Offer]:
    """Accept every first choice that conflicts with nothing, in the caller's one transaction: an offer
    each, and one audit row for the step. ``expected`` is the number the officer confirmed: if it has
    changed meanwhile, nothing is done (a Conflict saying so)."""
    now = now or utcnow()
    chosen = first_choices_without_conflict(session, run, now)
    if not chosen:
        raise Conflict("No proposal is left that is a first choice and conflicts with nothing")
    if expected is not None and expected != len(chosen):
        raise Conflict(f"The proposals changed while you were deciding: {len(chosen)} can now be accepted, "
                       f"not {expected}. Nothing was accepted. Check the number and confirm again.")
    for proposal in chosen:  # every child's referral first, in one order, before any home's vacancy
        lock_referral(session, proposal.referral_id)
    made = [_decide_with_offer(session, proposal, proposal.place_key or "", ACCEPTED, None, now)
            for proposal in chosen]
    audit.record(session, AuditAction.MATCHING_PROPOSALS_BULK_ACCEPTED, run,
                 proposal_ids=[p.id for p in chosen], offer_ids=[o.id for o in made])
    return made


SUPERSEDED = ("A newer matching run has replaced this one for this child, so this proposal can no longer be "
              "decided. Open the newer run to decide what happens next.")


def _superseded_condition(proposal: Any) -> Any:
    """A finished later run has a proposal for the same child."""
    newer = aliased(Proposal)
    finished = select(MatchingRun.id).where(MatchingRun.stage == DONE)
    return exists(select(newer.id).where(newer.referral_id == proposal.referral_id, newer.run_id > proposal.run_id,
                                         col(newer.run_id).in_(finished)))


def is_superseded(session: Session, proposal: Proposal) -> bool:
    """A finished later run also proposed for this child: only the newest run's proposal can be decided."""
    found = session.scalar(select(Proposal.id).where(Proposal.id == proposal.id, _superseded_condition(Proposal)))
    return found is not None


def can_be_decided(session: Session, proposal: Proposal) -> bool:
    return proposal.status in UNDECIDED_STATUSES and not is_superseded(session, proposal)
