"""Every file dialect users produce gives the same plan."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from provisioner.errors import InvalidInputError, NotFoundError
from provisioner.models import FundingStatus, Measure, PlanItem, School
from provisioner.plan import read_plan, read_table
from tests.plan.books import HEADER, Sheet, openpyxl_book
from tests.plan.books import Value as WritableValue


def write_workbook(path: Path, sheets: list[tuple[str, list[list[WritableValue]]]]) -> None:
    openpyxl_book(path, [Sheet(name, rows) for name, rows in sheets])

DATA = Path(__file__).parent.parent / "data" / "plans"

# The plan every dialect file holds.
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


@pytest.mark.parametrize(
    ("file_name", "detected"),
    [
        ("german-semicolon-utf8-bom.csv", "CSV, delimiter ';', encoding UTF-8 with BOM"),
        ("german-semicolon-utf8.csv", "CSV, delimiter ';', encoding UTF-8"),
        ("german-semicolon-cp1252.csv", "CSV, delimiter ';', encoding Windows-1252"),
        ("german-comma-utf8.csv", "CSV, delimiter ',', encoding UTF-8"),
        ("german-tab-utf16.txt", "CSV, delimiter tab, encoding UTF-16LE with BOM"),
        ("english-comma-utf8.csv", "CSV, delimiter ',', encoding UTF-8"),
        ("german-title-rows-empty-rows.csv", "CSV, delimiter ';', encoding UTF-8"),
    ],
)
def test_csv_dialects_give_the_same_plan(file_name: str, detected: str) -> None:
    path = DATA / file_name
    plan = read_plan(path)
    assert plan.items == EXPECTED_ITEMS
    assert plan.schools == EXPECTED_SCHOOLS
    assert plan.detected == detected
    assert plan.warnings == ()
    assert plan.source == file_name
    assert plan.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_title_rows_and_sep_line_keep_spreadsheet_row_numbers() -> None:
    table = read_table(DATA / "german-title-rows-empty-rows.csv")
    # Excel hides the "sep=;" line, so the title is row 1 and the header row 3.
    assert table.header_row == 3
    assert [number for number, _ in table.rows][:3] == [4, 5, 6]


def _german_text_rows() -> list[list[WritableValue]]:
    return [
        ["100001", "GGS Am Lindenplatz", "Grundschule", "Verkabelung", "2020", None,
         "84.600,00 €", "DigitalPakt Schule", "abgerechnet", "85.615,20"],
        ["100001", "GGS Am Lindenplatz", "Grundschule", "Access Points", "2021", "4",
         "5.360,00", "DigitalPakt Schule", "bewilligt", None],
        ["054321", "Förderschule Am Park", "Förderschule", "Endgeräte", "2022", "1.200",
         "949.500 €", "Eigenmittel", "Eigenmittel", None],
    ]


def _numeric_rows() -> list[list[WritableValue]]:
    return [
        [100001, "GGS Am Lindenplatz", "Grundschule", "Verkabelung", 2020, None, 84600.0,
         "DigitalPakt Schule", "abgerechnet", 85615.2],
        [100001.0, "GGS Am Lindenplatz", "Grundschule", "Access Points", 2021.0, 4.0,
         Decimal("5360"), "DigitalPakt Schule", "bewilligt", None],
        # Excel keeps a leading zero only in a text cell
        ["054321", "Förderschule Am Park", "Förderschule", "Endgeräte", 2022, 1200, 949500,
         "Eigenmittel", "Eigenmittel", None],
    ]


def test_xlsx_with_german_text_numbers(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    write_workbook(path, [("Tabelle1", [HEADER, *_german_text_rows()])])
    plan = read_plan(path)
    assert (plan.items, plan.schools) == (EXPECTED_ITEMS, EXPECTED_SCHOOLS)
    assert plan.detected == "XLSX, sheet 'Tabelle1'"


def test_xlsx_with_title_rows_and_numeric_cells(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    rows: list[list[WritableValue]] = [
        ["Medienentwicklungsplan Musterstadt"], ["Stand: 15.03.2022"], [], HEADER,
        *_numeric_rows(),
    ]
    write_workbook(path, [("Tabelle1", rows)])
    table = read_table(path)
    assert table.header_row == 4
    assert [number for number, _ in table.rows] == [5, 6, 7]
    plan = read_plan(path)
    assert (plan.items, plan.schools) == (EXPECTED_ITEMS, EXPECTED_SCHOOLS)


def test_xlsx_problem_rows_are_spreadsheet_rows(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    rows: list[list[WritableValue]] = [["Titel"], [], HEADER, *_numeric_rows(), [], []]
    rows.append([100001, "GGS Am Lindenplatz", "Grundschule", "Beamer", 2021, 1, 900])
    write_workbook(path, [("Tabelle1", rows)])
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    assert [(p.row, p.column) for p in caught.value.problems] == [(9, "Maßnahme")]


def test_xlsx_plan_sheet_is_found_by_name(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    other: list[list[WritableValue]] = [HEADER, ["999999", "Andere Stadt", "", "WLAN", 2021,
                                                 None, 1]]
    write_workbook(path, [("Übersicht", other), ("Maßnahmen 2020-2022", [HEADER,
                                                                         *_numeric_rows()])])
    plan = read_plan(path)
    assert plan.items == EXPECTED_ITEMS
    assert plan.detected == "XLSX, sheet 'Maßnahmen 2020-2022'"


def test_xlsx_first_sheet_with_a_header_is_read(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    cover: list[list[WritableValue]] = [["Deckblatt"],
                                        ["Medienentwicklungsplan der Stadt Musterstadt"]]
    write_workbook(path, [("Deckblatt", cover), ("Tabelle2", [HEADER, *_numeric_rows()])])
    assert read_plan(path).detected == "XLSX, sheet 'Tabelle2'"


def test_xlsx_without_header_names_the_sheets_looked_at(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    write_workbook(path, [("Deckblatt", [["nur Text"]]), ("Leer", [])])
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    (problem,) = caught.value.problems
    assert "no sheet with a header row found (XLSX, visible sheets: 'Deckblatt', 'Leer')" \
        in problem.message
    assert "put a header row with at least Schulnummer, Schule, Maßnahme, Jahr, Kosten (EUR)" \
        in problem.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"nope\.csv does not exist"):
        read_plan(tmp_path / "nope.csv")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="is a folder"):
        read_plan(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"  \r\n\r\n", "the file is empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "the file is a damaged Office file"),
        (b"PK\x03\x04 not really a zip", "the file is a damaged ZIP package"),
        # invalid UTF-8, and garbage in every 8-bit code page
        (b"Schulnummer;Schule\r\n\x81\x8d\x8f\x90\x9d\xfe\xff\xb0\xb1\xb2",
         "the file is not UTF-8, and no code page tried reads it as plausible text"),
        (b"%PDF-1.7\n", "the file is a PDF, not a spreadsheet"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "plan.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    (problem,) = caught.value.problems
    assert message in problem.message
    assert problem.file == "plan.csv"


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "plan.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(InvalidInputError, match="1 problem found") as caught:
        read_plan(path)
    assert caught.value.problems[0].message == (
        "the file is a ZIP archive that holds no spreadsheet; open it in Excel or LibreOffice "
        "and save it as .xlsx (Excel-Arbeitsmappe) or as CSV")


def test_damaged_opendocument_spreadsheet_is_named(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "plan.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"),
                         "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    message = caught.value.problems[0].message
    assert message.startswith("the ODS workbook cannot be read (")
    assert message.endswith("it is damaged or incomplete; open it in Excel or LibreOffice and "
                            "save it as .xlsx (Excel-Arbeitsmappe) or as CSV again")
