"""What a lab consists of: devices, their names, addresses and namespaces. Pure, no I/O."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from provisioner.models import Role
from provisioner.platforms import find_platform, platforms
from provisioner.platforms.base import LabSimulator

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
# The simulated switches answer from the C3750 recording with their own interface
# tables (derived by provisioner/platforms/cisco_ios/snmp_recording.py).
SWITCH_RECORDING = "lab/cisco-ios-switch"
AP_RECORDINGS = ("network/wifi/aruba-7010", "network/wifi/ubiquiti-m5")


# The switch platform of lab switches unless `LabSpec.switch_platforms` says otherwise.
DEFAULT_SWITCH_PLATFORM = "cisco_ios"
# Platform names for recorded vendors the inventory knows by another name.
_RECORDED_PLATFORMS = {"cisco-c3": "cisco_ios", "hpe-procurve": "hp_procurve",
                       "aruba": "aruba_os", "ubiquiti": "ubiquiti_airos"}


class DeviceKind(StrEnum):
    """How the lab realises a device."""

    DEBIAN_HOST = "debian_host"  # own root fs, real sshd + snmpd (servers, Linux APs)
    IOS_SWITCH = "ios_switch"  # fake-switches over SSH + snmpsim recording over SNMP
    AOSS_SWITCH = "aoss_switch"  # the project's AOS-S CLI over SSH + snmpsim recording
    RECORDED_AP = "recorded_ap"  # SNMP only, answered from a real WLAN recording
    RECORDED = "recorded"  # SNMP only, any role, from a recording the user chose
    WLAN_CONTROLLER = "wlan_controller"  # Aruba Instant virtual controller (HTTPS REST)
    CONTROLLED_AP = "controlled_ap"  # an Instant AP inside its controller's simulation

    @property
    def simulated_switch(self) -> bool:
        """Whether the lab's switch simulator serves it over SSH."""
        return self in (DeviceKind.IOS_SWITCH, DeviceKind.AOSS_SWITCH)


@dataclass(frozen=True)
class RecordedDevice:
    """A device of any snmpsim-data recording that every lab school gets (`--device`).

    Attributes:
        recording: the recording path without extension, e.g.
            `network/switch/hpe-procurve-516733-b21`.
        role: what it is in the school's network.
    """

    recording: str
    role: Role

    @property
    def platform(self) -> str:
        """The inventory platform: a known name for the vendor, else the vendor itself."""
        stem = self.recording.rsplit("/", 1)[-1]
        for prefix, platform in _RECORDED_PLATFORMS.items():
            if stem.startswith(prefix):
                return platform
        return stem.split("-", 1)[0].lower() or "unknown"


@dataclass(frozen=True)
class Uplink:
    """Where a device is plugged in: a switch of its school and that switch's interface."""

    host: str
    port: str


@dataclass(frozen=True)
class LabSpec:
    """How many devices of each kind every lab school gets."""

    school_ids: tuple[str, ...]
    servers: int = 2
    switches: int = 4
    aps: int = 8
    recorded_aps: int = 2
    recorded: tuple[RecordedDevice, ...] = ()
    nodes: int = 0  # execution nodes (provisioner/lab/nodes.py); 0: the controller alone
    # `[SCHOOL:]PLATFORM[,PLATFORM...]`: the switch platforms of a school (or of every
    # school), its switches taking them in turn; a school's own entry wins.
    switch_platforms: tuple[str, ...] = ()

    def platforms_of(self, school_id: str) -> tuple[str, ...]:
        """The switch platforms a school's switches take in turn."""
        every: tuple[str, ...] = (DEFAULT_SWITCH_PLATFORM,)
        own: tuple[str, ...] | None = None
        for entry in self.switch_platforms:
            school, _, names = entry.rpartition(":")
            if school == "":
                every = tuple(names.split(","))
            elif school == school_id:
                own = tuple(names.split(","))
        return own or every
    # Aruba Instant APs per school, configured through the school's virtual controller
    # (one per school when there are any).
    wlan_aps: int = 4

    @property
    def per_school(self) -> int:
        """Devices in one lab school."""
        controllers = 1 if self.wlan_aps else 0
        return (self.servers + self.switches + self.aps + self.recorded_aps
                + len(self.recorded) + controllers + self.wlan_aps)


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
    def snmp_context(self) -> str:
        """The SNMPv3 context that selects its recording ("" without one), see
        `recording_context`."""
        return recording_context(self.recording) if self.recording else ""

    @property
    def has_ssh(self) -> bool:
        """Whether the device is managed over SSH (recorded devices answer SNMP only;
        WLAN controllers and their APs are reached through the controller's REST API)."""
        return self.kind not in (DeviceKind.RECORDED_AP, DeviceKind.RECORDED,
                                 DeviceKind.WLAN_CONTROLLER, DeviceKind.CONTROLLED_AP)

    @property
    def has_netns(self) -> bool:
        """Whether the device has a namespace of its own (an Instant AP lives only in its
        controller's simulation)."""
        return self.kind is not DeviceKind.CONTROLLED_AP


def _school_devices(spec: LabSpec, school_no: int, school_id: str, start: int) -> list[LabDevice]:
    net = LAB_NETWORK.network_address + (school_no + 1) * 256
    rows: list[tuple[Role, DeviceKind, str, str, str | None]] = []
    rows += [(Role.SERVER, DeviceKind.DEBIAN_HOST, "srv", "debian", None)] * spec.servers
    platforms = spec.platforms_of(school_id)
    for n in range(spec.switches):
        simulator = switch_simulator(platforms[n % len(platforms)])
        rows.append((Role.SWITCH, DeviceKind(simulator.kind), "sw",
                     platforms[n % len(platforms)], simulator.snmp_recording))
    rows += [(Role.ACCESS_POINT, DeviceKind.DEBIAN_HOST, "ap", "linux_hostapd", None)] * spec.aps
    for n in range(spec.recorded_aps):
        ap_recording = AP_RECORDINGS[n % len(AP_RECORDINGS)]
        # The 7010 recording is an ArubaOS mobility controller's (aruba_os, SNMP only).
        ap_platform = "aruba_os" if "aruba" in ap_recording else "ubiquiti_airos"
        rows.append((Role.ACCESS_POINT, DeviceKind.RECORDED_AP, "wap", ap_platform, ap_recording))
    rows += [(r.role, DeviceKind.RECORDED, "rec", r.platform, r.recording) for r in spec.recorded]
    if spec.wlan_aps:
        rows.append((Role.WLAN_CONTROLLER, DeviceKind.WLAN_CONTROLLER, "vc", "aruba_instant",
                     None))
        rows += [(Role.ACCESS_POINT, DeviceKind.CONTROLLED_AP, "iap", "aruba_instant",
                  None)] * spec.wlan_aps
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
        ValueError: the spec asks for more schools or devices than the lab range holds,
            or a school's switches have too few ports for its devices.
    """
    if not spec.school_ids:
        raise ValueError("a lab needs at least one school")
    if len(spec.school_ids) > MAX_SCHOOLS:
        raise ValueError(f"a lab holds at most {MAX_SCHOOLS} schools; ask for fewer")
    if spec.per_school > MAX_DEVICES_PER_SCHOOL:
        raise ValueError(f"a lab school holds at most {MAX_DEVICES_PER_SCHOOL} devices; "
                         "ask for fewer")
    for entry in spec.switch_platforms:
        school = entry.rpartition(":")[0]
        if school and school not in spec.school_ids:
            raise ValueError(f"--switch-platform names school {school}, which is not one of "
                             f"the lab's schools ({', '.join(spec.school_ids)}): give one of "
                             "them, or leave SCHOOL: out for every school")
    devices: list[LabDevice] = []
    for school_no, school_id in enumerate(spec.school_ids):
        devices += _school_devices(spec, school_no, school_id, len(devices))
    plan_uplinks(devices)  # a school whose switches lack ports fails here, before any work
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


def recording_context(recording: str) -> str:
    """The SNMPv3 context name snmpsim answers a recording under.

    An SNMPv3 contextName holds at most 32 octets (RFC 3411 SnmpAdminString); snmpsim
    registers a longer recording path under the MD5 hex digest of the path (32 chars)
    instead (snmpsim `commands/responder.py`, `probe_hash_context`).
    """
    if len(recording.encode()) <= 32:
        return recording
    return hashlib.md5(recording.encode(), usedforsecurity=False).hexdigest()


def switch_simulator(platform: str) -> LabSimulator:
    """How the lab simulates a switch of `platform` (its kind, ports, SNMP recording).

    Raises:
        ValueError: the platform has no lab switch simulator.
    """
    found = find_platform(platform)
    if found is None or found.lab is None or not DeviceKind(found.lab.kind).simulated_switch:
        switches = [p.name for p in platforms()
                    if p.lab is not None and p.lab.kind in {k.value for k in DeviceKind
                                                             if k.simulated_switch}]
        raise ValueError(f"the lab simulates no {platform!r} switch; it has "
                         f"{', '.join(switches)}")
    return found.lab


class _PortPool:
    """The free interfaces of one switch: access ports from the bottom, uplink ports
    first for switches (as a core's uplink ports are used in real schools)."""

    def __init__(self, switch: LabDevice) -> None:
        self.switch = switch.name
        ports = switch_simulator(switch.platform)
        self.fast = list(ports.access_ports)
        self.gigabit = list(ports.uplink_ports)

    def take(self, for_switch: bool) -> Uplink | None:
        if for_switch and self.gigabit:
            return Uplink(self.switch, self.gigabit.pop(0))
        if self.fast:
            return Uplink(self.switch, self.fast.pop(0) if not for_switch else self.fast.pop())
        if self.gigabit:
            return Uplink(self.switch, self.gigabit.pop(0))
        return None


def _school_uplinks(devices: Sequence[LabDevice]) -> dict[str, Uplink]:
    switches = [d for d in devices if d.kind.simulated_switch]
    if not switches:
        return {}  # nothing to plug into: every device is its own root
    core, access = _PortPool(switches[0]), [_PortPool(s) for s in switches[1:]]
    found: dict[str, Uplink] = {}
    turn = 0
    for device in devices:
        if device.name == core.switch:
            continue
        if device.role is not Role.ACCESS_POINT or not access:
            pools = [core, *access]  # switches and servers in the core's room
        else:
            pools = access[turn % len(access):] + access[:turn % len(access)] + [core]
            turn += 1
        link = next((u for pool in pools if (u := pool.take(device.role is Role.SWITCH))), None)
        if link is None:
            raise ValueError(f"school {device.school_id} has more devices than its "
                             f"{len(switches)} switches have ports; add switches")
        found[device.name] = link
    return found


def plan_uplinks(devices: Sequence[LabDevice]) -> dict[str, Uplink]:
    """Where each device of the lab is plugged in, by device name.

    Per school the first simulated switch is the core and has no uplink; the other
    switches (simulated or recorded) and the servers hang off the core; access points
    (Linux and recorded) are spread over the other switches, or the core when it is
    the only one. A school without a simulated switch has no uplinks.

    Raises:
        ValueError: a school's switches have too few ports for its devices.
    """
    found: dict[str, Uplink] = {}
    for school_id in dict.fromkeys(d.school_id for d in devices):
        found.update(_school_uplinks([d for d in devices if d.school_id == school_id]))
    return found
