"""The SNMPv2c BER codec of the fast backend: requests as net-snmp reads them, responses
as agents send them (X.690 BER, RFC 3416)."""

from __future__ import annotations

import pytest

from provisioner.errors import SnmpDecodeError
from provisioner.snmp import Marker, ber


def tlv(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes((tag, len(body))) + body
    size = len(body).to_bytes(2, "big")
    return bytes((tag, 0x82)) + size + body


def response(request_id: int, status: int, binds: list[tuple[str, int, bytes]]) -> bytes:
    varbinds = b"".join(tlv(0x30, tlv(6, ber.oid_body(o)) + tlv(t, v)) for o, t, v in binds)
    pdu = tlv(2, bytes((request_id,))) + tlv(2, bytes((status,))) + tlv(2, b"\x01")
    return tlv(0x30, tlv(2, b"\x01") + tlv(4, b"public") + tlv(0xA2, pdu + tlv(0x30, varbinds)))


@pytest.mark.parametrize("oid", ["1.3.6.1.2.1.1.1.0", "1.3.6.1.4.1.14823.2.2.1.5.2.1.4.1.3",
                                 "1.3.6.1.2.1.2.2.1.2.300", "2.999.1"])
def test_oid_round_trip(oid: str) -> None:
    assert ber.oid_text(ber.oid_body(oid)) == oid


def test_getbulk_request_bytes() -> None:
    # the same bytes net-snmp's snmpbulkget -v2c -c public -Cn0 -Cr5 sends for sysDescr.0
    message = ber.request("public", ber.GETBULK, 77, [ber.oid_body("1.3.6.1.2.1.1.1.0")], 5)
    assert message.hex() == ("302602010104067075626c6963a51902014d020100020105300e300c"
                             "06082b060102010101000500")


def test_response_values() -> None:
    data = response(9, 0, [("1.3.6.1.2.1.1.3.0", 0x43, b"\x01\xe2\x40"),
                           ("1.3.6.1.2.1.2.2.1.8.1", 0x02, b"\xff"),
                           ("1.3.6.1.2.1.1.5.0", 0x04, b"sw1"),
                           ("1.3.6.1.2.1.1.2.0", 0x06, ber.oid_body("1.3.6.1.4.1.9.1.516")),
                           ("1.3.6.1.2.1.4.20.1.1.10.0.0.1", 0x40, b"\x0a\x00\x00\x01"),
                           ("1.3.6.1.2.1.1.9.0", 0x81, b""),
                           ("1.3.6.1.2.1.31.1.1.1.6.1", 0x46, b"\xff" * 8)])
    request_id, status, _index, binds = ber.response(data)
    assert (request_id, status) == (9, 0)
    values = [(ber.oid_text(o), *ber.value_of(t, v)) for o, t, v in binds]
    assert values == [
        ("1.3.6.1.2.1.1.3.0", 123456, None), ("1.3.6.1.2.1.2.2.1.8.1", -1, None),
        ("1.3.6.1.2.1.1.5.0", "sw1", None), ("1.3.6.1.2.1.1.2.0", "1.3.6.1.4.1.9.1.516", None),
        ("1.3.6.1.2.1.4.20.1.1.10.0.0.1", "10.0.0.1", None),
        ("1.3.6.1.2.1.1.9.0", None, Marker.NO_SUCH_INSTANCE),
        ("1.3.6.1.2.1.31.1.1.1.6.1", 2 ** 64 - 1, None)]


def test_garbage_is_refused() -> None:
    good = response(9, 0, [("1.3.6.1.2.1.1.5.0", 0x04, b"sw1")])
    with pytest.raises(SnmpDecodeError):
        ber.response(good[:-3])
    with pytest.raises(SnmpDecodeError):
        ber.response(b"\x30\x03\x02\x01\x00")  # version 0 (SNMPv1), no PDU


def test_oids_over_127_bytes_and_big_arcs_read_back() -> None:
    long_oid = "1.3.6.1.4.1.9." + ".".join(str(2 ** 32 - 1 - n) for n in range(40))
    body = ber.oid_body(long_oid)
    assert len(body) > 127
    data = response(9, 0, [(long_oid, 0x04, b"x" * 300)])
    _rid, _status, _index, [(oid, tag, raw)] = ber.response(data)
    assert (ber.oid_text(oid), tag, raw) == (long_oid, 0x04, b"x" * 300)


@pytest.mark.parametrize("body", [
    b"\x2b\x86",  # ends inside a sub-identifier
    b"\x2b\x80\x01",  # a sub-identifier padded with 0x80
    b"\x2b\x90\x80\x80\x80\x00",  # 2^32: above the SMI's limit
    b"\x2b" + b"\x01" * 128,  # 129 sub-identifiers
    b"\x2b" + b"\xff" * 65000 + b"\x7f",  # one endless arc: refused, not computed
    b"",
])
def test_malformed_oids_are_refused(body: bytes) -> None:
    with pytest.raises(SnmpDecodeError):
        ber.oid_text(body)


@pytest.mark.parametrize(("tag", "raw"), [
    (0x41, b"\x01\x00\x00\x00\x00"),  # Counter32 2^32
    (0x42, b"\x00\x01\x00\x00\x00\x00"),  # Gauge32, six octets
    (0x43, b""),  # TimeTicks without a value
    (0x46, b"\x01" + b"\x00" * 8),  # Counter64 2^64
    (0x02, b"\x00\x80\x00\x00\x00"),  # Integer32 2^31
])
def test_values_out_of_their_range_are_refused(tag: int, raw: bytes) -> None:
    with pytest.raises(SnmpDecodeError, match=r"range|octets"):
        ber.value_of(tag, raw)


def test_values_at_the_edges_of_their_range() -> None:
    assert ber.value_of(0x41, b"\x00\xff\xff\xff\xff") == (2 ** 32 - 1, None)
    assert ber.value_of(0x41, b"\xff\xff\xff\xff") == (2 ** 32 - 1, None)  # net-snmp's way
    assert ber.value_of(0x46, b"\x00" + b"\xff" * 8) == (2 ** 64 - 1, None)
    assert ber.value_of(0x02, b"\x80\x00\x00\x00") == (-(2 ** 31), None)


@pytest.mark.parametrize("data", [
    b"\x30\x80\x02\x01\x01",  # an indefinite length
    b"\x30\x85\x00\x00\x00\x00\x03\x02\x01\x01",  # a length of five octets
    b"\x30\x03\x02\x01\x01\x00",  # a byte after the message
])
def test_lengths_snmp_does_not_allow_are_refused(data: bytes) -> None:
    with pytest.raises(SnmpDecodeError):
        ber.version_of(data)
