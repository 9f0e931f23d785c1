"""The report's detail table (school x measure x year) as CSV that Excel opens right.

German (`--lang de`): `;`-separated, UTF-8 with BOM, decimal comma, no thousands
separator, CRLF: the dialect German Excel reads by double-click. English: `,` and
a decimal point. Money in EUR without a currency sign, so cells stay numbers.

The detail table comes first, its header in the first line. When there are any,
the devices needing attention and the devices of schools not in the plan follow,
each after an empty line and a title line, with a header of their own (`DEVICE_COLUMNS`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from provisioner.report.model import DeviceLine, Report
from provisioner.report.text import Text

COLUMNS = ("school_id", "school", "measure", "year", "quantity", "provisioned", "verified",
           "percent_done", "source", "budget", "approved", "spent", "funding_status", "status")
DEVICE_COLUMNS = ("school_id", "school", "device", "role", "state", "state_since", "reason")


def _number(value: Decimal | int | None, places: int, lang: str) -> str:
    if value is None:
        return ""
    text = f"{value:.{places}f}"
    return text.replace(".", ",") if lang == "de" else text


def render_csv(report: Report) -> bytes:
    """The detail rows as CSV bytes (UTF-8 with BOM)."""
    text = Text(report.scope.lang)
    lang = text.lang
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if lang == "de" else ",", lineterminator="\r\n")
    writer.writerow([text[c] for c in COLUMNS])
    for r in report.items:
        writer.writerow([
            r.school_id, r.school_name, text.measure(r.measure), r.year,
            _number(r.quantity, 0, lang), _number(r.provisioned, 0, lang),
            _number(r.verified, 0, lang), _number(r.percent_done, 1, lang),
            text["src_" + r.source], _number(r.budget_eur, 2, lang),
            _number(r.approved_eur, 2, lang), _number(r.spent_eur, 2, lang),
            text.funding(r.funding_status), text.status(r.status),
        ])
    _devices(writer, text, text["attention"], report.attention)
    _devices(writer, text, text["not_in_plan"], [d for u in report.unplanned for d in u.lines])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _devices(writer: Any, text: Text, title: str, lines: Sequence[DeviceLine]) -> None:
    """A device section: an empty line, its title, its header, one row per device."""
    if not lines:
        return
    writer.writerow([])
    writer.writerow([title])
    writer.writerow([text[c] for c in DEVICE_COLUMNS])
    for d in lines:
        writer.writerow([d.school_id, d.school_name, d.device, text.role(d.role),
                         text.state(d.state), text.stamp(d.since), d.reason])
