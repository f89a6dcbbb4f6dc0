from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from commissioning.models import Child, Home, Referral, SiblingGroup
from commissioning.services import imports
from rcc import users
from rcc.csv_files import (
    CsvFileError,
    CsvRowErrors,
    safe_cell,
    write_csv,
)
from rcc.geography import local_authority_named
from rcc.models import Organisation

NEEDED = (date.today() + timedelta(days=20)).isoformat()
HEADER = [name for name, _, _ in imports.REFERRAL_COLUMNS]


def row(reference, **changes):
    values = dict(reference=reference, initials="", birth_month="4", birth_year=str(date.today().year - 12),
                  sex="F", legal_status="C2", category_of_need="N1", uasc="no", ehcp="no", home_postcode="CV1 2AB",
                  school_postcode="", placement_type="foster_care", urgency="planned", date_needed=NEEDED,
                  additional_support="therapeutic_support", risk_flags="", dol_order_needed="no", child_wishes="", excluded_areas="",
                  max_weekly_cost="1200", max_distance_miles="20", out_of_area_reason="", sibling_group="",
                  sibling_plan="", sibling_plan_reason="")
    values.update(changes)
    return values


def csv_bytes(rows, encoding="utf-8", header=None):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or HEADER)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_a_valid_file_creates_referrals_and_sibling_groups(session, region):
    data = csv_bytes([row("U-1", sibling_group="Family A"), row("U-2", sibling_group="Family A"), row("U-3")])
    result = imports.upload_referrals(session, region.councils[0], data, submit=True)
    assert (result.referrals_created, result.sibling_groups_created) == (3, 1)
    statuses = session.scalars(select(Referral.status)).all()
    assert statuses == ["submitted"] * 3
    group = session.scalars(select(SiblingGroup)).one()
    assert session.scalar(select(func.count()).where(Referral.sibling_group_id == group.id)) == 2


def test_one_bad_row_writes_nothing_and_names_the_row_and_field(session, region):
    data = csv_bytes([row("U-1"), row("U-2", birth_month="13"), row("U-3")])
    with pytest.raises(CsvRowErrors) as refused:
        imports.upload_referrals(session, region.councils[0], data, submit=False)
    assert [(p.row, p.field) for p in refused.value.problems] == [(3, "birth_month")]
    assert count(session, Referral) == 0 and count(session, Child) == 0


def test_the_standards_columns_are_read_and_an_old_needs_column_is_refused(session, region):
    data = csv_bytes([row("S-1", placement_type="", foster_suitability="suitable", residential_suitability="preferred",
                          communication_needs="yes", communication_requirements="bsl;esol", pets="no",
                          risk_flags="going_missing;fire_setting", education_continuity="yes")])
    imports.upload_referrals(session, region.councils[0], data, submit=False)
    made = session.scalars(select(Referral)).one()
    assert (made.foster_suitability, made.residential_suitability, made.supported_accommodation_suitability) == (
        "suitable", "preferred", "not_specified")
    assert made.placement_type == "childrens_home" and made.education_continuity
    assert made.needs == ["communication_esol", "communication_bsl", "no_pets", "therapeutic_support"]
    old = csv_bytes([row("S-2", needs="education"), row("S-3", pets="sometimes", risk_flags="violence")],
                    header=[*HEADER, "needs"])
    with pytest.raises(CsvRowErrors) as refused:
        imports.upload_referrals(session, region.councils[0], old, submit=False)
    assert {(p.row, p.field) for p in refused.value.problems} == {(2, "needs"), (3, "pets"), (3, "risk_flags")}


def test_every_bad_row_is_reported(session, region):
    data = csv_bytes([row("U-1", sex="X", date_needed="tomorrow"), row("U-1"), row("", max_weekly_cost="lots"),
                      row("U-4", sibling_group="Fam", sibling_plan="apart")])
    with pytest.raises(CsvRowErrors) as refused:
        imports.upload_referrals(session, region.councils[0], data, submit=False)
    found = {(p.row, p.field) for p in refused.value.problems}
    assert {(2, "sex"), (2, "date_needed"), (3, "reference"), (4, "max_weekly_cost"),
            (5, "sibling_plan_reason")} <= found


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (",".join(HEADER).encode(), "no referrals"),
    (b"reference,sex\nA,F\n", "missing these columns: birth_month"),
    ("reference\nJos\xe9".encode("latin-1"), "not UTF-8"),
    (b"x" * (imports.MAX_REFERRAL_BYTES + 1), "larger than 9 MB"),
])
def test_unusable_files_get_a_clear_message(session, region, data, message):
    with pytest.raises(CsvFileError, match=message):
        imports.upload_referrals(session, region.councils[0], data, submit=False)


def test_utf8_with_a_byte_order_mark_is_accepted(session, region):
    data = b"\xef\xbb\xbf" + csv_bytes([row("U-BOM", child_wishes="Café trips")])
    imports.upload_referrals(session, region.councils[0], data, submit=False)
    assert session.scalars(select(Referral.child_wishes)).one() == "Café trips"


def test_formula_like_text_is_stored_as_typed_and_neutralised_in_downloads(session, region):
    data = csv_bytes([row("U-F", child_wishes="=cmd|' /C calc'!A0")])
    imports.upload_referrals(session, region.councils[0], data, submit=False)
    assert session.scalars(select(Referral.child_wishes)).one() == "=cmd|' /C calc'!A0"
    assert [safe_cell(v) for v in ("=1+1", "+44", "-2", "@SUM", "plain")] == ["'=1+1", "'+44", "'-2", "'@SUM", "plain"]
    assert "'=cmd" in write_csv(["wishes"], [["=cmd|' /C calc'!A0"]])


def test_the_template_has_every_column_and_its_example_row_is_valid(session, region):
    template = imports.referral_template_csv()
    assert template.splitlines()[0].split(",") == HEADER
    imports.upload_referrals(session, region.councils[0], template.encode(), submit=False)
    assert count(session, Referral) == 1


# Ofsted import -------------------------------------------------------------------------

@pytest.fixture
def north_west(session):
    rcc = users.create_rcc(session, "NW RCC", "North West")
    for name in ("Manchester", "Lancashire", "Salford"):
        users.add_member_council(session, rcc, local_authority_named(name))
    session.flush()
    return rcc


def ofsted_rows():
    with open(imports.OFSTED_FILE, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_ofsted_import_counts_match_the_file_and_rerunning_changes_nothing(session, north_west):
    first = imports.import_ofsted(session, north_west)
    session.flush()
    rows = ofsted_rows()
    assert first.rows_read == len(rows) == first.accounted_for
    in_region = [r for r in rows if r["local_authority"] in {"Manchester", "Lancashire", "Salford"}]
    importable = [r for r in in_region if r["provider_type"] in imports.OFSTED_TYPES]
    assert first.created == len(importable) == count(session, Home)
    assert first.outside_region == len(rows) - len(in_region)
    assert len(first.skipped) == len(in_region) - len(importable)
    second = imports.import_ofsted(session, north_west)
    assert (second.created, second.updated, second.unchanged) == (0, 0, first.created)
    assert second.providers_created == 0


def test_ofsted_import_places_redacted_homes_at_their_council_and_maps_types(session, north_west):
    imports.import_ofsted(session, north_west)
    session.flush()
    homes = session.scalars(select(Home)).all()
    childrens = [h for h in homes if h.placement_type == "childrens_home"]
    assert childrens and all(h.location_precision == "local_authority" and h.postcode is None for h in childrens)
    manchester = local_authority_named("Manchester").centre
    assert any((h.latitude, h.longitude) == (manchester.latitude, manchester.longitude) for h in childrens)
    fostering = [h for h in homes if h.placement_type == "foster_care"]
    assert fostering and all(h.location_precision == "postcode" for h in fostering)
    providers = session.scalars(select(Organisation).where(Organisation.kind == "provider")).all()
    assert all(p.provider_sector in {"private", "voluntary", "local_authority"} for p in providers)


def test_ofsted_import_keeps_what_providers_maintain_and_updates_what_ofsted_publishes(session, north_west):
    imports.import_ofsted(session, north_west)
    session.flush()
    home = session.scalars(select(Home).where(Home.placement_type == "childrens_home")).first()
    home.age_min, home.ofsted_rating, home.registered_places = 13, "inadequate", 99
    session.flush()
    summary = imports.import_ofsted(session, north_west)
    assert summary.updated == 1
    assert home.age_min == 13 and home.ofsted_rating != "inadequate" and home.registered_places != 99


def test_ofsted_import_reads_2022_names_and_refuses_a_file_without_its_columns(session):
    rcc = users.create_rcc(session, "NE RCC", "North East")
    users.add_member_council(session, rcc, local_authority_named("County Durham"))
    session.flush()
    summary = imports.import_ofsted(session, rcc)
    assert summary.created > 0
    assert {h.local_authority for h in session.scalars(select(Home))} == {"County Durham"}
    with pytest.raises(CsvFileError, match="missing these columns"):
        imports.import_ofsted(session, rcc, data=b"urn,name\n1,x\n")


def test_rerunning_the_ofsted_import_keeps_the_providers_name_and_agency_places_and_updates_nothing(
        session, north_west):
    """Issue 19 item 13: a re-run overwrote a provider's home name and 'updated' every fostering agency
    whose carers' places the agency had given (Ofsted lists them with 0) although nothing had changed."""
    first = imports.import_ofsted(session, north_west)
    session.flush()
    home = session.scalars(select(Home).where(Home.placement_type == "childrens_home")).first()
    home.name = "Willow Lodge (provider's name)"
    agencies = session.scalars(select(Home).where(Home.placement_type == "foster_care",
                                                  Home.registered_places == 0)).all()
    assert agencies
    for agency in agencies:
        agency.registered_places = 25  # the agency's carers' capacity, given by the agency
    session.flush()
    second = imports.import_ofsted(session, north_west)
    assert (second.updated, second.unchanged) == (0, first.created)
    assert home.name == "Willow Lodge (provider's name)"
    assert {agency.registered_places for agency in agencies} == {25}
