"""The report's detail table (school x measure x year) as CSV that Excel opens right.

German (`--lang de`): `;`-separated, UTF-8 with BOM, decimal comma, no thousands
separator, CRLF: the dialect German Excel reads by double-click. English: `,` and
a decimal point. Money in EUR without a currency sign, so cells stay numbers.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from provisioner.report.model import Report
from provisioner.report.text import Text

COLUMNS = ("school_id", "school", "measure", "year", "quantity", "provisioned", "verified",
           "percent_done", "source", "budget", "approved", "spent", "funding_status", "status")


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
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
