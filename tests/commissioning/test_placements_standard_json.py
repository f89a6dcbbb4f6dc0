"""Placements Data Standard v2 as JSON: the schema derived from the data dictionary, the export
(validated against it) and the import that re-creates the same referrals."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta

import jsonschema_rs
from sqlalchemy import select

from commissioning.models import Child, Referral
from commissioning.placements_standard import SCHEMA_PATH, dictionary, problems, schema_text
from commissioning.services import referrals, sibling_groups, standard_json, supply
from rcc.audit import AuditAction
from rcc.models import AuditEvent
from rcc.roles import Role
from tests.commissioning.test_api_commissioning import token_client
from tests.commissioning.world import child_details, home_details, record, referral_details

COMPARED = ("placement_type", "urgency", "date_needed", "foster_suitability", "residential_suitability",
            "supported_accommodation_suitability", "communication_needs", "communication_requirements",
            "home_adaptation", "cultural_needs", "living_companions", "pets", "additional_support", "needs",
            "risk_flags", "risk_to_child_other", "risk_to_others_other", "preferred_location", "education_continuity",
            "dol_order_needed", "child_wishes", "provider_summary", "max_weekly_cost", "max_distance_miles",
            "excluded_areas", "out_of_area_reason")
CHILD_COMPARED = ("reference", "birth_month", "birth_year", "sex", "legal_status", "category_of_need", "uasc", "ehcp",
                  "home_postcode", "school_postcode")


def test_the_committed_schema_is_what_the_dictionary_derives_with_every_field_and_option():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), "run scripts/placements_schema.py"
    schema = json.loads(schema_text())
    assert schema["x-source"]["commit"] == "7024bf5760d681581007188a9477277072ff4f9b"
    assert schema["x-source"]["version"] == "v2" and schema["x-source"]["effectiveDate"] == "2025-07-18"
    for entity in dictionary()["entities"]:
        derived = schema["$defs"][entity["name"]]
        assert set(derived["properties"]) == {f["name"] for f in entity["fields"]}
        for field in entity["fields"]:
            prop = derived["properties"][field["name"]]
            assert prop["x-cardinality"] == field["cardinality"]
            if "options" in field:
                enum = prop["items"]["enum"] if prop.get("type") == "array" else prop["enum"]
                assert enum == field["options"]
            mandatory = field["cardinality"].startswith("1")
            if entity["name"] == "QualityAssurance" and field["name"] != "referralDate":
                assert (field["name"] in schema["$defs"]["Placement"]["then"]["properties"]["QualityAssurance"]
                        ["required"]) == mandatory
            else:
                assert (field["name"] in derived["required"]) == mandatory
    assert schema["$defs"]["PlacementRequirements"]["properties"]["specificCommunicationRequirements"]["minItems"] == 1


def _build(session, region):
    council = region.councils[0]
    home = supply.create_home(session, region.provider, home_details("SC777001", "Willow"))
    session.flush()
    supply.set_vacancy(session, home, 3, date.today())
    group = sibling_groups.create_sibling_group(session, council, "Family P", "together")
    session.flush()
    rich = referrals.create_referral(session, council, child_details("PDS-A", birth_year=date.today().year - 16),
                                     referral_details(
        placement_type="", suitability={"foster": "suitable", "residential": "preferred",
                                        "supported_accommodation": "not_specified"},
        communication_needs="yes", communication_requirements=["bsl", "makaton"], home_adaptation=True,
        cultural_needs="required", living_companions="older_only", pets="no", additional_support="other",
        risk_flags=["self_harm", "fire_setting"], risk_to_child_other="Online contact",
        risk_to_others_other="Threatens staff", preferred_location="Coventry", education_continuity=True,
        dol_order_needed=True, max_weekly_cost=550000, max_distance_miles=30, provider_summary="Loves football",
        urgency="emergency", date_needed=date.today()))
    sibling_a = referrals.create_referral(session, council, child_details("PDS-B"),
                                          referral_details(sibling_group_id=group.id))
    sibling_b = referrals.create_referral(session, council, child_details("PDS-C"),
                                          referral_details(sibling_group_id=group.id))
    for referral in (sibling_a, sibling_b):
        for step in (referrals.submit_referral, referrals.start_matching, referrals.mark_offered,
                     referrals.approve_proposal):
            step(session, referral)
        record(session, referral, home)
    session.commit()
    return [rich, sibling_a, sibling_b]


def test_the_export_validates_and_reimports_to_the_same_referrals(app, region, session, setup_session):
    made = _build(session, region)
    client, headers = token_client(app, setup_session, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    exported = client.get("/api/v1/referrals/placements-standard", headers=headers)
    assert exported.status_code == 200, exported.get_data(as_text=True)[:500]
    document = exported.get_json()
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema_rs.validate(schema, document)  # the published validator, on the committed schema
    assert problems(document) == []
    records = {r["extensions"]["rcc"]["child"]["reference"]: r for r in document["placements"]}
    rich = records["PDS-A"]
    assert rich["PlacementRecommendation"] == {"fosterCareSuitability": "Suitable but not preferred",
                                               "residentialCareSuitability": "Preferred",
                                               "supportedAccommodationSuitability": "Not specified"}
    assert rich["PlacementRequirements"]["specificCommunicationRequirements"] == ["BSL", "Makaton"]
    assert rich["Risks"]["riskSelfHarm"] == "Risk Present" and rich["Risks"]["riskMissing"] == "No known risk"
    assert rich["PlacementAvailability"]["neededBy"] == "Today" and "ActualPlacement" not in rich
    placed = records["PDS-B"]["ActualPlacement"]
    assert placed == {"totalWeeklyCost": 900, "placementLocation": "Coventry", "preferabilityLocation": True,
                      "educationContinuity": False, "providerURN": "SC777001", "siblingsPlacedTogether": 1,
                      "placementType": "Foster"}
    assert records["PDS-B"]["PlacementAvailability"]["siblingCount"] == 1
    assert setup_session.scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.REFERRAL_EXPORTED.value)).first() is not None

    # The other council imports the same document: the same referrals, for its own children.
    other, other_headers = token_client(app, setup_session, region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    imported = other.post("/api/v1/referrals/placements-standard", data=json.dumps(document), headers=other_headers)
    assert imported.status_code == 201, imported.get_json()
    created = [setup_session.get(Referral, i) for i in imported.get_json()["created"]]
    assert len(created) == len(made)
    originals = {setup_session.get(Child, r.child_id).reference: setup_session.get(Referral, r.id) for r in made}
    for copy_ in created:
        child = setup_session.get(Child, copy_.child_id)
        original = originals[child.reference]
        assert copy_.council_id == region.councils[1].id and copy_.status == "draft"
        assert {n: getattr(copy_, n) for n in COMPARED} == {n: getattr(original, n) for n in COMPARED}
        original_child = setup_session.get(Child, original.child_id)
        assert {n: getattr(child, n) for n in CHILD_COMPARED} == {n: getattr(original_child, n) for n in CHILD_COMPARED}


def test_a_bad_document_is_refused_whole_with_each_problem_named(app, region, session, setup_session):
    _build(session, region)
    document, _ = standard_json.export_document(session)
    broken = copy.deepcopy(document)
    broken["placements"][0]["Risks"]["riskSelfHarm"] = "Perhaps"
    del broken["placements"][1]["PlacementRecommendation"]["fosterCareSuitability"]
    broken["placements"][2]["PlacementRequirements"]["colour"] = "blue"
    client, headers = token_client(app, setup_session, region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    refused = client.post("/api/v1/referrals/placements-standard", data=json.dumps(broken), headers=headers)
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]["json"]
    assert "Perhaps" in errors["placements[0].Risks.riskSelfHarm"]
    assert "fosterCareSuitability" in errors["placements[1].PlacementRecommendation"]
    assert "colour" in errors["placements[2].PlacementRequirements"]

    rule_broken = copy.deepcopy(document)
    rule_broken["placements"][1]["extensions"]["rcc"]["child"]["home_postcode"] = "NOT A POSTCODE"
    rule_broken["placements"][2]["extensions"]["rcc"]["referral"]["date_needed"] = (
        date.today() + timedelta(days=3000)).isoformat()
    refused = client.post("/api/v1/referrals/placements-standard", data=json.dumps(rule_broken), headers=headers)
    errors = refused.get_json()["errors"]["json"]
    assert set(errors) == {"placements[1].home_postcode", "placements[2].date_needed"}
    no_extension = copy.deepcopy(document)
    del no_extension["placements"][0]["extensions"]
    refused = client.post("/api/v1/referrals/placements-standard", data=json.dumps(no_extension), headers=headers)
    assert "child details" in refused.get_json()["errors"]["json"]["placements[0].extensions.rcc"]
    for bad, words in ((b"\xff\xfe{", "not UTF-8"), (b"{\"placements\": [", "not JSON"), (b"[" * 100_000, "too deeply"),
                       (b'{"standard": "\\ud800"}', "lone surrogate")):
        refused = client.post("/api/v1/referrals/placements-standard", data=bad, headers=headers)
        assert refused.status_code == 422 and words in refused.get_json()["errors"]["json"]["file"]
    assert setup_session.scalars(select(Referral).where(Referral.council_id == region.councils[1].id)).all() == []


def test_the_download_is_the_same_document(app, region, session, signed_in_client):
    _build(session, region)
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    downloaded = officer.get("/referrals/placements-standard.json")
    assert downloaded.status_code == 200 and "attachment" in downloaded.headers["Content-Disposition"]
    assert problems(downloaded.get_json()) == []
    assert len(downloaded.get_json()["placements"]) == 3


def test_a_document_nested_deeper_than_the_standard_is_refused_not_a_server_error(app, region, setup_session):
    """JSON that Python reads (under its recursion limit) but that no placements document can be: the schema
    check recursed past its own limit and the request ended in a 500."""
    client, headers = token_client(app, setup_session, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    for depth in (300, 800):
        nested = '{"placements": [{"Child": ' + '{"a": ' * depth + "1" + "}" * depth + "}]}"
        refused = client.post("/api/v1/referrals/placements-standard", data=nested, headers=headers)
        assert refused.status_code == 422, refused.get_data(as_text=True)[:200]
        assert "too deeply" in refused.get_json()["errors"]["json"]["file"]
    assert setup_session.scalars(select(Referral)).all() == []
