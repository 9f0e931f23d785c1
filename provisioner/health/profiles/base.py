"""The pieces profiles are made of: a tolerant reader of `SnmpData`, sections, profiles.

A *section* knows one MIB (or one vendor's part of one): the OIDs to GET and walk and
how to read them into a `Draft` of the device's facts. A *profile* is the sections a
kind of device answers to. Reading never raises on odd data: a missing column, a
wrong type, NoSuchInstance, hex where text was due or a cut-off table becomes a line
in `anomalies` naming the OID, and the value is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from provisioner.health.facts import DeviceFacts
from provisioner.snmp import Marker, PollRequest, SnmpData, SnmpValue

#: Rows of one table a parser turns into facts at most; more are noted, not parsed.
MAX_ROWS = 10_000


# MIB object names of the objects most profiles read, for anomalies people can read:
# OID prefix -> name (SNMPv2-MIB system group, IF-MIB ifTable and ifXTable columns,
# HOST-RESOURCES-MIB hrStorageTable, UCD-SNMP-MIB prTable and laTable).
_OBJECT_NAMES: dict[str, str] = {
    **{f"1.3.6.1.2.1.1.{n}": name for n, name in enumerate(
        ("sysDescr", "sysObjectID", "sysUpTime", "sysContact", "sysName", "sysLocation",
         "sysServices"), start=1)},
    **{f"1.3.6.1.2.1.2.2.1.{n}": name for n, name in (
        (1, "ifIndex"), (2, "ifDescr"), (3, "ifType"), (5, "ifSpeed"), (7, "ifAdminStatus"),
        (8, "ifOperStatus"), (10, "ifInOctets"), (14, "ifInErrors"), (16, "ifOutOctets"),
        (20, "ifOutErrors"))},
    **{f"1.3.6.1.2.1.31.1.1.1.{n}": name for n, name in (
        (1, "ifName"), (6, "ifHCInOctets"), (10, "ifHCOutOctets"), (15, "ifHighSpeed"),
        (18, "ifAlias"))},
    **{f"1.3.6.1.2.1.25.2.3.1.{n}": name for n, name in (
        (2, "hrStorageType"), (3, "hrStorageDescr"), (4, "hrStorageAllocationUnits"),
        (5, "hrStorageSize"), (6, "hrStorageUsed"))},
    "1.3.6.1.4.1.2021.2.1.2": "prNames", "1.3.6.1.4.1.2021.2.1.100": "prErrorFlag",
    "1.3.6.1.4.1.2021.10.1.3": "laLoad",
}


def object_name(oid: str) -> str:
    """`oid` with its MIB object name where `_OBJECT_NAMES` has it: "sysLocation.0
    (1.3.6.1.2.1.1.6.0)", "ifDescr (1.3.6.1.2.1.2.2.1.2)"; else the OID alone."""
    parts = oid.split(".")
    for cut in range(len(parts), 0, -1):
        name = _OBJECT_NAMES.get(".".join(parts[:cut]))
        if name is not None:
            return f"{'.'.join([name, *parts[cut:]])} ({oid})"
    return oid


class Reader:
    """Typed, tolerant access to what an agent answered; collects anomalies."""

    def __init__(self, data: SnmpData) -> None:
        self.data = data
        self.anomalies: list[str] = []

    def note(self, oid: str, what: str) -> None:
        """Record one odd value (the OID and what was odd about it)."""
        line = f"{object_name(oid)}: {what}"
        if line not in self.anomalies:
            self.anomalies.append(line)

    def _marked(self, oid: str, value: SnmpValue) -> bool:
        marker = self.data.markers.get(oid)
        if value is None:
            if marker in (Marker.NO_SUCH_INSTANCE, Marker.NO_SUCH_OBJECT,
                          Marker.END_OF_MIB_VIEW):
                self.note(oid, f"{marker.value} (no value)")
            elif marker is not None:
                self.note(oid, f"no value ({marker.value})")
            return True
        return False

    def text(self, oid: str, value: SnmpValue) -> str | None:
        """A value meant as text; hex (non-UTF-8) is decoded with replacement, noted."""
        if self._marked(oid, value):
            return None
        if isinstance(value, int):
            self.note(oid, f"expected text, got the number {value}")
            return str(value)
        assert isinstance(value, str)
        if self.data.markers.get(oid) in (Marker.HEX, Marker.OPAQUE):
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                return value
            self.note(oid, "not UTF-8 text; shown with replacement characters")
            return raw.rstrip(b"\x00").decode("utf-8", "replace")
        return value

    def number(self, oid: str, value: SnmpValue, *, bits: int | None = None) -> int | None:
        """A value meant as a number; a counter beyond its width is noted and dropped."""
        if self._marked(oid, value):
            return None
        if not isinstance(value, int):
            text = str(value).strip()
            if text.lstrip("-").isdigit():
                self.note(oid, f"expected a number, got the text {text!r}; read as number")
                return int(text)
            self.note(oid, f"expected a number, got {text[:40]!r}")
            return None
        if bits is not None and not 0 <= value < 2 ** bits:
            self.note(oid, f"{value} does not fit a {bits}-bit counter")
            return None
        return value

    def scalar_text(self, oid: str) -> str | None:
        """A GET result as text (None, noted, when it is missing)."""
        return self.text(oid, self.data.scalars.get(oid)) if oid in self.data.scalars \
            else None

    def scalar_number(self, oid: str) -> int | None:
        """A GET result as a number (None, noted, when it is missing or odd)."""
        return self.number(oid, self.data.scalars.get(oid)) if oid in self.data.scalars \
            else None

    def column(self, base: str) -> dict[str, SnmpValue]:
        """A walked column by index (empty when not walked or not answered).

        A column cut off by the poller's row cap, or longer than `MAX_ROWS`, is noted;
        only its first `MAX_ROWS` rows are given.
        """
        rows = self.data.tables.get(base, {})
        if base in self.data.truncated:
            self.note(base, f"table cut at {self.data.truncated[base]} rows by the poller")
        if len(rows) > MAX_ROWS:
            self.note(base, f"{len(rows)} rows; only the first {MAX_ROWS} are read")
            rows = dict(list(rows.items())[:MAX_ROWS])
        return rows

    def texts(self, base: str) -> dict[str, str]:
        """A column of text values by index (odd ones noted and skipped)."""
        out: dict[str, str] = {}
        for index, value in self.column(base).items():
            text = self.text(f"{base}.{index}", value)
            if text is not None:
                out[index] = text
        return out

    def macs(self, base: str) -> dict[str, str]:
        """A column of 6-byte MAC addresses (OCTET STRING) as aa:bb:cc:dd:ee:ff.

        A MAC whose bytes happen to be printable arrives as text; it is turned back
        into its bytes. Values that are not 6 bytes are noted and skipped.
        """
        out: dict[str, str] = {}
        for index, value in self.column(base).items():
            oid = f"{base}.{index}"
            if self._marked(oid, value):
                continue
            raw = _octets(value, self.data.markers.get(oid))
            if raw is None or len(raw) != 6:
                self.note(oid, f"expected a 6-byte MAC address, got {str(value)[:40]!r}")
                continue
            out[index] = raw.hex(":")
        return out

    def numbers(self, base: str, *, bits: int | None = None) -> dict[str, int]:
        """A column of numbers by index (odd ones noted and skipped)."""
        out: dict[str, int] = {}
        for index, value in self.column(base).items():
            number = self.number(f"{base}.{index}", value, bits=bits)
            if number is not None:
                out[index] = number
        return out


def _octets(value: SnmpValue, marker: Marker | None) -> bytes | None:
    if not isinstance(value, str):
        return None
    if marker in (Marker.HEX, Marker.OPAQUE):
        try:
            return bytes.fromhex(value)
        except ValueError:
            return None
    return value.encode("utf-8")


@dataclass
class Draft:
    """Facts being gathered by sections; `finish()` freezes them into `DeviceFacts`."""

    fields: dict[str, Any] = field(default_factory=dict)

    def set(self, name: str, value: Any) -> None:
        """Set a fact unless the value is None or empty."""
        if value not in (None, "", ()):
            self.fields[name] = value

    def default(self, name: str, value: Any) -> None:
        """Set a fact only if no section has set it yet."""
        if self.fields.get(name) in (None, "", ()):
            self.set(name, value)

    def finish(self, profile: str, anomalies: Iterable[str]) -> DeviceFacts:
        """The frozen facts."""
        return DeviceFacts(profile=profile, anomalies=tuple(anomalies), **self.fields)


@dataclass(frozen=True)
class Section:
    """One MIB's part of a profile.

    Attributes:
        name: e.g. "IF-MIB".
        source: the MIB or document the OIDs and their meaning follow.
        gets: scalar OIDs to GET.
        walks: column OIDs to walk.
        read: fills the draft from the reader (`(reader, draft, role) -> None`).
    """

    name: str
    source: str
    gets: tuple[str, ...]
    walks: tuple[str, ...]
    read: Callable[[Reader, Draft, str], None]


@dataclass(frozen=True)
class Profile:
    """What to ask one kind of device and how to read it.

    Attributes:
        name: e.g. "cisco-ios".
        vendor: the vendor it stands for (None for generic).
        sections: the sections every such device is asked for.
        role_sections: extra sections by device role (e.g. host resources for servers).
        matches: (sysObjectID, sysDescr) -> does this profile fit?
    """

    name: str
    vendor: str | None
    sections: tuple[Section, ...]
    matches: Callable[[str, str], bool]
    role_sections: dict[str, tuple[Section, ...]] = field(default_factory=dict)

    def sections_for(self, role: str) -> tuple[Section, ...]:
        """The sections to ask a device of `role` for (no section twice)."""
        chosen: dict[str, Section] = {s.name: s for s in self.sections}
        for section in self.role_sections.get(role, ()):
            chosen.setdefault(section.name, section)
        return tuple(chosen.values())

    def request(self, role: str, max_rows: int = MAX_ROWS) -> PollRequest:
        """The second-phase request for a device of `role`."""
        gets: dict[str, None] = {}
        walks: dict[str, None] = {}
        for section in self.sections_for(role):
            gets.update(dict.fromkeys(section.gets))
            walks.update(dict.fromkeys(section.walks))
        return PollRequest(gets=tuple(gets), walks=tuple(walks), max_rows=max_rows)

    def parse(self, data: SnmpData, role: str) -> DeviceFacts:
        """Read `data` into facts; never raises on odd data (see `Reader`)."""
        reader = Reader(data)
        draft = Draft()
        if self.vendor:
            draft.set("vendor", self.vendor)
        for section in self.sections_for(role):
            try:
                section.read(reader, draft, role)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                # A parser bug on data no one foresaw must cost one section, not the device.
                reader.note(section.name, f"could not be read ({type(exc).__name__}: {exc})")
        return draft.finish(self.name, reader.anomalies)


def enterprise(sys_object_id: str) -> int | None:
    """The private enterprise number in a sysObjectID (1.3.6.1.4.1.N...), else None."""
    parts = sys_object_id.strip(".").split(".")
    if parts[:6] == ["1", "3", "6", "1", "4", "1"] and len(parts) > 6 and parts[6].isdigit():
        return int(parts[6])
    return None
