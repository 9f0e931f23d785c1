"""Checking a plan's rows: from cells to schools and plan items, or to all problems.

Forgiving about format (see `numbers` and `columns`), strict about meaning: a
plan with any problem is rejected as a whole, with every problem listed so the
user fixes the file in one go. Problems name the row as the spreadsheet shows it
and the column as the file's header writes it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

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
from provisioner.plan.encoding import mojibake_fix
from provisioner.plan.numbers import DASHES, NumberFormatError, to_decimal
from provisioner.plan.table import CellError, CellValue, RawTable, SourceInfo
from provisioner.plan.totals import Figures, Key, TotalsLedger

FIRST_YEAR = 2000
LAST_YEAR = 2100
_CENT = Decimal("0.01")
_FIGURE_FIELDS = {"budget": BUDGET, "spent": SPENT, "quantity": QUANTITY}
# Text columns whose cells are stored: checked for garbled encodings.
_STORED_TEXT = (SCHOOL_NAME, SCHOOL_TYPE, FUNDING)
# Columns a sum line's label may stand in ("Summe" in the Schule column, say).
_LABEL_FIELDS = (SCHOOL_ID, SCHOOL_NAME, SCHOOL_TYPE, MEASURE, YEAR, FUNDING, FUNDING_STATUS)


@dataclass(frozen=True)
class ParsedPlan:
    """A plan file that passed every check.

    Attributes:
        schools: each school once, in order of first appearance, with the first
            name and school type given for it.
        items: the plan items in file order.
        source: the file name.
        sha256: hex digest of the file's bytes (to recognise a re-import).
        warnings: things that may be wrong and are worth a look (ignored columns,
            a school type written two ways, a date in the year column).
        notices: what the reading did that the user should know (sum lines
            skipped, a file read as another format than its name says).
        info: how the file was read: format, sheet, encoding, delimiter.
    """

    schools: tuple[School, ...]
    items: tuple[PlanItem, ...]
    source: str
    sha256: str
    warnings: tuple[Problem, ...] = ()
    notices: tuple[Problem, ...] = ()
    info: SourceInfo = dataclasses.field(default_factory=lambda: SourceInfo("CSV"))

    @property
    def detected(self) -> str:
        """How the file was read, in words (`CSV, delimiter ';', encoding UTF-8`)."""
        return self.info.describe()


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
    checker = _RowChecker(table.source, match, error_cells=table.error_cells)
    for number, cells in table.rows:
        checker.check(number, cells)
    problems = header_problems + _merged_figures(table, match) + checker.finish()
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InvalidInputError(table.source, problems)
    warnings = _unknown_columns(table, match) + checker.warnings
    notices = [Problem(table.source, text) for text in table.notices] + checker.notices
    return ParsedPlan(
        schools=checker.schools(), items=tuple(checker.items), source=table.source,
        sha256=table.sha256, warnings=tuple(warnings), notices=tuple(notices), info=table.info,
    )


def _merged_figures(table: RawTable, match: HeaderMatch) -> list[Problem]:
    """A merged cell spanning rows in a figure column: one amount cannot be split."""
    problems = []
    for merged in table.merged:
        for field_name in (BUDGET, SPENT, QUANTITY):
            position = match.index.get(field_name)
            if position is not None and merged.first_column <= position <= merged.last_column:
                problems.append(Problem(
                    table.source,
                    f"this cell is merged over rows {merged.first_row}–{merged.last_row}: one "
                    "figure cannot be split between rows; unmerge the cells and enter each "
                    "row's own figure",
                    merged.first_row, match.names[field_name],
                ))
    return problems


def _no_header(table: RawTable) -> Problem:
    names = ", ".join(COLUMN_BY_FIELD[f].german for f in REQUIRED_FIELDS)
    return Problem(
        table.source,
        f"no header row found ({table.detected}): none of the first 20 rows names at least "
        f"{MIN_HEADER_MATCHES} known columns; put a header row above the table with at least "
        f"{names}",
    )


def _header_problems(table: RawTable, match: HeaderMatch) -> list[Problem]:
    problems = [
        Problem(table.source, f"the header is garbled (meant: {fixed!r}): the file was read "
                              f"as {table.info.encoding or 'text'}, which it is not; pass the "
                              "right --encoding or let the tool detect it",
                table.header_row, name)
        for name in table.header if (fixed := mojibake_fix(name)) is not None
    ]
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
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def _cells(cells: Sequence[CellValue], fields: Sequence[tuple[str, int]]) -> dict[str, CellValue]:
    """The non-empty cells of the known columns, text stripped."""
    found: dict[str, CellValue] = {}
    width = len(cells)
    for field, position in fields:
        if position < width:
            value = cells[position]
            if type(value) is str:  # is_blank, inlined: this runs for every cell
                value = value.strip()
                if not value or value in DASHES:
                    continue
            elif value is None:
                continue
            found[field] = value
    return found


def _total_label(values: dict[str, CellValue], cells: Sequence[CellValue],
                 unknown: Sequence[int]) -> str | None:
    """The label that shows a row is a sum line (`'Summe'`), `''` for a sum line
    without one, or None for an ordinary row."""
    # One search over the row's text first (this runs for every row): every sum word
    # holds one of these parts; then the cells one by one.
    text = "\x00".join([v for v in values.values() if type(v) is str]).lower()
    if "summe" in text or "gesamt" in text or "total" in text:
        for name in _LABEL_FIELDS:
            label = values.get(name)
            if isinstance(label, str) and is_total_label(label):
                return label
    if MEASURE not in values:  # a label in a column the tool ignores, e.g. "Nr."
        for position in unknown:
            value = cells[position] if position < len(cells) else None
            if isinstance(value, str) and is_total_label(value):
                return value.strip()
    # An amount without a measure, and without a school (a grand or yearly total) or
    # without a year (a school's subtotal), is a sum; a plan row names all three.
    if BUDGET in values and MEASURE not in values and (
        SCHOOL_ID not in values or YEAR not in values
    ):
        return ""
    return None


@lru_cache(maxsize=4096)
def _tidy(text: str) -> tuple[str, str | None]:
    """Text with its spaces tidied, and what it meant if it is garbled (mojibake)."""
    tidy = " ".join(text.split())
    return tidy, mojibake_fix(tidy)


def _german(amount: Decimal) -> str:
    """An amount as a German table writes it (`200.000,00`)."""
    text = f"{amount:,.2f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def _figure(value: CellValue) -> Decimal | None:
    """A sum line's amount, rounded to cents like the plan rows' amounts."""
    amount = to_decimal(value)
    return None if amount is None else amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _whole(value: CellValue) -> int | None:
    amount = to_decimal(value)
    if amount is None:
        return None
    if amount != amount.to_integral_value():
        raise NumberFormatError(str(value))
    return int(amount)


def _total_key(values: dict[str, CellValue]) -> Key:
    """The school, year and measure a sum line names (a subtotal), where it names them."""
    school = values.get(SCHOOL_ID)
    school_id = _school_id_text(school) if school is not None else None
    year = values.get(YEAR)
    year_number = year.year if isinstance(year, dt.date) else (
        _whole_number(year) if year is not None else None)
    measure = values.get(MEASURE)
    found = measure_for(_shown(measure)) if measure is not None else None
    return (school_id if school_id and len(school_id) == 6 and school_id.isdigit() else None,
            year_number, found.value if found else None)


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

    def __init__(self, source: str, match: HeaderMatch, *, error_cells: bool = False) -> None:
        self.source = source
        self._error_cells = error_cells
        self.items: list[PlanItem] = []
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.notices: list[Problem] = []
        self._names = match.names
        self._fields = tuple(match.index.items())
        self._unknown = tuple(position for position, _ in match.unknown)
        self._schools: dict[str, _SchoolSeen] = {}
        self._first_row: dict[tuple[str, Measure, int], int] = {}
        self._ledger = TotalsLedger()

    def _problem(self, row: int, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, message, row, self._names.get(field)))

    def check(self, number: int, cells: Sequence[CellValue]) -> None:
        """Check one row; empty rows are skipped, sum lines checked against the rows above."""
        values = _cells(cells, self._fields)
        if not values:
            return
        label = _total_label(values, cells, self._unknown)
        if label is not None:
            self._total(number, label, values)
            return
        if self._error_cells and self._errors(number, values):
            return
        before = len(self.problems)
        school_id = self._school_id(number, values.get(SCHOOL_ID))
        measure = self._measure(number, values.get(MEASURE))
        year = self._year(number, values.get(YEAR))
        quantity = self._quantity(number, values.get(QUANTITY))
        figures = Figures(self._amount(number, BUDGET, values.get(BUDGET)),
                          self._amount(number, SPENT, values.get(SPENT)), quantity)
        status = self._status(number, values.get(FUNDING_STATUS))
        funding = self._text(number, FUNDING, values.get(FUNDING))
        self._count(number, values, (school_id, year, measure), figures)
        if school_id is None:
            return
        self._note_school(number, school_id, values)
        if measure is None or year is None or not self._first(number, school_id, measure, year):
            return
        if figures.budget is None or len(self.problems) > before:
            return
        self.items.append(PlanItem(
            school_id=school_id, measure=measure, year=year, quantity=figures.quantity,
            budget_eur=figures.budget, funding=funding or "", funding_status=status,
            spent_eur=figures.spent,
        ))

    def _errors(self, number: int, values: dict[str, CellValue]) -> bool:
        """Cells showing a formula error: a problem each (the row is not read further)."""
        errors = [(name, value) for name, value in values.items()
                  if isinstance(value, CellError)]
        for name, value in errors:
            self._problem(number, name, f"the cell shows the error {value} (a formula that "
                                        "fails): correct the formula or enter the value")
        if errors:
            self._ledger.add(number, (None, None, None), Figures(), set(_FIGURE_FIELDS))
        return bool(errors)

    def _count(self, number: int, values: dict[str, CellValue],
               key: tuple[str | None, int | None, Measure | None], figures: Figures) -> None:
        """Add a plan row's figures to the sums that sum lines are checked against."""
        unreadable: set[str] = set()
        if ((figures.budget is None and BUDGET in values)
                or (figures.spent is None and SPENT in values)
                or (figures.quantity is None and QUANTITY in values)):
            unreadable = {name for name, column in _FIGURE_FIELDS.items()
                          if column in values and getattr(figures, name) is None}
        school_id, year, measure = key
        self._ledger.add(number, (school_id, year, measure.value if measure else None),
                         figures, unreadable)

    def _total(self, number: int, label: str, values: dict[str, CellValue]) -> None:
        """A sum line: skipped with a notice if it adds up, else a problem."""
        name = f"total row {label!r}" if label else "total row (a sum without a label)"
        figures = self._total_figures(number, name, values)
        if figures is None:
            return
        verdict = self._ledger.check(_total_key(values), figures)
        if not any(figures.present()):
            self.notices.append(Problem(self.source, f"{name} without figures: skipped", number))
        elif verdict.matches:
            self.notices.append(Problem(
                self.source, f"{name}: skipped, its figures equal the sum of "
                             f"{verdict.sums.span()}", number))
        elif verdict.matches is False and verdict.wrong is not None:
            column = _FIGURE_FIELDS[verdict.wrong]
            stated = getattr(figures, verdict.wrong)
            expected = getattr(verdict.sums, verdict.wrong)
            what = verdict.sums.span() if verdict.sums.rows else "rows above (there are none)"
            if verdict.wrong == "quantity":  # a count, not euros
                said, total = str(stated), str(int(expected))
            else:
                said, total = _german(stated), _german(expected)
            self._problem(number, column, f"{name}: {said} is not the sum of {what}, {total}: "
                                          "correct the figures, or remove the row (the tool "
                                          "adds up the plan itself)")

    def _total_figures(self, number: int, name: str,
                       values: dict[str, CellValue]) -> Figures | None:
        """A sum line's figures; None (and a problem) if one is not a number."""
        column = BUDGET
        try:
            budget = _figure(values.get(column))
            column = SPENT
            spent = _figure(values.get(column))
            column = QUANTITY
            return Figures(budget, spent, _whole(values.get(column)))
        except (NumberFormatError, InvalidOperation):
            self._problem(number, column, f"{name}: {_shown(values.get(column))!r} is not a "
                                          "number: correct it, or remove the row")
            return None

    def _text(self, number: int, field: str, value: CellValue) -> str | None:
        """A text cell to be stored, spaces tidied; garbled text is a problem."""
        if value is None:
            return None
        text, fixed = _tidy(value) if type(value) is str else _tidy(_shown(value))
        if fixed is not None:
            self._problem(number, field, f"{text!r} is garbled (meant: {fixed!r}): the text "
                                         "was converted with the wrong encoding before it "
                                         "reached this file; correct the cell")
        return text

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
        if isinstance(value, dt.date):
            return self._year_of_date(number, value)
        year = _whole_number(value)
        if year is None:
            self._problem(number, YEAR, f"{_shown(value)!r} is not a year: enter the budget "
                                        "year as four digits, e.g. 2021")
        elif not FIRST_YEAR <= year <= LAST_YEAR:
            self._problem(number, YEAR, f"year {year} is outside {FIRST_YEAR}–{LAST_YEAR}: "
                                        "enter the budget year, e.g. 2021")
            return None
        return year

    def _year_of_date(self, number: int, value: dt.date) -> int | None:
        """A year typed as a date (a cell formatted to show the year) is that year."""
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            self._problem(number, YEAR, f"the cell holds the date {_shown(value)}, not a year: "
                                        "format the column as a number (Standard) and enter "
                                        "the budget year again, e.g. 2021")
            return None
        if (value.month, value.day) != (1, 1):
            self.warnings.append(Problem(
                self.source, f"the cell holds the date {_shown(value)}: its year {value.year} "
                             "is taken as the budget year", number, self._names.get(YEAR)))
        return value.year

    def _quantity(self, number: int, value: CellValue) -> int | None:
        try:
            amount = to_decimal(value)
        except NumberFormatError:
            self._problem(number, QUANTITY, f"{_shown(value)!r} is not a number: enter how "
                                            "many units are planned, e.g. 12")
            return None
        if amount is None:
            return None
        if amount < 0:  # the row is refused, but its figure counts for sum lines
            self._problem(number, QUANTITY, f"negative quantity {_shown(value)}: enter how "
                                            "many units are planned (0 or more)")
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
        if rounded < 0:  # the row is refused, but its figure counts for sum lines
            self._problem(number, field, f"negative amount {_shown(value)}: enter euros as "
                                         "0 or more")
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
        text = self._text(number, SCHOOL_NAME, values.get(SCHOOL_NAME))
        if text is not None:
            if seen.name is None:
                seen.name, seen.name_row = text, number
            elif seen.name.casefold() != text.casefold():
                self._problem(number, SCHOOL_NAME,
                              f"school {school_id} is named {text!r} here but {seen.name!r} "
                              f"in row {seen.name_row}: use one name per Schulnummer")
        text = self._text(number, SCHOOL_TYPE, values.get(SCHOOL_TYPE))
        if text is not None:
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
