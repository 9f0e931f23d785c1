"""Checking a plan's rows: from cells to schools and plan items, or to all problems.

Forgiving about format (see `numbers` and `columns`), strict about meaning: a
plan with any problem is rejected as a whole, with every problem listed so the
user fixes the file in one go. Problems name the row as the spreadsheet shows it
and the column as the file's header writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from provisioner.errors import InvalidInputError, Problem
from provisioner.models import FundingStatus, Measure, PlanItem, School
from provisioner.plan.columns import (
    BUDGET,
    COLUMN_BY_FIELD,
    FUNDING,
    FUNDING_STATUS,
    MEASURE,
    MIN_HEADER_MATCHES,
    QUANTITY,
    REQUIRED_FIELDS,
    SCHOOL_ID,
    SCHOOL_NAME,
    SCHOOL_TYPE,
    SPENT,
    YEAR,
    HeaderMatch,
    funding_status_for,
    is_total_label,
    known_funding_statuses,
    known_measures,
    match_header,
    measure_for,
)
from provisioner.plan.numbers import DASHES, CellValue, NumberFormatError, to_decimal
from provisioner.plan.table import RawTable

FIRST_YEAR = 2000
LAST_YEAR = 2100
_CENT = Decimal("0.01")
TOTAL_ROW_MESSAGE = "total row: remove it (the tool adds up the plan itself)"


@dataclass(frozen=True)
class ParsedPlan:
    """A plan file that passed every check.

    Attributes:
        schools: each school once, in order of first appearance, with the first
            name and school type given for it.
        items: the plan items in file order.
        source: the file name.
        sha256: hex digest of the file's bytes (to recognise a re-import).
        warnings: things that are not wrong but worth telling (ignored columns,
            a school type written two ways).
        detected: what was read, in words (`CSV, ';', Windows-1252`).
    """

    schools: tuple[School, ...]
    items: tuple[PlanItem, ...]
    source: str
    sha256: str
    warnings: tuple[Problem, ...] = ()
    detected: str = ""


def validate_table(table: RawTable) -> ParsedPlan:
    """Check a table's rows and turn them into schools and plan items.

    Args:
        table: what the reader found in the file.

    Returns:
        The checked plan.

    Raises:
        InvalidInputError: the table has problems; all of them are carried, in row order.
    """
    if table.header_row is None:
        raise InvalidInputError(table.source, [_no_header(table)])
    match = match_header(table.header)
    header_problems = _header_problems(table, match)
    if match.missing:
        raise InvalidInputError(table.source, header_problems)
    checker = _RowChecker(table.source, match)
    for number, cells in table.rows:
        checker.check(number, cells)
    problems = header_problems + checker.finish()
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InvalidInputError(table.source, problems)
    warnings = _unknown_columns(table, match) + checker.warnings
    return ParsedPlan(
        schools=checker.schools(), items=tuple(checker.items), source=table.source,
        sha256=table.sha256, warnings=tuple(warnings), detected=table.detected,
    )


def _no_header(table: RawTable) -> Problem:
    names = ", ".join(COLUMN_BY_FIELD[f].german for f in REQUIRED_FIELDS)
    return Problem(
        table.source,
        f"no header row found ({table.detected}): none of the first 20 rows names at least "
        f"{MIN_HEADER_MATCHES} known columns; put a header row above the table with at least "
        f"{names}",
    )


def _header_problems(table: RawTable, match: HeaderMatch) -> list[Problem]:
    problems = []
    for field in match.missing:
        column = COLUMN_BY_FIELD[field]
        others = ", ".join(column.accepted[1:])
        problems.append(Problem(
            table.source,
            f"required column {column.german!r} is missing (also accepted: {others}); "
            "add it to the header row",
            table.header_row,
        ))
    for field, first, later in match.repeated:
        problems.append(Problem(
            table.source,
            f"this column means the same as {first!r} ({COLUMN_BY_FIELD[field].german}): "
            "keep only one of them",
            table.header_row, later,
        ))
    return problems


def _unknown_columns(table: RawTable, match: HeaderMatch) -> list[Problem]:
    return [
        Problem(table.source, "unknown column: its cells are ignored", table.header_row, name)
        for _, name in match.unknown
    ]


def _shown(value: CellValue) -> str:
    """A cell value as the user typed or sees it, for messages."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cells(cells: Sequence[CellValue], fields: Sequence[tuple[str, int]]) -> dict[str, CellValue]:
    """The non-empty cells of the known columns, text stripped."""
    found: dict[str, CellValue] = {}
    width = len(cells)
    for field, position in fields:
        if position < width:
            value = cells[position]
            if isinstance(value, str):  # is_blank, inlined: this runs for every cell
                value = value.strip()
                if not value or value in DASHES:
                    continue
            elif value is None:
                continue
            found[field] = value
    return found


def _total_field(values: dict[str, CellValue]) -> str | None:
    """The column that shows a row is a sum line, or None for an ordinary row."""
    for field in (SCHOOL_ID, SCHOOL_NAME, MEASURE):
        value = values.get(field)
        if isinstance(value, str) and is_total_label(value):
            return field
    # An amount without a measure, and without a school (a grand or yearly total) or
    # without a year (a school's subtotal), is a sum; a plan row names all three.
    if BUDGET in values and MEASURE not in values and (
        SCHOOL_ID not in values or YEAR not in values
    ):
        return BUDGET
    return None


def _school_id_text(value: CellValue) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "".join(str(value).split())  # "100 001" → "100001"; leading zeros stay


def _whole_number(value: CellValue) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() else None


@dataclass
class _SchoolSeen:
    """What the rows so far said about one school."""

    first_row: int
    name: str | None = None
    name_row: int = 0
    school_type: str | None = None
    type_row: int = 0


class _RowChecker:
    """Checks rows one by one, collecting items, schools, problems and warnings."""

    def __init__(self, source: str, match: HeaderMatch) -> None:
        self.source = source
        self.items: list[PlanItem] = []
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self._names = match.names
        self._fields = tuple(match.index.items())
        self._schools: dict[str, _SchoolSeen] = {}
        self._first_row: dict[tuple[str, Measure, int], int] = {}

    def _problem(self, row: int, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, message, row, self._names.get(field)))

    def check(self, number: int, cells: Sequence[CellValue]) -> None:
        """Check one row; empty rows are skipped, sum lines reported."""
        values = _cells(cells, self._fields)
        if not values:
            return
        total = _total_field(values)
        if total is not None:
            self._problem(number, total, TOTAL_ROW_MESSAGE)
            return
        before = len(self.problems)
        school_id = self._school_id(number, values.get(SCHOOL_ID))
        measure = self._measure(number, values.get(MEASURE))
        year = self._year(number, values.get(YEAR))
        quantity = self._quantity(number, values.get(QUANTITY))
        budget = self._amount(number, BUDGET, values.get(BUDGET))
        spent = self._amount(number, SPENT, values.get(SPENT))
        status = self._status(number, values.get(FUNDING_STATUS))
        if school_id is None:
            return
        self._note_school(number, school_id, values)
        if measure is None or year is None or not self._first(number, school_id, measure, year):
            return
        if budget is None or len(self.problems) > before:
            return
        funding = values.get(FUNDING)
        self.items.append(PlanItem(
            school_id=school_id, measure=measure, year=year, quantity=quantity,
            budget_eur=budget, funding="" if funding is None else _shown(funding),
            funding_status=status, spent_eur=spent,
        ))

    def _school_id(self, number: int, value: CellValue) -> str | None:
        if value is None:
            self._problem(number, SCHOOL_ID, "empty: enter the school's 6-digit Schulnummer")
            return None
        text = _school_id_text(value)
        if len(text) != 6 or not (text.isascii() and text.isdigit()):
            self._problem(
                number, SCHOOL_ID,
                f"{_shown(value)!r} is not a 6-digit Schulnummer: enter the school's official "
                "number (to keep a leading 0 in Excel, format the column as text)",
            )
            return None
        return text

    def _measure(self, number: int, value: CellValue) -> Measure | None:
        measure = None if value is None else measure_for(_shown(value))
        if measure is None:
            what = "empty" if value is None else f"unknown measure {_shown(value)!r}"
            self._problem(number, MEASURE, f"{what}: use one of {known_measures()}")
        return measure

    def _year(self, number: int, value: CellValue) -> int | None:
        if value is None:
            self._problem(number, YEAR, "empty: enter the budget year, e.g. 2021")
            return None
        year = _whole_number(value)
        if year is None:
            self._problem(number, YEAR, f"{_shown(value)!r} is not a year: enter the budget "
                                        "year as four digits, e.g. 2021")
        elif not FIRST_YEAR <= year <= LAST_YEAR:
            self._problem(number, YEAR, f"year {year} is outside {FIRST_YEAR}–{LAST_YEAR}: "
                                        "enter the budget year, e.g. 2021")
            return None
        return year

    def _quantity(self, number: int, value: CellValue) -> int | None:
        try:
            amount = to_decimal(value)
        except NumberFormatError:
            self._problem(number, QUANTITY, f"{_shown(value)!r} is not a number: enter how "
                                            "many units are planned, e.g. 12")
            return None
        if amount is None:
            return None
        if amount < 0:
            self._problem(number, QUANTITY, f"negative quantity {_shown(value)}: enter how "
                                            "many units are planned (0 or more)")
            return None
        if amount != amount.to_integral_value():
            self._problem(number, QUANTITY, f"quantity {_shown(value)} is not a whole "
                                            "number: enter whole units")
            return None
        return int(amount)

    def _amount(self, number: int, field: str, value: CellValue) -> Decimal | None:
        """A euro amount rounded to cents (Excel formulas leave float noise behind)."""
        if value is None:
            if field == BUDGET:
                self._problem(number, field, "empty: enter the planned cost in euros "
                                             "(0 if nothing is planned)")
            return None
        try:
            amount = to_decimal(value)
            if amount is None:
                return None
            rounded = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
        except (NumberFormatError, InvalidOperation):
            self._problem(number, field, f"{_shown(value)!r} is not an amount: write euros "
                                         "like 12.000,00 or 12000")
            return None
        if rounded < 0:
            self._problem(number, field, f"negative amount {_shown(value)}: enter euros as "
                                         "0 or more")
            return None
        return rounded

    def _status(self, number: int, value: CellValue) -> FundingStatus | None:
        if value is None:
            return None
        status = funding_status_for(_shown(value))
        if status is None:
            self._problem(number, FUNDING_STATUS,
                          f"unknown funding status {_shown(value)!r}: use one of "
                          f"{known_funding_statuses()}, or leave it empty")
        return status

    def _first(self, number: int, school_id: str, measure: Measure, year: int) -> bool:
        """Whether this is the first row for school × measure × year (else a problem)."""
        first = self._first_row.setdefault((school_id, measure, year), number)
        if first != number:
            self._problem(number, MEASURE,
                          f"school {school_id}, {measure.german}, {year} is already in row "
                          f"{first}: merge the two rows or remove one")
        return first == number

    def _note_school(self, number: int, school_id: str, values: dict[str, CellValue]) -> None:
        seen = self._schools.setdefault(school_id, _SchoolSeen(first_row=number))
        name = values.get(SCHOOL_NAME)
        if name is not None:
            text = " ".join(_shown(name).split())
            if seen.name is None:
                seen.name, seen.name_row = text, number
            elif seen.name.casefold() != text.casefold():
                self._problem(number, SCHOOL_NAME,
                              f"school {school_id} is named {text!r} here but {seen.name!r} "
                              f"in row {seen.name_row}: use one name per Schulnummer")
        kind = values.get(SCHOOL_TYPE)
        if kind is not None:
            text = " ".join(_shown(kind).split())
            if seen.school_type is None:
                seen.school_type, seen.type_row = text, number
            elif seen.school_type.casefold() != text.casefold():
                self.warnings.append(Problem(
                    self.source, f"school {school_id} is a {text!r} here but a "
                    f"{seen.school_type!r} in row {seen.type_row}; {seen.school_type!r} is kept",
                    number, self._names.get(SCHOOL_TYPE),
                ))

    def finish(self) -> list[Problem]:
        """All problems, including schools no row gives a name."""
        for school_id, seen in self._schools.items():
            if seen.name is None:
                self._problem(seen.first_row, SCHOOL_NAME,
                              f"empty: enter the name of school {school_id} (in at least one "
                              "of its rows)")
        return self.problems

    def schools(self) -> tuple[School, ...]:
        """Each school once, in order of first appearance."""
        return tuple(
            School(school_id, seen.name or "", seen.school_type or "")
            for school_id, seen in self._schools.items()
        )
