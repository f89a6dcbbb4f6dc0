"""The JSON contract, the command line, and the engine's independence from the web stack."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from matching.engine import (
    ProblemError,
    SiblingGroup,
    problem_from_json,
    problem_to_json,
    result_to_json,
    solve,
)
from tests.matching.engine.engine_builders import child, home, problem

ROOT = Path(__file__).resolve().parents[3]
ENGINE = ROOT / "matching" / "engine"
EXAMPLE = ENGINE / "example_problem.json"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "matching.engine", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_importing_the_engine_loads_no_web_or_database_library():
    code = ("import sys, matching.engine; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'sqlmodel')))")
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_cli_solves_the_documented_example_to_a_file(tmp_path):
    out = tmp_path / "result.json"
    completed = run_cli("solve", str(EXAMPLE), "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    result = json.loads(out.read_text())
    assert {"status", "objective", "assignments", "unmatched", "pressure", "seconds"} <= set(result)
    assert result["status"] == "optimal"
    placed = {a["child"]: a["home"] for a in result["assignments"]}
    # The siblings go together to the only foster home with room for both; C-77d0 excludes P-ACME.
    assert placed == {"C-4f2a": "H-101", "C-9b31": "H-101", "C-77d0": "H-201"}
    first = result["assignments"][0]
    assert {"child", "home", "score", "parts", "rank", "alternatives"} <= set(first)


def test_cli_writes_only_json_to_stdout():
    completed = run_cli("solve", str(EXAMPLE))
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["status"] == "optimal"


def test_cli_rejects_invalid_input_naming_record_and_field(tmp_path):
    document = json.loads(EXAMPLE.read_text())
    document["homes"][1]["free_places"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    completed = run_cli("solve", str(bad))
    assert completed.returncode == 2
    assert "homes[1] 'H-102'" in completed.stderr and "free_places" in completed.stderr
    assert completed.stdout == ""


@pytest.mark.parametrize(("change", "record", "field"), [
    (lambda d: d["children"][0].update(age="nine"), "children[0] 'C-4f2a'", "age"),
    (lambda d: d["children"][2].update(urgency="soon"), "children[2] 'C-77d0'", "urgency"),
    (lambda d: d["children"][1].pop("home_location"), "children[1] 'C-9b31'", "home_location"),
    (lambda d: d["children"][1].update(sibling_group="G-404"), "children[1] 'C-9b31'", "sibling_group"),
    (lambda d: d["children"][0]["home_location"].update(latitude=123), "children[0] 'C-4f2a'",
     "home_location.latitude"),
    (lambda d: d["homes"][0].update(block_places=3), "homes[0] 'H-101'", "block_places"),
    (lambda d: d["homes"][2].update(ofsted_rating="fine"), "homes[2] 'H-201'", "ofsted_rating"),
    (lambda d: d["homes"][3].update(colour="blue"), "homes[3] 'H-202'", "colour"),
    (lambda d: d["homes"].append(dict(d["homes"][0])), "homes[4] 'H-101'", "id"),
    (lambda d: d["weights"].update(home_miles=-1), "weights", "home_miles"),
])
def test_invalid_problems_name_record_and_field(change, record, field):
    document = json.loads(EXAMPLE.read_text())
    change(document)
    with pytest.raises(ProblemError) as error:
        problem_from_json(document)
    assert (error.value.record, error.value.field) == (record, field)
    assert record in str(error.value) and field in str(error.value)


def test_a_stored_snapshot_re_solves_to_identical_proposals():
    original = problem([child("A", 0, sibling_group="G"), child("B", 1, sibling_group="G"), child("C", 5)],
                       [home("H1", 2, free_places=2), home("H2", 4), home("H3", 9)],
                       [SiblingGroup("G", plan="together")])
    snapshot = json.loads(json.dumps(problem_to_json(original)))
    restored = problem_from_json(snapshot)
    assert restored == original
    first, again = result_to_json(solve(original)), result_to_json(solve(restored))
    for document in (first, again):
        document.pop("seconds")
    assert first == again


def test_schema_describes_every_field_the_parser_accepts():
    from matching.engine import Child, Home, SolveOptions, Weights

    schema = json.loads((ENGINE / "problem.schema.json").read_text())
    definitions = schema["$defs"]
    for name, record in (("child", Child), ("home", Home), ("weights", Weights), ("options", SolveOptions)):
        assert set(definitions[name]["properties"]) == {f.name for f in dataclasses.fields(record)}, name
    for name, key in (("child", "children"), ("home", "homes")):
        example_keys = set().union(*json.loads(EXAMPLE.read_text())[key])
        assert example_keys <= set(definitions[name]["properties"])


def test_readme_example_is_the_shipped_example():
    readme = (ROOT / "matching" / "README.md").read_text()
    block = readme.split("```json", 1)[1].split("```", 1)[0]
    assert json.loads(block) == json.loads(EXAMPLE.read_text())


@pytest.mark.parametrize(("change", "record", "field"), [
    (lambda d: d["children"][0].update(placement_types=["foster_care", "boarding"]), "children[0] 'C-4f2a'",
     "placement_types"),
    (lambda d: d["children"][0].update(needs=["trauma"]), "children[0] 'C-4f2a'", "needs"),
    (lambda d: d["children"][2].update(risk_flags=["arson"]), "children[2] 'C-77d0'", "risk_flags"),
    (lambda d: d["homes"][0].update(placement_type="hostel"), "homes[0] 'H-101'", "placement_type"),
    (lambda d: d["homes"][0].update(needs_met=["autism"]), "homes[0] 'H-101'", "needs_met"),
    (lambda d: d["children"][0].update(preferred_placement_types=["secure"]), "children[0] 'C-4f2a'",
     "preferred_placement_types"),
    (lambda d: d["children"][0].update(in_house_bonus=-5), "children[0] 'C-4f2a'", "in_house_bonus"),
    (lambda d: d["sibling_groups"][0].update(plan="keep_together"), "sibling_groups[0] 'G-17'", "plan"),
    (lambda d: d["sibling_groups"][0].update(keep_together=True), "sibling_groups[0] 'G-17'", "keep_together"),
    (lambda d: d["children"][1].update(sibling_group=["G-17"]), "children[1] 'C-9b31'", "sibling_group"),
    (lambda d: d["homes"][0].update(council=["LA"]), "homes[0] 'H-101'", "council"),
    (lambda d: d["homes"][0].update(allow_inadequate="yes"), "homes[0] 'H-101'", "allow_inadequate"),
])
def test_closed_vocabularies_and_new_fields_name_record_and_field(change, record, field):
    document = json.loads(EXAMPLE.read_text())
    change(document)
    with pytest.raises(ProblemError) as error:
        problem_from_json(document)
    assert (error.value.record, error.value.field) == (record, field)


def test_schema_closes_the_vocabularies_the_validator_closes():
    from matching.engine.model import NEEDS, PLACEMENT_TYPES, RISK_FLAGS, SIBLING_PLANS

    definitions = json.loads((ENGINE / "problem.schema.json").read_text())["$defs"]
    assert definitions["placement_type"]["enum"] == list(PLACEMENT_TYPES)
    assert definitions["need"]["enum"] == list(NEEDS)
    assert definitions["risk_flag"]["enum"] == list(RISK_FLAGS)
    assert definitions["sibling_group"]["properties"]["plan"]["enum"] == list(SIBLING_PLANS)


def _example_with_first_group_member_id(value) -> str:
    document = json.loads(EXAMPLE.read_text())
    document["children"][0]["id"] = value
    return json.dumps(document)


@pytest.mark.parametrize(("name", "content", "words"), [
    ("latin1", "{\"children\": [{\"id\": \"Zoë\"}]}".encode("latin-1"), "not UTF-8"),
    ("nested", ("[" * 100_000 + "]" * 100_000).encode(), "nested too deeply"),
    ("nested_object", ("{\"a\":" * 50_000 + "1" + "}" * 50_000).encode(), "nested too deeply"),
    ("list_id", _example_with_first_group_member_id(["C-4f2a"]).encode(), "children[0]"),
    ("list_group", json.dumps({**json.loads(EXAMPLE.read_text()),
                               "sibling_groups": [{"id": ["G-17"]}]}).encode(), "sibling_groups[0]"),
    ("list_excluded_home", json.dumps({**json.loads(EXAMPLE.read_text()),
                                       "children": [{**json.loads(EXAMPLE.read_text())["children"][2],
                                                     "excluded_homes": [["H-201"]]}]}).encode(), "excluded_homes"),
])
def test_malformed_input_is_one_line_on_stderr_and_exit_2(tmp_path, name, content, words):
    bad = tmp_path / f"{name}.json"
    bad.write_bytes(content)
    completed = run_cli("solve", str(bad))
    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr
    assert words in completed.stderr
