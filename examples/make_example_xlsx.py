"""Write examples/plan-musterstadt.xlsx from examples/plan-musterstadt.csv.

The workbook holds the same plan the way a city office keeps it in Excel: a notes
sheet first, then the plan sheet "MEP 2020-2022" with a title above the table and
real numbers (not text) in the number columns. tests/plan/test_example.py checks
that both files give the same plan.

Run from the repository root:

    .venv/bin/python examples/make_example_xlsx.py
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

import openpyxl

from provisioner.plan.numbers import is_blank, parse_decimal

HERE = Path(__file__).resolve().parent
CSV_PLAN = HERE / "plan-musterstadt.csv"
XLSX_PLAN = HERE / "plan-musterstadt.xlsx"
WritableValue = str | int | float | Decimal | None
NUMBER_COLUMNS = {"Schulnummer", "Jahr", "Anzahl", "Kosten (EUR)", "Ist-Kosten (EUR)"}
NOTES = [
    ["Medienentwicklungsplan der Stadt Musterstadt"],
    ["Fiktive Beispieldaten für provisioner (keine echten Schulen)."],
    ["Die Maßnahmen stehen im Blatt „MEP 2020-2022“, eine Zeile je Schule, Maßnahme und Jahr."],
    ["Beträge in Euro brutto; Ist-Kosten leer, solange nichts abgerechnet ist."],
]


def _cell(column: str, text: str) -> WritableValue:
    """A CSV cell as Excel would hold it: numbers as numbers, the rest as text."""
    if is_blank(text):
        return None
    if column not in NUMBER_COLUMNS:
        return text
    value = parse_decimal(text)
    return int(value) if value == value.to_integral_value() else value


def plan_rows(source: Path) -> list[list[WritableValue]]:
    """The plan sheet: title, date, an empty row, then header and rows of the CSV."""
    with source.open(encoding="utf-8-sig", newline="") as stream:
        records = list(csv.reader(stream, delimiter=";"))
    header, body = records[0], records[1:]
    rows: list[list[WritableValue]] = [
        ["Medienentwicklungsplan Musterstadt 2020–2022 – Maßnahmen je Schule"],
        ["Stand: 15.03.2022"],
        [],
        list(header),
    ]
    rows += [[_cell(column, text) for column, text in zip(header, record, strict=True)]
             for record in body]
    return rows


def write_workbook(
    path: Path, sheets: Sequence[tuple[str, Iterable[Sequence[WritableValue]]]],
) -> None:
    """Write rows into a new XLSX file, one worksheet per (tab name, rows) pair, with
    openpyxl's write-only mode (the tool itself only reads workbooks)."""
    book = openpyxl.Workbook(write_only=True)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    book.save(path)


def main(target: Path = XLSX_PLAN) -> int:
    """Write the workbook; returns the exit status."""
    write_workbook(target, [("Hinweise", NOTES), ("MEP 2020-2022", plan_rows(CSV_PLAN))])
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else XLSX_PLAN))
