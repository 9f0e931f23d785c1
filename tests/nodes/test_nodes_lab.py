"""Execution nodes on the lab: a real RabbitMQ (TLS, one user per node), real node
processes (`provision node run`), real Ansible on the lab's hosts.

One small lab school (1 server, 1 switch, 1 recorded AP) served by node `node1`; the
tests run in file order and build on each other's state: provisioned through the
node, a repeat delivery refused, a reader the broker refuses closing its connections,
the node killed mid-run (run lost, lock released, nothing re-run by itself, --resume
completes), health through the node with the broker restarted mid-run, the node down
(its devices stale), and no secret in the broker's data folder or in any stored event.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provisioner.cli import cli
from provisioner.db import Store
from provisioner.lab.broker import BrokerAddress, LabBroker
from provisioner.lab.credentials import LabCredentials
from provisioner.nodes import broker as broker_mod
from provisioner.nodes.config import BrokerConfig, broker_config_text
from provisioner.nodes.node import Journal
from tests.labkit import CliLab

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]

PLAN = Path(__file__).parent.parent / "data" / "cli" / "plan-v1.csv"
SCHOOL = "100001"
NODE = "node1"
LEASE_S = 8.0


class NodeLab(CliLab):
    """The lab, its broker and node `node1`, driven through the CLI."""

    def __init__(self, home: Path) -> None:
        super().__init__(home)
        self.broker = LabBroker(home / "broker-data", home / "broker-secrets",
                                BrokerAddress("127.0.0.1", 25671))
        self.node_state = home / "node1-state"
        self.node: subprocess.Popen[bytes] | None = None

    def config(self, user: str) -> BrokerConfig:
        password = self.broker.password_file(user)
        return BrokerConfig(url=self.broker.address.url, user=user, password_file=password,
                            ca_file=self.broker.ca, lease_s=LEASE_S, state_dir=self.node_state)

    def write_configs(self) -> None:
        controller = self.home / "cfg" / "provisioner" / "broker.toml"
        controller.parent.mkdir(parents=True, exist_ok=True)
        controller.write_text(broker_config_text(self.config("controller")))
        (self.home / "node1.toml").write_text(broker_config_text(self.config(NODE)))

    def start_node(self) -> None:
        env = {**os.environ, **self.env,
               "PROVISIONER_BROKER_CONFIG": str(self.home / "node1.toml")}
        log = (self.home / "node1.log").open("ab")
        with log:
            self.node = subprocess.Popen(
                [sys.executable, "-m", "provisioner.cli", "node", "run", "--name", NODE],
                env=env, stdout=log, stderr=log, start_new_session=True)

    def kill_node(self) -> None:
        if self.node is not None:
            os.killpg(self.node.pid, signal.SIGKILL)
            self.node.wait()
            self.node = None

    def stop_node(self) -> None:
        if self.node is not None:
            self.node.terminate()
            try:
                self.node.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_node()
            self.node = None

    def journal(self) -> list[dict[str, Any]]:
        return Journal(self.node_state).entries()

    @property
    def creds(self) -> LabCredentials:
        return LabCredentials(self.lab_dir / "credentials")


def _assign_node(inventories: Path) -> None:
    all_vars = inventories / SCHOOL / "group_vars" / "all.yml"
    all_vars.write_text(all_vars.read_text() + f"execution_node: {NODE}\n")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeLab]:
    the_lab = NodeLab(tmp_path_factory.mktemp("nodes-lab"))
    assert the_lab.run("plan", "import", str(PLAN)).exit_code == 0
    up = the_lab.run("lab", "up", "--schools", "1", "--servers", "1", "--switches", "1",
                     "--wlan-aps", "0", "--aps", "0", "--recorded-aps", "1")
    try:
        assert up.exit_code == 0, up.output
        _assign_node(the_lab.inventories)
        assert the_lab.run("inventory", "sync").exit_code == 0
        the_lab.broker.start()
        the_lab.broker.add_node(NODE)
        the_lab.write_configs()
        broker_mod.declare_node(the_lab.config("controller"), NODE)
        the_lab.start_node()
        yield the_lab
    finally:
        the_lab.stop_node()
        the_lab.broker.stop()
        down = the_lab.run("lab", "down")
        assert down.exit_code == 0, down.output


def _provision(lab: NodeLab, *args: str) -> tuple[Result, dict[str, Any]]:
    result = lab.run("--json", "school", "--id", SCHOOL, "--yes", *args)
    parsed = json.loads(result.stdout) if result.stdout.startswith("[") else [{}]
    return result, parsed[0]


def test_a_school_is_provisioned_through_its_node(lab: NodeLab) -> None:
    result, run = _provision(lab)
    assert result.exit_code == 0, result.output
    hosts = {h["host"]: h for h in run["hosts"]}
    assert hosts[f"{SCHOOL}-srv01"]["status"] == "verified"
    assert hosts[f"{SCHOOL}-sw01"]["status"] == "verified"
    counts = hosts[f"{SCHOOL}-srv01"]["counts"]
    assert counts["ok"] > 0 and counts["changed"] > 0
    # The node ran it: its journal has the job, started and finished.
    prefix = f"school-{SCHOOL}-run-{run['run_id']}-"
    jobs = [e for e in lab.journal() if e["job"].startswith(prefix)]
    assert [e["event"] for e in jobs] == ["started", "finished"]
    # The events live on the controller, lean as a local run's.
    store = Store.open(lab.db)
    artifacts = Path(store.runs.get(run["run_id"]).artifacts)
    store.close()
    events = list(artifacts.glob("wave-1/artifacts/job_events/*.json"))
    assert len(events) > 10
    stats = [json.loads(p.read_text()) for p in events]
    assert any(e.get("event") == "playbook_on_stats" for e in stats)
    assert not any("res" in (e.get("event_data") or {}) for e in stats)


def test_a_second_delivery_of_a_job_is_refused_and_recorded(lab: NodeLab) -> None:
    started = {e["job"] for e in lab.journal() if e["event"] == "started"}
    job = sorted(started)[-1]
    config = lab.config("controller")
    broker_mod.declare_node(config, NODE, job)
    now = time.time()
    # What RabbitMQ does after a lost connection: the same message, delivered again.
    broker_mod.send_job(config, NODE, "provisioner.play", job, {
        "job": job, "school": SCHOOL, "run": 0, "wave": 1, "sent_at": now,
        "not_after": now + LEASE_S, "stream": "", "playbook": "site.yml"})
    reader = broker_mod.ReplyReader(config, NODE, job)
    reply = reader.get(timeout=30)
    reader.close()
    broker_mod.delete_replies(config, NODE, job)
    assert reply is not None and reply["kind"] == "refused" and reply["reason"] == "duplicate"
    refusals = [e for e in lab.journal() if e["job"] == job and e["event"] == "refused"]
    assert len(refusals) == 1 and "not run a second time" in refusals[0]["detail"]
    assert [e["event"] for e in lab.journal() if e["job"] == job].count("started") == 1


def test_a_reader_refused_by_the_broker_leaves_no_connection_open(lab: NodeLab) -> None:
    # The node's own user may not declare a reply queue: every attempt connects, then
    # is refused. Each of those connections must be closed by the reader, not left
    # for the garbage collector (as a broker restart once left one, mid-run).
    reader = broker_mod.ReplyReader(lab.config(NODE), NODE, "no-such-job")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert reader.get(timeout=2.5) is None
        reader.close()
        del reader
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_node_killed_mid_run_leaves_the_run_lost_and_resume_completes(lab: NodeLab) -> None:
    before = {e["job"] for e in lab.journal()}
    env = {**os.environ, **lab.env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner.cli", "--db", str(lab.db), "--inventories",
         str(lab.inventories), "--json", "school", "--id", SCHOOL, "--yes", "--strategy",
         "linear"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(lambda: any(e["event"] == "started" and e["job"] not in before
                          for e in lab.journal()), 120, "the node to start the job")
    time.sleep(2)  # Ansible is at work on the hosts
    lab.kill_node()
    try:
        out, err = proc.communicate(timeout=LEASE_S * 6 + 60)
    finally:
        lab.start_node()  # the node is back; it must run nothing by itself
    assert proc.returncode == 7, err
    run = json.loads(out)[0]
    assert run["status"] == "lost", run
    assert "went silent mid-run" in run["detail"]
    assert {h["status"] for h in run["hosts"]} <= {"interrupted", "verified", "skipped"}
    assert "interrupted" in {h["status"] for h in run["hosts"]}
    job = next(e["job"] for e in lab.journal() if e["job"] not in before)
    time.sleep(LEASE_S)
    assert [e["event"] for e in lab.journal() if e["job"] == job] == ["started"]
    store = Store.open(lab.db)
    assert store.runs.list(school_id=SCHOOL, kind="provision", limit=1)[0].run_id == \
        run["run_id"]
    store.close()
    resumed, again = _provision(lab, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert again["status"] == "ok"
    assert {h["status"] for h in again["hosts"]} == {"verified"}


def _health(lab: NodeLab, *args: str) -> dict[str, Any]:
    result = lab.run("--json", "health", "--school", SCHOOL, *args)
    assert result.exit_code in (0, 10, 11, 12), result.output
    return {d["device"]: d for d in json.loads(result.stdout)["devices"]}


def test_health_through_the_node_survives_a_broker_restart(lab: NodeLab) -> None:
    devices = _health(lab)
    assert {d["state"] for d in devices.values()} <= {"ok", "warning"}
    assert len(devices) == 3
    # The broker stops and starts while the node polls: results come late, not twice.
    runner = CliRunner(env=lab.env)

    def bounce() -> None:
        time.sleep(0.5)
        lab.broker.stop()
        time.sleep(3)
        lab.broker.start()

    thread = threading.Thread(target=bounce)
    thread.start()
    result = runner.invoke(cli, ["--db", str(lab.db), "--inventories", str(lab.inventories),
                                 "--json", "health", "--school", SCHOOL, "--deadline", "90"],
                           catch_exceptions=False)
    thread.join()
    assert result.exit_code in (0, 10, 11, 12), result.output
    report = json.loads(result.stdout)
    states = {d["device"]: d["state"] for d in report["devices"]}
    assert set(states.values()) <= {"ok", "warning"}, report
    with sqlite3.connect(lab.db) as conn:
        rows = conn.execute("SELECT device, COUNT(*) FROM health_samples WHERE run_id = ? "
                            "GROUP BY device", [report["run_id"]]).fetchall()
    assert sorted(rows) == sorted((name, 1) for name in states)


def test_a_node_down_makes_its_devices_stale_never_ok(lab: NodeLab) -> None:
    lab.stop_node()
    try:
        devices = _health(lab, "--deadline", "5")
    finally:
        lab.start_node()
    assert {d["state"] for d in devices.values()} == {"stale"}
    assert all(f"node {NODE} down" in d["reason"] for d in devices.values())


def test_no_secret_in_the_broker_data_or_any_stored_event(lab: NodeLab) -> None:
    secrets = [lab.creds.snmp_auth, lab.creds.snmp_priv, lab.creds.switch_password,
               lab.broker.password_file(NODE), lab.broker.password_file("controller")]
    values = [p.read_text().strip() for p in secrets]
    values.append(lab.creds.ssh_key.read_text().splitlines()[1])
    files = [p for p in (lab.home / "broker-data").rglob("*") if p.is_file()]
    files += [p for p in lab.db.parent.rglob("*.json") if "job_events" in str(p)]
    assert files
    for path in files:
        data = path.read_bytes()
        for value in values:
            assert value.encode() not in data, f"a secret in {path}"
    # And the environment of the node's worker never reached the controller.
    for path in lab.db.parent.rglob("artifacts/*"):
        assert b"PROVISIONER_BROKER_CONFIG" not in path.read_bytes() if path.is_file() else True
