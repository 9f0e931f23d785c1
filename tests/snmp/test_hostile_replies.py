"""The fast backend against lying peers on loopback: forged, unauthenticated, malformed
and flooding replies (tests/snmp/forgery.py), beside a real net-snmp snmpd.

Each test holds a device the poller must not believe and, where it matters, honest
devices whose results must stay right.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioner.results import DeviceResult, FailureKind
from provisioner.snmp import (
    SYS_LOCATION,
    SYS_NAME,
    PollRequest,
    SnmpData,
    SnmpTarget,
    SnmpV3User,
    ber,
    make_backend,
    usm,
)
from provisioner.snmp.agent import SnmpdAgent
from provisioner.snmp.fast_backend import FastBackend
from tests.snmp.forgery import (
    AUTH,
    FAKE_ENGINE,
    FLAG_AUTH,
    GET,
    OCTETS,
    OID,
    PRIV,
    FakeAgent,
    Proxy,
    Request,
    Responder,
    Sends,
    bind,
    flags_of,
    msg_id_of,
    read_request,
    report,
    v2c_response,
)

pytestmark = pytest.mark.skipif(
    not Path("/usr/sbin/snmpd").exists() and os.environ.get("CI") != "true",
    reason="net-snmp snmpd is not installed (scripts/setup.sh)")

PORT = 16163
AGENTS = [f"127.44.0.{n}" for n in range(1, 7)]
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
NAME = PollRequest(gets=(SYS_NAME,))
SERVER = PollRequest(gets=(SYS_NAME, SYS_LOCATION), walks=(IF_DESCR,))


@dataclass
class Lab:
    snmpd: SnmpdAgent
    user: SnmpV3User

    def v3(self, name: str, n: int) -> SnmpTarget:
        return SnmpTarget(name, AGENTS[n - 1], PORT, user=self.user)

    def v2c(self, name: str, n: int) -> SnmpTarget:
        return SnmpTarget(name, AGENTS[n - 1], PORT, community="public")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    home = Path(tempfile.mkdtemp(prefix="pv-snmp-hostile-"))
    snmpd = SnmpdAgent(home / "snmpd", [f"{a}:{PORT}" for a in AGENTS])
    secrets = snmpd.write_secrets(home / "secrets")
    snmpd.start()
    try:
        yield Lab(snmpd, SnmpV3User("pvtest", secrets / "auth", secrets / "priv"))
    finally:
        snmpd.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def fast() -> Iterator[FastBackend]:
    backend = make_backend("fast")
    assert isinstance(backend, FastBackend)
    yield backend
    backend.close()


def rogue(lab: Lab, responder: Responder, name: str = "rogue") -> SnmpTarget:
    host, port = responder.address
    return SnmpTarget(name, host, port, user=lab.user)


def answered_right(results: list[DeviceResult[SnmpData]], names: set[str]) -> None:
    for result in results:
        if result.device in names:
            assert result.ok and result.data is not None, result.message
            assert result.data.scalars[SYS_NAME] == "pv-test-agent"


def noauth(agent: FakeAgent, request: Request) -> Sends:
    return [("device", agent.respond(request, flags=0))]


def authnopriv(agent: FakeAgent, request: Request) -> Sends:
    return [("device", agent.respond(request, flags=FLAG_AUTH))]


def v2c(_agent: FakeAgent, request: Request) -> Sends:
    return [("device", v2c_response(request.msg_id, [bind(o, OCTETS, b"fake")
                                                     for o in request.oids]))]


@pytest.mark.parametrize(("answer", "reason"), [
    (noauth, "a noAuthNoPriv Response to an authPriv request"),
    (authnopriv, "a authNoPriv Response to an authPriv request"),
    (v2c, "an SNMPv2c reply to an SNMPv3 authPriv request"),
])
def test_a_reply_below_the_requested_security_level_is_refused(
        lab: Lab, fast: FastBackend, answer: object, reason: str) -> None:
    agent = FakeAgent(answer=answer)  # type: ignore[arg-type]
    with Responder({"device": ("127.44.1.1", 0)}, agent) as peer:
        results = fast.poll([rogue(lab, peer), lab.v3("honest", 1)], NAME, timeout=0.3,
                            retries=1)
    assert (results[0].failure, results[0].data) == (FailureKind.PROTOCOL, None)
    assert reason in results[0].message
    answered_right(results, {"honest"})


def test_a_reply_from_another_address_or_port_is_ignored(lab: Lab, fast: FastBackend) -> None:
    def forge(datagram: bytes) -> Sends:
        request = read_request(datagram)
        forged = v2c_response(request.request_id, [bind(o, OCTETS, b"forged")
                                                   for o in request.oids])
        return [("port", forged), ("host", forged)]

    sockets = {"device": ("127.44.1.2", 0), "port": ("127.44.1.2", 0),
               "host": ("127.44.1.3", 0)}
    with Responder(sockets, Proxy((AGENTS[0], PORT), forge)) as proxied:
        host, port = proxied.address
        results = fast.poll([SnmpTarget("x", host, port, community="public"),
                             lab.v2c("y", 2)], SERVER, timeout=1.0, retries=1)
    answered_right(results, {"x", "y"})
    data = results[0].data
    assert data is not None and "lo" in data.tables[IF_DESCR].values()
    assert "forged" not in str(data.scalars) + str(data.tables)
    assert any("another device" in note or "from port" in note for note in data.notes)


def malformed(request: Request) -> list[bytes]:
    """Datagrams carrying the request's id that no decoder may choke on."""
    rid, oid = request.request_id, request.oids[0]
    whole = v2c_response(rid, [bind(oid, OCTETS, b"x")])
    engine = usm.Engine(FAKE_ENGINE, 1, 1, 0.0)
    return [
        b"\x30\x84\xff\xff\xff\xff\x02\x01\x01",  # a length beyond the datagram
        whole[:-3],  # truncated
        report(rid, rid, "unknownEngineID", engine=engine),  # SNMPv3 to a v2c request
        v2c_response(rid, [bind(oid, OID, b"\xff" * 3000 + b"\x7f")]),  # a huge arc
        v2c_response(rid, [bind(oid, 0x41, b"\x01" * 6)]),  # Counter32 out of range
        v2c_response(rid, [bind(b"\x2b" + b"\x81" * 200 + b"\x01", OCTETS, b"x")]),
        whole.replace(b"\x30", b"\x31", 1),
    ]


def test_malformed_datagrams_leave_every_other_device_right(lab: Lab,
                                                            fast: FastBackend) -> None:
    def broken(datagram: bytes, _source: tuple[str, int]) -> Sends:
        return [("device", m) for m in malformed(read_request(datagram))]

    with Responder({"device": ("127.44.1.4", 0)}, broken) as peer:
        host, port = peer.address
        targets = [lab.v3("a", 1), lab.v2c("b", 2),
                   SnmpTarget("broken", host, port, community="public"),
                   lab.v3("c", 3), lab.v2c("d", 4), lab.v3("e", 5)]
        results = fast.poll(targets, SERVER, timeout=0.5, retries=1)
        replies = fast.get_many(targets, [SYS_NAME], timeout=0.5, retries=0)
    honest = {"a", "b", "c", "d", "e"}
    answered_right(results, honest)
    assert all("lo" in r.data.tables[IF_DESCR].values() for r in results
               if r.device in honest and r.data is not None)
    broken_result = results[2]
    assert broken_result.failure is FailureKind.PROTOCOL
    assert "could not be believed" in broken_result.message
    assert [r.ok for r in replies] == [True, True, False, True, True, True]
    assert "could not be believed" in (replies[2].error or "")


def flood(agent: FakeAgent, request: Request) -> Sends:
    return [("device", report(request.msg_id, request.request_id, "unknownEngineID",
                              engine=agent.engine))] * 25


def test_a_report_flood_ends_bounded_with_a_clear_failure(lab: Lab,
                                                         fast: FastBackend) -> None:
    agent = FakeAgent(answer=flood)
    with Responder({"device": ("127.44.1.5", 0)}, agent) as peer:
        results = fast.poll([rogue(lab, peer, "flooder"), lab.v3("honest", 1)], NAME,
                            timeout=0.3, retries=1, deadline=15.0)
        assert peer.received <= 20, "asked again and again"
        [reply] = fast.get_many([rogue(lab, peer, "flooder")], [SYS_NAME], timeout=0.3)
    assert results[0].failure is FailureKind.PROTOCOL, results[0].message
    assert "unknownEngineID Report" in results[0].message
    answered_right(results, {"honest"})
    assert not reply.ok and "unknownEngineID" in (reply.error or "")


def test_a_forged_report_moves_no_engine_and_rejects_no_credentials(
        lab: Lab, fast: FastBackend) -> None:
    forging = [False]
    elsewhere = usm.Engine(bytes.fromhex("80001f8880") + b"elsewhere", 77, 7, 0.0)

    def forge(datagram: bytes) -> Sends:
        if not forging[0] or not flags_of(datagram) & FLAG_AUTH:
            return []
        return [("device", report(msg_id_of(datagram), 0, name, engine=elsewhere))
                for name in ("notInTimeWindow", "wrongDigest", "unknownEngineID")]

    with Responder({"device": ("127.44.1.6", 0)}, Proxy((AGENTS[5], PORT), forge)) as proxy:
        target = rogue(lab, proxy, "keyed")
        [first] = fast.poll([target], SERVER, timeout=1.0)
        assert first.ok, first.message
        engine = fast._usm.engines[proxy.address]
        forging[0] = True
        [second] = fast.poll([target], SERVER, timeout=1.0)
        kept = fast._usm.engines[proxy.address]
    answered_right([second], {"keyed"})
    assert kept.engine_id == engine.engine_id != elsewhere.engine_id
    assert kept.verified
    assert second.data is not None
    assert any("unauthenticated Report" in note for note in second.data.notes)


def test_reports_that_disagree_prove_nothing(lab: Lab, fast: FastBackend) -> None:
    def contradict(agent: FakeAgent, request: Request) -> Sends:
        return [("device", report(request.msg_id, request.request_id, name,
                                  engine=agent.engine))
                for name in ("wrongDigest", "unknownEngineID", "unknownUserName")]

    with Responder({"device": ("127.44.1.10", 0)}, FakeAgent(answer=contradict)) as peer:
        [result] = fast.poll([rogue(lab, peer)], NAME, timeout=0.3, retries=1)
    assert result.failure is FailureKind.PROTOCOL, result.message
    assert "unauthenticated Report (wrongDigest)" in result.message
    assert peer.received == 3  # the discovery and two tries: no rediscovery


def test_out_of_window_authenticated_replies_are_refused(lab: Lab, fast: FastBackend) -> None:
    agent = FakeAgent()
    with Responder({"device": ("127.44.1.7", 0)}, agent) as peer:
        [first] = fast.poll([rogue(lab, peer)], NAME, timeout=0.3)
        assert first.ok and first.data is not None
        assert first.data.scalars[SYS_NAME] == "fake"
        agent.time -= 400  # its clock now runs 400 s behind what it said before
        [behind] = fast.poll([rogue(lab, peer)], NAME, timeout=0.3)
        agent.time += 400
        agent.boots -= 1  # an earlier boot: a replayed answer
        [replayed] = fast.poll([rogue(lab, peer)], NAME, timeout=0.3)
    for result in (behind, replayed):
        assert result.failure is FailureKind.PROTOCOL
        assert "outside the time window" in result.message


def extra_oid(agent: FakeAgent, request: Request) -> Sends:
    binds = [bind(o, OCTETS, b"fake") for o in request.oids]
    return [("device", agent.respond(request, binds=[
        *binds, bind(ber.oid_body("1.3.6.1.2.1.1.4.0"), OCTETS, b"unasked")]))]


def other_oid(agent: FakeAgent, request: Request) -> Sends:
    return [("device", agent.respond(request, binds=[
        bind(ber.oid_body("1.3.6.1.2.1.1.4.0"), OCTETS, b"unasked")]))]


def other_request_id(agent: FakeAgent, request: Request) -> Sends:
    return [("device", agent.respond(request, request_id=request.request_id ^ 1))]


def get_pdu(agent: FakeAgent, request: Request) -> Sends:
    return [("device", agent.respond(request, tag=GET))]


def other_context(agent: FakeAgent, request: Request) -> Sends:
    return [("device", agent.respond(request, context="another"))]


@pytest.mark.parametrize(("answer", "reason"), [
    (extra_oid, "naming other OIDs than were asked"),
    (other_oid, "naming other OIDs than were asked"),
    (other_request_id, "request-id is not its request's"),
    (get_pdu, "where a Response belongs"),
    (other_context, "another contextEngineID or contextName"),
])
def test_an_authenticated_reply_that_does_not_answer_is_refused(
        lab: Lab, fast: FastBackend, answer: object, reason: str) -> None:
    agent = FakeAgent(answer=answer)  # type: ignore[arg-type]
    with Responder({"device": ("127.44.1.8", 0)}, agent) as peer:
        [result] = fast.poll([rogue(lab, peer)], NAME, timeout=0.3, retries=0)
    assert result.failure is FailureKind.PROTOCOL and reason in result.message


def test_request_ids_are_random_and_secrets_stay_out_of_repr(lab: Lab,
                                                             fast: FastBackend) -> None:
    seen: list[int] = []

    def record(datagram: bytes) -> Sends:
        seen.append(read_request(datagram).request_id)
        return []

    with Responder({"device": ("127.44.1.9", 0)}, Proxy((AGENTS[1], PORT), record)) as proxy:
        host, port = proxy.address
        # sysORDescr: snmpd lists its MIB modules, whatever interfaces the host has
        request = PollRequest(gets=(SYS_NAME,), walks=("1.3.6.1.2.1.1.9.1.3",),
                              max_repetitions=1)
        [result] = fast.poll([SnmpTarget("walked", host, port, community="public")], request)
    assert result.ok and len(seen) > 5
    assert len({b - a for a, b in itertools.pairwise(seen)}) > 1, seen
    [v3] = fast.poll([lab.v3("keyed", 1)], NAME)
    assert v3.ok
    shown = repr(fast._usm) + repr(fast._usm.keys) + repr(fast._usm.engines)
    for secret in (AUTH, PRIV):
        assert secret not in shown
    for keys in fast._usm.keys.values():
        assert keys.auth.hex() not in shown and str(keys.auth) not in shown
