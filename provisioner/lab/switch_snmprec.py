"""Lab switch recordings derived from real ones: the simulator's own ports in IF-MIB.

A simulated switch's SNMP agent answers from a snmpsim-data recording of a real switch
of its vendor; its interface tables must list the ports its CLI has, so a port named
in the inventory is the same interface over both. `derive` replaces the IF-MIB
interface tables (ifTable, ifXTable, ifNumber) with the simulator's ports, answers
sysName per switch (its inventory name, as a real switch's hostname) and replaces
what a platform asks (its sysDescr, its chassis row); everything else (the rest of
the system group, ENTITY-MIB, PoE, bridge tables) stays as recorded.

Sources: IF-MIB (RFC 2863) ifTable 1.3.6.1.2.1.2.2.1, ifXTable 1.3.6.1.2.1.31.1.1.1,
ifNumber 1.3.6.1.2.1.2.1.0; snmpsim's .snmprec format `OID|TAG|VALUE` (tags: 2 Integer,
4 OctetString, 4x hex OctetString, 65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

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


def own_sysname(line: str) -> str:
    """sysName answered per switch by the lab's variation (its inventory name)."""
    oid, _, rest = line.partition("|")
    tag, _, value = rest.partition("|")
    if oid != _SYS_NAME or tag != "4":
        return line
    return f"{oid}|4:labuptime|sysname={value}"


def hex_text(text: str) -> str:
    """A text as a snmprec hex OctetString value."""
    return text.encode("utf-8").hex()


def derive(lines: Iterable[str], ports: Sequence[Interface],
           replaced: Mapping[str, str] | None = None) -> list[str]:
    """A lab switch's records from the source recording's: interface tables replaced.

    Args:
        lines: the source recording's records.
        ports: the simulator's interfaces, in ifIndex order.
        replaced: OID -> `TAG|VALUE` answered instead of the recorded value.

    Returns:
        The records in OID order (snmpsim answers GETNEXT in file order).
    """
    replaced = replaced or {}
    kept = [own_sysname(line) for line in lines
            if not line.startswith((_IF_ENTRY, _IFX_ENTRY, _IF_NUMBER + "|"))
            and line.split("|", 1)[0] not in replaced]
    kept += [f"{oid}|{value}" for oid, value in replaced.items()]
    kept.append(f"{_IF_NUMBER}|2|{len(ports)}")
    for interface in ports:
        kept += interface_rows(interface)
    return sorted(kept, key=oid_key)
