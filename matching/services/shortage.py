"""The shortage report: who the latest run could not place, why, and where more places would help most.

Unmatched children are counted by placement type, need and area (the child's council), with the
hard rule that left each of them without a home (the first step of their funnel after which no
home remained). The engine's capacity pressure says, per placement type and area, how many
objective points one more place would save: the evidence for what the RCC should commission.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.models import Referral
from commissioning.vocabulary import NEEDS_AND_RISKS, PLACEMENT_TYPES
from matching.models import MatchingRun, Proposal
from matching.services import explain
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
    placement_type: str
    area: str
    homes: int
    free_places: int
    places_proposed: int
    extra_place_value: float


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
    proposals = list(session.scalars(select(Proposal).where(Proposal.run_id == run.id, Proposal.home_id.is_(None))
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
    return ShortageReport(run, ordered, _pressure(run.result), len(proposals), rules)


def _pressure(result: dict[str, Any]) -> list[PressureLine]:
    found = [PressureLine(_type_label(p["placement_type"]), p["area"] or "(no area)", p["homes"], p["free_places"],
                          p["places_proposed"], float(p["extra_place_value"] or 0.0))
             for p in result.get("pressure", [])]
    return sorted(found, key=lambda p: (-p.extra_place_value, p.placement_type, p.area))


def _type_label(key: str) -> str:
    return PLACEMENT_TYPES[key].label if key in PLACEMENT_TYPES else key


# CSV ------------------------------------------------------------------------------------------

def shortage_csv(report: ShortageReport) -> str:
    header = ["section", "placement_type", "need", "area", "children_unmatched", "rules_that_excluded_homes",
              "homes", "free_places", "places_proposed", "extra_place_value_points"]
    unmatched = [("unmatched", line.placement_type, line.need, line.area, line.children, line.rules_text,
                  "", "", "", "") for line in report.lines]
    pressure = [("capacity_pressure", p.placement_type, "", p.area, "", "", p.homes, p.free_places,
                 p.places_proposed, f"{p.extra_place_value:.1f}") for p in report.pressure]
    return write_csv(header, [*unmatched, *pressure])
