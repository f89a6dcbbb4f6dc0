"""Parent groups of providers: the RCC says which Ofsted legal entities belong to one group, so the
provider risk report counts them as one (a group registering its homes under several companies
would otherwise look like several small providers). A provider with no parent group is its own group.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cost_transparency.models import ProviderParentGroup
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import FieldErrors, NotFound
from rcc.models import Organisation
from rcc.tenancy import OrgKind

MAX_PARENT_NAME = 200


@dataclass(frozen=True)
class ParentLink:
    id: int
    provider_id: int
    provider_name: str
    parent_name: str


def parents_by_provider(session: Session, rcc_id: int) -> dict[int, str]:
    """Provider id -> its parent group's name, for the providers the RCC has linked."""
    return {provider_id: name for provider_id, name in session.execute(
        select(ProviderParentGroup.provider_id, ProviderParentGroup.parent_name)
        .where(ProviderParentGroup.rcc_id == rcc_id)).all()}


def links(session: Session, rcc_id: int) -> list[ParentLink]:
    """Every linked provider with its parent group, by group then provider name."""
    rows = session.execute(
        select(ProviderParentGroup.id, ProviderParentGroup.provider_id, Organisation.name,
               ProviderParentGroup.parent_name)
        .join(Organisation, Organisation.id == ProviderParentGroup.provider_id)
        .where(ProviderParentGroup.rcc_id == rcc_id)).all()
    found = [ParentLink(*row) for row in rows]
    return sorted(found, key=lambda link: (link.parent_name.casefold(), link.provider_name.casefold()))


def providers(session: Session, rcc_id: int) -> list[Organisation]:
    return list(session.scalars(select(Organisation).where(
        Organisation.rcc_id == rcc_id, Organisation.kind == OrgKind.PROVIDER).order_by(Organisation.name)))


def set_parent_group(session: Session, rcc_id: int, provider_id: int | None, parent_name: str | None) -> str:
    """Put a provider in a parent group (moving it from any other); the group's name as stored.

    A group is its name: typing a name already used puts the provider with the others of that name
    (spelled as first typed, whatever the capitals)."""
    name = " ".join((parent_name or "").split())
    errors: dict[str, str] = {}
    provider = session.get(Organisation, provider_id) if provider_id else None
    if provider is None or provider.kind != OrgKind.PROVIDER or provider.rcc_id != rcc_id:
        errors["provider_id"] = "Select one of the region's providers"
    if not name:
        errors["parent_name"] = "Enter the name of the parent group, like Acme Care Group"
    elif len(name) > MAX_PARENT_NAME:
        errors["parent_name"] = f"The parent group's name must be {MAX_PARENT_NAME} characters or fewer"
    if errors:
        raise FieldErrors(errors)
    assert provider is not None and provider.id is not None
    same = next((existing for existing in parents_by_provider(session, rcc_id).values()
                 if existing.casefold() == name.casefold()), None)
    name = same or name
    # One row per provider (a unique constraint): update it, else insert it; an insert racing another
    # for the same provider loses to the unique constraint and becomes the update.
    if not _update(session, provider.id, name):
        try:
            with session.begin_nested():
                session.add(ProviderParentGroup(rcc_id=rcc_id, provider_id=provider.id, parent_name=name))
        except IntegrityError:
            _update(session, provider.id, name)
    audit.record(session, AuditAction.PROVIDER_PARENT_GROUP_SET, provider, parent_group=name)
    return name


def _update(session: Session, provider_id: int, name: str) -> bool:
    changed = session.execute(update(ProviderParentGroup).where(ProviderParentGroup.provider_id == provider_id)
                              .values(parent_name=name).execution_options(synchronize_session=False))
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def remove_parent_group(session: Session, link_id: int) -> None:
    """The provider is its own group again (``link_id`` is its ``ProviderParentGroup`` row)."""
    link = session.get(ProviderParentGroup, link_id)
    provider = session.get(Organisation, link.provider_id) if link is not None else None
    removed = session.execute(delete(ProviderParentGroup).where(ProviderParentGroup.id == link_id)
                              .execution_options(synchronize_session=False))
    if provider is None or not removed.rowcount:  # type: ignore[attr-defined]
        raise NotFound()
    audit.record(session, AuditAction.PROVIDER_PARENT_GROUP_REMOVED, provider, provider_parent_group_id=link_id)
