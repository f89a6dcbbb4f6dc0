"""The pure SSDA903 reader: layout, dates and required values, every problem named by row and field."""

from datetime import date

import pytest

from commissioning.ssda903_files import (
    EpisodeRow,
    HeaderRow,
    Ssda903Error,
    read_903_date,
    read_episodes,
    read_header,
)

HEADER = b"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = b"CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"


def test_header_rows_are_read_with_dates():
    rows = read_header(HEADER + b"101,1,03/04/2012,WBRI,A123456789012,,\n"
                                b"102,2,2009-11-30,mwbc,UN1,1,01/02/2025\n")
    assert rows == [HeaderRow("101", "1", date(2012, 4, 3), "WBRI", "A123456789012", "", None, row=2),
                    HeaderRow("102", "2", date(2009, 11, 30), "MWBC", "UN1", "1", date(2025, 2, 1), row=3)]


def test_episode_rows_are_read_with_an_open_end():
    rows = read_episodes(EPISODES + b"101,01/05/2023,S,C2,N1,U1,PR1,,,,M1 1AE,m13 9pl,SC123456\n"
                                    b"101,01/05/2022,s,V2,N4,K2,PR4,01/05/2023,E11,CHILD,M1 1AE,LS1 1AA,\n")
    assert rows[0] == EpisodeRow("101", date(2023, 5, 1), "S", "C2", "N1", "U1", "PR1", None, "", "",
                                 "M1 1AE", "M13 9PL", "SC123456", row=2)
    assert rows[1].dec == date(2023, 5, 1) and rows[1].rne == "S" and rows[1].rec == "E11"


def test_every_problem_is_named_by_row_and_field():
    with pytest.raises(Ssda903Error) as caught:
        read_episodes(EPISODES + b",31/02/2023,S,C2,N1,U1,PR1,,,,,,\n"
                                 b"102,01/05/2023,,C2,N1,U1,PR1,01/04/2023,E11,,,,\n"
                                 b"103,01/05/2023,S,C2,N1,U1,PR1,someday,E11,,,,\n")
    found = {(p.row, p.field) for p in caught.value.problems}
    assert found == {(2, "CHILD"), (2, "DECOM"), (3, "RNE"), (3, "DEC"), (4, "DEC")}
    assert "3 rows of the episodes file have problems" in caught.value.message


def test_a_missing_column_names_it():
    with pytest.raises(Ssda903Error) as caught:
        read_header(b"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER\n101,1,03/04/2012,WBRI,,\n")
    assert "MC_DOB" in caught.value.message and caught.value.problems[0].row == 1


def test_episodes_given_as_the_header_file_are_refused():
    with pytest.raises(Ssda903Error) as caught:
        read_header(EPISODES + b"101,01/05/2023,S,C2,N1,U1,PR1,,,,,,\n")
    assert "SEX" in caught.value.message


@pytest.mark.parametrize("data, words", [
    (b"\xff\xfe\x00C\x00H", "not UTF-8"),
    (b"", "empty"),
    (HEADER, "no header rows"),
])
def test_a_file_that_is_not_a_903_csv_is_refused(data, words):
    with pytest.raises(Ssda903Error) as caught:
        read_header(data)
    assert words in caught.value.message


@pytest.mark.parametrize("text", ["2023/05/01", "1/5/23", "00/01/2020", "01/01/1850", "yesterday"])
def test_dates_that_are_not_903_dates_are_refused(text):
    with pytest.raises(ValueError):
        read_903_date(text)


def test_a_child_identifier_must_be_short_and_plain():
    with pytest.raises(Ssda903Error) as caught:
        read_header(HEADER + b"12345678901,1,03/04/2012,WBRI,,,\n=cmd|x,1,03/04/2012,WBRI,,,\n")
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "CHILD"), (3, "CHILD")]


def test_a_child_identifier_a_spreadsheet_would_run_as_a_formula_is_refused():
    """'-A1' was accepted, then exported as "'-A1" (the CSV download's formula guard), so the return and the
    round trip named another child. An identifier starts with a letter or digit."""
    for bad in (b"-A1", b"-1+1", b"_-A1"):
        with pytest.raises(Ssda903Error) as caught:
            read_header(HEADER + bad + b",1,03/04/2012,WBRI,A123456789012,,\n")
        assert {(p.row, p.field) for p in caught.value.problems} == {(2, "CHILD")}
    assert read_header(HEADER + b"A-1_2,1,03/04/2012,WBRI,A123456789012,,\n")[0].child == "A-1_2"
