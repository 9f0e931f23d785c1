"""Answer a `PollRequest` from an snmpsim `.snmprec` recording, as an agent would.

For parser tests and rehearsals without a network: a recording is one
`OID|TAG|VALUE` line per object (snmpsim's format: https://docs.lextudio.com/snmpsim/
documentation/managed-objects.html). Tags are ASN.1/SNMP type numbers (2 Integer32,
4 OCTET STRING, 5 Null, 6 OBJECT IDENTIFIER, 64 IpAddress, 65 Counter32, 66 Gauge32,
67 TimeTicks, 68 Opaque, 70 Counter64); an `x` suffix means the value is hex; a
`:module` suffix names a variation module whose parameters replace the value (for
`numeric` we take its `value=`/`initial=`/`min=` parameter, else 0).
"""

from __future__ import annotations

import bz2
import socket
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import ConfigError, NotFoundError
from provisioner.snmp import Marker, PollRequest, SnmpData, SnmpValue
from provisioner.snmp.common import octets_to_value, oid_in

_INT_TAGS = {"2", "65", "66", "67", "70"}


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.split("."))


def _numeric_start(params: str) -> str:
    fields = dict(p.split("=", 1) for p in params.split(",") if "=" in p)
    return next((fields[k] for k in ("value", "initial", "min") if k in fields), "0")


def _value(tag: str, raw: str) -> tuple[SnmpValue, Marker | None]:
    base, _, module = tag.partition(":")
    if module:
        raw = _numeric_start(raw) if module == "numeric" else raw
    hexed = base.endswith("x")
    base = base.rstrip("x")
    if base in _INT_TAGS:
        return int(_numeric_value(raw, hexed)), None
    data = bytes.fromhex(raw) if hexed else raw.encode("utf-8", "surrogateescape")
    if base == "4":
        return octets_to_value(data)
    if base == "6":
        return (data.decode("ascii") if hexed else raw).lstrip("."), None
    if base == "64":
        return (socket.inet_ntoa(data) if hexed else raw), None
    if base == "5":
        return None, Marker.OPAQUE
    return data.hex(), Marker.OPAQUE


def _numeric_value(raw: str, hexed: bool) -> int:
    if hexed:
        return int.from_bytes(bytes.fromhex(raw), "big")
    try:
        return int(raw or "0")
    except ValueError:  # a variation parameter such as "4.2e3"; floats lose 64-bit precision
        return int(float(raw))


@dataclass(frozen=True)
class Recording:
    """A loaded recording: sorted OIDs and their typed values."""

    path: Path
    oids: tuple[str, ...]
    keys: tuple[tuple[int, ...], ...]
    values: dict[str, tuple[SnmpValue, Marker | None]]

    @classmethod
    def load(cls, path: Path) -> Recording:
        """Read a `.snmprec` (or `.snmprec.bz2`) file.

        Raises:
            NotFoundError: the file cannot be read.
            ConfigError: a line is not OID|TAG|VALUE.
        """
        try:
            raw = path.read_bytes()
            text = (bz2.decompress(raw) if path.suffix == ".bz2" else raw).decode(
                "utf-8", "surrogateescape")
        except (OSError, ValueError) as exc:
            raise NotFoundError(f"recording {path}: cannot read it ({exc}); check the "
                                "path") from exc
        values: dict[str, tuple[SnmpValue, Marker | None]] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            try:
                oid, tag, value = line.split("|", 2)
                values[oid.strip(".")] = _value(tag, value)
            except ValueError as exc:
                raise ConfigError(f"recording {path} line {number}: not OID|TAG|VALUE "
                                        f"({exc}); fix or remove the line") from exc
        oids = tuple(sorted(values, key=_oid_key))
        return cls(path, oids, tuple(_oid_key(o) for o in oids), values)

    def answer(self, request: PollRequest) -> SnmpData:
        """What an agent serving this recording answers to `request`."""
        data = SnmpData()
        for oid in request.gets:
            if oid in self.values:
                value, marker = self.values[oid]
            else:
                value, marker = None, self._missing(oid)
            data.scalars[oid] = value
            if marker is not None:
                data.markers[oid] = marker
        for base in request.walks:
            self._walk(base, request.max_rows, data)
        return data

    def _missing(self, oid: str) -> Marker:
        # An object whose parent column exists but not this instance: noSuchInstance.
        parent = oid.rsplit(".", 1)[0]
        position = bisect_right(self.keys, _oid_key(parent))
        if position < len(self.oids) and oid_in(self.oids[position], parent):
            return Marker.NO_SUCH_INSTANCE
        return Marker.NO_SUCH_OBJECT

    def _walk(self, base: str, max_rows: int, data: SnmpData) -> None:
        table = data.tables.setdefault(base, {})
        position = bisect_right(self.keys, _oid_key(base))
        while position < len(self.oids) and oid_in(self.oids[position], base):
            oid = self.oids[position]
            if len(table) >= max_rows:
                data.truncated[base] = max_rows
                return
            value, marker = self.values[oid]
            table[oid[len(base) + 1:]] = value
            if marker is not None:
                data.markers[oid] = marker
            position += 1

    def lines_under(self, base: str) -> list[tuple[str, SnmpValue]]:
        """Every (index, value) under `base`, in OID order (for tests' expectations)."""
        return [(o[len(base) + 1:], self.values[o][0]) for o in self.oids if oid_in(o, base)]
