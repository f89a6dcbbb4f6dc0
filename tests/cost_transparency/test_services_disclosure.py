"""Disclosure control, checked as an attacker would: from the published CSVs, every table, total,
zero, money column and earlier version together, solved with PuLP and HiGHS."""

from datetime import date

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cost_transparency.services import disclosure, release_audit, report_tables
from cost_transparency.services.comparison import Observation
from cost_transparency.services.disclosure import ALL
from cost_transparency.vocabulary import PLACEMENT_TYPES, type_label

COUNCILS = [(1, "Bolton"), (2, "Bury"), (3, "Oldham"), (4, "Wigan")]
TYPES = list(PLACEMENT_TYPES)[:5]
SECTORS, FUNDING, BANDS = ["local_authority", "private", "voluntary"], ["block", "spot"], ["standard", "enhanced",
                                                                                              "complex"]


def _observation(n: int, council: int, kind: str, provider: int = 0, sector: int = 0, funding: int = 1,
                 band: int = 0, cost: int = 500_000) -> Observation:
    return Observation(n, council, 100 + provider, kind, BANDS[band], SECTORS[sector], FUNDING[funding], cost, cost)


def _publish(observations: list[Observation], previous: list[dict] = (), councils=COUNCILS) -> dict:  # type: ignore[assignment]
    return report_tables.snapshot_from(observations, [], councils, "North West RCC", "Unit costs", date(2026, 1, 1),
                                       date(2026, 3, 31), len(previous) + 1, "", date(2026, 4, 2), previous)


def _attack(*snapshots: dict) -> disclosure.AuditResult:
    """The attacker's programme over the published CSV text of every version."""
    return release_audit.audit_versions([release_audit.snapshot_tables(s) for s in snapshots],
                                        [release_audit.follows_current_rule(s) for s in snapshots])


def _shown_small(snapshot: dict) -> list[str]:
    found = []
    for section in snapshot["sections"]:
        for row in section["table"]["rows"]:
            for cell in row["cells"]:
                if cell["value"] is not None and not cell["text"].startswith("£") and 0 < cell["value"] < 5:
                    found.append(f"{section['key']}: {row['label']} {cell['text']}")
    return found


def _wigan_region() -> list[Observation]:
    """Wigan: 6 + 6 + 1 + 1 + 0 = 14 over five placement types; the other councils have plenty."""
    rows = {4: [6, 6, 1, 1, 0], 1: [20, 9, 8, 7, 6], 2: [15, 11, 9, 6, 8], 3: [12, 10, 7, 9, 5]}
    observations, n = [], 0
    for council, counts in rows.items():
        for kind, count in zip(TYPES, counts, strict=True):
            for i in range(count):
                n += 1
                observations.append(_observation(n, council, kind, provider=i % 3, sector=i % 3, funding=i % 2,
                                                 band=(i // 2) % 3, cost=400_000 + 1_000 * n))
    return observations


def test_wigan_six_six_c_c_zero_cannot_be_worked_out_from_the_csvs():
    snapshot = _publish(_wigan_region())
    tables = release_audit.snapshot_tables(snapshot)
    header, rows = tables["placements-by-council"]
    wigan = next(row for row in rows if row[0] == "Wigan")
    assert wigan[3:5] == ["[c]", "[c]"]  # the two single placements are hidden
    result = _attack(snapshot)
    assert result.passed, {k: r for k, r in result.ranges[0].items() if disclosure.violates(r)}
    for kind in TYPES[2:4]:
        low, high = result.ranges[0][(type_label(kind), "council", "Wigan")]
        assert low == 0 or high >= 5
        assert high - low >= disclosure.PROTECTION


def test_the_attacker_pins_a_cell_that_only_its_row_total_hides():
    # Row 10, [c], 8 with total 21: the hidden 3 is 21 − 10 − 8.
    layout = disclosure.layout(["A", "B", "C"], {"council": ["X", "Y"]}, uncosted_totals=["council"])
    values = {k: 0 for k in layout.keys}
    for kind, x, y in (("A", 10, 7), ("B", 3, 9), ("C", 8, 12)):
        values[(kind, "council", "X")], values[(kind, "council", "Y")] = x, y
        values[(kind, ALL, ALL)] = x + y
    values[(ALL, "council", "X")], values[(ALL, "council", "Y")] = 21, 28
    values[(ALL, ALL, ALL)] = 49
    alone = disclosure.audit([disclosure.published(layout, values, {("B", "council", "X")})])
    assert alone.ranges[0][("B", "council", "X")] == (3, 3)
    done = disclosure.suppress(layout, values)
    assert done.hidden[("B", "council", "X")] == disclosure.PRIMARY
    assert done.audit.passed and len(done.hidden) >= 4


def test_a_table_with_nothing_small_hides_nothing():
    layout = disclosure.layout(["A", "B"], {"council": ["X", "Y"]})
    values = {("A", "council", "X"): 10, ("A", "council", "Y"): 7, ("B", "council", "X"): 8,
              ("B", "council", "Y"): 9, ("A", ALL, ALL): 17, ("B", ALL, ALL): 17, (ALL, "council", "X"): 18,
              (ALL, "council", "Y"): 16, (ALL, ALL, ALL): 34}
    done = disclosure.suppress(layout, values)
    assert done.hidden == {} and done.audit.passed


def test_a_large_median_beside_a_hidden_count_is_still_published():
    # 118 spot placements and one block placement of the same type: the count 118 may be hidden
    # with the 1, but the median of 118 placements from many providers is shown.
    observations = [_observation(n, 1 + n % 4, TYPES[0], provider=n % 7, funding=1, cost=500_000 + n)
                    for n in range(118)]
    observations.append(_observation(999, 1, TYPES[0], provider=1, funding=0, cost=900_000))
    observations += [_observation(1000 + n, 1 + n % 4, TYPES[1], provider=n % 5, funding=n % 2) for n in range(40)]
    snapshot = _publish(observations)
    header, rows = release_audit.snapshot_tables(snapshot)["by-funding"]
    row = next(r for r in rows if r[0] == type_label(TYPES[0]))
    assert row[header.index("Block contract: placements")] == "[c]"
    assert row[header.index("Spot purchase: median")].startswith("£")
    assert _attack(snapshot).passed


def test_costs_need_five_placements_and_two_providers():
    assert disclosure.cost_reason(4, 3) == disclosure.PRIMARY
    assert disclosure.cost_reason(9, 1) == disclosure.SINGLE_PROVIDER
    assert disclosure.cost_reason(9, 2) is None


def test_a_correction_is_audited_with_the_version_it_corrects():
    first = _wigan_region()
    v1 = _publish(first)
    # The correction adds a late record: a second Wigan placement of the fifth type.
    second = [*first, _observation(5000, 4, TYPES[4], provider=2, cost=610_000)]
    v2 = _publish(second, [v1])
    result = _attack(v1, v2)
    assert result.passed, result.violations()
    assert _shown_small(v2) == []


# Generated regions -------------------------------------------------------------------------------

observation = st.tuples(st.integers(1, 3), st.sampled_from(TYPES[:3]), st.integers(0, 3), st.integers(0, 2),
                        st.integers(0, 1), st.integers(0, 2), st.integers(300_000, 900_000))
region = st.lists(observation, min_size=0, max_size=45)


def _observations(drawn: list[tuple], start: int = 0) -> list[Observation]:
    return [_observation(start + n, council, kind, provider, sector, funding, band, cost)
            for n, (council, kind, provider, sector, funding, band, cost) in enumerate(drawn)]


def _drawn(*rows: tuple[int, int, int, int, int, int, int]) -> list[tuple]:
    """Observations as hypothesis draws them, with the placement type given by its index."""
    return [(council, TYPES[kind], provider, sector, funding, band, cost)
            for council, kind, provider, sector, funding, band, cost in rows]


# A correction that the earlier suppression could not protect: its complementary suppressions
# stopped when every count beside the pinned ones was hidden, and publishing was refused.
CORRECTION_ONCE_REFUSED = (
    _drawn((1, 2, 0, 1, 1, 0, 500000), (3, 2, 1, 0, 1, 0, 500001), (2, 1, 2, 0, 1, 0, 500002),
           (1, 0, 0, 0, 0, 0, 500003), (2, 2, 1, 0, 0, 0, 500004), (2, 0, 2, 0, 1, 0, 500005),
           (3, 2, 0, 1, 0, 0, 500006), (3, 2, 1, 2, 0, 0, 500007), (2, 2, 2, 0, 1, 0, 500008),
           (3, 0, 0, 0, 1, 0, 500009), (2, 2, 1, 2, 1, 0, 500010), (2, 1, 2, 2, 1, 0, 500011),
           (2, 2, 0, 2, 0, 0, 500012), (3, 1, 1, 1, 0, 0, 500013), (2, 2, 2, 0, 1, 0, 500014),
           (1, 2, 0, 1, 1, 0, 500015), (2, 2, 1, 0, 1, 0, 500016), (1, 1, 2, 0, 1, 0, 500017),
           (3, 2, 0, 0, 1, 0, 500018), (1, 2, 1, 1, 0, 0, 500019), (2, 2, 2, 0, 1, 0, 500020)),
    [0, 9, 18],
    _drawn((2, 0, 0, 2, 1, 0, 500000), (1, 1, 1, 2, 0, 0, 500001), (2, 2, 2, 2, 0, 0, 500002)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(region, st.lists(st.integers(0, 44), max_size=3), st.lists(observation, max_size=3))
@example(*CORRECTION_ONCE_REFUSED)
def test_every_release_publishes_and_no_attacker_can_pin_a_hidden_count(drawn, dropped, added):
    councils = COUNCILS[:3]
    first = _observations(drawn)
    v1 = _publish(first, councils=councils)
    # A correction: a few records dropped or added late.
    second = [o for i, o in enumerate(first) if i not in set(dropped)] + _observations(added, start=10_000)
    v2 = _publish(second, [v1], councils=councils)
    for snapshot in (v1, v2):
        assert _shown_small(snapshot) == []
    # Publishing runs this audit over the stored versions (publications.check_disclosure): it never refuses.
    assert release_audit.audit_snapshots([v1]).passed
    assert release_audit.audit_snapshots([v1, v2]).passed
    # And the attacker, reading the CSV downloads of both versions, pins nothing.
    result = _attack(v1, v2)
    assert result.passed, {k: r for ranges in (*result.ranges.values(), result.combined or {})
                           for k, r in ranges.items() if disclosure.violates(r)}
    for ranges in (*result.ranges.values(), result.combined or {}):
        for low, high in ranges.values():
            assert (low == 0 or high >= disclosure.THRESHOLD) and high - low >= disclosure.PROTECTION


def test_a_region_too_small_to_publish_any_count_says_so_and_still_publishes():
    snapshot = _publish(_observations(_drawn((1, 0, 0, 0, 1, 0, 500000), (2, 0, 1, 1, 1, 0, 600000),
                                             (2, 1, 2, 0, 0, 0, 700000))))
    assert snapshot["withheld"] == disclosure.WITHHELD_TEXT
    tables = release_audit.snapshot_tables(snapshot)
    header, rows = tables["placements-by-council"]
    assert rows[-1][-1] == "[c]" and snapshot["placements"] is None
    assert not any(text.startswith("£") for row in tables["by-type"][1] for text in row)
    assert release_audit.audit_snapshots([snapshot]).passed
    # A region with something to show carries no such note.
    assert _publish(_wigan_region())["withheld"] is None


def test_the_demos_releases_downloaded_as_csv_survive_the_attacker(app, setup_session, demo_region):
    from sqlalchemy import select

    from cost_transparency.models import Publication
    from cost_transparency.services import publications
    from cost_transparency.vocabulary import DRAFT, PUBLISHED
    draft = setup_session.scalars(select(Publication).where(Publication.status == DRAFT)).one()
    publications.approve(setup_session, draft, None)
    publications.publish(setup_session, draft, None)
    published = setup_session.scalars(select(Publication).where(Publication.status == PUBLISHED,
                                                                Publication.slug != draft.slug)).one()
    correction = publications.correct(setup_session, published, "Late cost records added", None)
    publications.approve(setup_session, correction, None)
    publications.publish(setup_session, correction, None)
    setup_session.commit()

    client = app.test_client()
    releases = {}
    for publication in setup_session.scalars(select(Publication).order_by(Publication.slug, Publication.version)):
        tables = {}
        for section in publication.snapshot["sections"]:
            response = client.get(f"/published-costs/{publication.slug}/v{publication.version}/{section['key']}.csv")
            assert response.status_code == 200
            tables[section["key"]] = release_audit.parse_csv(response.get_data(as_text=True))
        releases.setdefault(publication.slug, []).append((tables, release_audit.follows_current_rule(
            publication.snapshot)))
    assert sorted(len(versions) for versions in releases.values()) == [1, 2]
    for versions in releases.values():
        result = release_audit.audit_versions([t for t, _ in versions], [rule for _, rule in versions])
        hidden = sum(len(r) for r in result.ranges.values())
        assert hidden > 0 and result.passed, result.violations()
        assert result.seconds < 5


def test_the_mean_of_all_types_is_hidden_when_it_would_give_away_a_hidden_types_total_cost():
    # 40 foster placements with their mean shown and one secure placement: all-types mean × 41,
    # less the foster mean × 40, would be the secure placement's weekly cost.
    observations = [_observation(n, 1 + n % 4, TYPES[0], provider=n % 5, cost=90_000 + 10 * n) for n in range(40)]
    observations.append(_observation(99, 1, TYPES[1], provider=1, cost=1_200_000))
    header, rows = release_audit.snapshot_tables(_publish(observations))["by-type"]
    mean = header.index("Mean")
    assert rows[0][mean].startswith("£") and rows[1][mean] == "[c]"
    assert rows[-1][0] == "All types" and rows[-1][mean] == "[c]"
    many = observations + [_observation(100 + n, 2, TYPES[1], provider=n % 3, cost=1_000_000) for n in range(6)]
    header, rows = release_audit.snapshot_tables(_publish(many))["by-type"]
    assert rows[-1][mean].startswith("£")
