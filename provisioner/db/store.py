"""The state database's typed interface: every query the rest of the tool needs."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from provisioner.db.connection import connect, schema_steps, translate_errors, writing
from provisioner.db.health import HealthLog
from provisioner.db.runs import RunLog, summary_of
from provisioner.errors import DatabaseError, UnknownSchoolError
from provisioner.models import (
    AuditEntry,
    Device,
    DeviceRollout,
    ExportSnapshot,
    FundingStatus,
    HealthSample,
    Measure,
    PlanItem,
    PlanVersion,
    ProgressEntry,
    Role,
    RunSummary,
    School,
)
from provisioner.outcome import DeviceState

# Insert a device, or update one that stays: never its rollout state (runs set it).
_UPSERT_DEVICE = (
    "INSERT INTO devices (name, school_id, role, platform, address, serial, room, uplink_host, "
    "uplink_port, managed, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(name) DO UPDATE SET school_id = excluded.school_id, role = excluded.role, "
    "platform = excluded.platform, address = excluded.address, serial = excluded.serial, "
    "room = excluded.room, uplink_host = excluded.uplink_host, "
    "uplink_port = excluded.uplink_port, managed = excluded.managed, "
    "synced_at = excluded.synced_at"
)
# Each synced device with its newest state history entry up to a moment (parameters:
# the moment, the state of a device without history).
_STATES_UNTIL = """
    SELECT d.name, d.school_id, d.role, d.managed,
           COALESCE(h.state, ?2) AS state_then, h.at AS at_then, h.detail AS detail_then
    FROM devices d LEFT JOIN device_states h ON h.id = (
        SELECT s.id FROM device_states s WHERE s.device = d.name AND s.at <= ?1
        ORDER BY s.at DESC, s.id DESC LIMIT 1)"""
_ITEM_COLUMNS = (
    "school_id, measure, year, quantity, budget_cents, funding, funding_status, spent_cents"
)


def now() -> str:
    """The current time as the database stores it (UTC, ISO 8601, seconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def to_cents(amount: Decimal | None) -> int | None:
    """EUR as whole cents (half up), None stays None."""
    if amount is None:
        return None
    return int((amount * 100).quantize(Decimal("1"), rounding="ROUND_HALF_UP"))


def from_cents(cents: int | None) -> Decimal | None:
    """Whole cents back to EUR."""
    return None if cents is None else Decimal(cents) / 100


def _device_row(device: Device, stamp: str) -> tuple[Any, ...]:
    return (device.name, device.school_id, device.role.value, device.platform, device.address,
            device.serial, device.room, device.uplink_host, device.uplink_port,
            int(device.managed), stamp)


def _item_row(version_id: int, item: PlanItem) -> tuple[Any, ...]:
    status = item.funding_status.value if item.funding_status else None
    return (version_id, item.school_id, item.measure.value, item.year, item.quantity,
            to_cents(item.budget_eur), item.funding, status, to_cents(item.spent_eur))


def _item_from_row(row: Sequence[Any]) -> PlanItem:
    school_id, measure, year, quantity, budget, funding, status, spent = row
    return PlanItem(
        school_id=school_id, measure=Measure(measure), year=year, quantity=quantity,
        budget_eur=from_cents(budget) or Decimal(0), funding=funding,
        funding_status=FundingStatus(status) if status else None, spent_eur=from_cents(spent),
    )


@translate_errors
class Store:
    """The state database. Opened once by the composition root and passed on.

    Every method turns sqlite3's errors (a locked, read-only or damaged file) into a
    one-line `DatabaseError` naming the file and what to do.
    """

    def __init__(self, db: Database, path: Path) -> None:
        self._db = db
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open and migrate the database at `path` (see `connect`)."""
        return cls(connect(path), path)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @property
    def health(self) -> HealthLog:
        """Health check runs, samples and daily summaries (m007)."""
        return HealthLog(self._db, self.path)

    @property
    def runs(self) -> RunLog:
        """Provisioning runs and their per-host results."""
        return RunLog(self._db, self.path)

    def schema_steps(self) -> list[str]:
        """Applied migrations, oldest first."""
        return schema_steps(self._db)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, list(params)).fetchall())

    # -- plan ------------------------------------------------------------------

    def save_plan(
        self, schools: Iterable[School], items: Sequence[PlanItem], *, source: str,
        sha256: str, user: str,
    ) -> PlanVersion:
        """Store an imported plan as a new version, all or nothing.

        Raises:
            DatabaseError: the database refused the plan (a value against its rules,
                which the plan checks should have caught) or cannot be written (locked,
                disk full, read-only); nothing was written.
        """
        conn = self._db.conn
        stamp = now()
        try:
            with writing(self._db):
                version_id = self._write_plan(conn, schools, items, (stamp, user, source, sha256))
        except sqlite3.IntegrityError as exc:
            raise DatabaseError(
                f"the database refused plan {source} ({exc}); nothing was written: check the "
                "file with 'provision plan import FILE --dry-run' and report this as a bug if "
                "it shows no problem") from exc
        except sqlite3.OperationalError as exc:
            raise DatabaseError(
                f"plan {source} could not be written to {self.path} ({exc}); nothing was "
                "written: check free disk space and write permission, or wait for the other "
                "command using the database to finish") from exc
        return PlanVersion(version_id, stamp, user, source, sha256, len(items))

    @staticmethod
    def _write_plan(conn: sqlite3.Connection, schools: Iterable[School],
                    items: Sequence[PlanItem], version: tuple[str, str, str, str]) -> int:
        """The inserts of `save_plan` (inside its transaction); the new version's id."""
        conn.executemany(
            "INSERT INTO schools (school_id, name, school_type) VALUES (?, ?, ?) "
            "ON CONFLICT(school_id) DO UPDATE SET name = excluded.name, "
            "school_type = excluded.school_type",
            [(s.school_id, s.name, s.school_type) for s in schools],
        )
        cursor = conn.execute(
            "INSERT INTO plan_versions (imported_at, imported_by, source, sha256, item_count)"
            " VALUES (?, ?, ?, ?, ?)", (*version, len(items)),
        )
        version_id = int(cursor.lastrowid or 0)
        conn.executemany(
            f"INSERT INTO plan_items (version_id, {_ITEM_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_item_row(version_id, item) for item in items],
        )
        return version_id

    def plan_school_ids(self, version_id: int | None = None) -> set[str]:
        """The schools with items in a plan version (default: the one in force)."""
        if version_id is None:
            latest = self.latest_version()
            if latest is None:
                return set()
            version_id = latest.version_id
        return {row[0] for row in self._rows(
            "SELECT DISTINCT school_id FROM plan_items WHERE version_id = ?", [version_id])}

    def plan_versions(self) -> list[PlanVersion]:
        """All plan versions, oldest first."""
        rows = self._rows(
            "SELECT id, imported_at, imported_by, source, sha256, item_count "
            "FROM plan_versions ORDER BY id"
        )
        return [PlanVersion(*row) for row in rows]

    def latest_version(self) -> PlanVersion | None:
        """The plan version in force (the last import), if any."""
        versions = self.plan_versions()
        return versions[-1] if versions else None

    def plan_items(
        self, version_id: int | None = None, *, school_id: str | None = None,
        year: int | None = None,
    ) -> list[PlanItem]:
        """Plan items of a version (default: the latest), optionally filtered."""
        if version_id is None:
            latest = self.latest_version()
            if latest is None:
                return []
            version_id = latest.version_id
        sql = f"SELECT {_ITEM_COLUMNS} FROM plan_items WHERE version_id = ?"
        params: list[Any] = [version_id]
        if school_id is not None:
            sql += " AND school_id = ?"
            params.append(school_id)
        if year is not None:
            sql += " AND year = ?"
            params.append(year)
        sql += " ORDER BY school_id, year, measure"
        return [_item_from_row(row) for row in self._rows(sql, params)]

    # -- schools -----------------------------------------------------------------

    def schools(self) -> list[School]:
        """Every school known from a plan, by id."""
        rows = self._rows("SELECT school_id, name, school_type FROM schools ORDER BY school_id")
        return [School(*row) for row in rows]

    def school(self, school_id: str) -> School:
        """One school by id.

        Raises:
            UnknownSchoolError: no plan named that school.
        """
        rows = self._rows(
            "SELECT school_id, name, school_type FROM schools WHERE school_id = ?", [school_id]
        )
        if not rows:
            raise UnknownSchoolError(school_id)
        return School(*rows[0])

    # -- devices -------------------------------------------------------------------

    def replace_devices(self, school_ids: Iterable[str], devices: Sequence[Device]) -> None:
        """Make the devices of `school_ids` exactly `devices`, in one transaction.

        An upsert, not delete-and-insert: a device that stays keeps its rollout state
        (`state`, `state_at`, `state_detail`, set by runs); devices no longer inventoried
        are removed; new ones start as planned.

        Raises:
            DatabaseError: an address is still held by a device of a school not synced
                now (nothing was written).
        """
        ids = list(school_ids)
        keep = {d.name for d in devices}
        stamp = now()
        conn = self._db.conn
        try:
            with writing(self._db):
                gone = [(name,) for name, school in conn.execute(
                    "SELECT name, school_id FROM devices") if school in ids and name not in keep]
                conn.executemany("DELETE FROM devices WHERE name = ?", gone)
                # A name used again later is another device: it starts without history.
                conn.executemany("DELETE FROM device_states WHERE device = ?", gone)
                # Addresses may move between devices in one sync (a swap): park the
                # staying devices' addresses first, as UNIQUE is checked row by row.
                conn.executemany("UPDATE devices SET address = 'moving:' || name WHERE name = ?",
                                 [(name,) for name in keep])
                conn.executemany(_UPSERT_DEVICE, [_device_row(d, stamp) for d in devices])
        except sqlite3.IntegrityError as exc:
            raise DatabaseError(self._address_clash(devices) or f"devices cannot be stored "
                                f"({exc}); run 'provision inventory check'") from exc

    def _address_clash(self, devices: Sequence[Device]) -> str | None:
        for device in devices:
            rows = self._rows("SELECT name, school_id FROM devices WHERE address = ? AND "
                              "name != ?", [device.address, device.name])
            if rows:
                name, school = rows[0]
                return (f"address {device.address} of host {device.name!r} is held in the "
                        f"database by host {name!r} of school {school}, which was not synced "
                        "now; sync all schools ('provision inventory sync') so it is removed")
        return None

    def devices(self, school_id: str | None = None) -> list[Device]:
        """Synced devices with uplink, managed flag and rollout state (with why and when),
        by school and name."""
        sql = ("SELECT school_id, name, role, platform, address, serial, room, uplink_host, "
               "uplink_port, managed, state, state_detail, state_at FROM devices")
        params: list[Any] = []
        if school_id is not None:
            sql += " WHERE school_id = ?"
            params.append(school_id)
        rows = self._rows(sql + " ORDER BY school_id, name", params)
        return [Device(s, n, Role(r), p, a, serial, room, uplink_host=up, uplink_port=port,
                       managed=bool(managed), state=DeviceState(state), state_detail=detail,
                       state_at=at)
                for s, n, r, p, a, serial, room, up, port, managed, state, detail, at in rows]

    def device_schools(self) -> list[str]:
        """The ids of the schools with synced devices, ascending."""
        return [row[0] for row in self._rows(
            "SELECT DISTINCT school_id FROM devices ORDER BY school_id")]

    # -- runs and health ---------------------------------------------------------------

    def latest_run(self, school_id: str) -> RunSummary | None:
        """The most recent run for a school, if any."""
        rows = self._rows(
            "SELECT id, kind, school_id, started_at, finished_at, status, started_by, "
            "arguments FROM runs WHERE school_id = ? ORDER BY started_at DESC, id DESC LIMIT 1",
            [school_id],
        )
        return summary_of(rows[0]) if rows else None

    def latest_health(self, school_id: str) -> list[HealthSample]:
        """The newest health sample of each device of a school."""
        rows = self._rows(
            "SELECT device, school_id, MAX(sampled_at), state, detail FROM health_samples "
            "WHERE school_id = ? GROUP BY device ORDER BY device", [school_id],
        )
        return [HealthSample(*row) for row in rows]

    # -- audit ------------------------------------------------------------------------

    def audit(self, user: str, command: str, outcome: str, detail: str = "") -> None:
        """Append one line to the audit log (never secrets: callers pass references)."""
        with writing(self._db):
            self._db.conn.execute(
                "INSERT INTO audit_log (at, user, command, outcome, detail) VALUES (?, ?, ?, ?, ?)",
                (now(), user, command, outcome, detail),
            )

    def audit_entries(self, limit: int = 50) -> list[AuditEntry]:
        """The newest audit log lines, newest first."""
        rows = self._rows(
            "SELECT id, at, user, command, outcome, detail FROM audit_log ORDER BY id DESC "
            "LIMIT ?", [limit],
        )
        return [AuditEntry(*row) for row in rows]

    # -- committee report: progress, rollout and health as of a moment, snapshots ------------

    def plan_version_at(self, moment: str) -> PlanVersion | None:
        """The plan version in force at `moment` (ISO time, UTC): the last import until then."""
        rows = self._rows(
            "SELECT id, imported_at, imported_by, source, sha256, item_count FROM plan_versions "
            "WHERE imported_at <= ? ORDER BY id DESC LIMIT 1", [moment],
        )
        return PlanVersion(*rows[0]) if rows else None

    def record_progress(self, entry: ProgressEntry) -> ProgressEntry:
        """Append progress for a plan item; the newest line per item is what counts."""
        stamp = entry.recorded_at or now()
        with writing(self._db):
            self._db.conn.execute(
                "INSERT INTO plan_progress (school_id, measure, year, done, unit, note, "
                "recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.school_id, entry.measure.value, entry.year, entry.done, entry.unit,
                 entry.note, stamp, entry.recorded_by),
            )
        return ProgressEntry(entry.school_id, entry.measure, entry.year, entry.done, entry.unit,
                             entry.note, stamp, entry.recorded_by)

    def progress(self, until: str | None = None, *,
                 school_id: str | None = None) -> list[ProgressEntry]:
        """The newest recorded progress per school x measure x year, up to `until` (ISO)."""
        sql = ("SELECT school_id, measure, year, done, unit, note, recorded_at, recorded_by, "
               "MAX(id) FROM plan_progress WHERE recorded_at <= ?")
        params: list[Any] = [until or "9999"]
        if school_id is not None:
            sql += " AND school_id = ?"
            params.append(school_id)
        rows = self._rows(sql + " GROUP BY school_id, measure, year ORDER BY school_id, year, "
                          "measure", params)
        return [ProgressEntry(s, Measure(m), y, d, u, n, at, by)
                for s, m, y, d, u, n, at, by, _ in rows]

    def rollout_counts_until(self, until: str) -> list[tuple[str, str, DeviceState, int]]:
        """Synced devices per (school id, role, rollout state as of `until`), with counts.

        The state as of `until` is the newest entry of the device's state history up to
        then (m009), or planned when no run had set one. Devices not managed over SSH
        (SNMP only) stay planned; they count in the totals and in health.
        """
        rows = self._rows(
            f"SELECT school_id, role, state_then, COUNT(*) FROM ({_STATES_UNTIL}) "
            "GROUP BY school_id, role, state_then", [until, DeviceState.PLANNED])
        return [(school, role, DeviceState(state), count) for school, role, state, count in rows]

    def device_states_until(self, until: str) -> list[DeviceRollout]:
        """Every synced device with its rollout state, when it was set and why, as of
        `until` (the newest history entry up to then; planned with no time if none)."""
        rows = self._rows(
            f"SELECT name, school_id, role, state_then, at_then, managed, detail_then "
            f"FROM ({_STATES_UNTIL}) ORDER BY school_id, name", [until, DeviceState.PLANNED])
        return [DeviceRollout(n, s, Role(r), DeviceState(st), at, bool(m), detail or "")
                for n, s, r, st, at, m, detail in rows]

    def dead_sites_until(self, until: str) -> dict[str, bool]:
        """School id -> whether the newest health run up to `until` that checked it found it dead.

        Schools whose samples carry no health run (older samples) are left out.
        """
        latest = self._rows(
            "SELECT school_id, MAX(run_id) FROM health_samples WHERE sampled_at <= ? AND "
            "run_id IS NOT NULL GROUP BY school_id", [until],
        )
        run_ids = sorted({run_id for _, run_id in latest})
        dead: dict[int, set[str]] = {}
        for run_id in run_ids:
            rows = self._rows("SELECT dead_sites FROM health_runs WHERE id = ?", [run_id])
            dead[run_id] = set(json.loads(rows[0][0])) if rows else set()
        return {school: school in dead[run_id] for school, run_id in latest}

    def health_counts_until(self, until: str) -> list[tuple[str, str, int]]:
        """Synced devices per (school id, state of their newest health sample up to `until`)."""
        rows = self._rows(
            "SELECT latest.school_id, latest.state, COUNT(*) FROM (SELECT device, school_id, "
            "state, MAX(sampled_at) FROM health_samples WHERE sampled_at <= ? GROUP BY device) "
            "latest JOIN devices d ON d.name = latest.device "
            "GROUP BY latest.school_id, latest.state", [until],
        )
        return [(school, state, count) for school, state, count in rows]

    def device_rollout(self) -> list[DeviceRollout]:
        """Every synced device with its rollout state, when it was set and why."""
        rows = self._rows("SELECT name, school_id, role, state, state_at, managed, "
                          "state_detail FROM devices ORDER BY school_id, name")
        return [DeviceRollout(n, s, Role(r), DeviceState(st), at, bool(m), detail)
                for n, s, r, st, at, m, detail in rows]

    def save_snapshot(self, *, user: str, as_of: str, format: str, scope: str,
                      figures: str) -> ExportSnapshot:
        """Keep one export's figures (JSON text) for later comparisons."""
        stamp = now()
        with writing(self._db):
            cursor = self._db.conn.execute(
                "INSERT INTO export_snapshots (created_at, created_by, as_of, format, scope, "
                "figures) VALUES (?, ?, ?, ?, ?, ?)", (stamp, user, as_of, format, scope, figures),
            )
        return ExportSnapshot(int(cursor.lastrowid or 0), stamp, user, as_of, format, scope,
                              figures)

    def snapshot_until(self, until: str | None = None) -> ExportSnapshot | None:
        """The newest export snapshot made up to `until` (ISO; default: the newest of all)."""
        rows = self._rows(
            "SELECT id, created_at, created_by, as_of, format, scope, figures FROM "
            "export_snapshots WHERE created_at <= ? ORDER BY id DESC LIMIT 1", [until or "9999"],
        )
        return ExportSnapshot(*rows[0]) if rows else None

