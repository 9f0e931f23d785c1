"""`provision school --id` on the lab: real hosts, real switch simulator, real Ansible.

One small lab school (1 server, 1 switch, 1 Linux AP, 1 recorded AP); the tests run
in file order and build on each other's state, keeping the number of Ansible runs
small: provision and verify, re-run (0 changed), drift + --check (nothing changes),
a host stopped mid-run then --resume, a re-keyed host blocked then trusted, a
concurrent run refused, kill -9 then --resume, kill -9 again and again under every
strategy (nothing of the run lives on), what a dead run left running ended before the
next run starts, and no secret anywhere.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.ansible import PlaybookJob, run_playbook
from provisioner.cli import cli
from provisioner.containment import RECORD
from provisioner.db import Store
from provisioner.devices.cli_session import SwitchSession
from provisioner.devices.ssh import fetch_host_key
from provisioner.inventory import load_inventories
from provisioner.lab.credentials import DEPLOY_USER, SWITCH_USER, read_secret
from provisioner.lab.faults import device_fault
from provisioner.provision import engine
from provisioner.provision.facts import cached_files
from provisioner.provision.options import STRATEGIES
from provisioner.provision.preflight import run_preflight
from provisioner.snmp.pysnmp_backend import PysnmpBackend
from tests.labkit import CliLab, lab_up

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]

PLAN = Path(__file__).parent.parent / "data" / "cli" / "plan-v1.csv"
SCHOOL = "100001"
SERVER, SWITCH, AP, RECORDED = (f"{SCHOOL}-srv01", f"{SCHOOL}-sw01", f"{SCHOOL}-ap01",
                                f"{SCHOOL}-wap01")
# A secret in the tool's environment (as an admin's exported password would be): the
# environment never lands on disk, also not from a run killed with -9.
ENV_CANARY = f"canary-{secrets.token_hex(12)}"
KILL_ROUNDS = 5
SERVER_FILES = ("/etc/chrony/chrony.conf", "/etc/snmp/snmpd.conf", "/etc/nftables.conf",
                "/etc/ssh/sshd_config.d/10-provisioner.conf")


class Lab(CliLab):
    """The lab of one school with a server, a switch, a Linux AP and a recorded AP."""

    def ssh(self, name: str, command: str) -> str:
        return subprocess.run(
            ["ssh", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={self.creds.known_hosts}",
             "-o", "StrictHostKeyChecking=yes", "-i", str(self.creds.ssh_key),
             f"{DEPLOY_USER}@{self.address(name)}", command],
            check=True, capture_output=True, text=True, timeout=60).stdout

    def switch(self) -> SwitchSession:
        return SwitchSession(self.address(SWITCH), username=SWITCH_USER,
                             password=read_secret(self.creds.switch_password),
                             known_hosts=self.creds.known_hosts)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab_up(Lab(tmp_path_factory.mktemp("prov-lab")), PLAN, "--schools", "1", "--servers",
                "1", "--switches", "1", "--aps", "1", "--recorded-aps", "1",
                "--wlan-aps", "0") as the_lab:
        yield the_lab


def test_addresses_outside_the_management_networks_are_refused_before_anything(lab: Lab) -> None:
    env = {**lab.env, "PROVISIONER_MANAGEMENT_NETWORKS": "192.168.0.0/16"}
    result = CliRunner(env=env).invoke(
        cli, ["--db", str(lab.db), "--inventories", str(lab.inventories), "school", "--id",
              SCHOOL, "--yes"], catch_exceptions=False)
    assert result.exit_code == 3, result.output
    for name in (SERVER, SWITCH, AP):
        assert (f"host {name}: address {lab.address(name)} is outside the management "
                "networks (192.168.0.0/16); nothing was sent to it") in result.output
    runs = lab.run("--json", "runs", "--school", SCHOOL)
    assert json.loads(runs.output) == []  # no run started: no lock, no preflight, no play


def test_provision_a_school_end_to_end_and_verify(lab: Lab) -> None:
    result, hosts = lab.provision()
    assert result.exit_code == 0, result.output
    assert {n: h["status"] for n, h in hosts.items()} == {
        SERVER: "verified", SWITCH: "verified", AP: "verified", RECORDED: "skipped"}
    assert "not managed over SSH" in str(hosts[RECORDED]["message"])
    # What a role reports is the host's warning, on record: the lab's AP has no radio,
    # its server no address in the school's subnets (so no DHCP served).
    # Each once, without the host's name that Ansible's output needs and the record has.
    assert str(hosts[AP]["warnings"]).startswith("no radio present: hostapd configuration")
    assert str(hosts[SERVER]["warnings"]).startswith(
        "dnsmasq not started: no address of this server is in the school's subnets")
    assert all(int(hosts[n]["changed"]) > 0 for n in (SERVER, SWITCH, AP))  # type: ignore[call-overload]
    shown = lab.run("school", "show", SCHOOL)
    for name in (SERVER, SWITCH, AP):
        assert any(line.split()[:1] == [name] and "verified" in line.split()
                   for line in shown.output.splitlines()), shown.output
    runs = lab.run("--json", "runs", "--school", SCHOOL)
    [run] = json.loads(runs.output)
    assert run["status"] == "ok"
    detail = lab.run("run", "show", str(run["run_id"]))
    assert "playbook commit: " in detail.output and "by " in detail.output
    assert f"  {AP} warning: no radio present: hostapd" in detail.output
    assert f"  {SERVER} warning: dnsmasq not started" in detail.output
    # The switch's play ran as a playbook of its own, beside the server's and AP's (the
    # recorded AP, managed elsewhere, is in no play).
    assert _played_in(lab, run["run_id"]) == {"wave-1-hosts": {SERVER, AP},
                                               "wave-1-network": {SWITCH}}


def _played_in(lab: Lab, run_id: int) -> dict[str, set[str]]:
    """The hosts each playbook run of a run's folder reported on (its stored events)."""
    found: dict[str, set[str]] = {}
    folder = lab.db.with_name(lab.db.stem + "-runs") / f"run-{run_id}"
    for event in folder.glob("wave-*/artifacts/*/job_events/*.json"):
        host = json.loads(event.read_text())["event_data"].get("host")
        if host:
            found.setdefault(event.parents[3].name, set()).add(host)
    return found


def _gathered(lab: Lab, run_id: int) -> set[str]:
    """The hosts Ansible gathered facts from in a run (from its stored events)."""
    events = (lab.db.with_name(lab.db.stem + "-runs") / f"run-{run_id}").glob(
        "wave-*/artifacts/*/job_events/*.json")
    found = (json.loads(e.read_text()) for e in events)
    return {e["event_data"]["host"] for e in found
            if e["event"] == "runner_on_ok" and e["event_data"].get("task") == "Gathering Facts"}


def test_a_second_run_changes_nothing(lab: Lab) -> None:
    result, hosts = lab.provision()
    assert result.exit_code == 0, result.output
    assert {n: h["changed"] for n, h in hosts.items() if n != RECORDED} == {
        SERVER: 0, SWITCH: 0, AP: 0}
    # Verified in the first run, within the hour: their facts come from the cache. (The
    # APs' play gathers none: the access_point role reads no facts.)
    first, again = sorted(r["run_id"] for r in json.loads(
        lab.run("--json", "runs", "--school", SCHOOL).output))[-2:]
    assert _gathered(lab, first) == {SERVER}
    assert _gathered(lab, again) == set()


def test_tags_run_one_role_and_leave_every_host_verified(lab: Lab) -> None:
    result, hosts = lab.provision("--tags", "switch")
    assert result.exit_code == 0, result.output
    assert {n: h["status"] for n, h in hosts.items()} == {
        SERVER: "verified", SWITCH: "verified", AP: "verified", RECORDED: "skipped"}
    # The switch ran its role; the others only the two `always` plays that sort hosts.
    assert int(hosts[SWITCH]["ok"]) > int(hosts[SERVER]["ok"])  # type: ignore[call-overload]


def _server_state(lab: Lab) -> str:
    return lab.ssh(SERVER, "sudo md5sum " + " ".join(SERVER_FILES) +
                   "; dpkg-query -W -f '${Package} ${Version}\\n' | md5sum")


def test_check_mode_reports_drift_and_changes_nothing(lab: Lab) -> None:
    lab.ssh(SERVER, "echo '# drift' | sudo tee -a /etc/chrony/chrony.conf >/dev/null")
    with lab.switch() as switch:
        switch.configure(["no vlan 30"])
        switch_before = switch.run("show running-config")
    server_before = _server_state(lab)
    result, hosts = lab.provision("--check")
    assert result.exit_code == 0, result.output
    assert {n: h["status"] for n, h in hosts.items()} == {
        SERVER: "checked", SWITCH: "checked", AP: "checked", RECORDED: "skipped"}
    assert int(hosts[SERVER]["changed"]) > 0 and int(hosts[SWITCH]["changed"]) > 0  # type: ignore[call-overload]
    assert _server_state(lab) == server_before
    with lab.switch() as switch:
        assert switch.run("show running-config") == switch_before
    # The diff of what it would change, as Ansible printed it: the drift goes.
    shown = lab.run("run", "show", str(json.loads(result.stdout)[0]["run_id"]), "--output")
    assert shown.exit_code == 0, shown.output
    assert "-# drift" in shown.output and "--- wave-1" in shown.output


def test_a_host_stopped_mid_run_is_unreachable_while_the_others_complete(lab: Lab) -> None:
    stopped: list[str] = []

    def progress(event: engine.Progress) -> None:
        # Once the switch's own tasks run (its first play only sorts hosts, in two
        # tasks), the AP goes down: its play comes last and finds it unreachable.
        if event.phase == "play" and event.host == SWITCH and event.counts.ok >= 3 \
                and not stopped:
            device_fault(lab.lab_dir, AP, "stop")
            stopped.append(event.task)

    store, snmp = Store.open(lab.db), PysnmpBackend()
    try:
        result = engine.provision_school(lab.settings(), store, snmp, SCHOOL,
                                         engine.Options(), user="test", progress=progress)
    finally:
        snmp.close()
        store.close()
    statuses = {h.host: h.status for h in result.hosts}
    assert stopped
    assert statuses == {SERVER: "verified", SWITCH: "verified", AP: "unreachable",
                        RECORDED: "skipped"}, [(h.host, h.failed_task, h.message)
                                               for h in result.hosts]
    assert result.status == "failed"
    store = Store.open(lab.db)
    rollout = {d.name: d.state for d in store.device_rollout()}
    store.close()
    assert rollout[AP] == "unreachable" and rollout[SERVER] == "verified"


def test_resume_touches_only_the_failed_host(lab: Lab) -> None:
    device_fault(lab.lab_dir, AP, "start")
    result, hosts = lab.provision("--resume")
    assert result.exit_code == 0, result.output
    assert list(hosts) == [AP]
    assert hosts[AP]["status"] == "verified"


PING = """\
- name: Ping
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def _ping(lab: Lab, strategy: str, host: str) -> str:
    """The host's status after a one-task play run as the engine runs its plays."""
    run_dir = lab.home / f"ping-{strategy}-{time.monotonic_ns()}"
    run_dir.mkdir()
    (run_dir / "ping.yml").write_text(PING)
    home = run_dir / "home" / ".ssh"
    home.mkdir(parents=True)
    (home / "known_hosts").write_bytes(lab.creds.known_hosts.read_bytes())
    job = PlaybookJob(playbook=run_dir / "ping.yml", inventory=lab.inventories / SCHOOL,
                      run_dir=run_dir / "job", limit=(host,), strategy=strategy,
                      env={"HOME": str(home.parent)})
    outcome = run_playbook(job)
    return outcome.hosts[host].status


def test_a_rekeyed_host_is_blocked_until_trusted(lab: Lab) -> None:
    old = fetch_host_key(lab.address(SERVER))
    # Another host's cached facts (the lab's only other managed Linux host, the AP,
    # gathers none): trusting the server must leave them.
    facts = lab.db.with_name(lab.db.stem + "-runs") / "facts" / SCHOOL
    other = facts / f"facts-{AP}"
    other.write_text("{}", encoding="utf-8")
    device_fault(lab.lab_dir, SERVER, "rekey")
    result, hosts = lab.provision("--limit", SERVER)
    assert result.exit_code == 8, result.output
    new = fetch_host_key(lab.address(SERVER))
    message = str(hosts[SERVER]["message"])
    assert hosts[SERVER]["status"] == "blocked"
    assert new.fingerprint in message and old.fingerprint in message
    # The audit log says how the run ended, not "ok".
    audit = json.loads(lab.run("--json", "audit", "--limit", "1").output)[0]
    assert (audit["command"], audit["outcome"]) == (
        f"school --id {SCHOOL} --limit {SERVER}", "blocked")
    assert audit["detail"].startswith(f"exit 8: school {SCHOOL} run ")
    # Past preflight too, Ansible itself refuses the changed key under every strategy
    # the tool offers (mitogen opens its own SSH connections).
    for strategy in STRATEGIES:
        assert _ping(lab, strategy, SERVER) == "unreachable", strategy
    refused = lab.run("trust", SERVER, "--fingerprint", old.fingerprint)
    assert refused.exit_code != 0 and "not pinned" in refused.output
    # --yes alone pins a device's first key, never a changed one.
    blind = lab.run("trust", SERVER, "--yes")
    assert blind.exit_code == 2 and "a changed key is pinned only with --fingerprint" in \
        blind.output, blind.output
    trusted = lab.run("trust", SERVER, "--fingerprint", new.fingerprint)
    assert trusted.exit_code == 0, trusted.output
    assert f"pinned {new.fingerprint}" in trusted.output
    audit = json.loads(lab.run("--json", "audit", "--limit", "1").output)[0]
    assert audit["command"] == (f"trust {SERVER} {new.fingerprint} "
                                "(checked against --fingerprint)")
    assert {_ping(lab, "mitogen_linear", SERVER), _ping(lab, "linear", SERVER)} == {"ok"}
    assert cached_files(facts, SERVER) == []  # trusted anew: gathered anew
    assert cached_files(facts, AP) == [other]
    devices = [d for d in load_inventories(lab.inventories, SCHOOL).devices if d.name == SERVER]
    snmp = PysnmpBackend()
    try:
        after = run_preflight(devices, snmp, known_hosts=lab.creds.known_hosts)
    finally:
        snmp.close()
    assert after[SERVER].ok, after[SERVER].message


def _wait_for_play(lab: Lab, proc: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        store = Store.open(lab.db)
        try:
            running = store.runs.list(school_id=SCHOOL, limit=1)
            # Its own run (a run killed before is "running" until the next start).
            if running and running[0].status == "running" and any(
                    h.status == "running" for h in store.runs.hosts(running[0].run_id)) \
                    and store.runs.get(running[0].run_id).pid == proc.pid:
                return running[0].run_id
        finally:
            store.close()
        time.sleep(0.5)
    raise AssertionError(f"the background run never reached its play: {proc.communicate()}")


def _background_run(lab: Lab, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "provision"), "--db", str(lab.db), "--inventories",
         str(lab.inventories), "school", "--id", SCHOOL, "--yes", *args],
        env={**os.environ, **lab.env, "PROVISIONER_TEST_CANARY": ENV_CANARY},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _run_folder(lab: Lab, run_id: int) -> Path:
    return engine.runs_root(lab.settings()) / f"run-{run_id}"


def _processes_of(folder: Path) -> dict[int, str]:
    """Every process of a run, found without the tool's help: each one inherits HOME and
    ANSIBLE_SSH_CONTROL_PATH_DIR below the run's folder, whatever its parent or session
    (mitogen's multiplexer, ssh's ControlPersist masters, ansible-connection)."""
    needle = f"{folder}/".encode()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline, environ = (proc / "cmdline").read_bytes(), (proc / "environ").read_bytes()
        except OSError:
            continue
        if needle in cmdline or needle in environ:
            found[int(proc.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")[:160]
    return found


def _survivors(folder: Path, wait_s: float = 10.0) -> dict[int, str]:
    """The run's processes still there after up to `wait_s` seconds."""
    deadline = time.monotonic() + wait_s
    while (left := _processes_of(folder)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _wait_for_connections(lab: Lab, proc: subprocess.Popen[str]) -> tuple[int, Path]:
    """Wait until the background run's play has opened an SSH connection (early in the
    play: its first task); the run's id and folder."""
    run_id = _wait_for_play(lab, proc)
    folder = _run_folder(lab, run_id)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if any(_comm(pid) == "ssh" for pid in _processes_of(folder)):
            return run_id, folder
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} opened no SSH connection: {proc.communicate()}")


def _scratch_folders(folder: Path) -> list[Path]:
    """The scratch folders (TMPDIR) the run's playbooks were given, from their records."""
    return [Path(json.loads(record.read_text())["scratch"])
            for record in sorted(folder.glob(f"*/{RECORD}"))]


def test_sigterm_stops_the_run_cleanly(lab: Lab) -> None:
    proc = _background_run(lab)
    run_id = _wait_for_play(lab, proc)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, output
    store = Store.open(lab.db)
    record = store.runs.get(run_id)
    store.close()
    assert record.summary.status == "interrupted"
    assert "interrupted" in {h.status for h in record.hosts}, record.hosts
    assert not any(h.status == "running" for h in record.hosts)


def _playbooks_left(lab: Lab, wait_s: float = 10.0) -> list[str]:
    """ansible-playbook processes still running on this lab's inventories."""
    deadline = time.monotonic() + wait_s
    while True:
        left = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                args = cmdline.read_bytes().split(b"\0")
            except OSError:
                continue
            text = b" ".join(args).decode(errors="replace")
            if "ansible-playbook" in text and str(lab.inventories) in text:
                left.append(text)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def test_concurrent_run_refused_then_kill_9_then_resume(lab: Lab) -> None:
    proc = _background_run(lab)
    try:
        run_id = _wait_for_play(lab, proc)
        second = lab.run("school", "--id", SCHOOL, "--yes")
        assert second.exit_code == 9, second.output
        assert f"school {SCHOOL} is being provisioned right now (run {run_id}" in second.output
        status = lab.run("lab", "status")  # read-only checks may run meanwhile
        assert status.exit_code != 9 and SERVER in status.output, status.output
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the tool's process group dies at once
        proc.communicate()  # reaps it and closes its output pipe
    # ansible-runner starts ansible-playbook in a session of its own: it must die with
    # the tool, not go on changing devices beside the next run.
    assert _playbooks_left(lab) == [], "the killed run's ansible-playbook is still running"
    assert _survivors(_run_folder(lab, run_id)) == {}
    result, hosts = lab.provision("--resume")
    # The confirmation (asked before the dead run is reaped) names the run it continues.
    assert f"school {SCHOOL}, resuming run {run_id} (died: process gone): " in result.stderr
    assert f"run {run_id} of school {SCHOOL} had died" in result.stderr, result.output
    store = Store.open(lab.db)
    assert store.runs.get(run_id).summary.status == "interrupted"
    store.close()
    assert result.exit_code == 0, result.output
    assert hosts and all(h["status"] in ("verified", "skipped") for h in hosts.values())


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_kill_9_again_and_again_leaves_no_process_of_the_run(lab: Lab, strategy: str) -> None:
    for round_number in range(1, KILL_ROUNDS + 1):
        proc = _background_run(lab, "--strategy", strategy)
        try:
            run_id, folder = _wait_for_connections(lab, proc)
            assert _processes_of(folder)
            scratch = _scratch_folders(folder)
            if strategy.startswith("mitogen"):  # its multiplexer's socket is in TMPDIR
                assert any(s.glob("mitogen_unix_*.sock") for s in scratch), scratch
        finally:
            os.kill(proc.pid, signal.SIGKILL)  # the tool alone: kill -9 PID
            proc.communicate()
        left = _survivors(folder)
        assert left == {}, f"{strategy}, kill {round_number}: run {run_id} lives on: {left}"
        # Nor its files in the temporary folder (the supervisor removes the scratch).
        assert scratch and not [s for s in scratch if s.exists()]


def _wait_for_a_run_after(lab: Lab, run_id: int, proc: subprocess.Popen[str]) -> int:
    """The id of the first run of the school recorded after `run_id`, once it is."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        store = Store.open(lab.db)
        try:
            newer = [r.run_id for r in store.runs.list(school_id=SCHOOL, limit=3)
                     if r.run_id > run_id]
        finally:
            store.close()
        if newer:
            return min(newer)
        time.sleep(0.05)
    raise AssertionError(f"no run started after run {run_id}: {proc.communicate()}")


def test_what_a_dead_run_left_running_is_ended_before_the_next_run_starts(lab: Lab) -> None:
    # Linear: its ssh ControlPersist masters would stay a minute on their own. One host
    # keeps the runs short.
    proc = _background_run(lab, "--strategy", "linear", "--limit", SERVER)
    try:
        run_id, folder = _wait_for_connections(lab, proc)
        # The tool and the run's supervisor die together: nothing of the run is there
        # any more to end the rest, so it is left to the next start.
        supervisors = [pid for pid, cmd in _processes_of(folder).items()
                       if "provisioner.supervisor" in cmd]
        assert supervisors
    finally:
        os.kill(proc.pid, signal.SIGKILL)
    for pid in supervisors:
        os.kill(pid, signal.SIGKILL)
    proc.communicate()
    time.sleep(10)  # as long as the test above waits for survivors
    assert _processes_of(folder), "the dead run left nothing running: this test shows nothing"
    scratch = [s for s in _scratch_folders(folder) if s.exists()]
    assert scratch, "the dead run left no scratch folder: its removal shows nothing"
    following = _background_run(lab, "--limit", SERVER)
    try:
        # A run is recorded once its lock is held and the dead run dealt with: by
        # then nothing of the dead run may run any more, nor its scratch folder be there.
        _wait_for_a_run_after(lab, run_id, following)
        assert _processes_of(folder) == {}
        assert not [s for s in scratch if s.exists()]
    finally:
        output, _ = following.communicate(timeout=900)
    assert following.returncode == 0, output
    assert f"run {run_id} of school {SCHOOL} had died" in output
    store = Store.open(lab.db)
    record = store.runs.get(run_id)
    store.close()
    assert record.summary.status == "interrupted"
    assert "the next start; it ended the " in record.detail, record.detail
    assert "process" in record.detail and "the run had left running" in record.detail


def test_no_secret_in_database_artifacts_or_output(lab: Lab) -> None:
    key_body = lab.creds.ssh_key.read_text().splitlines()[1]
    # The environment's secret too: the runs killed with -9 above had it.
    found = {"SSH private key": key_body, "the environment's secret": ENV_CANARY}
    for name in ("switch_password", "snmp_auth", "snmp_priv"):
        found[name] = read_secret(getattr(lab.creds, name))
    for name in ("radius_secret", "wlan_psk"):
        path = getattr(lab.creds, name, None)
        if path is not None and Path(path).exists():
            found[name] = read_secret(Path(path))
    root = engine.runs_root(lab.settings())
    killed = [p for p in root.glob("run-*") if p.is_dir() and _killed(lab, p)]
    assert len(killed) >= KILL_ROUNDS  # the runs killed with -9 are searched too
    places = [lab.db, *root.rglob("*")]
    checked = 0
    for path in places:
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            checked += 1
            for what, value in found.items():
                assert value.encode() not in data, f"{what} found in {path}"
    assert checked > 10  # the database and the runs' artifacts were really searched
    text = "\n".join(lab.outputs)
    for what, value in found.items():
        assert value not in text, f"{what} found in the command output"


def _killed(lab: Lab, folder: Path) -> bool:
    """Whether the run of this folder died without finishing (its tool was killed; no
    run is live now, so one still "running" is a dead one not noticed yet)."""
    store = Store.open(lab.db)
    try:
        record = store.runs.get(int(folder.name.removeprefix("run-")))
    finally:
        store.close()
    return record.summary.status == "running" or (
        record.summary.status == "interrupted" and "noticed by the next start" in record.detail)
