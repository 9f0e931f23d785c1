"""Health check storage: runs, samples, daily summaries and retention (schema m007).

Raw samples are kept `retention_days`; older ones are folded into `health_daily` (one
row per device and day: samples per state, the worst, the lowest uptime, rtt totals)
and deleted, in the same transaction as the run that finishes, so a crash never leaves
a day half counted.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from provisioner.db.connection import translate_errors, writing
from provisioner.outcome import HealthState, RunStatus

# The states in the order of health_daily's columns (m007).
STATES: tuple[str, ...] = tuple(s.value for s in HealthState)
# HealthState.severity in SQL, for "worst"; built from the vocabulary (the states are
# column names as well as values, so this SQL is text, not parameters).
_SEVERITY_SQL = ("CASE {col} " + " ".join(f"WHEN '{s.value}' THEN {s.severity}"
                                          for s in HealthState) + " ELSE 0 END")


@dataclass(frozen=True)
class SampleRow:
    """One device's sample of one run, as stored.

    Attributes:
        facts: JSON-ready summary (no secrets: the caller builds it from parsed facts).
    """

    device: str
    school_id: str
    role: str
    state: str
    detail: str
    failure: str = ""
    uptime_s: int | None = None
    rtt_ms: float | None = None
    facts: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunRow:
    """One stored health run."""

    run_id: int
    started_at: str
    finished_at: str | None
    started_by: str
    status: str
    scope: str
    duration_s: float | None
    devices: int
    states: dict[str, int]
    dead_sites: list[str]
    exit_status: int | None


@dataclass(frozen=True)
class HistoryRow:
    """One line of `provision health show`: a raw sample or a daily summary."""

    at: str  # sampled_at, or the day for a summary
    device: str
    school_id: str
    state: str  # the sample's state, or the day's worst
    detail: str
    run_id: int | None
    summary: dict[str, int] | None = None  # per state counts of a daily summary


def begin_run(db: Database, started_at: str, user: str, scope: str,
              deadline_s: float | None) -> int:
    """Insert a running health run; its id."""
    with writing(db):
        cursor = db.conn.execute(
            "INSERT INTO health_runs (started_at, started_by, scope, deadline_s, status) "
            "VALUES (?, ?, ?, ?, ?)", (started_at, user, scope, deadline_s, RunStatus.RUNNING))
    return int(cursor.lastrowid or 0)


def finish_run(db: Database, run_id: int, *, finished_at: str, duration_s: float,
               samples: Sequence[SampleRow], dead_sites: Sequence[str], exit_status: int,
               keep_since: str) -> int:
    """Store a run's samples, close it, and fold samples older than `keep_since`.

    Returns:
        How many raw samples were folded into daily summaries and removed.
    """
    states = {s: 0 for s in STATES}
    for sample in samples:
        states[sample.state] = states.get(sample.state, 0) + 1
    with writing(db):
        # Idempotent per (run, device): a device whose result came twice (a poll an
        # execution node repeated after a broker restart) is stored once.
        db.conn.executemany(
            "INSERT INTO health_samples (device, school_id, sampled_at, state, detail, "
            "uptime_s, rtt_ms, run_id, role, failure, facts) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM "
            "health_samples WHERE run_id = ? AND device = ?)",
            [(s.device, s.school_id, finished_at, s.state, s.detail, s.uptime_s, s.rtt_ms,
              run_id, s.role, s.failure, json.dumps(s.facts or {}, sort_keys=True),
              run_id, s.device)
             for s in samples])
        db.conn.execute(
            "UPDATE health_runs SET finished_at = ?, status = ?, duration_s = ?, "
            "devices = ?, states = ?, dead_sites = ?, exit_status = ? WHERE id = ?",
            (finished_at, RunStatus.DONE, duration_s, len(samples), json.dumps(states),
             json.dumps(list(dead_sites)), exit_status, run_id))
        return _fold(db, keep_since)


def close_dead_runs(db: Database, finished_at: str) -> int:
    """Mark runs still "running" as interrupted (call while holding the health lock: no
    other run can be going, so these died, e.g. killed by SIGKILL); how many."""
    with writing(db):
        cursor = db.conn.execute(
            "UPDATE health_runs SET status = ?, finished_at = ? WHERE status = ?",
            (RunStatus.INTERRUPTED, finished_at, RunStatus.RUNNING))
    return int(cursor.rowcount)


def fail_run(db: Database, run_id: int, finished_at: str, status: RunStatus) -> None:
    """Close a run that ended without results (interrupted, or an error)."""
    with writing(db):
        db.conn.execute("UPDATE health_runs SET finished_at = ?, status = ? WHERE id = ?",
                        (finished_at, RunStatus(status).value, run_id))


def _fold(db: Database, keep_since: str) -> int:
    counts = ", ".join(f"SUM(state = '{s}')" for s in STATES)
    # Per device and day: counts per state and the most severe state, merged into any
    # summary an earlier prune already made for that day.
    db.conn.execute(
        f"""
        INSERT INTO health_daily (day, device, school_id, samples, {", ".join(STATES)}, worst,
                                  min_uptime_s, rtt_ms_sum, rtt_count)
        SELECT substr(sampled_at, 1, 10), device, MAX(school_id), COUNT(*), {counts},
               (SELECT state FROM health_samples AS w WHERE w.device = s.device
                AND substr(w.sampled_at, 1, 10) = substr(s.sampled_at, 1, 10)
                AND w.sampled_at < :keep
                ORDER BY {_SEVERITY_SQL.format(col="w.state")} DESC LIMIT 1),
               MIN(uptime_s), COALESCE(SUM(rtt_ms), 0), COUNT(rtt_ms)
        FROM health_samples AS s WHERE sampled_at < :keep
        GROUP BY substr(sampled_at, 1, 10), device
        ON CONFLICT(day, device) DO UPDATE SET
            samples = samples + excluded.samples,
            {", ".join(f"{s} = {s} + excluded.{s}" for s in STATES)},
            worst = CASE WHEN {_SEVERITY_SQL.format(col="excluded.worst")}
                         > {_SEVERITY_SQL.format(col="health_daily.worst")}
                    THEN excluded.worst ELSE health_daily.worst END,
            min_uptime_s = MIN(COALESCE(min_uptime_s, excluded.min_uptime_s),
                               COALESCE(excluded.min_uptime_s, min_uptime_s)),
            rtt_ms_sum = rtt_ms_sum + excluded.rtt_ms_sum,
            rtt_count = rtt_count + excluded.rtt_count
        """, {"keep": keep_since})
    cursor = db.conn.execute("DELETE FROM health_samples WHERE sampled_at < ?", (keep_since,))
    return int(cursor.rowcount)


def keep_since(now: str, retention_days: int) -> str:
    """The oldest sample time kept: `now` minus the retention, ISO like the stamps."""
    moment = dt.datetime.fromisoformat(now) - dt.timedelta(days=retention_days)
    return moment.isoformat(timespec="seconds")


def previous_samples(db: Database, devices: Sequence[str]) -> dict[str, tuple[str, int | None,
                                                                             dict[str, Any]]]:
    """The last answered sample (one with an uptime) of each named device: sampled_at,
    uptime_s, facts summary. Last as stored (the highest id), not by `sampled_at`: a sample
    stored while the controller's clock was ahead would otherwise stay "the previous one"
    for every run until the clock passed it."""
    found: dict[str, tuple[str, int | None, dict[str, Any]]] = {}
    names = list(devices)
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = db.conn.execute(
            f"SELECT device, MAX(id), sampled_at, uptime_s, facts FROM health_samples "
            f"WHERE device IN ({marks}) AND uptime_s IS NOT NULL GROUP BY device", chunk)
        for device, _id, at, uptime, facts in rows:
            found[device] = (at, uptime, json.loads(facts or "{}"))
    return found


def runs(db: Database, limit: int = 20) -> list[RunRow]:
    """The newest health runs, newest first."""
    rows = db.conn.execute(
        "SELECT id, started_at, finished_at, started_by, status, scope, duration_s, devices, "
        "states, dead_sites, exit_status FROM health_runs ORDER BY id DESC LIMIT ?", (limit,))
    return [RunRow(i, s, f, by, st, sc, d, n, json.loads(states), json.loads(dead), ex)
            for i, s, f, by, st, sc, d, n, states, dead, ex in rows]


def history(db: Database, school_id: str | None, since: str) -> list[HistoryRow]:
    """Samples since `since` (ISO) and daily summaries of days since then, oldest first."""
    where, params = ("AND school_id = ?", [school_id]) if school_id else ("", [])
    rows = [HistoryRow(at, device, school, state, detail, run_id)
            for at, device, school, state, detail, run_id in db.conn.execute(
                "SELECT sampled_at, device, school_id, state, detail, run_id FROM "
                f"health_samples WHERE sampled_at >= ? {where} ORDER BY sampled_at, device",
                [since, *params])]
    daily = [HistoryRow(day, device, school, worst, f"{samples} samples (daily summary)",
                        None, dict(zip(STATES, counts, strict=True)))
             for day, device, school, worst, samples, *counts in db.conn.execute(
                 f"SELECT day, device, school_id, worst, samples, {', '.join(STATES)} "
                 f"FROM health_daily WHERE day >= substr(?, 1, 10) {where} "
                 "ORDER BY day, device", [since, *params])]
    return sorted(daily + rows, key=lambda r: (r.at, r.device))


def device_links(db: Database) -> dict[str, tuple[str, str, bool]]:
    """Every synced device's upstream: name -> (uplink host, uplink port, managed)."""
    rows = db.conn.execute("SELECT name, uplink_host, uplink_port, managed FROM devices")
    return {name: (host or "", port or "", bool(managed)) for name, host, port, managed in rows}


@translate_errors
class HealthLog:
    """Read and write health runs and samples. Reached as `Store.health`; sqlite3's
    errors come out as `DatabaseError` naming `path`."""

    def __init__(self, db: Database, path: Path) -> None:
        self._db = db
        self.path = path

    def begin_run(self, started_at: str, user: str, scope: str,
                  deadline_s: float | None) -> int:
        """Record a running health run; its id."""
        return begin_run(self._db, started_at, user, scope, deadline_s)

    def finish_run(self, run_id: int, *, finished_at: str, duration_s: float,
                   samples: Sequence[SampleRow], dead_sites: Sequence[str], exit_status: int,
                   retention_days: int) -> int:
        """Store the samples, close the run and prune past `retention_days`, in one
        transaction; how many raw samples were folded into daily summaries."""
        return finish_run(self._db, run_id, finished_at=finished_at, duration_s=duration_s,
                          samples=samples, dead_sites=dead_sites, exit_status=exit_status,
                          keep_since=keep_since(finished_at, retention_days))

    def fail_run(self, run_id: int, finished_at: str, status: RunStatus) -> None:
        """Close a run that ended without results."""
        fail_run(self._db, run_id, finished_at, status)

    def close_dead_runs(self, finished_at: str) -> int:
        """Mark runs left "running" by a killed process as interrupted; how many."""
        return close_dead_runs(self._db, finished_at)

    def previous(self, devices: Sequence[str]) -> dict[str, tuple[str, int | None,
                                                                 dict[str, Any]]]:
        """The newest answered sample per device: (sampled_at, uptime_s, facts)."""
        return previous_samples(self._db, devices)

    def runs(self, limit: int = 20) -> list[RunRow]:
        """The newest runs, newest first."""
        return runs(self._db, limit)

    def history(self, school_id: str | None, since: str) -> list[HistoryRow]:
        """Samples and daily summaries since `since`, oldest first."""
        return history(self._db, school_id, since)

    def device_links(self) -> dict[str, tuple[str, str, bool]]:
        """name -> (uplink host, uplink port, managed) of every synced device."""
        return device_links(self._db)
