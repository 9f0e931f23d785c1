"""Reading a plan file (CSV or XLSX) into rows, and the entry point `read_plan`.

What is detected rather than asked for:

- the format, from the file's first bytes (an XLSX file is a ZIP archive);
- a CSV file's encoding: UTF-8 (with or without the BOM Excel writes), UTF-16 with
  BOM (Excel's "Unicode text"), else Windows-1252 (Excel's "CSV" on German Windows);
- a CSV file's delimiter (`;`, `,` or tab), from the header line: the delimiter that
  splits it into the most known column names wins. An Excel `sep=;` first line is
  honoured;
- the header row: the first of the first 20 rows that names at least three known
  columns, so title rows above the table are fine;
- in a workbook, the sheet: visible sheets named like the plan (Plan, MEP,
  Maßnahmen, Medienentwicklungsplan) first, then the other visible sheets in tab
  order; the first one with a header row is read.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from provisioner.errors import InvalidInputError, NotFoundError, Problem
from provisioner.plan.columns import MIN_HEADER_MATCHES, fold, header_score
from provisioner.plan.table import RawTable
from provisioner.plan.validate import ParsedPlan, validate_table
from provisioner.xlsx import Row, SheetInfo, WorkbookReader

__all__ = ["ParsedPlan", "RawTable", "read_plan", "read_table"]

HEADER_SEARCH_ROWS = 20
_DELIMITERS = (";", ",", "\t")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # Excel 97-2003 .xls and other OLE compound files
# An OpenDocument file's first ZIP member is "mimetype", stored uncompressed.
_OPENDOCUMENT = b"application/vnd.oasis.opendocument"
_OPENDOCUMENT_WITHIN = 128
_PLAN_SHEET_PREFIXES = ("plan", "mep", "massnahme", "medienentwicklungsplan")


def read_plan(path: Path) -> ParsedPlan:
    """Read and check a media development plan (CSV or XLSX).

    Args:
        path: the plan file.

    Returns:
        The plan's schools and items, with warnings (ignored columns and the like).

    Raises:
        NotFoundError: the file does not exist.
        InvalidInputError: the file cannot be read or has problems; it carries all
            problems found, each with row and column.
    """
    return validate_table(read_table(path))


def read_table(path: Path) -> RawTable:
    """Read a plan file's rows and find its header, without checking the rows.

    Raises:
        NotFoundError: the file does not exist.
        InvalidInputError: the file is not a CSV or XLSX file that can be read.
    """
    data = _read_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    name = path.name
    if not data.strip():
        raise _invalid(name, "the file is empty; export the plan again")
    if data.startswith(_OLE_MAGIC):
        raise _invalid(name, "an Excel 97-2003 (.xls) file cannot be read; save it as "
                             ".xlsx (Excel-Arbeitsmappe) or as CSV")
    if data.startswith(_ZIP_MAGIC):
        if _OPENDOCUMENT in data[:_OPENDOCUMENT_WITHIN]:
            raise _invalid(name, "an OpenDocument spreadsheet (.ods) cannot be read; save "
                                 "it as .xlsx (Excel 2007-365) or as CSV")
        return _xlsx_table(data, name, digest)
    return _csv_table(data, name, digest)


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise NotFoundError(f"plan file {path} does not exist; check the path")
    if path.is_dir():
        raise NotFoundError(f"{path} is a folder, not a plan file; name the CSV or XLSX file")
    try:
        return path.read_bytes()
    except OSError as exc:
        message = f"the file cannot be read ({exc.strerror}); check its permissions"
        raise _invalid(path.name, message) from exc


def _invalid(name: str, message: str) -> InvalidInputError:
    return InvalidInputError(name, [Problem(name, message)])


def _find_header(rows: Iterable[Row]) -> int | None:
    """Index (0-based) of the header among the first rows given, or None."""
    for position, (_, cells) in enumerate(itertools.islice(rows, HEADER_SEARCH_ROWS)):
        if header_score(cells) >= MIN_HEADER_MATCHES:
            return position
    return None


def _split(rows: Sequence[Row], source: str, digest: str, detected: str) -> RawTable:
    """A table from all rows of a sheet: the header found, the rows below it."""
    at = _find_header(rows)
    if at is None:
        return RawTable(source, digest, detected, None, (), rows)
    number, cells = rows[at]
    header = tuple("" if c is None else str(c).strip() for c in cells)
    return RawTable(source, digest, detected, number, header, rows[at + 1:])


# -- CSV ----------------------------------------------------------------------------------

def _decode(data: bytes, name: str) -> tuple[str, str]:
    """The text of a CSV file and the name of its encoding."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError as exc:
            raise _invalid(name, f"the file starts like UTF-8 but is not ({exc.reason} at "
                                 f"byte {exc.start}); save it again as 'CSV UTF-8'") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise _invalid(name, "the file is damaged UTF-16 text; save it again as "
                                 "'CSV UTF-8'") from exc
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass  # not UTF-8: what German Excel writes as "CSV" is Windows-1252
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise _invalid(name, "the file is neither UTF-8 nor Windows-1252 text; save it as "
                             "'CSV UTF-8' or as .xlsx") from exc


def _excel_separator(text: str) -> tuple[str | None, str]:
    """Honour an Excel `sep=;` first line: (its delimiter, the text after it)."""
    first, _, rest = text.partition("\n")
    line = first.strip().strip('"')
    if line.lower().startswith("sep=") and len(line) == 5:
        return line[4], rest
    return None, text


def _csv_rows(text: str, delimiter: str) -> Iterator[Row]:
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
            rows = list(_csv_rows(sample, delimiter))
        except csv.Error:
            continue
        score = max((header_score(cells) for _, cells in rows), default=0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_table(data: bytes, name: str, digest: str) -> RawTable:
    text, encoding = _decode(data, name)
    delimiter, text = _excel_separator(text)
    delimiter = delimiter or _sniff_delimiter(text)
    try:
        rows = list(_csv_rows(text, delimiter))
    except csv.Error as exc:
        raise _invalid(name, f"the file is not valid CSV ({exc}); export it again from the "
                             "spreadsheet program") from exc
    shown = "tab" if delimiter == "\t" else repr(delimiter)
    return _split(rows, name, digest, f"CSV, {shown}, {encoding}")


# -- XLSX ---------------------------------------------------------------------------------

def _sheet_order(sheets: Sequence[SheetInfo]) -> list[SheetInfo]:
    """Visible sheets, the ones named like a plan first; hidden ones only if nothing else."""
    visible = [s for s in sheets if not s.hidden] or list(sheets)
    named = [s for s in visible if fold(s.name).startswith(_PLAN_SHEET_PREFIXES)]
    return named + [s for s in visible if s not in named]


def _xlsx_table(data: bytes, name: str, digest: str) -> RawTable:
    with WorkbookReader(io.BytesIO(data), name) as book:
        candidates = _sheet_order(book.sheets)
        for sheet in candidates:
            rows = book.rows(sheet)
            head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
            if _find_header(head) is not None:
                detected = f"XLSX, sheet {sheet.name!r}"
                return _split(head + list(rows), name, digest, detected)
    looked = ", ".join(repr(s.name) for s in candidates)
    detected = f"XLSX, sheets {looked} (none has a header row)"
    return RawTable(name, digest, detected, None, (), ())

