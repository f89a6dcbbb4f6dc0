from datetime import date
from decimal import Decimal

import pytest

from contracts.services import contracts, utilisation
from contracts.services.block_places import BlockPlaces, free_block_places
from rcc.errors import FieldErrors
from tests.contracts.helpers import acting_as, make_contract, make_home, make_placement
from tests.factories import make_region


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "T", ("Coventry", "Warwickshire"))


@pytest.fixture
def contract_world(setup_session, region):
    """Two places at Oak House from 15 March 2026 at £700 a week (£100 a day), uplift 10 % a year."""
    s = setup_session
    oak = make_home(s, region.provider, "Oak House")
    contract = make_contract(s, region, region.provider, [(oak, 2)], date(2026, 3, 15), date(2028, 3, 14), 70000,
                             uplift_bp=1000)
    # In the block: one child from 20 March 2026 onwards, one from 15 to 24 March (left on the 25th).
    make_placement(s, region, oak, date(2026, 3, 20), None, contract_id=contract.id, reference="long")
    make_placement(s, region, oak, date(2026, 3, 15), date(2026, 3, 25), contract_id=contract.id, reference="short")
    # Not in the block: a spot placement in the same home.
    make_placement(s, region, oak, date(2026, 3, 1), None, funding="spot", reference="spot")
    s.flush()
    return oak, contract


def test_a_month_starting_mid_month_matches_hand_arithmetic(setup_session, contract_world):
    _oak, contract = contract_world
    march = utilisation.contract_utilisation(setup_session, contract, date(2026, 3, 31))
    assert len(march) == 1
    month = march[0]
    # 15–31 March: 17 days × 2 places = 34 place-days.
    # Occupied: "long" 20–31 March = 12, "short" 15–24 March = 10, so 22; void 12.
    # Paid 34 × £100 = £3,400; void 12 × £100 = £1,200; utilisation 22 ÷ 34 = 64.7 %.
    assert (month.contract_days, month.reserved_place_days, month.occupied_place_days, month.void_place_days) == \
        (17, 34, 22, 12)
    assert (month.paid_cost, month.void_cost) == (340000, 120000)
    assert month.utilisation == Decimal("64.7")


def test_a_month_with_the_anniversary_uplift_matches_hand_arithmetic(setup_session, contract_world):
    _oak, contract = contract_world
    months = utilisation.contract_utilisation(setup_session, contract, date(2027, 3, 31))
    month = months[-1]
    assert month.month == date(2027, 3, 1)
    # 1–14 March at £100 a day; from the anniversary on 15 March, £770 a week = £110 a day for 17 days.
    # Paid 2 × (14 × £100 + 17 × £110) = £6,540. Only "long" is still there, so 31 of 62 place-days
    # are void: 14 × £100 + 17 × £110 = £3,270.
    assert (month.reserved_place_days, month.occupied_place_days, month.void_place_days) == (62, 31, 31)
    assert (month.paid_cost, month.void_cost) == (654000, 327000)
    assert month.utilisation == Decimal("50.0")


def test_uplifts_compound_on_each_anniversary_and_are_kept_in_the_history(setup_session, contract_world):
    _oak, contract = contract_world
    added = contracts.apply_due_uplifts(setup_session, contract, date(2028, 1, 1))
    assert [(p.effective_from, p.weekly_price) for p in added] == [(date(2027, 3, 15), 77000)]
    history = contracts.price_history(setup_session, contract)
    assert [(p.effective_from, p.weekly_price, p.reason) for p in history] == [
        (date(2026, 3, 15), 70000, "start"), (date(2027, 3, 15), 77000, "uplift")]
    assert contracts.apply_due_uplifts(setup_session, contract, date(2028, 1, 1)) == []
    # A third year would compound: 77,000 × 1.1 = 84,700.
    longer = contracts.price_schedule(contract, history, date(2028, 3, 14))
    assert longer[-1] == (date(2027, 3, 15), 77000)
    contract.end_date = date(2029, 3, 14)
    assert contracts.weekly_price_on(contract, history, date(2028, 3, 15)) == 84700


def test_cost_shares_must_add_up_to_100_percent(setup_session, region):
    oak = make_home(setup_session, region.provider, "Oak House")
    details = contracts.ContractDetails("BC-9", "Block", region.provider.id, "childrens_home", date(2026, 1, 1),
                                        date(2027, 1, 1), 70000, 0, {oak.id: 1},
                                        {region.councils[0].id: 5000, region.councils[1].id: 4000})
    with pytest.raises(FieldErrors) as refused:
        contracts.create_contract(setup_session, region.rcc.id, details, None)
    assert refused.value.errors["cost_shares"] == ("Councils' shares of the cost must add up to 100%; "
                                                   "they add up to 90%")


def test_free_block_places_counts_every_councils_children(setup_session, region, contract_world):
    oak, contract = contract_world
    s = setup_session
    elm = make_home(s, region.provider, "Elm House")
    second = make_contract(s, region, region.provider, [(elm, 1)], date(2026, 1, 1), date(2027, 12, 31), 65000,
                           reference="BC-2")
    make_placement(s, region, elm, date(2026, 2, 1), date(2026, 4, 1), contract_id=second.id,
                   council=region.councils[1], reference="other-council")
    s.flush()
    # On 22 March 2026 both Oak children are there (2 of 2), and Elm's 1 place is taken by the other council's child.
    with acting_as(s, region.councils[0]):
        assert free_block_places(s, date(2026, 3, 22)) == {}
        # On 1 April 2026 "short" has left Oak, and the Elm child left that day.
        assert free_block_places(s, date(2026, 4, 1)) == {
            oak.id: BlockPlaces(oak.id, contract.id, 1, 70000),
            elm.id: BlockPlaces(elm.id, second.id, 1, 65000)}
    # After the anniversary the price includes the uplift; after a contract ends its places are gone.
    with acting_as(s, region.rcc):
        assert free_block_places(s, date(2027, 6, 1))[oak.id].weekly_price == 77000
        assert elm.id not in free_block_places(s, date(2028, 1, 1))


def test_free_block_places_are_only_the_sessions_rccs(setup_session, region, contract_world):
    other = make_region(setup_session, "U", ("Leicester", "Leicestershire"))
    with acting_as(setup_session, other.councils[0]):
        assert free_block_places(setup_session, date(2026, 4, 1)) == {}


def test_funding_mix_splits_place_days_and_spend(setup_session, region, contract_world):
    with acting_as(setup_session, region.rcc):
        march = utilisation.funding_mix(setup_session, date(2026, 3, 1), date(2026, 3, 31))[0]
    # Block: "long" 12 + "short" 10 = 22 place-days; spot: 31 days.
    # Block spend is the contract's £3,400; spot 31 days × £4,200 ÷ 7 = £18,600.
    assert (march.block_place_days, march.spot_place_days) == (22, 31)
    assert (march.block_spend, march.spot_spend) == (340000, 1860000)
    assert march.block_share_of_spend == Decimal("15.5")


def test_the_month_we_are_in_counts_only_the_days_that_have_happened(setup_session, contract_world):
    """Issue 19 item 13: on 7 December, December counted 62 place-days (31 days × 2 places)."""
    _oak, contract = contract_world
    months = utilisation.contract_utilisation(setup_session, contract, date(2026, 12, 7))
    december = months[-1]
    assert december.month == date(2026, 12, 1)
    assert december.contract_days == 7 and december.reserved_place_days == 14
    # "long" is in its place every day; the other place is empty.
    assert (december.occupied_place_days, december.void_place_days) == (7, 7)
    assert utilisation.contract_utilisation(setup_session, contract, date(2026, 12, 31))[-1].reserved_place_days == 62
