"""A problem compiled into sorted records and numpy arrays, plus the scoring of a child in a home.

Children and homes are sorted by id here, once, so that every later step — candidate order,
variable order, tie-breaks — is independent of the order of the input.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from rcc.geography import EARTH_RADIUS_KM, KM_PER_MILE, Point

from .model import URGENCY_LEVEL, Child, Home, Problem, SiblingGroup, Weights

EARTH_RADIUS_MILES = EARTH_RADIUS_KM / KM_PER_MILE
SEX_BIT = {"F": 1, "M": 2}
_NOWHERE = Point(0.0, 0.0)  # stands for a location in the key of children no rule tells apart


@dataclass(frozen=True)
class Entity:
    """What the optimiser places as one unit: a child, or a keep-together sibling group as a whole."""

    id: str
    members: tuple[int, ...]  # child indices, sorted
    keep_together: bool  # placed whole, in one home (a "together" group, or the together option)

    @property
    def size(self) -> int:
        return len(self.members)


def miles_between(lat1: np.ndarray | float, lon1: np.ndarray | float,
                  lat2: np.ndarray | float, lon2: np.ndarray | float) -> np.ndarray:
    """Haversine miles between points given in radians (same formula as rcc.geography)."""
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * np.arcsin(np.sqrt(np.minimum(1.0, h)))


class PreparedProblem:
    """Sorted records, vocabularies and per-home arrays shared by every stage."""

    def __init__(self, problem: Problem, fixed: dict[str, str] | None = None):
        """``fixed`` (child id -> home id) restricts those children to that home and makes
        placing them outweigh everything else: used to re-solve "what if this child went there"."""
        self.problem = problem
        self._suitable_cache: dict[int, np.ndarray] = {}
        self._suitable_by_rules: dict[Child, np.ndarray] = {}
        self.weights: Weights = problem.weights
        self.children: tuple[Child, ...] = tuple(sorted(problem.children, key=lambda c: c.id))
        self.homes: tuple[Home, ...] = tuple(sorted(problem.homes, key=lambda h: h.id))
        self.groups: dict[str, SiblingGroup] = {g.id: g for g in problem.sibling_groups}
        self.child_index = {c.id: i for i, c in enumerate(self.children)}
        self.home_index = {h.id: i for i, h in enumerate(self.homes)}
        self.fixed = {self.child_index[c]: self.home_index[h] for c, h in (fixed or {}).items()}
        self._compile_vocabularies()
        self._compile_homes()
        self._compile_children()
        self.group_members = self._group_members()
        self.entities = self._entities()
        self.entity_of_child = {m: e for e, entity in enumerate(self.entities) for m in entity.members}
        self.unmatched_penalty = self._unmatched_penalties()

    # -- compilation -------------------------------------------------------------------------

    def _compile_vocabularies(self) -> None:
        types = {h.placement_type for h in self.homes} | {t for c in self.children for t in c.placement_types}
        needs = {n for h in self.homes for n in h.needs_met} | {n for c in self.children for n in c.requirements}
        providers = {h.provider for h in self.homes} | {p for c in self.children for p in c.excluded_providers}
        self.type_code = {t: i for i, t in enumerate(sorted(types))}
        self.need_code = {n: i for i, n in enumerate(sorted(needs))}
        self.provider_code = {p: i for i, p in enumerate(sorted(providers))}
        self.need_words = max(1, math.ceil(len(self.need_code) / 64))

    def _need_bits(self, keys: frozenset[str]) -> np.ndarray:
        words = np.zeros(self.need_words, dtype=np.uint64)
        for key in keys:
            code = self.need_code[key]
            words[code // 64] |= np.uint64(1) << np.uint64(code % 64)
        return words

    def _compile_homes(self) -> None:
        homes = self.homes
        weights = self.weights
        self.home_lat = np.radians(np.array([h.location.latitude for h in homes], dtype=float))
        self.home_lon = np.radians(np.array([h.location.longitude for h in homes], dtype=float))
        self.home_type = np.array([self.type_code[h.placement_type] for h in homes], dtype=np.int64)
        self.home_min_age = np.array([h.min_age for h in homes], dtype=np.int64)
        self.home_max_age = np.array([h.max_age for h in homes], dtype=np.int64)
        self.home_sexes = np.array([sum(SEX_BIT[s] for s in h.sexes) for h in homes], dtype=np.int64)
        self.home_needs = np.zeros((len(homes), self.need_words), dtype=np.uint64)
        for i, home in enumerate(homes):
            self.home_needs[i] = self._need_bits(home.needs_met)
        self.home_cost = np.array([h.weekly_cost for h in homes], dtype=float)
        self.home_dol = np.array([h.deprivation_of_liberty for h in homes], dtype=bool)
        self.home_free = np.array([h.free_places for h in homes], dtype=np.int64)
        self.home_block = np.array([h.block_places for h in homes], dtype=np.int64)
        self.home_max_siblings = np.array([h.max_sibling_group for h in homes], dtype=np.int64)
        self.home_provider = np.array([self.provider_code[h.provider] for h in homes], dtype=np.int64)
        self.home_cost_points = np.rint(weights.weekly_cost * self.home_cost).astype(np.int64)
        self.home_rating_points = np.array(
            [round(weights.rating * weights.rating_points[h.ofsted_rating]) for h in homes], dtype=np.int64
        )
        self.home_fixed_points = self.home_cost_points + self.home_rating_points
        self.home_credit = np.where(self.home_block > 0, weights.block_place_credit, 0).astype(np.int64)
        self.home_allowed_rating = np.array(
            [h.ofsted_rating != "inadequate" or h.allow_inadequate for h in homes], dtype=bool)
        self.home_council = np.array([h.council or "" for h in homes], dtype=object)

    def _compile_children(self) -> None:
        self.child_lat = np.radians([c.home_location.latitude for c in self.children])
        self.child_lon = np.radians([c.home_location.longitude for c in self.children])
        self.child_types_ok: list[np.ndarray] = []
        self.child_type_points: list[np.ndarray] = []  # points per placement type code
        self.child_needs: list[np.ndarray] = []
        self.child_excluded_homes: list[np.ndarray] = []
        self.child_excluded_providers: list[np.ndarray] = []
        self.child_declined_homes: list[np.ndarray] = []
        # Per child: home index -> (offered pounds, cost points less the home's own cost points).
        self.child_offers: list[dict[int, tuple[float, int]]] = []
        for child in self.children:
            declined = sorted(self.home_index[h] for h in child.declined_homes if h in self.home_index)
            self.child_declined_homes.append(np.array(declined, dtype=np.int64))
            offers = {}
            for key, pounds in sorted(child.offered_prices):
                if key in self.home_index:
                    index = self.home_index[key]
                    delta = int(np.rint(self.weights.weekly_cost * pounds)) - int(self.home_cost_points[index])
                    offers[index] = (float(pounds), delta)
            self.child_offers.append(offers)
            types_ok = np.zeros(len(self.type_code), dtype=bool)
            types_ok[[self.type_code[t] for t in child.placement_types]] = True
            self.child_types_ok.append(types_ok)
            not_preferred = np.zeros(len(self.type_code), dtype=np.int64)
            if child.preferred_placement_types:
                not_preferred[:] = self.weights.not_preferred_type
                not_preferred[[self.type_code[t] for t in child.preferred_placement_types]] = 0
            self.child_type_points.append(not_preferred)
            self.child_needs.append(self._need_bits(child.requirements))
            excluded = sorted(self.home_index[h] for h in child.excluded_homes if h in self.home_index)
            self.child_excluded_homes.append(np.array(excluded, dtype=np.int64))
            self.child_excluded_providers.append(
                np.array(sorted(self.provider_code[p] for p in child.excluded_providers), dtype=np.int64)
            )

    def _group_members(self) -> dict[str, tuple[int, ...]]:
        members: dict[str, list[int]] = {}
        for index, child in enumerate(self.children):
            if child.sibling_group is not None:
                members.setdefault(child.sibling_group, []).append(index)
        return {group: tuple(indices) for group, indices in sorted(members.items())}

    def _entities(self) -> tuple[Entity, ...]:
        entities = []
        for index, child in enumerate(self.children):
            group_id = child.sibling_group
            if group_id is not None and self.groups[group_id].plan == "together":
                members = self.group_members[group_id]
                if len(members) > 1:
                    if members[0] == index:
                        entities.append(Entity(group_id, members, True))
                    continue
            entities.append(Entity(child.id, (index,), False))
        return tuple(entities)

    def splittable_groups(self) -> dict[str, tuple[int, ...]]:
        """Groups of two or more that may be separated, at a split penalty."""
        return {
            group: members for group, members in self.group_members.items()
            if len(members) > 1 and self.groups[group].plan == "together_if_possible"
        }

    def apart_groups(self) -> dict[str, tuple[int, ...]]:
        """Groups of two or more whose plan is to live apart: never two of them in one home."""
        return {
            group: members for group, members in self.group_members.items()
            if len(members) > 1 and self.groups[group].plan == "apart"
        }

    def sibling_limit(self, group: str | None, homes: np.ndarray) -> np.ndarray:
        """How many of a sibling group each home may take: 1 for an apart group."""
        limit = self.home_max_siblings[homes]
        if group is not None and self.groups[group].plan == "apart":
            return np.minimum(limit, 1)
        return limit

    # -- hard rules and scores ---------------------------------------------------------------

    def rule_masks(self, child_index: int, homes: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Each hard rule as a boolean mask over ``homes``, in the order the funnel reports them."""
        child = self.children[child_index]
        needs = self.child_needs[child_index]
        needs_met = np.all((self.home_needs[homes] & needs) == needs, axis=1)
        excluded = np.isin(homes, self.child_excluded_homes[child_index]) | np.isin(
            self.home_provider[homes], self.child_excluded_providers[child_index]
        )
        max_cost = math.inf if child.max_weekly_cost is None else child.max_weekly_cost
        # A provider's "cannot" is its own step, reported only for a child some provider answered so.
        declined = ([("provider_cannot", ~np.isin(homes, self.child_declined_homes[child_index]))]
                    if child.declined_homes else [])
        return [
            ("placement_type", self.child_types_ok[child_index][self.home_type[homes]]),
            ("age", (self.home_min_age[homes] <= child.age) & (self.home_max_age[homes] >= child.age)),
            ("sex", (self.home_sexes[homes] & SEX_BIT[child.sex]) != 0),
            ("needs", needs_met),
            ("exclusions", ~excluded),
            *declined,
            ("cost", self.child_cost(child_index, homes) <= max_cost),
            ("deprivation_of_liberty", self.home_dol[homes] | (not child.needs_deprivation_of_liberty)),
            ("inadequate", self.home_allowed_rating[homes]),
            ("free_places", self.home_free[homes] > 0),
        ]

    def suitable(self, child_index: int, homes: np.ndarray) -> np.ndarray:
        """Every hard rule at once; computed over all homes once per child, then looked up."""
        cached = self._suitable_cache.get(child_index)
        if cached is None:
            # Children alike in everything the rules can read share the mask (about half do in
            # a region): the key is the child without the fields no rule reads.
            child = self.children[child_index]
            key = dataclasses.replace(child, id="", home_location=_NOWHERE, school_location=None,
                                      urgency="planned", sibling_group=None)
            cached = self._suitable_by_rules.get(key)
            if cached is None:
                everything = np.arange(len(self.homes))
                cached = np.ones(len(everything), dtype=bool)
                for _, rule in self.rule_masks(child_index, everything):
                    cached &= rule
                self._suitable_by_rules[key] = cached
            if child_index in self.fixed:
                cached = cached & (np.arange(len(self.homes)) == self.fixed[child_index])
            self._suitable_cache[child_index] = cached
        return cached[homes]

    def entity_suitable(self, entity: Entity, homes: np.ndarray) -> np.ndarray:
        """Every member suitable, and for a whole group: room and willingness to take all of it."""
        mask = np.ones(len(homes), dtype=bool)
        for member in entity.members:
            mask &= self.suitable(member, homes)
        if entity.keep_together:
            mask &= (self.home_free[homes] >= entity.size) & (self.home_max_siblings[homes] >= entity.size)
        return mask

    def distance_points(self, child_index: int, homes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points for miles from the child's home and from their school (0 without a school)."""
        child = self.children[child_index]
        lat, lon = self.home_lat[homes], self.home_lon[homes]
        home_miles = miles_between(self.child_lat[child_index], self.child_lon[child_index], lat, lon)
        home_points = np.rint(self.weights.home_miles * home_miles).astype(np.int64)
        if child.school_location is None:
            return home_points, np.zeros(len(homes), dtype=np.int64)
        school = child.school_location
        school_miles = miles_between(math.radians(school.latitude), math.radians(school.longitude), lat, lon)
        return home_points, np.rint(self.weights.school_miles * school_miles).astype(np.int64)

    def preference_points(self, child_index: int, homes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points for a placement type the child does not prefer, and the in-house bonus (≤ 0)."""
        child = self.children[child_index]
        type_points = self.child_type_points[child_index][self.home_type[homes]]
        if child.council is None or child.in_house_bonus == 0:
            return type_points, np.zeros(len(homes), dtype=np.int64)
        in_house = self.home_council[homes] == child.council
        return type_points, np.where(in_house, -child.in_house_bonus, 0).astype(np.int64)

    def child_cost(self, child_index: int, homes: np.ndarray) -> np.ndarray:
        """Pounds a week of each home for one child: the price its provider offered, else the home's."""
        cost = self.home_cost[homes]
        offers = self.child_offers[child_index]
        if not offers:
            return cost
        cost = cost.astype(float, copy=True)
        for home, (pounds, _) in offers.items():
            cost[homes == home] = pounds
        return cost

    def offered_cost_points(self, child_index: int, homes: np.ndarray) -> np.ndarray:
        """Cost points an offered price adds (or, when cheaper, takes off) the home's own, per home."""
        delta = np.zeros(len(homes), dtype=np.int64)
        for home, (_, points) in self.child_offers[child_index].items():
            delta[homes == home] = points
        return delta

    def pair_scores(self, child_index: int, homes: np.ndarray) -> np.ndarray:
        """Score of each home for one child, before any block-place credit."""
        home_points, school_points = self.distance_points(child_index, homes)
        type_points, in_house_points = self.preference_points(child_index, homes)
        score = home_points + school_points + self.home_fixed_points[homes] + type_points + in_house_points
        if self.child_offers[child_index]:
            score = score + self.offered_cost_points(child_index, homes)
        return score

    def entity_scores(self, entity: Entity, homes: np.ndarray) -> np.ndarray:
        total = np.zeros(len(homes), dtype=np.int64)
        for member in entity.members:
            total += self.pair_scores(member, homes)
        return total

    # -- the unmatched penalty ---------------------------------------------------------------

    def _unmatched_penalties(self) -> np.ndarray:
        """Penalty per unmatched child: large enough that placing one more child always wins.

        ``score_range`` bounds how much all the other terms together can differ between two
        solutions. With P > score_range + 2·N·Q, any solution placing fewer children costs more
        whatever else it gains; each urgency step adds Q, about one child's whole score range,
        so urgency outweighs any ordinary difference in distance or cost for one child.
        """
        count = len(self.children)
        self.penalty_by_urgency = dict.fromkeys(URGENCY_LEVEL, 0)
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        weights = self.weights
        miles = self._distance_upper_bound()
        fixed_max = int(self.home_fixed_points.max()) if len(self.homes) else 0
        credit = weights.block_place_credit if len(self.homes) and self.home_block.max() > 0 else 0
        score_range = 0
        for child in self.children:
            upper = math.ceil(weights.home_miles * miles) + 1 + fixed_max + child.in_house_bonus
            upper += max([0, *(points for _, points in self.child_offers[self.child_index[child.id]].values())])
            if child.preferred_placement_types:
                upper += weights.not_preferred_type
            if child.school_location is not None:
                upper += math.ceil(weights.school_miles * miles) + 1
            score_range += upper + credit
        for members in self.splittable_groups().values():
            score_range += (len(members) - 1) * weights.sibling_split
        step = score_range // count + 1
        base = score_range + 2 * count * step + 1
        self.penalty_by_urgency = {urgency: base + level * step for urgency, level in URGENCY_LEVEL.items()}
        levels = np.array([URGENCY_LEVEL[c.urgency] for c in self.children], dtype=np.int64)
        penalties = base + levels * step
        if self.fixed:
            # A fixed child left unplaced costs more than any placement of everyone else.
            fixed = np.array(sorted(self.fixed), dtype=np.int64)
            free = np.setdiff1d(np.arange(count), fixed)
            penalties[fixed] = int(penalties[free].sum()) + score_range + 1
        return penalties

    def _distance_upper_bound(self) -> float:
        """Miles no child–home or school–home pair can exceed: meridian plus parallel path."""
        lats = [c.home_location.latitude for c in self.children] + [h.location.latitude for h in self.homes]
        lons = [c.home_location.longitude for c in self.children] + [h.location.longitude for h in self.homes]
        for child in self.children:
            if child.school_location is not None:
                lats.append(child.school_location.latitude)
                lons.append(child.school_location.longitude)
        span = math.radians(max(lats) - min(lats)) + math.radians(max(lons) - min(lons))
        return min(span, math.pi) * EARTH_RADIUS_MILES
