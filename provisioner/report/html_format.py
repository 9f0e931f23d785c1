"""The report as one self-contained HTML page, from the Jinja2 template the PDF uses too.

Everything is inside the file: styles, charts as inline SVG, no scripts, fonts
from the system. Print CSS gives A4 landscape pages, a title page and page numbers.
"""

from __future__ import annotations

import jinja2

from provisioner.report.charts import all_charts
from provisioner.report.model import Report
from provisioner.report.status import RULE, Status
from provisioner.report.text import Text

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("provisioner.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)


def render_html_text(report: Report) -> str:
    """The report as HTML text."""
    text = Text(report.scope.lang)
    scope = report.scope
    parts = [", ".join(scope.school_ids) if scope.school_ids else text["all"]]
    if scope.year is not None:
        parts.append(f'{text["year"]} {scope.year}')
    return _ENV.get_template("report.html.j2").render(
        r=report, s=report.summary, c=report.changes, t=text, charts=all_charts(report, text),
        statuses=list(Status), rule=RULE[text.lang], scope_text="; ".join(parts),
    )


def render_html(report: Report) -> bytes:
    """The report as UTF-8 HTML bytes."""
    return render_html_text(report).encode("utf-8")
