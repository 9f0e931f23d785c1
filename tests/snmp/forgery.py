"""Lying SNMP peers on loopback for the tests: a UDP responder thread, and the agent's
side of SNMP (v2c Responses, SNMPv3 Reports and Responses at any security level),
encoded and read here on their own, not by the codec under test (RFC 1901, RFC 3412
section 6, RFC 3414, RFC 3416, RFC 3826); only OID encoding and key localisation are
borrowed from it.

A `Responder` owns sockets (the device's own address, and others: another port,
another address) and asks its handler what to send for every datagram it receives.
`Proxy` is a handler that relays to a real agent and lets a test add forged datagrams.
"""

from __future__ import annotations

import hashlib
import hmac
import selectors
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from time import monotonic

from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from provisioner.snmp import ber, usm

Address = tuple[str, int]
#: What a handler sends back: (name of the socket to send from, datagram).
Sends = list[tuple[str, bytes]]
USM_STATS = {name: oid for oid, name in usm.USM_REPORTS.items()}
USER, AUTH, PRIV = "pvtest", "auth-pass-123", "priv-pass-456"
FAKE_ENGINE = bytes.fromhex("80001f8880") + b"fake-agent"
OCTETS, OID, RESPONSE, REPORT, GET = 0x04, 0x06, 0xA2, 0xA8, 0xA0
FLAG_AUTH, FLAG_PRIV = 0x01, 0x02

# The agent's side is written here on its own (X.690 BER, RFC 3412 section 6,
# RFC 3414 sections 2.4 and 6.3, RFC 3826), not with the codec under test.


def tlv(tag: int, body: bytes) -> bytes:
    """A BER TLV, definite length."""
    if len(body) < 0x80:
        return bytes((tag, len(body))) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + body


def integer(n: int) -> bytes:
    """A BER INTEGER."""
    return tlv(0x02, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True))


def _items(data: bytes) -> list[tuple[int, bytes]]:
    """The TLVs one after another in `data` (trusting them: they are the poller's)."""
    out, pos = [], 0
    while pos < len(data):
        tag, length = data[pos], data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[pos:pos + count], "big")
            pos += count
        out.append((tag, data[pos:pos + length]))
        pos += length
    return out


def _number(body: bytes) -> int:
    return int.from_bytes(body, "big", signed=True)


def _cfb(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), CFB(iv))
    worker = cipher.encryptor() if encrypt else cipher.decryptor()
    return worker.update(data) + worker.finalize()


@dataclass(frozen=True)
class Request:
    """What the poller asked: enough of it to answer (or to lie convincingly)."""

    version: int
    msg_id: int  # v2c: the request-id
    request_id: int
    pdu_tag: int
    oids: list[bytes]
    flags: int = 0
    context: bytes = b""

    @property
    def discovery(self) -> bool:
        return self.version == 3 and not self.flags & FLAG_AUTH


def _pdu(tag: int, body: bytes) -> tuple[int, int, list[bytes]]:
    fields = _items(body)
    return tag, _number(fields[0][1]), [_items(b)[0][1] for _t, b in _items(fields[3][1])]


def read_request(datagram: bytes, keys: usm.Keys | None = None) -> Request:
    """Read a poller's v2c or SNMPv3 request (decrypted with `keys` when private)."""
    [(_, message)] = _items(datagram)
    parts = _items(message)
    if _number(parts[0][1]) == 1:
        tag, request_id, oids = _pdu(*parts[2])
        return Request(1, request_id, request_id, tag, oids)
    header = _items(parts[1][1])
    msg_id, flags = _number(header[0][1]), header[2][1][0]
    security = [body for _t, body in _items(_items(parts[2][1])[0][1])]
    scoped = parts[3][1]
    if flags & FLAG_PRIV:
        assert keys is not None
        iv = security[1].rjust(4, b"\0")[-4:] + security[2].rjust(4, b"\0")[-4:] + security[5]
        scoped = _items(_cfb(keys.priv, iv, parts[3][1], encrypt=False))[0][1]
    context = _items(scoped)
    tag, request_id, oids = _pdu(*context[2])
    return Request(3, msg_id, request_id, tag, oids, flags, context[1][1])


def flags_of(datagram: bytes) -> int:
    """The msgFlags of an SNMPv3 message."""
    [(_, message)] = _items(datagram)
    return _items(_items(message)[1][1])[2][1][0]


def msg_id_of(datagram: bytes) -> int:
    """The msgID of an SNMPv3 message."""
    [(_, message)] = _items(datagram)
    return _number(_items(_items(message)[1][1])[0][1])


def bind(oid: bytes, tag: int, value: bytes) -> bytes:
    """One varbind."""
    return tlv(0x30, tlv(OID, oid) + tlv(tag, value))


def response_pdu(request_id: int, binds: Sequence[bytes], tag: int = RESPONSE) -> bytes:
    """A Response (or, with `tag`, another) PDU with error-status 0."""
    return tlv(tag, integer(request_id) + integer(0) + integer(0)
               + tlv(0x30, b"".join(binds)))


def v2c_response(request_id: int, binds: Sequence[bytes], community: str = "public") -> bytes:
    """An SNMPv2c Response message."""
    return tlv(0x30, integer(1) + tlv(OCTETS, community.encode())
               + response_pdu(request_id, binds))


def v3_message(msg_id: int, pdu: bytes, *, engine: usm.Engine, flags: int,
               keys: usm.Keys | None = None, context: str = "") -> bytes:
    """An SNMPv3 message as an agent sends it, at the level `flags` say (noAuthNoPriv
    needs no keys: the user name is then empty)."""
    boots, time, salt = engine.boots, engine.time, bytes(range(8))
    user = keys.user if keys is not None else b""
    scoped = tlv(0x30, tlv(OCTETS, engine.engine_id) + tlv(OCTETS, context.encode()) + pdu)
    if flags & FLAG_PRIV:
        assert keys is not None
        # (an agent that lies about its clock beyond 32 bits still encrypts somehow)
        iv = (boots & 0xFFFFFFFF).to_bytes(4, "big") + (time & 0xFFFFFFFF).to_bytes(4, "big") \
            + salt
        scoped = tlv(OCTETS, _cfb(keys.priv, iv, scoped, encrypt=True))

    def whole(digest: bytes) -> bytes:
        security = tlv(0x30, tlv(OCTETS, engine.engine_id) + integer(boots) + integer(time)
                       + tlv(OCTETS, user) + tlv(OCTETS, digest) + tlv(OCTETS, salt))
        head = tlv(0x30, integer(msg_id) + integer(65507) + tlv(OCTETS, bytes((flags,)))
                   + integer(3))
        return tlv(0x30, integer(3) + head + tlv(OCTETS, security) + scoped)

    if not flags & FLAG_AUTH:
        return whole(b"")
    assert keys is not None
    return whole(hmac.new(keys.auth, whole(b"\0" * 12), hashlib.sha1).digest()[:12])


def report(msg_id: int, request_id: int, name: str, *, engine: usm.Engine, flags: int = 0,
           keys: usm.Keys | None = None) -> bytes:
    """A Report naming a usmStats counter (RFC 3414 section 5), at level `flags`."""
    pdu = response_pdu(request_id, [bind(ber.oid_body(USM_STATS[name]), 0x41, b"\x01")],
                       tag=REPORT)
    return v3_message(msg_id, pdu, engine=engine, flags=flags, keys=keys)


class Responder:
    """A UDP peer on loopback in a thread: `sockets` by name, `handler` decides.

    The socket named "device" is the address the poller is told to ask. Every datagram
    received on any socket is counted (`received`) and handed to the handler with its
    sender; what the handler returns is sent to that sender.
    """

    def __init__(self, sockets: dict[str, Address],
                 handler: Callable[[bytes, Address], Sends]) -> None:
        self.sockets: dict[str, socket.socket] = {}
        for name, address in sockets.items():
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(address)
            self.sockets[name] = sock
        self.handler = handler
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> Address:
        """The device's own address (the "device" socket)."""
        host, port = self.sockets["device"].getsockname()
        return str(host), int(port)

    def __enter__(self) -> Responder:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets.values():
            sock.close()
        close = getattr(self.handler, "close", None)
        if close is not None:
            close()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            for sock in self.sockets.values():
                selector.register(sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(0.05):
                    assert isinstance(key.fileobj, socket.socket)
                    datagram, source = key.fileobj.recvfrom(65535)
                    self.received += 1
                    for name, payload in self.handler(datagram, source):
                        self.sockets[name].sendto(payload, source)


@dataclass
class Proxy:
    """A handler relaying the poller's requests to a real agent and its answers back,
    with `forge(request_datagram)` sending more first (from any of the responder's
    sockets)."""

    agent: Address
    forge: Callable[[bytes], Sends] = lambda _datagram: []
    upstream: socket.socket = field(default_factory=lambda: socket.socket(
        socket.AF_INET, socket.SOCK_DGRAM))

    def __call__(self, datagram: bytes, _source: Address) -> Sends:
        sends = self.forge(datagram)
        self.upstream.settimeout(2.0)
        self.upstream.sendto(datagram, self.agent)
        try:
            answer, _ = self.upstream.recvfrom(65535)
        except TimeoutError:
            return sends
        return [*sends, ("device", answer)]

    def close(self) -> None:
        self.upstream.close()


@dataclass
class FakeAgent:
    """A handler playing an SNMPv3 authPriv (SHA/AES) agent with the test user: it
    answers discovery as RFC 3414 section 4 says, and a request with what `answer`
    makes of it (by default a proper authPriv Response giving every OID asked the
    value b"fake")."""

    boots: int = 5
    time: int = 1000
    keys: usm.Keys = field(default_factory=lambda: usm.keys_for(USER, AUTH, PRIV,
                                                                FAKE_ENGINE))
    answer: Callable[[FakeAgent, Request], Sends] | None = None
    started: float = field(default_factory=monotonic)

    @property
    def engine(self) -> usm.Engine:
        """Its clock now (boots, time advancing in seconds)."""
        return usm.Engine(FAKE_ENGINE, self.boots,
                          self.time + int(monotonic() - self.started), 0.0)

    def __call__(self, datagram: bytes, _source: Address) -> Sends:
        request = read_request(datagram, self.keys)
        if request.discovery:
            return [("device", report(request.msg_id, request.request_id, "unknownEngineID",
                                      engine=self.engine))]
        if self.answer is not None:
            return self.answer(self, request)
        return [("device", self.respond(request))]

    def respond(self, request: Request, *, binds: Sequence[bytes] | None = None,
                flags: int = FLAG_AUTH | FLAG_PRIV, engine: usm.Engine | None = None,
                request_id: int | None = None, tag: int = RESPONSE,
                context: str | None = None) -> bytes:
        """A Response to `request`, each field overridable to make it lie."""
        values = binds if binds is not None else [bind(o, OCTETS, b"fake")
                                                  for o in request.oids]
        pdu = response_pdu(request.request_id if request_id is None else request_id,
                           values, tag=tag)
        return v3_message(request.msg_id, pdu, engine=engine or self.engine, flags=flags,
                          keys=self.keys, context=request.context.decode()
                          if context is None else context)
