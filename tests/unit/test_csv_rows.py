"""Reading CSV files for imports (services/audience/csv_rows.py): records from any offset, and column mapping."""
from __future__ import annotations

import pytest

from chalicelib.services.audience import csv_rows
from chalicelib.services.audience.csv_rows import FieldName, Unreadable

FIELDS = [FieldName("first_name", "First name"), FieldName("company", "Organisation")]


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def read(data: bytes, delimiter: str = ",", size: int = 7) -> list[list[str]]:
    return [record.cells for record in csv_rows.records(chunked(data, size), 0, 1, delimiter)]


@pytest.mark.parametrize("size", [1, 2, 5, 64, 10_000])
def test_records_are_the_same_however_the_bytes_arrive(size):
    # Given a file with a BOM, CRLF endings, a quoted newline, quoted quotes and blank lines
    data = '\ufeffemail,note\r\n"ann@x.example","two\r\nlines, and ""quotes"""\r\n\r\n\nbob@x.example,é\r\n'.encode()

    # When it is read in chunks of any size
    records = list(csv_rows.records(chunked(data, size), 0, 1))

    # Then the BOM is gone, the quoted cell is whole, blank lines are passed over, and line numbers are the file's
    assert [r.cells for r in records] == [["email", "note"], ["ann@x.example", 'two\r\nlines, and "quotes"'],
                                          ["bob@x.example", "é"]]
    assert [r.line for r in records] == [1, 2, 6]
    assert records[-1].end == len(data)


def test_reading_resumes_from_any_record_boundary_with_the_same_records_and_lines():
    # Given a file read once to its end
    data = b'email\r\na@x.example\r\n"b@x.example\nstill b"\r\n\r\nc@x.example\r\nd@x.example'
    whole = list(csv_rows.records([data], 0, 1))

    for n, record in enumerate(whole):
        # When reading starts again where a record ended
        rest = list(csv_rows.records([data[record.end:]], record.end, record.next_line))

        # Then exactly the records after it come, with the same offsets and line numbers
        assert rest == whole[n + 1:]


@pytest.mark.parametrize(("header", "delimiter"), [
    ("email,first name", ","), ("email;first name", ";"), ("email\tfirst name", "\t"),
    ('"a;b",c', ","), ("email", ","), ('"x,y";z;w', ";"),
])
def test_the_delimiter_is_read_from_the_header(header, delimiter):
    assert csv_rows.detect_delimiter(header + "\r\n") == delimiter


def test_semicolon_and_tab_files_read_as_their_cells():
    assert read(b"email;name\na@x.example;\"Ann; A\"\n", ";") == [["email", "name"], ["a@x.example", "Ann; A"]]
    assert read(b"email\tname\na@x.example\tAnn\n", "\t") == [["email", "name"], ["a@x.example", "Ann"]]


@pytest.mark.parametrize(("data", "words"), [
    (b"email\nann@x.example\nb\xe9a@x.example\n", "Line 3 is not UTF-8"),
    (b"email\nann\x00@x.example\n", "Line 2 holds binary data"),
    (b"email\n" + b"x" * (csv_rows.MAX_LINE_BYTES + 1), "Line 2 is longer than 1 MB"),
    (b'email\n"' + b"x" * (csv_rows.MAX_CELL_CHARACTERS + 5) + b"\n", "Line 2 has a cell longer"),
])
def test_what_no_csv_holds_is_unreadable_with_the_line_named(data, words):
    with pytest.raises(Unreadable, match=words):
        read(data, size=4096)


def test_binary_files_are_refused_by_their_first_bytes():
    with pytest.raises(Unreadable, match="binary data"):
        csv_rows.check_text(b"PK\x03\x04\x14\x00\x06\x00")
    csv_rows.check_text(b"email\nann@x.example\n")


@pytest.mark.parametrize("name", ["email", "Email", "E-mail", "e_mail", "Email Address", " EMAIL ", "Mail"])
def test_the_email_column_is_found_by_its_usual_names(name):
    assert csv_rows.columns([name, "First name"], FIELDS, None) == ["email", "first_name"]


def test_fields_are_found_by_key_or_label_and_other_columns_are_ignored():
    header = ["ID", "Organisation", "email", "first_name", "email address", "Company"]

    targets = csv_rows.columns(header, FIELDS, None)

    # the first email column only, the field by label then by key, each target once
    assert targets == ["", "company", "email", "first_name", "", ""]


def test_an_explicit_mapping_reads_only_the_columns_it_names():
    targets = csv_rows.columns(["Mail", "Name", "email"], FIELDS, {"mail": "email", "Name": "first_name"})

    assert targets == ["email", "first_name", ""]


def test_a_file_without_an_email_column_or_with_a_missing_mapped_column_is_unreadable():
    with pytest.raises(Unreadable, match="no email column"):
        csv_rows.columns(["name", "city"], FIELDS, None)
    with pytest.raises(Unreadable, match='"Mail", which is not in the file'):
        csv_rows.columns(["email"], FIELDS, {"Mail": "email"})


def test_row_values_take_the_mapped_cells_and_read_missing_ones_as_blank():
    assert csv_rows.row_values(["", "email", "first_name"], ["1", "a@x.example"]) == ("a@x.example", {})
    assert csv_rows.row_values(["email", "first_name"], ["a@x.example", "Ann", "extra"]) == (
        "a@x.example", {"first_name": "Ann"})


@pytest.mark.parametrize(("cell", "written"), [
    ("=1+2", "'=1+2"), ("+49 30 1234", "'+49 30 1234"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("Ann", "Ann"), ("", ""),
])
def test_cells_a_spreadsheet_would_run_are_neutralised(cell, written):
    assert csv_rows.safe_cell(cell) == written
