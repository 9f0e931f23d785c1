"""Targets from inventory SNMP settings; management networks refused before any packet."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from provisioner.errors import ConfigError
from provisioner.health.targets import plan_device, snmp_target, watched_ports
from provisioner.models import Role
from provisioner.snmp import SnmpV3User
from tests.health.factories import device

NETS = [ipaddress.ip_network("10.0.0.0/8")]


def v3_vars(tmp_path: Path) -> dict[str, object]:
    return {"snmp_user": "monitoring", "snmp_auth_file": str(tmp_path / "auth"),
            "snmp_priv_file": str(tmp_path / "priv")}


def test_snmpv3_authpriv_is_the_default(tmp_path: Path) -> None:
    target = snmp_target(device("sw1"), {**v3_vars(tmp_path), "snmp_context": "ctx"})
    assert target.user == SnmpV3User("monitoring", tmp_path / "auth", tmp_path / "priv",
                                     "SHA", "AES")
    assert (target.community, target.port, target.context) == (None, 161, "ctx")


def test_v2c_only_where_the_inventory_says_and_the_community_comes_from_a_file(
        tmp_path: Path) -> None:
    community = tmp_path / "community"
    community.write_text("s3cret\n")
    target = snmp_target(device("ap1"), {"snmp_version": "2c",
                                         "snmp_community_file": str(community),
                                         "snmp_port": 1161})
    assert (target.user, target.community, target.port) == (None, "s3cret", 1161)


@pytest.mark.parametrize(("hostvars", "message"), [
    ({"snmp_auth_file": "/a", "snmp_priv_file": "/p"}, "sw1: no snmp_user in its inventory"),
    ({"snmp_user": "m", "snmp_priv_file": "/p"}, "sw1: no snmp_auth_file in its inventory"),
    ({"snmp_version": 1}, "sw1: snmp_version '1' is not supported; use 3 or 2c"),
    ({"snmp_port": "x"}, "sw1: snmp_port 'x' is not a UDP port"),
    ({"snmp_user": "m", "snmp_auth_file": "{{ lookup('file', 'x') }}", "snmp_priv_file": "/p"},
     "sw1: snmp_auth_file is a template"),
    ({"snmp_version": "2c", "snmp_community_file": "/nonexistent/c"},
     "sw1 SNMP v2c community: secret file /nonexistent/c cannot be read"),
])
def test_incomplete_settings_name_device_and_setting(hostvars: dict[str, object],
                                                      message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        snmp_target(device("sw1"), hostvars)


def test_address_outside_the_management_networks_is_refused(tmp_path: Path) -> None:
    planned = plan_device(device("sw1", address="192.168.7.3"), v3_vars(tmp_path), NETS, {})
    assert planned.target is None
    assert planned.problem == ("host sw1: address 192.168.7.3 is outside the management "
                               "networks (10.0.0.0/8); nothing was sent to it. Fix ansible_host "
                               "or add its network to management_networks")


def test_a_host_name_cannot_be_checked_so_it_is_refused(tmp_path: Path) -> None:
    planned = plan_device(device("sw1", address="sw1.schule.local"), v3_vars(tmp_path), NETS, {})
    assert planned.target is None and "is not an IP address" in planned.problem


def test_a_device_gone_from_its_inventory_is_a_config_problem() -> None:
    planned = plan_device(device("sw1"), None, NETS, {})
    assert planned.problem == ("sw1: not in its school's inventory any more; run "
                               "'provision inventory sync'")


def test_expected_identity_from_the_inventory(tmp_path: Path) -> None:
    planned = plan_device(device("sw1"), {**v3_vars(tmp_path), "snmp_sys_name": "core",
                                          "snmp_location": "Keller"}, NETS, {})
    assert planned.target is not None
    assert (planned.expected_name, planned.expected_location) == ("core", "Keller")


def test_watched_ports_are_the_uplink_ports_of_the_devices_below() -> None:
    devices = [device("core", Role.SWITCH), device("sw2", Role.SWITCH, "core", "Gi1/0/48"),
               device("ap1", Role.ACCESS_POINT, "sw2", "Gi1/0/1"),
               device("ap2", Role.ACCESS_POINT, "sw2")]
    assert watched_ports(devices) == {"core": {"Gi1/0/48": ("sw2", Role.SWITCH)},
                                      "sw2": {"Gi1/0/1": ("ap1", Role.ACCESS_POINT)}}


@pytest.mark.parametrize("value", [False, "no", "n", "Off", " false ", 0])
def test_snmp_false_in_any_of_ansibles_spellings_is_not_polled(value: object,
                                                               tmp_path: Path) -> None:
    planned = plan_device(device("ap1"), {**v3_vars(tmp_path), "snmp": value}, NETS, {})
    assert (planned.target, planned.skipped) == (None, True)
    assert planned.problem == "ap1: does not answer SNMP (inventory snmp: false); not polled"


def test_an_snmp_value_that_is_no_boolean_names_itself(tmp_path: Path) -> None:
    planned = plan_device(device("ap1"), {**v3_vars(tmp_path), "snmp": "maybe"}, NETS, {})
    assert (planned.target, planned.skipped) == (None, False)
    assert planned.problem == ("ap1: has snmp 'maybe', which is not true or false; fix its "
                               "inventory")


def test_a_templated_snmp_value_is_refused_as_a_template(tmp_path: Path) -> None:
    planned = plan_device(device("ap1"), {**v3_vars(tmp_path), "snmp": "{{ polled }}"}, NETS,
                          {})
    assert planned.problem == "ap1: snmp is a template ({{ polled }}); write true or false"
