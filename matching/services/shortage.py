"""The shortage report: who the latest run could not place, why, and where more places would help most.

Unmatched children are counted by placement type, need and area (the child's council), with the
hard rule that left each of them without a home (the first step of their funnel after which no
home remained). Capacity pressure is found by re-solving the run's own snapshot with one more
place (``matching.engine.extra_place_pressure``: one more free place at the existing home of a
type in an area that suits most of the unmatched children nearest it; the 5 type/area pairs with
the most unmatched demand), so each line says what that place would do: children placed, miles
and pounds a week for the children placed either way. Computed once per run (cached here).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.charts import bar_chart
from commissioning.models import Referral
from commissioning.vocabulary import NEEDS_AND_RISKS, PLACEMENT_TYPES
from matching.engine import ExtraPlace, extra_place_pressure, problem_from_json
from matching.models import MatchingRun, Proposal
from matching.services import explain, places
from matching.services.keys import HOME, id_of
from rcc.csv_files import write_csv
from rcc.models import Organisation

NO_NEED = "(none recorded)"


@dataclass
class ShortageLine:
    placement_type: str
    need: str
    area: str
    children: int = 0
    rules: Counter[str] = field(default_factory=Counter)

    @property
    def rules_text(self) -> str:
        return "; ".join(f"{explain.BINDING_RULE_LABELS.get(rule, rule)} ({count})"
                         for rule, count in sorted(self.rules.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True)
class PressureLine:
    """What one more place of a type in an area would do, by re-solving the run with it."""

    placement_type: str
    area: str
    home_id: int | None  # the home given one more place; None for a foster household
    home_name: str
    unmatched_demand: int
    children_placed: int
    miles_change: float  # over the children placed either way; negative saves miles
    weekly_cost_change: float  # pounds a week, same children; negative saves money
    optimal: bool

    @property
    def label(self) -> str:
        return f"{self.placement_type}, {self.area}"


@dataclass
class ShortageReport:
    run: MatchingRun | None
    lines: list[ShortageLine]
    pressure: list[PressureLine]
    unmatched_children: int
    rules: Counter[str]


def shortage_report(session: Session, run: MatchingRun | None) -> ShortageReport:
    if run is None or run.result is None:
        return ShortageReport(run, [], [], 0, Counter())
    proposals = list(session.scalars(select(Proposal).where(Proposal.run_id == run.id, Proposal.home_id.is_(None),
                                                              Proposal.foster_household_id.is_(None))
                                     .order_by(Proposal.id)))
    referrals = {r.id: r for r in session.scalars(select(Referral).where(
        Referral.id.in_([p.referral_id for p in proposals])))} if proposals else {}
    councils = {o.id: o.name for o in session.scalars(select(Organisation).where(
        Organisation.id.in_({p.council_id for p in proposals})))} if proposals else {}
    lines: dict[tuple[str, str, str], ShortageLine] = {}
    rules: Counter[str] = Counter()
    for proposal in proposals:
        referral = referrals.get(proposal.referral_id)
        if referral is None:
            continue
        rule = explain.binding_rule(proposal.funnel, proposal.all_taken)
        rules[rule] += 1
        kind = _type_label(referral.placement_type)
        area = councils.get(proposal.council_id, "")
        for need in [NEEDS_AND_RISKS.get(k, k) for k in referral.needs_and_risks] or [NO_NEED]:
            line = lines.setdefault((kind, need, area), ShortageLine(kind, need, area))
            line.children += 1
            line.rules[rule] += 1
    ordered = sorted(lines.values(), key=lambda line: (-line.children, line.placement_type, line.need, line.area))
    return ShortageReport(run, ordered, _pressure(session, run), len(proposals), rules)


_pressure_cache: OrderedDict[tuple[int, str], list[ExtraPlace]] = OrderedDict()
CACHED_RUNS = 16


def extra_places(run: MatchingRun) -> list[ExtraPlace]:
    """The engine's re-solved "one more place" figures for a finished run (cached per run)."""
    run_id = (int(run.id or 0), run.created_at.isoformat())  # a run's snapshot never changes
    if run_id not in _pressure_cache:
        assert run.problem is not None and run.result is not None
        proposals: dict[str, str | None] = {a["child"]: a["home"] for a in run.result.get("assignments", [])}
        proposals.update({u["child"]: None for u in run.result.get("unmatched", [])})
        _pressure_cache[run_id] = extra_place_pressure(problem_from_json(run.problem), proposals)
        while len(_pressure_cache) > CACHED_RUNS:
            _pressure_cache.popitem(last=False)
    return _pressure_cache[run_id]


def _pressure(session: Session, run: MatchingRun) -> list[PressureLine]:
    if run.problem is None or run.result is None:
        return []
    found = extra_places(run)
    names = places.places_by_key(session, {e.home for e in found})
    return [PressureLine(_type_label(e.placement_type), e.area or "(no area)",
                         id_of(e.home, HOME) if e.home.startswith(HOME) else None,
                         names[e.home].name if e.home in names else e.home, e.unmatched_demand,
                         e.children_placed_change, e.miles_change, e.weekly_cost_change, e.optimal) for e in found]


def pressure_chart(report: ShortageReport) -> Markup:
    return bar_chart("Children one more place would place",
                     [(line.label, line.children_placed) for line in report.pressure])


def _type_label(key: str) -> str:
    return PLACEMENT_TYPES[key].label if key in PLACEMENT_TYPES else key


# CSV ------------------------------------------------------------------------------------------

def shortage_csv(report: ShortageReport) -> str:
    header = ["section", "placement_type", "need", "area", "children_unmatched", "rules_that_excluded_homes",
              "one_more_place_at", "children_it_would_place", "miles_change", "weekly_cost_change_pounds"]
    unmatched = [("unmatched", line.placement_type, line.need, line.area, line.children, line.rules_text,
                  "", "", "", "") for line in report.lines]
    pressure = [("one_more_place", p.placement_type, "", p.area, p.unmatched_demand, "", p.home_name,
                 p.children_placed, f"{p.miles_change:.1f}", f"{p.weekly_cost_change:.2f}") for p in report.pressure]
    return write_csv(header, [*unmatched, *pressure])
