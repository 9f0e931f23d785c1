from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from provisioner.errors import NotFoundError
from provisioner.inventory import (
    check_inventory,
    load_inventories,
    network_profile,
    write_school_inventory,
)
from provisioner.models import Device, Measure, PlanItem, Role

ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"


def dev(school: str, name: str, role: Role, address: str, platform: str = "debian") -> Device:
    return Device(school, name, role, platform, address, room="R1", serial="SN1")


def make_inventories(root: Path) -> None:
    write_school_inventory(root, "100001", [
        dev("100001", "a-srv01", Role.SERVER, "10.1.0.10"),
        dev("100001", "a-sw01", Role.SWITCH, "10.1.0.20", "cisco_ios"),
        dev("100001", "a-ap01", Role.ACCESS_POINT, "10.1.0.30", "linux_hostapd"),
    ], {"all": network_profile(1)})
    write_school_inventory(root, "100002", [
        dev("100002", "b-srv01", Role.SERVER, "10.2.0.10"),
    ], {"all": network_profile(2)})


def test_written_inventory_reads_back(tmp_path: Path) -> None:
    make_inventories(tmp_path)
    load = load_inventories(tmp_path)
    assert load.problems == []
    assert [(d.name, d.role, d.address, d.serial, d.room) for d in load.devices] == [
        ("a-ap01", Role.ACCESS_POINT, "10.1.0.30", "SN1", "R1"),
        ("a-srv01", Role.SERVER, "10.1.0.10", "SN1", "R1"),
        ("a-sw01", Role.SWITCH, "10.1.0.20", "SN1", "R1"),
        ("b-srv01", Role.SERVER, "10.2.0.10", "SN1", "R1"),
    ]


def test_ansible_inventory_accepts_it_as_it_is(tmp_path: Path) -> None:
    make_inventories(tmp_path)
    out = subprocess.run([str(ANSIBLE_INVENTORY), "-i", str(tmp_path / "100001"), "--list"],
                         check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    assert data["switches"]["hosts"] == ["a-sw01"]
    hostvars = data["_meta"]["hostvars"]["a-sw01"]
    assert hostvars["ansible_host"] == "10.1.0.20"
    assert hostvars["school_network"]["administration_vlan"] == 10


def test_group_vars_supply_platform_host_vars_win(tmp_path: Path) -> None:
    school = tmp_path / "100001"
    (school / "group_vars").mkdir(parents=True)
    (school / "group_vars" / "switches.yml").write_text("platform: cisco_ios\n")
    (school / "hosts.yml").write_text(
        "all:\n  children:\n    switches:\n      hosts:\n"
        "        sw1: {ansible_host: 10.1.0.2}\n"
        "        sw2: {ansible_host: 10.1.0.3, platform: aruba_os}\n")
    load = load_inventories(tmp_path)
    assert [(d.name, d.platform) for d in load.devices] == [("sw1", "cisco_ios"),
                                                            ("sw2", "aruba_os")]


def test_problems_name_file_and_host(tmp_path: Path) -> None:
    make_inventories(tmp_path)
    write_school_inventory(tmp_path, "100003", [
        dev("100003", "c-srv01", Role.SERVER, "10.1.0.10"),  # address of a-srv01
        dev("100003", "a-sw01", Role.SWITCH, "10.3.0.20", "cisco_ios"),  # 100001's host name
    ])
    (tmp_path / "12345").mkdir()
    (tmp_path / "12345" / "hosts.yml").write_text(
        "all:\n  children:\n    servers:\n      hosts:\n        x-srv: {room: R2}\n")
    load = load_inventories(tmp_path)
    report = check_inventory(load, [], {"100001", "100002"}, str(tmp_path))
    messages = sorted(str(p).replace(str(tmp_path), "INV") for p in report.problems)
    assert messages == [
        "INV/100003/hosts.yml: host 'a-sw01' uses host name a-sw01 already used by host "
        "'a-sw01' of school 100001; each host name must be unique across all schools",
        "INV/100003/hosts.yml: host 'c-srv01' uses address 10.1.0.10 already used by host "
        "'a-srv01' of school 100001; each address must be unique across all schools",
        "INV/12345/hosts.yml: host 'x-srv' has no platform; set it in its host vars or its "
        "group's vars",
        "INV/12345: folder '12345' is not a 6-digit Schulnummer; rename it to "
        "the school's id",
    ]
    assert not report.ok
    assert [str(w).replace(str(tmp_path), "INV") for w in report.warnings
            if "plan" in str(w)] == [
        "INV/100003: school 100003 is not in the plan in force; its devices are kept and "
        "reported under 'not in the plan': import a plan that contains it"]


def test_counts_are_compared_with_the_plan(tmp_path: Path) -> None:
    make_inventories(tmp_path)
    items = [PlanItem("100001", Measure.SWITCHES, 2020, 3, Decimal(1)),
             PlanItem("100001", Measure.SWITCHES, 2021, 1, Decimal(1)),
             PlanItem("100001", Measure.CABLING, 2021, None, Decimal(1))]
    report = check_inventory(load_inventories(tmp_path), items, {"100001", "100002"},
                             str(tmp_path))
    switches = [c for c in report.comparisons if c.school_id == "100001" and c.role is Role.SWITCH]
    assert [(c.planned, c.inventoried, c.difference) for c in switches] == [(4, 1, -3)]
    assert report.ok


def test_broken_yaml_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "100001").mkdir()
    (tmp_path / "100001" / "hosts.yml").write_text("all: [unclosed\n")
    load = load_inventories(tmp_path)
    assert [str(p).replace(str(tmp_path), "INV") for p in load.problems] == [
        "INV/100001/hosts.yml: Ansible cannot read it as an inventory (YAML parsing failed: "
        "While parsing a flow sequence did not find expected ',' or ']'. (line 2)); fix it, "
        "or move it out of the school's folder (Ansible reads every file in it)"]


def test_missing_school_folder(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="unknown school 100009: no inventory for it in "):
        load_inventories(tmp_path, "100009")
    # A mistyped id names the nearest school there before suggesting a new folder.
    (tmp_path / "100001").mkdir()
    with pytest.raises(NotFoundError) as caught:
        load_inventories(tmp_path, "10001")
    assert f"did you mean 100001? A new school needs {tmp_path}/10001/hosts.yml" in str(
        caught.value)
    with pytest.raises(NotFoundError, match="does not exist; pass --inventories"):
        load_inventories(tmp_path / "nope")


def test_profile_separates_administration_from_wlan() -> None:
    profile = network_profile(7)["school_network"]
    assert profile["supernet"] == "10.7.0.0/16"
    admin = profile["administration_vlan"]
    assert admin not in {ssid["vlan"] for ssid in profile["ssids"]}
    wlan_vlans = {ssid["vlan"] for ssid in profile["ssids"]}
    subnets = {v["id"]: v["subnet"] for v in profile["vlans"]}
    assert all(subnets[v].endswith(("/20", "/22")) for v in wlan_vlans)


def test_a_plugin_file_ansible_cannot_load_names_the_plugin(tmp_path: Path) -> None:
    make_inventories(tmp_path)
    (tmp_path / "100001" / "dynamic.yml").write_text("plugin: example.missing.thing\n")
    load = load_inventories(tmp_path)
    assert [str(p).replace(str(tmp_path), "INV") for p in load.problems] == [
        "INV/100001/dynamic.yml: Ansible cannot read it as an inventory (inventory config "
        "'INV/100001/dynamic.yml' specifies unknown plugin 'example.missing.thing'); "
        "fix it, or move it out of the school's folder (Ansible reads every file in it)"]
    assert len(load.devices) == 4  # hosts.yml is still read, as Ansible reads it


def test_an_snmp_host_var_that_is_no_boolean_is_a_problem(tmp_path: Path) -> None:
    # Read as yes by one part and no by another, it would decide whether a device is
    # polled at all.
    (tmp_path / "100001").mkdir()
    (tmp_path / "100001" / "hosts.yml").write_text(
        "all:\n  children:\n    servers:\n      hosts:\n"
        "        100001-srv01: {platform: debian, snmp: maybe}\n"
        "        100001-srv02: {platform: debian, snmp: n}\n")
    load = load_inventories(tmp_path)
    assert [str(p).replace(str(tmp_path), "INV") for p in load.problems] == [
        "INV/100001/hosts.yml: host '100001-srv01' has snmp 'maybe'; it must be true or false"]
    assert [d.name for d in load.devices] == ["100001-srv02"]


def test_an_unknown_or_unfitting_platform_is_named_before_any_run(tmp_path: Path) -> None:
    write_school_inventory(tmp_path, "100001", [
        dev("100001", "a-srv01", Role.SERVER, "10.1.0.10", "cisco_ioss"),
        dev("100001", "a-sw01", Role.SWITCH, "10.1.0.20", "aruba_aos"),
        dev("100001", "a-sw02", Role.SWITCH, "10.1.0.21", "debian"),
        dev("100001", "a-ap01", Role.ACCESS_POINT, "10.1.0.30", "linux_hostapd"),
        # An Instant AP has its controller's platform: that fits.
        dev("100001", "a-iap01", Role.ACCESS_POINT, "10.1.0.31", "aruba_instant"),
        # Watched over SNMP only: read by what it answers, its platform not checked.
        replace(dev("100001", "a-ap02", Role.ACCESS_POINT, "10.1.0.32", "lancom"),
                managed=False),
    ], {"all": network_profile(1)})
    report = check_inventory(load_inventories(tmp_path), [], {"100001"}, str(tmp_path))
    texts = [p.message for p in report.problems]
    assert texts == [
        "host 'a-srv01': platform 'cisco_ioss' is not one the tool knows (did you mean "
        "cisco_ios?); 'provision platforms' lists them (or set managed: false)",
        "host 'a-sw01': platform 'aruba_aos' is not one the tool knows (did you mean "
        "aruba_aoss?); 'provision platforms' lists them (or set managed: false)",
        "host 'a-sw02' is in the group switches, but its platform debian is for a server; "
        "fix the group or the platform (or set managed: false)"], texts
    assert not report.ok
