"""A small BER codec for SNMPv2c GET and GETBULK: just what a poller sends and reads.

Follows RFC 3416 (PDUs), RFC 1901 (the v2c message: version, community, PDU), RFC 2578
section 3.5 and 7.1 (OBJECT IDENTIFIER limits, value ranges of the SMI types) and X.690
BER as RFC 3417 section 8 restricts it (definite lengths, short or long form;
OBJECT IDENTIFIER sub-identifiers in base 128). Decoding is written for speed: a poller
reads hundreds of varbinds per device, and a walked column's OIDs are matched by their
encoded prefix, so only the index arcs are decoded.

Devices are untrusted: every decoding function raises `SnmpDecodeError` and nothing
else on any input (a test feeds it generated and mutated messages), and no input makes
it slower than linear in the datagram's size.
"""

from __future__ import annotations

from collections.abc import Callable

from provisioner.errors import SnmpDecodeError
from provisioner.snmp import Marker, SnmpValue
from provisioner.snmp.common import octets_to_value

GET, GETBULK, RESPONSE, REPORT = 0xA0, 0xA5, 0xA2, 0xA8
SEQUENCE, INTEGER, OCTETS, OID = 0x30, 0x02, 0x04, 0x06
MAX_ARCS = 128  # RFC 2578 section 3.5: at most 128 sub-identifiers ...
MAX_ARC = 2 ** 32 - 1  # ... each at most 2^32-1
_MAX_LENGTH_OCTETS = 4  # a length in long form: a datagram is at most 64 KB
_MISSING = {0x80: Marker.NO_SUCH_OBJECT, 0x81: Marker.NO_SUCH_INSTANCE,
            0x82: Marker.END_OF_MIB_VIEW}
#: Error status names (RFC 3416 section 3) for messages.
ERROR_STATUS = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr",
                6: "noAccess", 16: "authorizationError"}

Varbind = tuple[bytes, int, bytes]  # OID content bytes, value tag, value content bytes
Value = tuple[SnmpValue, Marker | None]  # a decoded value and why it is not plain


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def tlv(tag: int, value: bytes) -> bytes:
    """One BER tag-length-value (definite length, short or long form)."""
    return bytes((tag,)) + _length(len(value)) + value


def integer(n: int) -> bytes:
    """A BER INTEGER (two's complement, minimal)."""
    return tlv(INTEGER, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True))


def oid_body(oid: str) -> bytes:
    """The BER content bytes of a dotted OID (no tag, no length).

    Raises:
        ValueError: fewer than two arcs or not numeric (our own OIDs, never a device's).
    """
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
    """Sub-identifiers of OID content bytes (for an index suffix: as they are).

    X.690 section 8.19.2: base 128, the high bit set on every octet but a sub-identifier's
    last, never a leading 0x80 octet.

    Raises:
        SnmpDecodeError: the bytes end inside a sub-identifier, one is padded or above
            2^32-1, or there are more than 128 (RFC 2578 section 3.5).
    """
    if len(body) == 1 and body[0] < 0x80:  # a one-byte index: the walks' common case
        return [body[0]]
    if not body:
        return []
    if body[-1] & 0x80:
        raise SnmpDecodeError("an OBJECT IDENTIFIER ends inside a sub-identifier")
    # Every arc below 128 is the common case (index suffixes): done in C.
    arcs = list(body) if max(body) < 0x80 else _long_arcs(body)
    if len(arcs) > MAX_ARCS:
        raise SnmpDecodeError(f"an OBJECT IDENTIFIER of {len(arcs)} sub-identifiers "
                              f"(at most {MAX_ARCS})")
    return arcs


def _long_arcs(body: bytes) -> list[int]:
    # Each value is checked as it grows, so it never exceeds 39 bits: linear time
    # whatever a device sends (an unbounded arc made this quadratic).
    arcs: list[int] = []
    value = 0
    for byte in body:
        if byte == 0x80 and not value:
            raise SnmpDecodeError("an OBJECT IDENTIFIER sub-identifier padded with 0x80")
        value = (value << 7) | (byte & 0x7F)
        if value > MAX_ARC:
            raise SnmpDecodeError("an OBJECT IDENTIFIER sub-identifier above 2^32-1")
        if byte < 0x80:
            arcs.append(value)
            value = 0
    return arcs


def oid_text(body: bytes) -> str:
    """A full OID's content bytes as dotted text.

    Raises:
        SnmpDecodeError: empty or malformed (see `arcs_of`).
    """
    arcs = arcs_of(body)
    if not arcs:
        raise SnmpDecodeError("an empty OBJECT IDENTIFIER")
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return ".".join(map(str, head + arcs[1:]))


def pdu(kind: int, request_id: int, oids: list[bytes], repetitions: int = 0) -> bytes:
    """A GET or GETBULK PDU asking for `oids` (content bytes, see `oid_body`).

    GETBULK takes non-repeaters 0 and `repetitions` as max-repetitions.
    """
    binds = b"".join(tlv(SEQUENCE, tlv(OID, o) + b"\x05\x00") for o in oids)
    fields = integer(request_id) + integer(0) + integer(repetitions if kind == GETBULK else 0)
    return tlv(kind, fields + tlv(SEQUENCE, binds))


def request(community: str, kind: int, request_id: int, oids: list[bytes],
            repetitions: int = 0) -> bytes:
    """An SNMPv2c message carrying `pdu(kind, request_id, oids, repetitions)`."""
    return tlv(SEQUENCE, integer(1) + tlv(OCTETS, community.encode())
               + pdu(kind, request_id, oids, repetitions))


def header(data: bytes, pos: int, end: int | None = None) -> tuple[int, int, int]:
    """(tag, content length, content start) of the TLV at `pos`, within `data[:end]`.

    Raises:
        SnmpDecodeError: truncated, an indefinite or over-long length (RFC 3417 section
            8 allows definite lengths only), or content that overruns `end`.
    """
    limit = len(data) if end is None else end
    if pos + 2 > limit:
        raise SnmpDecodeError("a truncated SNMP message")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= _MAX_LENGTH_OCTETS or pos + count > limit:
            raise SnmpDecodeError("a BER length that is indefinite, too long or truncated")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > limit:
        raise SnmpDecodeError("a BER value that overruns its message")
    return tag, length, pos


def expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """(content length, content start) of a TLV that must have `tag`.

    Raises:
        SnmpDecodeError: another tag, or see `header`.
    """
    found, length, pos = header(data, pos, end)
    if found != tag:
        raise SnmpDecodeError(f"{what}: tag {found:#04x} where {tag:#04x} belongs")
    return length, pos


def integer_at(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """(value, next position) of an INTEGER that must fit Integer32 (RFC 2578 section 7.1.1).

    Raises:
        SnmpDecodeError: not an INTEGER, empty or longer than 4 octets.
    """
    length, pos = expect(data, pos, end, INTEGER, what)
    if not 0 < length <= 4:
        raise SnmpDecodeError(f"{what}: an INTEGER of {length} octets (1 to 4 fit Integer32)")
    return int.from_bytes(data[pos:pos + length], "big", signed=True), pos + length


def octets_at(data: bytes, pos: int, end: int, what: str) -> tuple[bytes, int]:
    """(content, next position) of an OCTET STRING.

    Raises:
        SnmpDecodeError: not an OCTET STRING, or see `header`.
    """
    length, pos = expect(data, pos, end, OCTETS, what)
    return data[pos:pos + length], pos + length


def version_of(data: bytes) -> int:
    """The version field of an SNMP message (0 v1, 1 v2c, 3 v3).

    Raises:
        SnmpDecodeError: not an SNMP message.
    """
    length, pos = expect(data, 0, len(data), SEQUENCE, "an SNMP message")
    if pos + length != len(data):
        raise SnmpDecodeError("bytes after the SNMP message (or a short one)")
    return integer_at(data, pos, len(data), "the SNMP version")[0]


def response(data: bytes) -> tuple[int, int, int, list[Varbind]]:
    """Read a v2c Response (RFC 1901, RFC 3416 section 3): (request id, error status,
    error index, varbinds).

    Raises:
        SnmpDecodeError: not a well-formed v2c Response message.
    """
    end = len(data)
    _, pos = expect(data, 0, end, SEQUENCE, "an SNMP message")
    version, pos = integer_at(data, pos, end, "the SNMP version")
    _, pos = octets_at(data, pos, end, "the community")
    kind, length, pos = header(data, pos, end)
    if version != 1 or kind != RESPONSE or pos + length != end:
        raise SnmpDecodeError(f"not an SNMPv2c Response (version {version}, PDU {kind:#x})")
    return pdu_fields(data, pos, end)


def pdu_fields(data: bytes, pos: int, end: int) -> tuple[int, int, int, list[Varbind]]:
    """Request id, error status, error index and varbinds of the PDU body `data[pos:end]`.

    Raises:
        SnmpDecodeError: the PDU is malformed.
    """
    request_id, pos = integer_at(data, pos, end, "the request-id")
    status, pos = integer_at(data, pos, end, "the error-status")
    index, pos = integer_at(data, pos, end, "the error-index")
    length, pos = expect(data, pos, end, SEQUENCE, "the varbind list")
    if pos + length != end:
        raise SnmpDecodeError("bytes after the varbind list")
    return request_id, status, index, _varbinds(data, pos, end)


def _varbinds(data: bytes, pos: int, end: int) -> list[Varbind]:
    try:
        return _varbind_list(data, pos, end)
    except IndexError as exc:
        raise SnmpDecodeError("a truncated varbind") from exc


def _long_length(data: bytes, pos: int, first: int) -> tuple[int, int]:
    count = first & 0x7F
    if not 0 < count <= _MAX_LENGTH_OCTETS:
        raise SnmpDecodeError("a BER length that is indefinite or too long")
    return int.from_bytes(data[pos:pos + count], "big"), pos + count


def _varbind_list(data: bytes, pos: int, end: int) -> list[Varbind]:
    # Inlined TLV reads: this loop runs for every varbind of every device. Each length
    # is trusted only as far as the checks that the parts fill their varbind exactly
    # and the varbinds fill their list exactly (`end` lies within `data`).
    out: list[Varbind] = []
    append = out.append
    while pos < end:
        if data[pos] != SEQUENCE:
            raise SnmpDecodeError("a varbind that is not a SEQUENCE")
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            length, pos = _long_length(data, pos, length)
        stop = pos + length
        if data[pos] != OID:
            raise SnmpDecodeError("a varbind name that is not an OBJECT IDENTIFIER")
        length = data[pos + 1]
        pos += 2
        if length & 0x80:  # an OID over 127 bytes
            length, pos = _long_length(data, pos, length)
        oid = data[pos:pos + length]
        pos += length
        tag, length = data[pos], data[pos + 1]
        pos += 2
        if length & 0x80:
            length, pos = _long_length(data, pos, length)
        append((oid, tag, data[pos:pos + length]))
        pos += length
        if pos != stop:
            raise SnmpDecodeError("a varbind whose name and value do not fill it")
    if pos != end:
        raise SnmpDecodeError("varbind list overruns its length")
    return out


_UNSIGNED = {0x41: (5, "Counter32"), 0x42: (5, "Gauge32"), 0x43: (5, "TimeTicks"),
             0x46: (9, "Counter64"), 0x47: (5, "Unsigned32")}


def _oid_value(raw: bytes) -> Value:
    return oid_text(raw), None


def _ip_address(raw: bytes) -> Value:
    if len(raw) != 4:
        return raw.hex(), Marker.OPAQUE
    return ".".join(map(str, raw)), None


def _null(_raw: bytes) -> Value:
    return None, Marker.OPAQUE


_OTHERS: dict[int, Callable[[bytes], Value]] = {
    OCTETS: octets_to_value, OID: _oid_value, 0x05: _null, 0x40: _ip_address}


def value_of(tag: int, raw: bytes) -> Value:
    """A varbind value as `SnmpValue` (the same typing every backend gives).

    Integers are checked against their type's range (RFC 2578 section 7.1): Integer32
    in 1 to 4 octets; the unsigned types read as net-snmp reads them (some agents leave
    out the leading zero octet), so a 32-bit one has at most 5 octets and then a zero
    first (9 for Counter64).

    Raises:
        SnmpDecodeError: an integer type out of its range or a malformed OBJECT
            IDENTIFIER.
    """
    unsigned = _UNSIGNED.get(tag)  # the commonest values first: counters, gauges
    if unsigned is not None:
        size, most = len(raw), unsigned[0]
        if 0 < size < most or (size == most and not raw[0]):
            return int.from_bytes(raw, "big"), None
        raise SnmpDecodeError(f"a {unsigned[1]} value out of range (RFC 2578 section 7.1)")
    if tag == INTEGER:
        if 0 < len(raw) <= 4:
            return int.from_bytes(raw, "big", signed=True), None
        raise SnmpDecodeError(f"an Integer32 of {len(raw)} octets (RFC 2578 section 7.1.1)")
    read = _OTHERS.get(tag)
    if read is not None:
        return read(raw)
    if tag in _MISSING:
        return None, _MISSING[tag]
    return raw.hex(), Marker.OPAQUE
