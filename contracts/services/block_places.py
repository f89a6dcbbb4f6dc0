"""The seam with matching: free block-contract places by home, which the engine prefers
because they are already paid for."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Placement
from contracts.models import BlockContract, ContractHome
from contracts.services.contracts import price_history, weekly_price_on
from rcc.tenancy import within_rcc


@dataclass(frozen=True)
class BlockPlaces:
    home_id: int
    contract_id: int
    free_places: int        # reserved places at this home not occupied on the date
    weekly_price: int       # pence per place per week, current price (uplifts applied)


def free_block_places(session: Session, on_date: date) -> dict[int, BlockPlaces]:
    """Free block-contract places by home id, for contracts live on ``on_date``, in the session's scope.

    A home under more than one live contract is offered under the one with the most free places
    (then the cheaper, then the older), since matching places one child per home at a time.
    """
    contracts = {c.id: c for c in session.scalars(select(BlockContract).where(
        BlockContract.start_date <= on_date, BlockContract.end_date >= on_date))}
    if not contracts:
        return {}
    reserved = list(session.scalars(select(ContractHome).where(col(ContractHome.contract_id).in_(contracts))))
    occupied = _occupied(session, list(contracts.values()), on_date)
    found: dict[int, BlockPlaces] = {}
    for row in sorted(reserved, key=lambda r: (r.contract_id, r.home_id)):
        contract = contracts[row.contract_id]
        free = row.reserved_places - occupied[(row.contract_id, row.home_id)]
        if free <= 0:
            continue
        offer = BlockPlaces(row.home_id, contract.id, free,
                            weekly_price_on(contract, price_history(session, contract), on_date))
        current = found.get(row.home_id)
        if current is None or (-offer.free_places, offer.weekly_price) < (-current.free_places, current.weekly_price):
            found[row.home_id] = offer
    return found


def _occupied(session: Session, contracts: list[BlockContract], on_date: date) -> Counter[tuple[int, int]]:
    """Block placements live on the date, by (contract, home).

    Counted as the contract's RCC would: a council's scope shows only its own children's placements,
    and another council's child in a block place still fills it. Only counts leave here.
    """
    rows: list[Any] = []
    for rcc_id in sorted({c.rcc_id for c in contracts}):
        with within_rcc(session, rcc_id):
            rows += session.execute(select(Placement.block_contract_id, Placement.home_id).where(
                Placement.funding == "block",
                col(Placement.block_contract_id).in_([c.id for c in contracts if c.rcc_id == rcc_id]),
                Placement.start_date <= on_date,
                col(Placement.end_date).is_(None) | (col(Placement.end_date) > on_date))).all()
    return Counter((contract_id, home_id) for contract_id, home_id in rows)
