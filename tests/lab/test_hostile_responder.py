"""The lab's hostile SNMP responder (provisioner.lab.hostile) on loopback, without a lab:
what it sends for real requests of the fast backend, beside a real snmpd."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.lab.hostile import ENGINE_ID, heard, respond
from provisioner.results import FailureKind
from provisioner.snmp import IDENTITY_REQUEST, SYS_NAME, SnmpTarget, SnmpV3User, make_backend, usm
from provisioner.snmp.agent import SnmpdAgent
from tests.snmp.forgery import Responder, Sends

pytestmark = pytest.mark.skipif(
    not Path("/usr/sbin/snmpd").exists() and os.environ.get("CI") != "true",
    reason="net-snmp snmpd is not installed (scripts/setup.sh)")

PORT = 16164
AGENTS = ["127.46.0.1", "127.46.0.2"]


@pytest.fixture(scope="module")
def snmpd() -> Iterator[tuple[SnmpdAgent, SnmpV3User]]:
    home = Path(tempfile.mkdtemp(prefix="pv-hostile-"))
    agent = SnmpdAgent(home / "snmpd", [f"{a}:{PORT}" for a in AGENTS])
    secrets = agent.write_secrets(home / "secrets")
    agent.start()
    try:
        yield agent, SnmpV3User("pvtest", secrets / "auth", secrets / "priv")
    finally:
        agent.stop()
        shutil.rmtree(home, ignore_errors=True)


def hostile(datagram: bytes, _source: tuple[str, int]) -> Sends:
    now = time.monotonic()
    return [("other" if from_other else "device", reply)
            for from_other, reply in respond(datagram, "100001-sw01",
                                             usm.Engine(ENGINE_ID, 1, 1000, now))]


def test_the_hostile_device_fails_clearly_and_the_others_answer(
        snmpd: tuple[SnmpdAgent, SnmpV3User]) -> None:
    _agent, user = snmpd
    sockets = {"device": ("127.46.1.1", 0), "other": ("127.46.1.1", 0)}
    with Responder(sockets, hostile) as rogue:
        host, port = rogue.address
        targets = [SnmpTarget("good-1", AGENTS[0], PORT, user=user),
                   SnmpTarget("hostile", host, port, user=user),
                   SnmpTarget("good-2", AGENTS[1], PORT, community="public"),
                   SnmpTarget("hostile-v2c", host, port, community="public")]
        backend = make_backend("fast")
        try:
            results = backend.poll(targets, IDENTITY_REQUEST, timeout=0.5, retries=1)
        finally:
            backend.close()
    by_name = {r.device: r for r in results}
    for name in ("good-1", "good-2"):
        data = by_name[name].data
        assert by_name[name].ok and data is not None and not data.notes, by_name[name]
        assert data.scalars[SYS_NAME] == "pv-test-agent"
    for name in ("hostile", "hostile-v2c"):
        result = by_name[name]
        assert (result.failure, result.data) == (FailureKind.PROTOCOL, None), result
        assert "could not be believed" in result.message
    assert "100001-sw01" not in str([r.data for r in results])


def test_it_answers_a_discovery_as_an_agent_and_ignores_garbage() -> None:
    discovery = usm.discovery(42)
    [(from_other, reply)] = respond(discovery, "x", usm.Engine(ENGINE_ID, 1, 5, 0.0))
    message = usm.parse(reply)
    assert not from_other and (message.msg_id, message.engine_id) == (42, ENGINE_ID)
    assert usm.report_name(usm.scoped_pdu(message.payload)) == "unknownEngineID"
    assert heard(b"\x30\x03\x02\x01") is None
    assert respond(b"\xff" * 40, "x", usm.Engine(ENGINE_ID, 1, 5, 0.0)) == []
