"""The report as PDF: WeasyPrint lays out the same HTML the HTML export writes.

WeasyPrint was chosen over Typst (docs/benchmarks.md): one template serves HTML and
PDF, so both show the same figures the same way, and it needs only pango from Debian.
"""

from __future__ import annotations

import logging

from provisioner.errors import EnvironmentProblemError
from provisioner.report.html_format import render_html_text
from provisioner.report.model import Report

# WeasyPrint logs every CSS property it ignores (e.g. screen-only flex details) as a
# warning; for a report written from our own template that is noise.
logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes.

    Raises:
        EnvironmentProblemError: WeasyPrint's system libraries (pango) are missing.
    """
    try:
        import weasyprint
    except OSError as exc:  # cffi could not load libpango/libgobject
        raise EnvironmentProblemError(
            f"the PDF export needs pango ({exc}); install it with "
            "'apt-get install libpango-1.0-0 libpangoft2-1.0-0' or run scripts/setup.sh install"
        ) from exc
    html = weasyprint.HTML(string=render_html_text(report), base_url=None)
    pdf: bytes = html.write_pdf()
    return pdf
