"""The default poller: our own SNMP codec (v2c, and v3 authPriv SHA/AES) on one socket.

Measured (docs/benchmarks.md), most of a poll's CPU goes into turning hundreds of
varbinds per device into values, and generic libraries spend 20-60 us per varbind
there. This backend sends GET/GETBULK itself (provisioner.snmp.ber, and
provisioner.snmp.usm for SNMPv3's User-based Security Model) from a single thread and
socket, keeps up to `concurrency` devices in flight, and reads walked columns by their
encoded prefix. Engines discovered and keys localised stay for the backend's life.
SNMPv3 users with other protocols (MD5, DES) go to the ezsnmp backend, polled at the
same time in a second thread; both give the same typed `SnmpData`.
"""

from __future__ import annotations

import ipaddress
import itertools
import random
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from provisioner.errors import ConfigError
from provisioner.results import DeviceResult, FailureKind
from provisioner.secrets import read_secret
from provisioner.snmp import (
    FollowUp,
    PollRequest,
    Progress,
    RequestFor,
    SnmpData,
    SnmpTarget,
    SnmpV3User,
    ber,
    usm,
)
from provisioner.snmp.common import (
    GetManyViaPoll,
    failure_message,
    noted,
    resolve_request,
)
from provisioner.snmp.ezsnmp_backend import EzsnmpBackend

_RECEIVE_BUFFER = 8 * 1024 * 1024  # many devices answer at once; the kernel must hold them


class _Walk:
    """Several columns walked at once with GETBULK, matched by encoded OID prefix."""

    def __init__(self, request: PollRequest) -> None:
        self.columns = list(request.walks)
        self.max_rows = request.max_rows
        self.prefix = {c: ber.oid_body(c) for c in self.columns}
        self.next = dict(self.prefix)
        self.last: dict[str, tuple[int, ...]] = {}
        self.done: set[str] = set()

    def pending(self) -> list[str]:
        return [c for c in self.columns if c not in self.done]

    def feed(self, columns: Sequence[str], varbinds: Sequence[ber.Varbind],
             data: SnmpData) -> None:
        width, progressed = len(columns), set()
        tables = {c: data.tables.setdefault(c, {}) for c in columns}
        for position, (oid, tag, raw) in enumerate(varbinds):
            column = columns[position % width]
            if column in self.done:
                continue
            prefix = self.prefix[column]
            if tag == 0x82 or len(oid) <= len(prefix) or not oid.startswith(prefix):
                self.done.add(column)  # left the column, or the agent's view ended
                continue
            arcs = tuple(ber.arcs_of(oid[len(prefix):]))
            if column in self.last and arcs <= self.last[column]:
                self.done.add(column)  # not increasing: an agent that would loop us
                continue
            index = ".".join(map(str, arcs))
            value, marker = ber.value_of(tag, raw)
            tables[column][index] = value
            if marker is not None:
                data.markers[f"{column}.{index}"] = marker
            self.last[column], self.next[column] = arcs, oid
            progressed.add(column)
            if len(tables[column]) >= self.max_rows:
                data.truncated[column] = self.max_rows
                self.done.add(column)
        self.done.update(c for c in columns if c not in progressed)


@dataclass
class _Device:
    """One target's progress through its phases."""

    position: int
    target: SnmpTarget
    data: SnmpData = field(default_factory=SnmpData)
    address: tuple[str, int] | None = None
    request: PollRequest | None = None
    phase: int = 0
    gets_done: bool = False
    walk: _Walk | None = None
    columns: list[str] = field(default_factory=list)
    repetitions: int = 0
    asking: tuple[int, list[bytes], int] = (0, [], 0)  # PDU type, OIDs, max-repetitions
    sent_at: float = 0.0
    tries: int = 0
    started: float = 0.0
    answered: bool = False
    keys: usm.Keys | None = None  # SNMPv3: localised keys, once the engine is known
    resynced: bool = False


@dataclass
class _Usm:
    """What SNMPv3 needs across polls: discovered engines, localised keys, passphrases."""

    engines: dict[tuple[str, int], usm.Engine] = field(default_factory=dict)
    # by engine and user (passphrase files included: same name, other secrets, other keys)
    keys: dict[tuple[bytes, SnmpV3User], usm.Keys] = field(default_factory=dict)
    secrets: dict[SnmpV3User, tuple[str, str]] = field(default_factory=dict)

    def passphrases(self, user: SnmpV3User) -> tuple[str, str]:
        if user not in self.secrets:
            self.secrets[user] = (
                read_secret(user.auth_file, f"SNMPv3 user {user.name} authentication"),
                read_secret(user.priv_file, f"SNMPv3 user {user.name} privacy"))
        return self.secrets[user]

    def learn(self, device: _Device, engine: usm.Engine) -> None:
        """Keep a discovered engine and localise the device's user's keys to it."""
        assert device.address is not None and device.target.user is not None
        self.engines[device.address] = engine
        user = device.target.user
        key = (engine.engine_id, user)
        if key not in self.keys:
            self.keys[key] = usm.keys_for(user.name, *self.passphrases(user), engine.engine_id)
        device.keys = self.keys[key]


def native_v3(user: SnmpV3User | None) -> bool:
    """SNMPv3 users the fast codec speaks for (SHA/AES); others go to ezsnmp."""
    return user is not None and user.auth_protocol == "SHA" and user.priv_protocol == "AES"


class _Run:
    """One `poll()` call: the socket loop over every v2c device."""

    def __init__(self, sock: socket.socket, devices: list[_Device], then: FollowUp | None,
                 timeout: float, retries: int, progress: Progress | None,
                 deadline: float | None, security: _Usm) -> None:
        self.usm = security
        self.sock, self.then, self.timeout, self.retries = sock, then, timeout, retries
        self.deadline = deadline
        self.progress = progress
        self.queue = deque(devices)
        self.inflight: dict[int, _Device] = {}
        self.results: dict[int, DeviceResult[SnmpData]] = {}
        self.ids = itertools.count(random.randrange(1, 2 ** 30))

    def finish(self, device: _Device, kind: FailureKind | None, message: str) -> None:
        data = device.data if device.answered or kind is None else None
        result = DeviceResult(device.target.name, data, kind, message,
                              (time.monotonic() - device.started) * 1000)
        self.results[device.position] = result
        if self.progress is not None:
            self.progress(result)

    def start(self, device: _Device, request: RequestFor) -> None:
        device.started = time.monotonic()
        target = device.target
        if not target.community and target.user is None:
            self.finish(device, FailureKind.CONFIG, f"{target.name}: no SNMPv3 user and no "
                        "community; set one in the inventory")
            return
        try:
            device.address = (_resolve(target.address), target.port)
            device.request = resolve_request(request, target)
            if target.user is not None:
                self.usm.passphrases(target.user)
                if device.address in self.usm.engines:
                    self.usm.learn(device, self.usm.engines[device.address])
        except ConfigError as exc:
            self.finish(device, FailureKind.CONFIG, str(exc))
            return
        except OSError as exc:
            self.finish(device, FailureKind.UNREACHABLE, failure_message(
                FailureKind.UNREACHABLE, f"{target.address}: {exc.strerror or exc}",
                self.timeout, False))
            return
        self.advance(device)

    def advance(self, device: _Device) -> None:
        """Send the device's next request, or finish it."""
        request = device.request
        assert request is not None
        if device.target.user is not None and device.keys is None:
            self.send(device, (usm.REPORT, [], 0))  # discover the engine first
            return
        if request.gets and not device.gets_done:
            self.send(device, (ber.GET, [ber.oid_body(o) for o in request.gets], 0))
            return
        if device.walk is None:
            device.walk = _Walk(request)
            device.repetitions = request.max_repetitions
        if device.walk.pending():
            device.columns = device.walk.pending()
            oids = [device.walk.next[c] for c in device.columns]
            self.send(device, (ber.GETBULK, oids, device.repetitions))
            return
        for base in request.walks:
            device.data.tables.setdefault(base, {})
        follow = self.then(device.target, device.data) if self.then and device.phase == 0 \
            else None
        if follow is None:
            self.finish(device, None, "answered")
            return
        device.phase, device.request, device.gets_done, device.walk = 1, follow, False, None
        self.advance(device)

    def send(self, device: _Device, asking: tuple[int, list[bytes], int],
             resend: bool = False) -> None:
        # Every try gets a new request id, so a late answer to an earlier try is ignored.
        request_id = next(self.ids) & 0x7FFFFFFF
        kind, oids, repetitions = device.asking = asking
        device.tries = device.tries + 1 if resend else 1
        if kind == usm.REPORT:
            message = usm.discovery(request_id)
        elif device.keys is not None and device.address is not None:
            engine = self.usm.engines[device.address]
            message = usm.request(request_id, engine, device.keys, device.target.context,
                                  ber.pdu(kind, request_id, oids, repetitions), time.monotonic())
        else:
            message = ber.request(device.target.community or "", kind, request_id, oids,
                                  repetitions)
        device.sent_at = time.monotonic()
        self.inflight[request_id] = device
        assert device.address is not None
        try:
            self.sock.sendto(message, device.address)
        except OSError as exc:
            del self.inflight[request_id]
            self.finish(device, FailureKind.UNREACHABLE, failure_message(
                FailureKind.UNREACHABLE, str(exc), self.timeout, False))

    def receive(self, datagram: bytes) -> None:
        try:
            if ber.version_of(datagram) == 3:
                self.receive_v3(usm.reply(datagram, self.keys_of, time.monotonic()))
                return
            request_id, status, index, varbinds = ber.response(datagram)
        except ber.BerError:
            return  # not ours, garbled or forged: the request's timer decides
        device = self.inflight.pop(request_id, None)
        if device is None:
            return  # a late answer to a retried or finished request
        self.answer(device, status, index, varbinds)

    def keys_of(self, msg_id: int) -> usm.Keys | None:
        """The keys of the device waiting for message `msg_id`, if any."""
        device = self.inflight.get(msg_id)
        return device.keys if device is not None else None

    def receive_v3(self, reply: usm.Reply) -> None:
        device = self.inflight.pop(reply.msg_id, None)
        if device is None:
            return
        if reply.pdu_tag != usm.REPORT:
            self.answer(device, reply.status, reply.index, reply.varbinds)
            return
        report = usm.USM_REPORTS.get(ber.oid_text(reply.varbinds[0][0]) if reply.varbinds
                                     else "", "report")
        if report == "unknownEngineID" or (report == "notInTimeWindow" and
                                           not device.resynced):
            device.resynced = report == "notInTimeWindow"
            self.usm.learn(device, reply.engine)
            self.advance(device)  # the same step again, now with the engine's ID and clock
            return
        kind = FailureKind.AUTH if report != "report" else FailureKind.PROTOCOL
        self.finish(device, kind, failure_message(kind, report, self.timeout, True))

    def answer(self, device: _Device, status: int, index: int,
               varbinds: list[ber.Varbind]) -> None:
        """Take a device's Response PDU: store its values, go on to the next request."""
        device.answered = True
        if status:
            self.refused(device, status, index)
            return
        if device.walk is None:
            for oid, tag, raw in varbinds:
                value, marker = ber.value_of(tag, raw)
                noted(device.data, ber.oid_text(oid), value, marker)
            device.gets_done = True
        else:
            device.walk.feed(device.columns, varbinds, device.data)
        self.advance(device)

    def refused(self, device: _Device, status: int, index: int) -> None:
        if status == 1 and device.walk is not None and device.repetitions > 1:
            device.repetitions //= 2  # tooBig: ask for fewer rows per column
            device.tries = 0
            self.advance(device)
            return
        asked = device.columns if device.walk is not None else list(
            device.request.gets if device.request else ())
        where = asked[index - 1] if 0 < index <= len(asked) else "?"
        name = ber.ERROR_STATUS.get(status, str(status))
        self.finish(device, FailureKind.PROTOCOL, f"the agent answered {name} at {where}")

    def expire(self, now: float) -> None:
        for request_id, device in list(self.inflight.items()):
            if now - device.sent_at < self.timeout:
                continue
            del self.inflight[request_id]
            if device.tries <= self.retries:
                self.send(device, device.asking, resend=True)
            else:
                self.finish(device, FailureKind.TIMEOUT, failure_message(
                    FailureKind.TIMEOUT, "", self.timeout, device.target.user is not None))


def _resolve(address: str) -> str:
    try:
        return str(ipaddress.IPv4Address(address))
    except ValueError:
        infos = socket.getaddrinfo(address, None, socket.AF_INET, socket.SOCK_DGRAM)
        return str(infos[0][4][0])


class FastBackend(GetManyViaPoll):
    """SNMPv2c by our codec on one socket; SNMPv3 by ezsnmp in a parallel thread."""

    name = "fast"

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._v3 = EzsnmpBackend()  # SNMPv3 users with other protocols than SHA/AES
        self._usm = _Usm()
        self._closed = False

    def _socket(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
            sock.setblocking(False)
            self._sock = sock
        return self._sock

    def poll(
        self, targets: Sequence[SnmpTarget], request: RequestFor, *,
        then: FollowUp | None = None, timeout: float = 2.0, retries: int = 1,
        concurrency: int = 64, deadline: float | None = None,
        progress: Progress | None = None,
    ) -> list[DeviceResult[SnmpData]]:
        """Poll every target; see `provisioner.snmp.SnmpBackend.poll`.

        `progress` may be called from a second thread (for SNMPv3 targets).
        """
        if self._closed:
            raise RuntimeError("FastBackend used after close()")
        ends = None if deadline is None else time.monotonic() + deadline
        v3 = [i for i, t in enumerate(targets) if t.user is not None and not native_v3(t.user)]
        v3_results: list[DeviceResult[SnmpData]] = []
        worker = None
        if v3:
            def poll_v3() -> None:
                v3_results.extend(self._v3.poll(
                    [targets[i] for i in v3], request, then=then, timeout=timeout,
                    retries=retries, concurrency=concurrency, deadline=deadline,
                    progress=progress))

            worker = threading.Thread(target=poll_v3, name="snmp-v3", daemon=True)
            worker.start()
        devices = [_Device(i, t) for i, t in enumerate(targets)
                   if t.user is None or native_v3(t.user)]
        run = _Run(self._socket(), devices, then, timeout, retries, progress, deadline,
                   self._usm)
        results = self._loop(run, request, concurrency, ends)
        if worker is not None:
            worker.join()
        results.update(zip(v3, v3_results, strict=True))
        return [results[i] for i in range(len(targets))]

    def _loop(self, run: _Run, request: RequestFor, concurrency: int,
              ends: float | None) -> dict[int, DeviceResult[SnmpData]]:
        with selectors.DefaultSelector() as selector:
            selector.register(run.sock, selectors.EVENT_READ)
            while run.queue or run.inflight:
                now = time.monotonic()
                if ends is not None and now >= ends:
                    break
                while run.queue and len(run.inflight) < max(1, concurrency):
                    run.start(run.queue.popleft(), request)
                if not run.inflight:
                    continue
                soonest = min(d.sent_at for d in run.inflight.values()) + run.timeout
                wait = max(0.0, min(soonest, ends or soonest) - now)
                if selector.select(wait):
                    self._drain(run)
                run.expire(time.monotonic())
        for device in [*run.inflight.values(), *run.queue]:
            run.finish(device, FailureKind.STALE, "not finished when the run's deadline "
                       f"({run.deadline or 0:g} s) passed")
        return run.results

    @staticmethod
    def _drain(run: _Run) -> None:
        while True:
            try:
                datagram = run.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # an ICMP error for an earlier datagram: that request times out
            run.receive(datagram)

    def close(self) -> None:
        """Close the socket and the SNMPv3 sessions."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._v3.close()
        self._closed = True

    def __del__(self) -> None:
        # A caller that forgot close() must not leak the socket (nor warn about it).
        if getattr(self, "_sock", None) is not None:
            self.close()
