"""Varying a block contract: its price, the places at one of its homes, its term, or ending it.

Each change is dated (``effective_from``) and kept in ``block_contract_variation`` with what it
was and what it became, and audited. A change is made only against the version of the contract
the person saw: the contract's ``row_version`` moves on with a conditional UPDATE, so of two
variations made at the same moment one is saved and the other is refused (nothing is lost
silently). Lowering the places at a home below those children are using is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.models import BlockContract, ContractHome, ContractPrice, ContractVariation
from contracts.services.block_places import _occupied
from contracts.services.common import is_rcc
from contracts.services.contracts import price_history, weekly_price_on
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.numbers import pounds

KINDS = {"price": "Price", "places": "Places at a home", "term": "Term (end date)", "end": "Ended early"}


@dataclass
class Variation:
    kind: str
    effective_from: date | None
    reason: str
    weekly_price: int | None = None  # pence, for "price"
    home_id: int | None = None  # for "places"
    places: int | None = None  # for "places"
    end_date: date | None = None  # for "term"


def vary_contract(session: Session, contract: BlockContract, change: Variation, seen_version: int | None,
                  user_id: int | None, now: datetime) -> ContractVariation:
    if not is_rcc(session):
        raise NotFound()
    errors: dict[str, str] = {}
    if change.kind not in KINDS:
        raise FieldErrors({"kind": "Select what is changing"})
    if not change.reason.strip():
        errors["reason"] = "Enter why the contract is changing"
    elif len(change.reason) > 2000:
        errors["reason"] = "Reason must be 2,000 characters or fewer"
    day = change.effective_from
    if day is None:
        errors["effective_from"] = "Enter the date the change takes effect"
    elif not contract.start_date <= day <= contract.end_date:
        errors["effective_from"] = (f"The change must take effect while the contract runs, between "
                                    f"{contract.start_date:%-d %B %Y} and {contract.end_date:%-d %B %Y}")
    if errors:
        raise FieldErrors(errors)
    assert day is not None
    version = seen_version if seen_version is not None else contract.row_version
    values: dict[str, object] = {}
    changes: dict[str, int | str | None] = {}
    if change.kind == "price":
        if change.weekly_price is None or change.weekly_price <= 0:
            raise FieldErrors({"weekly_price": "Enter the new weekly price per place in pounds, more than £0"})
        history = price_history(session, contract)
        if any(p.effective_from == day for p in history):
            raise FieldErrors({"effective_from": "The price already changes on that date; choose another date"})
        changes = {"from": weekly_price_on(contract, history, day), "to": change.weekly_price}
    elif change.kind == "places":
        row = session.scalars(select(ContractHome).where(ContractHome.contract_id == contract.id,
                                                         ContractHome.home_id == change.home_id)).first()
        if row is None:
            raise FieldErrors({"home_id": "Select one of the contract's homes"})
        if change.places is None or not 0 <= change.places <= 500:
            raise FieldErrors({"places": "Enter the number of places as a whole number from 0 to 500"})
        in_use = max(_occupied(session, [contract], on)[(contract.id or 0, row.home_id)]
                     for on in {day, max(day, now.date())})
        if change.places < in_use:
            raise FieldErrors({"places": f"Children are using {in_use} of the places at this home; the places "
                                         f"cannot be fewer than {in_use}"})
        changes = {"home_id": row.home_id, "from": row.reserved_places, "to": change.places}
    elif change.kind == "term":
        if change.end_date is None or change.end_date <= contract.start_date:
            raise FieldErrors({"end_date": "Enter the new end date, after the contract starts"})
        changes = {"from": contract.end_date.isoformat(), "to": change.end_date.isoformat()}
        values["end_date"] = change.end_date
    else:  # end
        changes = {"from": contract.end_date.isoformat(), "to": day.isoformat()}
        values["end_date"] = day
    # The conditional UPDATE: only the version the person saw moves on, so a second change made at
    # the same moment from the same version matches nothing and is refused.
    moved = session.execute(update(BlockContract).where(BlockContract.id == contract.id,
                                                        BlockContract.row_version == version)
                            .values(row_version=BlockContract.row_version + 1, **values)
                            .execution_options(synchronize_session=False))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("Someone else changed this contract while you were varying it. Nothing was saved: check "
                       "the contract as it is now and try again.")
    session.refresh(contract)
    owner = {"rcc_id": contract.rcc_id, "provider_id": contract.provider_id, "contract_id": contract.id or 0}
    if change.kind == "price":
        session.add(ContractPrice(**owner, effective_from=day, weekly_price=change.weekly_price or 0,
                                  reason="variation"))
    elif change.kind == "places":
        session.execute(update(ContractHome).where(ContractHome.contract_id == contract.id,
                                                   ContractHome.home_id == change.home_id)
                        .values(reserved_places=change.places).execution_options(synchronize_session="fetch"))
    sequence = (session.scalar(select(func.max(ContractVariation.sequence))
                               .where(ContractVariation.contract_id == contract.id)) or 0) + 1
    variation = ContractVariation(**owner, sequence=sequence, kind=change.kind, effective_from=day, changes=changes,
                                  reason=change.reason.strip(), recorded_by_user_id=user_id, recorded_at=now)
    try:
        with session.begin_nested():
            session.add(variation)
            session.flush()
    except IntegrityError as clash:
        raise Conflict("Someone else varied this contract at the same moment. Nothing was saved: try again.") from clash
    audit.record(session, AuditAction.CONTRACT_VARIED, contract, kind=change.kind, effective_from=day,
                 changes=changes, reason=variation.reason, sequence=sequence)
    return variation


def variations_of(session: Session, contract: BlockContract) -> list[ContractVariation]:
    return list(session.scalars(select(ContractVariation).where(ContractVariation.contract_id == contract.id)
                                .order_by(ContractVariation.sequence)))


def describe(variation: ContractVariation) -> str:
    before, after = variation.changes.get("from"), variation.changes.get("to")
    if variation.kind == "price":
        return f"Price per place per week from {pounds(int(before or 0))} to {pounds(int(after or 0))}"
    if variation.kind == "places":
        return f"Places from {before} to {after}"
    if variation.kind == "term":
        return f"End date from {before} to {after}"
    return f"Contract ended on {after} (was to end on {before})"
