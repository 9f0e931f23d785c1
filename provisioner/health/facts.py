"""What a health poll learns about one device: `DeviceFacts`, parsed from `SnmpData`.

Plain frozen dataclasses, no I/O. A profile parser (provisioner.health.profiles) fills
them from what the agent answered; whatever it could not read right is named in
`DeviceFacts.anomalies` instead of failing the device. Units are in the field names
(`_s`, `_mbps`, `_w`, `_bytes`); None means "the agent did not say".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Device roles as the inventories group them (a profile may use the role to decide
#: which sections it expects, e.g. PoE only on switches).
ROLES = ("switch", "access_point", "wlan_controller", "server", "router", "ups", "other")


@dataclass(frozen=True)
class InterfaceFacts:
    """One row of IF-MIB ifTable/ifXTable (RFC 2863).

    Counters are as the agent gave them (64-bit ifHC* where the agent has them, see
    `counter_bits`); a wrap against an earlier sample is for the caller to see.
    """

    index: int
    name: str  # ifName, else ifDescr
    descr: str = ""
    alias: str = ""  # ifAlias: what the admin wrote on the port ("uplink core", "AP R104")
    if_type: int | None = None  # IANAifType, e.g. 6 ethernetCsmacd, 24 softwareLoopback
    admin: str | None = None  # up, down, testing
    oper: str | None = None  # up, down, testing, unknown, dormant, notPresent, lowerLayerDown
    speed_mbps: int | None = None  # ifHighSpeed, else ifSpeed / 1e6
    in_octets: int | None = None
    out_octets: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None
    counter_bits: int = 32  # 64 when the octet counters came from ifHCInOctets/ifHCOutOctets


@dataclass(frozen=True)
class PoeFacts:
    """One PSE of POWER-ETHERNET-MIB pethMainPseTable (RFC 3621)."""

    group: int
    power_w: int | None = None  # pethMainPsePower: nominal budget, watts
    status: str | None = None  # pethMainPseOperStatus: on, off, faulty
    consumption_w: int | None = None  # pethMainPseConsumptionPower, watts


@dataclass(frozen=True)
class RadioFacts:
    """One radio of an access point (vendor WLAN MIB)."""

    ap: str  # the AP's name (or key when it has none)
    index: str  # the radio's index within the AP, as the MIB gives it
    status: str | None = None  # up, down
    channel: int | None = None
    band: str | None = None  # "2.4GHz", "5GHz" where the MIB says
    clients: int | None = None


@dataclass(frozen=True)
class AccessPointFacts:
    """One access point as a controller (or the AP itself) reports it."""

    key: str  # the MIB's index for the AP (often its MAC, as dotted decimal)
    name: str
    status: str | None = None  # up, down
    clients: int = 0
    model: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class WlanFacts:
    """WLAN state from a vendor MIB (controller, Instant cluster or standalone AP)."""

    clients_total: int | None = None
    aps: tuple[AccessPointFacts, ...] = ()
    radios: tuple[RadioFacts, ...] = ()
    ssids: tuple[str, ...] = ()


@dataclass(frozen=True)
class StorageFacts:
    """One HOST-RESOURCES-MIB hrStorageEntry (RFC 2790), in bytes."""

    index: int
    descr: str
    kind: str  # ram, virtualMemory, fixedDisk, removableDisk, networkDisk, other, ...
    size_bytes: int | None = None  # hrStorageSize * hrStorageAllocationUnits
    used_bytes: int | None = None  # hrStorageUsed * hrStorageAllocationUnits


@dataclass(frozen=True)
class ProcessCheck:
    """One UCD-SNMP-MIB prEntry: a `proc` line of snmpd.conf and whether it holds."""

    name: str  # prNames
    count: int | None = None  # prCount: processes running
    minimum: int | None = None  # prMin
    maximum: int | None = None  # prMax
    error: bool = False  # prErrorFlag == 1
    message: str = ""  # prErrMessage


@dataclass(frozen=True)
class ServerFacts:
    """Server load from HOST-RESOURCES-MIB and UCD-SNMP-MIB (net-snmp)."""

    storage: tuple[StorageFacts, ...] = ()
    cpu_loads: tuple[int, ...] = ()  # hrProcessorLoad per CPU, percent over the last minute
    load_1: float | None = None  # UCD laLoad.1 / .2 / .3
    load_5: float | None = None
    load_15: float | None = None
    mem_total_bytes: int | None = None  # memTotalReal (kB) * 1024
    mem_available_bytes: int | None = None  # memAvailReal (kB) * 1024
    processes: tuple[ProcessCheck, ...] = ()


@dataclass(frozen=True)
class DeviceFacts:
    """Everything one health poll learned about a device.

    Attributes:
        profile: the name of the profile that parsed it (e.g. "cisco-ios", "generic").
        vendor: e.g. "Cisco", "HPE", "Aruba", "Ubiquiti", "net-snmp"; None if unknown.
        model, firmware, serial: from ENTITY-MIB (chassis), vendor MIBs or sysDescr.
        uptime_s: sysUpTime in seconds (hundredths kept as a float).
        anomalies: one line per odd value: the OID and what was odd about it.
    """

    profile: str
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    sys_name: str | None = None
    sys_location: str | None = None
    sys_contact: str | None = None
    sys_object_id: str | None = None
    sys_descr: str | None = None
    uptime_s: float | None = None
    interfaces: tuple[InterfaceFacts, ...] = ()
    poe: tuple[PoeFacts, ...] = ()
    wlan: WlanFacts | None = None
    server: ServerFacts | None = None
    anomalies: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (nested dataclasses become dicts)."""
        return asdict(self)


def counter_delta(previous: int | None, current: int | None, bits: int) -> tuple[int | None, bool]:
    """How much a counter grew between two samples, and whether it wrapped.

    A counter that is lower than before wrapped once at 2**bits (RFC 2578: Counter32
    and Counter64 wrap to zero). A reboot also resets counters: the caller compares
    uptimes first and does not ask for a delta across one.

    Returns:
        (delta, wrapped): delta None when either sample is missing.
    """
    if previous is None or current is None:
        return None, False
    if current >= previous:
        return current - previous, False
    return current + 2 ** bits - previous, True
