"""HPE Aruba AOS-CX (CX 6100, 6200F, 6300 ...): health over SNMP.

- Health: the aruba-aoscx profile (enterprise 47196, Aruba's number for AOS-CX, e.g.
  sysObjectID 1.3.6.1.4.1.47196.4.1.1.1.x): system, ENTITY-MIB, IF-MIB, PoE for
  switches. AOS-CX writes its model and firmware into sysDescr ("Aruba JL675A
  6100 48G CL4 4SFP+ Swch PL.10.10.1000"); ENTITY-MIB's chassis row wins where it
  answers.
- Not provisioned yet: AOS-CX is configured through its REST API (or a CLI unlike
  AOS-S); no lab simulator.
"""

from __future__ import annotations

import re

from provisioner.health.profiles.base import Draft, Profile, Reader, Section
from provisioner.health.profiles.common import ROLE_EXTRAS, SWITCH_SECTIONS, by_enterprise
from provisioner.platforms.base import Platform, PlatformKind
from provisioner.snmp import SYS_DESCR

# sysDescr of AOS-CX: vendor, part number and model, then the firmware as two letters
# (the hardware family) and four numbers: "Aruba JL635A 8325 GL.10.04.2000",
# "HPE ANW R9Y04A 6100 48G CL4 4SFP+ Sw PL.10.16.1030",
# "Aruba JL658A 6300M Switch, FL.10.10.1020".
AOSCX_DESCR = re.compile(r"^(?:HPE ANW|HPE Aruba|Aruba)\s+(?P<model>.+?),?\s+"
                         r"(?P<firmware>[A-Z]{2}\.\d{2}\.\d{2}\.\d{4})\s*$")


def _read_descr(reader: Reader, draft: Draft, role: str) -> None:
    found = AOSCX_DESCR.match(reader.scalar_text(SYS_DESCR) or "")
    if found:
        # Defaults: ENTITY-MIB's chassis row, read after this, wins where it answers.
        draft.default("model", found.group("model"))
        draft.default("firmware", found.group("firmware"))


AOSCX_SYSDESCR = Section("AOS-CX sysDescr", "SNMPv2-MIB sysDescr as AOS-CX writes it "
                         "(vendor, part number and model, firmware)", (SYS_DESCR,), (),
                         _read_descr)
HEALTH = Profile("aruba-aoscx", "Aruba", (AOSCX_SYSDESCR, *SWITCH_SECTIONS),
                 by_enterprise(47196), ROLE_EXTRAS)


class ArubaAosCx(Platform):
    """HPE Aruba AOS-CX switches."""

    name = "aruba_aoscx"
    title = "HPE Aruba AOS-CX"
    kind = PlatformKind.SWITCH
    aliases = ("aoscx",)
    health = (HEALTH,)
    notes = "REST-first; provisioning is not built yet"


PLATFORM = ArubaAosCx()
