"""A state database with the example plan, devices in every rollout state, runs and health.

Times are set with plain SQL: the report reads what runs and health checks store (a
device's state and its state history, m009), and the tests need them on known days
(before and after an as-of date).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.db import Store
from provisioner.models import Device, Measure, ProgressEntry, Role
from provisioner.plan.service import import_plan

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "plan-musterstadt.csv"
PAST = "2025-06-30"  # a Stichtag before "today" on which some things already existed
UNPLANNED = "199001"  # a school with a device and no plan item


def today() -> dt.date:
    """The day the report takes as today (UTC), asked each time: a test run that crosses
    midnight must not compare the report with the day the tests were imported on."""
    return dt.datetime.now(dt.UTC).date()


def at(day: str, time: str = "12:00:00") -> str:
    """A database timestamp on `day`."""
    return f"{day}T{time}+00:00"


def _devices() -> list[Device]:
    # School 100001 plans switches 2020: 2, 2021: 2 and access points 2021: 4, 2022: 4.
    devices = [Device("100001", f"sw{n}", Role.SWITCH, "cisco_ios", f"10.1.0.{n}")
               for n in range(1, 4)]
    devices += [Device("100001", f"ap{n}", Role.ACCESS_POINT, "linux", f"10.1.1.{n}")
                for n in range(1, 5)]
    devices += [Device("100001", "srv1", Role.SERVER, "debian", "10.1.2.1")]
    # School 100002: two switches, both unreachable in the last health run (a dead site).
    devices += [Device("100002", f"b-sw{n}", Role.SWITCH, "cisco_ios", f"10.2.0.{n}")
                for n in range(1, 3)]
    # School 199001 is in no plan: its switch was replaced and provisioned before the
    # plan was updated (the report lists it under "not in the plan").
    devices += [Device(UNPLANNED, "z-sw1", Role.SWITCH, "cisco_ios", "10.99.0.1")]
    return devices


def _states() -> dict[str, tuple[str, str]]:
    """name: (state, state_at)."""
    return {
        "sw1": ("verified", at(PAST, "08:00:00")), "sw2": ("verified", at(PAST, "09:00:00")),
        "sw3": ("verified", at(today().isoformat(), "00:00:01")),  # verified only after PAST
        "ap1": ("verified", at(PAST)), "ap2": ("provisioned", at(PAST)),
        "ap3": ("failed", at(PAST)), "srv1": ("verified", at(PAST)),
        "z-sw1": ("verified", at(PAST, "10:00:00")),
    }
AP3_REASON = "task 'Install hostapd': No package matching 'hostapd' is available"


def _runs(conn: sqlite3.Connection) -> None:
    # A run before PAST left sw3 provisioned: as of PAST it counts as provisioned.
    conn.execute("INSERT INTO runs (id, kind, school_id, started_at, finished_at, status, "
                 "started_by) VALUES (1, 'provision', '100001', ?, ?, 'ok', 'anna')",
                 (at("2025-05-01"), at("2025-05-01", "12:30:00")))
    conn.execute("INSERT INTO host_results (run_id, host, status) VALUES (1, 'sw3', "
                 "'provisioned')")
    conn.execute("INSERT INTO device_states (device, state, at, run_id) VALUES "
                 "('sw3', 'provisioned', ?, 1)", (at("2025-05-01", "12:20:00"),))


def _health(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO health_runs (id, started_at, finished_at, started_by, status, "
                 "dead_sites) VALUES (1, ?, ?, 'anna', 'done', '[\"100002\"]')",
                 (at(PAST, "06:00:00"), at(PAST, "06:01:00")))
    samples = [("sw1", "100001", "ok"), ("sw2", "100001", "ok"), ("sw3", "100001", "warning"),
               ("ap1", "100001", "ok"), ("srv1", "100001", "critical"),
               ("b-sw1", "100002", "unreachable"), ("b-sw2", "100002", "unreachable")]
    conn.executemany("INSERT INTO health_samples (device, school_id, sampled_at, state, run_id)"
                     " VALUES (?, ?, ?, ?, 1)", [(d, s, at(PAST, "06:01:00"), st)
                                                 for d, s, st in samples])


def build_database(path: Path) -> Path:
    """The example plan (imported on 2025-01-15), devices, a run, health and progress."""
    store = Store.open(path)
    import_plan(store, EXAMPLE, user="anna")
    store.replace_devices(["100001", "100002", UNPLANNED], _devices())
    store.record_progress(ProgressEntry("100001", Measure.CABLING, 2020, 100, "percent",
                                        "Abnahme", at("2025-03-01"), "anna"))
    store.record_progress(ProgressEntry("100001", Measure.END_DEVICES, 2020, 30, "units", "",
                                        at(today().isoformat(), "00:00:01"), "anna"))
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE plan_versions SET imported_at = ?", (at("2025-01-15"),))
    for name, (state, state_at) in _states().items():
        detail = AP3_REASON if name == "ap3" else ""
        conn.execute("UPDATE devices SET state = ?, state_at = ?, state_detail = ? "
                     "WHERE name = ?", (state, state_at, detail, name))
        conn.execute("INSERT INTO device_states (device, state, at, detail) VALUES "
                     "(?, ?, ?, ?)", (name, state, state_at, detail))
    _runs(conn)
    _health(conn)
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh copy of the report test database."""
    return build_database(tmp_path / "state.db")


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """The report test database, open."""
    opened = Store.open(db_path)
    yield opened
    opened.close()
