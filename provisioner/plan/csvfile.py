"""CSV plan files: encoding, delimiter and records, with spreadsheet row numbers.

The delimiter (`;`, `,`, tab or `|`) is the one that splits the header line into the
most known column names; an Excel `sep=;` first line is honoured (and, as in Excel,
not counted as a row). Encodings: see `encoding`.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator, Sequence

from provisioner.errors import InvalidInputError, Problem
from provisioner.plan.columns import MIN_HEADER_MATCHES, header_score
from provisioner.plan.encoding import Decoded, EncodingError, byte_meaning, decode, stray_bytes
from provisioner.plan.encoding import mojibake_fix as _mojibake_fix
from provisioner.plan.table import Row

HEADER_SEARCH_ROWS = 20
_DELIMITERS = (";", ",", "\t", "|")
MAX_LISTED = 20  # cells listed for a mixed-encoding file; a count stands for the rest
SAVE_UTF8 = ("save the file from Excel as 'CSV UTF-8 (durch Trennzeichen getrennt)' "
             "(LibreOffice: Zeichensatz 'Unicode (UTF-8)'), or pass --encoding NAME if the "
             "whole file is in one other encoding")


def read_csv(data: bytes, name: str, encoding: str | None) -> tuple[list[Row], Decoded, str]:
    """A CSV file's records, numbered as a spreadsheet shows them.

    Args:
        data: the file's bytes.
        name: the file name, for messages.
        encoding: the --encoding override, or None to detect.

    Returns:
        (rows, how the text was decoded, the delimiter).

    Raises:
        InvalidInputError: the text cannot be decoded right (every cell concerned is
            named), or is not CSV.
    """
    try:
        decoded = decode(data, encoding)
    except EncodingError as exc:
        raise InvalidInputError(name, [Problem(name, f"{exc}: {SAVE_UTF8}", exc.line)]) from exc
    delimiter, text = _excel_separator(decoded.text)
    delimiter = delimiter or _sniff_delimiter(text)
    try:
        rows = list(_records(text, delimiter))
    except csv.Error as exc:
        raise InvalidInputError(name, [Problem(
            name, f"the file is not valid CSV ({exc}); export it again from the spreadsheet "
                  "program")]) from exc
    if decoded.mixed is not None:
        raise InvalidInputError(name, _mixed_problems(name, rows, decoded))
    return rows, decoded, delimiter


def _excel_separator(text: str) -> tuple[str | None, str]:
    """Honour an Excel `sep=;` first line: (its delimiter, the text after it)."""
    first, *rest = text.split("\n", 1) if "\n" in text else text.split("\r", 1)
    line = first.strip().strip('"')
    if line.lower().startswith("sep=") and len(line) == 5:
        return line[4], "".join(rest)
    return None, text


def _records(text: str, delimiter: str) -> Iterator[Row]:
    """CSV records numbered as a spreadsheet shows them (a record is one row)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return ((number, tuple(record)) for number, record in enumerate(reader, start=1))


def _sniff_delimiter(text: str) -> str:
    """The delimiter that makes a header line name the most known columns."""
    # Only the top of the file: the header is there, and big plans have 40,000 lines.
    sample = "\n".join(text[:1 << 16].splitlines()[:HEADER_SEARCH_ROWS])
    best, best_score = _DELIMITERS[0], -1
    for delimiter in _DELIMITERS:
        try:
            rows = list(_records(sample, delimiter))
        except csv.Error:
            continue
        score = max((header_score(cells) for _, cells in rows), default=0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _header_names(rows: Sequence[Row]) -> tuple[str, ...]:
    for _, cells in itertools.islice(rows, HEADER_SEARCH_ROWS):
        if header_score(cells) >= MIN_HEADER_MATCHES:  # undecodable bytes shown as �
            return tuple(_readable(str(c)).strip() for c in cells)
    return ()


def _mixed_problems(name: str, rows: Sequence[Row], decoded: Decoded) -> list[Problem]:
    """One problem per cell that the file's mixed encoding makes unreadable."""
    header = _header_names(rows)
    problems: list[Problem] = []
    found = 0
    for number, cells in rows:
        for position, cell in enumerate(cells):
            message = _cell_message(str(cell), decoded)
            if message is None:
                continue
            found += 1
            if len(problems) < MAX_LISTED:
                column = header[position] if position < len(header) else None
                problems.append(Problem(name, message, number, column or None))
    if found > MAX_LISTED:
        problems.append(Problem(name, f"and {found - MAX_LISTED} more cells like these: "
                                      f"{SAVE_UTF8}"))
    if not problems:  # a stray byte outside any cell (in a line break, say)
        problems.append(Problem(name, f"the file is not valid {decoded.encoding}: {SAVE_UTF8}"))
    return problems


def _readable(text: str) -> str:
    """Text with undecodable bytes (kept as surrogates) shown as U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _cell_message(cell: str, decoded: Decoded) -> str | None:
    if decoded.mixed == "cp1252":
        fixed = _mojibake_fix(cell)
        if fixed is None:
            return None
        return (f"{cell!r} holds UTF-8 bytes in a file that is otherwise Windows-1252 (meant: "
                f"{fixed!r}): the file mixes two encodings; {SAVE_UTF8}")
    strays = stray_bytes(cell)
    if not strays:
        return None
    byte = strays[0]
    shown = _readable(cell)
    if decoded.mixed != "utf-8":
        return (f"byte 0x{byte:02X} is not valid {decoded.mixed} ({shown!r}): pass the "
                "file's real encoding with --encoding, or save it as 'CSV UTF-8'")
    meaning = byte_meaning(byte)
    hint = f"; {meaning}" if meaning else ""
    return (f"byte 0x{byte:02X} is not UTF-8 ({shown!r}{hint}), though the rest of the file "
            f"is UTF-8: the file mixes two encodings; correct the cell, then {SAVE_UTF8}")
