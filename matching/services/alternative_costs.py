"""What choosing a runner-up home instead would cost the region, from the run's stored snapshot.

``compare_alternative`` re-solves the run's own problem with the child fixed to the runner-up;
the answer depends only on the stored snapshot and result, so it is cached per run (in this
process, a bounded number of entries).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.models import Child, Referral
from matching.engine import AlternativeCost, ProblemError, compare_alternative, describe, problem_from_json
from matching.models import MatchingRun, Proposal
from matching.services.keys import CHILD, child_key, id_of

CACHE_ENTRIES = 512
_cache: OrderedDict[tuple[int, str, str, str], AlternativeCost | str] = OrderedDict()


@dataclass(frozen=True)
class AlternativeCostLine:
    home_id: str  # the runner-up's place key: "H7" (a home) or "F4" (a foster household)
    cost: AlternativeCost | None
    sentence: str  # only what the figures say; or why it could not be computed


def _cached(run: MatchingRun, child: str, home: str) -> AlternativeCost | str:
    key = (int(run.id or 0), run.created_at.isoformat(), child, home)  # a run's snapshot never changes
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    assert run.problem is not None and run.result is not None
    proposals: dict[str, str | None] = {a["child"]: a["home"] for a in run.result.get("assignments", [])}
    proposals.update({u["child"]: None for u in run.result.get("unmatched", [])})
    try:
        found: AlternativeCost | str = compare_alternative(problem_from_json(run.problem), proposals, child, home)
    except ProblemError as error:
        found = f"Cannot be compared: {error}"
    _cache[key] = found
    while len(_cache) > CACHE_ENTRIES:
        _cache.popitem(last=False)
    return found


def alternative_costs(session: Session, proposal: Proposal, home_names: dict[str, str]
                      ) -> tuple[list[AlternativeCostLine], list[Referral]]:
    """For each runner-up of a placed child: the re-solved cost of choosing it instead, in words,
    and the referrals whose child is named in those words (for the page to audit the read).

    Children who would lose out are named by their reference only when this session may see
    their referral (row-level security decides); anyone else is "a child of another council".
    """
    run = session.get(MatchingRun, proposal.run_id)
    if run is None or run.problem is None or run.result is None or proposal.place_key is None:
        return [], []
    child = child_key(proposal.referral_id)
    lines = []
    costs = {}
    for alternative in proposal.alternatives:
        key = str(alternative["home"])
        costs[key] = _cached(run, child, key)
    losers = {c.child for cost in costs.values() if not isinstance(cost, str) for c in cost.losers}
    names, shown = _visible_references(session, losers)
    for home_id, cost in costs.items():
        if isinstance(cost, str):
            lines.append(AlternativeCostLine(home_id, None, cost))
        else:
            lines.append(AlternativeCostLine(home_id, cost, describe(
                cost, home_name=home_names.get(home_id, "this home"), child_name=names,
                unnamed="a child of another council")))
    return lines, shown


def _visible_references(session: Session, keys: set[str]) -> tuple[dict[str, str], list[Referral]]:
    ids = [id_of(k, CHILD) for k in keys]
    if not ids:
        return {}, []
    rows = session.execute(select(Referral, Child.reference).join(Child, Child.id == Referral.child_id)
                           .where(Referral.id.in_(ids)).order_by(Referral.id)).all()
    return {child_key(int(referral.id or 0)): reference for referral, reference in rows}, [r for r, _ in rows]
