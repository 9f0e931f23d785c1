"""XLSX workbooks: the only module that knows the file format or imports openpyxl.

Reading streams a sheet's rows straight from the workbook's XML with expat. It
does not go through openpyxl's read-only worksheets on purpose: on the 2-core
machines the tool runs on, openpyxl (even with lxml) took 4.4–6.8 s to hand over
the 42,000 rows of bench/plan_import.py's plan, this reader 1.1–1.3 s; openpyxl's
per-cell parsing, inline strings most of all, is the difference.
tests/test_xlsx.py checks that both read the same values. Writing uses openpyxl's
write-only mode.

What a reader returns: text as `str`, numbers as `int` (whole, without a decimal
point in the file) or `float`, truth values as `bool`, error cells as their text
(`#DIV/0!`), empty cells as None. Formula cells give the result the spreadsheet
program saved. Date-formatted numbers stay numbers: plans have no date columns.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO
from xml.etree import ElementTree
from xml.parsers import expat

from provisioner.errors import InvalidInputError, Problem

CellValue = str | int | float | bool | None
# What a writer accepts: also exact amounts, written as numbers.
WritableValue = CellValue | Decimal
Row = tuple[int, tuple[CellValue, ...]]  # (row number as the spreadsheet shows it, cells)

# The transitional namespaces (what Excel and LibreOffice write) and the strict ones.
_MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_RELATIONSHIP_ID_ATTRS = (
    "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id",
    "{http://purl.oclc.org/ooxml/officeDocument/relationships}id",
)
_CHUNK = 1 << 20

# Element codes for the sheet and shared-string parsers. Expat runs without namespace
# processing (it costs a third of the parse time); the prefix the document uses for
# the spreadsheet namespace, usually none, is taken from its root element.
_ROW, _CELL, _TEXT, _PHONETIC, _ITEM = range(5)
# A cell's value (<v>) and a text run (<t>) are both "text to collect".
_LOCAL_TAGS = {"row": _ROW, "c": _CELL, "v": _TEXT, "t": _TEXT, "rPh": _PHONETIC, "si": _ITEM}
_DIGITS = "0123456789"


def _tags_for(root: str, attrs: dict[str, str]) -> dict[str, int]:
    """The element names of a part whose root element is named `root`."""
    prefix, _, _ = root.rpartition(":")
    declared = attrs.get(f"xmlns:{prefix}" if prefix else "xmlns")
    if declared not in _MAIN_NAMESPACES:
        raise ValueError(f"unexpected XML namespace {declared!r}")
    qualify = f"{prefix}:" if prefix else ""
    return {qualify + local: code for local, code in _LOCAL_TAGS.items()}


class _Parser:
    """An expat parser whose element names are resolved from the root element."""

    def __init__(self) -> None:
        self._tags: dict[str, int] = {}
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = self._root
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._chars
        self.parser = parser

    def _root(self, name: str, attrs: dict[str, str]) -> None:
        self._tags = _tags_for(name, attrs)
        self.parser.StartElementHandler = self._start

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        raise NotImplementedError

    def _end(self, name: str) -> None:
        raise NotImplementedError

    def _chars(self, data: str) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class SheetInfo:
    """A worksheet of a workbook: its tab name, whether it is hidden, its part."""

    name: str
    hidden: bool
    part: str


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _resolve(base_dir: str, target: str) -> str:
    """A relationship target as a zip member name."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base_dir, target))


def _column_number(letters: str) -> int:
    """1-based column of a cell reference's letters (`"AB"` → 28)."""
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


class _SheetParser(_Parser):
    """Turns a worksheet's XML, fed in chunks, into rows of cell values."""

    def __init__(self, shared: Sequence[str]) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self._shared = shared
        self._row_number = 0
        self._cells: list[tuple[int, CellValue]] = []
        self._width = 0
        self._column = 0
        self._type = "n"
        self._text: list[str] = []
        self._collect = False
        self._phonetic = False
        self._columns: dict[str, int] = {}  # cell reference letters → column number

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = self._tags.get(name)
        if tag == _CELL:
            ref = attrs.get("r")
            if ref:
                letters = ref.rstrip(_DIGITS)
                column = self._columns.get(letters)
                if column is None:
                    column = self._columns[letters] = _column_number(letters)
                self._column = column
            else:
                self._column += 1
            self._type = attrs.get("t", "n")
            self._text = []
        elif tag == _TEXT:
            self._collect = not self._phonetic
        elif tag == _ROW:
            self._begin_row(attrs.get("r"))
        elif tag == _PHONETIC:
            self._phonetic = True

    def _begin_row(self, number: str | None) -> None:
        self._row_number = int(number) if number else self._row_number + 1
        self._cells = []
        self._width = 0
        self._column = 0

    def _end(self, name: str) -> None:
        tag = self._tags.get(name)
        if tag == _CELL:
            value = self._value()
            if value is not None:
                self._cells.append((self._column, value))
                self._width = max(self._width, self._column)
        elif tag == _TEXT:
            self._collect = False
        elif tag == _ROW and self._cells:
            self.rows.append((self._row_number, self._packed()))
        elif tag == _PHONETIC:
            self._phonetic = False

    def _chars(self, data: str) -> None:
        if self._collect:
            self._text.append(data)

    def _value(self) -> CellValue:
        text = "".join(self._text)
        kind = self._type
        if not text:
            return None
        if kind == "n":
            return float(text) if "." in text or "E" in text or "e" in text else int(text)
        if kind == "s":
            return self._shared[int(text)]
        if kind == "b":
            return text == "1"
        return text  # inlineStr, str (formula text), e (error), d (ISO date)

    def _packed(self) -> tuple[CellValue, ...]:
        values: list[CellValue] = [None] * self._width
        for column, value in self._cells:
            values[column - 1] = value
        return tuple(values)


class _SharedStringParser(_Parser):
    """Reads the shared-string table: one string per <si>, rich-text runs joined."""

    def __init__(self) -> None:
        super().__init__()
        self.strings: list[str] = []
        self._text: list[str] = []
        self._collect = False
        self._phonetic = False

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = self._tags.get(name)
        if tag == _ITEM:
            self._text = []
        elif tag == _TEXT:
            self._collect = not self._phonetic
        elif tag == _PHONETIC:
            self._phonetic = True

    def _end(self, name: str) -> None:
        tag = self._tags.get(name)
        if tag == _ITEM:
            self.strings.append("".join(self._text))
        elif tag == _TEXT:
            self._collect = False
        elif tag == _PHONETIC:
            self._phonetic = False

    def _chars(self, data: str) -> None:
        if self._collect:
            self._text.append(data)


class WorkbookReader:
    """An open XLSX workbook whose sheets can be read row by row.

    Use it as a context manager; every failure to understand the file becomes an
    `InvalidInputError` naming the file.

    Args:
        source: the file, or its bytes as a binary stream.
        name: the file name for messages (default: the path's name).
    """

    def __init__(self, source: Path | IO[bytes], name: str | None = None) -> None:
        self.name = name or (source.name if isinstance(source, Path) else "workbook")
        try:
            self._zip = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise self._unreadable(exc) from exc
        try:
            self._workbook_part = self._office_document()
            self.sheets = self._sheet_infos()
            self._shared: list[str] | None = None
        except Exception:
            self._zip.close()
            raise

    def __enter__(self) -> WorkbookReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the file."""
        self._zip.close()

    def _unreadable(self, exc: BaseException) -> InvalidInputError:
        return InvalidInputError(self.name, [Problem(
            self.name,
            f"the file is not a readable XLSX workbook ({exc}); open it in Excel or "
            "LibreOffice and save it again as .xlsx (Excel-Arbeitsmappe) or as CSV",
        )])

    def _xml(self, member: str) -> ElementTree.Element:
        try:
            return ElementTree.fromstring(self._zip.read(member))
        # KeyError: a missing member; the others: truncated or oddly compressed ones.
        except (KeyError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError,
                ElementTree.ParseError) as exc:
            raise self._unreadable(exc) from exc

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id → (type, target member) of a package part."""
        folder, file_name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", file_name + ".rels")
        if rels not in self._zip.namelist():
            return {}
        found = {}
        for element in self._xml(rels).iter():
            if _local(element.tag) == "Relationship":
                target = _resolve(folder, element.get("Target", ""))
                found[element.get("Id", "")] = (element.get("Type", ""), target)
        return found

    def _office_document(self) -> str:
        for kind, target in self._relationships("").values():
            if kind.endswith("/officeDocument"):
                return target
        return "xl/workbook.xml"

    def _sheet_infos(self) -> tuple[SheetInfo, ...]:
        rels = self._relationships(self._workbook_part)
        infos = []
        for element in self._xml(self._workbook_part).iter():
            if _local(element.tag) != "sheet":
                continue
            rel_id = next((element.get(a) for a in _RELATIONSHIP_ID_ATTRS if element.get(a)), "")
            kind, part = rels.get(rel_id or "", ("", ""))
            if kind.endswith("/worksheet"):  # chart sheets and macro sheets hold no rows
                hidden = element.get("state", "visible") != "visible"
                infos.append(SheetInfo(element.get("name", ""), hidden, part))
        if not infos:
            raise self._unreadable(ValueError("it has no worksheet"))
        return tuple(infos)

    def _shared_strings(self) -> list[str]:
        if self._shared is None:
            self._shared = []
            for kind, part in self._relationships(self._workbook_part).values():
                if kind.endswith("/sharedStrings"):
                    parser = _SharedStringParser()
                    for _ in self._feed(part, parser.parser):
                        pass
                    self._shared = parser.strings
        return self._shared

    def _feed(self, part: str, parser: expat.XMLParserType) -> Iterator[None]:
        """Feed a member to a parser in chunks, pausing after each (for streaming)."""
        try:
            with self._zip.open(part) as stream:
                while chunk := stream.read(_CHUNK):
                    parser.Parse(chunk, False)
                    yield None
                parser.Parse(b"", True)
        except (KeyError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError,
                expat.ExpatError, ValueError, IndexError) as exc:
            raise self._unreadable(exc) from exc
        yield None

    def rows(self, sheet: SheetInfo) -> Iterator[Row]:
        """The rows of a sheet that hold a value, in order, with their row numbers.

        Empty rows are left out; the numbers say where each row is. Each row's
        cells run from column A to its last cell that holds a value.

        Raises:
            InvalidInputError: the sheet's XML is damaged.
        """
        parser = _SheetParser(self._shared_strings())
        for _ in self._feed(sheet.part, parser.parser):
            yield from parser.rows
            parser.rows.clear()


def write_workbook(
    path: Path, sheets: Sequence[tuple[str, Iterable[Sequence[WritableValue]]]],
) -> None:
    """Write rows into a new XLSX file, one worksheet per (tab name, rows) pair.

    Cells are written as given: `str` as text, numbers (also `Decimal`) as numbers,
    None as an empty cell. Uses openpyxl's write-only mode, so rows may be a
    generator of any length.

    Raises:
        OSError: the file cannot be written.
    """
    # Imported here: reading does not need openpyxl, and importing it costs every
    # command that reads a plan about 0.2 s.
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
