"""ansible-runner's streaming protocol as the nodes use it, without a broker: transmit,
worker (through the node's LineForwarder) and process, with real ansible-playbook on
`ansible_connection=local`; and the node's refusals (expired, repeat, busy school).
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from provisioner.ansible import (
    PlaybookJob,
    StreamBuffer,
    lean_line,
    node_job,
    process,
    transmit,
    work,
)
from provisioner.nodes import node as node_mod
from provisioner.nodes.config import BrokerConfig
from provisioner.nodes.node import Journal, LineForwarder, Node, node_school_lock

SECRET = "s3cr3t-Passphrase-4711"
MARKER = "PV_TEST_ENV_MARKER"
PLAY = f"""\
- name: A small play
  hosts: all
  gather_facts: false
  tasks:
    - name: Say hello
      ansible.builtin.ping:
    - name: Use a secret
      ansible.builtin.command: echo {SECRET}
      no_log: true
      changed_when: true
    - name: Fail on b
      ansible.builtin.fail:
        msg: b is broken
      when: inventory_hostname == 'b'
"""


def _job(tmp_path: Path) -> PlaybookJob:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "site.yml").write_text(PLAY)
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "hosts.yml").write_text(
        "all:\n  hosts:\n    a: {ansible_connection: local}\n    b: {ansible_connection: local}\n"
        "  vars:\n    ansible_python_interpreter: " + sys.executable + "\n")
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    return PlaybookJob(playbook=tmp_path / "playbooks" / "site.yml", inventory=tmp_path / "inv",
                       run_dir=tmp_path / "controller-run", forks=5,
                       env={"HOME": str(tmp_path / "home")}, strategy="linear")


def test_a_job_runs_through_transmit_worker_and_process(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MARKER, "node-environment-must-not-travel")
    job = _job(tmp_path)
    stream = transmit(job, tmp_path / "stage")
    assert MARKER.encode() not in stream  # no environment goes to the node either
    sent: list[dict[str, Any]] = []
    forward = LineForwarder(sent.append)
    status = work(stream, node_job(tmp_path / "node-run", "site.yml", check=False, forks=5,
                                   strategy="linear", fact_cache=None), forward, lambda: False)
    assert status == "failed"  # b fails, as the play says
    lines = [m["line"] for m in sent]
    assert [m["n"] for m in sent] == list(range(len(sent)))
    assert all(MARKER not in line and SECRET not in line for line in lines)
    assert json.loads(lines[-1]) == {"eof": True}
    outcome = process(io.BytesIO("".join(lines).encode()), job)
    assert outcome.status == "failed"
    assert outcome.hosts["a"].status == "ok" and outcome.hosts["a"].counts.changed == 1
    assert outcome.hosts["b"].failed_task == "Fail on b"
    assert outcome.hosts["b"].message == "b is broken"
    for path in job.run_dir.rglob("*"):
        if path.is_file():
            data = path.read_text(errors="replace")
            assert MARKER not in data and SECRET not in data, path


def test_a_cut_stream_ends_as_an_error_not_a_hang(tmp_path: Path) -> None:
    job = _job(tmp_path)
    line = json.dumps({"status": "starting", "env": {"X": "1"}}) + "\n"
    outcome = process(io.BytesIO(line.encode()), job)
    assert outcome.status == "error" and outcome.hosts == {}


def test_lean_line_drops_the_environment_arguments_and_results() -> None:
    status = json.dumps({"status": "starting", "env": {"SECRET": "x"}, "command": ["a"]})
    assert json.loads(lean_line(status.encode()) or b"") == {"status": "starting",
                                                             "command": ["a"]}
    event = {"event": "runner_on_failed", "event_data": {
        "host": "a", "task_args": {"password": "x"},
        "res": {"msg": "first line\nsecond", "stdout": "x" * 10, "changed": True}}}
    lean = json.loads(lean_line(json.dumps(event).encode()) or b"")
    assert lean["event_data"] == {"host": "a", "res": {"changed": True, "msg": "first line"}}
    warned = {"event_data": {"res": {"changed": False, "warnings": ["dnsmasq not started\nx"]}}}
    assert json.loads(lean_line(json.dumps(warned).encode()) or b"")["event_data"]["res"] \
        == {"changed": False, "warnings": ["dnsmasq not started"]}
    censored = {"event_data": {"res": {"censored": "the output has been hidden", "x": 1}}}
    assert json.loads(lean_line(json.dumps(censored).encode()) or b"")["event_data"]["res"] \
        == {"censored": "output hidden by no_log", "changed": False}
    assert lean_line(b"not json\n") is None


def test_the_forwarder_drops_the_artifacts_archive(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []
    forward = LineForwarder(sent.append)
    archive = b"QUJD" * 3  # base64 of 9 bytes
    forward.write(b'{"status": "running"}\n{"zipfile": 9}\n' + archive[:5])
    forward.write(archive[5:] + b'{"eof": true}\n')
    assert [json.loads(m["line"]) for m in sent] == [{"status": "running"}, {"eof": True}]


class FakeWriter:
    published: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, *_args: Any) -> None:
        pass

    def publish(self, body: dict[str, Any], _give_up_after_s: float) -> bool:
        FakeWriter.published.append(body)
        return True

    def close(self) -> None:
        pass


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Node:
    monkeypatch.setattr(node_mod, "ReplyWriter", FakeWriter)
    FakeWriter.published = []
    config = BrokerConfig(url="amqps://127.0.0.1:25671//", user="node1",
                          password_file=tmp_path / "pw", ca_file=tmp_path / "ca.pem",
                          lease_s=5, state_dir=tmp_path / "state")
    return Node(config)


def _payload(**extra: Any) -> dict[str, Any]:
    return {"job": "school-100001-run-7-wave-1", "school": "100001",
            "not_after": time.time() + 60, "stream": "", "playbook": "site.yml", **extra}


def test_a_job_after_its_deadline_is_refused_and_journaled(node: Node) -> None:
    node.play(_payload(not_after=time.time() - 1))
    assert [m["reason"] for m in FakeWriter.published] == ["expired"]
    assert [e["event"] for e in node.journal.entries()] == ["refused"]


def test_a_job_started_before_is_never_run_again(node: Node) -> None:
    node.journal.note("school-100001-run-7-wave-1", "started")
    node.play(_payload())
    assert [m["kind"] for m in FakeWriter.published] == ["refused"]
    assert FakeWriter.published[0]["reason"] == "duplicate"
    events = [e["event"] for e in Journal(node.config.state_dir).entries()]
    assert events == ["started", "refused"]


def test_a_school_busy_on_the_node_is_refused(node: Node) -> None:
    with node_school_lock(node.config.state_dir, "100001") as held:
        assert held
        node.play(_payload())
    assert FakeWriter.published[0]["reason"] == "busy"
    assert not node.journal.started("school-100001-run-7-wave-1")


def test_the_journal_survives_a_new_node_process(node: Node) -> None:
    node.journal.note("job-a", "started")
    assert Journal(node.config.state_dir).started("job-a")
    written = StreamBuffer()
    written.write(b"x")
    assert written.getvalue() == b"x"
