"""What every SNMP backend shares: value conversion, column walks, failure messages.

Backends differ in how they send PDUs; they must not differ in what a poll gives.
So the conversion of wire values into `SnmpValue`, the bookkeeping of walking many
table columns at once with GETBULK, and the message for each `FailureKind` live
here, once. Each backend decides the kind from its library's own error classes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.errors import ConfigError
from provisioner.results import DeviceResult, FailureKind
from provisioner.secrets import read_secret
from provisioner.snmp import (
    Marker,
    PollRequest,
    SnmpData,
    SnmpReply,
    SnmpTarget,
    SnmpV3User,
    SnmpValue,
)

#: RFC 3414 section 11.2: passphrases of at least 8 characters; net-snmp refuses shorter.
MIN_PASSPHRASE = 8
_SETTINGS = {"authentication": "snmp_auth_file", "privacy": "snmp_priv_file"}

def failure_message(kind: FailureKind, detail: str, timeout: float, v3: bool) -> str:
    """One line for people: what happened and what to check."""
    if kind is FailureKind.TIMEOUT:
        hint = "; check address, port, ACL" + (" and the SNMPv3 privacy passphrase"
                                               if v3 else " and community")
        return f"no answer within {timeout:g} s and its retries{hint}"
    if kind is FailureKind.AUTH:
        return (f"SNMPv3 credentials rejected ({detail}); check user name and "
                "passphrases against the device")
    if kind is FailureKind.UNREACHABLE:
        return f"cannot reach the address ({detail}); check the inventory's address"
    return detail


def octets_to_value(raw: bytes) -> tuple[str, Marker | None]:
    """An OCTET STRING as text when it is printable UTF-8, else as hex digits.

    Trailing NUL bytes (C strings some agents send) are dropped before the check.
    """
    stripped = raw.rstrip(b"\x00") if raw.rstrip(b"\x00") else raw
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        return raw.hex(), Marker.HEX
    if all(ch.isprintable() or ch in "\t\r\n" for ch in text):
        return text, None
    return raw.hex(), Marker.HEX


def oid_in(oid: str, base: str) -> bool:
    """`oid` lies under `base` (strictly inside the subtree)."""
    return oid.startswith(base + ".")


@dataclass
class ColumnWalk:
    """The state of walking several columns (or subtrees) at once with GETBULK.

    Each round asks for the successors of every unfinished column's last OID; a
    column is finished when an answer leaves its subtree, the agent's view ends, or
    it reaches `max_rows` (then noted as truncated).
    """

    request: PollRequest
    last: dict[str, str] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for base in self.request.walks:
            self.last[base] = base

    def pending(self) -> list[str]:
        """The unfinished columns, in request order."""
        return [b for b in self.request.walks if b not in self.done]

    def next_oids(self) -> list[str]:
        """The OIDs to put into the next GETBULK (one per unfinished column)."""
        return [self.last[b] for b in self.pending()]

    def feed(self, columns: Sequence[str], rows: Iterable[tuple[str, SnmpValue, Marker | None]],
             data: SnmpData) -> None:
        """Take one GETBULK answer; `rows` are (oid, value, marker) in wire order.

        The answer interleaves the columns: varbind i belongs to columns[i % n].
        """
        width = len(columns)
        progressed: set[str] = set()
        for position, (oid, value, marker) in enumerate(rows):
            base = columns[position % width]
            if base in self.done:
                continue
            if marker is Marker.END_OF_MIB_VIEW or not oid_in(oid, base) or \
                    _not_after(oid, self.last[base]):
                self.done.add(base)
                continue
            table = data.tables.setdefault(base, {})
            table[oid[len(base) + 1:]] = value
            if marker is not None:
                data.markers[oid] = marker
            self.last[base] = oid
            progressed.add(base)
            if len(table) >= self.request.max_rows:
                data.truncated[base] = self.request.max_rows
                self.done.add(base)
        for base in columns:  # an answer that gave a column nothing new ends it
            if base not in progressed:
                self.done.add(base)
        for base in self.request.walks:
            data.tables.setdefault(base, {})


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.split(".") if part)


def _not_after(oid: str, last: str) -> bool:
    # An agent that answers an OID not after the one asked would loop us forever.
    return _key(oid) <= _key(last)


def noted(data: SnmpData, oid: str, value: SnmpValue, marker: Marker | None) -> None:
    """Store one GET answer (value and marker) into `data.scalars`."""
    data.scalars[oid] = value
    if marker is not None:
        data.markers[oid] = marker


def resolve_request(request: PollRequest | object, target: object) -> PollRequest:
    """The request for one target: `request` itself, or what calling it gives."""
    if isinstance(request, PollRequest):
        return request
    chosen = request(target)  # type: ignore[operator]
    if not isinstance(chosen, PollRequest):
        raise TypeError(f"the request function gave {type(chosen).__name__}, "
                        "not a PollRequest")
    return chosen


def reply_of(result: DeviceResult[SnmpData]) -> SnmpReply:
    """The older `SnmpReply` shape of a poll result (for `get_many` callers)."""
    values = {} if result.data is None else {
        oid: "" if value is None else str(value) for oid, value in result.data.scalars.items()}
    error = result.message if result.failure is not None else None
    failure = result.failure
    if error is None and result.data is not None:
        missing = [oid for oid in result.data.scalars if oid in result.data.markers
                   and result.data.markers[oid] is not Marker.HEX]
        if missing:
            error, failure = f"no such object: {', '.join(missing)}", FailureKind.PROTOCOL
    return SnmpReply(result.device, values, error, result.elapsed_ms, failure)


class GetManyViaPoll:
    """`get_many`, the older single-shot GET interface, on top of a backend's `poll`."""

    poll: Callable[..., list[DeviceResult[SnmpData]]]

    def get_many(
        self, targets: Sequence[SnmpTarget], oids: Sequence[str], *, timeout: float = 2.0,
        retries: int = 1, concurrency: int = 64,
    ) -> list[SnmpReply]:
        """GET `oids` from every target; one reply per target, in target order."""
        results = self.poll(targets, PollRequest(gets=tuple(oids)), timeout=timeout,
                            retries=retries, concurrency=concurrency)
        return [reply_of(r) for r in results]


def check_passphrase(device: str, user: SnmpV3User, what: str, secret: str) -> None:
    """Refuse an SNMPv3 passphrase shorter than 8 characters (RFC 3414 section 11.2).

    Args:
        device: the inventory name of the device the user is for (named in the message).
        user: the SNMPv3 user.
        what: "authentication" or "privacy".
        secret: the passphrase (never shown).

    Raises:
        ConfigError: the passphrase is too short; the message names the device, the
            setting and its file.
    """
    if len(secret) >= MIN_PASSPHRASE:
        return
    path = user.auth_file if what == "authentication" else user.priv_file
    raise ConfigError(
        f"{device}: the SNMPv3 {what} passphrase of user {user.name} in {path} "
        f"({_SETTINGS[what]}) has {len(secret)} characters; SNMPv3 needs at least "
        f"{MIN_PASSPHRASE} (RFC 3414 section 11.2, net-snmp refuses shorter ones): set a "
        "longer one on the device and in that file")


def v3_passphrases(target: SnmpTarget) -> tuple[str, str]:
    """The (authentication, privacy) passphrases of a target's SNMPv3 user, checked.

    Raises:
        ConfigError: no user, a secret file cannot be read or is empty, or a passphrase
            is shorter than 8 characters (see `check_passphrase`).
    """
    user = target.user
    if user is None:
        raise ConfigError(f"{target.name}: no SNMPv3 user")
    secrets = []
    for what, path in (("authentication", user.auth_file), ("privacy", user.priv_file)):
        secret = read_secret(Path(path), f"SNMPv3 user {user.name} {what}")
        check_passphrase(target.name, user, what, secret)
        secrets.append(secret)
    return secrets[0], secrets[1]
