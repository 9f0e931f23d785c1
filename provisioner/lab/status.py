"""`provision lab status`: does every lab device answer over SSH and SNMPv3?"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from provisioner.devices.ssh import probe_ssh
from provisioner.errors import DeviceError, LabError
from provisioner.lab.credentials import (
    DEPLOY_USER,
    SNMP_USER,
    SWITCH_USER,
    LabCredentials,
    read_secret,
)
from provisioner.lab.state import load_state
from provisioner.lab.topology import DeviceKind, LabDevice
from provisioner.snmp import SYS_DESCR, SnmpBackend, SnmpTarget, SnmpV3User

SSH_WORKERS = 16


@dataclass(frozen=True)
class DeviceStatus:
    """How one lab device answered. `ssh` is None for SNMP-only devices."""

    device: LabDevice
    ssh_error: str | None
    snmp_error: str | None
    sys_descr: str = ""
    ssh_checked: bool = True

    @property
    def ok(self) -> bool:
        """SSH (where managed over SSH) and SNMP both answered."""
        return self.ssh_error is None and self.snmp_error is None


def snmp_target(device: LabDevice, creds: LabCredentials) -> SnmpTarget:
    """The SNMPv3 authPriv target of a lab device (context: its recording, if any)."""
    user = SnmpV3User(SNMP_USER, creds.snmp_auth, creds.snmp_priv)
    return SnmpTarget(device.name, device.address, user=user, context=device.recording or "")


def _ssh_check(device: LabDevice, creds: LabCredentials, switch_password: str) -> str | None:
    if not device.has_ssh:
        return None
    try:
        if device.kind is DeviceKind.IOS_SWITCH:
            probe_ssh(device.address, username=SWITCH_USER, password=switch_password,
                      known_hosts=creds.known_hosts)
        else:
            probe_ssh(device.address, username=DEPLOY_USER, key_file=creds.ssh_key,
                      known_hosts=creds.known_hosts)
    except DeviceError as exc:
        return str(exc)
    return None


def check_devices(devices: Sequence[LabDevice], creds: LabCredentials,
                  snmp: SnmpBackend) -> list[DeviceStatus]:
    """Probe every device over SSH (threads) and SNMPv3 (one async batch)."""
    password = read_secret(creds.switch_password)
    with ThreadPoolExecutor(max_workers=SSH_WORKERS) as pool:
        ssh_errors = list(pool.map(lambda d: _ssh_check(d, creds, password), devices))
    replies = snmp.get_many([snmp_target(d, creds) for d in devices], [SYS_DESCR],
                            timeout=2.0, retries=1)
    return [
        DeviceStatus(device, ssh_error, reply.error, reply.values.get(SYS_DESCR, ""),
                     ssh_checked=device.has_ssh)
        for device, ssh_error, reply in zip(devices, ssh_errors, replies, strict=True)
    ]


def lab_status(lab_dir: Path, snmp: SnmpBackend) -> list[DeviceStatus]:
    """Status of every device of the running lab.

    Raises:
        LabError: no lab is running (nothing is probed then: its addresses lead nowhere).
    """
    state = load_state(lab_dir)
    if state is None or not state.complete:
        raise LabError("no lab is running; start one with 'provision lab up'")
    return check_devices(state.devices, LabCredentials(lab_dir / "credentials"), snmp)
