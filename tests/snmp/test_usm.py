"""SNMPv3 USM pieces of the fast backend, against the RFCs' own test vectors."""

from __future__ import annotations

import pytest

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
    reply = usm.reply(message, lambda _id: keys, now=6.0)
    assert (reply.msg_id, reply.engine.engine_id, reply.engine.boots, reply.engine.time) == (
        42, ENGINE, 3, 1005)
    assert reply.pdu_tag == ber.GET and reply.request_id == 42
    assert [ber.oid_text(o) for o, _t, _v in reply.varbinds] == ["1.3.6.1.2.1.1.5.0"]


def test_a_wrong_key_or_tampering_is_refused() -> None:
    keys = usm.keys_for("pvtest", "auth-pass-123", "priv-pass-456", ENGINE)
    other = usm.keys_for("pvtest", "another-pass-1", "priv-pass-456", ENGINE)
    engine = usm.Engine(ENGINE, 1, 1, 0.0)
    message = usm.request(7, engine, keys, "", ber.pdu(ber.GET, 7, []), now=0.0)
    with pytest.raises(ber.BerError, match="digest does not verify"):
        usm.reply(message, lambda _id: other, now=0.0)
    tampered = message[:-1] + bytes((message[-1] ^ 1,))
    with pytest.raises(ber.BerError):
        usm.reply(tampered, lambda _id: keys, now=0.0)
    with pytest.raises(ber.BerError, match="no keys"):
        usm.reply(message, lambda _id: None, now=0.0)


def test_discovery_is_unauthenticated_and_reportable() -> None:
    reply = usm.reply(usm.discovery(9), lambda _id: None, now=0.0)
    assert reply.msg_id == 9 and reply.engine.engine_id == b"" and reply.varbinds == []
