"""The report as PDF, laid out by Typst from a Jinja2 template; the only module importing typst.

Typst was chosen over WeasyPrint (docs/benchmarks.md): on the 2,000-school report
WeasyPrint took 40-65 s to lay out the HTML, Typst 2-4 s, and the typst wheel brings
its compiler with it (no system libraries). The Typst template renders the same
`Report` with the same number and date formats as the HTML one.
"""

from __future__ import annotations

import warnings

import typst

from provisioner.errors import ProvisionerError
from provisioner.report.charts import all_charts
from provisioner.report.html_format import scope_text
from provisioner.report.model import Report
from provisioner.report.status import RULE, Status
from provisioner.report.template import render_typst
from provisioner.report.text import Text


def typst_source(report: Report) -> str:
    """The report as Typst markup."""
    text = Text(report.scope.lang)
    return render_typst("report.typ.j2", r=report, s=report.summary, c=report.changes, t=text,
                        charts=all_charts(report, text), statuses=list(Status),
                        rule=RULE[text.lang], scope_text=scope_text(report, text))


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes.

    Raises:
        ProvisionerError: Typst refused the document (a bug here: the message says where).
    """
    source = typst_source(report).encode("utf-8")
    try:
        with warnings.catch_warnings():
            # Typst warns e.g. about fonts it falls back from; the PDF is fine.
            warnings.simplefilter("ignore", typst.TypstWarning)
            pdf: bytes = typst.compile(source)
    except typst.TypstError as exc:
        raise ProvisionerError(f"the PDF could not be laid out ({exc.message}); please report "
                               "this with the command you ran") from exc
    return pdf
