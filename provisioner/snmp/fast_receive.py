"""Which replies the fast backend believes, and the per-device state it keeps for it.

Every device on a school network may lie (a student's laptop answering on an access
point's address, broken firmware, a forger), so a datagram is used only as far as the
RFCs allow:

- It is matched to the request it answers by its id (msgID, request-id: random, drawn
  from `secrets`, RFC 3412 section 6.2 and RFC 3416 section 3) AND the address and port
  that request went to. A reply carrying another device's id is dropped.
- A v2c Response answers only a v2c request; an SNMPv3 message only an SNMPv3 one.
- SNMPv3 (RFC 3412 section 7.2, RFC 3414 section 3.2): a Response is used only when
  its msgFlags carry the requested level (authPriv), its digest verifies (step 6), it
  lies in the time window (step 7, with the boots/time bookkeeping of section 2.2.3),
  its request-id is the request's and its contextEngineID/contextName are the ones
  asked. A Report that is not authenticated is used for discovery only (an
  unknownEngineID Report answering our discovery, RFC 3414 section 4); otherwise it is
  only noted, and acted on when the request's try times out without an authenticated
  answer. An authenticated notInTimeWindow Report re-synchronises the clock, a bounded
  number of times.
- A Response to a GET names exactly the OIDs asked, in order (RFC 3416 section 4.2.1);
  a GETBULK's has at most N x M varbinds (4.2.3), each walked column must increase
  and stay in its subtree (`Walk`).

Anything else is dropped, counted against the device(s) at the sender's address
(`Dropped`, shown in the device's result) and never ends a request: the request's
timer decides. Decoding raises only `SnmpDecodeError`, caught per datagram here.
"""

from __future__ import annotations

import secrets
import time
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field

from provisioner.errors import SnmpDecodeError, SnmpRefusedError
from provisioner.results import FailureKind
from provisioner.snmp import (
    Marker,
    PollRequest,
    SnmpData,
    SnmpTarget,
    SnmpV3User,
    SnmpValue,
    ber,
    usm,
)
from provisioner.snmp.common import failure_message, noted, v3_passphrases

DISCOVERY = -1  # the kind of an engine discovery request (a GET without varbinds)
CONFLICTING = "conflicting Reports"  # `Device.heard` after Reports that disagree
_ID_LIMIT = 2 ** 31 - 1  # msgID and request-id: 0..2^31-1 (RFC 3412 6.2); 0 is not used
_MAX_RESYNCS = 2  # authenticated notInTimeWindow Reports acted on per device and poll
_MAX_REASONS = 4  # distinct reasons kept per device; a flood of variants adds no more
_ENGINE_ID_SIZES = range(5, 33)  # SnmpEngineID: 5 to 32 octets (RFC 3411)

Address = tuple[str, int]


def new_request_id(inflight: dict[int, Device]) -> int:
    """A random id in 1..2^31-1 that no request in flight has (guessing it is hopeless)."""
    while True:
        candidate = secrets.randbelow(_ID_LIMIT) + 1
        if candidate not in inflight:
            return candidate


@dataclass(frozen=True)
class Asking:
    """One request: its PDU type (`ber.GET`, `ber.GETBULK` or `DISCOVERY`), the OIDs
    (content bytes) and GETBULK's max-repetitions."""

    kind: int
    oids: list[bytes]
    repetitions: int


@dataclass
class Dropped:
    """Datagrams from a device's address that were not believed: malformed ones
    (`SnmpDecodeError`) and well-formed ones refused (`SnmpRefusedError`), by reason."""

    malformed: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)

    def add(self, error: SnmpDecodeError, where: str = "") -> None:
        """Count one dropped datagram (reasons beyond the first few count as "other")."""
        counts = self.refused if isinstance(error, SnmpRefusedError) else self.malformed
        reason = f"{error}{where}"
        if reason not in counts and len(counts) >= _MAX_REASONS:
            reason = "other reasons"
        counts[reason] += 1

    def __bool__(self) -> bool:
        return bool(self.malformed or self.refused)

    def summary(self) -> str:
        """One line: how many were dropped and the commonest reasons."""
        parts = []
        for label, counts in (("malformed", self.malformed), ("refused", self.refused)):
            if counts:
                common = ", ".join(f"{n} x {why}" for why, n in counts.most_common(3))
                parts.append(f"{counts.total()} {label}: {common}")
        total = self.malformed.total() + self.refused.total()
        noun = "datagram" if total == 1 else "datagrams"
        return (f"dropped {total} {noun} from its address that could not be believed "
                f"({'; '.join(parts)})")

    def suffix(self) -> str:
        """The summary after "; ", or nothing."""
        return f"; {self.summary()}" if self else ""


class Walk:
    """Several columns walked at once with GETBULK, matched by encoded OID prefix."""

    def __init__(self, request: PollRequest) -> None:
        self.columns = list(request.walks)
        self.max_rows = request.max_rows
        self.prefix = {c: ber.oid_body(c) for c in self.columns}
        self.next = dict(self.prefix)
        self.last: dict[str, tuple[int, ...]] = {}
        self.done: set[str] = set()

    def pending(self) -> list[str]:
        """The unfinished columns, in request order."""
        return [c for c in self.columns if c not in self.done]

    def feed(self, columns: list[str], varbinds: list[ber.Varbind], data: SnmpData) -> None:
        """Take one GETBULK answer (RFC 3416 4.2.3: varbind i answers columns[i % n]).

        Everything is read into this answer's own rows first and stored only when all
        of it decoded, so a bad value leaves the walk as it was.

        Raises:
            SnmpDecodeError: a value or index cannot be decoded; nothing is stored then.
        """
        width, ended = len(columns), set()
        rows: dict[str, dict[str, SnmpValue]] = {c: {} for c in columns}
        marks: list[tuple[str, str, Marker]] = []
        last, nexts = dict(self.last), {}
        for position, (oid, tag, raw) in enumerate(varbinds):
            column = columns[position % width]
            if column in ended:
                continue
            prefix = self.prefix[column]
            if tag == 0x82 or len(oid) <= len(prefix) or not oid.startswith(prefix):
                ended.add(column)  # left the column, or the agent's view ended
                continue
            arcs = tuple(ber.arcs_of(oid[len(prefix):]))
            previous = last.get(column)
            if previous is not None and arcs <= previous:
                ended.add(column)  # not increasing: an agent that would loop us
                continue
            index = ".".join(map(str, arcs))
            rows[column][index], marker = ber.value_of(tag, raw)
            if marker is not None:
                marks.append((column, index, marker))
            last[column], nexts[column] = arcs, oid
        self._store(rows, marks, (last, nexts), ended, data)

    def _store(self, rows: dict[str, dict[str, SnmpValue]],
               marks: list[tuple[str, str, Marker]],
               position: tuple[dict[str, tuple[int, ...]], dict[str, bytes]],
               ended: set[str], data: SnmpData) -> None:
        for column in list(rows):
            if not rows[column]:
                self.done.add(column)  # an answer that gave a column nothing new ends it
                continue
            table = data.tables.setdefault(column, {})
            room = self.max_rows - len(table)
            if len(rows[column]) >= room:
                rows[column] = dict(list(rows[column].items())[:room])
                data.truncated[column] = self.max_rows
                self.done.add(column)
            table.update(rows[column])
            self.last[column], self.next[column] = position[0][column], position[1][column]
        for column, index, marker in marks:
            if index in rows[column]:
                data.markers[f"{column}.{index}"] = marker
        self.done.update(ended)


@dataclass
class Device:
    """One target's progress through its phases, and what its address sent us."""

    position: int
    target: SnmpTarget
    data: SnmpData = field(default_factory=SnmpData)
    address: Address | None = None
    request: PollRequest | None = None
    phase: int = 0
    gets_done: bool = False
    walk: Walk | None = None
    columns: list[str] = field(default_factory=list)
    repetitions: int = 0
    asking: Asking = field(default_factory=lambda: Asking(0, [], 0))
    request_id: int = 0  # the try in flight
    sent_at: float = 0.0
    tries: int = 0
    started: float = 0.0
    answered: bool = False
    keys: usm.Keys | None = None  # SNMPv3: localised keys, once the engine is known
    discoveries: int = 0
    resyncs: int = 0
    heard: str = ""  # what an unauthenticated Report said about the try in flight
    dropped: Dropped = field(default_factory=Dropped)


@dataclass
class Usm:
    """What SNMPv3 needs across polls: engines as we know them (RFC 3414 2.2.3, by
    address), localised keys, passphrases (these two never shown by repr)."""

    engines: dict[Address, usm.Engine] = field(default_factory=dict)
    # by engine and user (passphrase files included: same name, other secrets, other keys)
    keys: dict[tuple[bytes, SnmpV3User], usm.Keys] = field(default_factory=dict, repr=False)
    secrets: dict[SnmpV3User, tuple[str, str]] = field(default_factory=dict, repr=False)

    def passphrases(self, target: SnmpTarget) -> tuple[str, str]:
        """The target's user's passphrases, read and checked once per user.

        Raises:
            ConfigError: unreadable, empty or shorter than 8 characters.
        """
        assert target.user is not None
        if target.user not in self.secrets:
            self.secrets[target.user] = v3_passphrases(target)
        return self.secrets[target.user]

    def learn(self, device: Device, engine: usm.Engine) -> None:
        """Keep an engine for the device's address and localise its user's keys to it.

        A notion already kept of the same engine ID stays: a discovery Report is not
        authenticated and must not reset a clock an authenticated message set.
        """
        assert device.address is not None and device.target.user is not None
        known = self.engines.get(device.address)
        if known is None or known.engine_id != engine.engine_id:
            self.engines[device.address] = engine
        user = device.target.user
        key = (engine.engine_id, user)
        if key not in self.keys:
            self.keys[key] = usm.keys_for(user.name, *self.passphrases(device.target),
                                          engine.engine_id)
        device.keys = self.keys[key]


def check_names(asking: Asking, varbinds: list[ber.Varbind]) -> None:
    """A Response names what was asked (RFC 3416 4.2.1 GET, 4.2.3 GETBULK).

    Raises:
        SnmpRefusedError: other OIDs than asked for a GET, or more varbinds than a
            GETBULK may return.
    """
    if asking.kind == ber.GET:
        if len(varbinds) != len(asking.oids) or any(
                bind[0] != oid for bind, oid in zip(varbinds, asking.oids, strict=True)):
            raise SnmpRefusedError("a Response naming other OIDs than were asked")
    elif len(varbinds) > len(asking.oids) * max(1, asking.repetitions):
        raise SnmpRefusedError(f"a GETBULK Response of {len(varbinds)} varbinds, more "
                               "than were asked for")


class Receiver(ABC):
    """Reading datagrams into the requests in flight; the poll loop implements sending
    and finishing."""

    timeout: float

    def __init__(self, security: Usm) -> None:
        self.usm = security
        self.inflight: dict[int, Device] = {}

    @abstractmethod
    def finish(self, device: Device, kind: FailureKind | None, message: str) -> None:
        """Record the device's result."""

    @abstractmethod
    def advance(self, device: Device) -> None:
        """Send the device's next request, or finish it."""

    @abstractmethod
    def send(self, device: Device, asking: Asking, resend: bool = False) -> None:
        """Send a (new try of a) request."""

    @abstractmethod
    def refused(self, device: Device, status: int, index: int) -> None:
        """Act on a Response with an error status."""

    def receive(self, datagram: bytes, source: Address) -> None:
        """Take one datagram from `source`; what is not believed is counted, never raised."""
        try:
            version = ber.version_of(datagram)
            if version == 3:
                self._v3(usm.parse(datagram), source)
            elif version == 1:
                self._v2c(datagram, source)
            else:
                raise SnmpDecodeError(f"an SNMP version {version} message (v2c and v3 are "
                                      "asked)")
        except SnmpDecodeError as exc:
            self.blame(source, exc)

    def blame(self, source: Address, error: SnmpDecodeError) -> None:
        """Count a dropped datagram against the devices in flight at its sender's address
        (or, from another port, at its sender's host)."""
        devices = [d for d in self.inflight.values() if d.address == source]
        where = ""
        if not devices:
            devices = [d for d in self.inflight.values()
                       if d.address is not None and d.address[0] == source[0]]
            where = f", from port {source[1]}"
        for device in devices:
            device.dropped.add(error, where)

    def sent_to(self, request_id: int, source: Address) -> Device | None:
        """The device whose request in flight has this id, if the reply comes from where
        that request went (None: a late answer to a retried or finished request).

        Raises:
            SnmpRefusedError: the id is another device's request's.
        """
        device = self.inflight.get(request_id)
        if device is None:
            return None
        if device.address != source:
            raise SnmpRefusedError("a reply carrying the request id of another device")
        return device

    def _v2c(self, datagram: bytes, source: Address) -> None:
        request_id, status, index, varbinds = ber.response(datagram)
        device = self.sent_to(request_id, source)
        if device is None:
            return
        if device.target.user is not None:
            raise SnmpRefusedError("an SNMPv2c reply to an SNMPv3 authPriv request")
        self.answer(device, status, index, varbinds)

    def _v3(self, message: usm.Message, source: Address) -> None:
        device = self.sent_to(message.msg_id, source)
        if device is None:
            return
        if device.target.user is None:
            raise SnmpRefusedError("an SNMPv3 reply to an SNMPv2c request")
        if device.asking.kind == DISCOVERY:
            self.discovered(device, message)
            return
        assert device.keys is not None and device.address is not None
        usm.authenticate(message, device.keys)  # RFC 3414 3.2 step 6
        if message.authenticated:  # step 7, and the bookkeeping of 2.2.3
            engine = self.usm.engines[device.address]
            self.usm.engines[device.address] = usm.in_window(engine, message,
                                                             time.monotonic())
        scoped = usm.scoped_pdu(usm.plaintext(message, device.keys))  # step 8
        if scoped.pdu_tag == ber.REPORT:
            self.reported(device, message, scoped)
            return
        self.check_response(device, message, scoped)
        self.answer(device, scoped.status, scoped.index, scoped.varbinds)

    def check_response(self, device: Device, message: usm.Message, scoped: usm.Scoped
                       ) -> None:
        """RFC 3412 section 7.2 step 12: a Response at the request's level, for its id
        and context.

        Raises:
            SnmpRefusedError: any of these differs.
        """
        assert device.keys is not None
        if scoped.pdu_tag != ber.RESPONSE:
            raise SnmpRefusedError(f"a PDU of type {scoped.pdu_tag:#x} where a Response "
                                   "belongs")
        if message.flags & usm.AUTH_PRIV != usm.AUTH_PRIV:
            raise SnmpRefusedError(f"a {usm.level_name(message.flags)} Response to an "
                                   "authPriv request")
        if scoped.request_id != message.msg_id:
            raise SnmpRefusedError("a Response whose request-id is not its request's")
        if scoped.context_engine_id != device.keys.engine_id or \
                scoped.context_name != device.target.context.encode():
            raise SnmpRefusedError("a Response for another contextEngineID or contextName")

    def discovered(self, device: Device, message: usm.Message) -> None:
        """The answer to an engine discovery (RFC 3414 section 4): an unauthenticated
        unknownEngineID Report naming the engine.

        Raises:
            SnmpDecodeError: anything else.
        """
        scoped = usm.scoped_pdu(usm.plaintext(message, None))
        if message.authenticated or scoped.pdu_tag != ber.REPORT or \
                usm.report_name(scoped) != "unknownEngineID":
            raise SnmpRefusedError("an answer to an engine discovery that is not an "
                                   "unknownEngineID Report")
        if len(message.engine_id) not in _ENGINE_ID_SIZES:
            raise SnmpRefusedError(f"an engine ID of {len(message.engine_id)} bytes "
                                   "(RFC 3411: 5 to 32)")
        self.usm.learn(device, usm.Engine(message.engine_id, message.boots, message.time,
                                          time.monotonic()))
        self.advance(device)

    def reported(self, device: Device, message: usm.Message, scoped: usm.Scoped) -> None:
        """A Report answering a request that had keys (RFC 3412 7.2 step 11)."""
        name = usm.report_name(scoped)
        if not message.authenticated:
            # Evidence only, acted on when the try times out. A real agent reports one
            # thing per request: Reports that disagree are forged, and prove nothing.
            device.heard = name if device.heard in ("", name) else CONFLICTING
            raise SnmpRefusedError(f"an unauthenticated Report ({name})")
        if name == "notInTimeWindow" and device.resyncs < _MAX_RESYNCS:
            device.resyncs += 1  # the clock was taken from the Report: ask again
            self.send(device, device.asking)
            return
        kind = FailureKind.AUTH if name in usm.AUTH_REPORTS else FailureKind.PROTOCOL
        detail = name if kind is FailureKind.AUTH else \
            f"the agent answered with an authenticated Report ({name}) again and again"
        self.finish(device, kind, failure_message(kind, detail, self.timeout, True))

    def answer(self, device: Device, status: int, index: int,
               varbinds: list[ber.Varbind]) -> None:
        """Take a device's Response PDU: store its values, go on to the next request.

        Raises:
            SnmpDecodeError: the varbinds are not what was asked, or a value cannot be
                decoded; nothing is stored then and the request stays in flight.
        """
        if status:
            device.answered = True
            self.refused(device, status, index)
            return
        check_names(device.asking, varbinds)
        if device.walk is None:
            rows = [(ber.oid_text(oid), ber.value_of(tag, raw)) for oid, tag, raw in varbinds]
            for oid, (value, marker) in rows:
                noted(device.data, oid, value, marker)
            device.gets_done = True
        else:
            device.walk.feed(device.columns, varbinds, device.data)
        device.answered = True
        self.advance(device)
