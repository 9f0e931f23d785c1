"""A plan import killed half-way leaves the database as it was: all or nothing."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from provisioner.db import Store

MEASURES = ("Verkabelung", "WLAN", "Server", "Switches", "Access Points",
            "Präsentationstechnik", "Endgeräte")


def big_plan(path: Path, schools: int = 1500) -> int:
    lines = ["Schulnummer;Schule;Maßnahme;Jahr;Anzahl;Kosten (EUR)"]
    for n in range(schools):
        for measure in MEASURES:
            for year in (2020, 2021, 2022):
                lines.append(f"{200000 + n};Schule {n};{measure};{year};3;1.234,50")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def test_killed_import_leaves_no_partial_version(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    rows = big_plan(tmp_path / "plan.csv")
    Store.open(db).close()
    outcomes = set()
    for delay in (0.3, 0.6, 0.9, 1.2):
        proc = subprocess.Popen(
            [sys.executable, "-m", "provisioner.cli", "--db", str(db), "plan", "import",
             str(tmp_path / "plan.csv")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        conn = sqlite3.connect(db)
        versions = conn.execute("SELECT id, item_count FROM plan_versions").fetchall()
        counts = dict(conn.execute(
            "SELECT version_id, count(*) FROM plan_items GROUP BY version_id").fetchall())
        orphans = conn.execute("SELECT count(*) FROM plan_items WHERE version_id NOT IN "
                               "(SELECT id FROM plan_versions)").fetchone()[0]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        assert orphans == 0
        for version_id, item_count in versions:
            assert item_count == rows == counts[version_id]
        outcomes.add(len(versions))
    # Resumable: the next import completes (or finds the plan already in force).
    store = Store.open(db)
    assert len(store.plan_items()) in (0, rows)
