"""A UDP port rewrite inside a lab device's network namespace, by nf_tables over netlink.

`lab fault DEVICE hostile` puts a hostile SNMP responder in front of a device's agent:
datagrams to udp/161 are rewritten to the responder's port on the way in, and its
answers back to 161 on the way out, so the device's address answers with the
responder while the real agent keeps running unreached. Removing the table puts the
agent back at once: the rewrite is stateless (no conntrack entry outlives it).

What the rule does, in nft(8) words:

    table ip pvlab_hostile {
        chain in  { type filter hook prerouting priority raw; udp dport 161 udp dport set P }
        chain out { type filter hook output priority raw; udp sport P udp sport set 161 }
    }

It is sent as one nf_tables batch over a NETLINK_NETFILTER socket opened inside the
namespace, following the kernel's uapi (linux/netfilter/nfnetlink.h, nf_tables.h):
netlink messages with an nfgenmsg header and attributes (nf_tables numbers in big
endian). No nft or iptables program is needed.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterable

from provisioner.errors import LabError
from provisioner.lab.netns_socket import inside_netns

TABLE = "pvlab_hostile"
_NETLINK_NETFILTER = 12
_NFNL_SUBSYS_NFTABLES = 10
_BATCH_BEGIN, _BATCH_END = 0x10, 0x11
_NEWTABLE, _DELTABLE, _NEWCHAIN, _NEWRULE = 0, 2, 3, 6
_REQUEST, _ACK, _CREATE = 0x1, 0x4, 0x400
_NLMSG_ERROR = 2
_NFPROTO_IPV4 = 2
_HOOK_PREROUTING, _HOOK_OUTPUT = 0, 3
_PRIORITY_RAW = -300
_NF_ACCEPT = 1
_REG_1 = 1
_META_L4PROTO = 16
_TRANSPORT_HEADER = 2
_CSUM_INET = 1
_UDP_DPORT, _UDP_SPORT, _UDP_CSUM = 2, 0, 6


def _attr(kind: int, payload: bytes, nested: bool = False) -> bytes:
    head = struct.pack("=HH", 4 + len(payload), kind | (0x8000 if nested else 0))
    return head + payload + b"\0" * (-len(payload) % 4)


def _u32(kind: int, value: int) -> bytes:
    return _attr(kind, struct.pack(">i" if value < 0 else ">I", value))


def _text(kind: int, value: str) -> bytes:
    return _attr(kind, value.encode() + b"\0")


def _message(kind: int, flags: int, seq: int, body: bytes, family: int = _NFPROTO_IPV4,
             subsystem: bool = True) -> bytes:
    kind = (_NFNL_SUBSYS_NFTABLES << 8) | kind if subsystem else kind
    res_id = _NFNL_SUBSYS_NFTABLES if not subsystem else 0
    payload = struct.pack("=BBH", family, 0, socket.htons(res_id)) + body
    return struct.pack("=IHHII", 16 + len(payload), kind, flags, seq, 0) + payload


def _expression(name: str, data: bytes) -> bytes:
    return _attr(1, _text(1, name) + _attr(2, data, nested=True), nested=True)  # LIST_ELEM


def _port_rewrite(field: int, match: int, replace: int) -> bytes:
    """Expressions: meta l4proto udp; udp <field> == match; udp <field> set replace."""
    def value(kind: int, raw: bytes) -> bytes:
        return _attr(kind, _attr(1, raw), nested=True)  # NFTA_DATA_VALUE

    port = struct.Struct(">H")
    expressions = [
        _expression("meta", _u32(1, _REG_1) + _u32(2, _META_L4PROTO)),
        _expression("cmp", _u32(1, _REG_1) + _u32(2, 0) + value(3, bytes((socket.IPPROTO_UDP,)))),
        _expression("payload", _u32(1, _REG_1) + _u32(2, _TRANSPORT_HEADER) + _u32(3, field)
                    + _u32(4, 2)),
        _expression("cmp", _u32(1, _REG_1) + _u32(2, 0) + value(3, port.pack(match))),
        _expression("immediate", _u32(1, _REG_1) + value(2, port.pack(replace))),
        _expression("payload", _u32(5, _REG_1) + _u32(2, _TRANSPORT_HEADER) + _u32(3, field)
                    + _u32(4, 2) + _u32(6, _CSUM_INET) + _u32(7, _UDP_CSUM)),
    ]
    return b"".join(expressions)


def _chain(seq: int, name: str, hook: int) -> bytes:
    hook_attrs = _u32(1, hook) + _u32(2, _PRIORITY_RAW)
    return _message(_NEWCHAIN, _REQUEST | _CREATE | _ACK, seq,
                    _text(1, TABLE) + _text(3, name) + _attr(4, hook_attrs, nested=True)
                    + _u32(5, _NF_ACCEPT) + _text(7, "filter"))


def _rule(seq: int, chain: str, expressions: bytes) -> bytes:
    return _message(_NEWRULE, _REQUEST | _CREATE | _ACK, seq,
                    _text(1, TABLE) + _text(2, chain) + _attr(4, expressions, nested=True))


def _batch(messages: Iterable[bytes]) -> tuple[bytes, int]:
    """A batch (begin, messages, end) and how many acknowledgements it asks for."""
    body = list(messages)
    begin = _message(_BATCH_BEGIN, _REQUEST, 0, b"", family=0, subsystem=False)
    end = _message(_BATCH_END, _REQUEST, len(body) + 1, b"", family=0, subsystem=False)
    return begin + b"".join(body) + end, len(body)


def redirect_script(port: int, agent_port: int = 161) -> tuple[bytes, int]:
    """The batch that makes the table rewriting udp/`agent_port` to `port` and back."""
    return _batch([
        _message(_NEWTABLE, _REQUEST | _CREATE | _ACK, 1, _text(1, TABLE)),
        _chain(2, "in", _HOOK_PREROUTING),
        _chain(3, "out", _HOOK_OUTPUT),
        _rule(4, "in", _port_rewrite(_UDP_DPORT, agent_port, port)),
        _rule(5, "out", _port_rewrite(_UDP_SPORT, port, agent_port)),
    ])


def remove_script() -> tuple[bytes, int]:
    """The batch that deletes the table (and its chains and rules)."""
    return _batch([_message(_DELTABLE, _REQUEST | _ACK, 1, _text(1, TABLE))])


def _acknowledged(sock: socket.socket, count: int) -> int:
    """Read `count` acknowledgements; the first error number, or 0."""
    first = 0
    for _ in range(count):
        reply = sock.recv(65536)
        kind = struct.unpack_from("=H", reply, 4)[0]
        if kind == _NLMSG_ERROR:
            code = -struct.unpack_from("=i", reply, 16)[0]
            first = first or code
            if code:
                return first  # the kernel stops the batch at the first error
    return first


def _send(netns: str, batch: tuple[bytes, int]) -> int:
    data, count = batch
    with inside_netns(netns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_NETFILTER)
    with sock:
        sock.settimeout(5.0)
        sock.bind((0, 0))
        sock.send(data)
        return _acknowledged(sock, count)


def redirect_udp(netns: str, port: int, agent_port: int = 161) -> None:
    """Make udp/`agent_port` of the namespace answer from `port` (replacing any before).

    Raises:
        LabError: the kernel refused (no nf_tables, or not root).
    """
    remove_redirect(netns)
    code = _send(netns, redirect_script(port, agent_port))
    if code:
        raise LabError(f"{netns}: the kernel refused the udp/{agent_port} rewrite "
                       f"({os.strerror(code)}); the lab's hostile device needs nf_tables "
                       "(CONFIG_NF_TABLES) and root")


def remove_redirect(netns: str) -> bool:
    """Remove the rewrite; whether there was one.

    Raises:
        LabError: the kernel refused for another reason than "no such table".
    """
    try:
        code = _send(netns, remove_script())
    except OSError as exc:
        raise LabError(f"{netns}: cannot reach nf_tables ({exc})") from exc
    if code in (0, errno.ENOENT):
        return code == 0
    raise LabError(f"{netns}: the kernel refused to remove the udp rewrite "
                   f"({os.strerror(code)})")
