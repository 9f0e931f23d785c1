"""Writing workbooks of every kind the plan reader meets, with the writers people's
programs use: openpyxl and XlsxWriter (XLSX), odfpy (ODS), xlwt (XLS 97-2003),
msoffcrypto-tool (password protection as Excel applies it)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import openpyxl
import xlsxwriter
import xlwt
from msoffcrypto.format.ooxml import OOXMLFile
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import Style, TableProperties
from odf.table import CoveredTableCell, Table, TableCell, TableRow
from odf.text import P

Value = str | int | float | Decimal | dt.date | None

HEADER: list[Value] = [
    "Schulnummer", "Schule", "Schulform", "Maßnahme", "Jahr", "Anzahl", "Kosten (EUR)",
    "Förderprogramm", "Förderstatus", "Ist-Kosten (EUR)",
]


@dataclass
class Sheet:
    """A worksheet to write: rows from A1, merged ranges (0-based, inclusive), hidden."""

    name: str
    rows: Sequence[Sequence[Value]]
    merges: Sequence[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1
    hidden: bool = False
    year_as_date: bool = False  # write Jahr cells (int) as 1 January, formatted "yyyy"


def openpyxl_book(path: Path, sheets: Sequence[Sheet]) -> Path:
    """An XLSX as openpyxl writes it (inline strings, merges, hidden sheets)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for spec in sheets:
        sheet = book.create_sheet(spec.name)
        for r, row in enumerate(spec.rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = sheet.cell(r, c, _dated(spec, r, c, value))
                if isinstance(cell.value, dt.date):
                    cell.number_format = "yyyy"
        for r0, c0, r1, c1 in spec.merges:
            sheet.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1,
                              end_column=c1 + 1)
        if spec.hidden:
            sheet.sheet_state = "hidden"
    book.save(path)
    return path


def _dated(spec: Sheet, r: int, c: int, value: Value) -> Value:
    """A Jahr cell as a date when the sheet keeps years as dates (header in row 1)."""
    if spec.year_as_date and r > 1 and c == HEADER.index("Jahr") + 1 and isinstance(value, int):
        return dt.date(value, 1, 1)
    return value


def xlsxwriter_book(path: Path, sheets: Sequence[Sheet]) -> Path:
    """An XLSX as XlsxWriter (and Excel) writes it: shared strings, real merges."""
    book = xlsxwriter.Workbook(str(path))
    year_format = book.add_format({"num_format": "yyyy"})
    activated = False
    for spec in sheets:
        sheet = book.add_worksheet(spec.name)
        if not spec.hidden and not activated:  # Excel cannot hide the active sheet
            sheet.activate()
            activated = True
        for r, row in enumerate(spec.rows):
            for c, given in enumerate(row):
                value = _dated(spec, r + 1, c + 1, given)
                if isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime(value.year, value.month, value.day),
                                         year_format)
                elif isinstance(value, Decimal):
                    sheet.write_number(r, c, float(value))
                elif value is not None:
                    sheet.write(r, c, value)
        for r0, c0, r1, c1 in spec.merges:
            first = spec.rows[r0][c0] if c0 < len(spec.rows[r0]) else None
            sheet.merge_range(r0, c0, r1, c1, None if first is None else first)
        if spec.hidden:
            sheet.hide()
    book.close()
    return path


def xls_book(path: Path, sheets: Sequence[Sheet]) -> Path:
    """An Excel 97-2003 .xls (BIFF8) as xlwt writes it."""
    book = xlwt.Workbook()
    year_style = xlwt.easyxf(num_format_str="YYYY")
    for spec in sheets:
        sheet = book.add_sheet(spec.name)
        merged = {(r0, c0): (r1, c1) for r0, c0, r1, c1 in spec.merges}
        covered = {(r, c) for r0, c0, r1, c1 in spec.merges for r in range(r0, r1 + 1)
                   for c in range(c0, c1 + 1)} - set(merged)
        for r, row in enumerate(spec.rows):
            for c, given in enumerate(row):
                dated = _dated(spec, r + 1, c + 1, given)
                value = float(dated) if isinstance(dated, Decimal) else dated
                if isinstance(value, str) and value in ERRORS:  # a formula that fails
                    sheet.row(r).set_cell_error(c, value)
                elif (r, c) in merged:
                    r1, c1 = merged[(r, c)]
                    sheet.write_merge(r, r1, c, c1, value)
                elif (r, c) not in covered and value is not None:
                    style = year_style if isinstance(value, dt.date) else xlwt.Style.default_style
                    sheet.write(r, c, value, style)
        if spec.hidden:
            sheet.visibility = 1
    book.save(str(path))
    return path


def ods_book(path: Path, sheets: Sequence[Sheet], *, mimetype_last: bool = False) -> Path:
    """An OpenDocument spreadsheet as odfpy writes it; `mimetype_last` reorders the
    package so that the `mimetype` member is not first (as some tools write it)."""
    doc = OpenDocumentSpreadsheet()
    hidden = Style(name="hiddentable", family="table")
    hidden.addElement(TableProperties(display=False))
    doc.automaticstyles.addElement(hidden)
    for spec in sheets:
        table = Table(name=spec.name, stylename=hidden) if spec.hidden else Table(name=spec.name)
        starts = {(r0, c0): (r1 - r0 + 1, c1 - c0 + 1) for r0, c0, r1, c1 in spec.merges}
        covered = {(r, c) for r0, c0, r1, c1 in spec.merges for r in range(r0, r1 + 1)
                   for c in range(c0, c1 + 1)} - set(starts)
        for r, row in enumerate(spec.rows):
            table_row = TableRow()
            for c, value in enumerate(row):
                if (r, c) in covered:
                    table_row.addElement(CoveredTableCell())
                    continue
                table_row.addElement(_ods_cell(value, starts.get((r, c))))
            table.addElement(table_row)
        doc.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    doc.write(buffer)
    package = _calc_errors(buffer.getvalue())
    path.write_bytes(_mimetype_last(package) if mimetype_last else package)
    return path


ERRORS = ("#DIV/0!", "#REF!", "#NAME?", "#VALUE!", "#N/A")
_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"


def _calc_errors(package: bytes) -> bytes:
    """Mark the formula-error cells as LibreOffice does (`calcext:value-type="error"`,
    the number 0 stored as their value); odfpy knows no calcext attributes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "content.xml" and b"of:=#ERROR" in data:
                data = data.replace(b'table:formula="of:=#ERROR"',
                                    b'table:formula="of:=1/0" calcext:value-type="error"')
                data = data.replace(b"<office:document-content ",
                                    f'<office:document-content xmlns:calcext="{_CALCEXT}" '
                                    .encode(), 1)
            target.writestr(info, data)
    return out.getvalue()


def _ods_cell(value: Value, span: tuple[int, int] | None) -> TableCell:
    spans = {"numberrowsspanned": span[0], "numbercolumnsspanned": span[1]} if span else {}
    if value is None:
        return TableCell(**spans)
    if isinstance(value, str) and value in ERRORS:  # a formula that fails, as Calc saves it
        cell = TableCell(valuetype="float", value="0", formula="of:=#ERROR", **spans)
    elif isinstance(value, (int, float, Decimal)):
        cell = TableCell(valuetype="float", value=str(value), **spans)
    elif isinstance(value, dt.date):
        cell = TableCell(valuetype="date", datevalue=value.isoformat(), **spans)
    else:
        cell = TableCell(valuetype="string", **spans)
    cell.addElement(P(text=str(value)))
    return cell


def _mimetype_last(package: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        names = source.namelist()
        assert names[0] == "mimetype"
        for name in [*names[1:], "mimetype"]:
            target.writestr(name, source.read(name))
    return out.getvalue()


def encrypt(path: Path, target: Path, password: str = "Schulamt2024") -> Path:
    """Protect an XLSX with a password the way Excel does (ECMA-376 agile encryption)."""
    with path.open("rb") as plain, target.open("wb") as out:
        office = OOXMLFile(plain)
        office.encrypt(password, out)
    return target
