"""Cisco IOS (Catalyst access switches): the lab's first switch OS.

- Ansible: `ansible.netcommon.network_cli` with the `cisco.ios` collection's cliconf and
  terminal plugins (in the `ansible` package), privileged EXEC through `enable`; the
  switch role's `cisco_ios.yml`.
- Read-back: netmiko `cisco_ios`; `show vlan` by ntc-templates' cisco_ios_show_vlan,
  `show running-config` by the TextFSM template below (interface blocks).
- Health: the cisco-ios profile (enterprise 9, not a wireless controller).
- Lab: fake-switches' Catalyst 2960-48TT-L with the project's compatibility layer
  (`simulator.py`), SNMP from snmpsim-data's C3750 recording with the simulator's ports
  (`snmp_recording.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioner.devices.dialect import IOS
from provisioner.health.profiles.base import Profile
from provisioner.health.profiles.common import (
    ROLE_EXTRAS,
    SWITCH_SECTIONS,
    all_of,
    by_enterprise,
    none_of,
)
from provisioner.models import Device
from provisioner.platforms.base import (
    AnsibleAccess,
    LabSimulator,
    Platform,
    PlatformKind,
    ReadBack,
    port_numbers,
    profile_of,
)
from provisioner.platforms.parsing import UnparsableOutputError, parse_ntc, parse_template

# Interface blocks of an IOS running-config: name, switchport mode, trunk VLANs.
RUNNING_INTERFACES = """\
Value Required INTERFACE (\\S+)
Value MODE (\\S+)
Value ALLOWED (\\S+)
Value NATIVE (\\d+)

Start
  ^interface -> Continue.Record
  ^interface ${INTERFACE}
  ^\\s+switchport mode ${MODE}
  ^\\s+switchport trunk allowed vlan ${ALLOWED}
  ^\\s+switchport trunk native vlan ${NATIVE}
  ^end -> Record
"""
# The lab's simulated Catalyst 2960-48TT-L.
FAST_PORTS = tuple(f"FastEthernet0/{n}" for n in range(1, 49))
GIGABIT_PORTS = ("GigabitEthernet0/1", "GigabitEthernet0/2")
SNMP_RECORDING = "lab/cisco-ios-switch"


def _is_wireless_controller(oid: str, descr: str) -> bool:
    return by_enterprise(9, 14179)(oid, descr) and "controller" in descr.lower()


HEALTH = Profile("cisco-ios", "Cisco", SWITCH_SECTIONS,
                 all_of(by_enterprise(9), none_of(_is_wireless_controller)), ROLE_EXTRAS)


def parse_interfaces(running_config: str) -> list[dict[str, str]]:
    """Interface name, switchport mode and trunk VLANs from `show running-config`.

    Raises:
        UnparsableOutputError: the output does not fit the template.
    """
    return parse_template(RUNNING_INTERFACES, running_config, "show running-config")


def expected_trunk_ports(profile: dict[str, Any]) -> set[int]:
    """Port numbers the profile makes trunks (the access-point ports)."""
    trunks = {p["name"] for p in profile.get("port_profiles", []) if p.get("mode") == "trunk"}
    return port_numbers(profile.get("access_ports", []), trunks)


def switch_differences(profile: dict[str, Any], show_vlan: str, running: str) -> list[str]:
    """What a switch's VLANs and trunk ports lack against the profile (empty: all there)."""
    try:
        rows = parse_ntc("cisco_ios", "show vlan", show_vlan)
        interfaces = parse_interfaces(running)
    except UnparsableOutputError as exc:
        return [f"the switch's output could not be read ({exc})"]
    have = {int(r["vlan_id"]): r["vlan_name"] for r in rows}
    problems = [f"VLAN {v['id']} {v['name']!r} " + ("missing" if v["id"] not in have
                                                    else f"is named {have[v['id']]!r}")
                for v in profile.get("vlans", []) if have.get(int(v["id"])) != v["name"]]
    ports = {int(i["INTERFACE"].rsplit("/", 1)[-1]): i for i in interfaces
             if i["INTERFACE"].rsplit("/", 1)[-1].isdigit()}
    for number in sorted(expected_trunk_ports(profile) & set(ports)):
        if ports[number]["MODE"] != "trunk":
            problems.append(f"port {ports[number]['INTERFACE']} is not a trunk "
                            f"(mode {ports[number]['MODE'] or 'default'})")
    if expected_trunk_ports(profile) and not expected_trunk_ports(profile) & set(ports):
        problems.append("none of the access-point ports of the profile exists on the switch")
    return problems


class CiscoIos(Platform):
    """Cisco IOS on Catalyst access switches."""

    name = "cisco_ios"
    title = "Cisco IOS (Catalyst)"
    kind = PlatformKind.SWITCH
    aliases = ("ios",)
    ansible = AnsibleAccess(
        connection="ansible.netcommon.network_cli", role="switch",
        network_os="cisco.ios.ios", tasks="cisco_ios.yml",
        host_vars={"ansible_connection": "ansible.netcommon.network_cli",
                   "ansible_network_os": "cisco.ios.ios", "ansible_become": True,
                   "ansible_become_method": "enable"})
    read_back = ReadBack(
        "ssh-cli", ("show vlan: ntc-templates cisco_ios_show_vlan",
                    "show running-config: the platform's TextFSM template (interfaces)",
                    "SNMPv3 GET sysObjectID as the configured user"),
        dialect=IOS, snmp_user=True)
    health = (HEALTH,)
    lab = LabSimulator(
        "ios_switch", "fake-switches' Catalyst 2960-48TT-L with the project's IOS "
        "compatibility layer; SNMP from snmpsim-data's C3750 recording",
        access_ports=FAST_PORTS, uplink_ports=GIGABIT_PORTS, snmp_recording=SNMP_RECORDING)

    def verify(self, device: Device, known_hosts: Path) -> list[str]:
        """VLANs by id and name from `show vlan`, AP ports as trunks from the running config.

        Raises:
            DeviceError: the switch cannot be reached or refuses the login.
            ProvisionerError: its password file cannot be read.
        """
        from provisioner.platforms.cli import session_for

        with session_for(device, known_hosts, IOS) as session:
            show_vlan = session.run("show vlan")
            running = session.run("show running-config")
        return switch_differences(profile_of(device), show_vlan, running)


PLATFORM = CiscoIos()
