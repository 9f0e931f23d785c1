"""SNMPv3 messages with the User-based Security Model, authPriv with SHA-1 and AES-128.

For the fast backend: RFC 3412 (message format), RFC 3414 (USM: engine discovery,
password-to-key with 1 MB of SHA-1, key localisation, HMAC-SHA-96, time window) and
RFC 3826 (AES-128-CFB: IV = engine boots, engine time, 64-bit salt). Keys are derived
once per passphrase and localised once per engine; the caller keeps engines for the run.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

# cryptography 47+ keeps CFB (still what RFC 3826 specifies) among its "decrepit" modes
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from provisioner.snmp import ber

_FLAGS_AUTH_PRIV_REPORTABLE = b"\x07"
_FLAGS_REPORTABLE = b"\x04"
_MAX_SIZE = 65507
_ZERO_DIGEST = b"\x00" * 12
REPORT = 0xA8
#: usmStats counters a Report names (RFC 3414 section 5): what went wrong.
USM_REPORTS = {
    "1.3.6.1.6.3.15.1.1.1.0": "unsupportedSecLevel", "1.3.6.1.6.3.15.1.1.2.0": "notInTimeWindow",
    "1.3.6.1.6.3.15.1.1.3.0": "unknownUserName", "1.3.6.1.6.3.15.1.1.4.0": "unknownEngineID",
    "1.3.6.1.6.3.15.1.1.5.0": "wrongDigest", "1.3.6.1.6.3.15.1.1.6.0": "decryptionError",
}


@lru_cache(maxsize=64)
def password_key(passphrase: str) -> bytes:
    """Ku: SHA-1 over the passphrase repeated to 1 MB (RFC 3414 A.2.1)."""
    raw = passphrase.encode()
    return hashlib.sha1((raw * (1048576 // len(raw) + 1))[:1048576]).digest()


def localized(key: bytes, engine_id: bytes) -> bytes:
    """Kul: the user's key bound to one engine (RFC 3414 A.2.1)."""
    return hashlib.sha1(key + engine_id + key).digest()


@dataclass(frozen=True)
class Engine:
    """An authoritative engine as discovered: its ID and clock (boots, time at `seen`)."""

    engine_id: bytes
    boots: int
    time: int
    seen: float

    def clock(self, now: float) -> tuple[int, int]:
        """(boots, time) to put into a request sent at `now` (monotonic seconds)."""
        return self.boots, self.time + int(now - self.seen)


@dataclass(frozen=True)
class Keys:
    """One user's keys localised to one engine."""

    user: bytes
    engine_id: bytes
    auth: bytes
    priv: bytes


def keys_for(user: str, auth_pass: str, priv_pass: str, engine_id: bytes) -> Keys:
    """Localised SHA-1 auth and AES-128 priv keys of `user` for an engine."""
    return Keys(user.encode(), engine_id, localized(password_key(auth_pass), engine_id),
                localized(password_key(priv_pass), engine_id)[:16])


_salts = itertools.count(random.getrandbits(62))


def _cfb(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), CFB(iv))
    worker = cipher.encryptor() if encrypt else cipher.decryptor()
    return worker.update(data) + worker.finalize()


def _security(engine_id: bytes, boots: int, time: int, user: bytes, digest: bytes,
              salt: bytes) -> bytes:
    return ber.tlv(0x30, ber.tlv(4, engine_id) + ber.integer(boots) + ber.integer(time)
                   + ber.tlv(4, user) + ber.tlv(4, digest) + ber.tlv(4, salt))


def _header(msg_id: int, flags: bytes) -> bytes:
    return ber.integer(3) + ber.tlv(0x30, ber.integer(msg_id) + ber.integer(_MAX_SIZE)
                                    + ber.tlv(4, flags) + ber.integer(3))


def discovery(msg_id: int) -> bytes:
    """A request that makes an agent report its engine ID, boots and time."""
    scoped = ber.tlv(0x30, ber.tlv(4, b"") + ber.tlv(4, b"")
                     + ber.pdu(ber.GET, msg_id, [], 0))
    security = ber.tlv(4, _security(b"", 0, 0, b"", b"", b""))
    return ber.tlv(0x30, _header(msg_id, _FLAGS_REPORTABLE) + security + scoped)


def request(msg_id: int, engine: Engine, keys: Keys, context: str, pdu: bytes,
            now: float) -> bytes:
    """An authPriv request carrying `pdu` (see `ber.pdu`)."""
    boots, time = engine.clock(now)
    salt = (next(_salts) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    scoped = ber.tlv(0x30, ber.tlv(4, engine.engine_id) + ber.tlv(4, context.encode()) + pdu)
    iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt
    encrypted = ber.tlv(4, _cfb(keys.priv, iv, scoped, encrypt=True))
    security = _security(engine.engine_id, boots, time, keys.user, _ZERO_DIGEST, salt)
    whole = ber.tlv(0x30, _header(msg_id, _FLAGS_AUTH_PRIV_REPORTABLE)
                    + ber.tlv(4, security) + encrypted)
    digest = hmac.new(keys.auth, whole, hashlib.sha1).digest()[:12]
    at = whole.find(_ZERO_DIGEST)
    return whole[:at] + digest + whole[at + 12:]


@dataclass(frozen=True)
class Reply:
    """What a v3 message said: its security header and, when readable, its PDU."""

    msg_id: int
    engine: Engine
    user: bytes
    pdu_tag: int
    request_id: int
    status: int
    index: int
    varbinds: list[ber.Varbind]


def _read_security(data: bytes, pos: int, length: int
                   ) -> tuple[tuple[bytes, int, int, bytes, bytes, bytes], int]:
    # UsmSecurityParameters inside its OCTET STRING; also where the digest starts.
    _, _, p = ber.header(data, pos)
    fields: list[bytes] = []
    digest_at = -1
    for n in range(6):
        _, size, p = ber.header(data, p)
        if n == 4:
            digest_at = p
        fields.append(data[p:p + size])
        p += size
    engine_id, boots, time, user, digest, salt = fields
    return ((engine_id, int.from_bytes(boots, "big"), int.from_bytes(time, "big"), user,
             digest, salt), digest_at)


def reply(data: bytes, keys_of: Callable[[int], Keys | None], now: float) -> Reply:
    """Read a v3 response or report; decrypt and verify it when it is authPriv.

    `keys_of(msg_id)` gives the keys of the request the message answers; a protected
    message without keys, or with a digest that does not verify, is refused.

    Raises:
        ber.BerError: not a well-formed v3 message, or its digest does not verify.
    """
    try:
        _, _, pos = ber.header(data, 0)
        _, size, pos = ber.header(data, pos)
        if data[pos:pos + size] != b"\x03":
            raise ber.BerError("not an SNMPv3 message")
        pos += size
        _, size, head = ber.header(data, pos)
        msg_id, flags, pos = _global(data, head)
        _, size, pos = ber.header(data, pos)
        (engine_id, boots, time, user, digest, salt), digest_at = _read_security(
            data, pos, size)
        pos += size
        keys = keys_of(msg_id)
        if keys is not None and (user != keys.user or engine_id != keys.engine_id):
            keys = None  # signed for someone else
        scoped = _scoped(data, pos, flags, keys, digest, digest_at, (boots, time, salt))
        return _pdu(scoped, msg_id, Engine(engine_id, boots, time, now), user)
    except (IndexError, ValueError) as exc:
        if isinstance(exc, ber.BerError):
            raise
        raise ber.BerError(f"a malformed SNMPv3 message ({exc})") from exc


def _global(data: bytes, pos: int) -> tuple[int, int, int]:
    _, size, pos = ber.header(data, pos)
    msg_id = int.from_bytes(data[pos:pos + size], "big")
    pos += size
    _, size, pos = ber.header(data, pos)
    pos += size
    _, size, pos = ber.header(data, pos)
    flags = data[pos] if size else 0
    pos += size
    _, size, pos = ber.header(data, pos)
    return msg_id, flags, pos + size


def _scoped(data: bytes, pos: int, flags: int, keys: Keys | None, digest: bytes,
            digest_at: int, clock: tuple[int, int, bytes]) -> bytes:
    if not flags & 0x01:
        return data[pos:]  # noAuthNoPriv (discovery reports): plain ScopedPDU
    if keys is None:
        raise ber.BerError("an authenticated message from an engine or user we have no "
                           "keys for")
    blank = data[:digest_at] + _ZERO_DIGEST + data[digest_at + 12:]
    if not hmac.compare_digest(hmac.new(keys.auth, blank, hashlib.sha1).digest()[:12],
                               digest):
        raise ber.BerError("the message's digest does not verify (wrong key or forged)")
    if not flags & 0x02:
        return data[pos:]
    _, size, pos = ber.header(data, pos)
    boots, time, salt = clock
    iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt
    return _cfb(keys.priv, iv, data[pos:pos + size], encrypt=False)


def _pdu(scoped: bytes, msg_id: int, engine: Engine, user: bytes) -> Reply:
    _, _, pos = ber.header(scoped, 0)
    for _ in range(2):  # contextEngineID, contextName
        _, size, pos = ber.header(scoped, pos)
        pos += size
    tag, _, pos = ber.header(scoped, pos)
    request_id, status, index, varbinds = ber.pdu_fields(scoped, pos)
    return Reply(msg_id, engine, user, tag, request_id, status, index, varbinds)
