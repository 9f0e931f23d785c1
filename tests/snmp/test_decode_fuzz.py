"""Whatever a device sends, the fast backend's decoding raises `SnmpDecodeError` and
nothing else, and one device's datagram never touches another device's request.

hypothesis generates and mutates messages, starting from real replies of net-snmp's
snmpd (tests/data/snmp/snmpd-replies.json: v2c and SNMPv3 authPriv, captured through
tests.snmp.forgery.Proxy). Mutated SNMPv3 payloads are signed and encrypted again with
the agent's keys, so that the decoder gets past the digest to the ScopedPDU.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.errors import SnmpDecodeError
from provisioner.snmp import SYS_NAME, PollRequest, SnmpTarget, SnmpV3User, ber, usm
from provisioner.snmp.fast_backend import _Run
from provisioner.snmp.fast_receive import Asking, Device, Usm
from tests.snmp.forgery import (
    FLAG_AUTH,
    FLAG_PRIV,
    REPORT,
    RESPONSE,
    response_pdu,
    tlv,
    v2c_response,
    v3_message,
)

CAPTURED = json.loads((Path(__file__).parent.parent / "data" / "snmp" /
                       "snmpd-replies.json").read_text())
REPLIES = [bytes.fromhex(r) for r in CAPTURED["replies"]]
ENGINE_ID = bytes.fromhex(CAPTURED["engine_id"])
KEYS = usm.keys_for(CAPTURED["user"], CAPTURED["auth"], CAPTURED["priv"], ENGINE_ID)
UNVERIFIED = usm.Engine(ENGINE_ID, 1, 1, 0.0)
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def varbinds_of(datagram: bytes) -> list[bytes]:
    """The captured reply's varbinds as whole TLVs (mutation material)."""
    if ber.version_of(datagram) == 1:
        binds = ber.response(datagram)[3]
    else:
        message = usm.parse(datagram)
        binds = usm.scoped_pdu(usm.plaintext(message, KEYS)).varbinds
    return [tlv(0x30, ber.tlv(ber.OID, oid) + ber.tlv(tag, raw)) for oid, tag, raw in binds]


BINDS = [bind for reply in REPLIES for bind in varbinds_of(reply)]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` with a few bytes flipped, cut, inserted, deleted or duplicated."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        action = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete", "repeat"]))
        if action == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x84, 0xFF]))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 64))]
    return bytes(data)


def tlv_tree() -> st.SearchStrategy[bytes]:
    """Random BER trees with SNMP's tags (and others)."""
    tags = st.sampled_from([0x02, 0x04, 0x05, 0x06, 0x30, 0x40, 0x41, 0x42, 0x43, 0x44,
                            0x46, 0x80, 0x81, 0x82, 0xA2, 0xA8, 0x1F, 0xFF])
    leaf = st.builds(tlv, tags, st.binary(max_size=12))
    return st.recursive(leaf, lambda kids: st.builds(
        lambda tag, parts: tlv(tag, b"".join(parts)), tags, st.lists(kids, max_size=4)),
        max_leaves=12)


def long_arcs() -> st.SearchStrategy[bytes]:
    """Varbinds with an OID (name or value) of sub-identifiers far beyond 32 bits."""
    huge = st.integers(1, 4000).map(lambda n: b"\x2b" + b"\xff" * n + b"\x7f")
    return st.one_of(
        st.builds(lambda oid: tlv(0x30, tlv(0x06, b"\x2b\x06\x01") + tlv(0x06, oid)), huge),
        st.builds(lambda oid: tlv(0x30, tlv(0x06, oid) + tlv(0x05, b"")), huge))


def some_binds() -> st.SearchStrategy[list[bytes]]:
    """Captured varbinds, mutated ones, random BER trees and OIDs too long to be true."""
    return st.lists(st.one_of(st.sampled_from(BINDS), st.sampled_from(BINDS).flatmap(mutated),
                              tlv_tree(), long_arcs()), max_size=6)


@st.composite
def signed(draw: st.DrawFn) -> bytes:
    """An SNMPv3 message around mutated varbinds, authenticated (and private) with the
    agent's keys, or not at all."""
    binds = draw(some_binds())
    flags = draw(st.sampled_from([0, FLAG_AUTH, FLAG_AUTH | FLAG_PRIV]))
    pdu = response_pdu(7, binds, tag=draw(st.sampled_from([RESPONSE, REPORT])))
    clock = st.one_of(st.integers(0, 2 ** 31 - 1), st.integers(2 ** 31, 2 ** 64))
    engine = usm.Engine(ENGINE_ID, draw(clock), draw(clock), 0.0)
    return v3_message(7, draw(st.one_of(st.just(pdu), mutated(pdu))), engine=engine,
                      flags=flags, keys=KEYS)


def datagrams() -> st.SearchStrategy[bytes]:
    seeds = st.sampled_from(REPLIES)
    return st.one_of(seeds.flatmap(mutated), signed(), tlv_tree(), st.binary(max_size=200),
                     st.builds(v2c_response, st.integers(0, 2 ** 31 - 1), some_binds()))


def decode(datagram: bytes) -> None:
    """Every decoding step the fast backend takes with a reply."""
    if ber.version_of(datagram) == 3:
        message = usm.parse(datagram)
        usm.authenticate(message, KEYS)
        if message.authenticated:
            usm.in_window(UNVERIFIED, message, now=0.0)
        parts = usm.scoped_pdu(usm.plaintext(message, KEYS))
        usm.report_name(parts)
        binds = parts.varbinds
    else:
        binds = ber.response(datagram)[3]
    for oid, tag, raw in binds:
        ber.oid_text(oid)
        ber.value_of(tag, raw)


def test_the_captured_replies_decode() -> None:
    for reply in REPLIES:
        decode(reply)
    assert len(BINDS) > 100


@FUZZ
@given(datagrams())
def test_decoding_raises_only_the_decode_error(datagram: bytes) -> None:
    with contextlib.suppress(SnmpDecodeError):
        decode(datagram)


@pytest.fixture(scope="module")
def sock() -> Iterator[socket.socket]:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    yield udp
    udp.close()


def in_flight(sock: socket.socket, user: SnmpV3User) -> tuple[_Run, Device, Device]:
    """A poll with a v3 device (keys known) and a v2c bystander in flight."""
    security = Usm(secrets={user: ("auth-pass-123", "priv-pass-456")})
    run = _Run(sock, [], None, 1.0, 0, None, None, security)
    keyed = Device(0, SnmpTarget("keyed", "127.0.0.2", 9, user=user),
                   address=("127.0.0.2", 9), request=PollRequest(gets=(SYS_NAME,)))
    security.learn(keyed, usm.Engine(ENGINE_ID, 1, 1, 0.0))
    bystander = Device(1, SnmpTarget("bystander", "127.0.0.3", 9, community="public"),
                       address=("127.0.0.3", 9), request=PollRequest(gets=(SYS_NAME,)))
    for device in (keyed, bystander):
        run.send(device, Asking(ber.GET, [ber.oid_body(SYS_NAME)], 0))
    # Fixed ids instead of the random ones: hypothesis must draw the same data again.
    keyed.request_id, bystander.request_id = 1111, 2222
    run.inflight = {1111: keyed, 2222: bystander}
    return run, keyed, bystander


def envelope(kind: str, request_id: int, binds: list[bytes], clock: usm.Engine) -> bytes:
    """A reply of `kind` around `binds` answering `request_id`."""
    if kind == "v2c":
        return v2c_response(request_id, binds)
    pdu = response_pdu(request_id, binds, tag=REPORT if kind == "report" else RESPONSE)
    flags = FLAG_AUTH | FLAG_PRIV if kind == "authPriv" else 0
    return v3_message(request_id, pdu, engine=clock, flags=flags, keys=KEYS)


@settings(FUZZ, max_examples=150)
@given(st.data())
def test_a_device_s_datagrams_never_raise_nor_touch_another_device(
        sock: socket.socket, data: st.DataObject) -> None:
    user = SnmpV3User("pvtest", Path("/nonexistent/auth"), Path("/nonexistent/priv"))
    run, keyed, bystander = in_flight(sock, user)
    sender, other = data.draw(st.permutations([keyed, bystander]))
    waiting, asked = other.request_id, other.asking
    kind = data.draw(st.sampled_from(["v2c", "authPriv", "noAuth", "report"]))
    clock = st.one_of(st.integers(0, 2 ** 31 - 1), st.integers(2 ** 31, 2 ** 40))
    datagram = envelope(kind, sender.request_id, data.draw(some_binds()),
                        usm.Engine(ENGINE_ID, data.draw(clock), data.draw(clock), 0.0))
    assert sender.address is not None
    run.receive(data.draw(st.one_of(st.just(datagram), mutated(datagram))), sender.address)
    assert run.inflight.get(waiting) is other and other.asking is asked
    assert not other.answered and other.data.scalars == {} and not other.dropped
