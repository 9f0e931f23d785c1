"""Make examples/report-musterstadt.pdf: the committee report of the example plan.

Imports examples/plan-musterstadt.csv and the example inventories (inventories/)
into a fresh database, then fills in what provisioning runs, health checks and
staff would have recorded, so the report has something to show. Those figures are
ILLUSTRATIVE, derived from the plan's funding statuses: a measure that is paid out
(ausgezahlt/abgerechnet) counts as done, an approved one (bewilligt) as 85 % done
(40 % at one lagging school); devices of a school are verified in the same share;
one school's site is dead.

    .venv/bin/python examples/make_report.py [--out examples/report-musterstadt.pdf]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from provisioner.db import Store
from provisioner.models import Measure
from provisioner.report.progress import record_progress

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEAD_SITE = "100020"
LAGGING = "100009"
SHARE = {"paid": 1.0, "approved": 0.85}
# The example tells the state of the rollout on the Stichtag 30 June 2022: the plan
# (2020-2022) was imported in January 2022, work was recorded in June.
AS_OF = "2022-06-30"
IMPORTED = "2022-01-10T09:00:00+00:00"
RECORDED = "2022-06-01T12:00:00+00:00"


def provision(db: Path, *args: str) -> None:
    """Run the `provision` command on `db` (as a user would)."""
    subprocess.run([sys.executable, "-m", "provisioner.cli", "--db", str(db),
                    "--inventories", str(ROOT / "inventories"), *args], check=True,
                   stdout=subprocess.DEVNULL)


def _share(school: str, funding_status: str | None) -> float:
    share = SHARE.get(funding_status or "", 0.0)
    return min(share, 0.4) if school == LAGGING else share


def _done_share(conn: sqlite3.Connection) -> dict[str, float]:
    """Per school: the share of its plan items that are paid out (done) or approved (half)."""
    shares: dict[str, list[float]] = {}
    for school, status in conn.execute("SELECT school_id, funding_status FROM plan_items "
                                       "WHERE measure IN ('servers', 'switches', "
                                       "'access_points') AND year <= 2021"):
        shares.setdefault(school, []).append(_share(school, status))
    return {school: sum(v) / len(v) for school, v in shares.items()}


def _illustrate(db: Path) -> None:
    conn = sqlite3.connect(db)
    now = RECORDED
    conn.execute("UPDATE plan_versions SET imported_at = ?", (IMPORTED,))
    share = _done_share(conn)
    devices = conn.execute("SELECT name, school_id, role FROM devices ORDER BY school_id, name")
    by_school: dict[tuple[str, str], list[str]] = {}
    for name, school, role in devices.fetchall():
        by_school.setdefault((school, role), []).append(name)
    samples = []
    for (school, _), names in by_school.items():
        verified = round(len(names) * share.get(school, 0))
        for n, name in enumerate(names):
            state = "verified" if n < verified else "planned"
            conn.execute("UPDATE devices SET state = ?, state_at = ? WHERE name = ?",
                         (state, now, name))
            health = "unreachable" if school == DEAD_SITE else ("warning" if n % 9 == 4 else "ok")
            if state == "verified":
                samples.append((name, school, now, health))
    conn.execute("INSERT INTO health_runs (id, started_at, finished_at, started_by, status, "
                 "dead_sites) VALUES (1, ?, ?, 'example', 'done', ?)",
                 (now, now, json.dumps([DEAD_SITE])))
    conn.executemany("INSERT INTO health_samples (device, school_id, sampled_at, state, run_id) "
                     "VALUES (?, ?, ?, ?, 1)", samples)
    conn.commit()
    conn.close()


def _progress(db: Path) -> None:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT school_id, measure, year, quantity, funding_status FROM "
                        "plan_items WHERE measure IN ('cabling', 'wlan', 'displays', "
                        "'end_devices') AND funding_status IN ('paid', 'approved')").fetchall()
    conn.close()
    # What `provision plan progress` does, in-process: one command per item is slow.
    store = Store.open(db)
    for school, measure, year, quantity, status in rows:
        share = _share(school, status)
        done = f"{int(share * 100)}%" if quantity is None else str(int(quantity * share))
        record_progress(store, school_id=school, measure=Measure(measure), year=year,
                        done=done, note="example", user="example")
    store.close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE plan_progress SET recorded_at = ?", (RECORDED,))
    conn.commit()
    conn.close()


def main() -> int:
    """Build the example database and write the PDF."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "report-musterstadt.pdf")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "example.db"
        provision(db, "plan", "import", str(HERE / "plan-musterstadt.csv"))
        provision(db, "inventory", "sync")
        _illustrate(db)
        _progress(db)
        provision(db, "export", "--format", "pdf", "--as-of", AS_OF, "-o", str(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
