"""Foster households (issue 15, item 5): owned by a council (in-house) or an agency, seen only by the
owner and the RCC, checked field by field, held by the database, and reaching matching as homes."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from commissioning.models import FosterHousehold, InHousePreference
from commissioning.services import fostering
from matching.engine import solve
from matching.services.keys import household_key, provider_key
from matching.services.snapshot import build_problem, engine_household
from rcc.audit import AuditAction
from rcc.errors import FieldErrors
from rcc.geography import distance_miles, locate
from rcc.models import AuditEvent, utcnow
from rcc.roles import Role
from tests.commissioning.world import household_details
from tests.matching import builders

FORM = {"reference": "FH-1", "postcode": "cv1 2ab", "age_min": "0", "age_max": "11", "max_children": "3",
        "siblings": "y", "places_free": "2", "needs_met": ["therapeutic_support"], "weekly_cost": "450.00",
        "status": "approved"}


def page(response):
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _add_through_the_page(client, **changes):
    response = client.post("/foster-households/new", data={**FORM, **changes})
    assert response.status_code == 302, BeautifulSoup(response.get_data(as_text=True), "html.parser").select(
        ".govuk-error-summary")
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_a_council_adds_an_in_house_household_that_only_it_and_the_rcc_can_see(
        app, region, setup_session, signed_in_client):
    council = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    household_id = _add_through_the_page(council)
    saved = setup_session.get(FosterHousehold, household_id)
    where = locate("CV1 2AB")
    assert (saved.owner_id, saved.postcode, saved.location_precision) == (region.councils[0].id, "CV1 2AB", "postcode")
    assert (saved.latitude, saved.longitude) == (where.point.latitude, where.point.longitude)
    assert (saved.local_authority, saved.weekly_cost, saved.max_sibling_group) == ("Coventry", 45000, 3)
    assert "CV1 2AB" in page(council.get(f"/foster-households/{household_id}")).get_text()
    rcc = signed_in_client(region.people[Role.RCC_PLACEMENT_OFFICER])
    assert "CV1 2AB" in page(rcc.get(f"/foster-households/{household_id}")).get_text()
    assert "FH-1" in page(rcc.get("/foster-households")).get_text()
    for outsider in (region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER], region.people[Role.PROVIDER_MANAGER]):
        client = signed_in_client(outsider)
        assert client.get(f"/foster-households/{household_id}").status_code == 404
        assert client.get(f"/foster-households/{household_id}/edit").status_code == 404
        assert client.post(f"/foster-households/{household_id}/edit", data={**FORM, "places_free": "0"}).status_code == 404
        assert "FH-1" not in page(client.get("/foster-households")).get_text()
    assert rcc.get(f"/foster-households/{household_id}/edit").status_code in (403, 404)  # the RCC reads, never edits
    assert setup_session.get(FosterHousehold, household_id).places_free == 2


def test_an_agency_keeps_its_households_up_to_date(app, region, setup_session, signed_in_client):
    agency = signed_in_client(region.people[Role.PROVIDER_MANAGER])
    household_id = _add_through_the_page(agency, reference="IFA-7")
    form = page(agency.get(f"/foster-households/{household_id}/edit"))
    version = form.select_one("input[name=row_version]")["value"]
    response = agency.post(f"/foster-households/{household_id}/edit",
                           data={**FORM, "reference": "IFA-7", "places_free": "0", "status": "on_hold",
                                 "row_version": version})
    assert response.status_code == 302
    setup_session.expire_all()
    saved = setup_session.get(FosterHousehold, household_id)
    assert (saved.owner_id, saved.places_free, saved.status) == (region.provider.id, 0, "on_hold")
    actions = setup_session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(household_id),
                                                         AuditEvent.object_type == "foster_household")).all()
    assert {AuditAction.FOSTER_HOUSEHOLD_CREATED, AuditAction.FOSTER_HOUSEHOLD_UPDATED} <= set(actions)


@pytest.mark.parametrize("changes, field, words", [
    ({"postcode": "CV1"}, "postcode", "full postcode"),
    ({"postcode": "ZZ9 9ZZ"}, "postcode", "that we can place"),
    ({"postcode": "hello"}, "postcode", "not a valid UK postcode"),
    ({"reference": ""}, "reference", "reference"),
    ({"reference": "x" * 41}, "reference", "40 characters"),
    ({"age_min": 12, "age_max": 5}, "age_max", "same as or more than"),
    ({"age_max": 18}, "age_max", "from 0 to 17"),
    ({"max_children": 0}, "max_children", "from 1 to 6"),
    ({"max_children": 2, "places_free": 3}, "places_free", "cannot be more than the 2"),
    ({"places_free": -1}, "places_free", "0 or more"),
    ({"needs_met": ["flying"]}, "needs_met", "from the list"),
    ({"weekly_cost": -1}, "weekly_cost", "from £0"),
    ({"status": "maybe"}, "status", "status"),
])
def test_bad_details_are_refused_naming_the_field(setup_session, region, changes, field, words):
    with pytest.raises(FieldErrors) as refused:
        fostering.create_household(setup_session, region.councils[0],
                                   household_details(**{"reference": "FH-BAD", **changes}))
    assert field in refused.value.errors and words in refused.value.errors[field]


def test_the_page_names_the_field_for_a_postcode_the_directory_lacks(app, region, signed_in_client):
    council = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    errors = page(council.post("/foster-households/new", data={**FORM, "postcode": "CV1"}))
    assert errors.select_one(".govuk-error-summary a[href='#postcode']")


def test_the_database_holds_the_approval_limits(setup_session, region):
    household = fostering.create_household(setup_session, region.councils[0], household_details("FH-DB"))
    setup_session.commit()
    household.places_free = household.max_children + 1
    with pytest.raises(IntegrityError):
        setup_session.commit()
    setup_session.rollback()
    fostering.create_household(setup_session, region.councils[0], household_details("FH-DUP"))
    setup_session.commit()
    setup_session.add(FosterHousehold(rcc_id=region.rcc.id, owner_id=region.councils[0].id, reference="FH-DUP",
                                      postcode="CV1 2AB", latitude=52.4, longitude=-1.5, local_authority="Coventry"))
    with pytest.raises(IntegrityError):
        setup_session.commit()
    setup_session.rollback()


def test_a_council_sets_its_in_house_preference_on_a_settings_page(app, region, setup_session, signed_in_client):
    council = signed_in_client(region.people[Role.COUNCIL_ADMIN])
    assert council.post("/foster-households/in-house-preference", data={"points": "lots"}).status_code == 200
    assert council.post("/foster-households/in-house-preference", data={"points": "250"}).status_code == 302
    preference = setup_session.scalars(select(InHousePreference)).one()
    assert (preference.council_id, preference.points) == (region.councils[0].id, 250)
    assert "250 points" in page(council.get("/foster-households")).get_text()
    agency = signed_in_client(region.people[Role.PROVIDER_MANAGER])
    assert agency.get("/foster-households/in-house-preference").status_code == 403


def test_households_reach_the_matching_problem_as_foster_homes(setup_session, region):
    council, agency = region.councils[0], region.provider
    in_house = fostering.create_household(setup_session, council, household_details("FH-IN", max_children=2,
                                                                                     siblings=False))
    agency_household = fostering.create_household(setup_session, agency, household_details(
        "FH-IFA", postcode="CV6 1AA", weekly_cost=None))
    fostering.create_household(setup_session, agency, household_details("FH-FULL", places_free=0))
    fostering.create_household(setup_session, agency, household_details("FH-HOLD", status="on_hold"))
    fostering.set_in_house_preference(setup_session, council, 300)
    referral = builders.add_referral(setup_session, council, "FOS-1", placement_type="foster_care", age=9,
                                     needs=("therapeutic_support",))
    setup_session.commit()
    problem = build_problem(setup_session, [referral], utcnow(), foster_households=True)
    without = build_problem(setup_session, [referral], utcnow(), foster_households=False)
    homes = {h.id: h for h in problem.homes}
    assert set(homes) == {household_key(in_house.id), household_key(agency_household.id)}
    assert not without.homes
    mine = homes[household_key(in_house.id)]
    assert (mine.placement_type, mine.free_places, mine.max_sibling_group, mine.provider) == (
        "foster_care", 2, 1, provider_key(council.id))
    assert (mine.location.latitude, mine.location.longitude) == (in_house.latitude, in_house.longitude)
    assert (mine.min_age, mine.max_age, mine.weekly_cost) == (0, 17, 600.0)
    theirs = homes[household_key(agency_household.id)]
    assert theirs.provider == provider_key(agency.id) and theirs.max_sibling_group == 3
    assert theirs.weekly_cost == 600.0  # no cost given: the median of the households' costs
    if hasattr(mine, "council"):  # the engine's in-house fields, once the engine has them
        assert mine.council and getattr(theirs, "council", None) is None
        assert problem.children[0].in_house_bonus == 300
    result = solve(problem)
    assert [a.home for a in result.assignments] and result.assignments[0].home in homes


def test_the_households_distance_is_the_directorys(setup_session, region):
    household = fostering.create_household(setup_session, region.councils[0], household_details("FH-D"))
    home = engine_household(household, region.councils[0], {})
    assert distance_miles(locate(household.postcode), locate("CV6 1AA")) > 0
    assert (home.location.latitude, home.location.longitude) == (locate("CV1 2AB").point.latitude,
                                                                 locate("CV1 2AB").point.longitude)


HOSTILE_TEXT = ["before\x00after", "bell\x07here", "x" * 200_000]
HOSTILE = [*HOSTILE_TEXT, "1e30", "Infinity", "NaN", "\u00b2", "\u0661\u0662", "99999999999999999999999", "-5"]


@pytest.mark.parametrize("field", ["reference", "postcode", "age_min", "age_max", "max_children", "places_free",
                                   "weekly_cost"])
def test_hostile_values_in_every_household_field_are_refused_without_a_server_error(
        app, region, setup_session, signed_in_client, field):
    council = signed_in_client(region.people[Role.COUNCIL_ADMIN])
    for value in HOSTILE_TEXT if field == "reference" else HOSTILE:
        response = council.post("/foster-households/new", data={**FORM, field: value})
        assert response.status_code in (200, 400), (field, value[:20], response.status_code)
    assert setup_session.scalars(select(FosterHousehold)).all() == []
    for value in HOSTILE:
        response = council.post("/foster-households/in-house-preference", data={"points": value})
        assert response.status_code in (200, 400), (value[:20], response.status_code)
    assert setup_session.scalars(select(InHousePreference)).all() == []
