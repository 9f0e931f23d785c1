"""SNMP polling: the interface every backend implements, and the values we poll."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"


@dataclass(frozen=True)
class SnmpV3User:
    """An SNMPv3 authPriv user; the passphrases stay in their files."""

    name: str
    auth_file: Path
    priv_file: Path
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"


@dataclass(frozen=True)
class SnmpTarget:
    """One agent to poll: v3 when `user` is set, else v2c with `community`."""

    name: str
    address: str
    port: int = 161
    user: SnmpV3User | None = None
    community: str | None = None
    context: str = ""


@dataclass(frozen=True)
class SnmpReply:
    """What one agent answered, or why it did not: per-device failure is data."""

    target: str
    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        """The agent answered every requested OID."""
        return self.error is None


class SnmpBackend(Protocol):
    """A poller. Backends differ in speed, never in results."""

    def get_many(
        self, targets: Sequence[SnmpTarget], oids: Sequence[str], *, timeout: float = 2.0,
        retries: int = 1, concurrency: int = 64,
    ) -> list[SnmpReply]:
        """GET `oids` from every target; one reply per target, in target order."""
        ...
