"""SNMP over pysnmp 7 (asyncio, v3 architecture): the only module importing pysnmp.

The reference backend: pure Python, so slower than net-snmp's C library but with no
native code. One event loop and one SNMP engine per credential set live as long as
the backend object, so SNMPv3 engine IDs discovered and keys localised in one `poll()`
are reused by the next; `close()` ends them.
"""

from __future__ import annotations

import asyncio
import hmac
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyasn1.type import univ
from pysnmp.carrier.error import CarrierError
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    usmAesCfb128Protocol,
    usmDESPrivProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)
from pysnmp.proto import errind, rfc1902
from pysnmp.proto.error import StatusInformation
from pysnmp.proto.secmod.rfc3414.service import SnmpUSMSecurityModel

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
    SnmpV3User,
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

_AUTH = {"SHA": usmHMACSHAAuthProtocol, "MD5": usmHMACMD5AuthProtocol}
_PRIV = {"AES": usmAesCfb128Protocol, "DES": usmDESPrivProtocol}
_MISSING = {"NoSuchObject": Marker.NO_SUCH_OBJECT, "NoSuchInstance": Marker.NO_SUCH_INSTANCE,
            "EndOfMibView": Marker.END_OF_MIB_VIEW}
Row = tuple[str, SnmpValue, Marker | None]

#: pysnmp 7.1's error indications (pysnmp/proto/errind.py) -> failure kind; the first
#: class an indication is an instance of decides. AUTH: the RFC 3414 usmStats Reports
#: that say our user or keys are not the agent's (pysnmp/proto/mpmod/rfc3412.py maps
#: them to these classes; the same four as `usm.AUTH_REPORTS` of the fast backend), and
#: an answer our privacy key cannot decrypt. Every other indication (an engine ID or
#: time window never agreed, a malformed or unexpected message) is PROTOCOL.
_INDICATIONS: tuple[tuple[type[errind.ErrorIndication], FailureKind], ...] = (
    (errind.RequestTimedOut, FailureKind.TIMEOUT),
    (errind.WrongDigest, FailureKind.AUTH),
    (errind.UnknownUserName, FailureKind.AUTH),
    (errind.UnsupportedSecurityLevel, FailureKind.AUTH),
    (errind.DecryptionError, FailureKind.AUTH),
    (errind.ErrorIndication, FailureKind.PROTOCOL),
)


class _SnmpFailure(Exception):
    """An error indication or error status from the agent or the engine, and its kind."""

    def __init__(self, message: str, kind: FailureKind) -> None:
        super().__init__(message)
        self.kind = kind


def indication_kind(indication: errind.ErrorIndication) -> FailureKind:
    """The failure kind of one of pysnmp's error indications (by its class)."""
    for cls, kind in _INDICATIONS:
        if isinstance(indication, cls):
            return kind
    return FailureKind.PROTOCOL


def exception_kind(exc: Exception) -> FailureKind:
    """The failure kind of an exception pysnmp raised while reaching a device.

    UNREACHABLE for an OSError, or a `PySnmpError` raised while handling one (pysnmp
    7.1's `UdpTransportTarget.create` turns a name that does not resolve, a
    `socket.gaierror`, into one; its carrier wraps failed sends alike); else PROTOCOL.
    """
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, OSError) or (isinstance(exc, PySnmpError) and
                                    isinstance(cause, OSError)):
        return FailureKind.UNREACHABLE
    return FailureKind.PROTOCOL


def _v3_auth(target: SnmpTarget, user: SnmpV3User) -> UsmUserData:
    try:
        auth_proto, priv_proto = _AUTH[user.auth_protocol], _PRIV[user.priv_protocol]
    except KeyError as exc:
        raise ConfigError(f"SNMPv3 user {user.name}: unsupported protocol {exc.args[0]}; "
                          f"use one of {sorted(_AUTH)} / {sorted(_PRIV)}") from exc
    auth, priv = v3_passphrases(target)
    return UsmUserData(user.name, authKey=auth, privKey=priv, authProtocol=auth_proto,
                       privProtocol=priv_proto)


def _auth_data(target: SnmpTarget) -> Any:
    if target.user is not None:
        return _v3_auth(target, target.user)
    if target.community is None:
        raise ConfigError(f"{target.name}: no SNMPv3 user and no community; set one in "
                          "the inventory")
    return CommunityData(target.community, mpModel=1)


def _convert(value: Any) -> tuple[SnmpValue, Marker | None]:
    kind = type(value).__name__
    if kind in _MISSING:
        return None, _MISSING[kind]
    if isinstance(value, rfc1902.IpAddress):
        return socket.inet_ntoa(bytes(value.asOctets())), None
    if isinstance(value, rfc1902.Opaque):
        return bytes(value.asOctets()).hex(), Marker.OPAQUE
    if isinstance(value, rfc1902.OctetString):
        return octets_to_value(bytes(value.asOctets()))
    if isinstance(value, univ.ObjectIdentifier):
        return str(value), None
    if isinstance(value, rfc1902.Integer | rfc1902.Counter32 | rfc1902.Counter64 |
                  rfc1902.Gauge32 | rfc1902.TimeTicks | rfc1902.Unsigned32):
        return int(value), None
    return value.prettyPrint(), Marker.OPAQUE


def _rows(var_binds: Sequence[Any]) -> list[Row]:
    rows: list[Row] = []
    for name, value in var_binds:
        converted, marker = _convert(value)
        rows.append((str(name), converted, marker))
    return rows


@dataclass
class _Slot:
    """One device's progress, kept when the deadline cancels its task."""

    target: SnmpTarget
    data: SnmpData = field(default_factory=SnmpData)
    started: float = 0.0
    answered: bool = False


@dataclass
class _Call:
    """What one device's requests need: engine, auth, transport, context."""

    engine: SnmpEngine
    auth: Any
    transport: Any
    context: Any


class PysnmpBackend(GetManyViaPoll):
    """A poller on pysnmp's v3 architecture (v2c and v3 alike)."""

    name = "pysnmp"

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(_quiet_late_answers)
        # An engine keeps one key set per SNMPv3 user name: devices whose user has the
        # same name but other passphrases must not share an engine, or they share keys.
        self._engines: dict[SnmpV3User | None, SnmpEngine] = {}
        self._auths: dict[SnmpV3User, Any] = {}

    def _engine(self, target: SnmpTarget) -> tuple[SnmpEngine, Any]:
        auth = _auth_data(target) if target.user is None else self._auths.get(target.user)
        if auth is None and target.user is not None:
            auth = self._auths[target.user] = _auth_data(target)
        engine = self._engines.get(target.user)
        if engine is None:
            engine = self._engines[target.user] = SnmpEngine()
        return engine, auth

    def poll(
        self, targets: Sequence[SnmpTarget], request: RequestFor, *,
        then: FollowUp | None = None, timeout: float = 2.0, retries: int = 1,
        concurrency: int = 64, deadline: float | None = None,
        progress: Progress | None = None,
    ) -> list[DeviceResult[SnmpData]]:
        """Poll every target; see `provisioner.snmp.SnmpBackend.poll`."""
        if self._loop.is_closed():
            raise RuntimeError("PysnmpBackend used after close()")
        return self._loop.run_until_complete(self._poll(
            targets, request, then, timeout, retries, concurrency, deadline, progress))

    async def _poll(
        self, targets: Sequence[SnmpTarget], request: RequestFor, then: FollowUp | None,
        timeout: float, retries: int, concurrency: int, deadline: float | None,
        progress: Progress | None,
    ) -> list[DeviceResult[SnmpData]]:
        gate = asyncio.Semaphore(max(1, concurrency))
        slots = [_Slot(t) for t in targets]

        async def one(slot: _Slot) -> DeviceResult[SnmpData]:
            async with gate:
                result = await self._device(slot, request, then, timeout, retries)
            if progress is not None:
                progress(result)
            return result

        tasks = [asyncio.ensure_future(one(slot)) for slot in slots]
        if not tasks:
            return []
        await asyncio.wait(tasks, timeout=deadline)
        results: list[DeviceResult[SnmpData]] = []
        for task, slot in zip(tasks, slots, strict=True):
            if task.done() and not task.cancelled():
                results.append(task.result())
                continue
            task.cancel()
            stale = _stale(slot, deadline or 0.0)
            if progress is not None:
                progress(stale)
            results.append(stale)
        await asyncio.gather(*tasks, return_exceptions=True)
        return results

    async def _device(self, slot: _Slot, request: RequestFor, then: FollowUp | None,
                      timeout: float, retries: int) -> DeviceResult[SnmpData]:
        slot.started = time.monotonic()
        target = slot.target
        v3 = target.user is not None
        try:
            engine, auth = self._engine(target)
            transport = await UdpTransportTarget.create(
                (target.address, target.port), timeout=timeout, retries=retries)
            call = _Call(engine, auth, transport, ContextData(contextName=target.context))
            await self._run(call, resolve_request(request, target), slot)
            follow = then(target, slot.data) if then is not None else None
            if follow is not None:
                await self._run(call, follow, slot)
        except ConfigError as exc:
            return _failed(slot, FailureKind.CONFIG, str(exc))
        except _SnmpFailure as exc:
            return _failed(slot, exc.kind, failure_message(exc.kind, str(exc), timeout, v3))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one device's surprise (bad address, ...) stops no other
            kind = exception_kind(exc)
            return _failed(slot, kind, failure_message(
                kind, f"{type(exc).__name__}: {exc}", timeout, v3))
        return DeviceResult(target.name, slot.data, None, "answered", _ms(slot))

    @staticmethod
    async def _run(call: _Call, request: PollRequest, slot: _Slot) -> None:
        if request.gets:
            binds = [ObjectType(ObjectIdentity(oid)) for oid in request.gets]
            answer = await get_cmd(call.engine, call.auth, call.transport, call.context,
                                   *binds, lookupMib=False)
            for oid, value, marker in _rows(_checked(answer, request.gets)):
                noted(slot.data, oid, value, marker)
            slot.answered = True
        walk = ColumnWalk(request)
        while walk.pending():
            columns = walk.pending()
            binds = [ObjectType(ObjectIdentity(oid)) for oid in walk.next_oids()]
            answer = await bulk_cmd(call.engine, call.auth, call.transport, call.context, 0,
                                    request.max_repetitions, *binds, lookupMib=False)
            walk.feed(columns, _rows(_checked(answer, columns)), slot.data)
            slot.answered = True

    def close(self) -> None:
        """Close every engine's sockets and the event loop."""
        if self._loop.is_closed():
            return
        for engine in self._engines.values():
            engine.close_dispatcher()
        self._engines.clear()
        self._loop.run_until_complete(asyncio.sleep(0))
        self._loop.close()

    def __del__(self) -> None:
        # A caller that forgot close() must not leak the loop and sockets.
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed() and not loop.is_running():
            for engine in self._engines.values():
                engine.close_dispatcher()
            loop.close()


def _quiet_late_answers(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # An answer arriving after its device went stale (task cancelled, transport gone)
    # is expected at a deadline; anything else goes to the default handler.
    if isinstance(context.get("exception"), CarrierError):
        return
    loop.default_exception_handler(context)


def _checked(answer: Any, asked: Sequence[str]) -> Sequence[Any]:
    error_indication, error_status, error_index, var_binds = answer
    if error_indication:
        raise _SnmpFailure(str(error_indication), indication_kind(error_indication))
    if error_status:
        # An error status (RFC 3416 section 3) is an answer: PROTOCOL, as in every backend.
        where = asked[int(error_index) - 1] if 0 < int(error_index) <= len(asked) else "?"
        raise _SnmpFailure(f"the agent answered {error_status.prettyPrint()} at {where}",
                           FailureKind.PROTOCOL)
    return list(var_binds)


def _ms(slot: _Slot) -> float:
    return (time.monotonic() - slot.started) * 1000 if slot.started else 0.0


def _failed(slot: _Slot, kind: FailureKind, message: str) -> DeviceResult[SnmpData]:
    return DeviceResult(slot.target.name, slot.data if slot.answered else None, kind,
                        message, _ms(slot))


def _stale(slot: _Slot, deadline: float) -> DeviceResult[SnmpData]:
    return DeviceResult(slot.target.name, slot.data if slot.answered else None,
                        FailureKind.STALE,
                        f"not finished when the run's deadline ({deadline:g} s) passed",
                        _ms(slot))


# The digests of USM's authentication protocols (RFC 3414, RFC 7860).
_USM_DIGESTS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


def warm_up_usm() -> None:
    """Encrypt, decrypt and digest once with every USM protocol pysnmp offers.

    For a process about to drop root (the lab's SNMP responder): pysnmp's privacy
    services import pyca/cryptography's OpenSSL backend on first use, which an
    unprivileged account may not be able to read from the venv. Takes a few ms.
    """
    key = univ.OctetString(bytes(range(32)))  # long enough for every cipher's key
    plain = b"\x00" * 16
    for service in SnmpUSMSecurityModel.PRIV_SERVICES.values():
        try:
            sealed, salt = service.encrypt_data(key, (1, 1, b"\x00" * 8), plain)
        except StatusInformation:
            continue  # noPriv: nothing to encrypt with
        service.decrypt_data(key, (1, 1, salt), sealed)
    for digest in _USM_DIGESTS:
        hmac.new(bytes(key), plain, digest).digest()
