"""The Standard Safeguarding Dataset extract: four tables, every column of the SSD specification
(data-to-insight/ssd-data-model, data/objects/*.yml), pseudonymised on the way in, used to pre-fill
a referral form."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from commissioning.models import Referral, SsdChild
from commissioning.services import ssd
from rcc.csv_files import CsvFileError, CsvRowErrors
from rcc.roles import Role

# Every column of each table, in the order of the SSD specification.
COLUMNS = {
    "ssd_person": ["pers_person_id", "pers_forename", "pers_surname", "pers_sex", "pers_gender", "pers_ethnicity",
                   "pers_dob", "pers_common_child_id", "pers_legacy_id", "pers_upn_unknown", "pers_send_flag",
                   "pers_expected_dob", "pers_death_date", "pers_is_mother", "pers_nationality"],
    "ssd_legal_status": ["lega_legal_status_id", "lega_person_id", "lega_legal_status", "lega_legal_status_start_date",
                         "lega_legal_status_end_date"],
    "ssd_cla_episodes": ["clae_cla_episode_id", "clae_person_id", "clae_cla_episode_start_date",
                         "clae_cla_episode_start_reason", "clae_cla_primary_need_code", "clae_cla_episode_ceased_date",
                         "clae_cla_episode_ceased_reason", "clae_cla_id", "clae_referral_id", "clae_cla_placement_id",
                         "clae_entered_care_date", "clae_cla_last_iro_contact_date"],
    "ssd_cla_placement": ["clap_cla_placement_id", "clap_cla_placement_start_date", "clap_cla_placement_type",
                          "clap_cla_placement_urn", "clap_cla_placement_distance", "clap_cla_id",
                          "clap_cla_placement_provider", "clap_cla_placement_postcode", "clap_cla_placement_end_date",
                          "clap_cla_placement_change_reason", "clap_person_id"],
}
TODAY = date.today()


def _dob(years: int) -> str:
    return f"{TODAY.year - years}-03-14 00:00:00.000"


def _ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def extract(**changes):
    rows = {
        "ssd_person": [
            {"pers_person_id": "P100", "pers_forename": "Amelia", "pers_surname": "Stone", "pers_sex": "F",
             "pers_dob": _dob(13), "pers_common_child_id": "9434765919", "pers_ethnicity": "WBRI"},
            {"pers_person_id": "P200", "pers_forename": "Ben", "pers_surname": "Oakes", "pers_sex": "M",
             "pers_dob": _dob(9), "pers_common_child_id": "9434765870"},
            {"pers_person_id": "P300", "pers_forename": "Cara", "pers_surname": "Lake", "pers_sex": "F",
             "pers_dob": _dob(15)},  # left care last year
            {"pers_person_id": "P400", "pers_forename": "Dan", "pers_surname": "Hill", "pers_sex": "U",
             "pers_dob": _dob(40)},  # an adult (a parent)
        ],
        "ssd_legal_status": [
            {"lega_legal_status_id": "L1", "lega_person_id": "P100", "lega_legal_status": "V2",
             "lega_legal_status_start_date": _ago(400), "lega_legal_status_end_date": _ago(200)},
            {"lega_legal_status_id": "L2", "lega_person_id": "P100", "lega_legal_status": "C2",
             "lega_legal_status_start_date": _ago(199), "lega_legal_status_end_date": ""},
            {"lega_legal_status_id": "L3", "lega_person_id": "P200", "lega_legal_status": "C1",
             "lega_legal_status_start_date": _ago(30), "lega_legal_status_end_date": ""},
        ],
        "ssd_cla_episodes": [
            {"clae_cla_episode_id": "E1", "clae_person_id": "P100", "clae_cla_episode_start_date": _ago(400),
             "clae_cla_primary_need_code": "N1", "clae_cla_episode_ceased_date": ""},
            {"clae_cla_episode_id": "E2", "clae_person_id": "P200", "clae_cla_episode_start_date": _ago(30),
             "clae_cla_primary_need_code": "N4", "clae_cla_episode_ceased_date": ""},
            {"clae_cla_episode_id": "E3", "clae_person_id": "P300", "clae_cla_episode_start_date": _ago(700),
             "clae_cla_primary_need_code": "N2", "clae_cla_episode_ceased_date": _ago(365)},
        ],
        "ssd_cla_placement": [
            {"clap_cla_placement_id": "PL1", "clap_person_id": "P100", "clap_cla_placement_start_date": _ago(400),
             "clap_cla_placement_type": "U1", "clap_cla_placement_end_date": _ago(100),
             "clap_cla_placement_postcode": "CV1 2AB", "clap_cla_placement_urn": "SC123456"},
            {"clap_cla_placement_id": "PL2", "clap_person_id": "P100", "clap_cla_placement_start_date": _ago(99),
             "clap_cla_placement_type": "K2", "clap_cla_placement_end_date": ""},
        ],
    }
    for name, change in changes.items():
        change(rows[name])
    files = {}
    for name, table in rows.items():
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS[name])
        writer.writeheader()
        for row in table:
            writer.writerow({column: row.get(column, "") for column in COLUMNS[name]})
        files[name] = out.getvalue().encode("utf-8")
    return files


def test_the_extract_keeps_only_children_in_care_pseudonymised(session, region):
    result = ssd.import_extract(session, region.councils[0], extract())
    assert (result.children, result.people_left_out) == (2, 2)
    kept = {c.reference: c for c in session.scalars(select(SsdChild))}
    assert set(kept) == {"P100", "P200"}
    amelia = kept["P100"]
    assert (amelia.birth_month, amelia.birth_year, amelia.sex) == (3, TODAY.year - 13, "F")
    assert (amelia.legal_status, amelia.category_of_need, amelia.placement_code) == ("C2", "N1", "K2")
    stored = " ".join(str(getattr(c, column)) for c in kept.values() for column in SsdChild.model_fields)
    for secret in ("Amelia", "Stone", "9434765919", "CV1 2AB", "SC123456", "WBRI"):  # names, NHS number, ...
        assert secret not in stored
    assert not [c for c in SsdChild.model_fields if "dob" in c or "birth_day" in c or "name" in c]
    # A new extract replaces the last one.
    again = ssd.import_extract(session, region.councils[0], extract(
        ssd_cla_episodes=lambda rows: rows.__setitem__(1, {**rows[1], "clae_cla_episode_ceased_date": _ago(1)})))
    assert again.children == 1 and [c.reference for c in session.scalars(select(SsdChild))] == ["P100"]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"ssd_person": lambda rows: rows[0].update(pers_dob="31/02/2014")}, "ssd_person.pers_dob", "not a real date"),
    ({"ssd_person": lambda rows: rows[1].update(pers_sex="X")}, "ssd_person.pers_sex", "not M, F, U or I"),
    ({"ssd_person": lambda rows: rows.append({**rows[0]})}, "ssd_person.pers_person_id", "also on row 2"),
    ({"ssd_legal_status": lambda rows: rows[0].update(lega_legal_status="Z9")}, "ssd_legal_status.lega_legal_status",
     "not an SSDA903 code"),
    ({"ssd_cla_episodes": lambda rows: rows[0].update(clae_person_id="P999")}, "ssd_cla_episodes.clae_person_id",
     "not in ssd_person"),
    ({"ssd_cla_placement": lambda rows: rows[0].update(clap_cla_placement_end_date=_ago(500))},
     "ssd_cla_placement.clap_cla_placement_end_date", "before it starts"),
    ({"ssd_cla_placement": lambda rows: rows[1].update(clap_cla_placement_type="Q7")},
     "ssd_cla_placement.clap_cla_placement_type", "not an SSDA903 code"),
])
def test_each_problem_is_named_by_table_row_and_column_and_nothing_is_kept(session, region, change, field, words):
    ssd.import_extract(session, region.councils[0], extract())
    with pytest.raises(CsvRowErrors) as refused:
        ssd.import_extract(session, region.councils[0], extract(**change))
    assert any(p.field == field and words in p.problem for p in refused.value.problems), refused.value.problems
    assert len(session.scalars(select(SsdChild)).all()) == 2  # the previous extract stands


def test_a_missing_table_or_column_or_a_file_not_utf8_is_refused(session, region):
    files = extract()
    with pytest.raises(CsvFileError, match="ssd_cla_placement missing"):
        ssd.import_extract(session, region.councils[0], {k: v for k, v in files.items() if k != "ssd_cla_placement"})
    with pytest.raises(CsvFileError, match="ssd_person: .*pers_dob"):
        ssd.import_extract(session, region.councils[0], {**files, "ssd_person": b"pers_person_id,pers_sex\nP1,F\n"})
    with pytest.raises(CsvFileError, match="ssd_legal_status: .*UTF-8"):
        ssd.import_extract(session, region.councils[0], {**files, "ssd_legal_status": "lega_person_id\né".encode("latin-1")})


def test_an_officer_uploads_the_extract_picks_a_child_and_gets_a_prefilled_form(app, region, signed_in_client,
                                                                                setup_session):
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    files = {name: (io.BytesIO(data), f"{name}.csv") for name, data in extract().items()}
    uploaded = officer.post("/referrals/from-ssd", data=files, content_type="multipart/form-data")
    assert uploaded.status_code == 302
    listing = BeautifulSoup(officer.get("/referrals/from-ssd").get_data(as_text=True), "html.parser")
    link = next(a for a in listing.select("a.govuk-link") if "P100" in a.get_text())
    form = BeautifulSoup(officer.get(link["href"]).get_data(as_text=True), "html.parser")
    assert form.select_one("input[name=reference]")["value"] == "P100"
    assert form.select_one("input[name=birth_year]")["value"] == str(TODAY.year - 13)
    assert form.select_one("input[name=sex][value=F]").has_attr("checked")
    assert form.select_one("select[name=legal_status] option[selected]")["value"] == "C2"
    assert form.select_one("input[name=placement_type][value=childrens_home]").has_attr("checked")
    assert setup_session.scalars(select(Referral)).all() == []  # nothing saved until the officer submits
    # The other council sees none of these children.
    other = signed_in_client(region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert "P100" not in other.get("/referrals/from-ssd").get_data(as_text=True)
    child_id = setup_session.scalars(select(SsdChild.id).where(SsdChild.reference == "P100")).one()
    assert other.get(f"/referrals/new?ssd_child={child_id}").status_code == 404

    bad = {name: (io.BytesIO(data), f"{name}.csv") for name, data in
           extract(ssd_person=lambda r: r[0].update(pers_sex="X")).items()}
    refused = BeautifulSoup(officer.post("/referrals/from-ssd", data=bad, content_type="multipart/form-data")
                            .get_data(as_text=True), "html.parser")
    assert "ssd_person.pers_sex" in refused.select_one("#problems").get_text()


def test_an_import_racing_another_is_a_409_and_keeps_the_other(app, region, signed_in_client, setup_session,
                                                               monkeypatch):
    """Two officers import at once: the other's rows are committed after this import's DELETE looked, so
    its INSERT meets them (the unique reference). The Conflict escaped the page as a 500."""
    from sqlalchemy import delete, false

    council = region.councils[0]
    setup_session.add(SsdChild(rcc_id=council.rcc_id, council_id=council.id, reference="P100", birth_month=3,
                               birth_year=TODAY.year - 13, sex="F"))
    setup_session.commit()
    monkeypatch.setattr(ssd, "delete", lambda model: delete(model).where(false()))  # saw none of theirs
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    files = {name: (io.BytesIO(data), f"{name}.csv") for name, data in extract().items()}
    lost = officer.post("/referrals/from-ssd", data=files, content_type="multipart/form-data")
    assert lost.status_code == 409, lost.get_data(as_text=True)[:300]
    assert "nothing was saved" in BeautifulSoup(lost.get_data(as_text=True), "html.parser").get_text()
    assert [c.reference for c in setup_session.scalars(select(SsdChild))] == ["P100"]
