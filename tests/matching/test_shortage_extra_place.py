"""The shortage report's "one more place" figures equal an independent re-solve with that place."""

from __future__ import annotations

import dataclasses

from bs4 import BeautifulSoup
from sqlalchemy import select

from matching.engine import problem_from_json, solve
from matching.models import MatchingRun
from matching.services.keys import home_key
from rcc.geography import great_circle_miles
from tests.matching import builders


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_one_more_place_figures_equal_a_re_solve_with_that_place(signed_in_client, scenario, setup_session):
    # Two more children's-home referrals than places: they queue for Elm House and Oak Lodge.
    council = scenario.region.councils[0]
    builders.add_referral(setup_session, council, "COV-0004", postcode="CV1 2AB", initials="GH")
    builders.add_referral(setup_session, council, "COV-0005", postcode="CV6 1AA", initials="IJ", sex="M")
    setup_session.commit()
    officer = signed_in_client(scenario.officer)
    assert officer.post("/matching/runs/new", data={"scope": "all", "note": "Pressure"}).status_code == 302
    page = _soup(officer.get("/matching/shortage/"))
    rows = page.select("#pressure tbody tr")
    assert rows and page.select_one("svg[role=img] title").get_text() == "Children one more place would place"
    assert "value of one more place" not in page.get_text().lower()

    run = setup_session.scalars(select(MatchingRun)).one()
    problem = problem_from_json(run.problem)
    before = {a["child"]: a["home"] for a in run.result["assignments"]}
    before.update({u["child"]: None for u in run.result["unmatched"]})
    names = {home_key(h.id): h.name for h in scenario.homes}
    children = {c.id: c for c in problem.children}
    homes = {h.id: h for h in problem.homes}
    for row in rows:
        cells = [td.get_text(strip=True) for td in row.select("td")]
        home = next(key for key, name in names.items() if name == cells[1])
        extra = dataclasses.replace(problem, homes=tuple(
            dataclasses.replace(h, free_places=h.free_places + 1) if h.id == home else h for h in problem.homes))
        after = solve(extra).proposals()
        placed = sum(h is not None for h in after.values()) - sum(h is not None for h in before.values())
        both = [c for c in children if before[c] and after[c]]
        miles = sum(great_circle_miles(children[c].home_location, homes[after[c]].location)
                    - great_circle_miles(children[c].home_location, homes[before[c]].location) for c in both)
        pounds = sum(homes[after[c]].weekly_cost - homes[before[c]].weekly_cost for c in both)
        assert int(cells[3]) == placed == 1
        assert abs(float(cells[4]) - miles) <= 0.11
        assert cells[5].startswith(f"{pounds:+,.0f}")
    download = officer.get("/matching/shortage/download.csv").get_data(as_text=True)
    assert "one_more_place" in download
