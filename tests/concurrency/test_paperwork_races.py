"""Tender paperwork races (issue 18 item 4): awarding a tender twice at once awards it once, with one
set of award letters; two variations of one contract made at once from the same version save one
and refuse the other, never losing one silently."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from contracts.models import AwardLetter, BlockContract, ContractVariation, Tender
from contracts.services import evaluation, tenders, variations
from rcc.roles import Role
from tests.concurrency.harness import Attempt, Tally, race
from tests.contracts.helpers import (
    add_provider,
    bid_for,
    make_contract,
    make_home,
    moderate_all,
    published_tender,
)
from tests.factories import make_user


@pytest.fixture
def commissioners(setup_session, region):
    second = make_user(setup_session, region.rcc, Role.RCC_COMMISSIONER, "R-second-commissioner")
    setup_session.commit()
    return [region.people[Role.RCC_COMMISSIONER], second]


def _evaluated_tender(session, region, n):
    tender, lot = published_tender(session, region, reference=f"RACE-{n}")
    rival = add_provider(session, region, f"Rival {n}")
    cheap = bid_for(session, rival, lot, 450000, [make_home(session, rival, f"Elm {n}")])
    good = bid_for(session, region.provider, lot, 500000, [make_home(session, region.provider, f"Oak {n}")])
    later = tender.bids_close_at + timedelta(hours=1)
    tenders.start_evaluation(session, tender, later)
    moderate_all(session, lot, region.people[Role.RCC_COMMISSIONER].id, {cheap.id: [2, 2], good.id: [5, 4]}, later)
    evaluation.decide_lot_award(session, lot, good.id, "Highest total", later)
    return tender, later


def test_awarding_a_tender_twice_at_once_awards_it_once(app, setup_session, region, commissioners, tries):
    tally = Tally("award x award")
    made = [_evaluated_tender(setup_session, region, n) for n in range(min(tries, 10))]
    setup_session.commit()
    for tender, later in made:
        tally.add(race(app, [
            Attempt(person, lambda s, tid=tender.id: s.get(Tender, tid),
                    lambda s, t, when=later: evaluation.award_tender(s, t, when))
            for person in commissioners]))
    print("\n" + tally.report())
    assert tally.not_one_winner == 0, tally.report()
    assert set(tally.outcomes) <= {"won", "refused"}, tally.report()
    setup_session.expire_all()
    for tender, _later in made:
        letters = setup_session.scalar(select(func.count()).select_from(AwardLetter)
                                       .where(AwardLetter.tender_id == tender.id))
        assert letters == 2  # one per bid, written once


def test_two_variations_at_once_save_one_and_refuse_the_other(app, setup_session, region, commissioners, tries):
    tally = Tally("vary x vary")
    home = make_home(setup_session, region.provider, "Race home")
    contracts = [make_contract(setup_session, region, region.provider, [(home, 3)], date(2027, 1, 1),
                               date(2028, 12, 31), 450000, reference=f"RACE-{n}") for n in range(min(tries, 10))]
    setup_session.commit()
    for contract in contracts:
        tally.add(race(app, [
            Attempt(person, lambda s, cid=contract.id: s.get(BlockContract, cid),
                    lambda s, c, month=month: variations.vary_contract(
                        s, c, variations.Variation("price", date(2027, month, 1), f"Change {month}",
                                                   weekly_price=460000 + month), None, None,
                        tenders.aware(c.created_at)))
            for person, month in zip(commissioners, (5, 6), strict=True)]))
    print("\n" + tally.report())
    assert tally.not_one_winner == 0, tally.report()
    assert set(tally.outcomes) <= {"won", "refused"}, tally.report()
    setup_session.expire_all()
    for contract in contracts:
        saved = setup_session.scalar(select(func.count()).select_from(ContractVariation)
                                     .where(ContractVariation.contract_id == contract.id))
        assert saved == 1
