"""The checks: every kind of problem, reported all at once, where the user sees it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from provisioner.errors import InvalidInputError, Problem
from provisioner.models import Measure, School
from provisioner.plan import RawTable, read_plan, validate_table
from provisioner.plan.table import CellValue

DATA = Path(__file__).parent.parent / "data" / "plans"

# (row, column, part of the message) of every problem in broken.csv: one per broken
# row. Rows 2 and 25 are fine, 16 and 24 are empty, 23 only earns a warning.
BROKEN_PROBLEMS = {
    (3, "Maßnahme", "unknown measure 'Beamer': use one of Verkabelung, WLAN, Server, "
                    "Switches, Access Points, Präsentationstechnik, Endgeräte"),
    (4, "Jahr", "'2020/21' is not a year"),
    (5, "Jahr", "year 1999 is outside 2000–2100"),
    (6, "Anzahl", "negative quantity -2"),
    (7, "Anzahl", "quantity 2,5 is not a whole number"),
    (8, "Kosten (EUR)", "negative amount -21.920,00"),
    (9, "Ist-Kosten (EUR)", "negative amount -5,00"),
    (10, "Maßnahme", "school 100001, Verkabelung, 2020 is already in row 2"),
    (11, "Schulnummer", "'10001' is not a 6-digit Schulnummer"),
    (12, "Kosten (EUR)", "total row 'Summe': 200.000,00 is not the sum of rows 2–11, "
                         "122.470,00: correct the figures, or remove the row"),
    (13, "Kosten (EUR)", "total row (a sum without a label): 150.000,00 is not the sum of "
                         "rows 2–11, 122.470,00"),
    (14, "Kosten (EUR)", "'abc' is not an amount"),
    (15, "Schule", "school 100002 is named 'KGS Sankt Marien' here but 'KGS St. Marien' "
                   "in row 14"),
    (17, "Förderstatus", "unknown funding status 'vielleicht': use one of geplant, "
                         "beantragt, bewilligt, abgelehnt, ausgezahlt, Eigenmittel"),
    (18, "Anzahl", "'x' is not a number"),
    (19, "Jahr", "empty: enter the budget year"),
    (20, "Kosten (EUR)", "empty: enter the planned cost"),
    (21, "Schulnummer", "empty: enter the school's 6-digit Schulnummer"),
    (22, "Schule", "empty: enter the name of school 100004"),
}
# Row 26 is a school's subtotal that adds up: skipped with a notice.


def _problems(path: Path) -> list[Problem]:
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    assert caught.value.path == Path(path.name)
    return caught.value.problems


def test_broken_plan_reports_every_problem_at_once() -> None:
    problems = _problems(DATA / "broken.csv")
    assert {(p.row, p.column) for p in problems} == {(r, c) for r, c, _ in BROKEN_PROBLEMS}
    assert len(problems) == len(BROKEN_PROBLEMS)  # one problem per broken row
    by_place = {(p.row, p.column): p.message for p in problems}
    for row, column, part in BROKEN_PROBLEMS:
        assert part in by_place[(row, column)], (row, column)
    assert [p.row for p in problems] == sorted(p.row or 0 for p in problems)
    assert all(p.file == "broken.csv" for p in problems)


def test_every_message_says_what_to_do() -> None:
    for problem in _problems(DATA / "broken.csv"):
        assert ": " in problem.message
        assert any(verb in problem.message for verb in
                   ("enter", "use one", "write", "remove", "merge")), problem.message


def test_missing_required_columns_are_named_in_german() -> None:
    problems = _problems(DATA / "missing-columns.csv")
    assert [(p.row, p.column) for p in problems] == [(1, None), (1, None)]
    assert "required column 'Schule' is missing (also accepted: school_name, Schulname" \
        in problems[0].message
    assert "required column 'Jahr' is missing" in problems[1].message


def test_a_column_named_twice_is_a_problem() -> None:
    (problem,) = _problems(DATA / "repeated-column.csv")
    assert (problem.row, problem.column) == (1, "Budget")
    assert "means the same as 'Kosten'" in problem.message


def test_no_header_row() -> None:
    (problem,) = _problems(DATA / "no-header.csv")
    assert problem.row is None
    assert "no header row found" in problem.message
    assert "Schulnummer, Schule, Maßnahme, Jahr, Kosten (EUR)" in problem.message


def test_unknown_columns_and_school_type_variants_are_warnings() -> None:
    plan = read_plan(DATA / "with-warnings.csv")
    assert len(plan.items) == 2
    assert plan.schools == (School("100001", "GGS Am Lindenplatz", "Grundschule"),)
    assert [(w.row, w.column) for w in plan.warnings] == [(1, "Bemerkung"), (3, "Schulform")]
    assert "unknown column: its cells are ignored" in plan.warnings[0].message
    assert "'Grundschule' is kept" in plan.warnings[1].message


def _table(rows: list[tuple[CellValue, ...]], header: tuple[str, ...] | None = None) -> RawTable:
    header = header or ("Schulnummer", "Schule", "Maßnahme", "Jahr", "Kosten (EUR)", "Anzahl",
                        "Ist-Kosten (EUR)")
    numbered = [(number, cells) for number, cells in enumerate(rows, start=2)]
    return RawTable("plan.csv", "0" * 64, "test", 1, header, numbered)


def test_empty_rows_are_skipped() -> None:
    plan = validate_table(_table([
        (),
        ("", " ", "", "", "", "", ""),
        ("100001", "GGS Am Lindenplatz", "WLAN", "2021", "8.500", "", ""),
        (None, None, None, None, None),
        ("-", "", "–", "", "", "", ""),  # dashes mean "nothing"
        ("100001", "", "Server", "2021", "13.700", "2", ""),
    ]))
    assert [(i.measure, i.quantity) for i in plan.items] == [(Measure.WLAN, None),
                                                             (Measure.SERVERS, 2)]


def test_school_name_may_be_given_once() -> None:
    plan = validate_table(_table([
        ("100001", "", "WLAN", "2021", "8.500", "", ""),
        ("100001", "GGS  Am Lindenplatz", "Server", "2021", "13.700", "2", ""),
        ("100001", "ggs am lindenplatz", "Switches", "2021", "3.780", "2", ""),
    ]))
    assert plan.schools == (School("100001", "GGS Am Lindenplatz", ""),)


def test_school_ids_keep_leading_zeros_and_lose_spaces() -> None:
    plan = validate_table(_table([
        (" 054 321 ", "Förderschule Am Park", "WLAN", "2021", "8.500", "", ""),
        (100002, "KGS St. Marien", "WLAN", 2021, 8500, None, None),
        (100003.0, "Grundschule Am Mühlenbach", "WLAN", 2021.0, 8500.0, None, None),
    ]))
    assert [s.school_id for s in plan.schools] == ["054321", "100002", "100003"]


def test_amounts_are_rounded_to_cents() -> None:
    # what an Excel formula such as =Anzahl*Preis leaves in a cell
    plan = validate_table(_table([
        ("100001", "GGS Am Lindenplatz", "Access Points", 2021, 5359.999999999999, 4.0,
         0.30000000000000004),
    ]))
    (item,) = plan.items
    assert (item.budget_eur, item.spent_eur, item.quantity) == (Decimal("5360.00"),
                                                                Decimal("0.30"), 4)


def test_problems_in_numeric_cells_show_the_number() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_table(_table([
            ("100001", "GGS Am Lindenplatz", "Access Points", 2021.5, -5.0, 2.5, True),
            (12345.0, "Kurz", "WLAN", 2021, 1, None, None),
        ]))
    assert [p.message.split(":")[0] for p in caught.value.problems] == [
        "'2021.5' is not a year", "quantity 2.5 is not a whole number", "negative amount -5",
        "'True' is not an amount", "'12345' is not a 6-digit Schulnummer",
    ]


def test_a_valid_plan_keeps_file_order_and_first_names() -> None:
    plan = read_plan(DATA / "german-semicolon-utf8.csv")
    assert [item.key for item in plan.items] == [
        ("100001", "cabling", 2020), ("100001", "access_points", 2021),
        ("054321", "end_devices", 2022),
    ]
