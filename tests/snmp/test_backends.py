"""Both SNMP backends against real agents: net-snmp's snmpd and snmpsim with recordings.

The same tests run for every backend (they must differ in speed, never in results),
and one test compares their answers value for value.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioner.errors import ConfigError
from provisioner.health.profiles import IDENTITY_REQUEST, follow_up, parse, profile_for
from provisioner.lab.recordings import prepare_variations, source_dir
from provisioner.results import DeviceResult, FailureKind
from provisioner.snmp import (
    BACKENDS,
    SYS_LOCATION,
    SYS_NAME,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    Marker,
    PollRequest,
    SnmpBackend,
    SnmpData,
    SnmpTarget,
    SnmpV3User,
    make_backend,
)
from provisioner.snmp.agent import SnmpdAgent, SnmpsimAgent
from provisioner.snmp.snmprec import Recording

#: In CI (which sets CI=true) a missing agent or backend library fails these tests: the
#: parity of the backends must be proven there, never skipped.
IN_CI = os.environ.get("CI") == "true"
pytestmark = pytest.mark.skipif(not Path("/usr/sbin/snmpd").exists() and not IN_CI,
                                reason="net-snmp snmpd is not installed (scripts/setup.sh)")

SNMPD_PORT, SNMPSIM_PORT = 16161, 16162
SNMPD_ADDRESSES = [f"127.42.0.{n}" for n in range(1, 5)]
SNMPSIM_ADDRESS = "127.42.1.1"
RECORDINGS = ["network/switch/cisco-c3560", "network/wifi/ubiquiti-m5",
              "network/wifi/aruba-7010"]
LOCATION = "Schulstraße 1, Raum 104"
IF_DESCR, IF_OPER, IF_TYPE = "1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8", "1.3.6.1.2.1.2.2.1.3"
PR_NAMES, PR_ERROR = "1.3.6.1.4.1.2021.2.1.2", "1.3.6.1.4.1.2021.2.1.100"
PSE_POWER = "1.3.6.1.2.1.105.1.3.1.1.2"


@dataclass
class Agents:
    snmpd: SnmpdAgent
    snmpsim: SnmpsimAgent
    user: SnmpV3User
    wrong_user: SnmpV3User


@pytest.fixture(scope="module")
def agents() -> Iterator[Agents]:
    home = Path(tempfile.mkdtemp(prefix="pv-snmp-test-"))
    home.chmod(0o755)  # snmpsim drops to nobody, who must reach its data
    secrets = home / "secrets"
    secrets.mkdir(mode=0o700)
    for name, text in (("auth", "auth-pass-123"), ("priv", "priv-pass-456"),
                       ("wrong", "not-the-pass-1")):
        (secrets / name).write_text(text + "\n")
        (secrets / name).chmod(0o600)
    snmpd = SnmpdAgent(home / "snmpd", [f"{a}:{SNMPD_PORT}" for a in SNMPD_ADDRESSES],
                       extra_config=[f"sysLocation {LOCATION}", "proc snmpd",
                                     "proc no-such-daemon"])
    recordings = {r: source_dir() / f"{r}.snmprec.bz2" for r in RECORDINGS}
    snmpsim = SnmpsimAgent(home / "snmpsim", recordings, f"{SNMPSIM_ADDRESS}:{SNMPSIM_PORT}",
                           variation_dir=prepare_variations(home / "variations"))
    snmpd.start()
    try:
        snmpsim.start()
        yield Agents(snmpd, snmpsim, SnmpV3User("pvtest", secrets / "auth", secrets / "priv"),
                     SnmpV3User("pvtest", secrets / "wrong", secrets / "priv"))
    finally:
        snmpsim.stop()
        snmpd.stop()
        shutil.rmtree(home, ignore_errors=True)


def needed(name: str) -> SnmpBackend:
    """The backend `name`; missing, it skips the test, or fails it in CI."""
    try:
        return make_backend(name)
    except ConfigError as exc:
        if IN_CI:
            pytest.fail(f"CI=true: every SNMP backend must be tested, and {exc}")
        pytest.skip(str(exc))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[SnmpBackend]:
    poller = needed(request.param)
    yield poller
    poller.close()


def v3(agents: Agents, name: str, n: int = 1) -> SnmpTarget:
    return SnmpTarget(name, SNMPD_ADDRESSES[n - 1], SNMPD_PORT, user=agents.user)


def v2c(name: str, n: int = 1) -> SnmpTarget:
    return SnmpTarget(name, SNMPD_ADDRESSES[n - 1], SNMPD_PORT, community="public")


SERVER = PollRequest(gets=IDENTITY_REQUEST.gets, walks=(IF_DESCR, IF_TYPE, IF_OPER, PR_NAMES,
                                                        PR_ERROR, PSE_POWER))


def test_snmpd_answers_v3_and_v2c_alike(agents: Agents, backend: SnmpBackend) -> None:
    results = backend.poll([v3(agents, "srv-v3", 1), v2c("srv-v2c", 2)], SERVER)
    assert [r.failure for r in results] == [None, None]
    first, second = (r.data for r in results)
    assert first is not None and second is not None
    assert first.scalars[SYS_NAME] == "pv-test-agent"
    assert first.scalars[SYS_LOCATION] == LOCATION
    assert isinstance(first.scalars[SYS_UPTIME], int)
    assert str(first.scalars[SYS_OBJECT_ID]).startswith("1.3.6.1.4.1.8072.")
    assert "lo" in first.tables[IF_DESCR].values()
    assert first.tables[PR_NAMES] == {"1": "snmpd", "2": "no-such-daemon"}
    assert first.tables[PR_ERROR] == {"1": 0, "2": 1}
    assert first.tables[PSE_POWER] == {}  # snmpd has no POWER-ETHERNET-MIB: empty, no error
    for data in (first, second):
        data.scalars.pop(SYS_UPTIME)
    assert first == second


def test_one_device_never_stops_the_poll(agents: Agents, backend: SnmpBackend,
                                         tmp_path: Path) -> None:
    targets = [
        v3(agents, "good"),
        SnmpTarget("wrong-pass", SNMPD_ADDRESSES[1], SNMPD_PORT, user=agents.wrong_user),
        SnmpTarget("silent", "127.42.9.9", SNMPD_PORT, community="public"),
        SnmpTarget("no-such-host", "no-such-host.invalid", SNMPD_PORT, community="public"),
        SnmpTarget("no-credentials", SNMPD_ADDRESSES[2], SNMPD_PORT),
        SnmpTarget("missing-secret", SNMPD_ADDRESSES[3], SNMPD_PORT,
                   user=SnmpV3User("pvtest", tmp_path / "absent", agents.user.priv_file)),
        v2c("good-too", 4),
    ]
    results = backend.poll(targets, IDENTITY_REQUEST, timeout=0.5, retries=0)
    assert [(r.device, r.failure) for r in results] == [
        ("good", None), ("wrong-pass", FailureKind.AUTH), ("silent", FailureKind.TIMEOUT),
        ("no-such-host", FailureKind.UNREACHABLE), ("no-credentials", FailureKind.CONFIG),
        ("missing-secret", FailureKind.CONFIG), ("good-too", None)]
    messages = {r.device: r.message for r in results}
    assert "credentials rejected" in messages["wrong-pass"]
    assert "no answer within 0.5 s" in messages["silent"]
    assert "no SNMPv3 user and no community" in messages["no-credentials"]
    assert str(tmp_path / "absent") in messages["missing-secret"]
    assert "not-the-pass" not in " ".join(messages.values())  # secrets never in messages


def test_a_passphrase_under_8_characters_is_refused_naming_device_and_setting(
        agents: Agents, backend: SnmpBackend, tmp_path: Path) -> None:
    short = tmp_path / "short-auth"
    short.write_text("kurz12\n")
    user = SnmpV3User("pvtest", short, agents.user.priv_file)
    results = backend.poll([SnmpTarget("ap-kurz", SNMPD_ADDRESSES[0], SNMPD_PORT, user=user),
                            v3(agents, "good", 2)], IDENTITY_REQUEST, timeout=0.5)
    assert [(r.device, r.failure) for r in results] == [("ap-kurz", FailureKind.CONFIG),
                                                        ("good", None)]
    message = results[0].message
    assert message.startswith("ap-kurz: ")
    assert "authentication passphrase" in message and "snmp_auth_file" in message
    assert str(short) in message and "at least 8" in message and "kurz12" not in message


def test_the_deadline_makes_silent_devices_stale(agents: Agents, backend: SnmpBackend) -> None:
    seen: list[DeviceResult[SnmpData]] = []
    results = backend.poll(
        [v2c("fast"), SnmpTarget("silent", "127.42.9.9", SNMPD_PORT, community="public")],
        IDENTITY_REQUEST, timeout=12.0, retries=0, deadline=6.0, progress=seen.append)
    assert [(r.device, r.failure) for r in results] == [
        ("fast", None), ("silent", FailureKind.STALE)]
    assert "deadline (6 s)" in results[1].message
    assert sorted(r.device for r in seen) == ["fast", "silent"]


def test_missing_objects_and_capped_walks(agents: Agents, backend: SnmpBackend) -> None:
    request = PollRequest(gets=(SYS_NAME, "1.3.6.1.2.1.1.5.1", "1.3.6.1.2.1.1.99.0"),
                          walks=(PR_NAMES,), max_rows=1)
    [result] = backend.poll([v3(agents, "srv")], request)
    data = result.data
    assert result.ok and data is not None
    assert data.scalars["1.3.6.1.2.1.1.5.1"] is None
    assert data.markers["1.3.6.1.2.1.1.5.1"] is Marker.NO_SUCH_INSTANCE
    assert data.markers["1.3.6.1.2.1.1.99.0"] is Marker.NO_SUCH_OBJECT
    assert data.tables[PR_NAMES] == {"1": "snmpd"} and data.truncated == {PR_NAMES: 1}


def test_two_phases_pick_the_profile_of_each_recording(agents: Agents,
                                                       backend: SnmpBackend) -> None:
    roles = {"network/switch/cisco-c3560": "switch", "network/wifi/ubiquiti-m5": "access_point",
             "network/wifi/aruba-7010": "wlan_controller"}
    targets = [SnmpTarget(path, SNMPSIM_ADDRESS, SNMPSIM_PORT, community=path)
               for path in RECORDINGS[:2]]
    targets.append(SnmpTarget(RECORDINGS[2], SNMPSIM_ADDRESS, SNMPSIM_PORT, user=agents.user,
                              context=RECORDINGS[2]))  # v3: the recording is the context
    results = backend.poll(targets, IDENTITY_REQUEST, then=follow_up(lambda t: roles[t.name]),
                           timeout=3.0, retries=1)
    for result in results:
        assert result.ok and result.data is not None, result.message
        polled = parse(result.data, roles[result.device])
        recording = Recording.load(source_dir() / f"{result.device}.snmprec.bz2")
        first = recording.answer(IDENTITY_REQUEST)
        offline = recording.answer(profile_for(first).request(roles[result.device]))
        offline.merge(first)
        expected = parse(offline, roles[result.device])
        assert (polled.profile, polled.vendor, polled.model, polled.serial, polled.firmware) \
            == (expected.profile, expected.vendor, expected.model, expected.serial,
                expected.firmware)
        assert [i.name for i in polled.interfaces] == [i.name for i in expected.interfaces]
        assert polled.wlan == expected.wlan


def test_backends_give_the_same_answers(agents: Agents) -> None:
    """pysnmp is the oracle: every other backend gives exactly its `SnmpData`, v2c from a
    recording and SNMPv3 authPriv from snmpd."""
    switch = profile_for(Recording.load(
        source_dir() / f"{RECORDINGS[0]}.snmprec.bz2").answer(IDENTITY_REQUEST)).request("switch")
    targets = [SnmpTarget("rec", SNMPSIM_ADDRESS, SNMPSIM_PORT, community=RECORDINGS[0]),
               v3(agents, "srv")]
    answers: dict[str, list[SnmpData | None]] = {}
    for name in ("pysnmp", *(b for b in BACKENDS if b != "pysnmp")):
        poller = needed(name)
        try:
            results = poller.poll(targets, lambda t: switch if t.name == "rec" else SERVER)
        finally:
            poller.close()
        assert all(r.ok for r in results), (name, [r.message for r in results])
        for data in (r.data for r in results):
            assert data is not None
            data.scalars.pop(SYS_UPTIME, None)  # it moves between polls
        answers[name] = [r.data for r in results]
    assert sorted(answers) == sorted(BACKENDS)
    for name, got in answers.items():
        assert got == answers["pysnmp"], f"{name} differs from the pysnmp oracle"


def test_a_backend_lives_for_a_run(agents: Agents, backend: SnmpBackend) -> None:
    for _ in range(2):  # the second call reuses engines/sessions (engine IDs, keys)
        [result] = backend.poll([v3(agents, "srv")], IDENTITY_REQUEST)
        assert result.ok
    replies = backend.get_many([v3(agents, "srv")], [SYS_NAME])
    assert replies[0].ok and replies[0].values[SYS_NAME] == "pv-test-agent"
    backend.close()
    with pytest.raises(RuntimeError):
        backend.poll([v3(agents, "srv")], IDENTITY_REQUEST)


def test_an_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown SNMP backend 'netsnmp-perl'"):
        make_backend("netsnmp-perl")
