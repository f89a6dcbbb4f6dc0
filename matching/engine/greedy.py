"""The baseline: how brokers match today, one referral at a time.

Children are taken in urgency order (emergency first, then by id); each takes the best
suitable home that still has a place, by the same score as the optimiser (including a block
credit while the home has block places left). Siblings are placed one at a time, so groups may
be split — unless ``honour_keep_together`` is set, when a group whose plan is "together" is placed
whole (in the best home able to take all of it) or not at all, which is a solution the optimiser
could also choose. A group whose plan is "apart" never has two children in one home.
"""

from __future__ import annotations

import math

import numpy as np

from .candidates import CandidateList, HomeGrid
from .model import URGENCY_LEVEL
from .prepared import Entity, PreparedProblem

Placement = dict[int, int | None]
FIRST_LOOK = 32


def greedy_placement(prepared: PreparedProblem, *, honour_keep_together: bool = False,
                     grid: HomeGrid | None = None,
                     known: dict[tuple[int, ...], CandidateList] | None = None) -> Placement:
    """``known``: candidate lists already found for some units (by members), looked at before
    scanning the grid; the answer is the same, the scan is skipped when a list decides it."""
    grid = grid or HomeGrid(prepared)
    known = known or {}
    if honour_keep_together:
        units = list(prepared.entities)
    else:
        units = [Entity(c.id, (i,), False) for i, c in enumerate(prepared.children)]
    urgency = [URGENCY_LEVEL[c.urgency] for c in prepared.children]
    units.sort(key=lambda unit: (-max(urgency[m] for m in unit.members), unit.id))
    free = prepared.home_free.copy()
    block = prepared.home_block.copy()
    siblings_in_home: dict[tuple[str, int], int] = {}
    placement: Placement = dict.fromkeys(range(len(prepared.children)))
    for unit in units:
        group = prepared.children[unit.members[0]].sibling_group
        home = _best_home(prepared, grid, unit, group, free, block, siblings_in_home, known.get(unit.members))
        if home is None:
            continue
        free[home] -= unit.size
        block[home] = max(0, block[home] - unit.size)
        if group is not None:
            siblings_in_home[(group, home)] = siblings_in_home.get((group, home), 0) + unit.size
        for member in unit.members:
            placement[member] = home
    return placement


def _best_home(prepared: PreparedProblem, grid: HomeGrid, unit: Entity, group: str | None, free: np.ndarray,
               block: np.ndarray, siblings_in_home: dict[tuple[str, int], int],
               known: CandidateList | None = None) -> int | None:
    credit = prepared.weights.block_place_credit
    required = -math.inf
    while True:
        from_known = known is not None
        candidates = known if known is not None else grid.candidates(unit, FIRST_LOOK, required)
        known = None
        homes, scores = candidates.homes, candidates.scores
        effective = scores - credit * np.minimum(block[homes], unit.size)
        open_ = free[homes] >= unit.size
        if group is not None:
            limit = prepared.sibling_limit(group, homes)
            already = np.array([siblings_in_home.get((group, h), 0) for h in homes.tolist()], dtype=np.int64)
            open_ &= already + unit.size <= limit
        if open_.any():
            options = np.flatnonzero(open_)
            best = options[np.lexsort((homes[options], effective[options]))[0]]
            # A home not listed could still beat it only if its bound is lower (a complete scan
            # still leaves out homes beyond the first ones; the threshold bounds them).
            if candidates.threshold > effective[best]:
                return int(homes[best])
            required = float(effective[best]) + 1
        elif math.isinf(candidates.threshold):  # every suitable home was listed: all are full
            return None
        elif not from_known:  # a known list with nothing open: look as if it were not known
            required = math.inf
