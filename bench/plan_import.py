"""Benchmark: importing a large media development plan, with openpyxl as the reference.

Generates a plan of N schools × 7 measures × 3 years (default 2,000 schools:
42,000 rows) into bench/out/ as

- CSV the way German Excel saves it: `;`, Windows-1252, German headers and numbers;
- XLSX written by openpyxl: a title row above the table, numbers as numbers,
  ids and names as (inline) text, which is the slower kind of string for a reader;

then times, side by side in one run, `read_plan` and the full import
(`Store.open` on a fresh SQLite file + `plan.service.import_plan`, as
`provision plan import` does) on each, and openpyxl's read-only mode merely
handing over the workbook's cell values (no checks at all) as the reference.
Prints one markdown table row per case, the ratio of each XLSX case to the
openpyxl reference, and the command that reproduces it. Target: both imports < 2 s.

    .venv/bin/python bench/plan_import.py                 # every case
    .venv/bin/python bench/plan_import.py --case csv-import --repeat 5
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from pathlib import Path

import openpyxl

from provisioner.db import Store
from provisioner.plan import read_plan
from provisioner.plan.service import import_plan

WritableValue = str | int | float | Decimal | None

OUT = Path(__file__).resolve().parent / "out"
HEADER: list[WritableValue] = [
    "Schulnummer", "Schule", "Schulform", "Maßnahme", "Jahr", "Anzahl", "Kosten (EUR)",
    "Förderprogramm", "Förderstatus", "Ist-Kosten (EUR)",
]
BUDGET_COLUMN = HEADER.index("Kosten (EUR)")
MEASURES = (("Verkabelung", None, Decimal("95000")), ("WLAN", None, Decimal("8500")),
            ("Server", 2, Decimal("6850")), ("Switches", 10, Decimal("1890")),
            ("Access Points", 22, Decimal("1340")), ("Präsentationstechnik", 12, Decimal("5480")),
            ("Endgeräte", 40, Decimal("465.50")))
TYPES = ("Grundschule", "Gesamtschule", "Gymnasium", "Realschule", "Berufskolleg",
         "Förderschule")
STATUS = {2020: "ausgezahlt", 2021: "bewilligt", 2022: "beantragt"}
YEARS = (2020, 2021, 2022)


def _german(amount: Decimal) -> str:
    whole, fraction = f"{amount:.2f}".split(".")
    return f"{int(whole):,}".replace(",", ".") + "," + fraction


def plan_rows(schools: int) -> Iterator[list[WritableValue]]:
    """The rows of the generated plan, numbers as exact values."""
    for n in range(schools):
        school_id = f"{100001 + n:06d}"
        name, kind = f"Schule Nr. {n + 1} (Musterstadt-Süd)", TYPES[n % len(TYPES)]
        for measure, per_school, price in MEASURES:
            for year in YEARS:
                quantity = None if per_school is None else per_school + n % 7
                budget = price * (quantity or 1) + Decimal(n % 100) / 4
                spent = budget * Decimal("0.97") if year == 2020 else None
                funding = "Eigenmittel" if measure == "Endgeräte" else "DigitalPakt Schule"
                status = "Eigenmittel" if funding == "Eigenmittel" else STATUS[year]
                yield [school_id, name, kind, measure, year, quantity, budget, funding, status,
                       spent]


def _csv_cell(position: int, value: WritableValue) -> WritableValue:
    """A cell as German Excel writes it: amounts German, the budget with its € sign."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _german(value) + (" €" if position == BUDGET_COLUMN else "")
    return value


def write_csv(path: Path, schools: int) -> None:
    """The plan as German Excel saves "CSV (Trennzeichen-getrennt)"."""
    with path.open("w", encoding="cp1252", newline="") as stream:
        writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        for row in plan_rows(schools):
            writer.writerow([_csv_cell(position, value) for position, value in enumerate(row)])


def write_xlsx(path: Path, schools: int) -> None:
    """The plan as a workbook with a title row and numeric cells (openpyxl, write-only)."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("MEP")
    for row in [["Medienentwicklungsplan 2020–2022"], [], HEADER, *plan_rows(schools)]:
        sheet.append(list(row))
    book.save(path)


@contextmanager
def full_import(path: Path) -> Iterator[Callable[[], object]]:
    """Read, check and write into a fresh, migrated SQLite file, as `provision plan
    import` does (creating the database is not timed: it happens once per city)."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "state.db")
        try:
            yield lambda: import_plan(store, path, user="bench")
        finally:
            store.close()


@contextmanager
def only(action: Callable[[Path], object], path: Path) -> Iterator[Callable[[], object]]:
    """A case without setup."""
    yield lambda: action(path)


def openpyxl_values(path: Path) -> object:
    """The reference: openpyxl's read-only mode handing over every cell value, nothing else."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for sheet in book.worksheets for _ in sheet.iter_rows(values_only=True))
    finally:
        book.close()


def _time(case: str, path: Path, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each run (CPU time: this process only, so a busy
    shared machine inflates it far less than the wall clock)."""
    wall, cpu = [], []
    for _ in range(repeat):
        with _prepared(case, path) as run:
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def _prepared(case: str, path: Path) -> AbstractContextManager[Callable[[], object]]:
    if case.endswith("-import"):
        return full_import(path)
    return only(openpyxl_values if case == "openpyxl-values" else read_plan, path)


def main(argv: list[str] | None = None) -> int:
    """Generate the files if needed, time each case, print markdown rows and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", action="append", choices=list(CASES),
                        help="run only this case (repeatable)")
    parser.add_argument("--regenerate", action="store_true", help="rewrite the plan files")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    rows = args.schools * len(MEASURES) * len(YEARS)
    files = {"csv": OUT / f"plan-{rows}.csv", "xlsx": OUT / f"plan-{rows}.xlsx"}
    for kind, path in files.items():
        if args.regenerate or not path.exists():
            (write_csv if kind == "csv" else write_xlsx)(path, args.schools)
    print("| case | rows | file | best s | median s | best CPU s | vs openpyxl read-only (CPU) "
          "| command |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    cases = args.case or list(CASES)
    if any(CASES[c] == "xlsx" for c in cases) and "openpyxl-values" not in cases:
        cases = ["openpyxl-values", *cases]  # the reference, timed in the same run
    best: dict[str, float] = {}
    for case in cases:
        kind = CASES[case]
        times, cpu = _time(case, files[kind], args.repeat)
        best[case] = min(cpu)
        reference = best.get("openpyxl-values")
        ratio = f"{best[case] / reference:.2f}×" if reference and kind == "xlsx" else "—"
        size = f"{files[kind].stat().st_size / 1e6:.1f} MB"
        command = (f".venv/bin/python bench/plan_import.py --case {case} "
                   f"--schools {args.schools} --repeat {args.repeat}")
        print(f"| {case} | {rows} | {size} | {min(times):.2f} | "
              f"{statistics.median(times):.2f} | {min(cpu):.2f} | {ratio} | `{command}` |")
    return 0


# case name: the file it reads. "read": `read_plan` only; "import": read, compare and
# write a new plan version; "openpyxl-values": the reference.
CASES = {"openpyxl-values": "xlsx", "csv-read": "csv", "csv-import": "csv",
         "xlsx-read": "xlsx", "xlsx-import": "xlsx"}

if __name__ == "__main__":
    sys.exit(main())
