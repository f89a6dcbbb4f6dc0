"""What-if replay (issue 17, acceptance 3): reproducible, parallel, and more places where the
shortage report says the region is short place more children than the same places elsewhere."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cost_transparency.whatif.replay import (
    MonthDemand,
    Region,
    Scenario,
    ScenarioError,
    SupplyChange,
    SupplyHome,
    replay,
    replay_to_json,
    run_scenarios,
    scenario_from_json,
)
from matching.engine import Child, Home, Point

NORTH, SOUTH = (53.48, -2.24), (52.41, -1.51)  # Manchester, Coventry


def _home(index: int, area: str, where: tuple[float, float], places: int, taken: int) -> SupplyHome:
    return SupplyHome(Home(id=f"H{index}", provider=f"P{index % 3}", placement_type="childrens_home",
                           location=Point(*where), free_places=places, weekly_cost=4000.0 + 10 * index,
                           area=area), taken)


def _child(month: int, n: int, area: str, where: tuple[float, float]) -> Child:
    return Child(id=f"C{month:02d}{n:03d}{area[0]}", age=12 + n % 5, sex="FM"[n % 2],
                 placement_types=frozenset({"childrens_home"}), home_location=Point(where[0] + 0.01 * (n % 3),
                                                                                    where[1]),
                 council=area)


def small_region(expected: float = 2.0) -> Region:
    """Manchester's children outnumber its places; Coventry has more places than children."""
    homes = tuple([_home(i, "Manchester", NORTH, 2, 2) for i in range(4)]
                  + [_home(10 + i, "Coventry", SOUTH, 3, 1) for i in range(4)])
    months = tuple(MonthDemand(f"2026-{m + 1:02d}", tuple([_child(m, n, "Manchester", NORTH) for n in range(3)]
                                                          + [_child(m, 9, "Coventry", SOUTH)]), expected)
                   for m in range(12))
    pool = tuple(child for month in months for child in month.recorded)
    # Manchester's referrals ask for a home within 20 miles (the engine sees Coventry's homes as excluded)
    far = frozenset(h.home.id for h in homes if h.home.area == "Coventry")
    months = tuple(MonthDemand(m.month, tuple(replace(c, excluded_homes=far) if c.council == "Manchester" else c
                                              for c in m.recorded), m.expected) for m in months)
    pool = tuple(child for month in months for child in month.recorded)
    limits = {c.id: 20.0 for c in pool if c.council == "Manchester"}
    return Region(homes, months, pool, {"Manchester": NORTH, "Coventry": SOUTH}, limits)


def test_the_same_scenario_and_seed_give_the_same_replay_and_another_seed_may_not():
    region = small_region()
    scenario = Scenario("Two more in Coventry", (SupplyChange("childrens_home", 2, area="Coventry", from_month=3),))
    first, again = replay(region, scenario, 7), replay(region, scenario, 7)
    assert first.outcome() == again.outcome()
    assert len(first.months) == 12 and first.placed > 0
    others = {replay(region, scenario, seed).outcome() for seed in (1, 2, 3)}
    assert len(others | {first.outcome()}) > 1, "the seed draws the forecast's children and lengths of stay"


def test_worker_processes_give_the_same_replays_as_one_process():
    region = small_region()
    scenarios = [Scenario("baseline"), Scenario("north", (SupplyChange("childrens_home", 3, area="Manchester"),))]
    alone = run_scenarios(region, scenarios, 11, workers=1)
    pooled = run_scenarios(region, scenarios, 11, workers=2)
    assert [r.outcome() for r in alone] == [r.outcome() for r in pooled]
    assert [r.scenario for r in pooled] == ["baseline", "north"]


def test_places_where_children_are_short_place_more_children_than_places_where_they_are_not():
    region = small_region()
    baseline = replay(region, Scenario("baseline"), 5)
    north = replay(region, Scenario("north", (SupplyChange("childrens_home", 4, area="Manchester"),)), 5)
    south = replay(region, Scenario("south", (SupplyChange("childrens_home", 4, area="Coventry"),)), 5)
    assert north.placed > south.placed >= baseline.placed
    assert north.placed_within > south.placed_within
    assert north.unplaced < south.unplaced


@pytest.mark.parametrize(("change", "field"), [
    ({"placement_type": "childrens_home", "places": -2, "area": "Coventry"}, "places"),
    ({"placement_type": "childrens_home", "places": 0, "area": "Coventry"}, "places"),
    ({"placement_type": "castle", "places": 2, "area": "Coventry"}, "placement_type"),
    ({"placement_type": "childrens_home", "places": 2, "area": "Atlantis"}, "area"),
    ({"placement_type": "childrens_home", "places": 2, "home": "H999"}, "home"),
    ({"placement_type": "childrens_home", "places": 2, "area": "Coventry", "from_month": 12}, "from_month"),
    ({"placement_type": "childrens_home", "places": "two", "area": "Coventry"}, "places"),
    ({"placement_type": "childrens_home", "places": True, "area": "Coventry"}, "places"),
    ({"placement_type": "childrens_home", "places": 2, "area": "Coventry", "weekly_cost": -1}, "weekly_cost"),
])
def test_a_bad_scenario_is_refused_naming_the_field(change, field):
    with pytest.raises(ScenarioError) as refused:
        replay(small_region(), scenario_from_json({"name": "bad", "changes": [change]}), 1)
    assert refused.value.field == field


def test_the_replay_as_json_has_months_and_totals():
    found = replay_to_json(replay(small_region(), Scenario("baseline"), 3))
    assert set(found["totals"]) == {"placed", "placed_within", "unplaced", "spend", "miles"}
    assert len(found["months"]) == 12
    assert found["totals"]["placed"] == sum(m["placed"] for m in found["months"])


def test_each_councils_share_adds_up_to_the_region():
    found = replay(small_region(), Scenario("baseline"), 4)
    assert set(found.by_council) == {"Manchester", "Coventry"}
    assert sum(row["placed"] for row in found.by_council.values()) == found.placed
    assert sum(row["unplaced"] for row in found.by_council.values()) == found.unplaced
    assert abs(sum(row["spend"] for row in found.by_council.values()) - found.spend) < 1
