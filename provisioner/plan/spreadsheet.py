"""Workbooks (XLSX, XLSM, XLSB, XLS, ODS) read with calamine: the only module that
imports python_calamine.

calamine (a Rust library) reads all five formats and is the fastest reader measured
here (docs/benchmarks.md). What it hands over per cell: text as `str`, numbers as
`int`/`float`, truth values as `bool`, date-formatted numbers as `date`/`datetime`
(so a year typed as a date is a date, as the sheet shows it), durations as
`timedelta`; empty cells become None here. Formula cells give the result the
spreadsheet program saved.

Error cells (`#DIV/0!`): calamine hands them over as empty (XLSX, XLS) or as their
stored number, 0 (ODS); `sheetxml` finds them in the file's XML or BIFF records and
they are handed over as `CellError`, so that a failed formula is never read as "no
value" or 0.

Merged cells: calamine reports the merged ranges of XLSX and XLS; for ODS they are
read from `content.xml` by `sheetxml`. Each cell of a range gets the range's value,
as the sheet shows it.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from xml.parsers import expat

import python_calamine as calamine

from provisioner.errors import InvalidInputError
from provisioner.plan.filetype import PASSWORD_HELP, SAVE_AS, ole_stream, refuse
from provisioner.plan.sheetxml import OdsExtras, ods_extras, xls_error_cells, xlsx_error_cells
from provisioner.plan.table import CellError, CellValue, MergedRange, Row


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
        self._ods_extras: OdsExtras | None = None
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
        """The first `count` rows of a sheet that hold a value (to look for the header)."""
        try:  # empty rows above a table are common; they do not count
            raw = self._sheet(sheet).to_python(skip_empty_area=False, nrows=count * 10)
        except BaseException as exc:
            raise self._translate(exc) from exc
        return _numbered(raw)[:count]

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
                  if ranges is not None else self._ods().merges.get(sheet.index, []))
        errors = self._errors(sheet)
        _mark_errors(raw, errors)
        _fill(raw, merged)
        return SheetData(_numbered(raw),
                         tuple(m for m in merged if m.last_row > m.first_row), bool(errors))

    def _sheet(self, sheet: SheetInfo) -> calamine.CalamineSheet:
        if sheet.index not in self._loaded:
            self._loaded[sheet.index] = self._book.get_sheet_by_index(sheet.index)
        return self._loaded[sheet.index]

    def _errors(self, sheet: SheetInfo) -> dict[tuple[int, int], str]:
        """The sheet's formula error cells (calamine hands them over empty or as 0)."""
        if self._format == "ODS":
            return self._ods().errors.get(sheet.index, {})
        if self._format == "XLS":
            return self._xls_errors().get(sheet.index, {})
        if self._format not in ("XLSX", "XLSM"):
            return {}
        try:
            return xlsx_error_cells(self._data, sheet.name)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError) as exc:
            raise refuse(self.name, f"the workbook's sheet {sheet.name!r} cannot be read "
                                    f"({exc}); {SAVE_AS} again") from exc

    def _xls_errors(self) -> dict[int, dict[tuple[int, int], str]]:
        try:
            stream = ole_stream(self._data, "Workbook") or ole_stream(self._data, "Book")
        except (OSError, ValueError, IndexError, KeyError) as exc:
            raise refuse(self.name, f"the XLS workbook cannot be read ({exc}); {SAVE_AS} "
                                    "again") from exc
        return xls_error_cells(stream)

    def _ods(self) -> OdsExtras:
        """What content.xml says beyond calamine's values (ODS only; else nothing)."""
        if self._ods_extras is None:
            self._ods_extras = OdsExtras()
            if self._format == "ODS":
                try:
                    self._ods_extras = ods_extras(self._data)
                except (zipfile.BadZipFile, KeyError, OSError, expat.ExpatError,
                        ValueError) as exc:
                    raise refuse(self.name, f"the ODS file's content cannot be read ({exc}); "
                                            f"{SAVE_AS} again") from exc
        return self._ods_extras


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


def _mark_errors(raw: list[list[CellValue]], errors: dict[tuple[int, int], str]) -> None:
    """Put error cells' texts where calamine left them empty (in place)."""
    for (row, column), text in errors.items():
        while len(raw) <= row:
            raw.append([])
        cells = raw[row]
        if len(cells) <= column:
            cells.extend([None] * (column + 1 - len(cells)))
        cells[column] = CellError(text)
