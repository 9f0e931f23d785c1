"""Provisioning runs and their per-host results (tables `runs`, `host_results`; m003 + m006)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlite_utils import Database

from provisioner.errors import NotFoundError
from provisioner.models import HostRun, RunRecord, RunSummary

# lost: the execution node running it stopped answering mid-run (never re-run by itself).
RUN_STATUSES = ("running", "ok", "failed", "interrupted", "blocked", "lost")
DEVICE_STATES = ("planned", "provisioned", "verified", "failed", "unreachable")
_HOST_COLUMNS = tuple(f.name for f in fields(HostRun))
_SUMMARY = "id, kind, school_id, started_at, finished_at, status, started_by"
# A host the play reached: past preflight, and not lost to the run as unreachable.
_PLAYED_HOST = "h.phase != 'preflight' AND h.status != 'unreachable'"


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
    return RunSummary(run_id, kind, school_id, started_at, finished_at, status, by, mode,
                      partial, scope)


def _now() -> str:
    # As store.now(): UTC, ISO 8601, seconds (store imports this module, not the reverse).
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class RunLog:
    """Read and write provisioning runs. Reached as `Store.runs`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, list(params)).fetchall())

    def start(self, *, kind: str, school_id: str, user: str, arguments: dict[str, Any],
              playbook_commit: str, pid: int, pid_started: int | None, artifacts: str) -> int:
        """Record a run as running; its id."""
        with self._db.atomic():
            cursor = self._db.conn.execute(
                "INSERT INTO runs (kind, school_id, started_at, status, started_by, arguments, "
                "playbook_commit, pid, pid_started, artifacts) VALUES (?, ?, ?, 'running', ?, "
                "?, ?, ?, ?, ?)",
                (kind, school_id, _now(), user, json.dumps(arguments, sort_keys=True),
                 playbook_commit, pid, pid_started, artifacts),
            )
        return int(cursor.lastrowid or 0)

    def finish(self, run_id: int, status: str, detail: str = "") -> None:
        """Close a run with its final status; hosts still unfinished become interrupted
        when the run was interrupted."""
        if status not in RUN_STATUSES:
            raise ValueError(f"run status {status!r} is not one of {RUN_STATUSES}")
        with self._db.atomic():
            self._db.conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, detail = ? WHERE id = ?",
                (status, _now(), detail, run_id),
            )
            if status in ("interrupted", "lost"):
                self._db.conn.execute(
                    "UPDATE host_results SET status = 'interrupted' WHERE run_id = ? AND "
                    "status IN ('pending', 'running')", (run_id,),
                )

    def set_artifacts(self, run_id: int, folder: str) -> None:
        """Record where the run keeps its ansible-runner artifacts."""
        with self._db.atomic():
            self._db.conn.execute("UPDATE runs SET artifacts = ? WHERE id = ?", (folder, run_id))

    def save_hosts(self, run_id: int, hosts: Sequence[HostRun]) -> None:
        """Insert or replace the given hosts' results of a run."""
        columns = ", ".join(_HOST_COLUMNS)
        marks = ", ".join("?" for _ in _HOST_COLUMNS)
        with self._db.atomic():
            self._db.conn.executemany(
                f"INSERT OR REPLACE INTO host_results (run_id, {columns}) VALUES (?, {marks})",
                [(run_id, *(getattr(h, c) for c in _HOST_COLUMNS)) for h in hosts],
            )

    def hosts(self, run_id: int) -> list[HostRun]:
        """A run's hosts, by name."""
        rows = self._rows(f"SELECT {', '.join(_HOST_COLUMNS)} FROM host_results "
                          "WHERE run_id = ? ORDER BY host", [run_id])
        return [HostRun(*row) for row in rows]

    def running(self, kind: str, school_id: str) -> list[tuple[int, int | None, int | None]]:
        """Runs of a school recorded as running: (run id, pid, pid start time)."""
        return [(int(r[0]), r[1], r[2]) for r in self._rows(
            "SELECT id, pid, pid_started FROM runs WHERE kind = ? AND school_id = ? AND "
            "status = 'running' ORDER BY id", [kind, school_id])]

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
            "ORDER BY r.id, h.host", [kind, since])
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
                          "'running' ORDER BY id DESC LIMIT 1", [kind, school_id])
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
            "WHERE r.school_id = ? AND r.kind = 'provision' AND h.run_id < ? "
            f"AND h.host IN ({marks}) ORDER BY h.run_id",
            [school_id, before_run, *names])
        latest = {str(host): str(status) for host, status in rows}
        return {host for host, status in latest.items() if status == "verified"}

    def set_device_state(self, name: str, state: str, detail: str = "") -> None:
        """Move a device's rollout state (devices not synced yet are left alone)."""
        if state not in DEVICE_STATES:
            raise ValueError(f"device state {state!r} is not one of {DEVICE_STATES}")
        with self._db.atomic():
            self._db.conn.execute(
                "UPDATE devices SET state = ?, state_at = ?, state_detail = ? WHERE name = ?",
                (state, _now(), detail, name),
            )
