"""Acceptance 1: the DfE's own rules (data-to-insight's 903 validator, in its own environment) over the export.

Generated years are imported as one history, a year is exported, and the validator finds 0 errors in it;
then known faults are seeded into a year's files and both the validator and the platform name each one at
the same row. Skipped only where the validator's environment is missing and this is not CI (CI makes it:
``make install`` runs ``make validator-env``).
"""

from __future__ import annotations

import csv
import io
import os

import pytest

from commissioning import ssda903_generate
from commissioning.services import ssda903, ssda903_validator
from commissioning.ssda903_files import Ssda903Error, read_episodes

if ssda903_validator.validator_python() is None:
    if os.environ.get("CI"):
        pytest.fail("CI must have the 903 validator: make validator-env", pytrace=False)
    pytest.skip("the 903 validator's environment is missing (make validator-env)", allow_module_level=True)

YEARS = (2023, 2024, 2025, 2026)


@pytest.fixture(scope="module")
def coventry_history():
    return ssda903_generate.timelines("Coventry", "331", YEARS[0], YEARS[-1], 400, seed=16)


def test_an_exported_year_passes_the_dfe_rules(session, region, coventry_history):
    council = region.councils[0]
    assert council.ons_code == "E08000026"
    for year in YEARS:
        header, episodes = ssda903_generate.year_files(coventry_history, year)
        ssda903.import_903(session, council, header, episodes, year=year)
    header, episodes = ssda903_generate.year_files(coventry_history, 2025)
    exported = ssda903.export_csv(session, council, 2025)
    assert read_episodes(exported.encode()) == read_episodes(episodes)  # row for row
    issues = ssda903_validator.validate(2025, council.ons_code, header, exported.encode())
    assert issues == []
    for year in (2024, 2026):  # and the rules of other years over other years' exports
        header, _ = ssda903_generate.year_files(coventry_history, year)
        exported = ssda903.export_csv(session, council, year)
        assert ssda903_validator.validate(year, council.ons_code, header, exported.encode()) == []


def seeded(episodes: bytes) -> tuple[bytes, dict[str, int]]:
    """The file with four faults put in; which row each is on, as a spreadsheet numbers them."""
    rows = list(csv.reader(io.StringIO(episodes.decode())))
    at: dict[str, int] = {}
    ended_open = next(i for i in range(1, len(rows)) if rows[i][7] == "")
    rows[ended_open][8] = "E13"  # a reason the episode ceased, but no end date
    at["REC"] = ended_open + 1
    unknown = next(i for i in range(1, len(rows)) if i != ended_open)
    rows[unknown][5] = "Q9"  # no such placement type
    at["PLACE"] = unknown + 1
    overlapped = rows[ended_open + 5]
    rows.append([overlapped[0], overlapped[1], "P", overlapped[3], overlapped[4], "U5", "PR4", "", "", "",
                 overlapped[10], overlapped[11], overlapped[12]])  # starts the same day as another episode
    at["overlap"] = len(rows)
    rows.append(["99999999", "01/06/2024", "S", "C2", "N1", "U4", "PR4", "", "", "", "CV1 2AB", "CV8 2LG",
                 "1249881"])  # a child the header does not have
    at["CHILD"] = len(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode(), at


def test_seeded_faults_are_found_by_the_dfe_rules_and_by_the_platform(session, region, coventry_history):
    council = region.councils[0]
    header, episodes = ssda903_generate.year_files(coventry_history, 2025)
    bad, at = seeded(episodes)
    found = {(issue.rule, issue.row) for issue in ssda903_validator.validate(2025, "E08000026", header, bad)}
    assert {("148", at["REC"]), ("146", at["PLACE"]), ("INT03", at["CHILD"])} <= found
    assert any(rule in ("501", "502", "142") and row == at["overlap"] for rule, row in found)
    with pytest.raises(Ssda903Error) as caught:
        ssda903.import_903(session, council, header, bad, year=2025)
    named = {(p.row, p.field) for p in caught.value.problems}
    assert {(at["REC"], "REC (episodes)"), (at["PLACE"], "PLACE (episodes)"),
            (at["CHILD"], "CHILD (episodes)"), (at["overlap"], "DECOM (episodes)")} <= named


def test_a_file_the_validator_cannot_read_is_a_plain_refusal():
    """The validator's refusal of a file it cannot read is a plain message, not a crash."""
    with pytest.raises(ssda903_validator.ValidatorUnavailable):
        ssda903_validator.validate(2025, "E08000026", b"NOT,A,903,FILE\n1,2,3,4\n", b"A,B\n1,2\n")
