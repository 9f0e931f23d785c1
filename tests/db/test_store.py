from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from provisioner.db import Store
from provisioner.db.migrations import migrations
from provisioner.errors import DatabaseError, UnknownSchoolError
from provisioner.models import Device, FundingStatus, Measure, PlanItem, Role, School

SCHOOL = School("100001", "Grundschule Am Park", "Grundschule")


def item(measure: Measure = Measure.WLAN, year: int = 2021, budget: str = "949500.00",
         **kw: object) -> PlanItem:
    return PlanItem("100001", measure, year, kw.pop("quantity", 45),  # type: ignore[arg-type]
                    Decimal(budget), "DigitalPakt Schule", FundingStatus.APPROVED, **kw)  # type: ignore[arg-type]


def test_new_database_is_migrated_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    steps = store.schema_steps()
    # Every registered migration applied, in order, starting with the first schema.
    assert steps == [m.name for m in migrations._migrations]
    assert steps[:4] == ["m001_schools_and_plan", "m002_devices", "m003_runs_and_health",
                         "m004_audit_log"]
    conn = sqlite3.connect(tmp_path / "state.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_reopen_does_not_reapply(tmp_path: Path) -> None:
    Store.open(tmp_path / "state.db").close()
    store = Store.open(tmp_path / "state.db")
    assert len(store.schema_steps()) == len(migrations._migrations)


def test_newer_database_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path / "state.db").close()
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                 "VALUES ('provisioner', 'm999_from_the_future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match=r"newer provisioner .*m999_from_the_future"):
        Store.open(tmp_path / "state.db")


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_text("this is a spreadsheet, not a database" * 100)
    with pytest.raises(DatabaseError, match=r"is damaged \(file is not a database\); restore "
                       "it from a backup"):
        Store.open(path)


def test_money_is_exact_in_cents(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    store.save_plan([SCHOOL], [item(budget="0.10"), item(Measure.CABLING, budget="0.20")],
                    source="p.csv", sha256="x", user="t")
    total = sum((i.budget_eur for i in store.plan_items()), Decimal(0))
    assert total == Decimal("0.30")


def test_every_import_is_a_version_and_latest_is_in_force(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    store.save_plan([SCHOOL], [item()], source="v1.csv", sha256="a", user="t")
    store.save_plan([SCHOOL], [item(budget="1000")], source="v2.csv", sha256="b", user="t")
    assert [v.source for v in store.plan_versions()] == ["v1.csv", "v2.csv"]
    assert [i.budget_eur for i in store.plan_items()] == [Decimal("1000")]
    assert [i.budget_eur for i in store.plan_items(1)] == [Decimal("949500")]


def test_failed_save_writes_nothing(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    bad = [item(), item(Measure.CABLING, budget="-5")]  # violates the CHECK constraint
    with pytest.raises(DatabaseError) as caught:
        store.save_plan([SCHOOL], bad, source="bad.csv", sha256="x", user="t")
    assert str(caught.value).startswith("the database refused plan bad.csv (CHECK constraint "
                                        "failed: ")
    assert "nothing was written: check the file with 'provision plan import FILE --dry-run'" \
        in str(caught.value)
    assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)
    assert store.plan_versions() == []
    assert store.schools() == []


def test_unknown_school(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    with pytest.raises(UnknownSchoolError, match=r"unknown school .999999.*provision schools"):
        store.school("999999")


def test_replace_devices_is_per_school(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    a = Device("100001", "a-sw01", Role.SWITCH, "cisco_ios", "10.1.0.2")
    b = Device("100002", "b-sw01", Role.SWITCH, "cisco_ios", "10.2.0.2")
    store.replace_devices(["100001", "100002"], [a, b])
    store.replace_devices(["100001"], [])
    assert [d.name for d in store.devices()] == ["b-sw01"]


def test_audit_log_is_append_only(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    store.audit("anna", "plan import p.csv", "ok")
    conn = sqlite3.connect(tmp_path / "state.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit_log")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit_log SET user = 'eve'")
    assert [(e.user, e.command) for e in store.audit_entries()] == [("anna", "plan import p.csv")]


def test_wlan_controllers_are_stored_and_other_roles_still_refused(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    controller = Device("100001", "100001-vc01", Role.WLAN_CONTROLLER, "aruba_instant",
                        "10.1.0.30", state="planned")
    store.replace_devices(["100001"], [controller])
    assert [(d.name, d.role) for d in store.devices()] == [("100001-vc01",
                                                            Role.WLAN_CONTROLLER)]
    conn = sqlite3.connect(tmp_path / "state.db")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("UPDATE devices SET role = 'printer'")
    # The rebuilt table kept its index and every column of the earlier migrations.
    indexes = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                          "'index' AND tbl_name = 'devices'")]
    assert "devices_school" in indexes
    assert "managed" in [r[1] for r in conn.execute("PRAGMA table_info(devices)")]


def test_wlan_role_migration_keeps_devices_synced_before_it(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store.open(path)
    store.replace_devices(["100001"], [Device("100001", "a-sw01", Role.SWITCH, "cisco_ios",
                                              "10.1.0.2")])
    store.close()
    conn = sqlite3.connect(path)
    # Back to the schema before m010: the old CHECK, m010 not applied.
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'devices'").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'devices'",
                 [sql.replace(", 'wlan_controller'", "")])
    conn.execute("PRAGMA writable_schema = OFF")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm010_wlan_controller_role'")
    conn.commit()
    conn.close()
    store = Store.open(path)
    assert [d.name for d in store.devices()] == ["a-sw01"]
    store.replace_devices(["100001"], [Device("100001", "a-vc01", Role.WLAN_CONTROLLER,
                                              "aruba_instant", "10.1.0.3")])
    assert [d.role for d in store.devices()] == [Role.WLAN_CONTROLLER]
