"""SNMP over ezsnmp 2.x (net-snmp's C library): the only module importing ezsnmp.

The fast backend: net-snmp encodes, encrypts and decodes in C, so a device costs a
few milliseconds of CPU where pysnmp needs tens (docs/benchmarks.md). Devices are
polled by a thread pool; one net-snmp session per target is kept for the backend's
life, so the SNMPv3 engine ID discovery and key localisation happen once per run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ezsnmp import Session
from ezsnmp.exceptions import ConnectionError as EzConnectionError
from ezsnmp.exceptions import (
    GenericError,
    NoSuchInstanceError,
    NoSuchNameError,
    NoSuchObjectError,
    PacketError,
    ParseError,
    UndeterminedTypeError,
    UnknownObjectIDError,
)
from ezsnmp.exceptions import TimeoutError as EzTimeoutError

from provisioner.errors import ConfigError
from provisioner.results import DeviceResult, FailureKind
from provisioner.snmp import (
    FollowUp,
    Marker,
    PollRequest,
    Progress,
    RequestFor,
    SnmpData,
    SnmpTarget,
    SnmpValue,
)
from provisioner.snmp.common import (
    ColumnWalk,
    GetManyViaPoll,
    failure_message,
    noted,
    octets_to_value,
    resolve_request,
    v3_passphrases,
)

_INT_TYPES = {"INTEGER", "Counter32", "Counter64", "Gauge32", "Timeticks", "UInteger32",
              "Unsigned32", "INTEGER32", "Integer32", "Counter", "Gauge"}
_MISSING = {"NOSUCHOBJECT": Marker.NO_SUCH_OBJECT, "NOSUCHINSTANCE": Marker.NO_SUCH_INSTANCE}
_AUTH = {"SHA": "SHA", "MD5": "MD5", "SHA-256": "SHA-256", "SHA-512": "SHA-512"}
_PRIV = {"AES": "AES", "DES": "DES"}
Row = tuple[str, SnmpValue, Marker | None]

#: ezsnmp 2.5's exception classes -> failure kind; the first class an exception is an
#: instance of decides (all are subclasses of GenericError). Its C++ layer raises
#: ConnectionError for an address net-snmp cannot use, TimeoutError when no answer
#: came, PacketError for an answer with an error status (RFC 3416 section 3), and
#: ParseError only for arguments net-snmp refused (ours).
_ERRORS: tuple[tuple[type[GenericError], FailureKind], ...] = (
    (EzTimeoutError, FailureKind.TIMEOUT),
    (EzConnectionError, FailureKind.UNREACHABLE),
    (ParseError, FailureKind.CONFIG),
    (PacketError, FailureKind.PROTOCOL),
    (NoSuchInstanceError, FailureKind.PROTOCOL),
    (NoSuchNameError, FailureKind.PROTOCOL),
    (NoSuchObjectError, FailureKind.PROTOCOL),
    (UndeterminedTypeError, FailureKind.PROTOCOL),
    (UnknownObjectIDError, FailureKind.PROTOCOL),
)


class _Stale(Exception):
    """The run's deadline passed while this device was being polled."""


def _number(kind: str, text: str) -> tuple[SnmpValue, Marker | None]:
    if kind == "Timeticks" and text.startswith("("):  # "(34) 0:00:00.34"
        text = text[1:text.find(")")]
    try:
        return int(text), None
    except ValueError:
        return text, Marker.OPAQUE


def _convert(kind: str, text: str) -> tuple[SnmpValue, Marker | None]:
    # net-snmp prints the value as text; its type name says how to read it back.
    if kind in _INT_TYPES:
        return _number(kind, text)
    if kind in ("STRING", "", '""'):  # net-snmp types an empty string as ""
        return text, None
    if kind == "Hex-STRING":
        try:
            return octets_to_value(bytes.fromhex(text.replace(" ", "")))
        except ValueError:
            return text, Marker.OPAQUE
    if kind == "OID":
        return text.lstrip("."), None
    if kind == "IpAddress":
        return text, None
    if kind in _MISSING:
        return None, _MISSING[kind]
    if kind.startswith("No more variables"):
        return None, Marker.END_OF_MIB_VIEW
    return text, Marker.OPAQUE


def _rows(results: Any) -> list[Row]:
    rows: list[Row] = []
    for item in results:
        base = str(item.oid).lstrip(".")
        index = str(item.index)
        value, marker = _convert(str(item.type), str(item.value))
        rows.append((f"{base}.{index}" if index else base, value, marker))
    return rows


def _credentials(target: SnmpTarget) -> dict[str, Any]:
    if target.user is not None:
        user = target.user
        if user.auth_protocol not in _AUTH or user.priv_protocol not in _PRIV:
            raise ConfigError(f"{target.name}: SNMPv3 user {user.name} has an unsupported "
                              f"protocol ({user.auth_protocol}/{user.priv_protocol}); use "
                              f"one of {sorted(_AUTH)} / {sorted(_PRIV)}")
        auth, priv = v3_passphrases(target)
        return {
            "version": 3, "security_level": "authPriv", "security_username": user.name,
            "auth_protocol": _AUTH[user.auth_protocol], "auth_passphrase": auth,
            "privacy_protocol": _PRIV[user.priv_protocol], "privacy_passphrase": priv,
            "context": target.context,
        }
    if target.community is None:
        raise ConfigError(f"{target.name}: no SNMPv3 user and no community; set one in the "
                          "inventory")
    return {"version": 2, "community": target.community}


@dataclass
class _Slot:
    """One device's progress, readable by the collecting thread at the deadline."""

    target: SnmpTarget
    data: SnmpData = field(default_factory=SnmpData)
    started: float = 0.0
    answered: bool = False


class EzsnmpBackend(GetManyViaPoll):
    """A poller on net-snmp's C library via ezsnmp, threads for concurrency."""

    name = "ezsnmp"

    def __init__(self) -> None:
        # Per target: one session for GETs, one per GETBULK size (ezsnmp passes its
        # max-repetitions option to every command, and snmpget refuses it).
        self._sessions: dict[tuple[SnmpTarget, float, int, int | None], Any] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _session(self, target: SnmpTarget, timeout: float, retries: int,
                 repetitions: int | None = None) -> Any:
        key = (target, timeout, retries, repetitions)
        with self._lock:
            session = self._sessions.get(key)
        if session is None:
            try:
                session = Session(
                    hostname=target.address, port_number=target.port, timeout=timeout,
                    # Only numeric OIDs: ezsnmp misreads the output of net-snmp's other
                    # print options (numeric timeticks lose their type name).
                    retries=retries, print_oids_numerically=True, **_credentials(target),
                    **({} if repetitions is None else
                       {"set_max_repeaters_to_num": str(repetitions)}))
            except ParseError as exc:
                raise ConfigError(f"{target.name}: net-snmp refused the session settings "
                                  f"({exc}); check the SNMPv3 passphrases (8+ chars)") from exc
            with self._lock:
                self._sessions[key] = session
        return session

    def poll(
        self, targets: Sequence[SnmpTarget], request: RequestFor, *,
        then: FollowUp | None = None, timeout: float = 2.0, retries: int = 1,
        concurrency: int = 64, deadline: float | None = None,
        progress: Progress | None = None,
    ) -> list[DeviceResult[SnmpData]]:
        """Poll every target; see `provisioner.snmp.SnmpBackend.poll`."""
        if self._closed:
            raise RuntimeError("EzsnmpBackend used after close()")
        started = time.monotonic()
        ends = None if deadline is None else started + deadline
        slots = [_Slot(t) for t in targets]
        results: list[DeviceResult[SnmpData] | None] = [None] * len(slots)
        pool = ThreadPoolExecutor(max_workers=max(1, concurrency),
                                  thread_name_prefix="snmp-poll")
        futures: dict[Future[DeviceResult[SnmpData]], int] = {
            pool.submit(self._device, slot, request, then, timeout, retries, ends): i
            for i, slot in enumerate(slots)}
        try:
            self._collect(futures, results, ends, progress)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for i, slot in enumerate(slots):
            if results[i] is None:
                results[i] = _stale(slot, deadline or 0.0)
                if progress is not None:
                    progress(results[i])  # type: ignore[arg-type]
        return [r for r in results if r is not None]

    @staticmethod
    def _collect(futures: dict[Future[DeviceResult[SnmpData]], int],
                 results: list[DeviceResult[SnmpData] | None], ends: float | None,
                 progress: Progress | None) -> None:
        waiting = set(futures)
        while waiting:
            left = None if ends is None else max(0.0, ends - time.monotonic())
            done, waiting = wait(waiting, timeout=left, return_when=FIRST_COMPLETED)
            for future in done:
                result = future.result()
                results[futures[future]] = result
                if progress is not None:
                    progress(result)
            if not done:  # the deadline passed: what is still out is stale
                return

    def _device(self, slot: _Slot, request: RequestFor, then: FollowUp | None,
                timeout: float, retries: int, ends: float | None) -> DeviceResult[SnmpData]:
        slot.started = time.monotonic()
        target = slot.target
        try:
            self._run(target, (timeout, retries), resolve_request(request, target), slot, ends)
            follow = then(target, slot.data) if then is not None else None
            if follow is not None:
                self._run(target, (timeout, retries), follow, slot, ends)
        except ConfigError as exc:
            return _failed(slot, FailureKind.CONFIG, str(exc))
        except _Stale:
            return _stale(slot, 0.0 if ends is None else ends - slot.started)
        except GenericError as exc:
            v3 = target.user is not None
            kind = error_kind(exc, v3)
            return _failed(slot, kind, failure_message(kind, str(exc).strip(), timeout, v3))
        except Exception as exc:  # one device's surprise must not stop the others
            return _failed(slot, FailureKind.PROTOCOL, f"{type(exc).__name__}: {exc}")
        return DeviceResult(target.name, slot.data, None, "answered", _ms(slot))

    def _run(self, target: SnmpTarget, patience: tuple[float, int], request: PollRequest,
             slot: _Slot, ends: float | None) -> None:
        if request.gets:
            _check(ends)
            session = self._session(target, *patience)
            for oid, value, marker in _rows(session.get(list(request.gets))):
                noted(slot.data, oid, value, marker)
            slot.answered = True
        walk = ColumnWalk(request)
        if walk.pending():
            session = self._session(target, *patience, request.max_repetitions)
        while walk.pending():
            _check(ends)
            columns = walk.pending()
            walk.feed(columns, _rows(session.bulk_get(walk.next_oids())), slot.data)
            slot.answered = True

    def close(self) -> None:
        """Drop every session (net-snmp closes their sockets)."""
        with self._lock:
            self._sessions.clear()
        self._closed = True


def error_kind(exc: GenericError, v3: bool) -> FailureKind:
    """The failure kind of an exception ezsnmp raised for a session (by its class).

    ezsnmp has no class of its own for rejected credentials: net-snmp's session errors
    other than an unknown host or a timeout (ezsnmp/src/helpers.cpp,
    `snmp_sess_perror_exception`) come as a bare GenericError. On an SNMPv3 session
    those are the USM's Reports (RFC 3414: wrong digest, unknown user name, unsupported
    security level, decryption error; rarely an engine ID or time window never agreed),
    so it is AUTH there; a v2c session has no credentials an agent could reject (a
    wrong community goes unanswered), so PROTOCOL there.

    Args:
        exc: what ezsnmp raised.
        v3: the session is SNMPv3.
    """
    for cls, kind in _ERRORS:
        if isinstance(exc, cls):
            return kind
    if type(exc) is GenericError and v3:
        return FailureKind.AUTH
    return FailureKind.PROTOCOL


def _check(ends: float | None) -> None:
    if ends is not None and time.monotonic() >= ends:
        raise _Stale


def _ms(slot: _Slot) -> float:
    return (time.monotonic() - slot.started) * 1000 if slot.started else 0.0


def _failed(slot: _Slot, kind: FailureKind, message: str) -> DeviceResult[SnmpData]:
    data = slot.data if slot.answered else None
    return DeviceResult(slot.target.name, data, kind, message, _ms(slot))


def _stale(slot: _Slot, deadline: float) -> DeviceResult[SnmpData]:
    return DeviceResult(slot.target.name, slot.data if slot.answered else None,
                        FailureKind.STALE,
                        f"not finished when the run's deadline ({deadline:g} s) passed",
                        _ms(slot))
