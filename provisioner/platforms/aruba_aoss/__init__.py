"""HPE Aruba AOS-S (ProCurve, ArubaOS-Switch: 2530, 2540, 2930F): the most common school switch.

- Ansible: `ansible.netcommon.network_cli` with the project's own cliconf and terminal
  plugins (`ansible_plugins/`: the Aruba collections are not in the `ansible` package
  and Galaxy is not reachable), `ansible_network_os: aruba_aoss`, a manager login (no
  `enable`); the switch role's `aruba_aoss.yml` renders the profile into one
  configuration block pushed with one `cli_config`, diffed against the running
  configuration.
- Read-back: netmiko `hp_procurve`; `show vlans` by ntc-templates'
  hp_procurve_show_vlans (ids and names), `show running-config` by the TextFSM template
  below (each VLAN's untagged and tagged ports): every profile VLAN by id and name,
  every access port untagged in its room profile's VLAN, every trunk port (uplinks,
  the profile's access-point ports) untagged in its native VLAN and tagged in the
  others.
- Health: the hpe-procurve profile (enterprise 11: HP's number, which AOS-S keeps):
  system, ENTITY-MIB, IF-MIB, PoE for switches.
- Lab: the project's AOS-S simulator (`cli.py`, `shell.py`, `terminal.py`,
  `simulator.py`; the HPE documents it follows and what it does not emulate are
  named there), SNMP from snmpsim-data's ProCurve recording with the simulated ports
  (`snmp_recording.py`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from provisioner.devices.dialect import CliDialect
from provisioner.health.profiles.base import Profile
from provisioner.health.profiles.common import ROLE_EXTRAS, SWITCH_SECTIONS, by_enterprise
from provisioner.models import Device
from provisioner.platforms.base import (
    AnsibleAccess,
    LabSimulator,
    Platform,
    PlatformKind,
    ReadBack,
    profile_of,
)
from provisioner.platforms.parsing import UnparsableOutputError, parse_ntc, parse_template
from provisioner.platforms.port_lists import ports_of

PLUGINS = Path(__file__).resolve().parent / "ansible_plugins"
HEALTH = Profile("hpe-procurve", "HPE", SWITCH_SECTIONS, by_enterprise(11), ROLE_EXTRAS)
AOSS = CliDialect(
    "HPE Aruba AOS-S", "hp_procurve",
    re.compile(r"^(Invalid input: |Incomplete input: |Ambiguous input: |Module not present "
               r"for port or invalid port: |String .* too long\.).*$", re.MULTILINE),
    enable=False, save_command="write memory")
# The lab's 2530-24G-PoEP: ports 1-24 for rooms, 25-28 (SFP) as uplinks.
ACCESS_PORTS = tuple(str(n) for n in range(1, 25))
UPLINK_PORTS = ("25", "26", "27", "28")
# VLAN blocks of an AOS-S running configuration (16.x): id, name, port lists.
RUNNING_VLANS = """\
Value Required VLAN_ID (\\d+)
Value NAME (.*?)
Value UNTAGGED (\\S+)
Value TAGGED (\\S+)

Start
  ^vlan ${VLAN_ID}\\s*$$ -> Vlan

Vlan
  ^\\s+name\\s+"${NAME}"\\s*$$
  ^\\s+untagged\\s+${UNTAGGED}\\s*$$
  ^\\s+tagged\\s+${TAGGED}\\s*$$
  ^\\s+exit\\s*$$ -> Record Start
  ^\\s+\\S
  ^\\S -> Record Start
"""


Membership = tuple[int | None, frozenset[int]]  # untagged VLAN, tagged VLANs of a port
MAX_PORT_PROBLEMS = 6


def wanted(port_profile: dict[str, Any]) -> Membership:
    """What a port profile asks of a port: untagged in its (native) VLAN, tagged in the rest."""
    if port_profile.get("mode") == "access":
        return int(port_profile["vlan"]), frozenset()
    native = port_profile.get("native_vlan")
    tagged = frozenset(int(v) for v in port_profile.get("vlans", []) if v != native)
    return (int(native) if native is not None else None), tagged


def port_profiles(profile: dict[str, Any], uplinks: list[str]) -> dict[int, str]:
    """Port -> the name of the port profile the school's layout gives it."""
    found = {n: str(block.get("profile")) for block in profile.get("access_ports", [])
             for n in range(int(block["first"]), int(block["last"]) + 1)}
    found.update({int(p): "Uplink" for p in uplinks if str(p).isdigit()})
    return found


def memberships(blocks: dict[int, dict[str, str]]) -> dict[int, Membership]:
    """Port -> its untagged VLAN and tagged VLANs, from the running config's VLAN blocks."""
    untagged: dict[int, int] = {}
    tagged: dict[int, set[int]] = {}
    for vid, block in blocks.items():
        for port in ports_of(block.get("UNTAGGED", "")):
            untagged[port] = vid
        for port in ports_of(block.get("TAGGED", "")):
            tagged.setdefault(port, set()).add(vid)
    return {port: (untagged.get(port), frozenset(tagged.get(port, set())))
            for port in set(untagged) | set(tagged)}


def _describe(membership: Membership) -> str:
    untagged, tagged = membership
    parts = [f"untagged in VLAN {untagged}" if untagged else "untagged in no VLAN"]
    if tagged:
        parts.append(f"tagged in {','.join(map(str, sorted(tagged)))}")
    return " and ".join(parts)


def port_problems(profile: dict[str, Any], uplinks: list[str],
                  blocks: dict[int, dict[str, str]]) -> list[str]:
    """Ports whose VLAN membership is not what their port profile asks.

    A room port may carry an access point instead (the access point profile: the
    switch does not know which ports the inventory's access points hang off).
    """
    by_name = {p["name"]: p for p in profile.get("port_profiles", [])}
    ap = next((wanted(p) for p in profile.get("port_profiles", [])
               if p.get("mode") == "trunk" and p.get("name") != "Uplink"), None)
    have = memberships(blocks)
    problems = []
    for port, name in sorted(port_profiles(profile, uplinks).items()):
        if name not in by_name:
            continue
        want, got = wanted(by_name[name]), have.get(port, (None, frozenset()))
        room = by_name[name].get("mode") == "access"
        if got != want and not (room and got == ap):
            # An access point's port is a room port to the profile: name both wishes.
            either = f" or, if an access point hangs off it, {_describe(ap)}" \
                if room and ap is not None else ""
            problems.append(f"port {port} is {_describe(got)}; its profile {name} wants "
                            f"{_describe(want)}{either}")
    if len(problems) > MAX_PORT_PROBLEMS:
        problems[MAX_PORT_PROBLEMS:] = [f"and {len(problems) - MAX_PORT_PROBLEMS} more ports"]
    return problems


def switch_differences(profile: dict[str, Any], uplinks: list[str], show_vlans: str,
                       running: str) -> list[str]:
    """What the switch's VLANs and port memberships lack against the profile."""
    try:
        names = {int(r["vlan_id"]): r["vlan_name"] for r in
                 parse_ntc("hp_procurve", "show vlans", show_vlans)}
        blocks = {int(r["VLAN_ID"]): r for r in
                  parse_template(RUNNING_VLANS, running, "show running-config")}
    except UnparsableOutputError as exc:
        return [f"the switch's output could not be read ({exc})"]
    problems = [f"VLAN {v['id']} {v['name']!r} " + ("missing" if int(v["id"]) not in names
                                                    else f"is named {names[int(v['id'])]!r}")
                for v in profile.get("vlans", []) if names.get(int(v["id"])) != v["name"]]
    return problems + port_problems(profile, uplinks, blocks)


class ArubaAosS(Platform):
    """HPE Aruba AOS-S switches."""

    name = "aruba_aoss"
    title = "HPE Aruba AOS-S (ProCurve, ArubaOS-Switch)"
    kind = PlatformKind.SWITCH
    aliases = ("hp_procurve", "aruba_osswitch", "arubaoss")
    ansible = AnsibleAccess(
        connection="ansible.netcommon.network_cli", role="switch", network_os="aruba_aoss",
        tasks="aruba_aoss.yml",
        plugins={"cliconf": PLUGINS / "cliconf", "terminal": PLUGINS / "terminal"},
        host_vars={"ansible_connection": "ansible.netcommon.network_cli",
                   "ansible_network_os": "aruba_aoss", "ansible_become": False})
    read_back = ReadBack(
        "ssh-cli", ("show vlans: ntc-templates hp_procurve_show_vlans",
                    "show running-config: the platform's TextFSM template (VLAN blocks)",
                    "SNMPv3 GET sysObjectID as the configured user"),
        dialect=AOSS, snmp_user=True)
    health = (HEALTH,)
    lab = LabSimulator(
        "aoss_switch", "the project's AOS-S 16.11 CLI (a 2530-24G-PoEP); SNMP from "
        "snmpsim-data's ProCurve recording", access_ports=ACCESS_PORTS,
        uplink_ports=UPLINK_PORTS, snmp_recording="lab/aruba-aoss-switch")

    def verify(self, device: Device, known_hosts: Path) -> list[str]:
        """VLANs by id and name, access and trunk ports by membership, read over SSH.

        Raises:
            DeviceError: the switch cannot be reached or refuses the login.
            ProvisionerError: its password file cannot be read.
        """
        from provisioner.platforms.cli import session_for

        with session_for(device, known_hosts, AOSS) as session:
            show_vlans = session.run("show vlans")
            running = session.run("show running-config")
        uplinks = device.vars.get("switch_uplink_ports")
        named = [str(p) for p in uplinks] if isinstance(uplinks, list) else ["25", "26"]
        return switch_differences(profile_of(device), named, show_vlans, running)


PLATFORM = ArubaAosS()
