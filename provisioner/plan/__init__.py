"""The media development plan (Medienentwicklungsplan): reading, checking, comparing.

`read_plan(path)` is the entry point: it reads a CSV, XLSX, XLSM, XLSB, XLS or ODS
plan and returns a `ParsedPlan`, or raises `InvalidInputError` carrying every problem
of the file.
The accepted format is described in docs/plan-format.md.
"""

from provisioner.plan.reader import read_plan, read_table
from provisioner.plan.table import RawTable, SourceInfo
from provisioner.plan.validate import ParsedPlan, validate_table

__all__ = ["ParsedPlan", "RawTable", "SourceInfo", "read_plan", "read_table", "validate_table"]
