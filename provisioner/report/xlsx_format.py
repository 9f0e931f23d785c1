"""The report as an XLSX workbook written by XlsxWriter; the only module importing it.

Sheets: summary (KPIs, years, charts, the status rule, changes), schools, measures
(school x measure x year), budget and devices; when there are any, the devices
needing attention and the schools not in the plan, one device per row. Every table
has a frozen header row and a filter; money is a number formatted `#,##0.00 €`, shares are fractions
formatted `0.0 %` (Excel shows both in the reader's locale); status cells are
coloured by conditional formats. Charts are native Excel charts over the sheets'
own cells, so they follow when someone corrects a figure.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from provisioner.outcome import HealthState
from provisioner.report.charts import BANDS, MAX_SCHOOL_BARS, STATUS_COLOURS
from provisioner.report.model import DeviceLine, Report, year_quantities
from provisioner.report.status import RULE, Status
from provisioner.report.text import Text

SHEETS = ("summary", "schools", "measures", "budget_sheet", "devices", "attention",
          "not_in_plan")
Cell = str | int | float | Decimal | None


@dataclass
class _Formats:
    header: Format
    money: Format
    percent: Format
    integer: Format
    text: Format
    title: Format
    bold: Format
    fills: dict[Status, Format]


def _formats(book: Workbook) -> _Formats:
    return _Formats(
        header=book.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F3B63",
                                "text_wrap": True, "valign": "top"}),
        money=book.add_format({"num_format": '#,##0.00 "€"'}),
        percent=book.add_format({"num_format": "0.0 %"}),
        integer=book.add_format({"num_format": "#,##0"}),
        text=book.add_format({}),
        title=book.add_format({"bold": True, "font_size": 16, "font_color": "#1F3B63"}),
        bold=book.add_format({"bold": True}),
        fills={s: book.add_format({"bg_color": STATUS_COLOURS[s], "font_color": "#FFFFFF"})
               for s in Status},
    )


def _pct(value: Decimal) -> float:
    return float(value / 100)


def _table(sheet: Worksheet, first: int, headers: Sequence[str],
           rows: Sequence[Sequence[Cell]], formats: Sequence[Format | None],
           widths: Sequence[int]) -> int:
    """Write rows below the header row `first`; filter and column widths. Returns the end row.

    The header itself is written (formatted, frozen) by `_header_row`.
    """
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    for n, row in enumerate(rows, start=first + 1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(n, col, value, formats[col])
            else:
                sheet.write_number(n, col, float(value), formats[col])
    last = first + len(rows)
    sheet.autofilter(first, 0, max(last, first), len(headers) - 1)
    return last


def _status_colours(sheet: Worksheet, f: _Formats, text: Text, first: int, last: int,
                    col: int) -> None:
    for status in Status:
        sheet.conditional_format(first + 1, col, max(last, first + 1), col, {
            "type": "cell", "criteria": "==", "value": f'"{text.status(status)}"',
            "format": f.fills[status]})


def _header_row(sheet: Worksheet, f: _Formats, headers: Sequence[str], first: int) -> None:
    for col, header in enumerate(headers):
        sheet.write_string(first, col, header, f.header)
    sheet.freeze_panes(first + 1, 0)


def _kpis(report: Report, text: Text) -> list[tuple[str, Cell, str]]:
    s = report.summary
    rows: list[tuple[str, Cell, str]] = [
        (text["schools"], s.schools, "integer"),
        (text["items"], s.items, "integer"),
        (text["percent_done"], _pct(s.percent_done), "percent"),
        (text["budget"], s.budget_eur, "money"),
        (text["approved"], s.approved_eur, "money"),
        (text["spent"], s.spent_eur, "money"),
        (text["devices_total"], s.devices.total, "integer"),
        (f'{text["devices"]} {text["verified"]}', s.devices.verified, "integer"),
        (f'{text["devices"]} {text["healthy"]}', s.devices.healthy, "integer"),
        (text["dead_sites"], ", ".join(s.dead_sites) or text["none"], "text"),
    ]
    rows += [(f'{text["schools"]} {text.status(st)}', s.status_counts[st], "integer")
             for st in Status]
    return rows


def _column_chart(book: Workbook, sheet_name: str, title: str, first: int, last: int,
                  series: Sequence[tuple[int, str]], money: bool = False) -> Any:
    chart = book.add_chart({"type": "column"})
    for col, colour in series:
        chart.add_series({
            "name": [sheet_name, first, col],
            "categories": [sheet_name, first + 1, 0, last, 0],
            "values": [sheet_name, first + 1, col, last, col],
            "fill": {"color": colour},
        })
    chart.set_title({"name": title})
    chart.set_legend({"position": "bottom"})
    if money:
        chart.set_y_axis({"num_format": '#,##0 "€"'})
    return chart


def _summary_sheet(book: Workbook, f: _Formats, report: Report, text: Text) -> None:
    name = text["summary"]
    sheet = book.add_worksheet(name)
    sheet.write_string(0, 0, f'{text["title"]} – {text["subtitle"]}', f.title)
    sheet.write_string(1, 0, f'{text["as_of"]}: {text.date(report.scope.as_of)}', f.bold)
    sheet.write_string(2, 0, f'{text["plan_version"]} {report.plan_version.version_id} '
                             f'({report.plan_version.source}); {text["generated"]} '
                             f'{text.date(report.generated_at)}')
    sheet.freeze_panes(3, 0)
    kinds = {"integer": f.integer, "percent": f.percent, "money": f.money, "text": f.text}
    for n, (label, value, kind) in enumerate(_kpis(report, text), start=4):
        sheet.write_string(n, 0, label)
        if isinstance(value, str):
            sheet.write_string(n, 1, value)
        else:
            sheet.write_number(n, 1, float(value or 0), kinds[kind])
    first = 4 + len(_kpis(report, text)) + 1
    headers = [text["year"], text["quantity"], f'{text["percent_done"]} ({text["quantity"]})',
               text["budget"], text["approved"], text["spent"], text["percent_done"]]
    budgets = {b.year: b for b in report.budget}
    rows: list[list[Cell]] = [
        [year, planned, done, budgets[year].budget_eur, budgets[year].approved_eur,
         budgets[year].spent_eur, _pct(budgets[year].percent_done)]
        for year, planned, done in year_quantities(report.measures)
    ]
    last = _table(sheet, first, headers, rows,
                  [f.text, f.integer, f.integer, f.money, f.money, f.money, f.percent],
                  [34, 18, 18, 18, 18, 18, 12])
    _header_row(sheet, f, headers, first)
    sheet.freeze_panes(3, 0)
    sheet.insert_chart(4, 8, _column_chart(book, name, text["plan_vs_actual"], first, last,
                                           [(1, "#5B7DB1"), (2, "#3C9A5F")]))
    sheet.insert_chart(20, 8, _column_chart(book, name, text["budget_per_year"], first, last,
                                            [(3, "#5B7DB1"), (4, "#E0A526"), (5, "#3C9A5F")],
                                            money=True))
    _notes(sheet, f, report, text, last + 2)


def _notes(sheet: Worksheet, f: _Formats, report: Report, text: Text, row: int) -> None:
    """The status rule and, with --since, what changed."""
    sheet.write_string(row, 0, text["rule"], f.bold)
    for n, line in enumerate(RULE[text.lang], start=row + 1):
        sheet.write_string(n, 0, line)
    row += len(RULE[text.lang]) + 2
    c = report.changes
    if c is None:
        if report.first_since:
            sheet.write_string(row, 0, text["since"], f.bold)
            sheet.write_string(row + 1, 0, text["first_report"])
        return
    sheet.write_string(row, 0, f'{text["since"]} ({text["since_of"]} '
                               f'{text.date(c.snapshot_created_at)})', f.bold)
    lines: list[tuple[str, Cell, Format]] = [
        (text.schools_done(m, before, now), now - before, f.integer)
        for m, (before, now) in c.schools_done.items() if now != before
    ]
    lines += [(text["spent_since"], c.spent_since_eur, f.money),
              (text["approved_since"], c.approved_since_eur, f.money),
              (text["verified_since"], c.verified_since, f.integer),
              (text["turned_red"], ", ".join(x.school_id for x in c.turned_red) or
               text["none"], f.text),
              (text["turned_green"], ", ".join(x.school_id for x in c.turned_green) or
               text["none"], f.text)]
    for n, (label, value, fmt) in enumerate(lines, start=row + 1):
        sheet.write_string(n, 0, label)
        if isinstance(value, str):
            sheet.write_string(n, 1, value)
        else:
            sheet.write_number(n, 1, float(value or 0), fmt)


def _schools_sheet(book: Workbook, f: _Formats, report: Report, text: Text) -> None:
    name = text["schools"]
    sheet = book.add_worksheet(name)
    headers = [text["school_id"], text["school"], text["school_type"], text["items"],
               text["percent_done"], text["budget"], text["approved"], text["spent"],
               text["devices_total"], text["verified"], text["healthy"], text["dead_site"],
               text["status"]]
    rows: list[list[Cell]] = [
        [s.school_id, s.name, s.school_type, s.items, _pct(s.percent_done), s.budget_eur,
         s.approved_eur, s.spent_eur, s.devices.total, s.devices.verified, s.devices.healthy,
         text["yes"] if s.dead_site else "", text.status(s.status)]
        for s in report.schools
    ]
    last = _table(sheet, 0, headers, rows,
                  [f.text, f.text, f.text, f.integer, f.percent, f.money, f.money, f.money,
                   f.integer, f.integer, f.integer, f.text, f.text],
                  [12, 36, 16, 10, 11, 16, 16, 16, 10, 10, 10, 12, 10])
    _header_row(sheet, f, headers, 0)
    _status_colours(sheet, f, text, 0, last, 12)
    sheet.conditional_format(1, 4, max(last, 1), 4, {"type": "data_bar",
                                                      "bar_color": "#5B7DB1"})
    chart = book.add_chart({"type": "bar"})
    if len(rows) <= XLSX_MAX_SCHOOL_BARS:
        chart.add_series({"name": text["percent_done"], "categories": [name, 1, 0, last, 0],
                          "values": [name, 1, 4, last, 4], "fill": {"color": "#5B7DB1"}})
        chart.set_title({"name": text["progress_per_school"]})
        chart.set_y_axis({"reverse": True})
    else:
        _bands_table(sheet, f, report, text, 15)
        chart.add_series({"name": text["schools"], "categories": [name, 1, 15, len(BANDS), 15],
                          "values": [name, 1, 16, len(BANDS), 16], "fill": {"color": "#5B7DB1"}})
        chart.set_title({"name": text["progress_bands"]})
    chart.set_legend({"none": True})
    chart.set_x_axis({"num_format": "0 %", "min": 0, "max": 1} if len(rows) <=
                     XLSX_MAX_SCHOOL_BARS else {})
    chart.set_size({"width": 640, "height": max(300, 18 * min(len(rows), XLSX_MAX_SCHOOL_BARS))})
    sheet.insert_chart(1, 14 if len(rows) <= XLSX_MAX_SCHOOL_BARS else 18, chart)


XLSX_MAX_SCHOOL_BARS = max(MAX_SCHOOL_BARS, 100)


def _bands_table(sheet: Worksheet, f: _Formats, report: Report, text: Text, col: int) -> None:
    sheet.write_string(0, col, text["percent_done"], f.header)
    sheet.write_string(0, col + 1, text["schools"], f.header)
    for n, (low, high) in enumerate(BANDS, start=1):
        label = "100 %" if low == 100 else f"{low}–{high} %"
        sheet.write_string(n, col, label)
        sheet.write_number(n, col + 1, sum(1 for s in report.schools
                                           if low <= s.percent_done < high))


def _measures_sheet(book: Workbook, f: _Formats, report: Report, text: Text) -> None:
    sheet = book.add_worksheet(text["measures"])
    headers = [text["school_id"], text["school"], text["measure"], text["year"],
               text["quantity"], text["provisioned"], text["verified"], text["percent_done"],
               text["source"], text["budget"], text["approved"], text["spent"],
               text["funding_status"], text["status"]]
    rows: list[list[Cell]] = [
        [r.school_id, r.school_name, text.measure(r.measure), r.year, r.quantity,
         r.provisioned, r.verified, _pct(r.percent_done), text["src_" + r.source],
         r.budget_eur, r.approved_eur, r.spent_eur, text.funding(r.funding_status),
         text.status(r.status)]
        for r in report.items
    ]
    last = _table(sheet, 0, headers, rows,
                  [f.text, f.text, f.text, None, f.integer, f.integer, f.integer, f.percent,
                   f.text, f.money, f.money, f.money, f.text, f.text],
                  [12, 34, 20, 7, 10, 10, 10, 10, 12, 15, 15, 15, 13, 9])
    _header_row(sheet, f, headers, 0)
    _status_colours(sheet, f, text, 0, last, 13)


def _budget_sheet(book: Workbook, f: _Formats, report: Report, text: Text) -> None:
    name = text["budget_sheet"]
    sheet = book.add_worksheet(name)
    headers = [text["year"], text["budget"], text["approved"], text["spent"],
               text["percent_done"]]
    rows: list[list[Cell]] = [[b.year, b.budget_eur, b.approved_eur, b.spent_eur,
                               _pct(b.percent_done)] for b in report.budget]
    last = _table(sheet, 0, headers, rows, [None, f.money, f.money, f.money, f.percent],
                  [22, 18, 18, 18, 12, 18, 18, 18, 12, 12])
    _header_row(sheet, f, headers, 0)
    sheet.insert_chart(1, 11, _column_chart(book, name, text["budget_per_year"], 0, last,
                                            [(1, "#5B7DB1"), (2, "#E0A526"), (3, "#3C9A5F")],
                                            money=True))
    first = last + 2
    headers = [text["measure"], text["year"], text["items"], text["quantity"],
               text["verified"], text["budget"], text["approved"], text["spent"],
               text["percent_done"]]
    rows = [[text.measure(m.measure), m.year, m.items, m.quantity, m.verified, m.budget_eur,
             m.approved_eur, m.spent_eur, _pct(m.percent_done)] for m in report.measures]
    _table(sheet, first, headers, rows, [f.text, None, f.integer, f.integer, f.integer,
                                         f.money, f.money, f.money, f.percent], [])
    _header_row(sheet, f, headers, first)
    sheet.autofilter(0, 0, max(last, 1), 4)
    sheet.freeze_panes(1, 0)


def _devices_sheet(book: Workbook, f: _Formats, report: Report, text: Text) -> None:
    sheet = book.add_worksheet(text["devices"])
    states = tuple(s.value for s in HealthState if s not in (HealthState.OK,
                                                              HealthState.UNKNOWN))
    headers = [text["school_id"], text["school"], text["devices_total"], text["provisioned"],
               text["verified"], text["healthy"], *(text[s] for s in states),
               text["unchecked"], text["dead_site"]]
    rows: list[list[Cell]] = [
        [s.school_id, s.name, s.devices.total, s.devices.provisioned, s.devices.verified,
         s.devices.healthy, *(s.devices.health.get(state, 0) for state in states),
         s.devices.unchecked, text["yes"] if s.dead_site else ""]
        for s in report.schools
    ]
    _table(sheet, 0, headers, rows, [f.text, f.text, *([f.integer] * 9), f.text],
           [12, 36, *([11] * 9), 12])
    _header_row(sheet, f, headers, 0)


def _device_lines_sheet(book: Workbook, f: _Formats, text: Text, title: str,
                        lines: Sequence[DeviceLine]) -> None:
    """One device per row: school, device, role, rollout state, since when, why."""
    if not lines:
        return
    sheet = book.add_worksheet(title)
    headers = [text["school_id"], text["school"], text["device"], text["role"], text["state"],
               text["state_since"], text["reason"]]
    rows: list[list[Cell]] = [
        [d.school_id, d.school_name, d.device, text.role(d.role), text.state(d.state),
         text.stamp(d.since), d.reason] for d in lines]
    _table(sheet, 0, headers, rows, [f.text] * len(headers), [12, 30, 20, 14, 16, 20, 90])
    _header_row(sheet, f, headers, 0)


def _attention_sheet(book: Workbook, f: _Formats, report: Report, text: Text) -> None:
    _device_lines_sheet(book, f, text, text["attention"], report.attention)


def _not_in_plan_sheet(book: Workbook, f: _Formats, report: Report, text: Text) -> None:
    _device_lines_sheet(book, f, text, text["not_in_plan"],
                        [d for u in report.unplanned for d in u.lines])


_SHEET_WRITERS: tuple[Callable[[Workbook, _Formats, Report, Text], None], ...] = (
    _summary_sheet, _schools_sheet, _measures_sheet, _budget_sheet, _devices_sheet,
    _attention_sheet, _not_in_plan_sheet)


def render_xlsx(report: Report) -> bytes:
    """The report as XLSX bytes."""
    text = Text(report.scope.lang)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"title": f'{text["title"]} – {text.date(report.scope.as_of)}',
                         "subject": text["subtitle"], "author": "provisioner"})
    formats = _formats(book)
    for write in _SHEET_WRITERS:
        write(book, formats, report, text)
    book.close()
    return buffer.getvalue()
