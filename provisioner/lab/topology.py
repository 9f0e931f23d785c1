"""What a lab consists of: devices, their names, addresses and namespaces. Pure, no I/O."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from provisioner.models import Role

BRIDGE = "pvlab0"
# The lab's private range: it exists only on the lab bridge and inside the lab's
# namespaces. Nothing routes out of it (no default route, no NAT in any host).
LAB_NETWORK = ipaddress.IPv4Network("10.213.0.0/16")
BRIDGE_ADDRESS = "10.213.0.1"
NETNS_PREFIX = "pvlab-"
VETH_PREFIX = "pvl"
MAX_DEVICES_PER_SCHOOL = 250
MAX_SCHOOLS = 250

# Real device recordings shipped by snmpsim-data, answered by the lab's SNMP-only
# devices; the community / SNMPv3 context name is the recording path.
SWITCH_RECORDING = "network/switch/cisco-c3750"
AP_RECORDINGS = ("network/wifi/aruba-7010", "network/wifi/ubiquiti-m5")


class DeviceKind(StrEnum):
    """How the lab realises a device."""

    DEBIAN_HOST = "debian_host"  # own root fs, real sshd + snmpd (servers, Linux APs)
    IOS_SWITCH = "ios_switch"  # fake-switches over SSH + snmpsim recording over SNMP
    RECORDED_AP = "recorded_ap"  # SNMP only, answered from a real WLAN recording


@dataclass(frozen=True)
class LabSpec:
    """How many devices of each kind every lab school gets."""

    school_ids: tuple[str, ...]
    servers: int = 2
    switches: int = 4
    aps: int = 8
    recorded_aps: int = 2

    @property
    def per_school(self) -> int:
        """Devices in one lab school."""
        return self.servers + self.switches + self.aps + self.recorded_aps


@dataclass(frozen=True)
class LabDevice:
    """One device of the lab.

    Attributes:
        index: position in the whole lab (0-based); names the veth pair.
        school_id: the school the device belongs to.
        name: the Ansible inventory host name, unique across the lab.
        role: server, switch or access point.
        kind: how the lab realises it.
        platform: the inventory platform (`debian`, `cisco_ios`, `aruba_instant` ...).
        address: its management address inside the lab network.
        recording: the snmpsim recording it answers from, if any.
    """

    index: int
    school_id: str
    name: str
    role: Role
    kind: DeviceKind
    platform: str
    address: str
    recording: str | None = None

    @property
    def netns(self) -> str:
        """The network namespace the device lives in."""
        return f"{NETNS_PREFIX}{self.name}"

    @property
    def veth_host(self) -> str:
        """The host end of the device's veth pair (on the bridge); <= 15 chars."""
        return f"{VETH_PREFIX}{self.index}h"

    @property
    def veth_device(self) -> str:
        """The device end of its veth pair, renamed to eth0 inside the namespace."""
        return f"{VETH_PREFIX}{self.index}d"

    @property
    def has_ssh(self) -> bool:
        """Whether the device is managed over SSH (recorded APs answer SNMP only)."""
        return self.kind is not DeviceKind.RECORDED_AP


def _school_devices(spec: LabSpec, school_no: int, school_id: str, start: int) -> list[LabDevice]:
    net = LAB_NETWORK.network_address + (school_no + 1) * 256
    rows: list[tuple[Role, DeviceKind, str, str, str | None]] = []
    rows += [(Role.SERVER, DeviceKind.DEBIAN_HOST, "srv", "debian", None)] * spec.servers
    switch = (Role.SWITCH, DeviceKind.IOS_SWITCH, "sw", "cisco_ios", SWITCH_RECORDING)
    rows += [switch] * spec.switches
    rows += [(Role.ACCESS_POINT, DeviceKind.DEBIAN_HOST, "ap", "linux_hostapd", None)] * spec.aps
    for n in range(spec.recorded_aps):
        ap_recording = AP_RECORDINGS[n % len(AP_RECORDINGS)]
        ap_platform = "aruba_instant" if "aruba" in ap_recording else "ubiquiti_airos"
        rows.append((Role.ACCESS_POINT, DeviceKind.RECORDED_AP, "wap", ap_platform, ap_recording))
    counters: dict[str, int] = {}
    devices = []
    for offset, (role, kind, prefix, platform, recording) in enumerate(rows):
        counters[prefix] = counters.get(prefix, 0) + 1
        devices.append(
            LabDevice(
                index=start + offset,
                school_id=school_id,
                name=f"{school_id}-{prefix}{counters[prefix]:02d}",
                role=role,
                kind=kind,
                platform=platform,
                address=str(net + 10 + offset),
                recording=recording,
            )
        )
    return devices


def plan_lab(spec: LabSpec) -> list[LabDevice]:
    """Lay out every device of a lab: names, addresses, namespaces.

    Raises:
        ValueError: the spec asks for more schools or devices than the lab range holds.
    """
    if not spec.school_ids:
        raise ValueError("a lab needs at least one school")
    if len(spec.school_ids) > MAX_SCHOOLS:
        raise ValueError(f"a lab holds at most {MAX_SCHOOLS} schools")
    if spec.per_school > MAX_DEVICES_PER_SCHOOL:
        raise ValueError(f"a lab school holds at most {MAX_DEVICES_PER_SCHOOL} devices")
    devices: list[LabDevice] = []
    for school_no, school_id in enumerate(spec.school_ids):
        devices += _school_devices(spec, school_no, school_id, len(devices))
    return devices


def lab_school_ids(planned: Sequence[str], count: int) -> tuple[str, ...]:
    """The ids of `count` lab schools: the plan's first schools, then made-up ones.

    Lab schools carry the plan's ids so their inventories check and sync against it.
    """
    ids = list(planned[:count])
    candidate = 100001
    while len(ids) < count:
        if str(candidate) not in ids and str(candidate) not in planned:
            ids.append(str(candidate))
        candidate += 1
    return tuple(ids)
