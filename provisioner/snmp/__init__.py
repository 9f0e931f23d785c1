"""SNMP polling: the interface every backend implements, and the values we poll.

A backend (`SnmpBackend`) lives for one run: it keeps its SNMP engine(s), sessions and
the SNMPv3 engine IDs/keys it discovered across `poll()` calls until `close()`. One
`poll()` asks many targets for GETs plus table walks (`PollRequest`) and gives one
`DeviceResult[SnmpData]` per target, in target order; nothing a single device does
(an unresolvable address, missing credentials, a wrong passphrase, silence) stops the
others. Values are typed the same way by every backend (`SnmpValue`), so a parser never
knows which backend polled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from provisioner.results import DeviceResult, FailureKind

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"

#: An SNMP value as every backend gives it: int for Integer32/Counter32/Counter64/
#: Gauge32/TimeTicks/Unsigned32; str for OCTET STRING (UTF-8 text, else hex, see
#: `Marker.HEX`), OBJECT IDENTIFIER (dotted numeric, no leading dot) and IpAddress
#: (dotted quad); None where the agent had no value (the reason is in `markers`).
SnmpValue = int | str | None


class Marker(StrEnum):
    """Why a value in `SnmpData` is not a plain value; keyed by the full OID."""

    NO_SUCH_OBJECT = "noSuchObject"  # the agent does not implement the object
    NO_SUCH_INSTANCE = "noSuchInstance"  # the object exists, this instance does not
    END_OF_MIB_VIEW = "endOfMibView"  # nothing after it in the agent's view
    HEX = "hex"  # an OCTET STRING that is not printable UTF-8: the value is its hex digits
    OPAQUE = "opaque"  # an Opaque or other unusual type, given as hex digits


@dataclass
class SnmpData:
    """What one agent answered to a `PollRequest`.

    Attributes:
        scalars: GET results by OID (numeric, no leading dot), e.g. "1.3.6.1.2.1.1.3.0".
        tables: walk results by the walked base OID, then by the index part after it
            (for a column "1.3.6.1.2.1.2.2.1.2" the index of ifDescr.3 is "3").
        markers: full OID -> `Marker` for values that are None or hex-encoded.
        truncated: walked base OID -> the row cap it was cut at (rows beyond are missing).
        notes: what the poller noticed on the way, for people: e.g. datagrams from the
            device's address it dropped as malformed, unauthenticated or forged. The
            values above came from replies that passed every check.
    """

    scalars: dict[str, SnmpValue] = field(default_factory=dict)
    tables: dict[str, dict[str, SnmpValue]] = field(default_factory=dict)
    markers: dict[str, Marker] = field(default_factory=dict)
    truncated: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def merge(self, other: SnmpData) -> None:
        """Add another phase's answers (its values win where both have one)."""
        self.scalars.update(other.scalars)
        for base, rows in other.tables.items():
            self.tables.setdefault(base, {}).update(rows)
        self.markers.update(other.markers)
        self.truncated.update(other.truncated)
        self.notes.extend(other.notes)


@dataclass(frozen=True)
class PollRequest:
    """What to ask one agent: GETs and table walks (GETBULK for v2c/v3).

    Attributes:
        gets: scalar OIDs to GET (numeric, no leading dot), in one request.
        walks: base OIDs (columns or whole tables) to walk, each to its end.
        max_rows: cap per walk; a longer table is cut there and noted in
            `SnmpData.truncated` (a runaway agent must not eat the run).
        max_repetitions: GETBULK max-repetitions per walk request.
    """

    gets: tuple[str, ...] = ()
    walks: tuple[str, ...] = ()
    max_rows: int = 10_000
    max_repetitions: int = 25


#: The first phase every health poll starts with: who is this device?
IDENTITY_REQUEST = PollRequest(
    gets=(SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_CONTACT, SYS_NAME, SYS_LOCATION),
)

#: A fixed request, or one per target.
RequestFor = PollRequest | Callable[["SnmpTarget"], PollRequest]
#: The second phase: from what phase one answered, what to ask next (None: nothing).
FollowUp = Callable[["SnmpTarget", SnmpData], "PollRequest | None"]
#: Called once per finished device, from the polling thread, as results come in.
Progress = Callable[[DeviceResult[SnmpData]], None]


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
    failure: FailureKind | None = None  # why not, when `error` is set

    @property
    def ok(self) -> bool:
        """The agent answered every requested OID."""
        return self.error is None


class SnmpBackend(Protocol):
    """A poller. Backends differ in speed, never in results.

    One object serves one run (engines, sessions, discovered SNMPv3 engine IDs and
    localised keys are reused across calls); call `close()` at the end.
    """

    name: str

    def poll(
        self, targets: Sequence[SnmpTarget], request: RequestFor, *,
        then: FollowUp | None = None, timeout: float = 2.0, retries: int = 1,
        concurrency: int = 64, deadline: float | None = None,
        progress: Progress | None = None,
    ) -> list[DeviceResult[SnmpData]]:
        """Poll every target; one result per target, in target order.

        Args:
            targets: the agents; names need not be unique, order is kept.
            request: what to ask each (or a function of the target choosing it).
            then: a second phase per device, chosen from its first answers (e.g. the
                vendor profile from sysObjectID); the result holds both phases' data.
            timeout: seconds per SNMP request before a retry.
            retries: retries per request after the first try.
            concurrency: devices in flight at once.
            deadline: seconds from the call's start; a device not finished by then gets
                `FailureKind.STALE` (with the data it had so far), never dropped.
            progress: called with each device's result as it finishes.

        Returns:
            `DeviceResult`s with `data` set when the device answered (partial data is
            kept on a failure in a later phase or walk). `failure` is TIMEOUT (no
            answer), AUTH (SNMPv3 user or passphrase rejected), UNREACHABLE (address
            cannot be resolved or reached), CONFIG (no credentials, unreadable secret
            file), STALE (deadline) or PROTOCOL (an SNMP error status).
        """
        ...

    def close(self) -> None:
        """Release engines, sockets and sessions; the backend is unusable after."""
        ...

    def get_many(
        self, targets: Sequence[SnmpTarget], oids: Sequence[str], *, timeout: float = 2.0,
        retries: int = 1, concurrency: int = 64,
    ) -> list[SnmpReply]:
        """GET `oids` from every target; one reply per target, in target order."""
        ...


#: The backend `make_backend()` builds when none is named (docs/benchmarks.md: "fast"
#: polls the switch profile at a fraction of the others' CPU, with the same results).
DEFAULT_BACKEND = "fast"
BACKENDS = ("fast", "ezsnmp", "pysnmp")


def make_backend(name: str | None = None) -> SnmpBackend:
    """A new poller by name ("fast", "ezsnmp", "pysnmp"); one per run, then `close()`.

    Raises:
        ConfigError: an unknown backend name, or its library is not installed.
    """
    from provisioner.errors import ConfigError

    chosen = name or DEFAULT_BACKEND
    try:
        if chosen == "fast":
            from provisioner.snmp.fast_backend import FastBackend

            return FastBackend()
        if chosen == "ezsnmp":
            from provisioner.snmp.ezsnmp_backend import EzsnmpBackend

            return EzsnmpBackend()
        if chosen == "pysnmp":
            from provisioner.snmp.pysnmp_backend import PysnmpBackend

            return PysnmpBackend()
    except ImportError as exc:
        raise ConfigError(f"SNMP backend {chosen}: its library is missing ({exc}); run "
                          "'bash scripts/setup.sh install'") from exc
    raise ConfigError(f"unknown SNMP backend {chosen!r}; use one of {', '.join(BACKENDS)}")
