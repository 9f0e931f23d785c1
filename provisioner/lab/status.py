"""`provision lab status`: does every lab device answer over SSH and SNMPv3?

One `DeviceResult[LabProbe]` per device: failure is data. A device answers when SSH
(for devices managed over SSH) and SNMPv3 both do; the first that did not names the
failure kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from provisioner.devices.ssh import probe_ssh
from provisioner.errors import DeviceError, LabError
from provisioner.inventory import reach
from provisioner.lab import wlan_lab
from provisioner.lab.credentials import DEPLOY_USER, SWITCH_USER, LabCredentials, read_secret
from provisioner.lab.faults import fault_of
from provisioner.lab.inventory import snmp_vars
from provisioner.lab.state import load_state
from provisioner.lab.topology import DeviceKind, LabDevice
from provisioner.results import AggregatedResult, DeviceResult, FailureKind
from provisioner.snmp import SYS_DESCR, SnmpBackend, SnmpReply, SnmpTarget
from provisioner.wlan.instant_api import ControllerAccess
from provisioner.wlan.readback import ControllerSnapshot, failure_kind, read_controller

SSH_WORKERS = 16


@dataclass(frozen=True)
class LabProbe:
    """What one lab device answered.

    Attributes:
        device: the lab device.
        ssh_checked: whether it is managed over SSH (recorded devices are not).
        ssh_answer: the SSH server's version string when SSH answered, else "".
        ssh_error: why SSH did not answer, or None.
        snmp_error: why SNMPv3 did not answer, or None.
        sys_descr: its sysDescr over SNMPv3, or "".
        fault: the lab fault it suffers (`provision lab fault`), or None.
        snmp_checked: whether it answers SNMP in the lab (WLAN devices do not).
        api_checked: whether it was asked over a WLAN controller's REST API.
        api_error: why the API did not answer (or the AP is not up), or None.
    """

    device: LabDevice
    ssh_checked: bool
    ssh_answer: str
    ssh_error: str | None
    snmp_error: str | None
    sys_descr: str = ""
    fault: str | None = None
    snmp_checked: bool = True
    api_checked: bool = False
    api_error: str | None = None


WLAN_KINDS = (DeviceKind.WLAN_CONTROLLER, DeviceKind.CONTROLLED_AP)


def _controller_access(device: LabDevice, creds: LabCredentials) -> ControllerAccess:
    return ControllerAccess(device.name, device.address, wlan_lab.WLAN_USER,
                            creds.wlan_password, creds.wlan_certs / f"{device.name}.pem",
                            wlan_lab.PORT, timeout=5.0)


def _read(device: LabDevice, creds: LabCredentials) -> ControllerSnapshot | DeviceError:
    try:
        return read_controller(_controller_access(device, creds))
    except DeviceError as exc:
        return exc


def _wlan_result(device: LabDevice, reads: dict[str, ControllerSnapshot | DeviceError],
                 devices: Sequence[LabDevice], fault: str | None) -> DeviceResult[LabProbe]:
    suffix = f" (lab fault: {fault})" if fault else ""
    controller = device if device.kind is DeviceKind.WLAN_CONTROLLER else \
        wlan_lab.controller_of(device, devices)
    read = reads.get(controller.name) if controller else None
    error: str | None = None
    kind: FailureKind | None = None
    if isinstance(read, DeviceError):
        error, kind = str(read), failure_kind(read)
    elif read is None:
        error, kind = "no controller in this lab", FailureKind.CONFIG
    elif device.kind is DeviceKind.CONTROLLED_AP and wlan_lab.ap_serial(device.name) not in {
            ap.serial for ap in read.aps}:
        error, kind = f"down: {controller.name if controller else '?'} does not list it", \
            FailureKind.UNREACHABLE
    probe = LabProbe(device, False, "", None, None, "", fault, snmp_checked=False,
                     api_checked=True, api_error=error)
    if error is not None:
        return DeviceResult(device.name, probe, kind, f"api: {error}{suffix}")
    return DeviceResult(device.name, probe, None, "answers")


def check_wlan(devices: Sequence[LabDevice], creds: LabCredentials,
               faults: dict[str, str]) -> dict[str, DeviceResult[LabProbe]]:
    """Probe the WLAN controllers (a REST session each, side by side) and their APs."""
    wlan = [d for d in devices if d.kind in WLAN_KINDS]
    controllers = [d for d in devices if d.kind is DeviceKind.WLAN_CONTROLLER]
    if not wlan:
        return {}
    with ThreadPoolExecutor(max_workers=SSH_WORKERS) as pool:
        reads = dict(zip((c.name for c in controllers),
                         pool.map(lambda c: _read(c, creds), controllers), strict=True))
    return {d.name: _wlan_result(d, reads, devices, fault_of(faults, d)) for d in wlan}


def snmp_target(device: LabDevice, creds: LabCredentials) -> SnmpTarget:
    """The SNMPv3 authPriv target of a lab device (context: its recording, if any): the
    one builder (`reach.snmp_target`) over the SNMP settings the lab's inventory gives it."""
    return reach.snmp_target(device, {**snmp_vars(creds), "snmp_context": device.snmp_context})


def _ssh_check(device: LabDevice, creds: LabCredentials,
               switch_password: str) -> tuple[str, DeviceError | None]:
    if not device.has_ssh:
        return "", None
    try:
        if device.kind.simulated_switch:
            answer = probe_ssh(device.address, username=SWITCH_USER, password=switch_password,
                               known_hosts=creds.known_hosts)
        else:
            answer = probe_ssh(device.address, username=DEPLOY_USER, key_file=creds.ssh_key,
                               known_hosts=creds.known_hosts)
    except DeviceError as exc:
        return "", exc
    return answer, None


def _result(device: LabDevice, ssh: tuple[str, DeviceError | None], reply: SnmpReply,
            fault: str | None) -> DeviceResult[LabProbe]:
    answer, ssh_error = ssh
    probe = LabProbe(device, device.has_ssh, answer, str(ssh_error) if ssh_error else None,
                     reply.error, reply.values.get(SYS_DESCR, ""), fault)
    suffix = f" (lab fault: {fault})" if fault else ""
    if ssh_error is not None:
        return DeviceResult(device.name, probe, ssh_error.kind, f"ssh: {ssh_error}{suffix}")
    if reply.error is not None:
        return DeviceResult(device.name, probe, reply.failure or FailureKind.PROTOCOL,
                            f"snmp: {reply.error}{suffix}", reply.elapsed_ms)
    return DeviceResult(device.name, probe, None, "answers", reply.elapsed_ms)


def check_devices(devices: Sequence[LabDevice], creds: LabCredentials, snmp: SnmpBackend,
                  faults: dict[str, str] | None = None) -> AggregatedResult[LabProbe]:
    """Probe every device over SSH (threads) and SNMPv3 (one async batch).

    Args:
        devices: the lab devices to probe.
        creds: the lab's credentials (pinned known_hosts, keys, SNMPv3 passphrases).
        snmp: the SNMP backend.
        faults: the lab's faults in effect (`LabState.faults`), to name them.

    Returns:
        One result per device, in the order given.
    """
    password = read_secret(creds.switch_password)
    wlan = check_wlan(devices, creds, faults or {})
    others = [d for d in devices if d.name not in wlan]
    with ThreadPoolExecutor(max_workers=SSH_WORKERS) as pool:
        ssh = list(pool.map(lambda d: _ssh_check(d, creds, password), others))
    replies = snmp.get_many([snmp_target(d, creds) for d in others], [SYS_DESCR],
                            timeout=2.0, retries=1)
    found = {device.name: _result(device, answer, reply, fault_of(faults or {}, device))
             for device, answer, reply in zip(others, ssh, replies, strict=True)}
    found.update(wlan)
    return AggregatedResult.of("lab status", [found[d.name] for d in devices])


def lab_status(lab_dir: Path, snmp: SnmpBackend) -> AggregatedResult[LabProbe]:
    """Status of every device of the running lab.

    Raises:
        LabError: no lab is running (nothing is probed then: its addresses lead nowhere).
    """
    state = load_state(lab_dir)
    if state is None or not state.complete:
        raise LabError("no lab is running; start one with 'provision lab up'")
    return check_devices(state.devices, LabCredentials(lab_dir / "credentials"), snmp,
                         state.faults)
