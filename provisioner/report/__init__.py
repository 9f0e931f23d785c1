"""The committee report (`provision export`): one typed model, rendered per format."""

from provisioner.report.model import Report, Scope, build_report
from provisioner.report.service import FORMATS, ExportOutcome, export_report, make_report

__all__ = ["FORMATS", "ExportOutcome", "Report", "Scope", "build_report", "export_report",
           "make_report"]
