"""A plan import killed inside its write transaction leaves the database as it was:
the old plan version, or the new one whole; never a part of it.

Each import runs as `provision plan import` in a child process whose SQLite
connection has a trace callback (installed by the child's own wrapper below, not by
the tool): when the chosen statement of the transaction is about to run, the child
says so and waits. The test checks that the child holds the write lock, kills it
with SIGKILL there, and looks at the database. No sleeps: every kill lands on a
known statement.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from provisioner.db import Store

MEASURES = ("Verkabelung", "WLAN", "Server", "Switches", "Access Points",
            "Präsentationstechnik", "Endgeräte")
ROOT = Path(__file__).resolve().parent.parent

# The child: `provision --db DB plan import PLAN`, pausing at the N-th statement that
# starts with PREFIX until it is killed (or its stdin closes).
CHILD = """
import sqlite3, sys
db, plan, prefix, nth = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
seen = 0
def trace(statement):
    global seen
    if statement.startswith(prefix):
        seen += 1
        if seen == nth:
            print("paused", flush=True)
            sys.stdin.readline()
real_connect = sqlite3.connect
def connect(*args, **kwargs):
    conn = real_connect(*args, **kwargs)
    conn.set_trace_callback(trace)
    return conn
sqlite3.connect = connect
from provisioner.cli import main
sys.argv = ["provision", "--db", db, "plan", "import", plan]
main()
"""


def write_plan(path: Path, schools: int, first_id: int, budget: str) -> int:
    """A plan of `schools` × 7 measures × 3 years; returns its number of rows."""
    lines = ["Schulnummer;Schule;Maßnahme;Jahr;Anzahl;Kosten (EUR)"]
    for n in range(schools):
        for measure in MEASURES:
            for year in (2020, 2021, 2022):
                lines.append(f"{first_id + n};Schule {first_id + n};{measure};{year};3;{budget}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def state(db: Path) -> tuple[list[tuple[int, int]], dict[int, tuple[int, Decimal]], int, int]:
    """(versions with item counts, per version: items and budget sum, orphan items, schools),
    after PRAGMA integrity_check says ok."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        versions = conn.execute("SELECT id, item_count FROM plan_versions ORDER BY id").fetchall()
        items = {v: (n, Decimal(c) / 100) for v, n, c in conn.execute(
            "SELECT version_id, count(*), sum(budget_cents) FROM plan_items GROUP BY version_id")}
        orphans = conn.execute("SELECT count(*) FROM plan_items WHERE version_id NOT IN "
                               "(SELECT id FROM plan_versions)").fetchone()[0]
        schools = conn.execute("SELECT count(*) FROM schools").fetchone()[0]
    finally:
        conn.close()
    return versions, items, orphans, schools


def write_lock_is_held(db: Path) -> bool:
    """Whether another connection holds the database's write lock right now."""
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    finally:
        conn.close()


def kill_at(db: Path, plan: Path, prefix: str, nth: int, *, in_transaction: bool = True) -> None:
    """Import `plan` in a child and SIGKILL it when it is about to run the statement
    (checking first that it holds the write lock, when the kill is to land there)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(plan), prefix, str(nth)], cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline()
    if line != "paused\n":  # the child ended without reaching the statement
        _, errors = child.communicate()
        pytest.fail(f"the import never reached {prefix!r} #{nth}: {line!r} {errors[-2000:]}")
    try:
        if in_transaction:
            assert write_lock_is_held(db), "the kill would not land inside the transaction"
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    assert child.returncode == -signal.SIGKILL


def run_import(db: Path, plan: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "provisioner.cli", "--db", str(db), "plan",
                           "import", str(plan)], cwd=ROOT, capture_output=True, text=True)


def test_killed_import_leaves_old_version_or_new_one_whole(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    old_rows = write_plan(tmp_path / "v1.csv", schools=20, first_id=100000, budget="1.000,00")
    new_rows = write_plan(tmp_path / "v2.csv", schools=300, first_id=200000, budget="1.234,50")
    assert run_import(db, tmp_path / "v1.csv").returncode == 0
    old = ([(1, old_rows)], {1: (old_rows, Decimal(old_rows) * 1000)}, 0, 20)
    assert state(db) == old

    # Killed inside the write transaction (the trace fires before a statement runs, so
    # the first one that holds the lock is the second): at the version row, at the
    # first, a middle and the last plan item. The database holds the old version,
    # nothing else (not even the new version's schools, written first).
    for prefix, nth in (("INSERT INTO plan_versions", 1), ("INSERT INTO plan_items", 1),
                        ("INSERT INTO plan_items", new_rows // 2),
                        ("INSERT INTO plan_items", new_rows)):
        kill_at(db, tmp_path / "v2.csv", prefix, nth)
        assert state(db) == old, (prefix, nth)

    # The import can be run again and completes.
    again = run_import(db, tmp_path / "v2.csv")
    assert again.returncode == 0, again.stderr
    assert "imported as plan version 2" in again.stdout
    new = ([(1, old_rows), (2, new_rows)],
           {1: old[1][1], 2: (new_rows, Decimal("1234.50") * new_rows)}, 0, 320)
    assert state(db) == new

    # Killed after the transaction committed (while writing the audit line): the new
    # version is there whole.
    newer_rows = write_plan(tmp_path / "v3.csv", schools=300, first_id=200000, budget="99,00")
    kill_at(db, tmp_path / "v3.csv", "INSERT INTO audit_log", 1, in_transaction=False)
    versions, items, orphans, _ = state(db)
    assert versions[-1] == (3, newer_rows)
    assert items[3] == (newer_rows, Decimal("99.00") * newer_rows)
    assert orphans == 0
    assert len(Store.open(db).plan_items()) == newer_rows
