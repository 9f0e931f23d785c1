"""The SNMP side of the lab's simulated AOS-S switches: a real ProCurve recording, their ports.

snmpsim-data's only HP/Aruba switch recording is a ProCurve 6120XG blade switch
(`network/switch/hpe-procurve-516733-b21`, firmware Z.14.31: the same agent family as
AOS-S, enterprise 11, the same MIBs). The lab's AOS-S switches answer from it with
(`provisioner.lab.switch_snmprec.derive`): the simulated 2530-24G-PoEP's ports 1-28 and
DEFAULT_VLAN in IF-MIB (AOS-S numbers ports 1..n as ifIndex 1..n, named "1".."28", and
VLANs from ifIndex 1001 as "DEFAULT_VLAN"), sysName per switch, and the 2530's sysDescr
and ENTITY-MIB chassis row (entPhysicalDescr, entPhysicalModelName of index 1) in the
form a 2530 on YA.16.11 gives them. Everything else stays as recorded.
"""

from __future__ import annotations

from collections.abc import Iterable

from provisioner.lab.switch_snmprec import Interface, derive, hex_text
from provisioner.platforms.aruba_aoss.config import DESCRIPTION, MODEL, PORTS, RELEASE, ROM

LAB_RECORDING = "lab/aruba-aoss-switch"
SOURCE_RECORDING = "network/switch/hpe-procurve-516733-b21"
SYS_DESCR = (f"{DESCRIPTION}, revision {RELEASE}, ROM {ROM} (/ws/swbuildm/rel_beluru_qaoff/"
             "code/build/lakes(swbuildm_rel_beluru_qaoff_rel_beluru))")
_VIRTUAL = 53  # IANAifType propVirtual
_REPLACED = {
    "1.3.6.1.2.1.1.1.0": f"4x|{hex_text(SYS_DESCR)}",
    "1.3.6.1.2.1.47.1.1.1.1.2.1": f"4x|{hex_text(DESCRIPTION)}",
    "1.3.6.1.2.1.47.1.1.1.1.13.1": f"4|{MODEL}",
}


def interfaces() -> list[Interface]:
    """The simulated switch's ports 1-28 (1G; 25-28 SFP), then DEFAULT_VLAN, by ifIndex."""
    found = [Interface(port, str(port), str(port), 1000) for port in PORTS]
    return [*found, Interface(1001, "DEFAULT_VLAN", "DEFAULT_VLAN", 1000, _VIRTUAL)]


def derive_switch_lines(lines: Iterable[str]) -> list[str]:
    """The lab AOS-S switch's records from the ProCurve recording's."""
    return derive(lines, interfaces(), _REPLACED)
