"""Reading an uploaded CSV file record by record from any byte offset, and mapping its columns. Pure: no I/O.

The file arrives as an iterator of byte chunks (a ranged GET from the offset), so a file of any size is read
with the memory of one line. Every record carries the byte offset where it ends: a record boundary, where
reading can resume after a crash. UTF-8 with or without a byte order mark; `,` `;` or tab delimited (read from
the header); quoted cells may hold delimiters, quotes and newlines.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"
DELIMITERS = (",", ";", "\t")
MAX_LINE_BYTES = 1024 * 1024        # a longer line is not a CSV a person made: the file fails
MAX_CELL_CHARACTERS = 100_000       # a longer cell (an unclosed quote swallowing the file) likewise
EMAIL_NAMES = frozenset({"email", "emailaddress", "mail", "mailaddress", "emailadres", "courriel"})
EMAIL = "email"
# A cell a spreadsheet would run as a formula (OWASP CSV injection) is written with a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Unreadable(Exception):
    """The file cannot be read as a CSV; the message says why in words a person understands."""


@dataclass(frozen=True)
class Record:
    line: int          # the line the record starts on (1: the file's first line)
    cells: list[str]
    end: int           # the byte offset just past the record: the next record starts there
    next_line: int     # the line the next record starts on


def records(chunks: Iterable[bytes], offset: int, line: int, delimiter: str = ",") -> Iterator[Record]:
    """The records of a file read from byte `offset` (a record boundary, on line `line`); blank lines are passed
    over. Raises Unreadable for text that is not UTF-8, binary data, or lines or cells no CSV holds."""
    source = _Lines(chunks, offset, line)
    reader = csv.reader(source.texts(), delimiter=delimiter, strict=False)
    while True:
        start_line = source.next_line
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Unreadable(f"Line {start_line} cannot be read as CSV ({exc}); check its quotes.") from None
        if any(len(cell) > MAX_CELL_CHARACTERS for cell in cells):
            raise Unreadable(f"Line {start_line} has a cell longer than {MAX_CELL_CHARACTERS:,} characters; "
                             "a quote may be left open.")
        if cells and any(cell.strip() for cell in cells):
            yield Record(start_line, cells, source.offset, source.next_line)


class _Lines:
    """Lines (with their endings) of a byte stream, decoded, with the offset and number of the next one."""

    def __init__(self, chunks: Iterable[bytes], offset: int, line: int) -> None:
        self.chunks = chunks
        self.offset = offset
        self.next_line = line
        self.at_start = offset == 0

    def texts(self) -> Iterator[str]:
        buffer = b""
        for chunk in self.chunks:
            buffer += chunk
            start = 0
            while (cut := buffer.find(b"\n", start)) >= 0:
                yield self._decode(buffer[start:cut + 1])
                start = cut + 1
            buffer = buffer[start:]
            if len(buffer) > MAX_LINE_BYTES:
                raise self._too_long()
        if buffer:
            yield self._decode(buffer)

    def _decode(self, raw: bytes) -> str:
        number = self.next_line
        if len(raw) > MAX_LINE_BYTES:
            raise self._too_long()
        self.offset += len(raw)
        self.next_line += 1
        if self.at_start:
            self.at_start = False
            raw = raw.removeprefix(BOM)
        if b"\x00" in raw:
            raise Unreadable(f"Line {number} holds binary data: this is not a CSV text file.")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Unreadable(f"Line {number} is not UTF-8 text. Save the file as \"CSV UTF-8\" (in Excel: "
                             "Save As, CSV UTF-8) and upload it again.") from None

    def _too_long(self) -> Unreadable:
        return Unreadable(f"Line {self.next_line} is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB: this does "
                          "not look like a CSV file.")


def check_text(head: bytes) -> None:
    """Refuse a file whose first bytes hold binary data (an image, a spreadsheet's zip, a PDF)."""
    if b"\x00" in head:
        raise Unreadable("The file holds binary data: this is not a CSV text file. In a spreadsheet, save it "
                         "as \"CSV UTF-8\" and upload that.")


def detect_delimiter(first_line: str) -> str:
    """The delimiter of a header line: whichever of `,` `;` tab occurs most outside quotes (`,` if none)."""
    outside = re.sub(r'"[^"]*"', "", first_line)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def first_line(chunks: Iterable[bytes]) -> str:
    """The file's first non-blank line, decoded (for detecting the delimiter); "" for an empty file."""
    source = _Lines(chunks, 0, 1)
    for text in source.texts():
        if text.strip():
            return text
    return ""


def simple_name(name: str) -> str:
    """A column or field name compared loosely: lower case, letters and digits only ("E-mail Address")."""
    return re.sub(r"[^0-9a-z]", "", name.strip().lower())


@dataclass(frozen=True)
class FieldName:
    key: str
    label: str


def columns(header: list[str], fields: Iterable[FieldName], mapping: Mapping[str, str] | None) -> list[str]:
    """For each column of the header, what it fills: "email", a field key, or "" (ignored).

    Without `mapping`, a column named like email/e-mail/email address is the address and a column named like a
    field's key or label fills that field. With it, only the columns it names are read. Unreadable when a mapped
    column is not in the header, or no column holds the address.
    """
    names = [cell.strip() for cell in header]
    if mapping is not None:
        by_name = {name.lower(): i for i, name in reversed(list(enumerate(names)))}
        targets = [""] * len(names)
        for column, target in mapping.items():
            index = by_name.get(column.strip().lower())
            if index is None:
                shown = ", ".join(f'"{n}"' for n in names if n) or "none"
                raise Unreadable(f'The mapping names the column "{column}", which is not in the file\'s header '
                                 f"(its columns: {shown}).")
            targets[index] = target
    else:
        by_simple: dict[str, str] = {}
        for field in fields:
            by_simple.setdefault(simple_name(field.label), field.key)
            by_simple[simple_name(field.key)] = field.key
        targets = []
        for name in names:
            simple = simple_name(name)
            target = EMAIL if simple in EMAIL_NAMES else by_simple.get(simple, "")
            targets.append("" if target in targets else target)
    if EMAIL not in targets:
        raise Unreadable('The file has no email column: name a column "email" in the header row, or map one to '
                         '"email".')
    return targets


def row_values(targets: list[str], cells: list[str]) -> tuple[str, dict[str, str]]:
    """The address cell and the field cells of one record (missing cells read as blank)."""
    email, values = "", {}
    for target, cell in zip(targets, cells, strict=False):
        if target == EMAIL:
            email = cell
        elif target:
            values[target] = cell
    return email, values


def safe_cell(value: str) -> str:
    """A cell as written to a CSV a person opens in a spreadsheet: never run as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
