"""Switch ports and their power: IF-MIB and POWER-ETHERNET-MIB.

Sources: IF-MIB (RFC 2863) ifTable 1.3.6.1.2.1.2.2.1 and ifXTable 1.3.6.1.2.1.31.1.1.1
(64-bit ifHC* counters, ifHighSpeed in Mbit/s, ifName, ifAlias); POWER-ETHERNET-MIB
(RFC 3621) pethMainPseTable 1.3.6.1.2.1.105.1.3.1.1 (power budget and consumption in
watts, operational status).
"""

from __future__ import annotations

from provisioner.health.facts import InterfaceFacts, PoeFacts
from provisioner.health.profiles.base import Draft, Reader, Section

_IF = "1.3.6.1.2.1.2.2.1"
IF_DESCR, IF_TYPE, IF_SPEED = f"{_IF}.2", f"{_IF}.3", f"{_IF}.5"
IF_ADMIN, IF_OPER = f"{_IF}.7", f"{_IF}.8"
IF_IN_OCTETS, IF_IN_DISCARDS, IF_IN_ERRORS = f"{_IF}.10", f"{_IF}.13", f"{_IF}.14"
IF_OUT_OCTETS, IF_OUT_DISCARDS, IF_OUT_ERRORS = f"{_IF}.16", f"{_IF}.19", f"{_IF}.20"
_IFX = "1.3.6.1.2.1.31.1.1.1"
IF_NAME, IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS = f"{_IFX}.1", f"{_IFX}.6", f"{_IFX}.10"
IF_HIGH_SPEED, IF_ALIAS = f"{_IFX}.15", f"{_IFX}.18"

_PSE = "1.3.6.1.2.1.105.1.3.1.1"
PSE_POWER, PSE_STATUS, PSE_CONSUMPTION = f"{_PSE}.2", f"{_PSE}.3", f"{_PSE}.4"

ADMIN_STATUS = {1: "up", 2: "down", 3: "testing"}
OPER_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent",
               7: "lowerLayerDown"}
PSE_STATUS_NAMES = {1: "on", 2: "off", 3: "faulty"}


def _status(reader: Reader, column: str, index: str, value: int | None,
            names: dict[int, str]) -> str | None:
    if value is None:
        return None
    if value not in names:
        reader.note(f"{column}.{index}", f"unknown status value {value}")
        return None
    return names[value]


def _sort_key(index: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in index.split("."))


def _read_interfaces(reader: Reader, draft: Draft, role: str) -> None:
    descr, names, alias = reader.texts(IF_DESCR), reader.texts(IF_NAME), reader.texts(IF_ALIAS)
    numbers = {c: reader.numbers(c) for c in (IF_TYPE, IF_SPEED, IF_HIGH_SPEED, IF_ADMIN,
                                               IF_OPER)}
    counters32 = {c: reader.numbers(c, bits=32) for c in (
        IF_IN_OCTETS, IF_OUT_OCTETS, IF_IN_ERRORS, IF_OUT_ERRORS, IF_IN_DISCARDS,
        IF_OUT_DISCARDS)}
    hc_in = reader.numbers(IF_HC_IN_OCTETS, bits=64)
    hc_out = reader.numbers(IF_HC_OUT_OCTETS, bits=64)
    indexes: set[str] = set(descr) | set(names) | set(numbers[IF_OPER]) | set(numbers[IF_ADMIN])
    found: list[InterfaceFacts] = []
    for index in sorted(indexes, key=_sort_key):
        if not index.isdigit():
            reader.note(f"{IF_DESCR}.{index}", "an ifIndex that is not a number; skipped")
            continue
        high = numbers[IF_HIGH_SPEED].get(index)
        speed = numbers[IF_SPEED].get(index)
        hc = index in hc_in and index in hc_out
        found.append(InterfaceFacts(
            index=int(index), name=names.get(index) or descr.get(index) or f"if{index}",
            descr=descr.get(index, ""), alias=alias.get(index, ""),
            if_type=numbers[IF_TYPE].get(index),
            admin=_status(reader, IF_ADMIN, index, numbers[IF_ADMIN].get(index), ADMIN_STATUS),
            oper=_status(reader, IF_OPER, index, numbers[IF_OPER].get(index), OPER_STATUS),
            speed_mbps=high if high else (speed // 1_000_000 if speed is not None else None),
            in_octets=hc_in[index] if hc else counters32[IF_IN_OCTETS].get(index),
            out_octets=hc_out[index] if hc else counters32[IF_OUT_OCTETS].get(index),
            in_errors=counters32[IF_IN_ERRORS].get(index),
            out_errors=counters32[IF_OUT_ERRORS].get(index),
            in_discards=counters32[IF_IN_DISCARDS].get(index),
            out_discards=counters32[IF_OUT_DISCARDS].get(index),
            counter_bits=64 if hc else 32,
        ))
    draft.set("interfaces", tuple(found))


def _read_poe(reader: Reader, draft: Draft, role: str) -> None:
    power, consumption = reader.numbers(PSE_POWER), reader.numbers(PSE_CONSUMPTION)
    status = reader.numbers(PSE_STATUS)
    groups: list[PoeFacts] = []
    for index in sorted(set(power) | set(status) | set(consumption), key=_sort_key):
        if not index.isdigit():
            reader.note(f"{PSE_POWER}.{index}", "a PSE index that is not a number; skipped")
            continue
        groups.append(PoeFacts(
            group=int(index), power_w=power.get(index),
            status=_status(reader, PSE_STATUS, index, status.get(index), PSE_STATUS_NAMES),
            consumption_w=consumption.get(index)))
    draft.set("poe", tuple(groups))


INTERFACES = Section(
    "IF-MIB", "RFC 2863 IF-MIB ifTable (1.3.6.1.2.1.2.2.1) and ifXTable (1.3.6.1.2.1.31.1.1.1)",
    (), (IF_DESCR, IF_TYPE, IF_SPEED, IF_ADMIN, IF_OPER, IF_IN_OCTETS, IF_IN_DISCARDS,
         IF_IN_ERRORS, IF_OUT_OCTETS, IF_OUT_DISCARDS, IF_OUT_ERRORS, IF_NAME, IF_HC_IN_OCTETS,
         IF_HC_OUT_OCTETS, IF_HIGH_SPEED, IF_ALIAS),
    _read_interfaces)

POE = Section(
    "POWER-ETHERNET-MIB", "RFC 3621 POWER-ETHERNET-MIB pethMainPseTable (1.3.6.1.2.1.105.1.3.1.1)",
    (), (PSE_POWER, PSE_STATUS, PSE_CONSUMPTION), _read_poe)
