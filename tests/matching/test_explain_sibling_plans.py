"""The proposal page's words for a sibling whose plan is apart."""

from __future__ import annotations

from matching.engine import SiblingGroup, solve
from tests.matching.engine.engine_builders import child, home, problem


def test_an_apart_sibling_is_explained_as_apart_by_plan_not_as_a_split():
    from matching.engine import result_to_json
    from matching.services.explain import part_lines

    children = [child("A", sibling_group="G"), child("B", sibling_group="G")]
    result = solve(problem(children, [home("H1"), home("H2", 5)], [SiblingGroup("G", plan="apart")]))
    parts = result_to_json(result)["assignments"][0]["parts"]
    assert parts["sibling_plan"] == "apart" and parts["points"]["sibling_split"] == 0
    line = next(p for p in part_lines(parts) if p.label == "Siblings together")
    assert (line.figure, line.points) == ("No: apart, as the plan says", 0)
