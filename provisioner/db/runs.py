"""Provisioning runs and their per-host results (tables `runs`, `host_results`; m003 + m006)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from provisioner.db.connection import translate_errors, writing
from provisioner.errors import NotFoundError
from provisioner.models import HostRun, RunRecord, RunSummary
from provisioner.outcome import (
    COUNT_FIELDS,
    RUN_ENDINGS,
    UNFINISHED,
    Counts,
    DeviceState,
    HostStatus,
    Phase,
    RunStatus,
    device_state_after,
)

_HOST_COLUMNS = ("host", "role", "status", "phase", *COUNT_FIELDS, "failed_task", "message",
                 "warnings", "duration_ms")
_SUMMARY = "id, kind, school_id, started_at, finished_at, status, started_by"
# A host the play reached: past preflight, and not lost to the run as unreachable.
_PLAYED_HOST = "h.phase != ? AND h.status != ?"
_PLAYED_PARAMS = (Phase.PREFLIGHT.value, HostStatus.UNREACHABLE.value)


@dataclass(frozen=True)
class PlayedRun:
    """A run that changed devices (not check mode), as health judges an uptime reset.

    Attributes:
        run_id: the run.
        started_at: when it started (ISO, UTC).
        finished_at: when it ended (ISO, UTC); None: recorded as still running.
        pid: the process that ran it, and `pid_started` its start time, to tell a live
            run from one whose process died without closing it.
        hosts: the hosts its play reached (past preflight, not unreachable).
    """

    run_id: int
    started_at: str
    finished_at: str | None
    pid: int | None
    pid_started: int | None
    hosts: frozenset[str]


def run_mode(arguments: dict[str, Any]) -> tuple[str, bool, str]:
    """What a run's recorded arguments say of its reach: (mode "check" | "apply",
    partial, scope), e.g. ("apply", True, "limit 100001-srv01; tags snmp").

    `--limit`, `--tags` and `--resume` make a run partial; runs recorded before
    arguments were kept (an empty record) count as full apply runs.
    """
    parts = [f"{name} {_words(arguments[name])}" for name in ("limit", "tags")
             if arguments.get(name)]
    if arguments.get("resume"):
        parts.append("resume")
    return ("check" if arguments.get("check") else "apply"), bool(parts), "; ".join(parts)


def _words(value: object) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)


def summary_of(row: Sequence[Any]) -> RunSummary:
    """A RunSummary from the `_SUMMARY` columns followed by `arguments` (JSON)."""
    run_id, kind, school_id, started_at, finished_at, status, by, arguments = row[:8]
    mode, partial, scope = run_mode(json.loads(arguments or "{}"))
    return RunSummary(run_id, kind, school_id, started_at, finished_at, RunStatus(status), by,
                      mode, partial, scope)


def host_row(host: HostRun) -> tuple[Any, ...]:
    """A host's values in `_HOST_COLUMNS` order."""
    counts = asdict(host.counts)
    return (host.host, host.role, HostStatus(host.status).value, Phase(host.phase).value,
            *(counts[name] for name in COUNT_FIELDS), host.failed_task, host.message,
            host.warnings, host.duration_ms)


def host_of(row: Sequence[Any]) -> HostRun:
    """A HostRun from values in `_HOST_COLUMNS` order."""
    host, role, status, phase = row[:4]
    counts = Counts(*row[4:4 + len(COUNT_FIELDS)])
    failed_task, message, warnings, duration_ms = row[4 + len(COUNT_FIELDS):]
    return HostRun(host, role, HostStatus(status), Phase(phase), counts, failed_task, message,
                   warnings, duration_ms)


# The kind of run `provision school` records (provisioner.provision.locks.KIND).
_PROVISION_KIND = "provision"


def _now() -> str:
    # As store.now(): UTC, ISO 8601, seconds (store imports this module, not the reverse).
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@translate_errors
class RunLog:
    """Read and write provisioning runs and the rollout states they set. Reached as
    `Store.runs`; sqlite3's errors come out as `DatabaseError` naming `path`."""

    def __init__(self, db: Database, path: Path) -> None:
        self._db = db
        self.path = path

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, list(params)).fetchall())

    def start(self, *, kind: str, school_id: str, user: str, arguments: dict[str, Any],
              playbook_commit: str, pid: int, pid_started: int | None, artifacts: str) -> int:
        """Record a run as running; its id."""
        with writing(self._db):
            cursor = self._db.conn.execute(
                "INSERT INTO runs (kind, school_id, started_at, status, started_by, arguments, "
                "playbook_commit, pid, pid_started, artifacts) VALUES (?, ?, ?, ?, ?, "
                "?, ?, ?, ?, ?)",
                (kind, school_id, _now(), RunStatus.RUNNING.value, user,
                 json.dumps(arguments, sort_keys=True), playbook_commit, pid, pid_started,
                 artifacts),
            )
        return int(cursor.lastrowid or 0)

    def finish(self, run_id: int, status: RunStatus, detail: str = "") -> None:
        """Close a run with its final status.

        When it was interrupted, its unfinished hosts become interrupted: those its play
        was working on make their devices `interrupted` too (`device_state_after`);
        those it never started on keep their devices' states.
        """
        status = RunStatus(status)
        if status not in RUN_ENDINGS:
            raise ValueError(f"run status '{status}' cannot end a provisioning run; "
                             f"use one of {', '.join(sorted(RUN_ENDINGS))}")
        with writing(self._db):
            self._db.conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, detail = ? WHERE id = ?",
                (status.value, _now(), detail, run_id),
            )
            if status in (RunStatus.INTERRUPTED, RunStatus.LOST):
                self._interrupt_hosts(run_id)

    def _interrupt_hosts(self, run_id: int) -> None:
        marks = ", ".join("?" for _ in UNFINISHED)
        rows = self._rows(f"SELECT host, status FROM host_results WHERE run_id = ? AND "
                          f"status IN ({marks})", [run_id, *UNFINISHED])
        self._db.conn.execute(
            f"UPDATE host_results SET status = ? WHERE run_id = ? AND status IN ({marks})",
            (HostStatus.INTERRUPTED.value, run_id, *UNFINISHED))
        check = self._is_check(run_id)
        for host, status in rows:
            if status == HostStatus.RUNNING:
                self._set_state(host, device_state_after(HostStatus.INTERRUPTED, check=check),
                                "the run stopped while its play was working on it; run it "
                                "again (--resume)", run_id)

    def _is_check(self, run_id: int) -> bool:
        rows = self._rows("SELECT arguments FROM runs WHERE id = ?", [run_id])
        return bool(rows) and bool(json.loads(rows[0][0] or "{}").get("check"))

    def set_artifacts(self, run_id: int, folder: str) -> None:
        """Record where the run keeps its ansible-runner artifacts."""
        with writing(self._db):
            self._db.conn.execute("UPDATE runs SET artifacts = ? WHERE id = ?", (folder, run_id))

    def save_hosts(self, run_id: int, hosts: Sequence[HostRun], *, check: bool = False) -> None:
        """Insert or replace the given hosts' results of a run, and move each device's
        rollout state as `outcome.device_state_after` says (one transaction).

        Args:
            run_id: the run.
            hosts: the hosts' results so far.
            check: the run is a --check run (then only blocked and unreachable are news).
        """
        columns = ", ".join(_HOST_COLUMNS)
        marks = ", ".join("?" for _ in _HOST_COLUMNS)
        with writing(self._db):
            self._db.conn.executemany(
                f"INSERT OR REPLACE INTO host_results (run_id, {columns}) VALUES (?, {marks})",
                [(run_id, *host_row(h)) for h in hosts],
            )
            for host in hosts:
                self._set_state(host.host, device_state_after(host.status, check=check),
                                host.message, run_id)

    def hosts(self, run_id: int) -> list[HostRun]:
        """A run's hosts, by name."""
        rows = self._rows(f"SELECT {', '.join(_HOST_COLUMNS)} FROM host_results "
                          "WHERE run_id = ? ORDER BY host", [run_id])
        return [host_of(row) for row in rows]

    def running(self, kind: str, school_id: str | None) -> list[tuple[int, int | None, int | None]]:
        """Runs of a school (of every school: None) recorded as running: (run id, pid, pid
        start time)."""
        where, params = ("AND school_id = ? ", [school_id]) if school_id is not None else ("", [])
        return [(int(r[0]), r[1], r[2]) for r in self._rows(
            f"SELECT id, pid, pid_started FROM runs WHERE kind = ? {where}AND status = ? "
            "ORDER BY id", [kind, *params, RunStatus.RUNNING])]

    def list(self, *, school_id: str | None = None, kind: str | None = None,
             limit: int = 20) -> list[RunSummary]:
        """The newest runs first, optionally of one school and kind."""
        sql, params = f"SELECT {_SUMMARY}, arguments FROM runs WHERE 1 = 1", []
        for column, value in (("school_id", school_id), ("kind", kind)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        rows = self._rows(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        return [summary_of(row) for row in rows]

    def played_since(self, kind: str, since: str) -> tuple[PlayedRun, ...]:
        """Runs of `kind` in apply mode still going at or after `since` (ISO, UTC), with
        the hosts their play reached, oldest first; one query for every school."""
        rows = self._rows(
            "SELECT r.id, r.started_at, r.finished_at, r.pid, r.pid_started, h.host "
            "FROM runs r JOIN host_results h ON h.run_id = r.id WHERE r.kind = ? AND "
            "(r.finished_at IS NULL OR r.finished_at >= ?) AND "
            f"coalesce(json_extract(r.arguments, '$.check'), 0) = 0 AND {_PLAYED_HOST} "
            "ORDER BY r.id, h.host", [kind, since, *_PLAYED_PARAMS])
        heads: dict[int, tuple[str, str | None, int | None, int | None]] = {}
        hosts: dict[int, set[str]] = {}
        for run_id, started_at, finished_at, pid, pid_started, host in rows:
            heads.setdefault(run_id, (started_at, finished_at, pid, pid_started))
            hosts.setdefault(run_id, set()).add(host)
        return tuple(PlayedRun(run_id, *head, frozenset(hosts[run_id]))
                     for run_id, head in heads.items())

    def last(self, kind: str, school_id: str) -> RunRecord | None:
        """The newest finished run of a kind for a school."""
        rows = self._rows("SELECT id FROM runs WHERE kind = ? AND school_id = ? AND status != "
                          "? ORDER BY id DESC LIMIT 1", [kind, school_id, RunStatus.RUNNING])
        return self.get(int(rows[0][0])) if rows else None

    def get(self, run_id: int) -> RunRecord:
        """One run with its hosts.

        Raises:
            NotFoundError: no run has that id.
        """
        rows = self._rows(f"SELECT {_SUMMARY}, arguments, playbook_commit, pid, artifacts, "
                          "detail FROM runs WHERE id = ?", [run_id])
        if not rows:
            raise NotFoundError(f"no run {run_id}: list the runs with 'provision runs'")
        row = rows[0]
        return RunRecord(summary_of(row), json.loads(row[7] or "{}"), row[8], row[9],
                         row[10], row[11], tuple(self.hosts(run_id)))

    def verified_last(self, school_id: str, names: Sequence[str], before_run: int) -> set[str]:
        """Those of `names` whose latest row in the school's runs before `before_run`
        is `verified` (a host the run never reached, or that failed, is left out)."""
        if not names:
            return set()
        marks = ", ".join("?" * len(names))
        rows = self._rows(
            "SELECT h.host, h.status FROM host_results h JOIN runs r ON r.id = h.run_id "
            "WHERE r.school_id = ? AND r.kind = ? AND h.run_id < ? "
            f"AND h.host IN ({marks}) ORDER BY h.run_id",
            [school_id, _PROVISION_KIND, before_run, *names])
        latest = {str(host): str(status) for host, status in rows}
        return {host for host, status in latest.items() if status == HostStatus.VERIFIED}

    def set_device_state(self, name: str, state: DeviceState, detail: str = "",
                         run_id: int | None = None) -> bool:
        """Move a device's rollout state and keep the change in its history.

        Returns:
            Whether the device is synced (a device not in the `devices` table has no
            state to move: provisioning syncs a school's devices before its run).
        """
        with writing(self._db):
            return self._set_state(name, state, detail, run_id)

    def _set_state(self, name: str, state: DeviceState | None, detail: str,
                   run_id: int | None) -> bool:
        if state is None:
            return False
        word, stamp = DeviceState(state).value, _now()  # ValueError for a word not a state
        cursor = self._db.conn.execute(
            "UPDATE devices SET state = ?, state_at = ?, state_detail = ? WHERE name = ?",
            (word, stamp, detail, name))
        if not cursor.rowcount:
            return False
        self._db.conn.execute(
            "INSERT INTO device_states (device, state, at, detail, run_id) "
            "VALUES (?, ?, ?, ?, ?)", (name, word, stamp, detail, run_id))
        return True
