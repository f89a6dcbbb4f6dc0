"""Reading uploaded CSV files: the whole-text check for control characters and the cell that names them."""

import pytest

from rcc.csv_files import CsvFileError, read_csv


def test_cells_are_stripped_and_blank_rows_dropped():
    rows = read_csv(b"\xef\xbb\xbfA,B\n  x , y\n,\n z,\n", ["A", "B"])
    assert rows == [(2, {"A": "x", "B": "y"}), (4, {"A": "z", "B": ""})]


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1f", "\x0b"])
def test_a_control_character_is_refused_naming_its_row_and_column(bad):
    with pytest.raises(CsvFileError) as error:
        read_csv(f"A,B\nfine,fine\nfine,bad{bad}cell\n".encode(), ["A", "B"])
    assert "Row 3, column B" in error.value.message


def test_tabs_and_line_breaks_inside_quotes_are_ordinary_text():
    rows = read_csv(b'A,B\n"two\nlines","a\ttab"\n', ["A", "B"])
    assert rows == [(2, {"A": "two\nlines", "B": "a\ttab"})]
