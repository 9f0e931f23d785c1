"""Every device: SNMPv2-MIB's system group, and the chassis row of ENTITY-MIB.

Sources: SNMPv2-MIB (RFC 3418) system group 1.3.6.1.2.1.1; ENTITY-MIB (RFC 6933)
entPhysicalTable 1.3.6.1.2.1.47.1.1.1.1; IANA Private Enterprise Numbers for the
vendor of a sysObjectID (https://www.iana.org/assignments/enterprise-numbers).
"""

from __future__ import annotations

import re

from provisioner.health.profiles.base import Draft, Reader, Section, enterprise
from provisioner.snmp import (
    SYS_CONTACT,
    SYS_DESCR,
    SYS_LOCATION,
    SYS_NAME,
    SYS_OBJECT_ID,
    SYS_UPTIME,
)

#: IANA enterprise number -> vendor name.
VENDORS = {
    9: "Cisco", 11: "HPE", 14823: "Aruba", 41112: "Ubiquiti", 8072: "net-snmp",
    2021: "net-snmp", 2356: "LANCOM", 25506: "H3C", 2011: "Huawei", 171: "D-Link",
    1991: "Brocade", 318: "APC", 311: "Microsoft", 674: "Dell", 2636: "Juniper",
    30065: "Arista", 890: "Zyxel", 14179: "Cisco", 25053: "Ruckus", 12356: "Fortinet",
    534: "Eaton", 6027: "Dell", 4526: "Netgear", 11863: "TP-Link", 6486: "Alcatel-Lucent",
    47196: "Aruba",
}

_ENT = "1.3.6.1.2.1.47.1.1.1.1"
ENT_DESCR, ENT_CLASS = f"{_ENT}.2", f"{_ENT}.5"
ENT_FIRMWARE, ENT_SOFTWARE, ENT_SERIAL, ENT_MODEL = (f"{_ENT}.9", f"{_ENT}.10", f"{_ENT}.11",
                                                     f"{_ENT}.13")
_CHASSIS = 3  # PhysicalClass chassis(3)

# Firmware in sysDescr: Cisco "Version 12.2(50)SE5,", ArubaOS "Version 8.3.0.0 (64659)",
# ProCurve "revision Z.14.31,".
_FIRMWARE = re.compile(r"\b(?:Version|revision)\s+([^\s,]+)", re.IGNORECASE)
# Model in sysDescr: ArubaOS "(MODEL: Aruba7010)", Cisco IOS "C3750 Software (...)",
# ProCurve "ProCurve 516733-B21 6120XG Blade Switch,".
_MODEL = (
    re.compile(r"\(MODEL:\s*([^)]+)\)"),
    re.compile(r"Cisco IOS Software, (\S+) Software"),
    re.compile(r"^(?:HP |HPE )?ProCurve ([^,]+),"),
    re.compile(r"^(?:HP|HPE|Aruba) ([^,]+Switch[^,]*),"),
)


def vendor_of(sys_object_id: str | None) -> str | None:
    """The vendor a sysObjectID's enterprise number stands for, if known."""
    number = enterprise(sys_object_id or "")
    return VENDORS.get(number) if number is not None else None


def _read_system(reader: Reader, draft: Draft, role: str) -> None:
    descr = reader.scalar_text(SYS_DESCR)
    object_id = reader.scalar_text(SYS_OBJECT_ID)
    draft.set("sys_descr", descr)
    draft.set("sys_object_id", object_id)
    draft.set("sys_name", reader.scalar_text(SYS_NAME))
    draft.set("sys_location", reader.scalar_text(SYS_LOCATION))
    draft.set("sys_contact", reader.scalar_text(SYS_CONTACT))
    ticks = reader.scalar_number(SYS_UPTIME)
    if ticks is not None:
        draft.set("uptime_s", ticks / 100)  # TimeTicks are hundredths of a second
    draft.default("vendor", vendor_of(object_id))
    if descr:
        firmware = _FIRMWARE.search(descr)
        draft.default("firmware", firmware.group(1) if firmware else None)
        for pattern in _MODEL:
            found = pattern.search(descr)
            if found:
                draft.default("model", found.group(1).strip())
                break


def _chassis_index(reader: Reader) -> str | None:
    classes = reader.numbers(ENT_CLASS)
    chassis = [i for i, c in classes.items() if c == _CHASSIS]
    if not chassis:
        return None
    return min(chassis, key=lambda i: tuple(int(p) for p in i.split(".") if p.isdigit()))


def _read_entity(reader: Reader, draft: Draft, role: str) -> None:
    index = _chassis_index(reader)
    if index is None:
        return
    def cell(column: str) -> str | None:
        text = reader.texts(column).get(index)
        return text.strip() if text else None

    # The chassis row wins over sysDescr guesses: it is the hardware's own answer.
    for name, value in (("model", cell(ENT_MODEL)), ("serial", cell(ENT_SERIAL)),
                        ("firmware", cell(ENT_SOFTWARE) or cell(ENT_FIRMWARE))):
        if value:
            draft.fields[name] = value
    draft.default("model", cell(ENT_DESCR))


SYSTEM = Section(
    "SNMPv2-MIB system", "RFC 3418 SNMPv2-MIB system group (1.3.6.1.2.1.1)",
    (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_CONTACT, SYS_NAME, SYS_LOCATION), (),
    _read_system)

ENTITY = Section(
    "ENTITY-MIB", "RFC 6933 ENTITY-MIB entPhysicalTable: the first chassis(3) row",
    (), (ENT_CLASS, ENT_DESCR, ENT_MODEL, ENT_SERIAL, ENT_SOFTWARE, ENT_FIRMWARE),
    _read_entity)
