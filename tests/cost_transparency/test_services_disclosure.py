"""Disclosure control: no published count under 5, and nothing hidden can be worked out from totals."""

from hypothesis import given, settings
from hypothesis import strategies as st

from cost_transparency.services import disclosure


def _shown_small(table):
    return [(r, c) for r, row in enumerate(table.grid) for c, value in enumerate(row)
            if 0 < value < disclosure.THRESHOLD and table.shown(r, c) is not None]


def test_a_cell_under_five_is_hidden_and_a_second_cell_in_its_row_and_column_with_it():
    # Row 0 is 10, 3, 8 (total 21): hiding the 3 alone would let anyone read it as 21 - 10 - 8.
    table = disclosure.suppress([[10, 3, 8], [7, 9, 12]])
    assert table.reason(0, 1) == disclosure.PRIMARY
    row_hidden = [c for c in range(table.columns + 1) if table.shown(0, c) is None]
    column_hidden = [r for r in range(table.rows + 1) if table.shown(r, 1) is None]
    assert len(row_hidden) >= 2 and len(column_hidden) >= 2
    assert table.reason(0, 2) == disclosure.SECONDARY  # the next smallest in the row: 8
    assert disclosure.derivable(table.grid, set(table.hidden)) == set()


def test_a_table_with_nothing_small_hides_nothing():
    table = disclosure.suppress([[10, 7, 8], [7, 9, 12]])
    assert table.hidden == {}
    assert table.grand_total == 53


def test_totals_under_five_are_hidden_too():
    table = disclosure.suppress([[3]])
    assert table.grand_total is None and table.shown(0, 0) is None


def test_zeros_are_shown_and_only_used_as_a_last_resort_partner():
    table = disclosure.suppress([[10, 3, 0], [7, 9, 0]])
    assert table.shown(0, 2) == 0 and table.shown(1, 2) == 0
    assert table.shown(0, 1) is None


def test_a_suppressed_cell_a_total_could_reveal_is_found_by_the_derivability_check():
    grid = disclosure.with_totals([[10, 3, 8], [7, 9, 12]])
    assert disclosure.derivable(grid, {(0, 1)}) == {(0, 1)}
    assert disclosure.derivable(grid, {(0, 1), (0, 2), (1, 1), (1, 2)}) == set()


def test_costs_need_five_placements_and_two_providers():
    assert disclosure.cost_reason(4, 3, count_hidden=False) == disclosure.PRIMARY
    assert disclosure.cost_reason(9, 1, count_hidden=False) == disclosure.SINGLE_PROVIDER
    assert disclosure.cost_reason(9, 2, count_hidden=True) == disclosure.PRIMARY
    assert disclosure.cost_reason(9, 2, count_hidden=False) is None


def test_linked_tables_hide_a_shared_total_in_both():
    # The second column's total (3 + 1 = 4) is hidden in the first table; the second table
    # shows the same total as its row total for that type, so it must be hidden there too.
    linked = disclosure.suppress_linked({
        "councils": ([[10, 3], [12, 1]], ["council:1", "council:2"], ["type:a", "type:b"]),
        "sectors": ([[11, 11], [2, 2]], ["type:a", "type:b"], ["sector:x", "sector:y"]),
    })
    assert linked["councils"].column_total(1) is None
    assert linked["sectors"].row_total(1) is None
    for table in linked.values():
        assert disclosure.derivable(table.grid, set(table.hidden)) == set()


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 5).flatmap(lambda columns: st.lists(
    st.lists(st.integers(0, 30), min_size=columns, max_size=columns), min_size=1, max_size=6)))
def test_no_table_ever_shows_a_count_under_five_or_lets_a_hidden_one_be_worked_out(counts):
    table = disclosure.suppress(counts)
    assert _shown_small(table) == []
    assert disclosure.derivable(table.grid, set(table.hidden)) == set()
