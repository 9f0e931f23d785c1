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


def ports_of(text: str) -> set[int]:
    """`1-12,21,25-28` as port numbers (stacked `1/5` names are not read)."""
    found: set[int] = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        if first.isdigit() and (last or first).isdigit():
            found |= set(range(int(first), int(last or first) + 1))
    return found


def expected_members(profile: dict[str, Any],
                     uplinks: list[str]) -> dict[int, tuple[set[int], set[int]]]:
    """VLAN id -> (untagged ports, tagged ports) the profile asks of a switch."""
    by_name = {p["name"]: p for p in profile.get("port_profiles", [])}
    port_profile = {n: block.get("profile") for block in profile.get("access_ports", [])
                    for n in range(int(block["first"]), int(block["last"]) + 1)}
    port_profile.update({int(p): "Uplink" for p in uplinks if str(p).isdigit()})
    members: dict[int, tuple[set[int], set[int]]] = {}
    for port, name in port_profile.items():
        chosen = by_name.get(name, {})
        untagged = chosen.get("vlan") if chosen.get("mode") == "access" \
            else chosen.get("native_vlan")
        if untagged is not None:
            members.setdefault(int(untagged), (set(), set()))[0].add(port)
        for vid in chosen.get("vlans", []) if chosen.get("mode") == "trunk" else []:
            if vid != untagged:
                members.setdefault(int(vid), (set(), set()))[1].add(port)
    return members


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
    for vid, (untagged, tagged) in sorted(expected_members(profile, uplinks).items()):
        block = blocks.get(vid, {})
        for mode, want, have in (("untagged", untagged, ports_of(block.get("UNTAGGED", ""))),
                                 ("tagged", tagged, ports_of(block.get("TAGGED", "")))):
            if want - have:
                problems.append(f"VLAN {vid} lacks {mode} ports "
                                f"{','.join(map(str, sorted(want - have)))}")
    return problems


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
                    "show running-config: the platform's TextFSM template (VLAN blocks)"),
        dialect=AOSS)
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
