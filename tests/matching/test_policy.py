"""The RCC's matching policy: presets, the trade-off in plain terms, versions and their audit, each
run recording the policy it used, and a run repeated with another policy compared side by side."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from matching.models import MatchingPolicy, MatchingRun
from matching.services import policy
from rcc import numbers
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.errors import FieldErrors
from rcc.models import AuditEvent


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _form(**changes: str) -> dict[str, str]:
    values = {name: str(value) for name, value in policy.PRESETS["balanced"][1].items()}
    return {**values, **changes}


def test_the_trade_off_is_computed_from_the_weights():
    assert policy.trade_off(policy.DEFAULTS) == "1 mile nearer the child's home is worth £100 a week."
    closest = policy.PolicyValues.of(policy.PRESETS["closest"][1])
    assert policy.trade_off(closest) == "1 mile nearer the child's home is worth £1,000 a week."
    cheap = policy.PolicyValues.of(policy.PRESETS["lowest_cost"][1])
    assert policy.trade_off(cheap) == "1 mile nearer the child's home is worth £10 a week."
    odd = policy.PolicyValues.of(_form(home_miles="7", cost_per_100_pounds="3"))
    assert policy.trade_off(odd) == "1 mile nearer the child's home is worth £233.33 a week."
    assert "not weighed" in policy.trade_off(policy.PolicyValues.of(_form(cost_per_100_pounds="0")))
    weights = policy.weights_of(policy.DEFAULTS)
    assert (weights.home_miles, weights.weekly_cost, weights.rating) == (10.0, 0.1, 1.0)


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("home_miles", "ten", "must be a whole number"),
    ("school_miles", "2.5", "must be a whole number"),
    ("cost_per_100_pounds", "1001", "must be from 0 to 1,000"),
    ("rating_percent", "-1", "must be from 0 to 1,000"),
    ("block_place_credit", "", "Enter points saved"),
    ("sibling_split", "100001", "must be from 0 to 100,000"),
])
def test_each_bad_field_is_named(field, typed, message):
    with pytest.raises(FieldErrors) as caught:
        policy.parse(_form(**{field: typed}))
    assert set(caught.value.errors) == {field}
    assert message in caught.value.errors[field]


def test_saving_versions_the_policy_and_a_run_records_it(app, session_for, signed_in_client, scenario, setup_session):
    client = signed_in_client(scenario.officer)
    page = _soup(client.get("/matching/policy"))
    assert "£100 a week" in page.select_one("#trade-off").get_text()
    prefilled = _soup(client.get("/matching/policy?preset=closest"))
    assert prefilled.select_one("#home_miles")["value"] == "30"

    bad = client.post("/matching/policy", data=_form(home_miles="lots", school_miles="1.5"))
    assert bad.status_code == 400
    summary = {a["href"] for a in _soup(bad).select(".govuk-error-summary a")}
    assert summary == {"#home_miles", "#school_miles"}
    assert setup_session.scalar(select(func.count(MatchingPolicy.id))) == 0

    saved = client.post("/matching/policy", data=_form(**{k: str(v) for k, v in policy.PRESETS["closest"][1].items()},
                                                       note="Keep children near school"))
    assert saved.status_code == 302, saved.get_data(as_text=True)[:1500]
    first = setup_session.scalars(select(MatchingPolicy)).one()
    assert (first.version, first.preset, first.home_miles) == (1, "closest", 30)
    assert setup_session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == AuditAction.MATCHING_POLICY_SAVED.value)) == 1
    page = _soup(client.get("/matching/policy"))
    assert "Version 1 (Closest to home)" in page.select_one("#current-policy").get_text()
    assert "£1,000 a week" in page.select_one("#trade-off").get_text()

    started = client.post("/matching/runs/new", data={"scope": "all"})
    assert started.status_code == 302
    setup_session.expire_all()
    run = setup_session.scalars(select(MatchingRun).order_by(MatchingRun.id.desc())).first()
    assert run.policy_id == first.id
    assert run.problem["weights"]["home_miles"] == 30 and run.problem["weights"]["weekly_cost"] == 0.03
    shown = _soup(client.get(started.headers["Location"])).select_one("#run-policy").get_text()
    assert "Version 1 (Closest to home)" in shown and "£1,000 a week" in shown


def test_a_run_repeated_with_another_policy_is_compared_side_by_side(app, session_for, signed_in_client, scenario,
                                                                     setup_session):
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        cheap = policy.save_policy(session, officer.rcc_id, _form(**{
            k: str(v) for k, v in policy.PRESETS["lowest_cost"][1].items()}))
    client = signed_in_client(officer)
    first = client.post("/matching/runs/new", data={"scope": "all"}).headers["Location"]
    with transaction(session):
        near = policy.save_policy(session, officer.rcc_id, _form(**{
            k: str(v) for k, v in policy.PRESETS["closest"][1].items()}))
    run_id = int(first.rsplit("/", 1)[1])
    page = _soup(client.get(first))
    assert {o["value"] for o in page.select("#policy_id option")} == {str(cheap.id), str(near.id)}

    refused = client.post(f"/matching/runs/{run_id}/repeat", data={"policy_id": "99999"})
    assert refused.status_code == 400
    repeated = client.post(f"/matching/runs/{run_id}/repeat", data={"policy_id": str(near.id)})
    assert repeated.status_code == 302, repeated.get_data(as_text=True)[:1500]
    setup_session.expire_all()
    old, new = setup_session.get(MatchingRun, run_id), setup_session.scalars(
        select(MatchingRun).where(MatchingRun.repeat_of_run_id == run_id)).one()
    assert (old.policy_id, new.policy_id) == (cheap.id, near.id)
    # The same snapshot, only the weights differ.
    assert {k: v for k, v in old.problem.items() if k != "weights"} == \
        {k: v for k, v in new.problem.items() if k != "weights"}
    assert old.problem["weights"] != new.problem["weights"]
    assert setup_session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == AuditAction.MATCHING_RUN_REPEATED.value)) == 1

    compared = _soup(client.get(f"/matching/runs/{new.id}/compare"))
    table = compared.select_one("#comparison").get_text(" ", strip=True)
    for item in (old, new):
        figures = policy.figures(item)
        assert f"{figures.placed} of {figures.children}" in table
        assert f"{figures.miles_from_home:,.1f}" in table
        assert numbers.pounds(figures.weekly_cost * 100) in table
    assert "Version 1 (Lowest cost)" in table and "Version 2 (Closest to home)" in table
    assert client.get(f"/matching/runs/{run_id}/compare").status_code == 404


def test_figures_add_up_the_result():
    run = MatchingRun(id=7, rcc_id=1, organisation_id=1, problem={"children": [
        {"id": "C1", "sibling_group": "G1"}, {"id": "C2", "sibling_group": "G1"}, {"id": "C3", "sibling_group": "G2"},
        {"id": "C4", "sibling_group": "G2"}, {"id": "C5"}]},
        result={"assignments": [
            {"child": "C1", "home": "H1", "parts": {"miles_from_home": 1.25, "weekly_cost": 100.0}},
            {"child": "C2", "home": "H1", "parts": {"miles_from_home": 2.0, "weekly_cost": 100.0}},
            {"child": "C3", "home": "H2", "parts": {"miles_from_home": 3.0, "weekly_cost": 50.5}},
            {"child": "C4", "home": "H3", "parts": {"miles_from_home": 4.0, "weekly_cost": 50.0}}],
            "unmatched": [{"child": "C5"}]})
    assert policy.figures(run) == policy.RunFigures(7, 5, 4, 10.2, 300.5, 2, 1)


def test_two_saves_at_the_same_moment_lose_one_with_a_409_not_a_500(app, signed_in_client, scenario, setup_session,
                                                                 monkeypatch):
    """Both read the same newest version and write the next: the second's unique version is refused. The
    page let that Conflict through as a 500; it says nothing was saved, as the API does."""
    real = policy.save_policy

    def meanwhile(session, rcc_id, values, note=""):  # type: ignore[no-untyped-def]
        # Another officer's save of the next version, not yet flushed, as if it had committed first.
        session.add(MatchingPolicy(rcc_id=rcc_id, organisation_id=rcc_id, version=1, preset="", note="",
                                   **policy.DEFAULTS.as_dict()))
        with session.no_autoflush:
            return real(session, rcc_id, values, note)

    monkeypatch.setattr(policy, "save_policy", meanwhile)
    client = signed_in_client(scenario.officer)
    lost = client.post("/matching/policy", data=_form(note="Mine"))
    assert lost.status_code == 409, lost.get_data(as_text=True)[:300]
    assert "nothing was saved" in _soup(lost).get_text()
    assert setup_session.scalar(select(func.count(MatchingPolicy.id))) == 0
