"""The proposal page says what choosing each runner-up would cost the other children, and it is true."""

from __future__ import annotations

import itertools

from bs4 import BeautifulSoup
from sqlalchemy import select

from matching.engine import evaluate, hard_rules_broken, problem_from_json
from matching.models import MatchingRun, Proposal
from matching.services.keys import child_key
from rcc.geography import great_circle_miles


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _best_with(problem, child: str, home: str) -> dict[str, str | None]:
    """Brute force: the best placement of the whole run with ``child`` in ``home``."""
    homes = [h.id for h in problem.homes]
    best, found = None, None
    for choice in itertools.product([None, *homes], repeat=len(problem.children)):
        proposals = {c.id: h for c, h in zip(problem.children, choice, strict=True)}
        if proposals[child] != home or hard_rules_broken(problem, proposals):
            continue
        value = evaluate(problem, proposals)
        if best is None or value < best:
            best, found = value, proposals
    assert found is not None
    return found


def test_each_runner_up_shows_the_re_solved_cost_to_the_other_children(signed_in_client, scenario, setup_session):
    officer = signed_in_client(scenario.officer)
    assert officer.post("/matching/runs/new", data={"scope": "all", "note": "Costs"}).status_code == 302
    run = setup_session.scalars(select(MatchingRun)).one()
    problem = problem_from_json(run.problem)
    proposed = {a["child"]: a["home"] for a in run.result["assignments"]}
    proposed.update({u["child"]: None for u in run.result["unmatched"]})
    homes = {h.id: h for h in problem.homes}
    children = {c.id: c for c in problem.children}
    checked = 0
    for proposal in setup_session.scalars(select(Proposal).where(Proposal.home_id.is_not(None))):
        page = _soup(officer.get(f"/matching/proposals/{proposal.id}"))
        assert "Scored worse for this child" not in page.get_text() and "better overall" not in page.get_text()
        rows = page.select("#alternatives tbody tr")
        assert len(rows) == len(proposal.alternatives) >= 1
        for row, alternative in zip(rows, proposal.alternatives, strict=True):
            sentence = row.select("td")[-1].get_text(" ", strip=True)
            after = _best_with(problem, child_key(proposal.referral_id), alternative["home"])
            others = [c for c in children if c != child_key(proposal.referral_id)
                      and proposed[c] is not None and after[c] is not None]
            miles = sum(great_circle_miles(children[c].home_location, homes[after[c]].location)
                        - great_circle_miles(children[c].home_location, homes[proposed[c]].location) for c in others)
            unplaced = [c for c in children if proposed[c] is not None and after[c] is None]
            assert ("unplaced" in sentence) == bool(unplaced), sentence
            if abs(miles) >= 0.1:
                assert f"{'add' if miles > 0 else 'save'} {abs(miles):,.1f} miles" in sentence, (sentence, miles)
            checked += 1
    assert checked >= 2
