"""Sibling groups: a council links its referrals for brothers and sisters, and records their
care plan: together, together if possible, or apart (with the reason, which apart requires)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning import lifecycle
from commissioning.lifecycle import DRAFT, IN_MATCHING, SUBMITTED
from commissioning.models import Referral, SiblingGroup
from commissioning.vocabulary import SIBLING_PLANS
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import Organisation
from rcc.versions import save_edit

# Membership can change only before a home has been offered for any of them.
CHANGEABLE_STATUSES = (DRAFT, SUBMITTED, IN_MATCHING)
MAX_NAME = 80
MAX_REASON = 2000


def check_group(name: str, plan: str, plan_reason: str | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not (name or "").strip():
        errors["name"] = "Enter a name for the sibling group, like 'Family A'"
    elif len(name.strip()) > MAX_NAME:
        errors["name"] = f"The name must be {MAX_NAME} characters or fewer"
    if plan not in SIBLING_PLANS:
        errors["plan"] = "Choose the plan: together, together if possible, or apart"
    elif plan == "apart" and not (plan_reason or "").strip():
        errors["plan_reason"] = "Say why the plan is to place the brothers and sisters apart"
    if len(plan_reason or "") > MAX_REASON:
        errors["plan_reason"] = f"The reason must be {MAX_REASON:,} characters or fewer"
    return errors


def _reason(plan_reason: str | None) -> str | None:
    return (plan_reason or "").strip() or None


def create_sibling_group(session: Session, council: Organisation, name: str, plan: str,
                         plan_reason: str | None = None) -> SiblingGroup:
    errors = check_group(name, plan, plan_reason)
    if errors:
        raise FieldErrors(errors)
    group = SiblingGroup(rcc_id=council.rcc_id, council_id=council.id, name=name.strip(), plan=plan,
                         plan_reason=_reason(plan_reason))
    session.add(group)
    audit.record(session, AuditAction.SIBLING_GROUP_CREATED, group, plan=plan)
    return group


def update_sibling_group(session: Session, group: SiblingGroup, name: str, plan: str,
                         plan_reason: str | None = None, seen_version: int | None = None) -> SiblingGroup:
    errors = check_group(name, plan, plan_reason)
    if errors:
        raise FieldErrors(errors)
    _refuse_if_any_offered(session, group, "change the plan for")
    group.name = name.strip()
    group.plan = plan
    group.plan_reason = _reason(plan_reason)
    save_edit(session, "sibling group", seen_version, group)
    audit.record(session, AuditAction.SIBLING_GROUP_UPDATED, group, plan=plan)
    return group


def add_to_group(session: Session, group: SiblingGroup, referral: Referral) -> Referral:
    if referral.council_id != group.council_id:
        raise NotFound()  # another council's referral: as if it did not exist
    if referral.sibling_group_id == group.id:
        return referral
    if referral.sibling_group_id is not None:
        raise Conflict("This child is already in another sibling group; remove them from it first")
    _refuse_unless_changeable(referral, "added to")
    _refuse_if_any_offered(session, group, "add a child to")
    referral.sibling_group_id = group.id
    session.add(referral)
    audit.record(session, AuditAction.SIBLING_GROUP_REFERRAL_ADDED, group, referral_id=referral.id)
    return referral


def remove_from_group(session: Session, group: SiblingGroup, referral: Referral) -> Referral:
    if referral.sibling_group_id != group.id:
        raise NotFound()
    _refuse_unless_changeable(referral, "removed from")
    referral.sibling_group_id = None
    session.add(referral)
    audit.record(session, AuditAction.SIBLING_GROUP_REFERRAL_REMOVED, group, referral_id=referral.id)
    return referral


def delete_sibling_group(session: Session, group: SiblingGroup) -> None:
    if members(session, group):
        raise Conflict("Remove every child from the group before you delete it")
    audit.record(session, AuditAction.SIBLING_GROUP_DELETED, group, name=group.name)
    session.delete(group)


def members(session: Session, group: SiblingGroup) -> list[Referral]:
    return list(session.scalars(select(Referral).where(Referral.sibling_group_id == group.id)
                                .order_by(Referral.id)))


def member_counts(session: Session) -> dict[int, int]:
    """Sibling group id -> how many referrals it links, for every group the session may see."""
    rows = session.execute(select(Referral.sibling_group_id, func.count(Referral.id))
                           .where(col(Referral.sibling_group_id).is_not(None)).group_by(Referral.sibling_group_id))
    return {group_id: count for group_id, count in rows}


def _refuse_unless_changeable(referral: Referral, verb: str) -> None:
    if referral.status not in CHANGEABLE_STATUSES:
        raise Conflict(f"A child whose referral is '{lifecycle.label(referral.status)}' cannot be {verb} "
                       "a sibling group")


def _refuse_if_any_offered(session: Session, group: SiblingGroup, verb: str) -> None:
    if any(r.status not in CHANGEABLE_STATUSES and r.status != lifecycle.WITHDRAWN
           for r in members(session, group)):
        raise Conflict(f"You cannot {verb} this group now: a home has already been offered for one of the "
                       "children")
