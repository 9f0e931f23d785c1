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
from provisioner.lab.credentials import DEPLOY_USER, SWITCH_USER, LabCredentials, read_secret
from provisioner.lab.faults import fault_of
from provisioner.lab.inventory import snmp_vars
from provisioner.lab.state import load_state
from provisioner.lab.topology import LabDevice
from provisioner.results import AggregatedResult, DeviceResult, FailureKind
from provisioner.snmp import SYS_DESCR, SnmpBackend, SnmpReply, SnmpTarget

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
    """

    device: LabDevice
    ssh_checked: bool
    ssh_answer: str
    ssh_error: str | None
    snmp_error: str | None
    sys_descr: str = ""
    fault: str | None = None


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
    with ThreadPoolExecutor(max_workers=SSH_WORKERS) as pool:
        ssh = list(pool.map(lambda d: _ssh_check(d, creds, password), devices))
    replies = snmp.get_many([snmp_target(d, creds) for d in devices], [SYS_DESCR],
                            timeout=2.0, retries=1)
    return AggregatedResult.of("lab status", [
        _result(device, answer, reply, fault_of(faults or {}, device))
        for device, answer, reply in zip(devices, ssh, replies, strict=True)
    ])


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
