"""docs/plan-format.md documents every name the reader accepts."""

from __future__ import annotations

from pathlib import Path

from provisioner.models import MEASURE_GERMAN, FundingStatus, Measure
from provisioner.plan.columns import (
    COLUMNS,
    FUNDING_STATUS_GERMAN,
    FUNDING_STATUS_SYNONYMS,
    MEASURE_SYNONYMS,
)

DOC = (Path(__file__).resolve().parents[2] / "docs" / "plan-format.md").read_text("utf-8")


def _table_row(first_cell: str) -> str:
    rows = [line for line in DOC.splitlines() if line.startswith(f"| {first_cell} |")]
    assert len(rows) == 1, first_cell
    return rows[0]


def test_every_column_is_documented_with_all_its_names() -> None:
    for column in COLUMNS:
        row = _table_row(f"`{column.field}`")
        required = "| yes |" if column.required else "| no |"
        assert f"| {column.german} {required}" in row
        assert f"`{column.example}`" in row
        for alias in column.aliases:
            assert alias in row, alias


def test_every_measure_is_documented_with_all_its_names() -> None:
    for measure in Measure:
        row = _table_row(f"`{measure.value}`")
        assert f"| {MEASURE_GERMAN[measure]} |" in row
        for synonym in MEASURE_SYNONYMS[measure]:
            assert synonym in row, synonym


def test_every_funding_status_is_documented_with_all_its_names() -> None:
    for status in FundingStatus:
        row = _table_row(f"`{status.value}`")
        assert f"| {FUNDING_STATUS_GERMAN[status]} |" in row
        for synonym in FUNDING_STATUS_SYNONYMS[status]:
            assert synonym in row, synonym
