"""Turns the solver's choice into the explained result: parts, alternatives, funnels, pressure."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .evaluation import Placement, children_by_home, groups_split, pair_parts, placement_parts
from .optimiser import ModelSolution
from .prepared import Entity, PreparedProblem
from .result import Alternative, Assignment, FunnelStep, Pressure, Unmatched

MAX_ALTERNATIVES = 3


def placement_from(prepared: PreparedProblem, solution: ModelSolution) -> Placement:
    placement: Placement = dict.fromkeys(range(len(prepared.children)))
    for o, home in solution.chosen.items():
        for member in solution.options[o].entity.members:
            placement[member] = home
    return placement


def assignments(prepared: PreparedProblem, solution: ModelSolution, placement: Placement) -> list[Assignment]:
    parts = placement_parts(prepared, placement)
    by_home = children_by_home(placement)
    result = []
    for o, home in sorted(solution.chosen.items()):
        entity = solution.options[o].entity
        candidates = np.array(sorted(set(solution.candidate_lists[o].homes.tolist()) | {home}), dtype=np.int64)
        for member in entity.members:
            # This child's own score in each candidate (distance, cost, rating, preferences;
            # no block credit or sibling penalty): the rank and "worse" compare like with like.
            own = prepared.pair_scores(member, candidates)
            chosen_own = int(own[candidates.tolist().index(home)])
            order = np.lexsort((candidates, own))
            runners_up = [int(candidates[i]) for i in order if candidates[i] != home][:MAX_ALTERNATIVES]
            alternatives = _alternatives(prepared, entity, member, home, chosen_own, runners_up, placement, by_home)
            result.append(Assignment(
                child=prepared.children[member].id,
                home=prepared.homes[home].id,
                score=parts[member].total,
                parts=parts[member],
                rank=1 + int(np.count_nonzero(own < chosen_own)),
                candidates=len(candidates),
                alternatives=tuple(alternatives),
            ))
    return sorted(result, key=lambda a: a.child)


def _alternatives(prepared: PreparedProblem, entity: Entity, child: int, chosen: int, chosen_own: int,
                  runners_up: list[int], placement: Placement, by_home: dict[int, list[int]]) -> list[Alternative]:
    """The child's best other candidates, and a reason for each that is true by construction:

    * ``worse``: it scores more points for this child than the chosen home (same parts, no credits);
    * ``taken``: other children in this run fill its free places (``taken_by``);
    * ``keeps_siblings_together``: a sibling is proposed to the chosen home;
    * ``siblings_apart``: the plan is apart and a sibling is proposed there (``taken_by``);
    * ``sibling_limit``: it already takes as many of the group as it can (``taken_by``);
    * ``costs_others``: it scores no worse for this child; what choosing it would cost the other
      children is for ``compare_alternative`` to say, by re-solving.
    """
    group = prepared.children[child].sibling_group
    siblings = [m for m in prepared.group_members.get(group, ()) if m != child] if group else []
    plan = prepared.groups[group].plan if group else None
    result = []
    for home in runners_up:
        occupants = [c for c in by_home.get(home, []) if c not in entity.members]
        parts = pair_parts(prepared, child, home)
        taken_by: tuple[str, ...] = ()
        there = [s for s in siblings if placement.get(s) == home]
        if parts.total > chosen_own:
            reason = "worse"
        elif occupants and len(occupants) + entity.size > prepared.home_free[home]:
            reason = "taken"
            taken_by = tuple(prepared.children[c].id for c in occupants)
        elif plan == "apart" and there:
            reason = "siblings_apart"
            taken_by = tuple(prepared.children[s].id for s in there)
        elif entity.size == 1 and plan != "apart" and any(placement.get(s) == chosen for s in siblings):
            reason = "keeps_siblings_together"
        elif there and len(there) >= prepared.home_max_siblings[home]:
            reason = "sibling_limit"
            taken_by = tuple(prepared.children[s].id for s in there)
        else:
            reason = "costs_others"
        result.append(Alternative(prepared.homes[home].id, parts.total, parts, reason, taken_by))
    return result


def unmatched(prepared: PreparedProblem, placement: Placement) -> list[Unmatched]:
    everything = np.arange(len(prepared.homes))
    result = []
    entity_of = prepared.entity_of_child
    for child, home in sorted(placement.items()):
        if home is not None:
            continue
        remaining = np.ones(len(everything), dtype=bool)
        funnel = []
        for rule, mask in prepared.rule_masks(child, everything):
            funnel.append(FunnelStep(rule, int(np.count_nonzero(remaining & ~mask)),
                                     int(np.count_nonzero(remaining & mask))))
            remaining &= mask
        entity = prepared.entities[entity_of[child]]
        if entity.keep_together:
            whole = prepared.entity_suitable(entity, everything)
            funnel.append(FunnelStep("whole_sibling_group", int(np.count_nonzero(remaining & ~whole)),
                                     int(np.count_nonzero(remaining & whole))))
            remaining &= whole
        suitable = int(np.count_nonzero(remaining))
        record = prepared.children[child]
        result.append(Unmatched(record.id, record.urgency, record.sibling_group, len(everything),
                                tuple(funnel), suitable, suitable > 0))
    return result


def pressure(prepared: PreparedProblem, solution: ModelSolution, placement: Placement) -> list[Pressure]:
    """Per placement type and area: what one more place would save, from the LP capacity duals."""
    proposed: dict[int, int] = defaultdict(int)
    for placed in placement.values():
        if placed is not None:
            proposed[placed] += 1
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, record in enumerate(prepared.homes):
        groups[(record.placement_type, record.area or "")].append(index)
    result = []
    for (placement_type, area), homes in sorted(groups.items()):
        values = [(round(solution.capacity_value.get(h, 0.0), 6), h) for h in homes]
        best_value, best_home = max(values, key=lambda item: (item[0], -item[1]))
        result.append(Pressure(
            placement_type=placement_type,
            area=area,
            homes=len(homes),
            free_places=int(sum(prepared.home_free[h] for h in homes)),
            places_proposed=sum(proposed[h] for h in homes),
            extra_place_value=max(best_value, 0.0),
            best_home=prepared.homes[best_home].id if best_value > 0 else None,
        ))
    return result


def count_groups_split(prepared: PreparedProblem, placement: Placement) -> int:
    return groups_split(prepared, placement)
