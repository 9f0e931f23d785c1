"""SNMP over pysnmp 7 (asyncio): the only module importing pysnmp."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    usmAesCfb128Protocol,
    usmDESPrivProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)

from provisioner.errors import ConfigError
from provisioner.secrets import read_secret
from provisioner.snmp import SnmpReply, SnmpTarget, SnmpV3User

_AUTH = {"SHA": usmHMACSHAAuthProtocol, "MD5": usmHMACMD5AuthProtocol}
_PRIV = {"AES": usmAesCfb128Protocol, "DES": usmDESPrivProtocol}


def _v3_auth(user: SnmpV3User) -> UsmUserData:
    try:
        auth_proto, priv_proto = _AUTH[user.auth_protocol], _PRIV[user.priv_protocol]
    except KeyError as exc:
        raise ConfigError(f"SNMPv3 user {user.name}: unsupported protocol {exc.args[0]}; "
                          f"use one of {sorted(_AUTH)} / {sorted(_PRIV)}") from exc
    return UsmUserData(
        user.name,
        authKey=read_secret(user.auth_file, f"SNMPv3 user {user.name} authentication"),
        privKey=read_secret(user.priv_file, f"SNMPv3 user {user.name} privacy"),
        authProtocol=auth_proto, privProtocol=priv_proto,
    )


def _auth_data(target: SnmpTarget) -> Any:
    if target.user is not None:
        return _v3_auth(target.user)
    if target.community is None:
        raise ConfigError(f"{target.name}: no SNMPv3 user and no community; set one in "
                          "the inventory")
    return CommunityData(target.community, mpModel=1)


async def _get_one(
    engine: SnmpEngine, auth: Any, target: SnmpTarget, oids: Sequence[str], timeout: float,
    retries: int,
) -> SnmpReply:
    started = time.perf_counter()
    transport = await UdpTransportTarget.create(
        (target.address, target.port), timeout=timeout, retries=retries
    )
    binds = [ObjectType(ObjectIdentity(oid)) for oid in oids]
    error_indication, error_status, error_index, var_binds = await get_cmd(
        engine, auth, transport, ContextData(contextName=target.context), *binds,
        lookupMib=False,
    )
    elapsed = (time.perf_counter() - started) * 1000
    if error_indication:
        return SnmpReply(target.name, error=str(error_indication), elapsed_ms=elapsed)
    if error_status:
        where = oids[int(error_index) - 1] if int(error_index) else "?"
        return SnmpReply(target.name, error=f"{error_status.prettyPrint()} at {where}",
                         elapsed_ms=elapsed)
    values = {str(name): value.prettyPrint() for name, value in var_binds}
    missing = [oid for oid, (_, value) in zip(oids, var_binds, strict=False)
               if value.__class__.__name__ in ("NoSuchObject", "NoSuchInstance", "EndOfMibView")]
    error = f"no such object: {', '.join(missing)}" if missing else None
    return SnmpReply(target.name, values=values, error=error, elapsed_ms=elapsed)


class PysnmpBackend:
    """A poller on pysnmp's v3 architecture (v2c and v3 alike)."""

    def get_many(
        self, targets: Sequence[SnmpTarget], oids: Sequence[str], *, timeout: float = 2.0,
        retries: int = 1, concurrency: int = 64,
    ) -> list[SnmpReply]:
        """GET `oids` from every target, `concurrency` at a time.

        Raises:
            ConfigError: a target's credentials cannot be read (applies to all targets).
        """
        return asyncio.run(self._get_many(targets, oids, timeout, retries, concurrency))

    async def _get_many(
        self, targets: Sequence[SnmpTarget], oids: Sequence[str], timeout: float,
        retries: int, concurrency: int,
    ) -> list[SnmpReply]:
        # An engine keeps one key set per SNMPv3 user name: devices whose user has the
        # same name but other passphrases must not share an engine, or they share keys.
        engines: dict[SnmpV3User | None, SnmpEngine] = {}
        auths: dict[SnmpV3User | None, Any] = {}
        for target in targets:
            if target.user not in engines:
                engines[target.user] = SnmpEngine()
                auths[target.user] = _auth_data(target)
        gate = asyncio.Semaphore(concurrency)

        async def bounded(target: SnmpTarget) -> SnmpReply:
            engine = engines[target.user]
            auth = auths[target.user] if target.user else _auth_data(target)
            async with gate:
                try:
                    return await _get_one(engine, auth, target, oids, timeout, retries)
                except (OSError, ValueError) as exc:
                    return SnmpReply(target.name, error=f"{type(exc).__name__}: {exc}")

        try:
            return list(await asyncio.gather(*(bounded(t) for t in targets)))
        finally:
            for engine in engines.values():
                engine.close_dispatcher()
