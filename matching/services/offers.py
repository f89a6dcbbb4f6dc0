"""Offers: a child offered to a provider's home, answered by the provider before a deadline.

The provider sees only an anonymised profile (``anonymised_profile``): age band, sex, needs and
risks, the council's summary for providers, distance band, placement type, urgency and date
needed — never a name, reference, initials, postcode, the child's own words or any other free
text from the council or the RCC. The profile is computed when the
offer is made (by the RCC, who may read the referral) and kept on the offer, so the provider's
pages never read the referral or the child at all.

Deadlines to answer (``RESPONSE_HOURS``): 4 hours for an emergency, 24 hours when the child is
needed within 7 days, 48 hours for a planned move. After the deadline the provider can no
longer accept; the offer shows as expired and the RCC can withdraw it.

A place is never given twice: accepting takes a lock on the home's vacancy row, counts the
places already promised to other accepted offers, and moves the offer from "sent" to
"accepted" with a conditional UPDATE. Of two acceptances racing for the last place, exactly
one succeeds; the other gets a Conflict saying so.

Brothers and sisters the run proposed to one provider are offered together (``make_group_offer``):
one ``GroupOffer`` with an offer per child, which the provider accepts or declines as a whole (one
decision, one audit row; every child's offer and referral moves with it). Answering or withdrawing a
group locks the group's row before anything else, so of two answers at once exactly one is kept,
and the database refuses any offer whose answer differs from its group's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from commissioning.lifecycle import IN_MATCHING, OFFERED, SUBMITTED
from commissioning.models import Child, FosterHousehold, Home, Referral, Vacancy
from commissioning.services.referrals import (
    lock_referral,
    mark_offered,
    return_to_matching,
    start_matching,
)
from commissioning.vocabulary import NEEDS, PLACEMENT_TYPES, RISK_FLAGS, SEXES, URGENCIES
from matching import notices
from matching.models import (
    CAN_MEET,
    DECLINED,
    HOLDING_STATUSES,
    OFFER_STATUS_LABELS,
    OFFER_STATUS_TAGS,
    PROVIDER_ACCEPTED,
    SENT,
    WITHDRAWN,
    ExpressionOfInterest,
    GroupOffer,
    Offer,
    Proposal,
)
from matching.services import places
from matching.services.capacity import (
    free_block_places,
    free_places,
    free_unheld_places,
    held_block_places,
    lock_vacancy,
)
from rcc import audit
from rcc.audit import AuditAction
from rcc.db import lock, transition
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.geography import Point, great_circle_miles
from rcc.models import utcnow
from rcc.tenancy import within_rcc

RESPONSE_HOURS = {"emergency": 4, "within_7_days": 24, "planned": 48}
MAX_DETAILS = 2000

DECLINE_REASONS: dict[str, str] = {
    "no_place": "No place free on the date needed",
    "cannot_meet_needs": "Cannot meet the child's needs",
    "risks_to_or_from_others": "Risks to or from the children already living here",
    "group_mix": "The child would not fit with the current group",
    "staffing": "Not enough staff with the right skills",
    "location": "The home's location is not right for the child",
    "other": "Another reason (say what)",
}

AGE_BANDS = ((0, 4), (5, 9), (10, 12), (13, 15), (16, 17))
DISTANCE_BANDS = ((5, "Under 5 miles"), (10, "5–10 miles"), (20, "10–20 miles"), (50, "20–50 miles"))


def age_band(age: int) -> str:
    for low, high in AGE_BANDS:
        if low <= age <= high:
            return f"{low}–{high}"
    return "18 or over" if age > 17 else "Under 1"


def distance_band(miles: float) -> str:
    for limit, label in DISTANCE_BANDS:
        if miles < limit:
            return label
    return "50 miles or more"


@dataclass(frozen=True)
class AnonymisedProfile:
    """All a provider learns about a child offered to them."""

    age_band: str
    sex: str
    placement_type: str
    urgency: str
    date_needed: date
    needs: tuple[str, ...]
    risk_flags: tuple[str, ...]
    deprivation_of_liberty_order: bool
    summary: str  # the council's summary for providers (Referral.provider_summary)
    distance_band: str


def profile_document(referral: Referral, child: Child, home: Home | FosterHousehold) -> dict[str, Any]:
    """The anonymised profile as stored on the offer (plain JSON, labels not keys)."""
    miles = _miles_between(child, home)
    return {
        "age_band": age_band(child.age_on(referral.date_needed)),
        "sex": SEXES.get(child.sex, child.sex),
        "placement_type": PLACEMENT_TYPES[referral.placement_type].label
        if referral.placement_type in PLACEMENT_TYPES else referral.placement_type,
        "urgency": URGENCIES.get(referral.urgency, referral.urgency),
        "date_needed": referral.date_needed.isoformat(),
        "needs": [NEEDS[k] for k in referral.needs if k in NEEDS],
        "risk_flags": [RISK_FLAGS[k] for k in referral.risk_flags if k in RISK_FLAGS],
        "deprivation_of_liberty_order": bool(referral.dol_order_needed),
        "summary": referral.provider_summary or "",
        "distance_band": "Not known" if miles is None else distance_band(miles),
    }


def anonymised_profile(offer: Offer | ExpressionOfInterest) -> AnonymisedProfile:
    """The offer's (or a referral pack's) child as a provider may see them. Reads only its stored
    profile, never the referral."""
    p = offer.profile
    return AnonymisedProfile(
        age_band=str(p.get("age_band", "")), sex=str(p.get("sex", "")),
        placement_type=str(p.get("placement_type", "")), urgency=str(p.get("urgency", "")),
        date_needed=date.fromisoformat(p["date_needed"]), needs=tuple(p.get("needs", [])),
        risk_flags=tuple(p.get("risk_flags", [])),
        deprivation_of_liberty_order=bool(p.get("deprivation_of_liberty_order")),
        summary=str(p.get("summary", "")), distance_band=str(p.get("distance_band", "")))


def _miles_between(child: Child, home: Home | FosterHousehold) -> float | None:
    if None in (child.home_latitude, child.home_longitude, home.latitude, home.longitude):
        return None
    return great_circle_miles(Point(child.home_latitude, child.home_longitude),  # type: ignore[arg-type]
                              Point(home.latitude, home.longitude))  # type: ignore[arg-type]


def response_deadline(urgency: str, now: datetime) -> datetime:
    return now + timedelta(hours=RESPONSE_HOURS.get(urgency, RESPONSE_HOURS["planned"]))


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; make them comparable with ``utcnow()``."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def is_expired(offer: Offer, now: datetime | None = None) -> bool:
    return offer.status == SENT and aware(offer.respond_by) <= (now or utcnow())


def shown_status(offer: Offer, now: datetime | None = None) -> str:
    """The status people see: an unanswered offer past its deadline shows as expired."""
    return "expired" if is_expired(offer, now) else offer.status


def status_label(offer: Offer, now: datetime | None = None) -> str:
    return OFFER_STATUS_LABELS[shown_status(offer, now)]


def status_tag(offer: Offer, now: datetime | None = None) -> str:
    return OFFER_STATUS_TAGS[shown_status(offer, now)]


# Making an offer (the RCC) ------------------------------------------------------------------

def make_offer(session: Session, referral: Referral, home: Home | FosterHousehold, proposal_id: int | None = None,
               now: datetime | None = None, tell_provider: bool = True) -> Offer:
    """Offer the child to the home's provider (or the foster household's owner: its agency, or the
    council whose in-house carers they are), holding one of its free places until answered
    (``tell_provider=False``: part of a group offer, which tells the provider once for the group)."""
    now = now or utcnow()
    # Lock the child's referral, then the home's vacancy (the one order everywhere), so that the
    # checks below read what every earlier request did and no other request can act on them until
    # this one ends: one offer per child, no more offers than free places.
    referral = lock_referral(session, int(referral.id or 0))
    if referral.status not in (SUBMITTED, IN_MATCHING):
        raise Conflict("This child is no longer waiting for a home: the referral is "
                       f"'{referral.status.replace('_', ' ')}'")
    if _open_offer_for(session, referral.id) is not None:
        raise Conflict("This child already has an offer waiting for an answer")
    if isinstance(home, FosterHousehold):
        places.lock_household(session, int(home.id or 0))
        if places.free_unheld_household_places(session, int(home.id or 0), now) < 1:
            raise Conflict(f"{places.household_name(home)} has no free place now that is not already offered "
                           "to another child")
        funding, contract_id, weekly_cost = "spot", None, home.weekly_cost or 0
    else:
        lock_vacancy(session, int(home.id or 0))
        if free_unheld_places(session, home.id, now) < 1:
            raise Conflict(f"{home.name} has no free place now that is not already offered to another child")
        funding, contract_id, weekly_cost = _price_for(session, home, now)
    child = session.get(Child, referral.child_id)
    if child is None:
        raise NotFound()
    if funding == "spot" and isinstance(home, Home):  # the price the provider offered for this child, if it answered the pack
        weekly_cost = _offered_price(session, int(referral.id or 0), int(home.id or 0)) or weekly_cost
    if referral.status == SUBMITTED:
        start_matching(session, referral)
    offer = Offer(rcc_id=referral.rcc_id, council_id=referral.council_id, provider_id=places.provider_of(home),
                  **places.columns_for(home), referral_id=referral.id, proposal_id=proposal_id, status=SENT,
                  profile=profile_document(referral, child, home), weekly_cost=weekly_cost, funding=funding,
                  block_contract_id=contract_id, sent_at=now, respond_by=response_deadline(referral.urgency, now),
                  sent_by_user_id=audit.current_actor(session).user_id)
    session.add(offer)
    mark_offered(session, referral)
    audit.record(session, AuditAction.MATCHING_OFFER_SENT, offer, home_id=offer.home_id,
                 foster_household_id=offer.foster_household_id, referral_id=referral.id,
                 respond_by=offer.respond_by.isoformat(), funding=funding)
    if tell_provider:
        notices.offer_sent(session, offer)
    return offer


def _price_for(session: Session, home: Home, now: datetime) -> tuple[str, int | None, int]:
    """Block place at the contract's price if one is free (and not held by another open offer),
    else spot at the home's price (pence)."""
    home_id = int(home.id or 0)
    block = free_block_places(session, now.date()).get(home_id)
    if block is not None and block.free_places > held_block_places(session, [home_id], now).get(home_id, 0):
        return "block", block.contract_id, block.weekly_price
    return "spot", None, home.weekly_price or 0


def _offered_price(session: Session, referral_id: int, home_id: int) -> int | None:
    """Pence a week the home's provider offered for this child in answer to a referral pack."""
    return session.scalar(select(ExpressionOfInterest.weekly_price).where(
        ExpressionOfInterest.referral_id == referral_id, ExpressionOfInterest.home_id == home_id,
        ExpressionOfInterest.answer == CAN_MEET))


def _open_offer_for(session: Session, referral_id: int) -> Offer | None:
    return session.scalars(select(Offer).where(Offer.referral_id == referral_id,
                                               col(Offer.status).in_(HOLDING_STATUSES))).first()


# Answering an offer (the provider) ----------------------------------------------------------

def accept_offer(session: Session, offer: Offer, now: datetime | None = None) -> Offer:
    """The provider accepts: one of the home's places is promised to this child (or, for an offer of
    siblings together, to every child of the group)."""
    now = now or utcnow()
    if offer.group_offer_id is not None:
        return accept_group_offer(session, group_of(session, offer), now)
    _check_answerable(offer, now)
    if offer.foster_household_id is not None:
        # The household's place is filled now, conditionally: two acceptances of its last place
        # cannot both succeed (and the database's CHECK refuses fewer than no places).
        places.lock_household(session, offer.foster_household_id)
        places.take_household_places(session, offer.foster_household_id, 1)
    else:
        lock_vacancy(session, int(offer.home_id or 0))
        promised = _accepted_elsewhere(session, offer)
        if free_places(session, int(offer.home_id or 0), now) - promised < 1:
            raise Conflict("The home has no free place left: its last place has just been promised to another "
                           "child. Decline this offer, or free a place on the home's vacancy first.")
    move_offer(session, offer, SENT, PROVIDER_ACCEPTED, answered_at=now,
          answered_by_user_id=audit.current_actor(session).user_id)
    audit.record(session, AuditAction.MATCHING_OFFER_ACCEPTED, offer, home_id=offer.home_id,
                 foster_household_id=offer.foster_household_id)
    notices.offer_answered(session, offer, "accepted")
    return offer


def decline_offer(session: Session, offer: Offer, reason_code: str, details: str,
                  now: datetime | None = None) -> Offer:
    """The provider declines, with a reason; the child goes back to matching without this home
    (for an offer of siblings together, every child of the group does)."""
    now = now or utcnow()
    details = _check_decline(reason_code, details)
    if offer.group_offer_id is not None:
        return decline_group_offer(session, group_of(session, offer), reason_code, details, now)
    _check_answerable(offer, now, declining=True)
    _lock_referral_of(session, offer)
    move_offer(session, offer, SENT, DECLINED, answered_at=now, decline_reason=reason_code,
          decline_details=details or None, answered_by_user_id=audit.current_actor(session).user_id)
    reason = f"Provider declined: {DECLINE_REASONS[reason_code]}" + (f". {details}" if details else "")
    _return_child_to_matching(session, offer, offer.home_id, reason)
    audit.record(session, AuditAction.MATCHING_OFFER_DECLINED, offer, reason=reason_code, home_id=offer.home_id,
                 foster_household_id=offer.foster_household_id)
    notices.offer_answered(session, offer, "declined")
    return offer


def _check_decline(reason_code: str, details: str) -> str:
    details = (details or "").strip()
    errors: dict[str, str] = {}
    if reason_code not in DECLINE_REASONS:
        errors["reason"] = "Select why you are declining the offer"
    if reason_code == "other" and not details:
        errors["details"] = "Say why you are declining the offer"
    if len(details) > MAX_DETAILS:
        errors["details"] = f"The details must be {MAX_DETAILS:,} characters or fewer"
    if errors:
        raise FieldErrors(errors)
    return details


def withdraw_offer(session: Session, offer: Offer, reason: str, now: datetime | None = None) -> Offer:
    """The RCC withdraws an offer that is still open; an expired one excludes its home next time."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise FieldErrors({"reason": "Say why you are withdrawing the offer"})
    if len(reason) > MAX_DETAILS:
        raise FieldErrors({"reason": f"The reason must be {MAX_DETAILS:,} characters or fewer"})
    expired = is_expired(offer, now)
    if offer.status not in HOLDING_STATUSES:
        raise Conflict(f"This offer is '{status_label(offer, now).lower()}' and cannot be withdrawn")
    if offer.group_offer_id is not None:
        _withdraw_group(session, group_of(session, offer), reason, now)
        return offer
    _lock_referral_of(session, offer)
    was = offer.status
    move_offer(session, offer, offer.status, WITHDRAWN, decided_at=now, decision_reason=reason,
          decided_by_user_id=audit.current_actor(session).user_id)
    release_household_place(session, offer, was)
    _return_child_to_matching(session, offer, offer.home_id if expired else None,
                              f"Offer withdrawn by the RCC: {reason}")
    audit.record(session, AuditAction.MATCHING_OFFER_WITHDRAWN, offer, reason=reason, expired=expired)
    return offer


def _check_answerable(offer: Offer, now: datetime, declining: bool = False) -> None:
    if offer.status != SENT:
        raise Conflict(f"This offer has already been answered: it is '{status_label(offer, now).lower()}'")
    if is_expired(offer, now) and not declining:
        raise Conflict(f"The deadline to answer this offer passed at {aware(offer.respond_by):%H:%M on %d %B %Y}. "
                       "Ask the RCC placement team if the child still needs a home.")


def release_household_place(session: Session, offer: Offer, was: str) -> None:
    """An accepted offer to a foster household that does not go ahead gives its place back (the RCC's
    consequence of the decision, so it is written within the offer's RCC whoever decided)."""
    if offer.foster_household_id is None or was != PROVIDER_ACCEPTED:
        return
    session.flush()
    with within_rcc(session, offer.rcc_id):
        places.give_back_household_place(session, offer.foster_household_id)
        session.flush()


def _accepted_elsewhere(session: Session, offer: Offer) -> int:
    return session.scalar(select(func.count(Offer.id)).where(
        Offer.home_id == offer.home_id, Offer.status == PROVIDER_ACCEPTED, Offer.id != offer.id)) or 0


def move_offer(session: Session, offer: Offer, expected: str, new: str, **values: Any) -> None:
    """Change the offer's status only if it is still ``expected``: whoever gets there second loses."""
    transition(session, offer, "status", expected, new,
               lambda now_is: f"Someone else has just acted on this offer: it is now "
                              f"'{status_label(now_is).lower()}'. Nothing was saved.", **values)


def _lock_referral_of(session: Session, offer: Offer) -> None:
    # The referral is locked before the offer's row, as everywhere (see rcc.db.lock). A provider
    # may not read the referral; answering still moves the child, so this runs within the offer's RCC.
    with within_rcc(session, offer.rcc_id):
        lock_referral(session, offer.referral_id)


def _return_child_to_matching(session: Session, offer: Offer, excluded_home_id: int | None, reason: str) -> None:
    # A provider may not read the referral; moving the child back is the platform's consequence of
    # their answer, so it runs within the offer's RCC as its staff would, still recorded against the
    # provider's user. The audit row belongs to the provider's trail, so it is written after.
    session.flush()  # the provider's own changes, in the provider's scope
    with audit.held_until_after(session), within_rcc(session, offer.rcc_id):
        referral = session.get(Referral, offer.referral_id)
        if referral is None:
            raise NotFound()
        if referral.status != OFFERED:
            # The referral was closed meanwhile (the council withdrew it): the offer is released
            # and the referral stays as it is.
            return
        return_to_matching(session, referral, excluded_home_id, reason[:2000])
        session.flush()  # while the RCC's scope still lets the row be written


# Siblings offered together (one answer for the whole group) ----------------------------------

def make_group_offer(session: Session, referrals: list[Referral], homes: list[Home | FosterHousehold],
                     proposal_ids: list[int | None],
                     run_id: int | None, now: datetime | None = None) -> tuple[GroupOffer, list[Offer]]:
    """Offer siblings to one provider's home(s) as one offer, answered as a whole.

    Every child's referral is locked first (in id order), then each offer is made as for one child;
    the group's deadline is the shortest of its children's.
    """
    now = now or utcnow()
    order = sorted(range(len(referrals)), key=lambda i: int(referrals[i].id or 0))
    for i in order:
        lock_referral(session, int(referrals[i].id or 0))
    providers = {places.provider_of(h) for h in homes}
    groups = {r.sibling_group_id for r in referrals}
    if len(providers) != 1 or len(groups) != 1 or None in groups:
        raise Conflict("Only brothers and sisters offered to one provider can be offered together")
    respond_by = min(response_deadline(r.urgency, now) for r in referrals)
    first = referrals[order[0]]
    group = GroupOffer(rcc_id=first.rcc_id, council_id=first.council_id, provider_id=places.provider_of(homes[0]),
                       sibling_group_id=int(first.sibling_group_id or 0), run_id=run_id, answer=SENT, sent_at=now,
                       respond_by=respond_by)
    session.add(group)
    session.flush()
    made = []
    for i in order:
        offer = make_offer(session, referrals[i], homes[i], proposal_ids[i], now, tell_provider=False)
        offer.group_offer_id = group.id
        offer.group_answer = SENT
        offer.respond_by = respond_by
        session.add(offer)
        made.append(offer)
    session.flush()
    audit.record(session, AuditAction.MATCHING_GROUP_OFFER_SENT, group, offer_ids=[o.id for o in made],
                 home_ids=sorted({o.home_id for o in made if o.home_id is not None}),
                 foster_household_ids=sorted({o.foster_household_id for o in made if o.foster_household_id}),
                 respond_by=respond_by.isoformat())
    notices.group_offer_sent(session, group, made)
    return group, made


def group_of(session: Session, offer: Offer) -> GroupOffer:
    group = session.get(GroupOffer, offer.group_offer_id)
    if group is None:
        raise NotFound()
    return group


def group_members(session: Session, group: GroupOffer) -> list[Offer]:
    """The group's offers, in id order, read afresh."""
    return list(session.scalars(select(Offer).where(Offer.group_offer_id == group.id).order_by(Offer.id)
                                .execution_options(populate_existing=True)))


def _move_group(session: Session, group: GroupOffer, expected: str | tuple[str, ...], new: str,
                **values: Any) -> None:
    """The group's answer, once: of two answers at the same moment exactly one is kept."""
    transition(session, group, "answer", expected, new,
               lambda now_is: "Someone else has just answered this offer of brothers and sisters: it is now "
                              f"'{OFFER_STATUS_LABELS.get(now_is.answer, now_is.answer).lower()}'. Nothing was saved.",
               **values)
    for member in session.scalars(select(Offer).where(Offer.group_offer_id == group.id)):
        set_committed_value(member, "group_answer", new)  # the database copied it (ON UPDATE CASCADE)


def _lock_group(session: Session, group: GroupOffer) -> GroupOffer:
    """The group's row, locked first by everything that answers or withdraws it: whoever comes second
    waits here, before taking any other lock, then finds the group answered."""
    locked = lock(session, GroupOffer, GroupOffer.id == group.id)
    if locked is None:
        raise NotFound()
    return locked  # type: ignore[no-any-return]


def _check_group_answerable(group: GroupOffer, now: datetime, declining: bool = False) -> None:
    if group.answer != SENT:
        raise Conflict("This offer of brothers and sisters has already been answered: it is "
                       f"'{OFFER_STATUS_LABELS.get(group.answer, group.answer).lower()}'")
    if aware(group.respond_by) <= now and not declining:
        raise Conflict(f"The deadline to answer this offer passed at {aware(group.respond_by):%H:%M on %d %B %Y}. "
                       "Ask the RCC placement team if the children still need a home.")


def accept_group_offer(session: Session, group: GroupOffer, now: datetime | None = None) -> Offer:
    """The provider accepts every child of the group: one decision, one audit row, all or none."""
    now = now or utcnow()
    group = _lock_group(session, group)
    _check_group_answerable(group, now)
    members = group_members(session, group)
    waiting = [m for m in members if m.status == SENT]
    if not waiting:
        raise Conflict("None of the children in this offer is waiting for an answer any more")
    needed: dict[int, int] = {}
    households: dict[int, int] = {}
    for member in waiting:
        if member.foster_household_id is not None:
            households[member.foster_household_id] = households.get(member.foster_household_id, 0) + 1
        else:
            needed[int(member.home_id or 0)] = needed.get(int(member.home_id or 0), 0) + 1
    member_ids = [int(m.id or 0) for m in members]
    for household_id in sorted(households):
        places.lock_household(session, household_id)
        places.take_household_places(session, household_id, households[household_id])
    for home_id in sorted(needed):
        lock_vacancy(session, home_id)
        promised = session.scalar(select(func.count(Offer.id)).where(
            Offer.home_id == home_id, Offer.status == PROVIDER_ACCEPTED, col(Offer.id).not_in(member_ids))) or 0
        if free_places(session, home_id, now) - promised < needed[home_id]:
            raise Conflict(f"The home has fewer than {needed[home_id]} free places left for these brothers and "
                           "sisters: its places have been promised to other children. Decline this offer, or free "
                           "places on the home's vacancy first.")
    user_id = audit.current_actor(session).user_id
    _move_group(session, group, SENT, PROVIDER_ACCEPTED, answered_at=now, answered_by_user_id=user_id)
    for member in waiting:
        move_offer(session, member, SENT, PROVIDER_ACCEPTED, answered_at=now, answered_by_user_id=user_id)
    audit.record(session, AuditAction.MATCHING_GROUP_OFFER_ACCEPTED, group, offer_ids=[m.id for m in waiting])
    notices.group_offer_answered(session, group, waiting, "accepted")
    return waiting[0]


def decline_group_offer(session: Session, group: GroupOffer, reason_code: str, details: str,
                        now: datetime | None = None) -> Offer:
    """The provider declines every child of the group, with one reason; they all go back to matching."""
    now = now or utcnow()
    details = _check_decline(reason_code, details)
    group = _lock_group(session, group)
    _check_group_answerable(group, now, declining=True)
    members = group_members(session, group)
    waiting = [m for m in members if m.status == SENT]
    if not waiting:
        raise Conflict("None of the children in this offer is waiting for an answer any more")
    with within_rcc(session, group.rcc_id):
        for member in sorted(waiting, key=lambda m: m.referral_id):
            lock_referral(session, member.referral_id)
    user_id = audit.current_actor(session).user_id
    _move_group(session, group, SENT, DECLINED, answered_at=now, answered_by_user_id=user_id,
                decline_reason=reason_code, decline_details=details or None)
    reason = f"Provider declined: {DECLINE_REASONS[reason_code]}" + (f". {details}" if details else "")
    for member in waiting:
        move_offer(session, member, SENT, DECLINED, answered_at=now, decline_reason=reason_code,
                   decline_details=details or None, answered_by_user_id=user_id)
    for member in waiting:
        _return_child_to_matching(session, member, member.home_id, reason)
    audit.record(session, AuditAction.MATCHING_GROUP_OFFER_DECLINED, group, reason=reason_code,
                 offer_ids=[m.id for m in waiting])
    notices.group_offer_answered(session, group, waiting, "declined")
    return waiting[0]


def _withdraw_group(session: Session, group: GroupOffer, reason: str, now: datetime) -> None:
    """The RCC withdraws the whole group's offer: every child still holding a place goes back to matching."""
    group = _lock_group(session, group)
    members = [m for m in group_members(session, group) if m.status in HOLDING_STATUSES]
    with within_rcc(session, group.rcc_id):
        for member in sorted(members, key=lambda m: m.referral_id):
            lock_referral(session, member.referral_id)
    user_id = audit.current_actor(session).user_id
    for member in members:
        expired = is_expired(member, now)
        was = member.status
        move_offer(session, member, member.status, WITHDRAWN, decided_at=now, decision_reason=reason,
                   decided_by_user_id=user_id)
        release_household_place(session, member, was)
        _return_child_to_matching(session, member, member.home_id if expired else None,
                                  f"Offer withdrawn by the RCC: {reason}")
    if group.answer in (SENT, PROVIDER_ACCEPTED):
        _move_group(session, group, (SENT, PROVIDER_ACCEPTED), WITHDRAWN)
    audit.record(session, AuditAction.MATCHING_GROUP_OFFER_WITHDRAWN, group, reason=reason,
                 offer_ids=[m.id for m in members])


def group_profiles(session: Session, offer: Offer) -> list[AnonymisedProfile]:
    """Every child of the offer's group as the provider may see them (just this child for a single offer)."""
    if offer.group_offer_id is None:
        return [anonymised_profile(offer)]
    return [anonymised_profile(m) for m in session.scalars(
        select(Offer).where(Offer.group_offer_id == offer.group_offer_id).order_by(Offer.id))]


# Reading -------------------------------------------------------------------------------------

def get_offer(session: Session, offer_id: int) -> Offer:
    offer = session.get(Offer, offer_id)
    if offer is None:
        raise NotFound()
    return offer


def list_offers(session: Session, statuses: tuple[str, ...] | None = None, limit: int | None = 200) -> list[Offer]:
    query = select(Offer).order_by(col(Offer.sent_at).desc(), col(Offer.id).desc()).limit(limit)
    if statuses:
        query = query.where(col(Offer.status).in_(statuses))
    return list(session.scalars(query))


def places_of(session: Session, rows: list[Any]) -> dict[str, places.Place]:
    """Place key -> the home or household each offer, placement or proposal names, as the reader may see it."""
    return places.places_by_key(session, {row.place_key for row in rows})


def latest_for_referral(session: Session, referral_id: int) -> tuple[Proposal | None, Offer | None, Home | None]:
    """A referral's latest proposal and offer, and the home the offer (else the proposal) names."""
    proposal = session.scalars(select(Proposal).where(Proposal.referral_id == referral_id)
                               .order_by(col(Proposal.id).desc()).limit(1)).first()
    offer = session.scalars(select(Offer).where(Offer.referral_id == referral_id)
                            .order_by(col(Offer.id).desc()).limit(1)).first()
    home_id = offer.home_id if offer is not None else proposal.chosen_home_id or proposal.home_id if proposal else None
    return proposal, offer, session.get(Home, home_id) if home_id else None


def homes_by_id(session: Session, home_ids: set[int | None]) -> dict[int, Home]:
    home_ids = {i for i in home_ids if i is not None}
    if not home_ids:
        return {}
    return {int(h.id or 0): h for h in session.scalars(select(Home).where(col(Home.id).in_(home_ids)))}


def vacancy_of(session: Session, home_id: int) -> Vacancy | None:
    return session.scalars(select(Vacancy).where(Vacancy.home_id == home_id)).first()
