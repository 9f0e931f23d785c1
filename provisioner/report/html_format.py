"""The report as one self-contained HTML page (Jinja2 template, pygal charts).

Everything is inside the file: styles, charts as inline SVG, no scripts, fonts
from the system. Print CSS gives A4 landscape pages, a title page and page numbers.
"""

from __future__ import annotations

from provisioner.report.charts import all_charts
from provisioner.report.model import Report
from provisioner.report.status import RULE, Status
from provisioner.report.template import render_html as render_template
from provisioner.report.text import Text


def scope_text(report: Report, text: Text) -> str:
    """What the report covers, in words: the schools (or all) and the year."""
    scope = report.scope
    parts = [", ".join(scope.school_ids) if scope.school_ids else text["all"]]
    if scope.year is not None:
        parts.append(f'{text["year"]} {scope.year}')
    return "; ".join(parts)


def render_html_text(report: Report) -> str:
    """The report as HTML text."""
    text = Text(report.scope.lang)
    return render_template(
        "report.html.j2",
        r=report, s=report.summary, c=report.changes, t=text, charts=all_charts(report, text),
        statuses=list(Status), rule=RULE[text.lang], scope_text=scope_text(report, text),
    )


def render_html(report: Report) -> bytes:
    """The report as UTF-8 HTML bytes."""
    return render_html_text(report).encode("utf-8")
