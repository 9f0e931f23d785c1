"""Servers: storage and CPU from HOST-RESOURCES-MIB, load, memory and `proc` checks from
net-snmp's UCD-SNMP-MIB.

Sources: HOST-RESOURCES-MIB (RFC 2790) hrStorageTable 1.3.6.1.2.1.25.2.3.1 (sizes in
allocation units) and hrProcessorTable 1.3.6.1.2.1.25.3.3.1; HOST-RESOURCES-TYPES
hrStorageTypes 1.3.6.1.2.1.25.2.1.N; UCD-SNMP-MIB (net-snmp) laTable
1.3.6.1.4.1.2021.10.1, memory 1.3.6.1.4.1.2021.4 (kB), prTable 1.3.6.1.4.1.2021.2.1
(one row per `proc` line of snmpd.conf).
"""

from __future__ import annotations

from provisioner.health.facts import ProcessCheck, ServerFacts, StorageFacts
from provisioner.health.profiles.base import Draft, Reader, Section
from provisioner.snmp import Marker

_HR = "1.3.6.1.2.1.25.2.3.1"
HR_TYPE, HR_DESCR, HR_UNITS, HR_SIZE, HR_USED = (f"{_HR}.2", f"{_HR}.3", f"{_HR}.4",
                                                 f"{_HR}.5", f"{_HR}.6")
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"
_STORAGE_TYPES = "1.3.6.1.2.1.25.2.1"
STORAGE_KINDS = {1: "other", 2: "ram", 3: "virtualMemory", 4: "fixedDisk",
                 5: "removableDisk", 6: "floppyDisk", 7: "compactDisc", 8: "ramDisk",
                 9: "flashMemory", 10: "networkDisk"}

LA_LOAD = "1.3.6.1.4.1.2021.10.1.3"
MEM_TOTAL_REAL, MEM_AVAIL_REAL = "1.3.6.1.4.1.2021.4.5.0", "1.3.6.1.4.1.2021.4.6.0"
_PR = "1.3.6.1.4.1.2021.2.1"
PR_NAMES, PR_MIN, PR_MAX, PR_COUNT = f"{_PR}.2", f"{_PR}.3", f"{_PR}.4", f"{_PR}.5"
PR_ERROR_FLAG, PR_ERR_MESSAGE = f"{_PR}.100", f"{_PR}.101"


def _kind(reader: Reader, index: str, value: str | None) -> str:
    if value and value.startswith(_STORAGE_TYPES + "."):
        last = value[len(_STORAGE_TYPES) + 1:]
        if last.isdigit() and int(last) in STORAGE_KINDS:
            return STORAGE_KINDS[int(last)]
    if value is not None:
        reader.note(f"{HR_TYPE}.{index}", f"unknown storage type {value}")
    return "other"


def _storage(reader: Reader) -> tuple[StorageFacts, ...]:
    types, descr = reader.texts(HR_TYPE), reader.texts(HR_DESCR)
    units, size, used = reader.numbers(HR_UNITS), reader.numbers(HR_SIZE), reader.numbers(HR_USED)
    rows: list[StorageFacts] = []
    for index in sorted(set(descr) | set(size), key=lambda i: int(i) if i.isdigit() else -1):
        if not index.isdigit():
            reader.note(f"{HR_DESCR}.{index}", "a storage index that is not a number; skipped")
            continue
        unit = units.get(index)
        if unit is None or unit <= 0:
            reader.note(f"{HR_UNITS}.{index}", "no usable allocation unit; sizes left out")
            unit = None
        def in_bytes(blocks: int | None, unit: int | None = unit) -> int | None:
            return blocks * unit if blocks is not None and unit is not None else None

        rows.append(StorageFacts(index=int(index), descr=descr.get(index, ""),
                                 kind=_kind(reader, index, types.get(index)),
                                 size_bytes=in_bytes(size.get(index)),
                                 used_bytes=in_bytes(used.get(index))))
    return tuple(rows)


def _load(reader: Reader, index: str, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        reader.note(f"{LA_LOAD}.{index}", f"load {value!r} is not a number")
        return None


def _processes(reader: Reader) -> tuple[ProcessCheck, ...]:
    names, flags, messages = reader.texts(PR_NAMES), reader.numbers(PR_ERROR_FLAG), \
        reader.texts(PR_ERR_MESSAGE)
    low, high, count = reader.numbers(PR_MIN), reader.numbers(PR_MAX), reader.numbers(PR_COUNT)
    return tuple(
        ProcessCheck(name=name, count=count.get(index), minimum=low.get(index),
                     maximum=high.get(index), error=flags.get(index) == 1,
                     message=messages.get(index, ""))
        for index, name in sorted(names.items(), key=lambda item: item[0]))


def _kb(reader: Reader, oid: str) -> int | None:
    if reader.data.markers.get(oid) is Marker.NO_SUCH_OBJECT:
        return None  # an agent without UCD-SNMP-MIB (Windows, appliances): not odd
    value = reader.scalar_number(oid)
    return value * 1024 if value is not None else None


def _read_server(reader: Reader, draft: Draft, role: str) -> None:
    loads = reader.texts(LA_LOAD)
    draft.set("server", ServerFacts(
        storage=_storage(reader),
        cpu_loads=tuple(v for _, v in sorted(reader.numbers(HR_PROCESSOR_LOAD).items())),
        load_1=_load(reader, "1", loads.get("1")), load_5=_load(reader, "2", loads.get("2")),
        load_15=_load(reader, "3", loads.get("3")),
        mem_total_bytes=_kb(reader, MEM_TOTAL_REAL),
        mem_available_bytes=_kb(reader, MEM_AVAIL_REAL),
        processes=_processes(reader)))


HOST_RESOURCES = Section(
    "HOST-RESOURCES-MIB+UCD-SNMP-MIB",
    "RFC 2790 HOST-RESOURCES-MIB hrStorageTable, hrProcessorLoad; net-snmp UCD-SNMP-MIB "
    "laLoad, memTotalReal/memAvailReal, prTable",
    (MEM_TOTAL_REAL, MEM_AVAIL_REAL),
    (HR_TYPE, HR_DESCR, HR_UNITS, HR_SIZE, HR_USED, HR_PROCESSOR_LOAD, LA_LOAD, PR_NAMES,
     PR_MIN, PR_MAX, PR_COUNT, PR_ERROR_FLAG, PR_ERR_MESSAGE),
    _read_server)
