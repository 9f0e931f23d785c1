"""Workbooks (XLSX, XLSM, XLSB, XLS, ODS) read with calamine: the only module that
imports python_calamine.

calamine (a Rust library) reads all five formats and is the fastest reader measured
here (docs/benchmarks.md). What it hands over per cell: text as `str`, numbers as
`int`/`float`, truth values as `bool`, date-formatted numbers as `date`/`datetime`
(so a year typed as a date is a date, as the sheet shows it), durations as
`timedelta`; empty cells become None here. Formula cells give the result the
spreadsheet program saved.

Error cells (`#DIV/0!`): calamine hands them over as empty; in XLSX/XLSM they are
found in the sheet's XML (`t="e"`, ECMA-376 part 1, 18.3.1.4) and handed over as
`CellError`, so that a failed formula is never read as "no value". (In XLS files
they stay empty: a limitation.)

Merged cells: calamine reports the merged ranges of XLSX and XLS; for ODS they are
read from `content.xml` (`table:number-rows-spanned` / `-columns-spanned`, ODF 1.2
part 1, 9.1.4). Each cell of a range gets the range's value, as the sheet shows it.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from xml.parsers import expat

import python_calamine as calamine

from provisioner.errors import InvalidInputError
from provisioner.plan.filetype import PASSWORD_HELP, SAVE_AS, refuse
from provisioner.plan.table import CellError, CellValue, MergedRange, Row

_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_CELLS = (f"{_TABLE_NS} table-cell", f"{_TABLE_NS} covered-table-cell")


@dataclass(frozen=True)
class SheetInfo:
    """A worksheet: its tab name, whether it is hidden, its position in the workbook."""

    name: str
    hidden: bool
    index: int


@dataclass(frozen=True)
class SheetData:
    """A worksheet's rows that hold a value, and its merged ranges."""

    rows: list[Row]
    merged: tuple[MergedRange, ...]
    error_cells: bool = False


class Workbook:
    """An open workbook; every failure to read it becomes an `InvalidInputError`.

    Args:
        data: the file's bytes.
        name: the file name, for messages.
        file_format: the real format (`filetype.identify`), to find ODS merges.

    Raises:
        InvalidInputError: the workbook is encrypted or damaged.
    """

    def __init__(self, data: bytes, name: str, file_format: str) -> None:
        self.name = name
        self._data = data
        self._format = file_format
        try:
            self._book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
            metadata = self._book.sheets_metadata
        except BaseException as exc:  # PanicException of the Rust side is a BaseException
            raise self._translate(exc) from exc
        self.sheets = tuple(
            SheetInfo(m.name, m.visible != calamine.SheetVisibleEnum.Visible, index)
            for index, m in enumerate(metadata)
            if m.typ == calamine.SheetTypeEnum.WorkSheet
        )
        self._ods_merges: dict[int, list[MergedRange]] | None = None
        # calamine parses a whole sheet when it is first asked for: once per sheet.
        self._loaded: dict[int, calamine.CalamineSheet] = {}

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the workbook."""
        self._book.close()

    def _translate(self, exc: BaseException) -> InvalidInputError:
        """The error to raise for an exception out of calamine (interruptions pass)."""
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)):
            raise exc
        if isinstance(exc, calamine.PasswordError):
            return refuse(self.name, PASSWORD_HELP)
        detail = str(exc).strip() or type(exc).__name__
        return refuse(self.name, f"the {self._format} workbook cannot be read ({detail}): it "
                                 f"is damaged or incomplete; {SAVE_AS} again")

    def head(self, sheet: SheetInfo, count: int) -> list[Row]:
        """The first rows of a sheet that hold a value (to look for the header)."""
        try:
            raw = self._sheet(sheet).to_python(skip_empty_area=False, nrows=count)
        except BaseException as exc:
            raise self._translate(exc) from exc
        return _numbered(raw)

    def read(self, sheet: SheetInfo) -> SheetData:
        """A sheet's rows holding a value, merged cells filled, with their row numbers.

        Raises:
            InvalidInputError: the sheet cannot be read.
        """
        try:
            data = self._sheet(sheet)
            raw: list[list[CellValue]] = data.to_python(skip_empty_area=False)  # type: ignore[assignment]
            ranges = data.merged_cell_ranges
        except BaseException as exc:
            raise self._translate(exc) from exc
        merged = ([MergedRange(a[0] + 1, b[0] + 1, a[1], b[1]) for a, b in ranges]
                  if ranges is not None else self._ods_ranges(sheet))
        errors = self._xlsx_errors(sheet) if self._format in ("XLSX", "XLSM") else {}
        _mark_errors(raw, errors)
        _fill(raw, merged)
        return SheetData(_numbered(raw),
                         tuple(m for m in merged if m.last_row > m.first_row), bool(errors))

    def _sheet(self, sheet: SheetInfo) -> calamine.CalamineSheet:
        if sheet.index not in self._loaded:
            self._loaded[sheet.index] = self._book.get_sheet_by_index(sheet.index)
        return self._loaded[sheet.index]

    def _xlsx_errors(self, sheet: SheetInfo) -> dict[tuple[int, int], str]:
        try:
            return _error_cells(self._data, sheet.name)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError) as exc:
            raise refuse(self.name, f"the workbook's sheet {sheet.name!r} cannot be read "
                                    f"({exc}); {SAVE_AS} again") from exc

    def _ods_ranges(self, sheet: SheetInfo) -> list[MergedRange]:
        if self._format != "ODS":
            return []
        if self._ods_merges is None:
            try:
                self._ods_merges = _ods_merges(self._data)
            except (zipfile.BadZipFile, KeyError, OSError, expat.ExpatError, ValueError) as exc:
                raise refuse(self.name, f"the ODS file's content cannot be read ({exc}); "
                                        f"{SAVE_AS} again") from exc
        return self._ods_merges.get(sheet.index, [])


def _fill(raw: list[list[CellValue]], merged: Sequence[MergedRange]) -> None:
    """Give every cell of a merged range the value of its first cell (in place)."""
    for block in merged:
        first = block.first_row - 1
        value = (raw[first][block.first_column]
                 if first < len(raw) and block.first_column < len(raw[first]) else None)
        if value is None or value == "":
            continue
        while len(raw) < block.last_row:
            raw.append([])
        for index in range(first, block.last_row):
            row = raw[index]
            if len(row) <= block.last_column:
                row.extend([None] * (block.last_column + 1 - len(row)))
            for column in range(block.first_column, block.last_column + 1):
                row[column] = value


def _numbered(raw: Sequence[Sequence[CellValue]]) -> list[Row]:
    """Rows holding a value, 1-based numbers, empty cells as None, trailing ones cut."""
    rows: list[Row] = []
    for number, cells in enumerate(raw, start=1):
        values = [None if cell == "" else cell for cell in cells]
        while values and values[-1] is None:
            values.pop()
        if values:
            rows.append((number, tuple(values)))
    return rows


class _OdsSpans:
    """Collects the merged ranges of each top-level table of an ODS content.xml."""

    def __init__(self) -> None:
        self.found: dict[int, list[MergedRange]] = {}
        self._table = -1
        self._depth = 0  # tables inside cells (rare) are not sheets
        self._row = 0
        self._column = 0
        self._row_repeat = 1

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """An element starts."""
        if name == f"{_TABLE_NS} table":
            self._depth += 1
            if self._depth == 1:
                self._table += 1
                self._row = 0
        elif self._depth != 1:
            return
        elif name == f"{_TABLE_NS} table-row":
            self._column = 0
            self._row_repeat = int(attrs.get(f"{_TABLE_NS} number-rows-repeated", "1"))
        elif name in _CELLS:
            rows = int(attrs.get(f"{_TABLE_NS} number-rows-spanned", "1"))
            columns = int(attrs.get(f"{_TABLE_NS} number-columns-spanned", "1"))
            if rows > 1 or columns > 1:
                self.found.setdefault(self._table, []).append(MergedRange(
                    self._row + 1, self._row + rows, self._column, self._column + columns - 1))
            self._column += int(attrs.get(f"{_TABLE_NS} number-columns-repeated", "1"))

    def end(self, name: str) -> None:
        """An element ends."""
        if name == f"{_TABLE_NS} table":
            self._depth -= 1
        elif name == f"{_TABLE_NS} table-row" and self._depth == 1:
            self._row += self._row_repeat


def _ods_merges(data: bytes) -> dict[int, list[MergedRange]]:
    """Merged ranges per sheet index of an ODS file, from its content.xml."""
    spans = _OdsSpans()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = spans.start
    parser.EndElementHandler = spans.end
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("content.xml") as stream:
        while chunk := stream.read(1 << 20):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    return spans.found


_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*>")
_ERROR_TYPE = re.compile(rb"""\bt\s*=\s*["']e["']""")
_CELL_REF = re.compile(rb"""\br\s*=\s*["']([A-Z]+)([0-9]+)["']""")
_CELL_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c>")
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?v>([^<]*)<")


def _sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The ZIP member of a worksheet, by tab name (workbook.xml and its relationships)."""
    from xml.etree import ElementTree  # only for the small workbook parts

    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    for element in workbook.iter():
        if element.tag.rpartition("}")[2] == "sheet" and element.get("name") == sheet_name:
            target = targets.get(element.get(f"{{{_REL_NS}}}id"), "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
    return None


def _error_cells(data: bytes, sheet_name: str) -> dict[tuple[int, int], str]:
    """(row index, column index) -> error text of an XLSX sheet's error cells."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        part = _sheet_part(archive, sheet_name)
        xml = archive.read(part) if part else b""
    if b"e" not in xml or not _ERROR_TYPE.search(xml):
        return {}
    found = {}
    for tag in _CELL_TAG.finditer(xml):
        if not _ERROR_TYPE.search(tag.group()):
            continue
        ref = _CELL_REF.search(tag.group())
        closing = _CELL_END.search(xml, tag.end())
        value = (None if tag.group().endswith(b"/>") or closing is None
                 else _VALUE.search(xml, tag.end(), closing.start()))
        if ref is None:
            raise ValueError("an error cell without a reference")
        column = 0
        for letter in ref.group(1).decode():
            column = column * 26 + ord(letter) - 64
        text = value.group(1).decode("utf-8", "replace") if value else "#ERROR"
        found[(int(ref.group(2)) - 1, column - 1)] = text
    return found


def _mark_errors(raw: list[list[CellValue]], errors: dict[tuple[int, int], str]) -> None:
    """Put error cells' texts where calamine left them empty (in place)."""
    for (row, column), text in errors.items():
        while len(raw) <= row:
            raw.append([])
        cells = raw[row]
        if len(cells) <= column:
            cells.extend([None] * (column + 1 - len(cells)))
        cells[column] = CellError(text)
