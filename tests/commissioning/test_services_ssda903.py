"""SSDA903 import and export: the demand model's synthetic years (input nobody on this project wrote) and
hand-made faults, each named by row and field, nothing written; re-import idempotent; round trip."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from commissioning.models import CareEpisode, LookedAfterChild
from commissioning.services import ssda903
from commissioning.ssda903_files import EPISODE_COLUMNS, Ssda903Error, read_episodes

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = next((ROOT / ".venv-demand" / "lib").glob("python3*/site-packages/cs_demand_model_samples/combined"),
               None) if (ROOT / ".venv-demand").exists() else None
needs_samples = pytest.mark.skipif(SAMPLES is None, reason="make demand-model-env makes .venv-demand")

HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = ",".join(EPISODE_COLUMNS) + "\n"


def header(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def episodes(*rows: str) -> bytes:
    return (EPISODES + "".join(r + "\n" for r in rows)).encode()


GOOD_HEADER = header("101,2,03/04/2012,WBRI,A123456789012,0,", "102,1,30/11/2009,MWBC,UN2,,")
GOOD_EPISODES = episodes("101,01/05/2023,S,C2,N1,U6,PR4,10/10/2023,X1,CHILD,CV1 2AB,CV3 4AB,SC123456",
                         "101,10/10/2023,P,C2,N1,K2,PR4,,,,CV1 2AB,B1 1AA,SC654321",
                         "102,15/01/2020,S,V2,N4,U4,PR1,,,,CV2 2AA,CV6 1AA,XXXXXXX")


def clean_sample(year: int) -> tuple[bytes, bytes]:
    """A sample year with its faults made right the way a council would: an episode that has not ended has
    no reason it ceased, none ends after the year (the samples' 2017 year is 2017-18), and an episode that
    starts before the child's previous one has ended is left out (the samples' overlaps, DfE rule 501)."""
    assert SAMPLES is not None
    rows = list(csv.DictReader(io.StringIO((SAMPLES / f"{year}-episodes.csv").read_text())))
    last = f"31/03/{year + 1}"
    for row in rows:
        if row["DEC"] and ssda903.collection_year(date(*reversed([int(p) for p in row["DEC"].split("/")]))) > year + 1:
            row["DEC"] = last
        if not row["DEC"]:
            row["REC"] = row["REASON_PLACE_CHANGE"] = ""
    def day(text: str) -> date:
        return date(*reversed([int(p) for p in text.split("/")])) if text else date.max

    kept: list[dict[str, str]] = []
    ends: dict[str, date] = {}
    for row in sorted(rows, key=lambda r: (r["CHILD"], day(r["DECOM"]))):
        if row["CHILD"] in ends and day(row["DECOM"]) < ends[row["CHILD"]]:
            continue
        ends[row["CHILD"]] = day(row["DEC"])
        kept.append(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EPISODE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept)
    return (SAMPLES / f"{year}-header.csv").read_bytes(), out.getvalue().encode()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model).where(model.council_id.is_not(None)))


def test_the_reporting_year_is_worked_out_from_the_date():
    assert ssda903.collection_year(date(2023, 4, 1)) == 2024
    assert ssda903.collection_year(date(2024, 3, 31)) == 2024
    assert ssda903.collection_year(date(2031, 12, 25)) == 2032
    assert (ssda903.year_start(2024), ssda903.year_end(2024)) == (date(2023, 4, 1), date(2024, 3, 31))


def test_an_import_keeps_the_cohort_pseudonymised_and_the_episodes(session, region):
    council = region.councils[0]
    result = ssda903.import_903(session, council, GOOD_HEADER, GOOD_EPISODES)
    assert (result.year, result.children, result.episodes) == (2024, 2, 3)
    child = session.scalars(select(LookedAfterChild).where(LookedAfterChild.child_ref == "101")).one()
    assert (child.sex, child.birth_year, child.birth_month, child.ethnicity) == ("F", 2012, 4, "WBRI")
    assert not any("A123456789012" in str(value) for value in vars(child).values())
    assert count(session, CareEpisode) == 3


def test_export_reproduces_every_field_kept_row_for_row(session, region):
    council = region.councils[0]
    ssda903.import_903(session, council, GOOD_HEADER, GOOD_EPISODES)
    exported = ssda903.export_csv(session, council, 2024)
    assert read_episodes(exported.encode()) == read_episodes(GOOD_EPISODES)
    assert exported.splitlines()[1:] == GOOD_EPISODES.decode().splitlines()[1:]


def test_the_same_year_twice_changes_nothing_and_a_new_year_adds_history(session, region):
    council = region.councils[0]
    ssda903.import_903(session, council, GOOD_HEADER, GOOD_EPISODES)
    again = ssda903.import_903(session, council, GOOD_HEADER, GOOD_EPISODES)
    assert again.episodes_replaced == 3 and count(session, CareEpisode) == 3
    # 2024-25: 101's open episode ends; 102's continues (and the DfE's sex codes are now F and M)
    ssda903.import_903(session, council, header("101,F,03/04/2012,WBRI,,0,", "102,M,30/11/2009,MWBC,,,"), episodes(
        "101,10/10/2023,P,C2,N1,K2,PR4,01/06/2024,E13,,CV1 2AB,B1 1AA,SC654321",
        "102,15/01/2020,S,V2,N4,U4,PR1,,,,CV2 2AA,CV6 1AA,XXXXXXX"))
    assert count(session, CareEpisode) == 3
    assert [r.dec for r in read_episodes(ssda903.export_csv(session, council, 2025).encode())] == \
        [date(2024, 6, 1), None]
    assert len(read_episodes(ssda903.export_csv(session, council, 2024).encode())) == 3


@pytest.mark.parametrize("header_data, episodes_data, expected", [
    (GOOD_HEADER, episodes("103,01/05/2023,S,C2,N1,U6,PR4,,,,,,"), {(2, "CHILD (episodes)")}),
    (GOOD_HEADER, episodes("101,01/05/2023,Q,C9,N1,ZZ,PR4,,,,,,"),
     {(2, "RNE (episodes)"), (2, "LS (episodes)"), (2, "PLACE (episodes)")}),
    (GOOD_HEADER, episodes("101,01/05/2023,S,C2,N1,U6,PR4,01/05/2024,E13,,,,"), {(2, "DEC (episodes)")}),
    (GOOD_HEADER, episodes("101,01/05/2023,S,C2,N1,U6,PR4,,E13,,,,"), {(2, "REC (episodes)")}),
    (GOOD_HEADER, episodes("101,01/05/2023,S,C2,N1,U6,PR4,01/09/2023,X1,,,,",
                           "101,01/08/2023,P,C2,N1,U6,PR4,,,,,,"), {(3, "DECOM (episodes)")}),
    (header("101,3,03/04/2012,XXXX,,,"), episodes("101,01/05/2023,S,C2,N1,U6,PR4,,,,,,"),
     {(2, "SEX (header)"), (2, "ETHNIC (header)")}),
    (GOOD_HEADER, episodes("101,01/05/2023,S,C2,N1,U6,PR4,,,,cv12ab,,"), {(2, "HOME_POST (episodes)")}),
])
def test_each_fault_is_named_by_row_and_field_and_nothing_is_written(session, region, header_data,
                                                                      episodes_data, expected):
    with pytest.raises(Ssda903Error) as caught:
        ssda903.import_903(session, region.councils[0], header_data, episodes_data, year=2024)
    assert {(p.row, p.field) for p in caught.value.problems} == expected
    assert count(session, CareEpisode) == 0 and count(session, LookedAfterChild) == 0


def test_another_councils_file_is_refused(session, region):
    council = region.councils[0]
    own = council.ons_code or council.dfe_code
    other = "E09000001" if own != "E09000001" else "E09000002"
    data = (HEADER.strip() + ",LA\n" + f"101,2,03/04/2012,WBRI,,0,,{other}\n").encode()
    with pytest.raises(Ssda903Error) as caught:
        ssda903.import_903(session, council, data, episodes("101,01/05/2023,S,C2,N1,U6,PR4,,,,,,"))
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "LA (header)")]


@pytest.mark.parametrize("which", ["header", "episodes"])
def test_a_missing_file_of_the_pair_is_named(session, region, which):
    with pytest.raises(Ssda903Error) as caught:
        ssda903.import_903(session, region.councils[0], b"" if which == "header" else GOOD_HEADER,
                           b"" if which == "episodes" else GOOD_EPISODES)
    assert f"The {which} file is missing" in caught.value.message


@needs_samples
def test_the_demand_models_raw_sample_is_refused_with_its_faults_named(session, region):
    assert SAMPLES is not None
    raw = (SAMPLES / "2017-episodes.csv").read_bytes()
    rows = read_episodes(raw)
    with pytest.raises(Ssda903Error) as caught:
        ssda903.import_903(session, region.councils[0], (SAMPLES / "2017-header.csv").read_bytes(), raw, year=2018)
    named = {(p.row, p.field) for p in caught.value.problems}
    assert {(r.row, "REC (episodes)") for r in rows if bool(r.dec) != bool(r.rec)} <= named
    assert {(r.row, "DEC (episodes)") for r in rows if r.dec and r.dec > date(2018, 3, 31)} <= named
    assert count(session, CareEpisode) == 0


@needs_samples
@pytest.mark.parametrize("year", [2017, 2018, 2019, 2020, 2021])
def test_each_demand_model_year_imports_and_exports_row_for_row(session, region, year):
    """Each year on its own: the samples' years are drawn independently, so one year's episodes overlap
    another's (the import names those overlaps when the years are loaded into one history)."""
    council = region.councils[0]
    header_data, episodes_data = clean_sample(year)
    try:
        result = ssda903.import_903(session, council, header_data, episodes_data, year=year + 1)
    except Ssda903Error as error:
        pytest.fail(f"{year}: {error.problems[:5]}")
    expected = sorted(read_episodes(episodes_data), key=lambda r: (r.child, r.decom))
    assert result.episodes == len(expected)
    exported = read_episodes(ssda903.export_csv(session, council, year + 1).encode())
    assert [(r.child, r.decom, r.rne, r.ls, r.cin, r.place, r.place_provider, r.dec, r.rec,
             r.reason_place_change, r.home_post, r.pl_post, r.urn) for r in exported] == \
        [(r.child, r.decom, r.rne, r.ls, r.cin, r.place, r.place_provider, r.dec, r.rec,
          r.reason_place_change, r.home_post, r.pl_post, r.urn) for r in expected]


def test_a_placement_made_through_the_platform_is_in_its_years_export(session, region):
    from tests.commissioning import world  # noqa: PLC0415

    world.build(session, region, "P")  # places the first council's child in a private home today
    council = region.councils[0]
    year = ssda903.collection_year(date.today())

    def placed(rows):  # type: ignore[no-untyped-def]
        return [r for r in rows if r.child.startswith("MARK-P-")]  # the world also has an imported episode (MARK-P0)

    rows = placed(ssda903.export_rows(session, council, year))
    assert len(rows) == 1
    row = rows[0]
    assert (row.decom, row.rne, row.ls, row.cin, row.dec, row.rec) == (date.today(), "S", "C2", "N1", None, "")
    assert row.place in ssda903.PLACE_OF_TYPE.values() and row.place_provider == "PR4"  # a private provider
    assert row.child == "MARK-P-0-child"[:10] and row.home_post == "CV1 2AB"
    assert placed(ssda903.export_rows(session, region.councils[1], year)) == []
    assert placed(ssda903.export_rows(session, council, year - 1)) == []


def test_every_platform_placement_type_has_a_903_code_of_its_group():
    from commissioning.vocabulary import PLACEMENT_TYPES  # noqa: PLC0415

    for key, code in ssda903.PLACE_OF_TYPE.items():
        assert code in PLACEMENT_TYPES[key].ssda903_codes
    assert set(ssda903.PLACE_OF_TYPE) == set(PLACEMENT_TYPES)
