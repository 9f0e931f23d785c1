"""An existing database upgrades to the state history (m009); sqlite3's errors become one
line naming the file and what to do, from every method and through the CLI."""

from __future__ import annotations

import inspect
import json
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from provisioner.db import Store
from provisioner.db.health import HealthLog
from provisioner.db.migrations import migrations
from provisioner.db.runs import RunLog
from provisioner.errors import DatabaseError, ExitStatus
from provisioner.models import Device, Role
from provisioner.outcome import DeviceState
from tests.conftest import Invoke

T1, T2, T3 = "2026-05-04T10:00:00+00:00", "2026-06-01T10:00:00+00:00", "2026-06-02T09:00:00+00:00"


def _old_database(path: Path) -> None:
    """A database as the previous version left it: sw1 verified in run 1, then blocked in
    run 2's preflight (its state stayed "verified": the fault m009 mends), sw2 never
    started in run 3, which was stopped."""
    db = Database(path)
    migrations.apply(db, stop_before="m009_device_state_history")
    db.execute("INSERT INTO devices (name, school_id, role, platform, address, synced_at, "
               "state, state_at) VALUES ('sw1', '100001', 'switch', 'cisco_ios', '10.1.0.1', "
               "?, 'verified', ?), ('sw2', '100001', 'switch', 'cisco_ios', '10.1.0.2', ?, "
               "'planned', NULL)", [T1, T1, T1])
    runs = [(1, T1, "verified", "done", ""), (2, T2, "blocked", "preflight", "host key changed"),
            (3, T3, "interrupted", "preflight", "")]
    for run_id, at, status, phase, message in runs:
        db.execute("INSERT INTO runs (id, kind, school_id, started_at, finished_at, status, "
                   "started_by) VALUES (?, 'provision', '100001', ?, ?, 'failed', 'anna')",
                   [run_id, at, at])
        db.execute("INSERT INTO host_results (run_id, host, status, phase, message) VALUES "
                   "(?, ?, ?, ?, ?)", [run_id, "sw1" if run_id < 3 else "sw2", status, phase,
                                       message])
    db.conn.commit()
    db.close()


def test_an_old_database_upgrades_and_no_longer_calls_a_blocked_device_verified(
        tmp_path: Path) -> None:
    _old_database(tmp_path / "state.db")
    store = Store.open(tmp_path / "state.db")
    rollout = {d.name: d for d in store.device_rollout()}
    assert (rollout["sw1"].state, rollout["sw1"].detail) == (DeviceState.BLOCKED,
                                                             "host key changed")
    assert rollout["sw2"].state is DeviceState.PLANNED  # run 3 never started on it
    as_of = {(d.name, d.state) for d in store.device_states_until("2026-05-31T23:59:59+00:00")}
    assert as_of == {("sw1", DeviceState.VERIFIED), ("sw2", DeviceState.PLANNED)}
    # The widened CHECK takes the new states; it still refuses a word that is none.
    assert store.runs.set_device_state("sw2", DeviceState.INTERRUPTED)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        store._db.conn.execute("UPDATE devices SET state = 'great' WHERE name = 'sw2'")
    store.close()


def test_the_check_constraint_refuses_an_unknown_state(tmp_path: Path) -> None:
    Store.open(tmp_path / "state.db").close()
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("INSERT INTO devices (name, school_id, role, platform, address, synced_at) "
                 "VALUES ('a', '100001', 'server', 'debian', '10.1.0.1', 'x')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("UPDATE devices SET state = 'great' WHERE name = 'a'")
    conn.execute("UPDATE devices SET state = 'blocked' WHERE name = 'a'")


def test_every_public_method_translates_sqlite_errors() -> None:
    for cls in (Store, RunLog, HealthLog):
        for name, member in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(member):
                assert hasattr(member, "__wrapped__"), f"{cls.__name__}.{name}"


def _device() -> Device:
    return Device("100001", "sw1", Role.SWITCH, "cisco_ios", "10.1.0.1")


def test_a_locked_database_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store.open(path)
    store.replace_devices(["100001"], [_device()])
    store._db.execute("PRAGMA busy_timeout = 50")  # the test need not wait 10 s
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for write in (lambda: store.audit("anna", "x", "ok"),
                      lambda: store.runs.set_device_state("sw1", DeviceState.VERIFIED),
                      lambda: store.health.close_dead_runs("2026-01-01T00:00:00+00:00")):
            with pytest.raises(DatabaseError) as caught:
                write()
            message = str(caught.value)
            assert message.startswith(f"database {path} is locked by another command")
            assert message.endswith("wait for it to finish and run again")
            assert "\n" not in message
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.runs.set_device_state("sw1", DeviceState.VERIFIED)  # the lock is gone


def test_a_read_only_database_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store.open(path).close()
    read_only = Store(Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True)), path)
    assert read_only.schools() == []  # reading works
    with pytest.raises(DatabaseError, match=rf"^database {path} is read-only \(.*\); allow "
                                            "writing to the file and its folder"):
        read_only.audit("anna", "x", "ok")


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # the second page: the schema's tables are gone
    path.write_bytes(bytes(data))


def test_a_damaged_database_is_one_line_and_exit_5_with_the_json_error_shape(
        invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store.open(path)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    _damage(path)
    with pytest.raises(DatabaseError, match=rf"^database {path} is damaged"):
        Store.open(path)
    result = invoke("schools", db=path)
    assert result.exit_code == ExitStatus.DATABASE
    assert result.output.startswith(f"Error: database {path} is damaged")
    assert len(result.output.splitlines()) == 1
    as_json = invoke("--json", "schools", db=path)
    assert as_json.exit_code == ExitStatus.DATABASE
    error = json.loads(as_json.stdout)
    assert error == {"error": error["error"], "exit_status": int(ExitStatus.DATABASE),
                     "problems": []}
    assert error["error"].startswith(f"database {path} is damaged")


def test_a_write_that_reads_first_holds_the_lock_from_its_start(tmp_path: Path) -> None:
    # Two schools provisioned side by side each sync their devices: a sync reads, then
    # writes. Had another connection written in between, its write would fail at once
    # (SQLITE_BUSY_SNAPSHOT). Here the other connection tries exactly then: it must be
    # the one kept waiting, and the sync must go through.
    path = tmp_path / "state.db"
    store = Store.open(path)
    gone = Device("100001", "sw2", Role.SWITCH, "cisco_ios", "10.1.0.2")
    store.replace_devices(["100001"], [_device(), gone])
    other = sqlite3.connect(path, timeout=0)
    seen: list[str] = []

    def between_read_and_write(statement: str) -> None:
        if statement.startswith("DELETE FROM devices") and not seen:
            try:
                other.execute("INSERT INTO audit_log (at, user, command, outcome) "
                              "VALUES ('x', 'bert', 'sync', 'ok')")
                other.commit()
                seen.append("the other connection wrote")
            except sqlite3.OperationalError:
                other.rollback()
                seen.append("the other connection waited")

    store._db.conn.set_trace_callback(between_read_and_write)
    store.replace_devices(["100001"], [_device()])
    store._db.conn.set_trace_callback(None)
    assert seen == ["the other connection waited"]
    assert [d.name for d in store.devices()] == ["sw1"]
    other.close()
    store.close()
