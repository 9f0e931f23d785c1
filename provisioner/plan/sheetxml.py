"""What a workbook's XML (or, in XLS, its BIFF records) says that calamine does not
hand over.

- ODS merged ranges: calamine reports merges for XLSX and XLS only. They are the
  `table:number-rows-spanned` / `table:number-columns-spanned` attributes of
  `table:table-cell` (OpenDocument 1.2 part 1, 9.1.4), counted with
  `table:number-rows-repeated` / `-columns-repeated` (9.1.3, 9.1.4).
- Formula error cells: calamine hands an XLSX error cell (`t="e"`, ECMA-376 part 1,
  18.3.1.4 and 18.18.11) and an XLS one (BOOLERR and FORMULA records, [MS-XLS]
  2.4.24 and 2.4.127) over as empty, and an ODS one (LibreOffice's
  `calcext:value-type="error"`) as its stored number, 0. All would be read as
  "nothing" or "0 €"; here they are found, with the text the sheet shows.

Only the parts needed are read: ODS `content.xml` streamed through expat, an XLSX
sheet's XML searched only when it holds an error cell at all.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree
from xml.parsers import expat

from provisioner.plan.table import MergedRange

_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_CALCEXT_NS = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_TABLE = f"{_TABLE_NS} table"
_ROW = f"{_TABLE_NS} table-row"
_CELL = f"{_TABLE_NS} table-cell"
_CELLS = (_CELL, f"{_TABLE_NS} covered-table-cell")
Cell = tuple[int, int]  # (row index, column index), 0-based


@dataclass
class OdsExtras:
    """Per sheet index: merged ranges, and error cells with the text they show."""

    merges: dict[int, list[MergedRange]] = field(default_factory=dict)
    errors: dict[int, dict[Cell, str]] = field(default_factory=dict)


class _OdsScan:
    """Collects merged ranges and error cells of each top-level table of a content.xml."""

    def __init__(self) -> None:
        self.found = OdsExtras()
        self._table = -1
        self._depth = 0  # tables inside cells (rare) are not sheets
        self._row = 0
        self._column = 0
        self._row_repeat = 1
        self._error: Cell | None = None  # the error cell whose text is being read
        self._text: list[str] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """An element starts."""
        if name == _TABLE:
            self._depth += 1
            if self._depth == 1:
                self._table += 1
                self._row = 0
        elif self._depth != 1:
            return
        elif name == _ROW:
            self._column = 0
            self._row_repeat = int(attrs.get(f"{_TABLE_NS} number-rows-repeated", "1"))
        elif name in _CELLS:
            self._cell(name, attrs)

    def _cell(self, name: str, attrs: dict[str, str]) -> None:
        rows = int(attrs.get(f"{_TABLE_NS} number-rows-spanned", "1"))
        columns = int(attrs.get(f"{_TABLE_NS} number-columns-spanned", "1"))
        if rows > 1 or columns > 1:
            self.found.merges.setdefault(self._table, []).append(MergedRange(
                self._row + 1, self._row + rows, self._column, self._column + columns - 1))
        if name == _CELL and attrs.get(f"{_CALCEXT_NS} value-type") == "error":
            self._error, self._text = (self._row, self._column), []
        self._column += int(attrs.get(f"{_TABLE_NS} number-columns-repeated", "1"))

    def chars(self, data: str) -> None:
        """Text: kept while inside an error cell."""
        if self._error is not None:
            self._text.append(data)

    def end(self, name: str) -> None:
        """An element ends."""
        if name == _TABLE:
            self._depth -= 1
        elif name == _ROW and self._depth == 1:
            self._row += self._row_repeat
        elif name == _CELL and self._error is not None:
            text = "".join(self._text).strip() or "#ERROR"
            self.found.errors.setdefault(self._table, {})[self._error] = text
            self._error = None


def ods_extras(data: bytes) -> OdsExtras:
    """Merged ranges and error cells per sheet index of an ODS file.

    Raises:
        zipfile.BadZipFile, KeyError, OSError, expat.ExpatError, ValueError: the file
            or its content.xml is damaged.
    """
    scan = _OdsScan()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.chars
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("content.xml") as stream:
        while chunk := stream.read(1 << 20):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    return scan.found


_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*>")
_ERROR_TYPE = re.compile(rb"""\bt\s*=\s*["']e["']""")
_CELL_REF = re.compile(rb"""\br\s*=\s*["']([A-Z]+)([0-9]+)["']""")
_CELL_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c>")
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?v>([^<]*)<")


def _sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The ZIP member of a worksheet, by tab name (workbook.xml and its relationships)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    for element in workbook.iter():
        if element.tag.rpartition("}")[2] == "sheet" and element.get("name") == sheet_name:
            target = targets.get(element.get(f"{{{_REL_NS}}}id"), "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
    return None


def _column_index(letters: bytes) -> int:
    number = 0
    for letter in letters.decode():
        number = number * 26 + ord(letter) - 64
    return number - 1


def xlsx_error_cells(data: bytes, sheet_name: str) -> dict[Cell, str]:
    """The error cells of an XLSX sheet, with the text each shows (`#DIV/0!`).

    Raises:
        zipfile.BadZipFile, KeyError, OSError, SyntaxError (ElementTree's ParseError),
            ValueError: the workbook's parts are damaged.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        part = _sheet_part(archive, sheet_name)
        xml = archive.read(part) if part else b""
    if not _ERROR_TYPE.search(xml):
        return {}
    found = {}
    for tag in _CELL_TAG.finditer(xml):
        if not _ERROR_TYPE.search(tag.group()):
            continue
        ref = _CELL_REF.search(tag.group())
        if ref is None:
            raise ValueError("an error cell without a reference")
        closing = _CELL_END.search(xml, tag.end())
        value = (None if tag.group().endswith(b"/>") or closing is None
                 else _VALUE.search(xml, tag.end(), closing.start()))
        text = value.group(1).decode("utf-8", "replace") if value else "#ERROR"
        found[(int(ref.group(2)) - 1, _column_index(ref.group(1)))] = text
    return found


# -- XLS (BIFF8, [MS-XLS]) ------------------------------------------------------------------

_BOF, _BOUNDSHEET, _FORMULA, _BOOLERR = 0x0809, 0x0085, 0x0006, 0x0205
# [MS-XLS] 2.5.97 BErr: the error values and the text a sheet shows for them.
_BIFF_ERRORS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!",
                0x1D: "#NAME?", 0x24: "#NUM!", 0x2A: "#N/A", 0x2B: "#GETTING_DATA"}


def _biff_error(kind: int, body: bytes) -> str | None:
    """The error a BOOLERR or FORMULA record's cell shows, or None if it shows none."""
    if kind == _BOOLERR and len(body) >= 8 and body[7] == 1:  # fError
        return _BIFF_ERRORS.get(body[6], "#ERROR")
    # FORMULA: its cached result is an error when the result's type byte is 2 and its
    # last two bytes are 0xFFFF ([MS-XLS] 2.5.133 FormulaValue).
    if kind == _FORMULA and len(body) >= 14 and body[6] == 2 and body[12:14] == b"\xff\xff":
        return _BIFF_ERRORS.get(body[8], "#ERROR")
    return None


def xls_error_cells(stream: bytes) -> dict[int, dict[Cell, str]]:
    """Per sheet index, the error cells of an XLS workbook's `Workbook` stream.

    Args:
        stream: the BIFF8 `Workbook` stream (from the OLE2 container).
    """
    sheet_at: dict[int, int] = {}  # stream offset of a sheet's BOF -> sheet index
    found: dict[int, dict[Cell, str]] = {}
    sheet, position = -1, 0
    while position + 4 <= len(stream):
        kind, size = int.from_bytes(stream[position:position + 2], "little"), \
            int.from_bytes(stream[position + 2:position + 4], "little")
        body = stream[position + 4:position + 4 + size]
        if kind == _BOUNDSHEET and len(body) >= 4:
            sheet_at[int.from_bytes(body[:4], "little")] = len(sheet_at)
        elif kind == _BOF:
            sheet = sheet_at.get(position, -1)
        elif sheet >= 0 and kind in (_BOOLERR, _FORMULA):
            text = _biff_error(kind, body)
            if text is not None:
                cell = (int.from_bytes(body[:2], "little"), int.from_bytes(body[2:4], "little"))
                found.setdefault(sheet, {})[cell] = text
        position += 4 + size
    return found
