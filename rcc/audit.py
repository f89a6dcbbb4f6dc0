"""The audit trail: one row per change or read of a record, in the change's own transaction.

Services call ``record``; they never commit on their own, so the audit row and the
change it describes are committed, or rolled back, together.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from rcc.models import AuditEvent, utcnow


class AuditAction(StrEnum):
    """Every action the trail records: one closed vocabulary, capabilities' actions included.

    ``record`` refuses anything else, so a trail can be searched for an action knowing the
    list is complete. A capability that needs a new action adds its member here.
    """

    API_TOKEN_CREATED = "api_token.created"
    API_TOKEN_REVOKED = "api_token.revoked"

    BID_SUBMITTED = "bid.submitted"
    BID_UPDATED = "bid.updated"
    BID_WITHDRAWN = "bid.withdrawn"

    CLARIFICATION_ANSWERED = "clarification.answered"
    CLARIFICATION_ASKED = "clarification.asked"
    CLARIFICATION_PUBLISHED = "clarification.published"

    CONTRACT_CREATED = "contract.created"
    CONTRACT_UPLIFT_APPLIED = "contract.uplift_applied"

    COST_RECORD_CREATED = "cost_record.created"
    COST_RECORD_FORM_OPENED = "cost_record.form_opened"
    COST_RECORD_LISTED = "cost_record.listed"
    COST_RECORD_UPDATED = "cost_record.updated"
    COST_RECORD_VIEWED = "cost_record.viewed"

    COST_SETTINGS_UPDATED = "cost_settings.updated"

    EVALUATION_AWARD_DECIDED = "evaluation.award_decided"
    EVALUATION_MODERATED = "evaluation.moderated"
    EVALUATION_SCORED = "evaluation.scored"

    HIGH_COST_REVIEW_FLAGGED = "high_cost_review.flagged"
    HIGH_COST_REVIEW_LISTED = "high_cost_review.listed"
    HIGH_COST_REVIEW_REMINDED = "high_cost_review.reminded"
    HIGH_COST_REVIEW_REVIEWED = "high_cost_review.reviewed"
    HIGH_COST_REVIEW_VIEWED = "high_cost_review.viewed"

    FOSTER_HOUSEHOLD_CREATED = "foster_household.created"
    FOSTER_HOUSEHOLD_UPDATED = "foster_household.updated"

    HOME_CREATED = "home.created"
    HOME_RATING_SET = "home.rating_set"
    HOME_INADEQUATE_OVERRIDE_SET = "home.inadequate_override_set"
    HOME_UPDATED = "home.updated"

    MATCHING_GROUP_OFFER_ACCEPTED = "matching.group_offer.accepted"
    MATCHING_GROUP_OFFER_DECLINED = "matching.group_offer.declined"
    MATCHING_GROUP_OFFER_SENT = "matching.group_offer.sent"
    MATCHING_GROUP_OFFER_WITHDRAWN = "matching.group_offer.withdrawn"
    IN_HOUSE_PREFERENCE_SET = "in_house_preference.set"

    MATCHING_OFFER_ACCEPTED = "matching.offer.accepted"
    MATCHING_OFFER_APPROVED = "matching.offer.approved"
    MATCHING_OFFER_DECLINED = "matching.offer.declined"
    MATCHING_OFFER_EXPIRED = "matching.offer.expired"
    MATCHING_OFFER_REJECTED = "matching.offer.rejected"
    MATCHING_OFFER_SENT = "matching.offer.sent"
    MATCHING_OFFER_WITHDRAWN = "matching.offer.withdrawn"
    MATCHING_OFFER_LISTED = "matching.offer.listed"
    MATCHING_OFFER_VIEWED = "matching.offer.viewed"
    MATCHING_POLICY_SAVED = "matching.policy.saved"
    MATCHING_PROPOSAL_ACCEPTED = "matching.proposal.accepted"
    MATCHING_PROPOSALS_BULK_ACCEPTED = "matching.proposal.bulk_accepted"
    MATCHING_PROPOSAL_ALTERNATIVE_CHOSEN = "matching.proposal.alternative_chosen"
    MATCHING_PROPOSAL_LEFT_UNMATCHED = "matching.proposal.left_unmatched"
    MATCHING_PROPOSAL_LISTED = "matching.proposal.listed"
    MATCHING_PROPOSAL_VIEWED = "matching.proposal.viewed"
    MATCHING_RUN_FAILED = "matching.run.failed"
    MATCHING_RUN_CANCELLED = "matching.run.cancelled"
    MATCHING_RUN_FINISHED = "matching.run.finished"
    MATCHING_RUN_REPEATED = "matching.run.repeated"
    MATCHING_RUN_STARTED = "matching.run.started"
    MATCHING_RUN_VIEWED = "matching.run.viewed"
    MATCHING_RUN_FORM_OPENED = "matching.run.form_opened"

    ORGANISATION_CREATED = "organisation.created"

    PLACEMENT_ENDED = "placement.ended"
    PLACEMENT_STARTED = "placement.started"
    PLACEMENT_LISTED = "placement.listed"
    PLACEMENT_VIEWED = "placement.viewed"

    PUBLICATION_APPROVED = "publication.approved"
    PUBLICATION_CORRECTION_DRAFTED = "publication.correction_drafted"
    PUBLICATION_DELETED = "publication.deleted"
    PUBLICATION_DRAFTED = "publication.drafted"
    PUBLICATION_PUBLISHED = "publication.published"
    PUBLICATION_REBUILT = "publication.rebuilt"

    RATINGS_RECORDED = "ratings.recorded"

    REFERRAL_CREATED = "referral.created"
    REFERRAL_UPDATED = "referral.updated"
    REFERRAL_UPLOADED = "referral.uploaded"
    REFERRAL_UPLOAD_REFUSED = "referral.upload_refused"
    REFERRAL_UPLOAD_STARTED = "referral.upload_started"
    SSDA903_IMPORT_STARTED = "ssda903.import_started"
    SSDA903_IMPORTED = "ssda903.imported"
    SSDA903_IMPORT_REFUSED = "ssda903.import_refused"
    SSDA903_EXPORTED = "ssda903.exported"
    REFERRAL_VIEWED = "referral.viewed"
    REFERRAL_LISTED = "referral.listed"
    REFERRAL_EXPORTED = "referral.exported"
    REFERRALS_IMPORTED_FROM_STANDARD = "referral.imported_from_standard"
    SSD_EXTRACT_IMPORTED = "referral.ssd_extract_imported"
    SSD_EXTRACT_READ = "referral.ssd_extract_read"
    REFERRAL_FORM_OPENED = "referral.form_opened"
    REFERRAL_SUBMITTED = "referral.submitted"
    REFERRAL_IN_MATCHING = "referral.in_matching"
    REFERRAL_OFFERED = "referral.offered"
    REFERRAL_PROPOSAL_APPROVED = "referral.proposal_approved"
    REFERRAL_WITHDRAWN = "referral.withdrawn"
    REFERRAL_PLACED = "referral.placed"
    REFERRAL_ENDED = "referral.ended"
    REFERRAL_ESCALATED = "referral.escalated"

    SIBLING_GROUP_CREATED = "sibling_group.created"
    SIBLING_GROUP_DELETED = "sibling_group.deleted"
    SIBLING_GROUP_REFERRAL_ADDED = "sibling_group.referral_added"
    SIBLING_GROUP_REFERRAL_REMOVED = "sibling_group.referral_removed"
    SIBLING_GROUP_UPDATED = "sibling_group.updated"
    SIBLING_GROUP_LISTED = "sibling_group.listed"
    SIBLING_GROUP_VIEWED = "sibling_group.viewed"

    SUPPLY_OFSTED_IMPORTED = "supply.ofsted_imported"

    TENDER_AWARDED = "tender.awarded"
    TENDER_BIDS_CLOSED = "tender.bids_closed"
    TENDER_CANCELLED = "tender.cancelled"
    TENDER_CREATED = "tender.created"
    TENDER_DEADLINE_REMINDED = "tender.deadline_reminded"
    TENDER_EVALUATION_STARTED = "tender.evaluation_started"
    TENDER_LOT_ADDED = "tender.lot_added"
    TENDER_LOT_REMOVED = "tender.lot_removed"
    TENDER_PUBLISHED = "tender.published"
    TENDER_UPDATED = "tender.updated"

    USER_CREATED = "user.created"
    USER_DEACTIVATED = "user.deactivated"
    USER_INVITE_ACCEPTED = "user.invite_accepted"
    USER_INVITED = "user.invited"
    USER_LOCKED = "user.locked"
    USER_REACTIVATED = "user.reactivated"
    USER_SIGN_IN_FAILED = "user.sign_in_failed"
    USER_SIGNED_IN = "user.signed_in"
    USER_SIGNED_OUT = "user.signed_out"
    USER_SESSION_REVOKED = "user_session.revoked"
    USER_TWO_FACTOR_RESET = "user.two_factor_reset"
    USER_TWO_FACTOR_SET_UP = "user.two_factor_set_up"
    USER_UNLOCKED = "user.unlocked"

    VACANCY_CHASED = "vacancy.chased"
    VACANCY_CONFIRMED = "vacancy.confirmed"
    VACANCY_UPDATED = "vacancy.updated"

    # branch ops: the retention policy's purge of children's identifiable details (docs/retention.md)
    RETENTION_PURGED = "retention.purged"
    # branch whatif (issue 17): what-if market shaping replays
    WHATIF_RUN_STARTED = "whatif_run.started"
    WHATIF_RUN_FINISHED = "whatif_run.finished"
    WHATIF_RUN_FAILED = "whatif_run.failed"
    # Referral packs and expressions of interest (branch eoi).
    REFERRAL_PACK_CREATED = "referral_pack.created"
    REFERRAL_PACK_RELEASED = "referral_pack.released"
    REFERRAL_PACK_VIEWED = "referral_pack.viewed"
    REFERRAL_DOCUMENT_ATTACHED = "referral_document.attached"
    REFERRAL_DOCUMENT_DOWNLOADED = "referral_document.downloaded"
    EXPRESSION_OF_INTEREST_ANSWERED = "expression_of_interest.answered"
    EXPRESSION_OF_INTEREST_LISTED = "expression_of_interest.listed"
    EXPRESSION_OF_INTEREST_VIEWED = "expression_of_interest.viewed"
    # branch onboard: onboarding a region (issue 18 item 3)
    ORGANISATION_ADMIN_INVITED = "organisation.admin_invited"
    PROVIDER_JOIN_REQUESTED = "provider_join_request.created"
    PROVIDER_JOIN_APPROVED = "provider_join_request.approved"
    PROVIDER_JOIN_REFUSED = "provider_join_request.refused"
    USER_PASSWORD_RESET_REQUESTED = "user.password_reset_requested"
    USER_PASSWORD_RESET = "user.password_reset"
    USER_PASSWORD_CHANGED = "user.password_changed"
    USER_TWO_FACTOR_REENROLLED = "user.two_factor_reenrolled"
    # branch tender (issue 18 item 4): tender paperwork, contract variations, placement agreements
    TENDER_SETTINGS_UPDATED = "tender.settings_updated"
    TENDER_DOCUMENT_UPLOADED = "tender.document_uploaded"
    TENDER_DOCUMENT_DOWNLOADED = "tender.document_downloaded"
    TENDER_LOT_UPDATED = "tender.lot_updated"
    AWARD_LETTER_SENT = "tender.award_letter_sent"
    AWARD_LETTER_VIEWED = "tender.award_letter_viewed"
    CONTRACT_VARIED = "contract.varied"
    PLACEMENT_AGREEMENT_MADE = "placement_agreement.made"
    PLACEMENT_AGREEMENT_DOWNLOADED = "placement_agreement.downloaded"
    PLACEMENT_AGREEMENT_VIEWED = "placement_agreement.viewed"
    # Branch i19b (issue 19 items 11-13)
    MATCHING_NEXT_HOME_OFFERED = "matching.offer.next_home_offered"
    PROVIDER_PARENT_GROUP_SET = "provider_parent_group.set"
    PROVIDER_PARENT_GROUP_REMOVED = "provider_parent_group.removed"


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an API client, or the platform itself."""

    user_id: int | None
    organisation_id: int | None
    rcc_id: int | None
    request_id: str | None = None

    @classmethod
    def platform(cls, request_id: str | None = None) -> Actor:
        return cls(None, None, None, request_id)


def on_behalf_of_account(session: Session, organisation_id: int, rcc_id: int) -> Actor:
    """An unidentified person acting on an organisation's account, e.g. failing to sign in to it."""
    return Actor(None, organisation_id, rcc_id, current_actor(session).request_id)


def set_actor(session: Session, actor: Actor) -> None:
    session.info["actor"] = actor


def current_actor(session: Session) -> Actor:
    return session.info.get("actor") or Actor.platform()


def record(session: Session, action: AuditAction, target: Any, actor: Actor | None = None,
           **detail: Any) -> AuditEvent:
    """Add an audit row for ``action`` on ``target`` (a model instance) to the session.

    ``action`` must be a member of ``AuditAction``; a bare string, even one spelled like a
    member, is refused so that every call site names the vocabulary.

    ``actor`` overrides the session's actor, for events that belong to an organisation's
    trail although no one from it acted (a stranger's failed sign-in to one of its accounts).
    """
    if not isinstance(action, AuditAction):
        raise TypeError(f"Audit action {action!r} is not an AuditAction member")
    session.flush()  # so a new target has its id
    actor = actor or current_actor(session)
    event = AuditEvent(
        rcc_id=actor.rcc_id,
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        action=action.value,
        object_type=type(target).__tablename__,
        object_id=str(target.id) if target.id is not None else None,
        request_id=actor.request_id,
        subject_organisation_id=getattr(target, "council_id", None),
        detail={key: _plain(value) for key, value in detail.items()},
    )
    held = session.info.get(_HELD)
    if held is not None:
        held.append(event)
    else:
        session.add(event)
    return event


def record_read(session: Session, action: AuditAction, records: Sequence[Any],
                referral_of: Callable[[Any], int | None] | None = None, **detail: Any) -> int:
    """Audit one read of ``records`` (model instances of one kind): a page, a list, an export, a form.

    Names what was read: the count, the records' ids and the referrals they belong to. One row
    per council whose children were read (one for a council reading its own), so each council's
    trail shows the reads of its children and no other council's ids; all rows go to the database
    in one INSERT, whatever the number of records. Gives the number of rows written.
    ``referral_of`` gives a record's referral where the record does not carry it itself (a cost
    record or a high-cost review belongs to a placement, which belongs to a referral).
    """
    referral = referral_of or _referral_of
    if not isinstance(action, AuditAction):
        raise TypeError(f"Audit action {action!r} is not an AuditAction member")
    kinds = {type(r).__tablename__ for r in records}
    if len(kinds) > 1:
        raise ValueError(f"record_read takes records of one kind, not {sorted(kinds)}")
    object_type = kinds.pop() if kinds else action.value.rsplit(".", 1)[0]
    by_council: dict[int | None, list[Any]] = {}
    for found in records:
        by_council.setdefault(getattr(found, "council_id", None), []).append(found)
    actor = current_actor(session)
    now = utcnow()
    events = []
    for council_id, rows in (by_council or {None: []}).items():
        ids = sorted(int(r.id) for r in rows)
        events.append({
            "occurred_at": now, "rcc_id": actor.rcc_id, "organisation_id": actor.organisation_id,
            "user_id": actor.user_id, "action": action.value, "object_type": object_type,
            "object_id": str(ids[0]) if len(ids) == 1 else None, "request_id": actor.request_id,
            "subject_organisation_id": council_id, "record_ids": f",{','.join(map(str, ids))}," if ids else None,
            "detail": {"count": len(ids), "ids": ids,
                       "referral_ids": sorted({ref for r in rows if (ref := referral(r)) is not None}),
                       **{key: _plain(value) for key, value in detail.items()}}})
    # A multi-row INSERT of its own: the unit of work would send one statement a row.
    session.execute(insert(AuditEvent).values(events))
    return len(events)


def _referral_of(found: Any) -> int | None:
    if type(found).__tablename__ == "referral":
        return int(found.id)
    return getattr(found, "referral_id", None)
_HELD = "audit_rows_held"


@contextlib.contextmanager
def held_until_after(session: Session) -> Iterator[None]:
    """Audit rows recorded inside are added to the session only when the block ends: for work done
    in a wider scope on an actor's behalf, whose rows belong in the actor's own trail."""
    held: list[AuditEvent] = []
    session.info[_HELD] = held
    try:
        yield
    finally:
        session.info.pop(_HELD, None)
    session.add_all(held)


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
