"""Verification after the play, read back from the devices themselves, never from Ansible.

What is read depends on the device's platform (provisioner/platforms/, its `ReadBack`):
- devices running the agent the roles configure (`ReadBack.snmp_agent`: Debian servers,
  Linux access points): SNMPv3 with the configured user answers, sysLocation is the
  inventory's `room` (what the snmpd role writes), and every process check of
  UCD-SNMP-MIB's prTable (prNames .1.3.6.1.4.1.2021.2.1.2, prErrorFlag ...2.1.100)
  reports no error, for at least the services the role watches (sshd, snmpd);
- devices whose own agent the role gives the SNMPv3 user (`ReadBack.snmp_user`:
  switches): that it answers as that user (sysObjectID, SNMPv2-MIB), unless the
  inventory says `snmp: false`;
- then the platform's own read-back (`Platform.verify`): a switch's VLANs, access ports
  and trunks over its CLI, an access point's SSIDs over SSH;
- WLAN controllers and the access points that name one (host var `controller`): read
  back through the controller's API, one session per controller for all its APs, and
  the APs over SNMP where they answer it (provisioner/wlan/verify.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from provisioner.errors import ConfigError, DeviceError, ProvisionerError
from provisioner.inventory.reach import snmp_target
from provisioner.models import Device
from provisioner.outcome import HostStatus
from provisioner.platforms import Platform, platform_for
from provisioner.provision.preflight import known_hosts_file
from provisioner.results import AggregatedResult, DeviceResult, FailureKind
from provisioner.snmp import SnmpBackend, SnmpTarget
from provisioner.wlan.readback import answers_snmp
from provisioner.wlan.verify import is_wlan, verify_wlan

SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
PR_NAMES = "1.3.6.1.4.1.2021.2.1.2"
PR_ERROR_FLAG = "1.3.6.1.4.1.2021.2.1.100"
REQUIRED_PROCS = ("sshd", "snmpd")
MAX_PROCS = 12

Verified = AggregatedResult[list[str]]


def verifiable(device: Device) -> Platform:
    """The device's platform, if the tool can read devices of it back.

    Raises:
        ProvisionerError: the platform is unknown or has no read-back.
    """
    platform = platform_for(device)
    if platform is None or platform.read_back is None:
        raise ProvisionerError(
            f"{device.name}: platform {device.platform!r} cannot be verified by the tool "
            "('provision platforms' lists what each platform can do)")
    return platform


def _runs_our_agent(device: Device) -> bool:
    platform = platform_for(device)
    return bool(platform and platform.read_back and platform.read_back.snmp_agent)


def _targets(devices: Sequence[Device]) -> tuple[dict[str, SnmpTarget], dict[str, list[str]]]:
    """Each device's SNMP target from its inventory, or (second) why it has none."""
    targets: dict[str, SnmpTarget] = {}
    found: dict[str, list[str]] = {}
    for device in devices:
        try:
            targets[device.name] = snmp_target(device, device.vars)
        except ConfigError as exc:
            found[device.name] = [f"no SNMP settings to read it back with: {exc}"]
    return targets, found


def snmp_differences(devices: Sequence[Device], snmp: SnmpBackend) -> dict[str, list[str]]:
    """Per device: what its SNMPv3 agent lacks (sysLocation, process checks)."""
    targets, found = _targets(devices)
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


def _has_snmp_user(device: Device) -> bool:
    platform = platform_for(device)
    return bool(platform and platform.read_back and platform.read_back.snmp_user
                and answers_snmp(device))


def snmp_user_differences(devices: Sequence[Device],
                          snmp: SnmpBackend) -> dict[str, list[str]]:
    """Per device: [] when it answers SNMPv3 as the configured user (sysObjectID), else
    why not."""
    targets, found = _targets(devices)
    for reply in snmp.get_many(list(targets.values()), [SYS_OBJECT_ID]):
        found[reply.target] = [] if reply.ok else [
            f"SNMPv3 as the configured user does not answer ({reply.error})"]
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
        return DeviceResult(device.name, None, exc.kind, str(exc),
                            (time.perf_counter() - started) * 1000)
    except ProvisionerError as exc:
        return DeviceResult(device.name, None, FailureKind.CONFIG, str(exc))
    elapsed = (time.perf_counter() - started) * 1000
    if problems:
        return DeviceResult(device.name, problems, FailureKind.FAILED,
                            f"{device.name}: " + "; ".join(problems), elapsed)
    return DeviceResult(device.name, [], None, HostStatus.VERIFIED.value, elapsed)


def _checks(device: Device, pinned: Path, snmp_problems: list[str]) -> list[str]:
    return snmp_problems + verifiable(device).verify(device, pinned)


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
    agents = [d for d in devices if _runs_our_agent(d)]
    snmp_found = snmp_differences(agents, snmp) if agents else {}
    users = [d for d in devices if _has_snmp_user(d) and d not in agents]
    snmp_found |= snmp_user_differences(users, snmp) if users else {}
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
