"""The SNMP side of the lab's simulated IOS switches: a real recording, their own ports.

The simulated switches speak the CLI of fake-switches' Cisco 2960-48TT-L (ports
FastEthernet0/1-48, GigabitEthernet0/1-2); their SNMP agent answers from snmpsim-data's
Cisco C3750 recording, whose interface tables list a C3750's GigabitEthernet1/0/1-12.
A port named in the inventory (`uplink.port`) must be the same interface over both, so
the lab derives its own recording: the C3750's, with the IF-MIB interface tables
(ifTable, ifXTable, ifNumber) replaced by the simulator's ports and VLAN 1, and sysName
answered per switch (its inventory name, as a real switch's hostname). Everything
else (the rest of the system group, ENTITY-MIB, PoE, bridge tables) stays as recorded.

Sources: IF-MIB (RFC 2863) ifTable 1.3.6.1.2.1.2.2.1, ifXTable 1.3.6.1.2.1.31.1.1.1,
ifNumber 1.3.6.1.2.1.2.1.0; the index layout of a real 2960 (FastEthernet0/n = 1000n,
GigabitEthernet0/n = 1010n, VLAN n = n); snmpsim's .snmprec format `OID|TAG|VALUE`
(tags: 2 Integer, 4 OctetString, 4x hex OctetString, 65 Counter32, 66 Gauge32,
67 TimeTicks, 70 Counter64).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from provisioner.platforms.cisco_ios import FAST_PORTS, GIGABIT_PORTS, SNMP_RECORDING

LAB_SWITCH_RECORDING = SNMP_RECORDING
SOURCE_RECORDING = "network/switch/cisco-c3750"
_IF_ENTRY = "1.3.6.1.2.1.2.2.1."
_IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1."
_IF_NUMBER = "1.3.6.1.2.1.2.1.0"
_SYS_NAME = "1.3.6.1.2.1.1.5.0"  # SNMPv2-MIB sysName
_ETHERNET, _VIRTUAL = 6, 53  # IANAifType ethernetCsmacd, propVirtual


@dataclass(frozen=True)
class Interface:
    """One interface as the derived recording lists it."""

    index: int
    name: str  # ifDescr, as the CLI names it
    short: str  # ifName, as IOS abbreviates it
    mbps: int
    if_type: int = _ETHERNET


def interfaces() -> list[Interface]:
    """VLAN 1 and every port of the simulated switch, in ifIndex order."""
    found = [Interface(1, "Vlan1", "Vl1", 1000, _VIRTUAL)]
    for n, name in enumerate(FAST_PORTS, start=1):
        found.append(Interface(10000 + n, name, name.replace("FastEthernet", "Fa"), 100))
    for n, name in enumerate(GIGABIT_PORTS, start=1):
        found.append(Interface(10100 + n, name, name.replace("GigabitEthernet", "Gi"), 1000))
    return found


def _hex(text: str) -> str:
    return text.encode("ascii").hex()


def _octets(interface: Interface, direction: str) -> int:
    # Non-zero, so the lab's counter variation makes them move; stable per port.
    return 1_000_000 + zlib.crc32(f"{direction}.{interface.index}".encode()) % 50_000_000


def interface_rows(interface: Interface) -> list[str]:
    """The ifTable and ifXTable records of one interface (admin and oper up)."""
    i, columns = interface.index, []
    mac = f"0019e8{i:06x}"[-12:]
    columns += [(_IF_ENTRY, 1, "2", str(i)), (_IF_ENTRY, 2, "4x", _hex(interface.name)),
                (_IF_ENTRY, 3, "2", str(interface.if_type)), (_IF_ENTRY, 4, "2", "1500"),
                (_IF_ENTRY, 5, "66", str(interface.mbps * 1_000_000)),
                (_IF_ENTRY, 6, "4x", mac), (_IF_ENTRY, 7, "2", "1"), (_IF_ENTRY, 8, "2", "1"),
                (_IF_ENTRY, 9, "67", "0"),
                (_IF_ENTRY, 10, "65", str(_octets(interface, "in") % 2**32)),
                (_IF_ENTRY, 13, "65", "0"), (_IF_ENTRY, 14, "65", "0"),
                (_IF_ENTRY, 16, "65", str(_octets(interface, "out") % 2**32)),
                (_IF_ENTRY, 19, "65", "0"), (_IF_ENTRY, 20, "65", "0")]
    columns += [(_IFX_ENTRY, 1, "4x", _hex(interface.short)),
                (_IFX_ENTRY, 6, "70", str(_octets(interface, "in"))),
                (_IFX_ENTRY, 10, "70", str(_octets(interface, "out"))),
                (_IFX_ENTRY, 15, "66", str(interface.mbps)), (_IFX_ENTRY, 18, "4", "")]
    return [f"{entry}{column}.{i}|{tag}|{value}" for entry, column, tag, value in columns]


def oid_key(line: str) -> tuple[int, ...]:
    """Sort key of a .snmprec line: its OID as numbers (comments first)."""
    try:
        return tuple(int(part) for part in line.split("|", 1)[0].split("."))
    except ValueError:
        return ()


def _own_sysname(line: str) -> str:
    """sysName answered per switch by the lab's variation (its inventory name)."""
    oid, _, rest = line.partition("|")
    tag, _, value = rest.partition("|")
    if oid != _SYS_NAME or tag != "4":
        return line
    return f"{oid}|4:labuptime|sysname={value}"


def derive_switch_lines(lines: Iterable[str]) -> list[str]:
    """The lab switch's records from the source recording's: interface tables replaced.

    Returns:
        The records in OID order (snmpsim answers GETNEXT in file order).
    """
    kept = [_own_sysname(line) for line in lines
            if not line.startswith((_IF_ENTRY, _IFX_ENTRY, _IF_NUMBER + "|"))]
    ports = interfaces()
    kept.append(f"{_IF_NUMBER}|2|{len(ports)}")
    for interface in ports:
        kept += interface_rows(interface)
    return sorted(kept, key=oid_key)
