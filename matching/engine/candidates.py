"""Candidate homes for each child, found through a grid instead of every child × every home.

Homes with a free place are bucketed into latitude/longitude cells. For each entity (a child,
or a keep-together group) we compute a lower bound on the score of every home in each cell —
distance can only be at least the distance to the cell, cost and rating at least the cell's
cheapest — and scan cells best-bound first until the best ``k`` candidates are known.

Each candidate list also records ``threshold``: a lower bound on the score, less any block
credit, of every suitable home *not* kept. The optimiser uses it to prove, after solving, that
no pruned home could have improved the result (see ``optimiser.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .prepared import EARTH_RADIUS_MILES, Entity, PreparedProblem

CELL_DEGREES_LATITUDE = 0.25
CELL_DEGREES_LONGITUDE = 0.4
FIRST_BATCH_HOMES_PER_CANDIDATE = 6


@dataclass
class CandidateList:
    """An entity's kept homes, best first, with entity scores (before block credit)."""

    homes: np.ndarray
    scores: np.ndarray
    threshold: float  # lower bound on (score − credit) of every suitable home not in ``homes``
    complete: bool  # every suitable home was scanned
    core: int = 0  # the first ``core`` homes are those scoring no worse than the k-th best


class HomeGrid:
    """Homes with at least one free place, bucketed by cell, with per-cell bounds."""

    def __init__(self, prepared: PreparedProblem):
        self.prepared = prepared
        open_homes = np.flatnonzero(prepared.home_free > 0)
        lat_deg = np.degrees(prepared.home_lat[open_homes])
        lon_deg = np.degrees(prepared.home_lon[open_homes])
        rows = np.floor(lat_deg / CELL_DEGREES_LATITUDE).astype(np.int64)
        cols = np.floor(lon_deg / CELL_DEGREES_LONGITUDE).astype(np.int64)
        keys = rows * 100_000 + cols
        order = np.lexsort((open_homes, keys))
        keys, open_homes, rows, cols = keys[order], open_homes[order], rows[order], cols[order]
        cell_keys, starts = np.unique(keys, return_index=True)
        ends = np.append(starts[1:], len(keys)) if len(keys) else starts
        self.cell_homes = [open_homes[s:e] for s, e in zip(starts, ends, strict=True)]
        cell_rows, cell_cols = rows[starts], cols[starts]
        self.lat_low = np.radians(cell_rows * CELL_DEGREES_LATITUDE)
        self.lat_high = np.radians((cell_rows + 1) * CELL_DEGREES_LATITUDE)
        self.lon_low = np.radians(cell_cols * CELL_DEGREES_LONGITUDE)
        self.lon_high = np.radians((cell_cols + 1) * CELL_DEGREES_LONGITUDE)
        self.max_abs_lat = np.maximum(np.abs(self.lat_low), np.abs(self.lat_high))
        self.min_fixed_points = np.array(
            [prepared.home_fixed_points[h].min() for h in self.cell_homes], dtype=np.int64
        ).reshape(-1)
        self.has_credit = np.array([prepared.home_credit[h].max() > 0 for h in self.cell_homes], dtype=bool)
        self.home_count = np.array([len(h) for h in self.cell_homes], dtype=np.int64)
        # Cells holding an in-house home of each council: a child of that council may earn its
        # in-house bonus there, so the cell's bound must allow for it.
        self.council_cells: dict[str, np.ndarray] = {}
        for cell, homes in enumerate(self.cell_homes):
            for council in set(prepared.home_council[homes].tolist()) - {""}:
                self.council_cells.setdefault(council, np.zeros(len(self.cell_homes), dtype=bool))[cell] = True
        self.cell_count = len(cell_keys)

    def miles_lower_bound(self, lat: float, lon: float) -> np.ndarray:
        """Fewest miles from a point (radians) to anywhere in each cell.

        hav(d) = hav(Δφ) + cos φ1 cos φ2 hav(Δλ); each term is bounded below using the smallest
        latitude and longitude gaps to the cell and the largest |latitude| involved.
        """
        lat_gap = np.maximum(0.0, np.maximum(self.lat_low - lat, lat - self.lat_high))
        lon_gap = np.maximum(0.0, np.maximum(self.lon_low - lon, lon - self.lon_high))
        cos_max = np.cos(np.maximum(self.max_abs_lat, abs(lat)))
        h = np.sin(lat_gap / 2) ** 2 + cos_max**2 * np.sin(lon_gap / 2) ** 2
        return 2 * EARTH_RADIUS_MILES * np.arcsin(np.sqrt(np.minimum(1.0, h)))

    def score_lower_bound(self, entity: Entity) -> np.ndarray:
        """Lower bound, per cell, on an entity's score less block credit for any home in it."""
        prepared = self.prepared
        weights = prepared.weights
        bound = np.zeros(self.cell_count, dtype=float)
        for member in entity.members:
            child = prepared.children[member]
            # Each distance part is rounded to whole points, so allow half a point each way.
            bound += weights.home_miles * self.miles_lower_bound(prepared.child_lat[member],
                                                                 prepared.child_lon[member]) - 0.5
            if child.school_location is not None:
                school = child.school_location
                bound += weights.school_miles * self.miles_lower_bound(
                    math.radians(school.latitude), math.radians(school.longitude)) - 0.5
            if child.council in self.council_cells and child.in_house_bonus:
                bound -= child.in_house_bonus * self.council_cells[child.council]
            # A price its provider offered below the home's own lowers the score by at most this.
            bound -= max([0, *(-points for _, points in prepared.child_offers[member].values())])
        credit = np.where(self.has_credit, weights.block_place_credit, 0)
        return bound + entity.size * (self.min_fixed_points - credit)

    def candidates(self, entity: Entity, keep: int, required: float = -math.inf,
                   margin: float = 0.0, cap: int | None = None) -> CandidateList:
        """The ``keep`` best suitable homes, plus every suitable home scoring below ``required``
        or below the k-th best score plus ``margin``.

        Both are compared with score less block credit, the optimistic value used in the
        pruning proofs; scanning continues until no unscanned cell could hold such a home.
        """
        prepared = self.prepared
        bounds = self.score_lower_bound(entity)
        order = np.lexsort((np.arange(self.cell_count), bounds))
        sorted_bounds = bounds[order]
        cumulative = np.cumsum(self.home_count[order])
        found_homes: list[np.ndarray] = []
        found_scores: list[np.ndarray] = []
        scanned = 0
        target = keep * FIRST_BATCH_HOMES_PER_CANDIDATE
        kth_score = math.inf
        while scanned < self.cell_count:
            limit = max(kth_score + margin, required)
            if required == math.inf:
                stop = self.cell_count
            elif math.isfinite(limit):
                stop = int(np.searchsorted(sorted_bounds, limit, side="left"))
            else:
                stop = int(np.searchsorted(cumulative, target, side="left")) + 1
            stop = min(max(stop, scanned + 1), self.cell_count)
            batch = np.concatenate([self.cell_homes[c] for c in order[scanned:stop]])
            scanned = stop
            batch = batch[prepared.entity_suitable(entity, batch)]
            if len(batch):
                found_homes.append(batch)
                found_scores.append(prepared.entity_scores(entity, batch))
            found = sum(len(h) for h in found_homes)
            if found >= keep:
                kth_score = float(np.partition(np.concatenate(found_scores), keep - 1)[keep - 1])
            next_bound = sorted_bounds[scanned] if scanned < self.cell_count else math.inf
            if next_bound >= max(kth_score + margin, required):
                break
            target *= 2
        next_bound = float(sorted_bounds[scanned]) if scanned < self.cell_count else math.inf
        return _keep_best(prepared, entity, found_homes, found_scores, keep, required, margin, next_bound, cap)


def _keep_best(prepared: PreparedProblem, entity: Entity, found_homes: list[np.ndarray],
               found_scores: list[np.ndarray], keep: int, required: float, margin: float,
               next_bound: float, cap: int | None) -> CandidateList:
    if not found_homes:
        empty = np.zeros(0, dtype=np.int64)
        return CandidateList(empty, empty, next_bound, math.isinf(next_bound))
    homes = np.concatenate(found_homes)
    scores = np.concatenate(found_scores)
    optimistic = scores - entity.size * prepared.home_credit[homes]
    # The first ``keep`` by (score, home), found without sorting every scanned home: those
    # scoring below the k-th score, then the ties at it by home id.
    first = min(keep, len(scores))
    kth_score = np.partition(scores, first - 1)[first - 1]
    kept = scores < kth_score
    ties = np.flatnonzero(scores == kth_score)
    kept[ties[np.argsort(homes[ties], kind="stable")[:first - int(np.count_nonzero(kept))]]] = True
    kept |= optimistic < max(required, kth_score + margin)
    if cap is not None and np.count_nonzero(kept) > cap:
        # Keep the best ``cap`` by optimistic score; the threshold below stays a true bound.
        kept[:] = False
        kept[np.lexsort((homes, optimistic))[:cap]] = True
    pruned_optimistic = optimistic[~kept]
    threshold = min(float(pruned_optimistic.min()) if len(pruned_optimistic) else math.inf, next_bound)
    homes, scores = homes[kept], scores[kept]
    order = np.lexsort((homes, scores))
    homes, scores = homes[order], scores[order]
    core = int(np.count_nonzero(scores <= kth_score))
    return CandidateList(homes, scores, threshold, math.isinf(next_bound), core)
