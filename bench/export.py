"""Benchmark: the committee export of 2,000 schools in every format.

Builds a database with the plan of bench/plan_import.py's generator (2,000 schools x
7 measures x 3 years = 42,000 items), about 44 managed devices per school in mixed
rollout states, one provisioning run per school with per-host results, a health run
with a sample per device (some schools dead), and recorded progress for cabling,
WLAN, displays and end devices. Then times `provision export` per format as the CLI
runs it (build the report from the database, render, write, keep the snapshot) and
all five together.

    .venv/bin/python bench/export.py                      # every format, 3 repeats
    .venv/bin/python bench/export.py --engines            # + PDF engine and chart library
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plan_import import write_csv

from provisioner.db import Store
from provisioner.plan.service import import_plan
from provisioner.report import FORMATS, Report, Scope, export_report, make_report

ROLES = (("server", 2), ("switch", 12), ("access_point", 30))
STATES = ("verified", "verified", "verified", "provisioned", "failed", "planned")
HEALTH = ("ok", "ok", "ok", "ok", "warning", "critical", "unreachable")


def _stamp(day: dt.date, hour: int = 12) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00+00:00"


def _device_rows(schools: int, today: dt.date) -> list[tuple[object, ...]]:
    rows = []
    for n in range(schools):
        school = f"{100001 + n:06d}"
        for role, count in ROLES:
            for k in range(count):
                name = f"{school}-{role}-{k}"
                state = STATES[(n + k) % len(STATES)]
                address = f"10.{n // 250}.{n % 250}.{len(rows) % 250}-{k}-{role}"
                rows.append((name, school, role, "debian", address, _stamp(today, 1), state,
                             _stamp(today - dt.timedelta(days=k % 300), 2)))
    return rows


def _fill(path: Path, schools: int, plan: Path) -> None:
    """Plan import through the library, then runs, devices, health and progress by SQL."""
    store = Store.open(path)
    import_plan(store, plan, user="bench")
    store.close()
    today = dt.datetime.now(dt.UTC).date()
    conn = sqlite3.connect(path)
    devices = _device_rows(schools, today)
    conn.executemany("INSERT INTO devices (name, school_id, role, platform, address, synced_at,"
                     " state, state_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", devices)
    conn.executemany("INSERT INTO runs (id, kind, school_id, started_at, finished_at, status, "
                     "started_by) VALUES (?, 'provision', ?, ?, ?, 'ok', 'bench')",
                     [(n + 1, f"{100001 + n:06d}", _stamp(today - dt.timedelta(days=400)),
                       _stamp(today - dt.timedelta(days=400), 13)) for n in range(schools)])
    conn.executemany("INSERT INTO host_results (run_id, host, status) VALUES (?, ?, ?)",
                     [(int(d[1]) - 100000, d[0], "provisioned") for d in devices])
    dead = [f"{100001 + n:06d}" for n in range(0, schools, 97)]
    conn.execute("INSERT INTO health_runs (id, started_at, finished_at, started_by, status, "
                 "dead_sites) VALUES (1, ?, ?, 'bench', 'done', ?)",
                 (_stamp(today, 3), _stamp(today, 4), str(dead).replace("'", '"')))
    conn.executemany("INSERT INTO health_samples (device, school_id, sampled_at, state, run_id)"
                     " VALUES (?, ?, ?, ?, 1)",
                     [(d[0], d[1], _stamp(today, 4), HEALTH[i % len(HEALTH)])
                      for i, d in enumerate(devices)])
    progress = [(f"{100001 + n:06d}", measure, year, 100 if year == 2020 else 40, "percent",
                 _stamp(today, 5)) for n in range(schools) for measure in ("cabling", "wlan")
                for year in (2020, 2021, 2022)]
    conn.executemany("INSERT INTO plan_progress (school_id, measure, year, done, unit, "
                     "recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, 'bench')", progress)
    conn.commit()
    conn.close()


def _time(action: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def _import_seconds(module: str) -> float | None:
    """Seconds a fresh interpreter needs to import `module` (None: not installed)."""
    code = (f"import time; t = time.perf_counter(); import {module}; "
            "print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    return float(done.stdout) if done.returncode == 0 else None


def _matplotlib_charts(report: Report) -> list[str]:
    """The report's three charts drawn by matplotlib's SVG backend, for comparison."""
    import matplotlib
    matplotlib.use("svg")
    from matplotlib import pyplot

    svgs = []
    years = [b.year for b in report.budget]
    for series in ([[float(b.budget_eur) for b in report.budget],
                    [float(b.spent_eur) for b in report.budget]],
                   [[float(s.percent_done) for s in report.schools[:40]]]):
        figure, axes = pyplot.subplots(figsize=(7.6, 3.4))
        for n, values in enumerate(series):
            labels = years if len(values) == len(years) else list(range(len(values)))
            axes.bar([x + n * 0.3 for x in range(len(labels))], values, width=0.3)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
        pyplot.close(figure)
        svgs.append(buffer.getvalue())
    return svgs


def _row(case: str, times: list[float], note: str) -> None:
    best = f"{min(times):.2f}" if times else "—"
    median = f"{statistics.median(times):.2f}" if times else "—"
    print(f"| {case} | {best} | {median} | {note} |")


def _engines(store: Store, repeat: int) -> None:
    """PDF engines (Typst, WeasyPrint) and chart libraries (pygal, matplotlib) side by side."""
    from provisioner.report.charts import all_charts
    from provisioner.report.html_format import render_html_text
    from provisioner.report.pdf_format import render_pdf
    from provisioner.report.text import Text

    report = make_report(store, Scope(as_of=dt.datetime.now(dt.UTC).date()))
    print("\n| engine / library | best s | median s | note |\n|---|---:|---:|---|")
    typst_times = _time(lambda: render_pdf(report), repeat)
    _row("PDF: Typst (chosen)", typst_times, "Jinja2 -> Typst markup -> PDF")
    try:
        import weasyprint
    except ImportError:
        _row("PDF: WeasyPrint", [], "not installed: pip install weasyprint")
    else:
        html = render_html_text(report)
        times = _time(lambda: weasyprint.HTML(string=html).write_pdf(), 1)
        _row("PDF: WeasyPrint", times, f"same HTML as the html export; ratio to Typst "
             f"{min(times) / min(typst_times):.1f}x")
    text = Text("de")
    pygal_times = _time(lambda: all_charts(report, text), repeat)
    _row("charts: pygal (chosen)", pygal_times,
         f"3 charts; import {_import_seconds('pygal') or 0:.2f} s")
    mpl_import = _import_seconds("matplotlib.pyplot")
    if mpl_import is None:
        _row("charts: matplotlib SVG", [], "not installed: pip install matplotlib")
    else:
        times = _time(lambda: _matplotlib_charts(report), repeat)
        _row("charts: matplotlib SVG", times, f"3 charts; import {mpl_import:.2f} s; ratio "
             f"to pygal {min(times) / min(pygal_times):.1f}x")


def _print(case: str, size: str, wall: list[float], cpu: list[float], command: str) -> None:
    print(f"| {case} | {size} | {min(wall):.2f} | {statistics.median(wall):.2f} | "
          f"{min(cpu):.2f} | {command} |")


def _time_both(action: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds per repeat (CPU: this process, all its threads)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def _formats(store: Store, folder: Path, repeat: int, command: str) -> None:
    scope = Scope(as_of=dt.datetime.now(dt.UTC).date())
    print("| case | file | best s | median s | best CPU s | command |")
    print("|---|---:|---:|---:|---:|---|")
    wall, cpu = _time_both(lambda: make_report(store, scope), repeat)
    _print("report model only", "—", wall, cpu, command)
    walls, cpus = [0.0] * repeat, [0.0] * repeat
    for fmt in FORMATS:
        out = folder / f"report.{fmt}"
        wall, cpu = _time_both(lambda fmt=fmt, out=out: export_report(  # type: ignore[misc]
            store, scope, [fmt], user="bench", output=out), repeat)
        walls = [a + b for a, b in zip(walls, wall, strict=True)]
        cpus = [a + b for a, b in zip(cpus, cpu, strict=True)]
        _print(f"export {fmt}", f"{out.stat().st_size / 1e6:.1f} MB", wall, cpu, command)
    _print("all five exports (five models)", "—", walls, cpus, command)
    wall, cpu = _time_both(lambda: export_report(store, scope, FORMATS, user="bench",
                                                 output=folder / "all"), repeat)
    _print("all five in one export (--format x5)", "—", wall, cpu, command)


def main(argv: list[str] | None = None) -> int:
    """Build the database once, then time each format and all five; print markdown rows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", action="store_true",
                        help="also compare PDF engines and chart libraries")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plan = folder / "plan.csv"
        write_csv(plan, args.schools)
        start = time.perf_counter()
        _fill(folder / "state.db", args.schools, plan)
        print(f"database: {args.schools} schools built in {time.perf_counter() - start:.1f} s")
        store = Store.open(folder / "state.db")
        command = (f"`.venv/bin/python bench/export.py --schools {args.schools} "
                   f"--repeat {args.repeat}`")
        _formats(store, folder, args.repeat, command)
        if args.engines:
            _engines(store, args.repeat)
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
