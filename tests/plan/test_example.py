"""The example plan of the fictional city Musterstadt, shipped in examples/."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from types import ModuleType

from provisioner.models import ROLE_MEASURE, FundingStatus, Role
from provisioner.plan import ParsedPlan, read_plan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CSV_PLAN = EXAMPLES / "plan-musterstadt.csv"
XLSX_PLAN = EXAMPLES / "plan-musterstadt.xlsx"

# The devices each school's plan pays for, summed over the plan years: the counts an
# inventory of the school is compared with. 100001-100003 are the lab's schools.
DEVICES = {  # school id: (servers, switches, access points)
    "100001": (2, 4, 8), "100002": (2, 4, 10), "100003": (2, 5, 12), "100004": (2, 6, 14),
    "100005": (2, 5, 12), "100006": (2, 4, 9), "100007": (2, 6, 15), "100008": (2, 5, 11),
    "100009": (3, 28, 68), "100010": (3, 26, 62), "100011": (3, 22, 54),
    "100012": (3, 20, 48), "100013": (2, 18, 45), "100014": (2, 12, 30),
    "100015": (2, 10, 26), "100016": (2, 11, 28), "100017": (4, 34, 78),
    "100018": (4, 30, 72), "100019": (2, 4, 10), "100020": (2, 5, 12),
}


def _device_counts(plan: ParsedPlan) -> dict[str, tuple[int, int, int]]:
    counted: Counter[tuple[str, Role]] = Counter()
    for item in plan.items:
        for role, measure in ROLE_MEASURE.items():
            if item.measure is measure:
                counted[(item.school_id, role)] += item.quantity or 0
    return {
        school.school_id: (counted[(school.school_id, Role.SERVER)],
                           counted[(school.school_id, Role.SWITCH)],
                           counted[(school.school_id, Role.ACCESS_POINT)])
        for school in plan.schools
    }


def test_example_csv_has_no_problems_and_no_warnings() -> None:
    plan = read_plan(CSV_PLAN)
    assert plan.warnings == ()
    assert plan.detected == "CSV, delimiter ';', encoding UTF-8 with BOM"
    assert len(plan.schools) == 20
    assert {item.year for item in plan.items} == {2020, 2021, 2022}
    assert {item.funding_status for item in plan.items} == set(FundingStatus)
    assert {s.school_type for s in plan.schools} == {
        "Grundschule", "Gesamtschule", "Gymnasium", "Realschule", "Berufskolleg", "Förderschule"}


def test_example_device_counts_per_school() -> None:
    assert _device_counts(read_plan(CSV_PLAN)) == DEVICES


def test_example_xlsx_is_the_same_plan() -> None:
    csv_plan, xlsx_plan = read_plan(CSV_PLAN), read_plan(XLSX_PLAN)
    assert xlsx_plan.detected == "XLSX, sheet 'MEP 2020-2022'"
    assert (xlsx_plan.schools, xlsx_plan.items) == (csv_plan.schools, csv_plan.items)
    assert xlsx_plan.warnings == ()


def _example_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_example_xlsx",
                                                  EXAMPLES / "make_example_xlsx.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_writes_the_same_plan(tmp_path: Path) -> None:
    target = tmp_path / "plan.xlsx"
    assert _example_script().main(target) == 0
    written, expected = read_plan(target), read_plan(CSV_PLAN)
    assert (written.schools, written.items) == (expected.schools, expected.items)
