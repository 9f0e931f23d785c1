"""SNMPv3 USM pieces of the fast backend, against the RFCs' own test vectors."""

from __future__ import annotations

import pytest

from provisioner.errors import SnmpDecodeError, SnmpRefusedError
from provisioner.snmp import ber, usm

ENGINE = bytes.fromhex("000000000000000000000002")


def test_password_to_key_and_localisation_rfc3414_a32() -> None:
    # RFC 3414 appendix A.3.2: SHA, password "maplesyrup", engine ID 00..02
    ku = usm.password_key("maplesyrup")
    assert ku.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert usm.localized(ku, ENGINE).hex() == "6695febc9288e36282235fc7151f128497b38f3f"


def test_a_request_reads_back_with_the_same_keys() -> None:
    keys = usm.keys_for("pvtest", "auth-pass-123", "priv-pass-456", ENGINE)
    engine = usm.Engine(ENGINE, boots=3, time=1000, seen=0.0)
    pdu = ber.pdu(ber.GET, 42, [ber.oid_body("1.3.6.1.2.1.1.5.0")])
    message = usm.request(42, engine, keys, "ctx", pdu, now=5.0)
    # an agent's answer has the same layout; read our own request back as one
    parsed = usm.parse(message)
    usm.authenticate(parsed, keys)
    assert (parsed.msg_id, parsed.engine_id, parsed.boots, parsed.time) == (42, ENGINE, 3, 1005)
    assert parsed.flags & usm.AUTH_PRIV == usm.AUTH_PRIV
    scoped = usm.scoped_pdu(usm.plaintext(parsed, keys))
    assert (scoped.context_engine_id, scoped.context_name) == (ENGINE, b"ctx")
    assert scoped.pdu_tag == ber.GET and scoped.request_id == 42
    assert [ber.oid_text(o) for o, _t, _v in scoped.varbinds] == ["1.3.6.1.2.1.1.5.0"]


def test_a_wrong_key_or_tampering_is_refused() -> None:
    keys = usm.keys_for("pvtest", "auth-pass-123", "priv-pass-456", ENGINE)
    other = usm.keys_for("pvtest", "another-pass-1", "priv-pass-456", ENGINE)
    engine = usm.Engine(ENGINE, 1, 1, 0.0)
    message = usm.request(7, engine, keys, "", ber.pdu(ber.GET, 7, []), now=0.0)
    with pytest.raises(SnmpRefusedError, match="digest that does not verify"):
        usm.authenticate(usm.parse(message), other)
    tampered = message[:-1] + bytes((message[-1] ^ 1,))
    with pytest.raises(SnmpRefusedError):
        usm.authenticate(usm.parse(tampered), keys)
    with pytest.raises(SnmpRefusedError, match="no keys"):
        usm.plaintext(usm.parse(message), None)


def test_discovery_is_unauthenticated_and_reportable() -> None:
    message = usm.parse(usm.discovery(9))
    assert message.msg_id == 9 and message.engine_id == b"" and not message.authenticated
    assert message.flags & usm.FLAG_REPORTABLE
    assert usm.scoped_pdu(usm.plaintext(message, None)).varbinds == []


def test_salts_differ_and_keys_stay_out_of_repr() -> None:
    keys = usm.keys_for("pvtest", "auth-pass-123", "priv-pass-456", ENGINE)
    engine = usm.Engine(ENGINE, 1, 1, 0.0)
    salts = {usm.parse(usm.request(1, engine, keys, "", ber.pdu(ber.GET, 1, []), 0.0)).salt
             for _ in range(50)}
    assert len(salts) == 50
    assert keys.auth.hex() not in repr(keys) and keys.priv.hex() not in repr(keys)
    assert str(keys.auth) not in repr(keys)


def test_the_time_window_rfc3414_section_3_2_step_7() -> None:
    keys = usm.keys_for("pvtest", "auth-pass-123", "priv-pass-456", ENGINE)

    def at(boots: int, time: int) -> usm.Message:
        return usm.parse(usm.request(1, usm.Engine(ENGINE, boots, time, 0.0), keys, "",
                                     ber.pdu(ber.RESPONSE, 1, []), now=0.0))

    unverified = usm.Engine(ENGINE, 9, 9999, seen=0.0)  # from a discovery Report
    known = usm.in_window(unverified, at(5, 1000), now=10.0)
    assert (known.boots, known.time, known.latest, known.verified) == (5, 1000, 1000, True)
    # 100 s later our notion is 1100: 150 s behind it is still in, 151 s is out
    assert usm.in_window(known, at(5, 950), now=110.0) is known
    with pytest.raises(SnmpRefusedError, match="outside the time window"):
        usm.in_window(known, at(5, 948), now=110.0)
    with pytest.raises(SnmpRefusedError, match="outside the time window"):
        usm.in_window(known, at(4, 5000), now=110.0)  # an earlier boot
    with pytest.raises(SnmpRefusedError, match="outside the time window"):
        usm.in_window(known, at(usm.MAX_BOOTS, 1), now=110.0)
    rebooted = usm.in_window(known, at(6, 3), now=110.0)
    assert (rebooted.boots, rebooted.time, rebooted.seen) == (6, 3, 110.0)
    later = usm.in_window(known, at(5, 1200), now=110.0)
    assert (later.time, later.latest) == (1200, 1200)


@pytest.mark.parametrize("mutate", [
    lambda m: m[:-1],  # truncated
    lambda m: m + b"\x00",  # bytes after the message
    lambda m: b"\x30\x80" + m[2:],  # an indefinite length
    lambda m: m.replace(b"\x02\x01\x03", b"\x02\x01\x02", 1),  # SNMPv2 in a v3 frame
])
def test_malformed_messages_raise_only_the_decode_error(mutate: object) -> None:
    keys = usm.keys_for("pvtest", "auth-pass-123", "priv-pass-456", ENGINE)
    message = usm.request(7, usm.Engine(ENGINE, 1, 1, 0.0), keys, "",
                          ber.pdu(ber.GET, 7, []), now=0.0)
    with pytest.raises(SnmpDecodeError):
        usm.parse(mutate(message))  # type: ignore[operator]
