"""The default poller: our own SNMP codec (v2c, and v3 authPriv SHA/AES) on one socket.

Measured (docs/benchmarks.md), most of a poll's CPU goes into turning hundreds of
varbinds per device into values, and generic libraries spend 20-60 us per varbind
there. This backend sends GET/GETBULK itself (provisioner.snmp.ber, and
provisioner.snmp.usm for SNMPv3's User-based Security Model) from a single thread and
socket, keeps up to `concurrency` devices in flight, and reads walked columns by their
encoded prefix. Engines discovered and keys localised stay for the backend's life.
SNMPv3 users with other protocols (MD5, DES) go to the ezsnmp backend, polled at the
same time in a second thread; both give the same typed `SnmpData`.

Every device on the network may lie, so a reply is believed only as RFC 3412 section
7.2 and RFC 3414 section 3.2 allow (provisioner.snmp.fast_receive): it must come from
the address and port asked, carry the random id of the request in flight, and for
SNMPv3 be authenticated and private, verify and lie in the time window. Anything else
is dropped and counted against the device it came from; nothing a datagram holds ends
another device's request or the poll.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence

from provisioner.errors import ConfigError
from provisioner.results import DeviceResult, FailureKind
from provisioner.snmp import (
    FollowUp,
    Progress,
    RequestFor,
    SnmpData,
    SnmpTarget,
    SnmpV3User,
    ber,
    usm,
)
from provisioner.snmp.common import GetManyViaPoll, failure_message, resolve_request
from provisioner.snmp.ezsnmp_backend import EzsnmpBackend
from provisioner.snmp.fast_receive import (
    DISCOVERY,
    Asking,
    Device,
    Receiver,
    Usm,
    Walk,
    new_request_id,
)

_RECEIVE_BUFFER = 8 * 1024 * 1024  # many devices answer at once; the kernel must hold them
_MAX_DISCOVERIES = 3  # engine discoveries per device and poll: Report floods end here


def native_v3(user: SnmpV3User | None) -> bool:
    """SNMPv3 users the fast codec speaks for (SHA/AES); others go to ezsnmp."""
    return user is not None and user.auth_protocol == "SHA" and user.priv_protocol == "AES"


class _Run(Receiver):
    """One `poll()` call: the socket loop over every device it polls itself."""

    def __init__(self, sock: socket.socket, devices: list[Device], then: FollowUp | None,
                 timeout: float, retries: int, progress: Progress | None,
                 deadline: float | None, security: Usm) -> None:
        super().__init__(security)
        self.sock, self.then, self.timeout, self.retries = sock, then, timeout, retries
        self.deadline = deadline
        self.progress = progress
        self.queue = deque(devices)
        self.results: dict[int, DeviceResult[SnmpData]] = {}

    def finish(self, device: Device, kind: FailureKind | None, message: str) -> None:
        """Record the device's result; its request in flight, if any, is forgotten."""
        self.inflight.pop(device.request_id, None)
        data = device.data if device.answered or kind is None else None
        if device.dropped and data is not None:
            data.notes.append(device.dropped.summary())
        if kind is None and device.dropped:
            message = f"{message}; {device.dropped.summary()}"
        result = DeviceResult(device.target.name, data, kind, message,
                              (time.monotonic() - device.started) * 1000)
        self.results[device.position] = result
        if self.progress is not None:
            self.progress(result)

    def start(self, device: Device, request: RequestFor) -> None:
        """Resolve the device's address and credentials, then send its first request."""
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
                self.usm.passphrases(target)
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

    def advance(self, device: Device) -> None:
        """Send the device's next request, or finish it."""
        request = device.request
        assert request is not None
        if device.target.user is not None and device.keys is None:
            self.discover(device)
            return
        if request.gets and not device.gets_done:
            self.send(device, Asking(ber.GET, [ber.oid_body(o) for o in request.gets], 0))
            return
        if device.walk is None:
            device.walk = Walk(request)
            device.repetitions = request.max_repetitions
        if device.walk.pending():
            device.columns = device.walk.pending()
            oids = [device.walk.next[c] for c in device.columns]
            self.send(device, Asking(ber.GETBULK, oids, device.repetitions))
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

    def discover(self, device: Device) -> None:
        """Ask the device's engine for its ID (RFC 3414 section 4), a bounded number of
        times per poll: an agent answering everything with Reports must not hold us."""
        if device.discoveries >= _MAX_DISCOVERIES:
            self.finish(device, FailureKind.PROTOCOL, (
                f"asked for its SNMPv3 engine ID {device.discoveries} times and every "
                "request after it was answered with an unknownEngineID Report, never a "
                "Response; check the device's SNMP agent (a rogue device may answer at "
                "its address)" + device.dropped.suffix()))
            return
        device.discoveries += 1
        self.send(device, Asking(DISCOVERY, [], 0))

    def send(self, device: Device, asking: Asking, resend: bool = False) -> None:
        """Send one try of a request with a fresh random id (a late answer to an
        earlier try is then ignored)."""
        self.inflight.pop(device.request_id, None)
        request_id = new_request_id(self.inflight)
        device.asking, device.request_id, device.heard = asking, request_id, ""
        device.tries = device.tries + 1 if resend else 1
        if asking.kind == DISCOVERY:
            message = usm.discovery(request_id)
        elif device.keys is not None and device.address is not None:
            engine = self.usm.engines[device.address]
            pdu = ber.pdu(asking.kind, request_id, asking.oids, asking.repetitions)
            message = usm.request(request_id, engine, device.keys, device.target.context,
                                  pdu, time.monotonic())
        else:
            message = ber.request(device.target.community or "", asking.kind, request_id,
                                  asking.oids, asking.repetitions)
        device.sent_at = time.monotonic()
        self.inflight[request_id] = device
        assert device.address is not None
        try:
            self.sock.sendto(message, device.address)
        except OSError as exc:
            self.finish(device, FailureKind.UNREACHABLE, failure_message(
                FailureKind.UNREACHABLE, str(exc), self.timeout, False))

    def refused(self, device: Device, status: int, index: int) -> None:
        """A Response with an error status: halve GETBULK on tooBig, else fail."""
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
        """Retry or end every request whose try has waited `timeout` seconds."""
        for request_id, device in list(self.inflight.items()):
            if now - device.sent_at < self.timeout:
                continue
            del self.inflight[request_id]
            self.expired(device)

    def expired(self, device: Device) -> None:
        """A try got no usable answer in time: what an unauthenticated Report said about
        it is acted on now (RFC 3414 section 4: used for discovery only), else retry."""
        heard, v3 = device.heard, device.target.user is not None
        if heard == "unknownEngineID" and device.asking.kind != DISCOVERY:
            device.keys = None  # the engine may have changed: discover it again
            self.discover(device)
        elif heard in usm.AUTH_REPORTS:
            self.finish(device, FailureKind.AUTH, failure_message(
                FailureKind.AUTH, f"{heard}, said by an unauthenticated Report; no "
                "authenticated answer came", self.timeout, v3))
        elif device.tries <= self.retries:
            self.send(device, device.asking, resend=True)
        elif device.dropped:
            self.finish(device, FailureKind.PROTOCOL, (
                f"no usable answer within {self.timeout:g} s and its retries: "
                f"{device.dropped.summary()}"))
        else:
            self.finish(device, FailureKind.TIMEOUT, failure_message(
                FailureKind.TIMEOUT, "", self.timeout, v3))


def _resolve(address: str) -> str:
    try:
        return str(ipaddress.IPv4Address(address))
    except ValueError:
        infos = socket.getaddrinfo(address, None, socket.AF_INET, socket.SOCK_DGRAM)
        return str(infos[0][4][0])


class FastBackend(GetManyViaPoll):
    """SNMPv2c and SNMPv3 SHA/AES by our codec on one socket; other SNMPv3 by ezsnmp in
    a parallel thread."""

    name = "fast"

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._v3 = EzsnmpBackend()  # SNMPv3 users with other protocols than SHA/AES
        self._usm = Usm()
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

        `progress` may be called from a second thread (for SNMPv3 targets). Datagrams
        the poll dropped (malformed, unauthenticated, forged, for another device's
        request) are counted per device: in `SnmpData.notes` and the result's message.
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
        devices = [Device(i, t) for i, t in enumerate(targets)
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
                datagram, source = run.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # an ICMP error for an earlier datagram: that request times out
            run.receive(datagram, source)

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
