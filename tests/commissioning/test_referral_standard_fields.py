"""Referral fields follow the Placements Data Standard v2: suitability per placement type, the
standard's requirements and risks, and the needs matching compares with homes derived from them."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from alembic import command
from bs4 import BeautifulSoup
from sqlalchemy import create_engine, text

from commissioning.services import referrals
from commissioning.vocabulary import NEEDS_AND_RISKS, RISKS, STANDARD_PLACEMENT_TYPES
from matching.services.snapshot import build_problem
from rcc.errors import FieldErrors
from rcc.migration_support import alembic_config
from rcc.models import utcnow
from rcc.roles import Role
from tests.commissioning.world import child_details, referral_details

DICTIONARY = Path(__file__).parents[2] / "commissioning" / "standards" / "placements.json"


def make(session, region, reference="PDS-1", child=None, **changes):
    referral = referrals.create_referral(session, region.councils[0], child or child_details(reference),
                                         referral_details(**changes))
    session.flush()
    return referral


def test_allowed_and_preferred_types_follow_the_suitabilities_and_reach_matching(session, region):
    referral = make(session, region, placement_type="", suitability={
        "foster": "suitable", "residential": "preferred", "supported_accommodation": "unsuitable"})
    assert referral.allowed_placement_types() == {"foster_care", "childrens_home", "residential_school"}
    assert referral.preferred_placement_types() == {"childrens_home", "residential_school"}
    assert referral.placement_type == "childrens_home"  # the first preferred type, looked for first
    problem = build_problem(session, [referral], utcnow())
    assert problem.children[0].placement_types == referral.allowed_placement_types()
    assert problem.children[0].preferred_placement_types == {"childrens_home", "residential_school"}


def test_not_specified_is_allowed_but_not_preferred_and_a_specialist_type_stands_alone(session, region):
    open_minded = make(session, region, "PDS-2", placement_type="", suitability={
        "foster": "preferred", "residential": "not_specified", "supported_accommodation": "unsuitable"})
    assert open_minded.allowed_placement_types() == {"foster_care", "childrens_home", "residential_school"}
    assert open_minded.preferred_placement_types() == {"foster_care"}
    secure = make(session, region, "PDS-3", placement_type="secure", dol_order_needed=True, suitability={
        "foster": "suitable", "residential": "preferred", "supported_accommodation": "unsuitable"})
    assert secure.allowed_placement_types() == {"secure"} == secure.preferred_placement_types()


def test_a_type_named_alone_is_preferred_and_the_others_unsuitable(session, region):
    referral = make(session, region, "PDS-4", placement_type="foster_care")
    assert (referral.foster_suitability, referral.residential_suitability,
            referral.supported_accommodation_suitability) == ("preferred", "unsuitable", "unsuitable")
    assert referral.allowed_placement_types() == {"foster_care"}


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"placement_type": "", "suitability": {k: "unsuitable" for k in STANDARD_PLACEMENT_TYPES}},
     "foster_suitability", "must not be unsuitable"),
    ({"placement_type": "childrens_home", "suitability": {"foster": "preferred", "residential": "unsuitable",
                                                          "supported_accommodation": "unsuitable"}},
     "placement_type", "marked unsuitable"),
    ({"suitability": {"foster": "maybe", "residential": "preferred", "supported_accommodation": "unsuitable"}},
     "foster_suitability", "foster care"),
    ({"communication_needs": "yes", "communication_requirements": []}, "communication_requirements", "Select"),
    ({"communication_needs": "no", "communication_requirements": ["bsl"]}, "communication_requirements", "'Yes'"),
    ({"communication_requirements": ["semaphore"]}, "communication_requirements", "semaphore"),
    ({"pets": "a cat"}, "pets", "pets"),
    ({"living_companions": "alone"}, "living_companions", "alongside"),
    ({"cultural_needs": "maybe"}, "cultural_needs", "cultural"),
    ({"additional_support": "a pony"}, "additional_support", "additional support"),
    ({"risk_flags": ["radicalisation"]}, "risk_flags", "radicalisation"),
    ({"placement_type": "", "suitability": None}, "placement_type", "how suitable"),
])
def test_bad_answers_are_named_and_nothing_is_saved(session, region, changes, field, words):
    with pytest.raises(FieldErrors) as refused:
        make(session, region, "PDS-BAD", **changes)
    assert words in refused.value.errors[field]


def test_supported_accommodation_cannot_be_suitable_under_16(session, region):
    with pytest.raises(FieldErrors) as refused:
        make(session, region, "PDS-5", placement_type="", suitability={
            "foster": "preferred", "residential": "suitable", "supported_accommodation": "suitable"})
    assert "16 or 17" in refused.value.errors["supported_accommodation_suitability"]


def test_matching_needs_come_from_the_standard_answers(session, region):
    referral = make(session, region, "PDS-6", communication_needs="yes", communication_requirements=["bsl", "other"],
                    home_adaptation=True, cultural_needs="required", living_companions="solo", pets="no",
                    additional_support="taxis_to_school", risk_flags=["fire_setting", "self_harm"],
                    risk_to_child_other="Online grooming")
    assert referral.needs == ["communication_bsl", "communication_other", "home_adaptation", "cultural_needs",
                              "solo_placement", "no_pets", "taxis_to_school"]
    assert referral.risk_flags == ["self_harm", "fire_setting"]  # the standard's order
    assert set(referral.needs_and_risks) <= set(NEEDS_AND_RISKS)
    no_needs = make(session, region, "PDS-7", communication_needs="no", pets="can", additional_support="not_applicable")
    assert no_needs.needs == [] and no_needs.communication_requirements == ["none"]


def test_every_option_is_the_dictionarys_word_for_word():
    dictionary = {f["name"]: f for e in json.loads(DICTIONARY.read_text())["entities"] for f in e["fields"]}
    from commissioning import vocabulary as v  # noqa: PLC0415
    pairs = [("communicationNeeds", v.COMMUNICATION_NEEDS), ("specificCommunicationRequirements",
             v.COMMUNICATION_REQUIREMENTS), ("culturalNeeds", v.CULTURAL_NEEDS), ("livingCompanions",
             v.LIVING_COMPANIONS), ("pets", v.PETS), ("additionalSupport", v.ADDITIONAL_SUPPORT),
             *((t.field, v.SUITABILITIES) for t in v.STANDARD_PLACEMENT_TYPES.values())]
    for name, options in pairs:
        assert [o.standard for o in options.values()] == dictionary[name]["options"], name
    assert sorted(t.standard for t in v.STANDARD_PLACEMENT_TYPES.values()) == sorted(
        dictionary["placementType"]["options"])
    risk_fields = {name for name, f in dictionary.items() if f.get("options") == [v.NO_KNOWN_RISK, v.RISK_PRESENT]}
    assert {r.field for r in RISKS.values()} == risk_fields


def _form(reference, **changes):
    data = {"reference": reference, "birth_month": "5", "birth_year": str(date.today().year - 13), "sex": "F",
            "legal_status": "C2", "category_of_need": "N1", "home_postcode": "CV1 2AB", "urgency": "planned",
            "date_needed": (date.today() + timedelta(days=9)).strftime("%d/%m/%Y"),
            "foster_suitability": "preferred", "residential_suitability": "suitable",
            "supported_accommodation_suitability": "unsuitable", "communication_needs": "yes",
            "communication_requirements": ["makaton"], "home_adaptation": "no", "cultural_needs": "required",
            "living_companions": "younger_only", "pets": "must", "education_continuity": "yes",
            "preferred_location": "North Coventry", **{f"risk_{key}": "no_known_risk" for key in RISKS},
            "risk_going_missing": "risk_present", "risk_to_child_other": "Spends nights away"}
    data.update(changes)
    return data


def test_the_form_asks_the_standards_questions_and_saves_the_answers(app, region, signed_in_client, setup_session):
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    blank = BeautifulSoup(officer.get("/referrals/new").get_data(as_text=True), "html.parser")
    assert len(blank.select("input[name=foster_suitability][type=radio]")) == 4
    assert len(blank.select("input[name=communication_requirements][type=checkbox]")) == 5
    for key in RISKS:
        assert len(blank.select(f"input[name=risk_{key}][type=radio]")) == 2

    missing = officer.post("/referrals/new", data=_form("FORM-1", risk_fire_setting=""))
    summary = BeautifulSoup(missing.get_data(as_text=True), "html.parser").select_one(".govuk-error-summary")
    assert "fire-setting" in summary.get_text()

    saved = officer.post("/referrals/new", data=_form("FORM-1"))
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    shown = BeautifulSoup(officer.get(saved.headers["Location"]).get_data(as_text=True), "html.parser").get_text()
    for words in ("Suitable but not preferred", "Makaton", "Only with other younger children", "Going missing",
                  "Spends nights away", "North Coventry", "A home with pets"):
        assert words in shown
    referral_id = int(saved.headers["Location"].rstrip("/").split("/")[-1])
    edit = BeautifulSoup(officer.get(f"/referrals/{referral_id}/edit").get_data(as_text=True), "html.parser")
    assert edit.select_one("input[name=risk_going_missing][value=risk_present]").has_attr("checked")
    assert edit.select_one("input[name=communication_requirements][value=makaton]").has_attr("checked")


def test_the_migration_moves_old_keys_into_the_standards_words(tmp_path):
    url = f"sqlite:///{tmp_path / 'before.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0014")
    engine = create_engine(url)
    now = "2026-01-01 00:00:00"
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO child (id, rcc_id, council_id, reference, birth_month, birth_year, sex, legal_status, "
            "category_of_need, uasc, ehcp, home_postcode, created_at) VALUES "
            f"(1, 1, 2, 'OLD-1', 4, 2012, 'F', 'C2', 'N1', 0, 0, 'CV1 2AB', '{now}')"))
        connection.execute(text(
            "INSERT INTO referral (id, rcc_id, council_id, child_id, placement_type, urgency, date_needed, needs, "
            "risk_flags, dol_order_needed, child_wishes, provider_summary, excluded_provider_ids, excluded_home_ids, "
            "excluded_areas, status, created_at, status_changed_at, row_version) VALUES (1, 1, 2, 1, 'childrens_home', "
            "'planned', '2027-01-01', :needs, :risks, 0, '', '', '[]', '[]', '[]', 'draft', :now, :now, 1)"),
            {"needs": json.dumps(["emotional_behavioural", "communication", "education", "pets"]),
             "risks": json.dumps(["violence", "radicalisation", "substance_misuse", "offending"]), "now": now})
        connection.execute(text(
            "INSERT INTO home (id, rcc_id, provider_id, ofsted_urn, name, placement_type, local_authority, "
            "location_precision, registered_places, age_min, age_max, sexes, needs_met, max_sibling_group, "
            "ofsted_rating, dol_capable, active, created_at, updated_at, row_version) VALUES (1, 1, 3, 'SC1', 'Oak', "
            "'childrens_home', 'Coventry', 'postcode', 2, 8, 17, '[\"F\", \"M\"]', :met, 1, 'good', 0, 1, :now, "
            ":now, 1)"), {"met": json.dumps(["education", "health_disability", "child_sexual_exploitation",
                                             "trafficking"]), "now": now})
    command.upgrade(config, "0019")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM referral")).mappings().one()
        met = connection.execute(text("SELECT needs_met FROM home")).scalar_one()
    assert (row["foster_suitability"], row["residential_suitability"],
            row["supported_accommodation_suitability"]) == ("unsuitable", "preferred", "unsuitable")
    assert json.loads(row["needs"]) == ["communication_other", "therapeutic_support"]
    assert (row["communication_needs"], json.loads(row["communication_requirements"])) == ("yes", ["other"])
    assert row["additional_support"] == "therapeutic_support" and row["education_continuity"]
    assert json.loads(row["risk_flags"]) == ["drug_alcohol", "physical_harm_to_others"]
    assert row["risk_to_child_other"] == "Radicalisation" and row["risk_to_others_other"] == "Offending"
    assert json.loads(met) == ["home_adaptation", "sexual_exploitation"]
    with pytest.raises(Exception, match="CHECK constraint failed"), engine.begin() as connection:
        connection.execute(text("UPDATE referral SET pets = 'a cat'"))
    command.downgrade(config, "0014")
    engine.dispose()
