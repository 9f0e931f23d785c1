"""A small BER codec for SNMPv2c GET and GETBULK: just what a poller sends and reads.

Follows RFC 3416 (PDUs), RFC 1157/1901 (v1/v2c message: version, community, PDU) and
X.690 BER (definite lengths, OBJECT IDENTIFIER sub-identifiers in base 128). Decoding
is written for speed: a poller reads hundreds of varbinds per device, and a walked
column's OIDs are matched by their encoded prefix, so only the index arcs are decoded.
"""

from __future__ import annotations

from provisioner.snmp import Marker, SnmpValue
from provisioner.snmp.common import octets_to_value

GET, GETBULK, RESPONSE = 0xA0, 0xA5, 0xA2
_UNSIGNED = {0x41, 0x42, 0x43, 0x46, 0x47}  # Counter32, Gauge32, TimeTicks, Counter64, UInt32
_MISSING = {0x80: Marker.NO_SUCH_OBJECT, 0x81: Marker.NO_SUCH_INSTANCE,
            0x82: Marker.END_OF_MIB_VIEW}
#: Error status names (RFC 3416 section 3) for messages.
ERROR_STATUS = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr",
                6: "noAccess", 16: "authorizationError"}


class BerError(ValueError):
    """A datagram that is not a well-formed SNMP response."""


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def tlv(tag: int, value: bytes) -> bytes:
    return bytes((tag,)) + _length(len(value)) + value


def integer(n: int) -> bytes:
    return tlv(2, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True))


def oid_body(oid: str) -> bytes:
    """The BER content bytes of a dotted OID (no tag, no length)."""
    arcs = [int(a) for a in oid.strip(".").split(".")]
    if len(arcs) < 2:
        raise ValueError(f"OID {oid!r} needs at least two arcs")
    out = bytearray(_arc(arcs[0] * 40 + arcs[1]))
    for arc in arcs[2:]:
        out += _arc(arc)
    return bytes(out)


def _arc(arc: int) -> bytes:
    if arc < 0x80:
        return bytes((arc,))
    parts = []
    while arc:
        parts.append(arc & 0x7F)
        arc >>= 7
    parts.reverse()
    return bytes([p | 0x80 for p in parts[:-1]] + [parts[-1]])


def arcs_of(body: bytes) -> list[int]:
    """Sub-identifiers of OID content bytes (for an index suffix: as they are)."""
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return arcs


def oid_text(body: bytes) -> str:
    """A full OID's content bytes as dotted text."""
    arcs = arcs_of(body)
    if not arcs:
        return ""
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return ".".join(map(str, head + arcs[1:]))


def pdu(kind: int, request_id: int, oids: list[bytes], repetitions: int = 0) -> bytes:
    """A GET or GETBULK PDU asking for `oids` (content bytes, see `oid_body`).

    GETBULK takes non-repeaters 0 and `repetitions` as max-repetitions.
    """
    binds = b"".join(tlv(0x30, tlv(6, o) + b"\x05\x00") for o in oids)
    fields = integer(request_id) + integer(0) + integer(repetitions if kind == GETBULK else 0)
    return tlv(kind, fields + tlv(0x30, binds))


def request(community: str, kind: int, request_id: int, oids: list[bytes],
            repetitions: int = 0) -> bytes:
    """An SNMPv2c message carrying `pdu(kind, request_id, oids, repetitions)`."""
    return tlv(0x30, integer(1) + tlv(4, community.encode())
               + pdu(kind, request_id, oids, repetitions))


Varbind = tuple[bytes, int, bytes]  # OID content bytes, value tag, value content bytes


def header(data: bytes, pos: int) -> tuple[int, int, int]:
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, length, pos


def version_of(data: bytes) -> int:
    """The version field of an SNMP message (0 v1, 1 v2c, 3 v3).

    Raises:
        BerError: not an SNMP message.
    """
    try:
        tag, _, pos = header(data, 0)
        kind, length, pos = header(data, pos)
    except IndexError as exc:
        raise BerError("a truncated SNMP message") from exc
    if tag != 0x30 or kind != 0x02 or not 0 < length <= 4:
        raise BerError("not an SNMP message")
    return int.from_bytes(data[pos:pos + length], "big")


def response(data: bytes) -> tuple[int, int, int, list[Varbind]]:
    """Read a v2c Response: (request id, error status, error index, varbinds).

    Raises:
        BerError: not a v2c Response message.
    """
    try:
        tag, _, pos = header(data, 0)
        _, length, pos = header(data, pos)
        version = int.from_bytes(data[pos:pos + length], "big")
        pos += length
        _, length, pos = header(data, pos)
        pos += length  # community
        kind, _, pos = header(data, pos)
        if tag != 0x30 or version != 1 or kind != RESPONSE:
            raise BerError(f"not an SNMPv2c Response (tag {tag:#x}, version {version}, "
                           f"PDU {kind:#x})")
        return pdu_fields(data, pos)
    except IndexError as exc:
        raise BerError("a truncated SNMP message") from exc


def pdu_fields(data: bytes, pos: int) -> tuple[int, int, int, list[Varbind]]:
    """Request id, error status, error index and varbinds of the PDU body at `pos`.

    Raises:
        BerError: the PDU is truncated.
    """
    numbers = []
    for _ in range(3):
        _, length, pos = header(data, pos)
        numbers.append(int.from_bytes(data[pos:pos + length], "big", signed=True))
        pos += length
    _, length, pos = header(data, pos)
    if pos + length > len(data):
        raise BerError("a truncated SNMP message")
    return numbers[0], numbers[1], numbers[2], _varbinds(data, pos, pos + length)


def _varbinds(data: bytes, pos: int, end: int) -> list[Varbind]:
    out: list[Varbind] = []
    append = out.append
    while pos < end:
        length = data[pos + 1]
        pos += 2 + (length & 0x7F if length & 0x80 else 0)
        length = data[pos + 1]
        oid = data[pos + 2:pos + 2 + length]
        pos += 2 + length
        tag, length = data[pos], data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[pos:pos + count], "big")
            pos += count
        append((oid, tag, data[pos:pos + length]))
        pos += length
    if pos != end:
        raise BerError("varbind list overruns its length")
    return out


def value_of(tag: int, raw: bytes) -> tuple[SnmpValue, Marker | None]:
    """A varbind value as `SnmpValue` (the same typing every backend gives)."""
    if tag in _UNSIGNED:
        return int.from_bytes(raw, "big"), None
    if tag == 0x02:
        return int.from_bytes(raw, "big", signed=True), None
    if tag == 0x04:
        return octets_to_value(raw)
    if tag == 0x06:
        return oid_text(raw), None
    if tag == 0x40 and len(raw) == 4:
        return ".".join(map(str, raw)), None
    if tag in _MISSING:
        return None, _MISSING[tag]
    if tag == 0x05:
        return None, Marker.OPAQUE
    return raw.hex(), Marker.OPAQUE
