"""Workbooks as people's programs write them: every format calamine reads, the sheet
that holds the plan, merged cells, years typed as dates, formula errors, and files
whose real type is not what their name says."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter

from provisioner.errors import ConfigError, InvalidInputError
from provisioner.models import FundingStatus, Measure, PlanItem, School
from provisioner.plan import read_plan
from provisioner.plan.filetype import PASSWORD_HELP
from tests.plan.books import (
    HEADER,
    Sheet,
    Value,
    encrypt,
    ods_book,
    openpyxl_book,
    xls_book,
    xlsxwriter_book,
)

Writer = Callable[[Path, Sequence[Sheet]], Path]
WRITERS: dict[str, tuple[Writer, str, str]] = {
    "openpyxl": (openpyxl_book, "plan.xlsx", "XLSX"),
    "xlsxwriter": (xlsxwriter_book, "plan.xlsx", "XLSX"),
    "xlwt": (xls_book, "plan.xls", "XLS"),
    "odfpy": (ods_book, "plan.ods", "ODS"),
}

EXPECTED_ITEMS = (
    PlanItem("100001", Measure.CABLING, 2020, None, Decimal("84600.00"), "DigitalPakt Schule",
             FundingStatus.PAID, Decimal("85615.20")),
    PlanItem("100001", Measure.ACCESS_POINTS, 2021, 4, Decimal("5360.00"), "DigitalPakt Schule",
             FundingStatus.APPROVED, None),
    PlanItem("054321", Measure.END_DEVICES, 2022, 1200, Decimal("949500.00"), "Eigenmittel",
             FundingStatus.NOT_FUNDED, None),
)
EXPECTED_SCHOOLS = (
    School("100001", "GGS Am Lindenplatz", "Grundschule"),
    School("054321", "Förderschule Am Park", "Förderschule"),
)


def plan_rows(*, merged_school: bool = False) -> list[list[Value]]:
    """Title, header and the three rows; with `merged_school` the second row leaves the
    school's cells empty (a merged range above gives them)."""
    second: list[Value] = [100001, "GGS Am Lindenplatz", "Grundschule"]
    if merged_school:
        second = [None, None, None]
    return [
        ["Medienentwicklungsplan Musterstadt"],
        HEADER,
        [100001, "GGS Am Lindenplatz", "Grundschule", "Verkabelung", 2020, None, 84600,
         "DigitalPakt Schule", "abgerechnet", 85615.2],
        [*second, "Access Points", 2021, 4, 5360, "DigitalPakt Schule", "bewilligt", None],
        ["054321", "Förderschule Am Park", "Förderschule", "Endgeräte", 2022, 1200, 949500,
         "Eigenmittel", "Eigenmittel", None],
    ]


def office_workbook(*, year_as_date: bool = False) -> list[Sheet]:
    """A workbook as a city office keeps it: an old plan hidden first, a summary that
    names three known columns, then the plan (not named like one), school cells merged."""
    old = [HEADER, ["999999", "Alte Schule", "", "WLAN", 2019, None, 1, "", "", None]]
    summary = [["Schulnummer", "Schule", "Kosten (EUR)"], [100001, "GGS Am Lindenplatz", 89960]]
    return [
        Sheet("Plan alt", old, hidden=True),
        Sheet("Übersicht", summary),
        Sheet("Tabelle2", plan_rows(merged_school=True), merges=[(2, 0, 3, 0), (2, 1, 3, 1),
                                                                (2, 2, 3, 2)],
              year_as_date=year_as_date),
    ]


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("year_as_date", [False, True])
def test_every_format_gives_the_plan(tmp_path: Path, writer: str, year_as_date: bool) -> None:
    write, name, file_format = WRITERS[writer]
    path = write(tmp_path / name, office_workbook(year_as_date=year_as_date))
    plan = read_plan(path)
    assert plan.items == EXPECTED_ITEMS
    assert plan.schools == EXPECTED_SCHOOLS
    assert plan.detected == f"{file_format}, sheet 'Tabelle2'"
    assert (plan.info.format, plan.info.sheet) == (file_format, "Tabelle2")
    assert plan.warnings == ()
    assert plan.notices == ()


def test_hidden_sheet_is_read_when_named(tmp_path: Path) -> None:
    path = openpyxl_book(tmp_path / "plan.xlsx", office_workbook())
    plan = read_plan(path, sheet="Plan alt")
    assert [item.school_id for item in plan.items] == ["999999"]
    assert [n.message for n in plan.notices] == [
        "sheet 'Plan alt' is hidden; read because --sheet names it"]
    # Case and spelling of umlauts do not matter, as for headers.
    assert read_plan(path, sheet="tabelle2").items == EXPECTED_ITEMS


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = openpyxl_book(tmp_path / "plan.xlsx", office_workbook())
    with pytest.raises(ConfigError) as caught:
        read_plan(path, sheet="MEP")
    assert str(caught.value) == (
        "plan.xlsx has no sheet 'MEP'; its sheets are 'Plan alt' (hidden), 'Übersicht', "
        "'Tabelle2': pass one of them with --sheet")


def test_two_plan_sheets_must_be_chosen(tmp_path: Path) -> None:
    rows = plan_rows()
    path = openpyxl_book(tmp_path / "plan.xlsx", [Sheet("Tabelle1", rows),
                                                  Sheet("Tabelle2", rows)])
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    (problem,) = caught.value.problems
    assert problem.message == ("the sheets 'Tabelle1', 'Tabelle2' all hold the plan's columns: "
                               "choose the one to import with --sheet NAME")
    # One of them named like a plan is the plan.
    named = openpyxl_book(tmp_path / "named.xlsx", [Sheet("Kopie", rows),
                                                    Sheet("MEP 2020-2022", rows)])
    assert read_plan(named).detected == "XLSX, sheet 'MEP 2020-2022'"


def test_only_a_hidden_sheet_holds_the_plan(tmp_path: Path) -> None:
    path = openpyxl_book(tmp_path / "plan.xlsx", [Sheet("Deckblatt", [["Titel"]]),
                                                  Sheet("Daten", plan_rows(), hidden=True)])
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    message = caught.value.problems[0].message
    assert message.startswith("no sheet with a header row found (XLSX, visible sheets: "
                              "'Deckblatt')")
    assert message.endswith("the hidden sheet 'Daten' holds the plan's columns: pass "
                            "--sheet 'Daten' to read it")


def test_summary_sheet_alone_names_the_missing_columns(tmp_path: Path) -> None:
    summary = [["Schulnummer", "Schule", "Kosten (EUR)"], [100001, "GGS", 89960]]
    path = openpyxl_book(tmp_path / "plan.xlsx", [Sheet("Übersicht", summary)])
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    assert [p.message.split(" (")[0] for p in caught.value.problems] == [
        "required column 'Maßnahme' is missing", "required column 'Jahr' is missing"]


@pytest.mark.parametrize("writer", ["openpyxl", "xlwt", "odfpy"])
def test_merged_amount_over_rows_is_refused(tmp_path: Path, writer: str) -> None:
    write, name, _ = WRITERS[writer]
    rows = plan_rows()
    rows[3][6] = None  # the second row's Kosten: merged with the first's
    path = write(tmp_path / name, [Sheet("Plan", rows, merges=[(2, 6, 3, 6)])])
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (3, "Kosten (EUR)")
    assert problem.message == ("this cell is merged over rows 3–4: one figure cannot be split "
                               "between rows; unmerge the cells and enter each row's own figure")


def test_title_merged_across_columns_is_no_header(tmp_path: Path) -> None:
    path = xlsxwriter_book(tmp_path / "plan.xlsx",
                           [Sheet("Plan", plan_rows(), merges=[(0, 0, 0, 9)])])
    assert read_plan(path).items == EXPECTED_ITEMS


def test_year_dates(tmp_path: Path) -> None:
    rows = plan_rows()
    rows[2][4] = dt.date(2020, 3, 15)  # a full date: its year, with a warning
    rows[3][4] = dt.date(1905, 7, 13)  # 2021 typed into a date cell: serial 2021
    path = openpyxl_book(tmp_path / "plan.xlsx", [Sheet("Plan", rows)])
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (4, "Jahr")
    assert problem.message == ("the cell holds the date 13.07.1905, not a year: format the "
                               "column as a number (Standard) and enter the budget year again, "
                               "e.g. 2021")
    rows[3][4] = 2021
    plan = read_plan(openpyxl_book(tmp_path / "fixed.xlsx", [Sheet("Plan", rows)]))
    assert plan.items == EXPECTED_ITEMS
    assert [(w.row, w.column, w.message) for w in plan.warnings] == [
        (3, "Jahr", "the cell holds the date 15.03.2020: its year 2020 is taken as the budget "
                    "year")]


def test_formula_errors_are_named(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Plan")
    for r, row in enumerate(plan_rows()):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    sheet.write_formula(2, 9, "=1/0", None, "#DIV/0!")  # Ist-Kosten of row 3
    sheet.write_formula(4, 1, "=#REF!", None, "#REF!")  # Schule of row 5
    book.close()
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    assert [(p.row, p.column, p.message) for p in caught.value.problems] == [
        (3, "Ist-Kosten (EUR)", "the cell shows the error #DIV/0! (a formula that fails): "
                                "correct the formula or enter the value"),
        (5, "Schule", "the cell shows the error #REF! (a formula that fails): correct the "
                      "formula or enter the value"),
    ]


@pytest.mark.parametrize("writer", ["openpyxl", "xlwt", "odfpy"])
def test_formula_errors_are_named_never_empty_or_zero(tmp_path: Path, writer: str) -> None:
    # calamine hands these over as empty (XLSX, XLS) or as 0 (ODS, where LibreOffice
    # stores the number 0 with the error).
    write, name, _ = WRITERS[writer]
    rows = plan_rows()
    rows[2][9] = "#DIV/0!"  # Ist-Kosten of row 3
    rows[3][6] = "#REF!"  # Kosten of row 4
    path = write(tmp_path / name, [Sheet("Tabelle1", [["x"]]), Sheet("Plan", rows)])
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    assert [(p.row, p.column, p.message.split(" (")[0]) for p in caught.value.problems] == [
        (3, "Ist-Kosten (EUR)", "the cell shows the error #DIV/0!"),
        (4, "Kosten (EUR)", "the cell shows the error #REF!"),
    ]


def test_ods_with_mimetype_not_first_is_read(tmp_path: Path) -> None:
    path = ods_book(tmp_path / "plan.ods", [Sheet("Plan", plan_rows())], mimetype_last=True)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist()[-1] == "mimetype"
    plan = read_plan(path)
    assert (plan.items, plan.detected, plan.notices) == (EXPECTED_ITEMS, "ODS, sheet 'Plan'", ())


def test_password_protected_workbook(tmp_path: Path) -> None:
    plain = openpyxl_book(tmp_path / "plain.xlsx", [Sheet("Plan", plan_rows())])
    path = encrypt(plain, tmp_path / "plan.xlsx")
    assert path.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"  # an OLE2 container, like .xls
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    (problem,) = caught.value.problems
    assert problem.message == PASSWORD_HELP
    assert "Datei > Informationen > Arbeitsmappe schützen > Mit Kennwort verschlüsseln" \
        in PASSWORD_HELP


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"<html><body><table><tr><td>Schulnummer</td></tr></table></body></html>", "plan.xls",
         "the file is a web page (HTML), not a spreadsheet, whatever its name says (web "
         "portals and some programs save HTML as .xls): open it in Excel or LibreOffice and "
         "save it as .xlsx (Excel-Arbeitsmappe) or as CSV"),
        ("\ufeff<!DOCTYPE html>\n<html><table></table></html>".encode("utf-16"), "plan.xls",
         "the file is a web page (HTML)"),
        (b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:'
         b'spreadsheet"/>', "plan.xls",
         "the file is an Excel 2003 XML spreadsheet, not a workbook this tool reads"),
    ],
)
def test_markup_named_like_a_workbook(tmp_path: Path, content: bytes, name: str,
                                      message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    (problem,) = caught.value.problems
    assert problem.message.startswith(message)


def test_word_document_is_named(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    assert caught.value.problems[0].message.startswith(
        "the file is a Word document (.docx), not a spreadsheet")


def test_csv_named_xlsx_is_read_as_csv(tmp_path: Path) -> None:
    source = Path(__file__).parent.parent / "data" / "plans" / "german-semicolon-utf8.csv"
    path = tmp_path / "plan.xlsx"
    shutil.copy(source, path)
    plan = read_plan(path)
    assert plan.items == EXPECTED_ITEMS
    assert [n.message for n in plan.notices] == [
        "the file is named .xlsx but is CSV text; read as CSV"]


@pytest.mark.parametrize(("writer", "name", "notice"), [
    ("openpyxl", "plan.csv", "the file is named .csv but is an XLSX workbook; read as XLSX"),
    ("xlwt", "plan.xlsx", "the file is named .xlsx but is an XLS workbook; read as XLS"),
    ("odfpy", "plan.xls", "the file is named .xls but is an ODS workbook; read as ODS"),
])
def test_workbook_with_the_wrong_extension_is_read(tmp_path: Path, writer: str, name: str,
                                                   notice: str) -> None:
    path = WRITERS[writer][0](tmp_path / name, [Sheet("Plan", plan_rows())])
    plan = read_plan(path)
    assert plan.items == EXPECTED_ITEMS
    assert [n.message for n in plan.notices] == [notice]


def test_encoding_option_on_a_workbook_is_a_notice(tmp_path: Path) -> None:
    path = openpyxl_book(tmp_path / "plan.xlsx", [Sheet("Plan", plan_rows())])
    plan = read_plan(path, encoding="cp1252")
    assert [n.message for n in plan.notices] == [
        "--encoding applies to CSV files only; ignored for this XLSX workbook"]


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"xl/workbook.bin": b"\x00damaged"},
         "the XLSB workbook cannot be read ("),
        ({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"},
         "the file is an OpenDocument file but not a spreadsheet "
         "(application/vnd.oasis.opendocument.text)"),
    ],
)
def test_other_packages_are_named(tmp_path: Path, members: dict[str, bytes],
                                  message: str) -> None:
    path = tmp_path / "plan.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    assert caught.value.problems[0].message.startswith(message)


def test_empty_rows_above_the_table_do_not_hide_it(tmp_path: Path) -> None:
    rows: list[list[Value]] = [[] for _ in range(30)]
    path = openpyxl_book(tmp_path / "plan.xlsx", [Sheet("Notizen", [["nur Text"]]),
                                                  Sheet("Daten", [*rows, *plan_rows()])])
    plan = read_plan(path)
    assert (plan.items, plan.detected) == (EXPECTED_ITEMS, "XLSX, sheet 'Daten'")
