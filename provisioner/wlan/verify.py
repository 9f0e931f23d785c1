"""Verification through the WLAN controller after a run, and over SNMP where APs answer it.

Each controller of the run is read once (`readback.read_controller`); then:

- the controller is verified when every RADIUS server and SSID profile of the school's
  profile is on it as the profile says; the APs of its cluster that the inventory does
  not know are named as warnings (the result's data), never as a failure;
- an AP that names the controller is verified when the controller knows it (serial,
  address or MAC), it is up, and it beams every SSID of the profile; an AP whose
  inventory says it answers SNMP (`snmp` not false) must also answer an SNMPv3 GET of
  sysDescr as the configured user, independently of the controller.

A controller that cannot be read fails itself and each of its APs with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from provisioner.errors import ConfigError, ProvisionerError
from provisioner.inventory.reach import snmp_target
from provisioner.models import Device, Role
from provisioner.outcome import HostStatus
from provisioner.results import DeviceResult, FailureKind
from provisioner.snmp import SYS_DESCR, SnmpBackend
from provisioner.wlan.profile import ProfileError, WlanProfile, wlan_profile
from provisioner.wlan.readback import (
    ControllerSnapshot,
    answers_snmp,
    ap_problems,
    ap_view,
    aps_of,
    controller_access,
    controller_name,
    failure_kind,
    profile_differences,
    read_controller,
    unknown_aps,
)

Checked = DeviceResult[list[str]]
@dataclass(frozen=True)
class ControllerRead:
    """A controller's snapshot and profile, or why there is none."""

    device: Device
    snapshot: ControllerSnapshot | None
    profile: WlanProfile | None
    error: ProvisionerError | None
    elapsed_ms: float


def read(device: Device, timeout: float = 10.0) -> ControllerRead:
    """Read one controller; its failure is data."""
    started = time.perf_counter()
    try:
        network = device.vars.get("school_network")
        profile = wlan_profile(network if isinstance(network, dict) else {})
        snapshot = read_controller(controller_access(device, timeout))
    except ProfileError as exc:
        error: ProvisionerError = ProvisionerError(f"{device.name}: WLAN profile: {exc}")
        return ControllerRead(device, None, None, error, _ms(started))
    except ProvisionerError as exc:
        return ControllerRead(device, None, None, exc, _ms(started))
    return ControllerRead(device, snapshot, profile, None, _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def read_all(controllers: Sequence[Device], workers: int = 16,
             timeout: float = 10.0) -> dict[str, ControllerRead]:
    """Read the controllers side by side (each waits on the network), by name."""
    if not controllers:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(controllers)))) as pool:
        return {r.device.name: r for r in pool.map(lambda d: read(d, timeout), controllers)}


def _controller_result(read_: ControllerRead, school: Sequence[Device]) -> Checked:
    device = read_.device
    if read_.error is not None or read_.snapshot is None or read_.profile is None:
        return DeviceResult(device.name, None, failure_kind(read_.error or ProvisionerError()),
                            str(read_.error), read_.elapsed_ms)
    problems = profile_differences(read_.profile, read_.snapshot.config)
    if problems:
        return DeviceResult(device.name, problems, FailureKind.FAILED,
                            f"{device.name}: " + "; ".join(problems), read_.elapsed_ms)
    notes = [f"AP {line} is in its cluster but not in the inventory"
             for line in unknown_aps(read_.snapshot, aps_of(device.name, school))]
    return DeviceResult(device.name, notes, None, HostStatus.VERIFIED.value, read_.elapsed_ms)


def _ap_result(device: Device, reads: dict[str, ControllerRead],
               snmp_problems: dict[str, list[str]]) -> Checked:
    name = controller_name(device)
    read_ = reads.get(name)
    if read_ is None:
        return DeviceResult(device.name, None, FailureKind.CONFIG,
                            f"{device.name}: names controller {name!r}, which is not a WLAN "
                            "controller of its school's inventory; fix its controller var")
    if read_.snapshot is None or read_.profile is None:
        return DeviceResult(device.name, None, failure_kind(read_.error or ProvisionerError()),
                            f"{device.name}: through its controller: {read_.error}")
    problems = ap_problems(ap_view(read_.snapshot, device), read_.profile, name)
    problems += snmp_problems.get(device.name, [])
    if problems:
        return DeviceResult(device.name, problems, FailureKind.FAILED,
                            f"{device.name}: " + "; ".join(problems))
    return DeviceResult(device.name, [], None, HostStatus.VERIFIED.value)


def snmp_identity(devices: Sequence[Device], snmp: SnmpBackend) -> dict[str, list[str]]:
    """Per AP that answers SNMP: a problem when its agent is silent as the configured
    user, or when its inventory lacks the settings to ask it (`reach.snmp_target`)."""
    targets, found = [], {}
    for device in (d for d in devices if answers_snmp(d)):
        try:
            targets.append(snmp_target(device, device.vars))
        except ConfigError as exc:
            found[device.name] = [f"no SNMP settings to read it back with: {exc}"]
    for reply in snmp.get_many(targets, [SYS_DESCR]) if targets else []:
        found[reply.target] = [] if reply.ok else [f"SNMP does not answer ({reply.error})"]
    return found


def is_wlan(device: Device) -> bool:
    """Whether the device is verified through a WLAN controller (or is one)."""
    return device.role is Role.WLAN_CONTROLLER or bool(controller_name(device))


def verify_wlan(devices: Sequence[Device], school: Sequence[Device],
                snmp: SnmpBackend) -> list[Checked]:
    """Verify the controllers and controller-managed APs among `devices`.

    Args:
        devices: the devices to verify (others are ignored).
        school: every device of their schools (to find controllers and all their APs).
        snmp: the SNMP poller for the APs that answer SNMP.

    Returns:
        One result per WLAN device of `devices`, in order; a verified controller's data
        lists its warnings (unknown APs).
    """
    wlan = [d for d in devices if is_wlan(d)]
    names = {d.name for d in wlan if d.role is Role.WLAN_CONTROLLER}
    names |= {controller_name(d) for d in wlan if d.role is not Role.WLAN_CONTROLLER}
    everyone = {d.name: d for d in [*school, *devices]}
    controllers = [everyone[n] for n in sorted(names)
                   if n in everyone and everyone[n].role is Role.WLAN_CONTROLLER]
    reads = read_all(controllers)
    aps = [d for d in wlan if d.role is not Role.WLAN_CONTROLLER]
    snmp_problems = snmp_identity(aps, snmp)
    return [_controller_result(reads[d.name], [*school, *devices])
            if d.role is Role.WLAN_CONTROLLER else _ap_result(d, reads, snmp_problems)
            for d in wlan]
