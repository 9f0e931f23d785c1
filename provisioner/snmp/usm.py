"""SNMPv3 messages with the User-based Security Model, authPriv with SHA-1 and AES-128.

For the fast backend, written from the RFCs:
- RFC 3412 section 6 (the message format) and 7.2 (what a received message must be
  before it is believed: a Response at the request's security level, a Report only as
  far as its level allows);
- RFC 3414: section 2.2.3 (the boots/time kept per remote engine, 150 s window), 3.1
  (outgoing requests), 3.2 (incoming messages: step 6 the digest, step 7 the time
  window), 4 (discovery), 6.3 (HMAC-SHA-96) and A.2.1 (password-to-key with 1 MB of
  SHA-1, key localisation);
- RFC 3826 (AES-128-CFB: IV = engine boots, engine time, 64-bit salt).

Keys are derived once per passphrase and localised once per engine; the caller keeps
engines for the run. Parsing (`parse`, `scoped_pdu`) raises `SnmpDecodeError` and nothing
else; the checks that need keys (`authenticate`, `plaintext`, `in_window`) raise
`SnmpRefusedError`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

# cryptography 47+ keeps CFB (still what RFC 3826 specifies) among its "decrepit" modes
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from provisioner.errors import SnmpDecodeError, SnmpRefusedError
from provisioner.snmp import ber

FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 0x01, 0x02, 0x04
AUTH_PRIV = FLAG_AUTH | FLAG_PRIV
#: RFC 3414 section 2.2.3: a message more than 150 s behind our notion is refused.
TIME_WINDOW = 150
MAX_BOOTS = 2 ** 31 - 1  # RFC 3414 section 2.2.3: the engine must be re-keyed there
_USM = 3  # msgSecurityModel of the USM (RFC 3411)
_MAX_SIZE = 65507
_DIGEST_SIZE, _SALT_SIZE = 12, 8  # HMAC-SHA-96 (RFC 3414 7.1), AES salt (RFC 3826 3.1.2.1)
_ZERO_DIGEST = b"\x00" * _DIGEST_SIZE
_LEVELS = {0: "noAuthNoPriv", FLAG_AUTH: "authNoPriv", AUTH_PRIV: "authPriv"}
#: usmStats counters a Report names (RFC 3414 section 5): what went wrong.
USM_REPORTS = {
    "1.3.6.1.6.3.15.1.1.1.0": "unsupportedSecLevel", "1.3.6.1.6.3.15.1.1.2.0": "notInTimeWindow",
    "1.3.6.1.6.3.15.1.1.3.0": "unknownUserName", "1.3.6.1.6.3.15.1.1.4.0": "unknownEngineID",
    "1.3.6.1.6.3.15.1.1.5.0": "wrongDigest", "1.3.6.1.6.3.15.1.1.6.0": "decryptionError",
}
#: The Reports an agent sends when our user or keys are not its own.
AUTH_REPORTS = frozenset({"unsupportedSecLevel", "unknownUserName", "wrongDigest",
                          "decryptionError"})


def level_name(flags: int) -> str:
    """The security level msgFlags carry (RFC 3412 section 6.4), e.g. "authPriv"."""
    return _LEVELS.get(flags & AUTH_PRIV, f"invalid ({flags & AUTH_PRIV:#x})")


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
    """Our notion of a remote authoritative engine (RFC 3414 section 2.2.3).

    Attributes:
        engine_id: its snmpEngineID.
        boots: its snmpEngineBoots as we know it.
        time: its snmpEngineTime at `seen`.
        seen: when `time` was taken (monotonic seconds).
        latest: latestReceivedEngineTime, the highest time an authenticated message had.
        verified: whether boots/time came from an authenticated message; a discovery
            Report's do not, and are replaced by the first authenticated message's.
    """

    engine_id: bytes
    boots: int
    time: int
    seen: float
    latest: int = 0
    verified: bool = False

    def clock(self, now: float) -> tuple[int, int]:
        """(boots, time) to put into a request sent at `now` (monotonic seconds)."""
        return self.boots, self.time + int(now - self.seen)


@dataclass(frozen=True)
class Keys:
    """One user's keys localised to one engine (never shown by repr)."""

    user: bytes
    engine_id: bytes
    auth: bytes = field(repr=False)
    priv: bytes = field(repr=False)


def keys_for(user: str, auth_pass: str, priv_pass: str, engine_id: bytes) -> Keys:
    """Localised SHA-1 auth and AES-128 priv keys of `user` for an engine."""
    return Keys(user.encode(), engine_id, localized(password_key(auth_pass), engine_id),
                localized(password_key(priv_pass), engine_id)[:16])


def _cfb(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), CFB(iv))
    worker = cipher.encryptor() if encrypt else cipher.decryptor()
    return worker.update(data) + worker.finalize()


def _security(engine_id: bytes, boots: int, time: int, user: bytes, digest: bytes,
              salt: bytes) -> tuple[bytes, int]:
    """UsmSecurityParameters (RFC 3414 section 2.4) and where the digest's bytes start."""
    head = ber.tlv(4, engine_id) + ber.integer(boots) + ber.integer(time) + ber.tlv(4, user)
    body = head + ber.tlv(4, digest) + ber.tlv(4, salt)
    whole = ber.tlv(0x30, body)
    return whole, len(whole) - len(body) + len(head) + 2


def _header(msg_id: int, flags: int) -> bytes:
    return ber.integer(3) + ber.tlv(0x30, ber.integer(msg_id) + ber.integer(_MAX_SIZE)
                                    + ber.tlv(4, bytes((flags,))) + ber.integer(_USM))


def discovery(msg_id: int) -> bytes:
    """A request that makes an agent report its engine ID, boots and time (RFC 3414 4)."""
    scoped = ber.tlv(0x30, ber.tlv(4, b"") + ber.tlv(4, b"")
                     + ber.pdu(ber.GET, msg_id, [], 0))
    security, _ = _security(b"", 0, 0, b"", b"", b"")
    return ber.tlv(0x30, _header(msg_id, FLAG_REPORTABLE) + ber.tlv(4, security) + scoped)


def request(msg_id: int, engine: Engine, keys: Keys, context: str, pdu: bytes, now: float,
            flags: int = AUTH_PRIV | FLAG_REPORTABLE) -> bytes:
    """An authPriv request carrying `pdu` (see `ber.pdu`), RFC 3414 section 3.1.

    The salt is drawn from `secrets` for every message (RFC 3826 3.1.2.1: never the
    same twice with one key). `flags` other than the default are for what plays an
    agent's part (the lab's hostile device, tests); without FLAG_AUTH no digest is made.
    """
    boots, time = engine.clock(now)
    salt = secrets.token_bytes(_SALT_SIZE)
    scoped = ber.tlv(0x30, ber.tlv(4, engine.engine_id) + ber.tlv(4, context.encode()) + pdu)
    payload = scoped
    if flags & FLAG_PRIV:
        iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt
        payload = ber.tlv(4, _cfb(keys.priv, iv, scoped, encrypt=True))
    security, digest_at = _security(engine.engine_id, boots, time, keys.user, _ZERO_DIGEST,
                                    salt)
    head, wrapped = _header(msg_id, flags), ber.tlv(4, security)
    content = head + wrapped + payload
    whole = ber.tlv(0x30, content)
    at = len(whole) - len(content) + len(head) + len(wrapped) - len(security) + digest_at
    digest = hmac.new(keys.auth, whole, hashlib.sha1).digest()[:_DIGEST_SIZE] \
        if flags & FLAG_AUTH else _ZERO_DIGEST
    return whole[:at] + digest + whole[at + _DIGEST_SIZE:]


@dataclass(frozen=True)
class Message:
    """An SNMPv3 message as parsed, before any key is used (RFC 3412 section 6).

    Attributes:
        msg_id, flags: from msgGlobalData.
        engine_id, boots, time, user, digest, salt: the UsmSecurityParameters.
        data: the whole datagram (the digest is over it).
        digest_at: where the digest's bytes start in `data`.
        payload: the msgData: a plaintext ScopedPDU's TLV, or the encrypted one's OCTET
            STRING TLV.
    """

    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    digest: bytes
    salt: bytes
    data: bytes = field(repr=False)
    digest_at: int
    payload: bytes = field(repr=False)

    @property
    def authenticated(self) -> bool:
        """The message claims authentication (only `authenticate` proves it)."""
        return bool(self.flags & FLAG_AUTH)


def parse(data: bytes) -> Message:
    """Read an SNMPv3 message's headers; nothing is verified or decrypted yet.

    Raises:
        SnmpDecodeError: not a well-formed SNMPv3 message with USM parameters.
    """
    end = len(data)
    length, pos = ber.expect(data, 0, end, ber.SEQUENCE, "an SNMP message")
    if pos + length != end:
        raise SnmpDecodeError("bytes after the SNMP message")
    version, pos = ber.integer_at(data, pos, end, "the SNMP version")
    if version != 3:
        raise SnmpDecodeError(f"an SNMP version {version} message, not SNMPv3")
    msg_id, flags, pos = _global_data(data, pos, end)
    length, pos = ber.expect(data, pos, end, ber.OCTETS, "msgSecurityParameters")
    fields, digest_at = _security_parameters(data, pos, pos + length)
    payload = data[pos + length:]
    if not payload:
        raise SnmpDecodeError("an SNMPv3 message without msgData")
    return Message(msg_id, flags, *fields, data=data, digest_at=digest_at, payload=payload)


def _global_data(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """msgID and msgFlags of HeaderData (RFC 3412 section 6), and where it ends."""
    length, pos = ber.expect(data, pos, end, ber.SEQUENCE, "msgGlobalData")
    stop = pos + length
    msg_id, pos = ber.integer_at(data, pos, stop, "msgID")
    size, pos = ber.integer_at(data, pos, stop, "msgMaxSize")
    flags, pos = ber.octets_at(data, pos, stop, "msgFlags")
    model, pos = ber.integer_at(data, pos, stop, "msgSecurityModel")
    if pos != stop or msg_id < 0 or size < 484 or len(flags) != 1 or model != _USM:
        raise SnmpDecodeError("an SNMPv3 header out of its ranges (RFC 3412 section 6) or "
                              "not for the User-based Security Model")
    if flags[0] & FLAG_PRIV and not flags[0] & FLAG_AUTH:
        raise SnmpDecodeError("msgFlags with privacy but no authentication (RFC 3412 7.2 5)")
    return msg_id, flags[0], stop


def _security_parameters(data: bytes, pos: int, end: int
                         ) -> tuple[tuple[bytes, int, int, bytes, bytes, bytes], int]:
    """UsmSecurityParameters (RFC 3414 section 2.4) and where the digest starts."""
    length, pos = ber.expect(data, pos, end, ber.SEQUENCE, "UsmSecurityParameters")
    if pos + length != end:
        raise SnmpDecodeError("bytes after UsmSecurityParameters")
    engine_id, pos = ber.octets_at(data, pos, end, "msgAuthoritativeEngineID")
    boots, pos = ber.integer_at(data, pos, end, "msgAuthoritativeEngineBoots")
    time, pos = ber.integer_at(data, pos, end, "msgAuthoritativeEngineTime")
    user, pos = ber.octets_at(data, pos, end, "msgUserName")
    digest_length, digest_at = ber.expect(data, pos, end, ber.OCTETS,
                                          "msgAuthenticationParameters")
    digest = data[digest_at:digest_at + digest_length]
    salt, pos = ber.octets_at(data, digest_at + digest_length, end, "msgPrivacyParameters")
    if pos != end or len(engine_id) > 32 or len(user) > 32 or boots < 0 or time < 0:
        raise SnmpDecodeError("UsmSecurityParameters out of their ranges (RFC 3414 2.4)")
    return (engine_id, boots, time, user, digest, salt), digest_at


def authenticate(message: Message, keys: Keys) -> None:
    """Verify an authenticated message's digest with our keys (RFC 3414 3.2 steps 1-6).

    A message that claims no authentication passes here; the caller decides what its
    level may be used for.

    Raises:
        SnmpRefusedError: signed for another user or engine, or a digest that does not
            verify (a wrong key, or forged).
    """
    if not message.authenticated:
        return
    if message.user != keys.user or message.engine_id != keys.engine_id:
        raise SnmpRefusedError("an authenticated message for another user or engine")
    if len(message.digest) != _DIGEST_SIZE:
        raise SnmpRefusedError(f"a digest of {len(message.digest)} bytes, not HMAC-SHA-96's "
                               f"{_DIGEST_SIZE}")
    at, data = message.digest_at, message.data
    blank = data[:at] + _ZERO_DIGEST + data[at + _DIGEST_SIZE:]
    if not hmac.compare_digest(hmac.new(keys.auth, blank, hashlib.sha1).digest()[:12],
                               message.digest):
        raise SnmpRefusedError("a digest that does not verify (wrong key, or forged)")


def plaintext(message: Message, keys: Keys | None) -> bytes:
    """The ScopedPDU's bytes: decrypted (RFC 3826 section 3.1.4) when the message is
    private, else as sent. Call `authenticate` first.

    Raises:
        SnmpDecodeError: an encrypted part that is not an OCTET STRING or a bad salt.
        SnmpRefusedError: a private message without keys to read it.
    """
    if not message.flags & FLAG_PRIV:
        return message.payload
    if keys is None:
        raise SnmpRefusedError("an encrypted message we have no keys for")
    length, pos = ber.expect(message.payload, 0, len(message.payload), ber.OCTETS,
                             "encryptedPDU")
    if pos + length != len(message.payload) or len(message.salt) != _SALT_SIZE:
        raise SnmpDecodeError("an encryptedPDU with bytes after it, or a salt that is "
                              "not 8 bytes (RFC 3826 3.1.2.1)")
    iv = message.boots.to_bytes(4, "big") + message.time.to_bytes(4, "big") + message.salt
    return _cfb(keys.priv, iv, message.payload[pos:], encrypt=False)


def in_window(engine: Engine, message: Message, now: float) -> Engine:
    """RFC 3414 section 3.2 step 7b for an authenticated message we did not originate.

    Args:
        engine: our notion of the sender's engine (section 2.2.3).
        message: an authenticated message (its digest verified).
        now: monotonic seconds.

    Returns:
        The notion to keep: updated when the message is newer than any before.

    Raises:
        SnmpRefusedError: the message is outside the time window: the engine's boots
            are at their maximum, lower than ours, or equal with a time more than 150 s
            behind our estimate.
    """
    boots, time = message.boots, message.time
    if not engine.verified:
        return Engine(engine.engine_id, boots, time, now, time, True)
    our_boots, our_time = engine.clock(now)
    if boots >= MAX_BOOTS or boots < our_boots or (boots == our_boots
                                                   and time < our_time - TIME_WINDOW):
        raise SnmpRefusedError(f"outside the time window (engine boots {boots} time {time}; "
                               f"known boots {our_boots} time about {our_time})")
    if boots > our_boots or time > engine.latest:
        return Engine(engine.engine_id, boots, time, now, time, True)
    return engine


@dataclass(frozen=True)
class Scoped:
    """A ScopedPDU (RFC 3412 section 6.8) with its PDU's fields."""

    context_engine_id: bytes
    context_name: bytes
    pdu_tag: int
    request_id: int
    status: int
    index: int
    varbinds: list[ber.Varbind]


def scoped_pdu(scoped: bytes) -> Scoped:
    """Read a plaintext ScopedPDU (trailing bytes after it are ignored: some agents pad).

    Raises:
        SnmpDecodeError: not a well-formed ScopedPDU.
    """
    length, pos = ber.expect(scoped, 0, len(scoped), ber.SEQUENCE, "the ScopedPDU")
    end = pos + length
    engine_id, pos = ber.octets_at(scoped, pos, end, "contextEngineID")
    name, pos = ber.octets_at(scoped, pos, end, "contextName")
    tag, length, pos = ber.header(scoped, pos, end)
    if pos + length != end:
        raise SnmpDecodeError("bytes after the PDU in the ScopedPDU")
    request_id, status, index, varbinds = ber.pdu_fields(scoped, pos, end)
    return Scoped(engine_id, name, tag, request_id, status, index, varbinds)


def report_name(scoped: Scoped) -> str:
    """What a Report says went wrong: the usmStats counter it names, else "report"."""
    if not scoped.varbinds:
        return "report"
    try:
        return USM_REPORTS.get(ber.oid_text(scoped.varbinds[0][0]), "report")
    except SnmpDecodeError:
        return "report"
