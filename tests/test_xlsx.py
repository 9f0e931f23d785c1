"""The workbook reader (calamine) against openpyxl (the reference) on XLSX workbooks as
Excel writes them, and its translation of a damaged workbook into a clear error."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from provisioner.errors import InvalidInputError
from provisioner.plan.spreadsheet import SheetInfo, Workbook
from provisioner.plan.table import CellError, CellValue, Row
from tests.plan.books import Sheet, openpyxl_book

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "plan-musterstadt.xlsx"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

# A sheet as Excel writes it: shared strings, a rich-text string with a phonetic
# run, an inline string, numbers, a truth value, an error, formulas with saved
# results, rows and cells without references, gaps in rows and columns.
SHEET = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<{p}worksheet xmlns{colon}{prefix}="{main}" xmlns:r="{rel}">
<{p}dimension ref="A1:F9"/>
<{p}sheetData>
<{p}row r="1"><{p}c r="A1" t="s"><{p}v>0</{p}v></{p}c><{p}c r="B1" t="s"><{p}v>1</{p}v></{p}c>
  <{p}c r="C1" t="inlineStr"><{p}is><{p}r><{p}t xml:space="preserve">Kosten </{p}t></{p}r>
    <{p}r><{p}t>(EUR)</{p}t></{p}r></{p}is></{p}c></{p}row>
<{p}row r="3"><{p}c r="A3"><{p}v>100001</{p}v></{p}c><{p}c r="B3" t="s"><{p}v>2</{p}v></{p}c>
  <{p}c r="C3" s="0"><{p}v>84600.5</{p}v></{p}c><{p}c r="F3" t="b"><{p}v>1</{p}v></{p}c></{p}row>
<{p}row r="4"><{p}c r="A4"><{p}v>1.5E3</{p}v></{p}c><{p}c r="B4" t="e"><{p}v>#DIV/0!</{p}v></{p}c>
  <{p}c r="C4"><{p}f>SUM(C3:C3)</{p}f><{p}v>84600.5</{p}v></{p}c>
  <{p}c r="D4" t="str"><{p}f>B3&amp;"!"</{p}f><{p}v>Grüße &amp; mehr!</{p}v></{p}c></{p}row>
<{p}row><{p}c><{p}v>7</{p}v></{p}c><{p}c t="s"><{p}v>3</{p}v></{p}c></{p}row>
<{p}row r="7"><{p}c r="A7" t="s"/><{p}c r="B7"/></{p}row>
<{p}row r="9"><{p}c r="AA9"><{p}v>-2</{p}v></{p}c></{p}row>
</{p}sheetData></{p}worksheet>"""

SHARED = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="{MAIN}" count="4" uniqueCount="4">
<si><t>Schulnummer</t></si>
<si><r><rPr><b/></rPr><t>Maß</t></r><r><t xml:space="preserve">nahme </t></r>
  <rPh sb="0" eb="1"><t>x</t></rPh></si>
<si><t>Förder&lt;status&gt;</t></si>
<si><t xml:space="preserve">  leading spaces</t></si>
</sst>"""

WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>
<sheet name="Versteckt" sheetId="1" state="hidden" r:id="rId1"/>
<sheet name="Plan" sheetId="2" r:id="rId2"/>
</sheets></workbook>"""

WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PKG}">
<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="{REL}/worksheet" Target="/xl/worksheets/sheet2.xml"/>
<Relationship Id="rId3" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>
<Relationship Id="rId4" Type="{REL}/styles" Target="styles.xml"/>
</Relationships>"""

PACKAGE_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PKG}">
<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""

_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_OVERRIDES = "".join(
    f'<Override PartName="/xl/{part}" ContentType="{_TYPE}.{kind}+xml"/>'
    for part, kind in (("workbook.xml", "sheet.main"), ("worksheets/sheet1.xml", "worksheet"),
                       ("worksheets/sheet2.xml", "worksheet"),
                       ("sharedStrings.xml", "sharedStrings"), ("styles.xml", "styles"))
)
CONTENT_TYPES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
{_OVERRIDES}
</Types>"""

STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{MAIN}">
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""

EXPECTED_PLAN_SHEET: list[Row] = [
    (1, ("Schulnummer", "Maßnahme ", "Kosten (EUR)")),
    (3, (100001, "Förder<status>", 84600.5, None, None, True)),
    (4, (1500, CellError("#DIV/0!"), 84600.5, "Grüße & mehr!")),
    (5, (7, "  leading spaces")),
    (9, (*[None] * 26, -2)),
]


def _sheet(prefix: str) -> str:
    colon, p = (":", f"{prefix}:") if prefix else ("", "")
    return SHEET.format(p=p, colon=colon, prefix=prefix, main=MAIN, rel=REL)


def _excel_like(path: Path, prefix: str = "", members: dict[str, str] | None = None) -> Path:
    """Write a workbook the way Excel does (openpyxl writes inline strings only)."""
    parts = {
        "[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": PACKAGE_RELS,
        "xl/workbook.xml": WORKBOOK, "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
        "xl/styles.xml": STYLES, "xl/sharedStrings.xml": SHARED,
        "xl/worksheets/sheet1.xml": _sheet(prefix).replace("100001", "1"),
        "xl/worksheets/sheet2.xml": _sheet(prefix),
    }
    parts.update(members or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def _ours(path: Path, file_format: str = "XLSX") -> dict[str, list[Row]]:
    with Workbook(path.read_bytes(), path.name, file_format) as book:
        return {sheet.name: book.read(sheet).rows for sheet in book.sheets}


def _openpyxl(path: Path) -> dict[str, list[Row]]:
    """What openpyxl reads, non-empty rows only, without trailing empty cells."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = {}
        for sheet in book.worksheets:
            sheet.reset_dimensions()
            rows: list[Row] = []
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells: list[CellValue] = list(values)
                while cells and cells[-1] is None:
                    cells.pop()
                if cells:
                    rows.append((number, tuple(cells)))
            sheets[sheet.title] = rows
        return sheets
    finally:
        book.close()


@pytest.mark.parametrize("prefix", ["", "x"])
def test_excel_like_workbook(tmp_path: Path, prefix: str) -> None:
    path = _excel_like(tmp_path / "plan.xlsx", prefix)
    ours = _ours(path)
    assert ours["Plan"] == EXPECTED_PLAN_SHEET
    assert ours == _openpyxl(path)
    # A formula error is told apart from text that reads the same.
    assert isinstance(ours["Plan"][2][1][1], CellError)
    assert not isinstance(ours["Plan"][0][1][0], CellError)


def test_sheet_infos(tmp_path: Path) -> None:
    path = _excel_like(tmp_path / "plan.xlsx")
    with Workbook(path.read_bytes(), path.name, "XLSX") as book:
        assert book.sheets == (SheetInfo("Versteckt", True, 0), SheetInfo("Plan", False, 1))


def test_example_workbook_reads_like_openpyxl() -> None:
    assert _ours(EXAMPLE) == _openpyxl(EXAMPLE)


def test_written_rows_read_back(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    openpyxl_book(path, [Sheet("Eins", [["Text", 1, 2.5, None, "ä & <b>"], [], ["x", -3]]),
                         Sheet("Zwei", [])])
    assert _ours(path) == {
        "Eins": [(1, ("Text", 1, 2.5, None, "ä & <b>")), (3, ("x", -3))],
        "Zwei": [],
    }


def test_many_rows_read_like_openpyxl(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    rows = [[f"Schule {n}", n, n / 4, "Präsentationstechnik", "DigitalPakt Schule"]
            for n in range(6000)]
    openpyxl_book(path, [Sheet("Plan", rows)])
    ours = _ours(path)["Plan"]
    assert len(ours) == 6000
    assert ours == _openpyxl(path)["Plan"]


@pytest.mark.parametrize(
    ("member", "content"),
    [
        ("xl/worksheets/sheet2.xml", f"<worksheet xmlns='{MAIN}'><sheetData><row>"),
        ("xl/workbook.xml", "<workbook"),
        # cells point into a shared-string table that has no strings: once shown as
        # "list index out of range"
        ("xl/sharedStrings.xml", f"<sst xmlns='{MAIN}'/>"),
    ],
)
def test_damaged_workbook_is_one_clear_problem(tmp_path: Path, member: str,
                                               content: str) -> None:
    damaged = _excel_like(tmp_path / "damaged.xlsx", members={member: content})
    with pytest.raises(InvalidInputError) as caught:
        _ours(damaged)
    (problem,) = caught.value.problems
    assert problem.file == "damaged.xlsx"
    assert problem.message.startswith("the XLSX workbook cannot be read (")
    assert problem.message.endswith("it is damaged or incomplete; open it in Excel or "
                                    "LibreOffice and save it as .xlsx (Excel-Arbeitsmappe) or "
                                    "as CSV again")
    assert "list index out of range" not in problem.message


def test_workbook_without_sheets(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", f"<workbook xmlns='{MAIN}'><sheets/></workbook>")
    with pytest.raises(InvalidInputError) as caught:
        _ours(path)
    assert caught.value.problems[0].message.startswith("the XLSX workbook cannot be read")
