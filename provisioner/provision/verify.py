"""Verification after the play, read back from the devices themselves, never from Ansible.

- servers and access points: SNMPv3 with the configured user answers, sysLocation is
  the inventory's `room` (what the snmpd role writes), and every process check of
  UCD-SNMP-MIB's prTable (prNames .1.3.6.1.4.1.2021.2.1.2, prErrorFlag ...2.1.100)
  reports no error, for at least the services the role watches (sshd, snmpd);
- switches: `show vlan` (parsed by ntc-templates' cisco_ios template) holds every VLAN
  of the profile by id and name, and `show running-config` (parsed by the TextFSM
  template below) shows the profile's access-point ports as trunks;
- access points: their hostapd configuration carries one `ssid=` per profile SSID
  (read over SSH with the pinned host key);
- WLAN controllers and the access points that name one (host var `controller`): read
  back through the controller's API, and the APs over SNMP where they answer it
  (provisioner/wlan/verify.py).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import textfsm
from ntc_templates.parse import parse_output

from provisioner.devices.cli_session import SwitchSession
from provisioner.devices.ssh import probe_ssh
from provisioner.errors import DeviceError, ProvisionerError
from provisioner.models import Device, Role
from provisioner.provision.preflight import LOOKUP_FILE, known_hosts_file, snmp_target
from provisioner.results import AggregatedResult, DeviceResult, FailureKind
from provisioner.secrets import read_secret
from provisioner.snmp import SnmpBackend, SnmpTarget
from provisioner.wlan.verify import is_wlan, verify_wlan

SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
PR_NAMES = "1.3.6.1.4.1.2021.2.1.2"
PR_ERROR_FLAG = "1.3.6.1.4.1.2021.2.1.100"
REQUIRED_PROCS = ("sshd", "snmpd")
MAX_PROCS = 12
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
# One line with every SSID of every hostapd config file (probe_ssh returns one line).
# The files hold the PSK and RADIUS secret too (mode 0600, root): sudo, and only the
# ssid= lines ever leave the device.
SSID_COMMAND = ("sudo -n grep -rhs '^ssid=' /etc/hostapd | cut -d= -f2- | sort -u "
                "| paste -sd '|' -")

Verified = AggregatedResult[list[str]]


def _profile(device: Device) -> dict[str, Any]:
    profile = device.vars.get("school_network")
    return profile if isinstance(profile, dict) else {}


def parse_interfaces(running_config: str) -> list[dict[str, str]]:
    """Interface name, switchport mode and trunk VLANs from `show running-config`."""
    fsm = textfsm.TextFSM(io.StringIO(RUNNING_INTERFACES))
    return [dict(zip(fsm.header, row, strict=True)) for row in fsm.ParseText(running_config)]


def expected_trunk_ports(profile: dict[str, Any]) -> set[int]:
    """Port numbers the profile makes trunks (the access-point ports)."""
    trunks = {p["name"] for p in profile.get("port_profiles", []) if p.get("mode") == "trunk"}
    return {n for block in profile.get("access_ports", []) if block.get("profile") in trunks
            for n in range(int(block["first"]), int(block["last"]) + 1)}


def switch_differences(profile: dict[str, Any], show_vlan: str, running: str) -> list[str]:
    """What a switch's VLANs and trunk ports lack against the profile (empty: all there)."""
    have = {int(r["vlan_id"]): r["vlan_name"]
            for r in parse_output(platform="cisco_ios", command="show vlan", data=show_vlan)}
    problems = [f"VLAN {v['id']} {v['name']!r} " + ("missing" if v["id"] not in have
                                                    else f"is named {have[v['id']]!r}")
                for v in profile.get("vlans", []) if have.get(int(v["id"])) != v["name"]]
    ports = {int(i["INTERFACE"].rsplit("/", 1)[-1]): i for i in parse_interfaces(running)
             if i["INTERFACE"].rsplit("/", 1)[-1].isdigit()}
    for number in sorted(expected_trunk_ports(profile) & set(ports)):
        if ports[number]["MODE"] != "trunk":
            problems.append(f"port {ports[number]['INTERFACE']} is not a trunk "
                            f"(mode {ports[number]['MODE'] or 'default'})")
    if expected_trunk_ports(profile) and not expected_trunk_ports(profile) & set(ports):
        problems.append("none of the access-point ports of the profile exists on the switch")
    return problems


def verify_switch(device: Device, known_hosts: Path, timeout: float = 15.0) -> list[str]:
    """Read a switch's VLANs and trunks over its CLI; the differences to the profile.

    Raises:
        DeviceError: the switch cannot be reached or refuses the login.
        ConfigError: its password file cannot be read.
    """
    password_file = _lookup_file(device.vars.get("ansible_password"))
    password = read_secret(password_file, f"{device.name} switch password")
    with SwitchSession(device.address, username=str(device.vars.get("ansible_user", "")),
                       password=password, known_hosts=known_hosts, timeout=timeout) as session:
        show_vlan = session.run("show vlan")
        running = session.run("show running-config")
    return switch_differences(_profile(device), show_vlan, running)


def _lookup_file(value: object) -> Path:
    found = LOOKUP_FILE.findall(str(value or ""))
    if not found:
        raise ProvisionerError("the switch's ansible_password names no secret file "
                               "(lookup('ansible.builtin.file', PATH)); refer to one")
    return Path(found[0])


def verify_ap_ssids(device: Device, known_hosts: Path, timeout: float = 10.0) -> list[str]:
    """The profile's SSIDs missing from an access point's hostapd configuration."""
    key = device.vars.get("ansible_ssh_private_key_file")
    line = probe_ssh(device.address, username=str(device.vars.get("ansible_user", "")),
                     known_hosts=known_hosts, key_file=Path(str(key)) if key else None,
                     timeout=timeout, command=SSID_COMMAND)
    have = set(filter(None, line.split("|")))
    want = [s["name"] for s in _profile(device).get("ssids", [])]
    return [f"SSID {name!r} missing from hostapd configuration" for name in want
            if name not in have]


def snmp_differences(devices: Sequence[Device], snmp: SnmpBackend) -> dict[str, list[str]]:
    """Per device: what its SNMPv3 agent lacks (sysLocation, process checks)."""
    targets = {d.name: t for d in devices if (t := snmp_target(d)) is not None}
    found: dict[str, list[str]] = {d.name: ["no SNMPv3 user in the inventory"]
                                   for d in devices if d.name not in targets}
    by_name = {d.name: d for d in devices}
    for reply in snmp.get_many(list(targets.values()), [SYS_LOCATION]):
        if not reply.ok:
            found[reply.target] = [f"SNMPv3 as the configured user does not answer ({reply.error})"]
            continue
        location, room = reply.values.get(SYS_LOCATION, ""), by_name[reply.target].room
        found[reply.target] = ([] if location == room else
                               [f"sysLocation is {location!r}, the inventory says {room!r}"])
    answered = [t for name, t in targets.items() if found[name] == []]
    for name, problems in process_checks(answered, snmp).items():
        found[name] += problems
    return found


def process_checks(targets: Sequence[SnmpTarget], snmp: SnmpBackend) -> dict[str, list[str]]:
    """prTable per target: a problem for each process in error and each required one missing."""
    procs: dict[str, dict[str, str]] = {t.name: {} for t in targets}
    pending = list(targets)
    for index in range(1, MAX_PROCS + 1):
        if not pending:
            break
        replies = snmp.get_many(pending, [f"{PR_NAMES}.{index}", f"{PR_ERROR_FLAG}.{index}"])
        done = {r.target for r in replies if not r.ok}  # no such row: the table ended
        for reply in replies:
            if reply.ok:
                procs[reply.target][reply.values[f"{PR_NAMES}.{index}"]] = \
                    reply.values[f"{PR_ERROR_FLAG}.{index}"]
        pending = [t for t in pending if t.name not in done]
    problems: dict[str, list[str]] = {}
    for name, table in procs.items():
        problems[name] = [f"process {p} is not running (prErrorFlag)"
                          for p, flag in table.items() if flag != "0"]
        problems[name] += [f"no process check for {p} (prTable)" for p in REQUIRED_PROCS
                           if p not in table]
    return problems


def _one(device: Device, check: Callable[[], list[str]]) -> DeviceResult[list[str]]:
    started = time.perf_counter()
    try:
        problems = check()
    except DeviceError as exc:
        return DeviceResult(device.name, None, FailureKind.UNREACHABLE, str(exc),
                            (time.perf_counter() - started) * 1000)
    except ProvisionerError as exc:
        return DeviceResult(device.name, None, FailureKind.CONFIG, str(exc))
    elapsed = (time.perf_counter() - started) * 1000
    if problems:
        return DeviceResult(device.name, problems, FailureKind.FAILED,
                            f"{device.name}: " + "; ".join(problems), elapsed)
    return DeviceResult(device.name, [], None, "verified", elapsed)


def _checks(device: Device, pinned: Path, snmp_problems: list[str]) -> list[str]:
    if device.role is Role.SWITCH:
        return verify_switch(device, pinned)
    if device.role is Role.ACCESS_POINT:
        return snmp_problems + verify_ap_ssids(device, pinned)
    return snmp_problems


def verify_devices(devices: Sequence[Device], snmp: SnmpBackend,
                   known_hosts: Path, workers: int = 16,
                   school: Sequence[Device] = ()) -> Verified:
    """Verify every device (only those the play left provisioned should be passed).

    Args:
        devices: the devices to read back.
        snmp: the SNMP poller.
        known_hosts: the school's pinned file, for hosts whose vars name none.
        workers: devices read back in parallel.
        school: every device of the school (WLAN controllers of APs not in `devices`,
            and every AP of a controller, to tell unknown ones).

    Returns:
        Per device: verified (data [] or, for a controller, its warnings), or FAILED
        with the differences, or why it could not be read.
    """
    result: Verified = AggregatedResult("verify")
    for checked in verify_wlan(devices, school, snmp):
        result.add(checked)
    devices = [d for d in devices if not is_wlan(d)]
    agents = [d for d in devices if d.role in (Role.SERVER, Role.ACCESS_POINT)]
    snmp_found = snmp_differences(agents, snmp) if agents else {}
    checks = [(device, partial(_checks, device, known_hosts_file(device, known_hosts),
                               snmp_found.get(device.name, []))) for device in devices]
    # Each check is its own SSH session (a CLI login, a file read): they wait on the
    # network, not the CPU, so a school's devices are read back side by side.
    if not checks:
        return result
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(checks)))) as pool:
        for done in pool.map(lambda item: _one(*item), checks):
            result.add(done)
    return result
