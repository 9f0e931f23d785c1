"""Reading a plan file (CSV, XLSX, XLSM, XLSB, XLS, ODS) into rows: `read_plan`.

What is detected rather than asked for:

- the format, from the file's content, not its name (`filetype`);
- a CSV file's encoding and delimiter (`encoding`, `csvfile`); `--encoding`
  overrides the encoding;
- the header row: the first of the first 20 rows that names at least three known
  columns, so title rows above the table are fine;
- in a workbook, the sheet: the visible sheet whose header row holds the plan's
  required columns. Hidden sheets are skipped (an old plan kept out of sight is not
  the plan); when several visible sheets hold a plan, the one named like a plan
  (Plan, MEP, Maßnahmen, Medienentwicklungsplan) wins, else the user chooses with
  `--sheet NAME`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import ConfigError, NotFoundError
from provisioner.plan.columns import (
    COLUMN_BY_FIELD,
    MIN_HEADER_MATCHES,
    REQUIRED_FIELDS,
    fold,
    header_score,
    match_header,
)
from provisioner.plan.csvfile import HEADER_SEARCH_ROWS, read_csv
from provisioner.plan.encoding import lookup
from provisioner.plan.filetype import FileKind, identify, refuse
from provisioner.plan.spreadsheet import SheetData, SheetInfo, Workbook
from provisioner.plan.table import RawTable, Row, SourceInfo
from provisioner.plan.validate import ParsedPlan, validate_table

__all__ = ["ParsedPlan", "RawTable", "read_plan", "read_table"]

_PLAN_SHEET_PREFIXES = ("plan", "mep", "massnahme", "medienentwicklungsplan")


def read_plan(path: Path, *, sheet: str | None = None,
              encoding: str | None = None) -> ParsedPlan:
    """Read and check a media development plan.

    Args:
        path: the plan file.
        sheet: the worksheet to read (workbooks); None to find it.
        encoding: the text encoding (CSV); None to detect it.

    Returns:
        The plan's schools and items, with warnings and notices.

    Raises:
        NotFoundError: the file does not exist.
        ConfigError: `encoding` names no known encoding, or `sheet` no sheet of the file.
        InvalidInputError: the file cannot be read or has problems; it carries all
            problems found, each with row and column.
    """
    return validate_table(read_table(path, sheet=sheet, encoding=encoding))


def read_table(path: Path, *, sheet: str | None = None,
               encoding: str | None = None) -> RawTable:
    """Read a plan file's rows and find its header, without checking the rows.

    Raises:
        NotFoundError: the file does not exist.
        ConfigError: unknown `encoding` or `sheet`.
        InvalidInputError: the file is not a plan file that can be read.
    """
    if encoding is not None:
        _check_encoding(encoding)
    data = _read_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    kind = identify(data, path.name)
    notices = [kind.notice] if kind.notice else []
    if kind.is_workbook:
        if kind.format == "XLSB":  # calamine reports neither merges nor errors there
            notices.append("in XLSB files merged cells and cells showing a formula error "
                           "look empty; if the sheet has any, save it as .xlsx and import that")
        if encoding is not None:
            notices.append(f"--encoding applies to CSV files only; ignored for this "
                           f"{kind.format} workbook")
        return _workbook_table(data, path.name, digest, kind, sheet, notices)
    if sheet is not None:
        notices.append("--sheet applies to workbooks only; ignored for this CSV file")
    rows, decoded, delimiter = read_csv(data, path.name, encoding)
    if decoded.note:
        notices.append(decoded.note)
    info = SourceInfo("CSV", encoding=decoded.encoding, delimiter=delimiter)
    return _split(rows, path.name, digest, info, notices)


def _check_encoding(name: str) -> None:
    try:
        lookup(name)
    except LookupError as exc:
        raise ConfigError(f"unknown encoding {name!r}: name one Python knows, e.g. utf-8, "
                          "cp1252, utf-16, iso8859-15, mac-roman") from exc


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise NotFoundError(f"plan file {path} does not exist; check the path")
    if path.is_dir():
        raise NotFoundError(f"{path} is a folder, not a plan file; name the CSV or XLSX file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise refuse(path.name, f"the file cannot be read ({exc.strerror}); check its "
                                "permissions") from exc


def _find_header(rows: Sequence[Row]) -> int | None:
    """Index (0-based) of the header among the first rows given, or None."""
    for position, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if header_score(cells) >= MIN_HEADER_MATCHES:
            return position
    return None


def _split(rows: Sequence[Row], source: str, digest: str, info: SourceInfo,
           notices: list[str], sheet: SheetData | None = None) -> RawTable:
    """A table from all rows of a file or sheet: the header found, the rows below it."""
    merged, errors = (sheet.merged, sheet.error_cells) if sheet else ((), False)
    at = _find_header(rows)
    if at is None:
        return RawTable(source, digest, info, None, (), rows, tuple(notices), merged, errors)
    number, cells = rows[at]
    header = tuple("" if c is None else str(c).strip() for c in cells)
    return RawTable(source, digest, info, number, header, rows[at + 1:], tuple(notices),
                    merged, errors)


# -- workbooks ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    """A sheet as a possible plan: how many known and required columns its header names."""

    sheet: SheetInfo
    score: int
    complete: bool

    @property
    def named_like_a_plan(self) -> bool:
        return fold(self.sheet.name).startswith(_PLAN_SHEET_PREFIXES)


def _candidate(book: Workbook, sheet: SheetInfo) -> _Candidate:
    head = book.head(sheet, HEADER_SEARCH_ROWS)
    at = _find_header(head)
    if at is None:
        return _Candidate(sheet, 0, False)
    cells = head[at][1]
    match = match_header(["" if c is None else str(c) for c in cells])
    return _Candidate(sheet, header_score(cells), not match.missing)


def _workbook_table(data: bytes, name: str, digest: str, kind: FileKind, wanted: str | None,
                    notices: list[str]) -> RawTable:
    with Workbook(data, name, kind.format) as book:
        if not book.sheets:
            raise refuse(name, f"the {kind.format} workbook has no worksheet; put the plan "
                               "on a worksheet")
        sheet = (_named_sheet(book, wanted, notices) if wanted is not None
                 else _plan_sheet(book, kind.format))
        content = book.read(sheet)
    info = SourceInfo(kind.format, sheet=sheet.name)
    return _split(content.rows, name, digest, info, notices, content)


def _named_sheet(book: Workbook, wanted: str, notices: list[str]) -> SheetInfo:
    found = ([s for s in book.sheets if s.name == wanted]
             or [s for s in book.sheets if fold(s.name) == fold(wanted)])
    if not found:
        names = ", ".join(repr(s.name) + (" (hidden)" if s.hidden else "") for s in book.sheets)
        raise ConfigError(f"{book.name} has no sheet {wanted!r}; its sheets are {names}: "
                          "pass one of them with --sheet")
    if found[0].hidden:
        notices.append(f"sheet {found[0].name!r} is hidden; read because --sheet names it")
    return found[0]


def _plan_sheet(book: Workbook, file_format: str) -> SheetInfo:
    """The visible sheet holding the plan (see the module docs), or a refusal."""
    visible = [_candidate(book, s) for s in book.sheets if not s.hidden]
    complete = [c for c in visible if c.complete]
    if len(complete) == 1:
        return complete[0].sheet
    if len(complete) > 1:
        named = [c for c in complete if c.named_like_a_plan]
        if len(named) == 1:
            return named[0].sheet
        listed = ", ".join(repr(c.sheet.name) for c in complete)
        raise refuse(book.name, f"the sheets {listed} all hold the plan's columns: choose the "
                                "one to import with --sheet NAME")
    partial = [c for c in visible if c.score >= MIN_HEADER_MATCHES]
    if partial:  # the checks then name the missing columns, and the sheet
        return max(partial, key=lambda c: c.score).sheet
    raise refuse(book.name, _no_plan_sheet(book, file_format))


def _no_plan_sheet(book: Workbook, file_format: str) -> str:
    looked = ", ".join(repr(s.name) for s in book.sheets if not s.hidden)
    required = ", ".join(COLUMN_BY_FIELD[f].german for f in REQUIRED_FIELDS)
    message = (f"no sheet with a header row found ({file_format}, visible sheets: "
               f"{looked or 'none'}): none of their first {HEADER_SEARCH_ROWS} rows names at "
               f"least {MIN_HEADER_MATCHES} known columns; put a header row with at least "
               f"{required} above the table")
    hidden = [s for s in book.sheets if s.hidden and _candidate(book, s).complete]
    if hidden:
        message += (f"; the hidden sheet {hidden[0].name!r} holds the plan's columns: pass "
                    f"--sheet {hidden[0].name!r} to read it")
    return message
