"""Disclosure control for published tables: pure functions, counts in, what may be shown out.

Primary suppression: any count from 1 to ``threshold − 1`` (threshold 5), totals included,
is not shown. A zero is shown: it tells nobody anything about a child.

Secondary suppression: a table is published with its row and column totals, so each row
and each column is an equation (its cells add up to its total). If an equation had exactly
one hidden entry, that entry could be worked out by subtraction. So, in every row and every
column (the totals row and column included), while exactly one entry is hidden, the smallest
shown entry is hidden too (a non-zero one before a zero), repeating until nothing changes.
A final check solves the whole system of row and column equations: any hidden entry still
fixed by it is treated the same way. ``derivable`` is that check, and tests use it too.

Costs: a cost figure (median, quartiles, mean) is shown only for a cell whose count is
shown, counts at least ``threshold`` placements, and comes from at least two providers, so
no single provider's price can be read off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

THRESHOLD = 5
MIN_PROVIDERS = 2

PRIMARY = "primary"
SECONDARY = "secondary"
SINGLE_PROVIDER = "single_provider"

RULE_TEXT = (f"Any figure counting fewer than {THRESHOLD} placements is not shown (it is marked [c]), and "
             "other figures are hidden with it where it could otherwise be worked out from the totals "
             "(also marked [c]). Zeros are shown. A cost is shown only where at least "
             f"{THRESHOLD} placements from at least {MIN_PROVIDERS} different providers stand behind it; "
             "costs from a single provider are not shown (marked [p]).")

Position = tuple[int, int]


@dataclass
class SuppressedTable:
    """A table of counts with its totals: ``grid`` has a totals column last and a totals row last."""

    grid: list[list[int]]
    hidden: dict[Position, str] = field(default_factory=dict)  # position -> PRIMARY or SECONDARY

    @property
    def rows(self) -> int:
        return len(self.grid) - 1

    @property
    def columns(self) -> int:
        return len(self.grid[0]) - 1

    def shown(self, row: int, column: int) -> int | None:
        return None if (row, column) in self.hidden else self.grid[row][column]

    def reason(self, row: int, column: int) -> str | None:
        return self.hidden.get((row, column))

    def row_total(self, row: int) -> int | None:
        return self.shown(row, self.columns)

    def column_total(self, column: int) -> int | None:
        return self.shown(self.rows, column)

    @property
    def grand_total(self) -> int | None:
        return self.shown(self.rows, self.columns)


def with_totals(counts: Sequence[Sequence[int]]) -> list[list[int]]:
    if not counts or not counts[0]:
        raise ValueError("a table needs at least one row and one column")
    if any(len(row) != len(counts[0]) for row in counts):
        raise ValueError("every row needs the same number of columns")
    if any(value < 0 for row in counts for value in row):
        raise ValueError("counts cannot be negative")
    grid = [[*row, sum(row)] for row in counts]
    grid.append([sum(row[c] for row in grid) for c in range(len(grid[0]))])
    return grid


def _lines(grid: list[list[int]]) -> list[list[Position]]:
    height, width = len(grid), len(grid[0])
    rows = [[(r, c) for c in range(width)] for r in range(height)]
    columns = [[(r, c) for r in range(height)] for c in range(width)]
    return rows + columns


def _smallest_shown(grid: list[list[int]], line: list[Position], hidden: dict[Position, str]) -> Position | None:
    shown = [p for p in line if p not in hidden]
    if not shown:
        return None
    return min(shown, key=lambda p: (grid[p[0]][p[1]] == 0, grid[p[0]][p[1]], p))


def suppress(counts: Sequence[Sequence[int]], threshold: int = THRESHOLD,
             also_hide: set[Position] | None = None) -> SuppressedTable:
    """Primary and secondary suppression of ``counts`` with its totals.

    ``also_hide`` names entries of the grid with totals (e.g. a total that a linked table
    hides) to hide before secondary suppression starts.
    """
    grid = with_totals(counts)
    hidden: dict[Position, str] = {
        (r, c): PRIMARY for r, row in enumerate(grid) for c, value in enumerate(row) if 0 < value < threshold
    }
    for position in also_hide or set():
        hidden.setdefault(position, SECONDARY)
    lines = _lines(grid)
    while True:
        changed = False
        for line in lines:
            if sum(1 for p in line if p in hidden) == 1:
                partner = _smallest_shown(grid, line, hidden)
                if partner is not None:
                    hidden[partner] = SECONDARY
                    changed = True
        if not changed:
            exposed = derivable(grid, set(hidden))
            if not exposed:
                return SuppressedTable(grid, hidden)
            row, _column = sorted(exposed)[0]
            partner = _smallest_shown(grid, [(row, c) for c in range(len(grid[0]))], hidden)
            if partner is None:  # pragma: no cover - a fully hidden row cannot fix any of its entries
                return SuppressedTable(grid, hidden)
            hidden[partner] = SECONDARY


def derivable(grid: list[list[int]], hidden: set[Position]) -> set[Position]:
    """Hidden entries whose value the row and column equations pin down exactly."""
    unknowns = sorted(hidden)
    if not unknowns:
        return set()
    index = {p: i for i, p in enumerate(unknowns)}
    equations = []
    for line in _lines(grid):
        total = line[-1]  # each line ends with its total: cells − total = 0
        coefficients = np.zeros(len(unknowns))
        for p in line:
            if p in index:
                coefficients[index[p]] = -1.0 if p == total else 1.0
        if coefficients.any():
            equations.append(coefficients)
    if not equations:
        return set()
    system = np.array(equations)
    rank = np.linalg.matrix_rank(system)
    found = set()
    for p, i in index.items():
        unit = np.zeros(len(unknowns))
        unit[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            found.add(p)
    return found


def cost_reason(count: int, providers: int, count_hidden: bool, threshold: int = THRESHOLD) -> str | None:
    """Why a cost figure for a cell may not be shown, or None if it may."""
    if count_hidden or count < threshold:
        return PRIMARY
    if providers < MIN_PROVIDERS:
        return SINGLE_PROVIDER
    return None


def suppress_linked(tables: dict[str, tuple[Sequence[Sequence[int]], list[str], list[str]]],
                    threshold: int = THRESHOLD) -> dict[str, SuppressedTable]:
    """Suppress tables that share margins, so a total hidden in one is hidden in all.

    Each table is (counts, row keys, column keys); a total is shared when two tables give
    the same key to a row or column (e.g. "type:childrens_home", and "all" for grand totals).
    """
    shared_hidden: set[str] = set()
    while True:
        results = {}
        for name, (counts, row_keys, column_keys) in tables.items():
            keys = _total_keys(row_keys, column_keys)
            also = {position for position, key in keys.items() if key in shared_hidden}
            results[name] = suppress(counts, threshold, also)
        now_hidden = {key for name, (counts, row_keys, column_keys) in tables.items()
                      for position, key in _total_keys(row_keys, column_keys).items()
                      if position in results[name].hidden}
        if now_hidden <= shared_hidden:
            return results
        shared_hidden |= now_hidden


def _total_keys(row_keys: list[str], column_keys: list[str]) -> dict[Position, str]:
    rows, columns = len(row_keys), len(column_keys)
    keys = {(r, columns): row_keys[r] for r in range(rows)}
    keys.update({(rows, c): column_keys[c] for c in range(columns)})
    keys[(rows, columns)] = "all"
    return keys
