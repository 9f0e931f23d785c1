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

from collections.abc import Iterable

from provisioner.lab.switch_snmprec import Interface, derive
from provisioner.platforms.cisco_ios import FAST_PORTS, GIGABIT_PORTS, SNMP_RECORDING

LAB_SWITCH_RECORDING = SNMP_RECORDING
SOURCE_RECORDING = "network/switch/cisco-c3750"
_VIRTUAL = 53  # IANAifType propVirtual


def interfaces() -> list[Interface]:
    """VLAN 1 and every port of the simulated switch, in ifIndex order."""
    found = [Interface(1, "Vlan1", "Vl1", 1000, _VIRTUAL)]
    for n, name in enumerate(FAST_PORTS, start=1):
        found.append(Interface(10000 + n, name, name.replace("FastEthernet", "Fa"), 100))
    for n, name in enumerate(GIGABIT_PORTS, start=1):
        found.append(Interface(10100 + n, name, name.replace("GigabitEthernet", "Gi"), 1000))
    return found


def derive_switch_lines(lines: Iterable[str]) -> list[str]:
    """The lab switch's records from the C3750 recording's: its own ports (`derive`)."""
    return derive(lines, interfaces())
