"""Numbered schema migrations, each applied in its own transaction.

Money is stored as whole cents (INTEGER) so sums are exact; SQLite's REAL would
round a city's 949.500,00 EUR budget lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from provisioner.outcome import (
    DeviceState,
    HealthState,
    HostStatus,
    Phase,
    RunStatus,
    device_state_after,
)

MIGRATION_SET = "provisioner"
migrations = Migrations(MIGRATION_SET)
# The kind of run `provision school` records (provisioner.provision.locks.KIND).
_PROVISION_KIND = "provision"


def _sql(word: str) -> str:
    """A word of the outcome vocabulary as an SQL literal (DDL takes no parameters)."""
    return "'" + word.replace("'", "''") + "'"


def _sql_list(words: Iterable[str]) -> str:
    return ", ".join(_sql(w) for w in words)


@migrations()
def m001_schools_and_plan(db: Database) -> None:
    """Schools, plan versions (one per import) and their plan items."""
    db.execute(
        """
        CREATE TABLE schools (
            school_id TEXT PRIMARY KEY CHECK (length(school_id) = 6),
            name TEXT NOT NULL,
            school_type TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute(
        """
        CREATE TABLE plan_versions (
            id INTEGER PRIMARY KEY,
            imported_at TEXT NOT NULL,
            imported_by TEXT NOT NULL,
            source TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            item_count INTEGER NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE plan_items (
            version_id INTEGER NOT NULL REFERENCES plan_versions(id),
            school_id TEXT NOT NULL REFERENCES schools(school_id),
            measure TEXT NOT NULL,
            year INTEGER NOT NULL,
            quantity INTEGER,
            budget_cents INTEGER NOT NULL CHECK (budget_cents >= 0),
            funding TEXT NOT NULL DEFAULT '',
            funding_status TEXT,
            spent_cents INTEGER CHECK (spent_cents >= 0),
            PRIMARY KEY (version_id, school_id, measure, year)
        )"""
    )
    db.execute("CREATE INDEX plan_items_school ON plan_items(school_id, version_id)")


@migrations()
def m002_devices(db: Database) -> None:
    """Devices as the inventories describe them (synced, not edited here)."""
    db.execute(
        """
        CREATE TABLE devices (
            name TEXT PRIMARY KEY,
            school_id TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('server', 'switch', 'access_point')),
            platform TEXT NOT NULL,
            address TEXT NOT NULL UNIQUE,
            serial TEXT NOT NULL DEFAULT '',
            room TEXT NOT NULL DEFAULT '',
            synced_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX devices_school ON devices(school_id)")


@migrations()
def m003_runs_and_health(db: Database) -> None:
    """Provisioning runs with per-host results, and SNMP health samples."""
    db.execute(
        f"""
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            school_id TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL DEFAULT {_sql(RunStatus.RUNNING)},
            started_by TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute(
        """
        CREATE TABLE host_results (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            host TEXT NOT NULL,
            status TEXT NOT NULL,
            ok INTEGER NOT NULL DEFAULT 0,
            changed INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            unreachable INTEGER NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (run_id, host)
        )"""
    )
    db.execute(
        """
        CREATE TABLE health_samples (
            id INTEGER PRIMARY KEY,
            device TEXT NOT NULL,
            school_id TEXT NOT NULL,
            sampled_at TEXT NOT NULL,
            state TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            uptime_s INTEGER,
            rtt_ms REAL
        )"""
    )
    db.execute("CREATE INDEX health_device_time ON health_samples(device, sampled_at)")
    db.execute("CREATE INDEX runs_school ON runs(school_id, started_at)")


@migrations()
def m004_audit_log(db: Database) -> None:
    """An append-only audit log: triggers refuse updates and deletes."""
    db.execute(
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            user TEXT NOT NULL,
            command TEXT NOT NULL,
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        )"""
    )
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"""
            CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""
        )


@migrations()
def m005_device_state(db: Database) -> None:
    """Where each device stands in the rollout, its upstream, whether we manage it over SSH.

    `state`: planned -> provisioned -> verified, or failed / unreachable (set by
    provisioning runs; kept across inventory syncs). `uplink`: the inventory's
    upstream device (host name) and port, for dependency-aware health.
    """
    db.execute(
        f"ALTER TABLE devices ADD COLUMN state TEXT NOT NULL DEFAULT {_sql(DeviceState.PLANNED)} "
        f"CHECK (state IN ({_sql_list(DeviceState)}))"
    )
    db.execute("ALTER TABLE devices ADD COLUMN state_at TEXT")
    db.execute("ALTER TABLE devices ADD COLUMN state_detail TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE devices ADD COLUMN uplink_host TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE devices ADD COLUMN uplink_port TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE devices ADD COLUMN managed INTEGER NOT NULL DEFAULT 1")


@migrations()
def m008_progress_and_export_snapshots(db: Database) -> None:
    """Progress recorded by staff per plan item, and the figures of every committee export.

    `plan_progress` is append-only history (the newest line per school x measure x
    year up to a date is the progress as of that date): `unit` 'units' counts done
    pieces of the plan's quantity, 'percent' is a share for lump-sum items.
    `export_snapshots` keeps each export's figures as JSON for `export --since`.
    """
    db.execute(
        """
        CREATE TABLE plan_progress (
            id INTEGER PRIMARY KEY,
            school_id TEXT NOT NULL REFERENCES schools(school_id),
            measure TEXT NOT NULL,
            year INTEGER NOT NULL,
            done INTEGER NOT NULL CHECK (done >= 0),
            unit TEXT NOT NULL CHECK (unit IN ('units', 'percent')),
            note TEXT NOT NULL DEFAULT '',
            recorded_at TEXT NOT NULL,
            recorded_by TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX plan_progress_item ON plan_progress(school_id, measure, year, id)")
    db.execute(
        """
        CREATE TABLE export_snapshots (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            as_of TEXT NOT NULL,
            format TEXT NOT NULL,
            scope TEXT NOT NULL DEFAULT '',
            figures TEXT NOT NULL
        )"""
    )


@migrations()
def m006_provision_runs(db: Database) -> None:
    """Provisioning runs in full: arguments, playbook commit, owner process, per-host recap.

    `runs.status`: running, ok, failed, interrupted, blocked. `pid` and `pid_started`
    (the process start time in clock ticks since boot, /proc/PID/stat field 22) let the
    next start tell a run whose process died (kill -9) from one still going, also
    after the pid was reused. `host_results.status`: pending, skipped, blocked,
    running, provisioned, verified, failed, unreachable, interrupted; `phase` says how
    far the host got (preflight, play, verify, done).
    """
    for column in ("arguments TEXT NOT NULL DEFAULT '{}'",
                   "playbook_commit TEXT NOT NULL DEFAULT ''", "pid INTEGER",
                   "pid_started INTEGER", "artifacts TEXT NOT NULL DEFAULT ''"):
        db.execute(f"ALTER TABLE runs ADD COLUMN {column}")
    for column in ("role TEXT NOT NULL DEFAULT ''",
                   f"phase TEXT NOT NULL DEFAULT {_sql(Phase.PREFLIGHT)}",
                   "skipped INTEGER NOT NULL DEFAULT 0", "rescued INTEGER NOT NULL DEFAULT 0",
                   "ignored INTEGER NOT NULL DEFAULT 0", "failed_task TEXT NOT NULL DEFAULT ''",
                   "warnings TEXT NOT NULL DEFAULT ''", "duration_ms REAL NOT NULL DEFAULT 0"):
        db.execute(f"ALTER TABLE host_results ADD COLUMN {column}")
    db.execute("CREATE INDEX runs_status ON runs(kind, school_id, status)")


@migrations()
def m007_health(db: Database) -> None:
    """Health check runs, richer samples, and daily summaries for samples past retention.

    `health_samples` gains the run, the device's role, why it gave no answer (`failure`,
    a FailureKind or '') and a facts summary (`facts`, JSON: vendor, model, firmware,
    clients, port error counters; never credentials). `detail` holds the reasons in one
    line. `health_daily` keeps one row per device and day after its raw samples expire:
    how many samples were in each state, and the worst.
    """
    db.execute(
        f"""
        CREATE TABLE health_runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            started_by TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT {_sql(RunStatus.RUNNING)},
            scope TEXT NOT NULL DEFAULT '',
            deadline_s REAL,
            duration_s REAL,
            devices INTEGER NOT NULL DEFAULT 0,
            states TEXT NOT NULL DEFAULT '{{}}',
            dead_sites TEXT NOT NULL DEFAULT '[]',
            exit_status INTEGER
        )"""
    )
    for column in ("run_id INTEGER REFERENCES health_runs(id)",
                   "role TEXT NOT NULL DEFAULT ''", "failure TEXT NOT NULL DEFAULT ''",
                   "facts TEXT NOT NULL DEFAULT '{}'"):
        db.execute(f"ALTER TABLE health_samples ADD COLUMN {column}")
    db.execute("CREATE INDEX health_school_time ON health_samples(school_id, sampled_at)")
    db.execute("CREATE INDEX health_run ON health_samples(run_id)")
    db.execute(
        f"""
        CREATE TABLE health_daily (
            day TEXT NOT NULL,
            device TEXT NOT NULL,
            school_id TEXT NOT NULL,
            samples INTEGER NOT NULL DEFAULT 0,
            ok INTEGER NOT NULL DEFAULT 0,
            warning INTEGER NOT NULL DEFAULT 0,
            critical INTEGER NOT NULL DEFAULT 0,
            unreachable INTEGER NOT NULL DEFAULT 0,
            stale INTEGER NOT NULL DEFAULT 0,
            unknown INTEGER NOT NULL DEFAULT 0,
            worst TEXT NOT NULL DEFAULT {_sql(HealthState.OK)},
            min_uptime_s INTEGER,
            rtt_ms_sum REAL NOT NULL DEFAULT 0,
            rtt_count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, device)
        )"""
    )
    db.execute("CREATE INDEX health_daily_school ON health_daily(school_id, day)")


@migrations()
def m009_device_state_history(db: Database) -> None:
    """Every rollout state a device was put in, and the states `blocked` and `interrupted`.

    `device_states` keeps each change (device, state, when, why, by which run), so the
    committee report as of a past day reads the state then without mapping run results
    in SQL. `devices.state` gains `blocked` and `interrupted` (SQLite cannot widen a
    CHECK: the table is rebuilt). The history is filled from the runs recorded so far
    with `outcome.device_state_after`, and each device's state set to its newest entry,
    so a device an earlier run blocked is no longer shown as verified.
    """
    _rebuild_devices(db)
    db.execute(
        """
        CREATE TABLE device_states (
            id INTEGER PRIMARY KEY,
            device TEXT NOT NULL,
            state TEXT NOT NULL,
            at TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            run_id INTEGER
        )"""
    )
    db.execute("CREATE INDEX device_states_device_at ON device_states(device, at, id)")
    _fill_history(db)
    db.execute(
        """
        UPDATE devices SET (state, state_at, state_detail) = (
            SELECT s.state, s.at, s.detail FROM device_states s WHERE s.device = devices.name
            ORDER BY s.at DESC, s.id DESC LIMIT 1)
        WHERE name IN (SELECT device FROM device_states)"""
    )


_DEVICE_COLUMNS = ("name, school_id, role, platform, address, serial, room, synced_at, state, "
                   "state_at, state_detail, uplink_host, uplink_port, managed")


def _rebuild_devices(db: Database) -> None:
    db.execute(
        f"""
        CREATE TABLE devices_new (
            name TEXT PRIMARY KEY,
            school_id TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('server', 'switch', 'access_point')),
            platform TEXT NOT NULL,
            address TEXT NOT NULL UNIQUE,
            serial TEXT NOT NULL DEFAULT '',
            room TEXT NOT NULL DEFAULT '',
            synced_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT {_sql(DeviceState.PLANNED)}
                CHECK (state IN ({_sql_list(DeviceState)})),
            state_at TEXT,
            state_detail TEXT NOT NULL DEFAULT '',
            uplink_host TEXT NOT NULL DEFAULT '',
            uplink_port TEXT NOT NULL DEFAULT '',
            managed INTEGER NOT NULL DEFAULT 1
        )"""
    )
    db.execute(f"INSERT INTO devices_new ({_DEVICE_COLUMNS}) SELECT {_DEVICE_COLUMNS} "
               "FROM devices")
    db.execute("DROP TABLE devices")
    db.execute("ALTER TABLE devices_new RENAME TO devices")
    db.execute("CREATE INDEX devices_school ON devices(school_id)")


def _fill_history(db: Database) -> None:
    """History from the host results of earlier provisioning runs (at each run's end),
    and from devices whose state was set without a run result."""
    synced = {name for (name,) in db.execute("SELECT name FROM devices").fetchall()}
    rows = db.execute(
        "SELECT h.host, h.status, h.phase, h.message, r.id, "
        "COALESCE(r.finished_at, r.started_at), r.arguments FROM host_results h "
        "JOIN runs r ON r.id = h.run_id WHERE r.kind = ? ORDER BY r.id, h.host",
        [_PROVISION_KIND]).fetchall()
    history = []
    for host, status, phase, message, run_id, at, arguments in rows:
        if host not in synced or status not in set(HostStatus):
            continue
        # Earlier versions made unstarted hosts of a stopped run interrupted too.
        if status == HostStatus.INTERRUPTED and phase == Phase.PREFLIGHT:
            continue
        check = bool(json.loads(arguments or "{}").get("check"))
        state = device_state_after(HostStatus(status), check=check)
        if state is not None:
            history.append((host, state.value, at, message or "", run_id))
    db.conn.executemany("INSERT INTO device_states (device, state, at, detail, run_id) "
                        "VALUES (?, ?, ?, ?, ?)", history)
    db.execute(
        "INSERT INTO device_states (device, state, at, detail) SELECT name, state, state_at, "
        "state_detail FROM devices WHERE state_at IS NOT NULL AND name NOT IN "
        "(SELECT device FROM device_states)")


_ROLES_BEFORE_WLAN = "role IN ('server', 'switch', 'access_point')"
_ROLES_WITH_WLAN = "role IN ('server', 'switch', 'access_point', 'wlan_controller')"


@migrations()
def m010_wlan_controller_role(db: Database) -> None:
    """Devices may be WLAN controllers (role `wlan_controller`, inventory group
    `wlan_controllers`): the access points of a school belong to one.

    SQLite cannot change a CHECK constraint in place: the table is made anew from its own
    stored definition with only the role list widened (so columns added by any earlier
    migration stay), its rows copied over and its indexes made again (SQLite's
    "generalized ALTER TABLE procedure"). Nothing references `devices` by foreign key.
    """
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' "
                     "AND name = 'devices'").fetchone()[0]
    if _ROLES_BEFORE_WLAN not in sql:
        return
    indexes = [row[0] for row in db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'devices' "
        "AND sql IS NOT NULL")]
    # The stored name may be quoted (`"devices"`) once a table was renamed into place.
    new = re.sub(r'^CREATE TABLE\s+(["`]?)devices\1', "CREATE TABLE devices_new",
                 sql.replace(_ROLES_BEFORE_WLAN, _ROLES_WITH_WLAN), count=1)
    db.execute(new)
    db.execute("INSERT INTO devices_new SELECT * FROM devices")
    db.execute("DROP TABLE devices")
    db.execute("ALTER TABLE devices_new RENAME TO devices")
    for index in indexes:
        db.execute(index)
