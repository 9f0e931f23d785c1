"""A hostile SNMP device for the lab: a small asyncio UDP responder that never gives a
usable answer, only what a rogue or broken device sends.

Written from RFC 3412 (the SNMPv3 message: msgID, msgFlags, security levels), RFC 3414
(the User-based Security Model: engine discovery in section 4, the usmStats Reports of
section 5) and RFC 3416 (PDUs: Response, Report, request-id; varbinds). It holds no
key of the lab's SNMPv3 user, as a student's laptop answering on an access point's
address would not. It answers an engine discovery as an agent does (an unknownEngineID
Report naming an engine ID, boots and time), so that a poller gets as far as its
authPriv request; to every other request it sends, to the asker:

- malformed datagrams carrying the request's id: truncated, a length beyond the
  datagram, an indefinite length, an OID sub-identifier far beyond 32 bits, a
  TimeTicks value out of range, an engine boots counter beyond 32 bits;
- forged answers with another device's identity (sysName, sysDescr, ...): an SNMPv3
  Response at noAuthNoPriv and an SNMPv2c Response, with the request's id;
- the same forged answers for the ids next to it (other devices' requests, where a
  poller counts its ids up);
- unauthenticated Reports (notInTimeWindow and unknownEngineID naming another engine,
  wrongDigest), then a flood of unknownEngineID Reports;
- forged answers from a second port of the same address.

It does not emulate: authenticated or encrypted replies (no keys), SET, traps,
GETNEXT/GETBULK walks (nothing it sends is a real answer).

Started by `lab fault DEVICE hostile` as `python -m provisioner.lab.hostile --config
FILE`: its sockets are bound inside the device's namespace (where nf_tables rewrites
udp/161 to its port, provisioner.lab.nft), the ready file is written, then it drops
root and serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import grp
import os
import pwd
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from provisioner.errors import LabError, SnmpDecodeError
from provisioner.lab.netns_socket import udp_socket
from provisioner.lab.simconfig import HostileConfig, read_hostile_config
from provisioner.snmp import (
    SYS_CONTACT,
    SYS_DESCR,
    SYS_LOCATION,
    SYS_NAME,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    ber,
    usm,
)

ENGINE_ID = bytes.fromhex("80001f8880") + b"pvlab-hostile"
ELSEWHERE = bytes.fromhex("80001f8880") + b"pvlab-elsewhere"
FLOOD = 20  # unknownEngineID Reports per request
NEIGHBOURS = 8  # forged answers for this many ids on each side of the request's
_USM_STATS = {name: oid for oid, name in usm.USM_REPORTS.items()}
_TIMETICKS = 0x43

#: What a reply is sent from: the device's own port, or the second one.
Send = tuple[bool, bytes]


@dataclass(frozen=True)
class Heard:
    """A request as far as a device without keys reads it (an encrypted PDU's
    request-id is guessed to be the msgID, as a rogue watching the poller would)."""

    version: int
    msg_id: int
    request_id: int
    discovery: bool
    community: bytes = b""


def heard(datagram: bytes) -> Heard | None:
    """Read a request; None for anything that is not one (never raises)."""
    try:
        if ber.version_of(datagram) == 3:
            return _v3_request(datagram)
        return _v2c_request(datagram)
    except SnmpDecodeError:
        return None


def _v3_request(datagram: bytes) -> Heard:
    message = usm.parse(datagram)
    if message.flags & usm.FLAG_PRIV:
        return Heard(3, message.msg_id, message.msg_id, False)
    scoped = usm.scoped_pdu(message.payload)
    return Heard(3, message.msg_id, scoped.request_id,
                 not message.authenticated and not message.engine_id)


def _v2c_request(datagram: bytes) -> Heard:
    end = len(datagram)
    _, pos = ber.expect(datagram, 0, end, ber.SEQUENCE, "an SNMP message")
    version, pos = ber.integer_at(datagram, pos, end, "the SNMP version")
    community, pos = ber.octets_at(datagram, pos, end, "the community")
    _, length, pos = ber.header(datagram, pos, end)
    request_id = ber.pdu_fields(datagram, pos, pos + length)[0]
    return Heard(version, request_id, request_id, False, community)


def _bind(oid: str | bytes, tag: int, value: bytes) -> bytes:
    body = ber.oid_body(oid) if isinstance(oid, str) else oid
    return ber.tlv(ber.SEQUENCE, ber.tlv(ber.OID, body) + ber.tlv(tag, value))


def identity(impersonate: str) -> list[bytes]:
    """Varbinds claiming another device's identity (SNMPv2-MIB system group)."""
    text = {SYS_DESCR: f"Linux {impersonate} 6.1.0-28-amd64 #1 SMP x86_64",
            SYS_CONTACT: "it@example.org", SYS_NAME: impersonate, SYS_LOCATION: "Serverraum"}
    binds = [_bind(oid, ber.OCTETS, value.encode()) for oid, value in text.items()]
    return [*binds, _bind(SYS_OBJECT_ID, ber.OID, ber.oid_body("1.3.6.1.4.1.8072.3.2.10")),
            _bind(SYS_UPTIME, _TIMETICKS, b"\x01")]


def _pdu(tag: int, request_id: int, binds: Sequence[bytes]) -> bytes:
    return ber.tlv(tag, ber.integer(request_id) + ber.integer(0) + ber.integer(0)
                   + ber.tlv(ber.SEQUENCE, b"".join(binds)))


def v3_plain(msg_id: int, pdu: bytes, engine: usm.Engine) -> bytes:
    """An SNMPv3 message at noAuthNoPriv (RFC 3412 section 6): anyone can make one."""
    nobody = usm.Keys(b"", engine.engine_id, b"", b"")
    return usm.request(msg_id, engine, nobody, "", pdu, engine.seen, flags=0)


def v2c(request_id: int, binds: Sequence[bytes], community: bytes = b"public") -> bytes:
    """An SNMPv2c Response message (RFC 1901)."""
    return ber.tlv(ber.SEQUENCE, ber.integer(1) + ber.tlv(ber.OCTETS, community)
                   + _pdu(ber.RESPONSE, request_id, binds))


def report(msg_id: int, request_id: int, name: str, engine: usm.Engine) -> bytes:
    """An unauthenticated Report naming a usmStats counter (RFC 3414 section 5)."""
    counter = _bind(_USM_STATS[name], 0x41, b"\x01")
    return v3_plain(msg_id, _pdu(ber.REPORT, request_id, [counter]), engine)


def malformed(request: Heard, engine: usm.Engine) -> list[bytes]:
    """Datagrams with the request's id that no decoder may choke on."""
    rid = request.request_id
    whole = v2c(rid, identity("x"), request.community)
    huge_oid = _bind(SYS_OBJECT_ID, ber.OID, b"\x2b" + b"\xff" * 3000 + b"\x7f")
    late = usm.Engine(engine.engine_id, 2 ** 40, 2 ** 40, engine.seen)
    return [
        whole[:-5],
        b"\x30\x84\x7f\xff\xff\xff" + whole[2:40],
        b"\x30\x80" + whole[2:],
        v2c(rid, [huge_oid], request.community),
        v2c(rid, [_bind(SYS_UPTIME, _TIMETICKS, b"\x01" * 6)], request.community),
        v3_plain(request.msg_id, _pdu(ber.RESPONSE, rid, identity("x")), late),
    ]


def forged(request: Heard, impersonate: str, engine: usm.Engine) -> list[Send]:
    """Another device's identity as answers to this request and its neighbours'."""
    binds = identity(impersonate)
    sends: list[Send] = []
    # SNMPv2c cannot tell a forged answer from a real one (RFC 1901: no authentication),
    # so a v2c request's own id gets none: the device must fail, not pass as another.
    own = [request.request_id] if request.version == 3 else []
    ids = [*own, *(request.request_id + n for n in range(-NEIGHBOURS, NEIGHBOURS + 1) if n)]
    for rid in (i for i in ids if 0 < i < 2 ** 31):
        msg_id = request.msg_id + rid - request.request_id
        sends.append((False, v3_plain(msg_id, _pdu(ber.RESPONSE, rid, binds), engine)))
        sends.append((False, v2c(rid, binds, request.community)))
    return [*sends, *((True, datagram) for _, datagram in sends[:2])]


def reports(request: Heard, engine: usm.Engine) -> list[bytes]:
    """Unauthenticated Reports: two naming another engine, then a flood."""
    elsewhere = usm.Engine(ELSEWHERE, 77, 77, engine.seen)
    msg_id, rid = request.msg_id, request.request_id
    return [report(msg_id, rid, "notInTimeWindow", elsewhere),
            report(msg_id, rid, "wrongDigest", engine),
            report(msg_id, rid, "unknownEngineID", elsewhere),
            *[report(msg_id, rid, "unknownEngineID", engine)] * FLOOD]


def respond(datagram: bytes, impersonate: str, engine: usm.Engine) -> list[Send]:
    """Everything sent back for one datagram (nothing for what is not a request)."""
    request = heard(datagram)
    if request is None:
        return []
    if request.discovery:  # RFC 3414 section 4, as an agent answers it
        return [(False, report(request.msg_id, request.request_id, "unknownEngineID",
                               engine))]
    return [*((False, d) for d in malformed(request, engine)),
            *forged(request, impersonate, engine),
            *((False, d) for d in reports(request, engine))]


class _Protocol(asyncio.DatagramProtocol):
    """Sends what `answer` gives for each datagram, from the main or the second socket."""

    def __init__(self, answer: Callable[[bytes], list[Send]], other: socket.socket) -> None:
        self.answer, self.other = answer, other
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's selector transport has sendto() without subclassing DatagramTransport
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        for from_other, reply in self.answer(data):
            if from_other:
                try:
                    self.other.sendto(reply, addr)
                except OSError:
                    continue  # a full buffer: the flood is best effort
            else:
                self.transport.sendto(reply, addr)


async def _serve(main: socket.socket, other: socket.socket, impersonate: str) -> None:
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    started = time.monotonic()

    def answer(datagram: bytes) -> list[Send]:
        now = time.monotonic()
        return respond(datagram, impersonate, usm.Engine(ENGINE_ID, 1, int(now - started), now))

    transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(answer, other),
                                                       sock=main)
    try:
        await stopped.wait()
    finally:
        transport.close()
        other.close()


def _drop_root(user: str, group: str) -> None:
    try:
        uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
    except KeyError as exc:
        raise LabError(f"the hostile responder drops root to {user}:{group}, which does "
                       "not exist; add it (Debian has both by default)") from exc
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def serve(config: HostileConfig) -> int:
    """Bind inside the device's namespace, mark ready, drop root, serve until SIGTERM.

    Raises:
        LabError: a socket cannot be bound or root cannot be dropped.
    """
    try:
        main = udp_socket(config.netns, config.address, config.port)
        other = udp_socket(config.netns, config.address, config.other_port)
    except OSError as exc:
        raise LabError(f"{config.netns}: cannot bind UDP {config.address}:{config.port} "
                       f"({exc}); check the device's namespace with 'ip netns list'") from exc
    ready = Path(config.ready_file)
    tmp = ready.with_name(ready.name + ".tmp")
    tmp.write_text(f"{os.getpid()}\n", encoding="utf-8")
    os.replace(tmp, ready)
    if os.geteuid() == 0:
        _drop_root(config.process_user, config.process_group)
    asyncio.run(_serve(main, other, config.impersonate))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the responder process; its log is stderr (a file the caller picks)."""
    parser = argparse.ArgumentParser(prog="python -m provisioner.lab.hostile")
    parser.add_argument("--config", type=Path, required=True,
                        help="config file written by 'lab fault DEVICE hostile'")
    args = parser.parse_args(argv)
    try:
        return serve(read_hostile_config(args.config))
    except (LabError, OSError) as exc:
        print(f"hostile SNMP responder failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
