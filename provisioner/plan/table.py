"""A plan file's rows as read: the hand-over from the readers to the checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


class CellError(str):
    """A cell that shows a formula error (`#DIV/0!`, `#REF!`): its text, told apart
    from text someone typed."""

    __slots__ = ()


# What a reader hands over per cell: text, numbers, truth values, dates and times
# (a spreadsheet's date-formatted numbers), or None for an empty cell.
CellValue = str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta | None
Row = tuple[int, tuple[CellValue, ...]]  # (row number as the spreadsheet shows it, cells)


@dataclass(frozen=True)
class SourceInfo:
    """How a plan file was read: its real format and the choices made.

    Attributes:
        format: the file's real format: `CSV`, `XLSX`, `XLSM`, `XLSB`, `XLS` or `ODS`.
        sheet: the worksheet read (workbooks), else None.
        encoding: the text encoding (CSV), e.g. `UTF-8 with BOM`, `Windows-1252`.
        delimiter: the CSV delimiter character.
    """

    format: str
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None

    def describe(self) -> str:
        """In words, for the import summary (`CSV, delimiter ';', encoding UTF-8`)."""
        if self.sheet is not None:
            return f"{self.format}, sheet {self.sheet!r}"
        shown = "tab" if self.delimiter == "\t" else repr(self.delimiter)
        return f"{self.format}, delimiter {shown}, encoding {self.encoding}"


@dataclass(frozen=True)
class MergedRange:
    """Cells merged into one in a workbook, in spreadsheet row numbers (1-based)
    and column positions (0-based); each cell of it holds the first cell's value."""

    first_row: int
    last_row: int
    first_column: int
    last_column: int


@dataclass(frozen=True)
class RawTable:
    """A plan file's rows as read, before their meaning is checked.

    Attributes:
        source: the file name, for messages.
        sha256: hex digest of the file's bytes.
        info: what was read: format, sheet, encoding, delimiter.
        header_row: the header's row number as the spreadsheet shows it; None if
            no row in the first 20 names enough known columns.
        header: the header row's cells as text.
        rows: (row number, cells) of the rows below the header.
        notices: things worth telling about the reading (a file whose name says
            another format than it has), as messages.
        merged: merged cell ranges spanning more than one row (workbooks).
        error_cells: whether any cell shows a formula error (`CellError`).
    """

    source: str
    sha256: str
    info: SourceInfo
    header_row: int | None
    header: tuple[str, ...]
    rows: Sequence[Row]
    notices: tuple[str, ...] = ()
    merged: tuple[MergedRange, ...] = ()
    error_cells: bool = False

    @property
    def detected(self) -> str:
        """What was read, in words."""
        return self.info.describe()
