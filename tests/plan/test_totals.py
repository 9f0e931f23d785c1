"""Sum lines people leave in their plans: skipped when they add up, named when not."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from provisioner.errors import InvalidInputError, Problem
from provisioner.plan import ParsedPlan, read_plan
from tests.plan.books import HEADER, Sheet, openpyxl_book

CSV_HEADER = "Nr.;Schulnummer;Schule;Maßnahme;Jahr;Anzahl;Kosten (EUR);Ist-Kosten (EUR)"
SCHOOL_1 = [
    "1;100001;GGS Am Lindenplatz;Server;2021;2;13.700,00;13.864,40",
    "2;100001;GGS Am Lindenplatz;Switches;2021;4;7.560,00;",
]
SCHOOL_2 = [
    "3;100002;Realschule Am Weißdornweg;WLAN;2022;;8.500,00;",
    "4;100002;Realschule Am Weißdornweg;Access Points;2022;10;13.400,00;",
]


def _plan(tmp_path: Path, lines: list[str]) -> ParsedPlan:
    path = tmp_path / "plan.csv"
    path.write_text("\n".join([CSV_HEADER, *lines]) + "\n", encoding="utf-8")
    return read_plan(path)


def _problems(tmp_path: Path, lines: list[str]) -> list[Problem]:
    with pytest.raises(InvalidInputError) as caught:
        _plan(tmp_path, lines)
    return caught.value.problems


def test_subtotals_and_grand_total_that_add_up_are_skipped(tmp_path: Path) -> None:
    plan = _plan(tmp_path, [
        *SCHOOL_1,
        ";100001;Summe GGS Am Lindenplatz;;;6;21.260,00;13.864,40",  # a school's subtotal
        *SCHOOL_2,
        ";;Zwischensumme;;;10;21.900,00;",  # the block since the last sum line
        "Gesamt;;;;;16;43.160,00;13.864,40",  # label in a column the tool ignores
    ])
    assert len(plan.items) == 4
    assert sum((i.budget_eur for i in plan.items), Decimal(0)) == Decimal("43160.00")
    assert [(n.row, n.message) for n in plan.notices] == [
        (4, "total row 'Summe GGS Am Lindenplatz': skipped, its figures equal the sum of "
            "rows 2–3"),
        (7, "total row 'Zwischensumme': skipped, its figures equal the sum of rows 5–6"),
        (8, "total row 'Gesamt': skipped, its figures equal the sum of rows 2–6"),
    ]


def test_a_school_subtotal_after_other_schools(tmp_path: Path) -> None:
    # The subtotal names its school: only that school's rows count.
    plan = _plan(tmp_path, [*SCHOOL_1, *SCHOOL_2, ";100001;Summe;;;;21.260,00;"])
    assert [n.message for n in plan.notices] == [
        "total row 'Summe': skipped, its figures equal the sum of rows 2–3"]


def test_a_total_that_does_not_add_up_is_a_problem(tmp_path: Path) -> None:
    problems = _problems(tmp_path, [*SCHOOL_1, *SCHOOL_2, ";Gesamtsumme;;;;;43.000,00;"])
    assert [(p.row, p.column, p.message) for p in problems] == [
        (6, "Kosten (EUR)", "total row 'Gesamtsumme': 43.000,00 is not the sum of rows 2–5, "
                            "43.160,00: correct the figures, or remove the row (the tool adds "
                            "up the plan itself)"),
    ]


def test_a_wrong_quantity_in_a_total_is_named(tmp_path: Path) -> None:
    problems = _problems(tmp_path, [*SCHOOL_1, ";;Summe;;;7;21.260,00;13.864,40"])
    assert [(p.row, p.column) for p in problems] == [(4, "Anzahl")]
    assert problems[0].message.startswith("total row 'Summe': 7 is not the sum of rows 2–3, 6: "
                                          "correct the figures")


def test_a_total_with_a_figure_that_is_no_number(tmp_path: Path) -> None:
    problems = _problems(tmp_path, [*SCHOOL_1, ";;Summe;;;;21.260,00;viel"])
    assert [(p.row, p.column, p.message) for p in problems] == [
        (4, "Ist-Kosten (EUR)", "total row 'Summe': 'viel' is not a number: correct it, or "
                                "remove the row")]


def test_a_total_without_a_label(tmp_path: Path) -> None:
    plan = _plan(tmp_path, [*SCHOOL_1, ";;;;;;21.260,00;"])
    assert [n.message for n in plan.notices] == [
        "total row (a sum without a label): skipped, its figures equal the sum of rows 2–3"]
    problems = _problems(tmp_path, [*SCHOOL_1, ";;;;;;21.000,00;"])
    assert [(p.row, p.column) for p in problems] == [(4, "Kosten (EUR)")]


def test_a_total_above_the_rows_is_a_problem(tmp_path: Path) -> None:
    problems = _problems(tmp_path, ["Summe;;;;;;21.260,00;", *SCHOOL_1])
    assert problems[0].row == 2
    assert "is not the sum of rows above (there are none), 0,00" in problems[0].message


def test_a_total_over_wrong_rows_waits_for_them(tmp_path: Path) -> None:
    # Row 3's amount cannot be read: that is the problem, the sum line cannot be judged.
    problems = _problems(tmp_path, [SCHOOL_1[0], SCHOOL_1[1].replace("7.560,00", "sieben"),
                                    ";;Summe;;;;21.260,00;"])
    assert [(p.row, p.column) for p in problems] == [(3, "Kosten (EUR)")]


def test_a_label_only_row(tmp_path: Path) -> None:
    plan = _plan(tmp_path, [*SCHOOL_1, ";;Summe;;;;;"])
    assert [(n.row, n.message) for n in plan.notices] == [
        (4, "total row 'Summe' without figures: skipped")]


def test_gesamtschule_is_a_school_not_a_sum(tmp_path: Path) -> None:
    plan = _plan(tmp_path, [";100003;Gesamtschule Nord;WLAN;2021;;8.500,00;"])
    assert [s.name for s in plan.schools] == ["Gesamtschule Nord"]
    assert plan.notices == ()


def test_total_row_in_a_workbook_with_formulas(tmp_path: Path) -> None:
    rows = [HEADER,
            [100001, "GGS", "Grundschule", "Server", 2021, 2, 13700, "", "", 13864.4],
            [100001, "GGS", "Grundschule", "Switches", 2021, 4, 7560, "", "", None],
            ["Summe", None, None, None, None, 6, 21260, None, None, 13864.4]]
    plan = read_plan(openpyxl_book(tmp_path / "plan.xlsx", [Sheet("Plan", rows)]))
    assert len(plan.items) == 2
    assert [(n.row, n.message) for n in plan.notices] == [
        (4, "total row 'Summe': skipped, its figures equal the sum of rows 2–3")]
