"""`provision inventory check/sync` via the CLI: what is stored, kept and refused."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from provisioner.db import Store
from provisioner.errors import DatabaseError, ExitStatus
from provisioner.models import Device, Role
from tests.conftest import Invoke

CASES = Path(__file__).parent.parent / "data" / "inventories"


@pytest.fixture
def db(invoke: Invoke, cli_env: Path) -> Path:
    result = invoke("plan", "import", str(CASES / "plan.csv"))
    assert result.exit_code == 0, result.output
    return cli_env / "state.db"


def copy_case(case: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(CASES / case, tmp_path / "inv" / case))


def stored(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT name, school_id, role, platform, address, serial, room, uplink_host, uplink_port, "
        "managed, state, state_at, state_detail FROM devices ORDER BY name").fetchall()
    conn.close()
    return rows


def set_state(db: Path, name: str, state: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE devices SET state = ?, state_at = '2026-11-01T10:00:00+00:00', "
                 "state_detail = 'run 7' WHERE name = ?", (state, name))
    conn.commit()
    conn.close()


def test_sync_stores_uplinks_and_managed(invoke: Invoke, db: Path, tmp_path: Path) -> None:
    inv = copy_case("nested-children", tmp_path)
    result = invoke("--inventories", str(inv), "inventory", "sync")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "7 devices synced, 0 problems, 0 warnings"
    assert stored(db) == [
        ("t1-ap01", "100001", "access_point", "aruba_instant", "10.31.0.100", "", "", "t1-sw02",
         "Gi1/0/21", 1, "planned", None, ""),
        ("t1-ap02", "100001", "access_point", "aruba_instant", "10.31.0.101", "", "", "t1-sw02",
         "Gi1/0/22", 0, "planned", None, ""),
        ("t1-ap03", "100001", "access_point", "unifi", "10.31.0.102", "", "", "t1-sw03", "21", 1,
         "planned", None, ""),
        ("t1-srv01", "100001", "server", "debian", "10.31.0.10", "", "", "t1-sw01", "Gi1/0/1", 1,
         "planned", None, ""),
        ("t1-sw01", "100001", "switch", "cisco_ios", "10.31.0.20", "", "", "", "", 1, "planned",
         None, ""),
        ("t1-sw02", "100001", "switch", "cisco_ios", "10.31.0.21", "", "", "t1-sw01", "Gi1/0/47",
         1, "planned", None, ""),
        ("t1-sw03", "100001", "switch", "cisco_ios", "10.31.0.22", "", "", "t1-sw01", "", 1,
         "planned", None, ""),
    ]
    ap02 = next(d for d in Store.open(db).devices("100001") if d.name == "t1-ap02")
    assert (ap02.uplink_host, ap02.uplink_port, ap02.managed, ap02.state) == (
        "t1-sw02", "Gi1/0/22", False, "planned")


def test_resync_keeps_the_rollout_state_of_devices_that_stay(
    invoke: Invoke, db: Path, tmp_path: Path,
) -> None:
    inv = copy_case("nested-children", tmp_path)
    assert invoke("--inventories", str(inv), "inventory", "sync").exit_code == 0
    set_state(db, "t1-sw02", "verified")
    set_state(db, "t1-ap03", "failed")
    hosts = inv / "100001" / "hosts.yml"
    text = hosts.read_text()
    text = text.replace("        aps_haus_b:\n          hosts:\n            t1-ap03: "
                        "{ansible_host: 10.31.0.102, platform: unifi, uplink: {host: t1-sw03, "
                        "port: 21}}\n", "")  # t1-ap03 is taken out
    text = text.replace("t1-sw02: {ansible_host: 10.31.0.21, platform: cisco_ios",
                        "t1-sw02: {ansible_host: 10.31.0.21, platform: hp_procurve")
    hosts.write_text(text)
    result = invoke("--inventories", str(inv), "inventory", "sync")
    assert result.exit_code == 0, result.output
    rows = {row[0]: row for row in stored(db)}
    assert "t1-ap03" not in rows
    assert rows["t1-sw02"][3] == "hp_procurve"
    assert rows["t1-sw02"][10:] == ("verified", "2026-11-01T10:00:00+00:00", "run 7")
    assert rows["t1-sw01"][10:] == ("planned", None, "")


def test_refused_sync_writes_nothing(invoke: Invoke, db: Path, tmp_path: Path) -> None:
    inv = copy_case("nested-children", tmp_path)
    assert invoke("--inventories", str(inv), "inventory", "sync").exit_code == 0
    set_state(db, "t1-sw01", "provisioned")
    before = stored(db)
    hosts = inv / "100001" / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("uplink: t1-sw01}", "uplink: t1-sw09}")
                     .replace("platform: unifi", "platform: unifi, room: 1.10"))
    result = invoke("--inventories", str(inv), "inventory", "sync")
    assert result.exit_code == ExitStatus.INVALID_INPUT
    assert f"{hosts}: host 't1-sw03' has uplink 't1-sw09', which is not a host of school " \
           "100001's inventory; name the switch it hangs off" in result.output
    assert "warning: " in result.output  # the room 1.10 is told as well
    assert stored(db) == before


def test_addresses_swapped_between_two_devices(invoke: Invoke, db: Path, tmp_path: Path) -> None:
    inv = copy_case("nested-children", tmp_path)
    assert invoke("--inventories", str(inv), "inventory", "sync").exit_code == 0
    hosts = inv / "100001" / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("10.31.0.100", "10.31.0.XXX")
                     .replace("10.31.0.101", "10.31.0.100").replace("10.31.0.XXX", "10.31.0.101"))
    assert invoke("--inventories", str(inv), "inventory", "sync").exit_code == 0
    rows = {row[0]: row[4] for row in stored(db)}
    assert (rows["t1-ap01"], rows["t1-ap02"]) == ("10.31.0.101", "10.31.0.100")


def test_a_school_whose_hosts_are_all_gone_is_emptied(
    invoke: Invoke, db: Path, tmp_path: Path,
) -> None:
    inv = copy_case("nested-children", tmp_path)
    assert invoke("--inventories", str(inv), "inventory", "sync").exit_code == 0
    (inv / "100001" / "hosts.yml").write_text("all:\n  children:\n    switches:\n")
    result = invoke("--inventories", str(inv), "inventory", "sync")
    assert result.exit_code == 0, result.output
    assert stored(db) == []


def test_warnings_do_not_block_and_the_text_as_written_is_stored(
    invoke: Invoke, db: Path, tmp_path: Path,
) -> None:
    inv = copy_case("yaml-numbers", tmp_path)
    result = invoke("--json", "--inventories", str(inv), "inventory", "sync")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["ok"], out["hosts"], out["devices"], out["problems"]) == (True, 3, 3, [])
    assert len(out["warnings"]) == 5
    assert [(row[0], row[5], row[6]) for row in stored(db)] == [
        ("t11-ap01", "1_000", "2.0"), ("t11-sw01", "000123", "1.10"), ("t11-sw02", "0x1F", "12")]


def test_check_names_refused_hosts_beside_the_devices(invoke: Invoke, db: Path) -> None:
    result = invoke("--inventories", str(CASES / "two-roles"), "inventory", "check")
    assert result.exit_code == ExitStatus.INVALID_INPUT
    assert result.output.splitlines()[-1] == \
        "1 device checked of 2 hosts Ansible sees, 1 problem, 0 warnings"


def test_an_address_held_by_a_school_not_synced_is_a_clear_error(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    store.replace_devices(["100002"], [Device("100002", "old-sw01", Role.SWITCH, "cisco_ios",
                                              "10.9.0.1")])
    with pytest.raises(DatabaseError, match=r"address 10\.9\.0\.1 of host 'new-sw01' is held in "
                       r"the database by host 'old-sw01' of school 100002"):
        store.replace_devices(["100001"], [Device("100001", "new-sw01", Role.SWITCH,
                                                  "cisco_ios", "10.9.0.1")])
    assert [d.name for d in store.devices()] == ["old-sw01"]


def test_refused_sync_with_json_prints_the_report(invoke: Invoke, db: Path) -> None:
    result = invoke("--json", "--inventories", str(CASES / "uplink-cycle"), "inventory", "sync")
    assert result.exit_code == ExitStatus.INVALID_INPUT
    out = json.loads(result.output)
    assert (out["ok"], out["hosts"], out["devices"], len(out["problems"])) == (False, 6, 6, 2)
    assert stored(db) == []


def test_one_school_check_still_sees_the_other_schools(invoke: Invoke, db: Path) -> None:
    inv = str(CASES / "duplicate-address")
    first = invoke("--inventories", inv, "inventory", "check", "--school", "100001")
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[-1] == "1 device checked, 0 problems, 0 warnings"
    second = invoke("--inventories", inv, "inventory", "check", "--school", "100002")
    assert second.exit_code == ExitStatus.INVALID_INPUT
    assert "uses address 10.42.0.20 already used by host 't12a-sw01' of school 100001" \
        in second.output
    unknown = invoke("--inventories", inv, "inventory", "check", "--school", "100009")
    assert unknown.exit_code == ExitStatus.NOT_FOUND
