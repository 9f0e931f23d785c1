"""The ansible-runner adapter: events to per-host recap, secrets kept out, cancel, env traps.

The real runs use `ansible_connection=local`: real ansible-playbook, real runner,
no network.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from provisioner.ansible import (
    PLAYBOOK_JINJA_PLUGINS,
    WARNINGS_MAX,
    EventCollector,
    HostRecap,
    PlaybookJob,
    ansible_env,
    run_playbook,
    scrub_command_file,
    scrub_command_files,
    task_message,
    task_warnings,
)
from provisioner.outcome import Counts

REPO = Path(__file__).resolve().parents[2]

SECRET = "s3cr3t-Passphrase-4711"
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
    - name: Tolerated failure
      ansible.builtin.command: /bin/false
      ignore_errors: true
      changed_when: false
"""
SLOW = """\
- name: Slow play
  hosts: all
  gather_facts: false
  tasks:
    - name: First
      ansible.builtin.ping:
    - name: Sleep long
      ansible.builtin.command: sleep 120
      changed_when: false
"""


def _inventory(tmp_path: Path, hosts: str = "a b") -> Path:
    inv = tmp_path / "inv"
    inv.write_text("".join(f"{h} ansible_connection=local "
                           "ansible_python_interpreter=/usr/bin/python3\n" for h in hosts.split()))
    return inv


def _job(tmp_path: Path, play: str, **kwargs: object) -> PlaybookJob:
    playbook = tmp_path / "site.yml"
    playbook.write_text(play)
    return PlaybookJob(playbook, _inventory(tmp_path), tmp_path / "run", **kwargs)  # type: ignore[arg-type]


def test_a_real_run_gives_each_hosts_recap_and_failed_task(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    outcome = run_playbook(_job(tmp_path, PLAY), lambda r: seen.append((r.host, r.task)))
    assert outcome.status == "failed"
    a, b = outcome.hosts["a"], outcome.hosts["b"]
    assert a.counts == Counts(ok=3, changed=1, skipped=1, ignored=1)
    assert b.counts == Counts(ok=2, changed=1, failed=1)
    assert (a.status, b.status) == ("ok", "failed")
    assert (b.failed_task, b.message) == ("Fail on b", "b is broken")
    assert ("a", "Say hello") in seen and ("b", "Fail on b") in seen


def test_no_secret_and_no_environment_in_the_artifacts(tmp_path: Path) -> None:
    outcome = run_playbook(_job(tmp_path, PLAY, env={"PROVISIONER_TEST_TOKEN": SECRET}))
    assert outcome.artifact_dir.is_dir()
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    command = json.loads((outcome.artifact_dir / "command").read_text())
    assert set(command) == {"command", "cwd"}
    events = [json.loads(p.read_text()) for p in (outcome.artifact_dir / "job_events").iterdir()]
    assert events and all("res" not in e.get("event_data", {}) for e in events)
    assert all("task_args" not in e.get("event_data", {}) for e in events)
    assert not (tmp_path / "run" / "env").exists()  # suppress_env_files
    assert oct((tmp_path / "run").stat().st_mode & 0o777) == "0o700"


def test_cancel_stops_the_run(tmp_path: Path) -> None:
    started: list[str] = []
    outcome = run_playbook(_job(tmp_path, SLOW), lambda r: started.append(r.task),
                           cancelled=lambda: "Sleep long" in started)
    assert outcome.status == "canceled"
    assert all(r.counts.ok <= 1 for r in outcome.hosts.values())


THREE_PLAYS = """\
- name: Everyone
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
- name: Only b
  hosts: b
  gather_facts: false
  tasks:
    - name: B breaks
      ansible.builtin.fail:
        msg: down
- name: Everyone again
  hosts: all
  gather_facts: false
  tasks:
    - name: Never reached
      ansible.builtin.ping:
"""


def test_a_playbook_ended_early_is_told_apart(tmp_path: Path) -> None:
    outcome = run_playbook(_job(tmp_path, THREE_PLAYS))
    # Every host of play 2 failed, so Ansible ends the whole playbook there: a never
    # got to play 3 although it shows no failure.
    assert outcome.ended_early_in == "Only b"
    assert outcome.hosts["a"].status == "ok" and outcome.hosts["a"].counts.ok == 1


def test_environment_handles_the_runner_traps(tmp_path: Path) -> None:
    env = ansible_env(PlaybookJob(tmp_path / "p.yml", tmp_path, tmp_path / "run"))
    assert env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert env["ANSIBLE_SSH_CONTROL_PATH_DIR"] == str(tmp_path / "run" / "cp")
    assert "ServerAliveInterval" in env["ANSIBLE_SSH_ARGS"]
    assert env["PATH"].split(os.pathsep)[:2] == [str(tmp_path / "run" / "bin"),
                                                 str(Path(os.sys.executable).parent)]


def test_a_run_dir_is_never_reused(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with pytest.raises(FileExistsError):
        run_playbook(_job(tmp_path, PLAY))


def test_event_collector_counts_and_strips() -> None:
    collector = EventCollector()
    failed = {"event": "runner_on_failed", "stdout": "fatal: ...",
              "event_data": {"host": "h", "task": "T", "task_args": "password=x",
                             "res": {"censored": "hidden", "msg": "x"}}}
    assert collector(failed) is True
    assert "res" not in failed["event_data"]
    assert "task_args" not in failed["event_data"]
    assert collector.hosts["h"].failed_task == "T"
    assert collector.hosts["h"].message == "output hidden by no_log"
    collector({"event": "runner_on_unreachable",
               "event_data": {"host": "u", "task": "Gather", "res": {"msg": "no route\nmore"}}})
    assert collector.hosts["u"].status == "unreachable"
    assert collector.hosts["u"].message == "no route"
    collector({"event": "playbook_on_stats", "event_data": {"ok": {"h": 4}, "failures": {"h": 1},
                                                             "dark": {"u": 1}}})
    assert (collector.hosts["h"].counts.ok, collector.hosts["h"].counts.failed) == (4, 1)


WARNING_PLAY = """\
- name: Warnings
  hosts: all
  gather_facts: false
  tasks:
    - name: Report what the heap looks like to the worker
      report_warning:
        msg: "frozen objects: {{ 0 | frozen_objects }}"
    - name: Report one warning per item
      report_warning:
        msg: ["{{ inventory_hostname }} first", "second", "second"]
    - name: Report nothing
      report_warning:
        msg: []
      when: inventory_hostname == 'b'
"""
FROZEN_FILTER = """\
import gc


class FilterModule:
    def filters(self):
        return {"frozen_objects": lambda _value: gc.get_freeze_count()}
"""


@pytest.mark.parametrize("strategy", [None, "mitogen_linear"])
def test_a_roles_report_is_a_warning_on_its_host(tmp_path: Path, strategy: str | None) -> None:
    # A real run: report_warning (the roles' "Report ..." tasks) becomes the host's
    # warnings, each once; an empty report fails its task. The worker that templates
    # the message says how many objects it inherited frozen: the tool's strategy
    # (mitogen_unpinned.FrozenHeapMixin) freezes the play's heap, Ansible's does not.
    (tmp_path / "filter_plugins").mkdir()
    (tmp_path / "filter_plugins" / "heap.py").write_text(FROZEN_FILTER)
    outcome = run_playbook(_job(tmp_path, WARNING_PLAY, strategy=strategy))
    a, b = outcome.hosts["a"], outcome.hosts["b"]
    frozen = int(a.warnings[0].removeprefix("frozen objects: "))
    assert (frozen > 10_000) if strategy else (frozen == 0)
    # Ansible's output names the host ("[WARNING]: a: second"); the record does already.
    assert a.warnings[1:] == ["a first", "second"]
    assert "[WARNING]: a: second" in (outcome.artifact_dir / "stdout").read_text()
    assert a.status == "ok" and a.counts.changed == 0
    assert (b.failed_task, b.message) == ("Report nothing",
                                          "report_warning: msg is empty; give the warning's text")


WARM_PLAY = """\
- name: Warm plugins
  hosts: all
  gather_facts: false
  tasks:
    - name: Report whether the worker found the playbooks' collection filters loaded
      report_warning:
        msg: "{{ 0 | loaded_before }}"
"""
WARM_FILTER = """\
import sys


class FilterModule:
    def filters(self):
        return {"loaded_before": lambda _value: " ".join(
            name.rpartition(".")[2] for name in ("ansible_collections.ansible.utils.plugins."
                                                 "filter.ipaddr",
                                                 "ansible_collections.cisco.ios.plugins."
                                                 "cliconf.ios")
            if name in sys.modules) or "none"}
"""


@pytest.mark.parametrize("strategy", [None, "mitogen_linear"])
def test_the_tools_strategy_loads_the_collections_plugins_before_the_workers_fork(
        tmp_path: Path, strategy: str | None) -> None:
    # Ansible compiles a collection's files anew in each worker that imports them (it
    # keeps no bytecode for collections): the tool's strategy loads the playbooks' filters
    # and the platforms' network plugins once, in ansible-playbook, for every worker.
    (tmp_path / "filter_plugins").mkdir()
    (tmp_path / "filter_plugins" / "loaded.py").write_text(WARM_FILTER)
    outcome = run_playbook(_job(tmp_path, WARM_PLAY, strategy=strategy))
    loaded = outcome.hosts["a"].warnings
    assert loaded == (["ipaddr ios"] if strategy else ["none"])


def test_the_warmed_filters_and_tests_cover_every_one_the_playbooks_name() -> None:
    # Only speed hangs on the list; this keeps it from falling behind the playbooks.
    text = "\n".join(line for f in (REPO / "playbooks").rglob("*")
                     if f.suffix in (".yml", ".j2") and f.is_file()
                     for line in f.read_text().splitlines()
                     if not line.lstrip().startswith(("#", "{#")))  # not the comments' words
    named = {("filter", m) for m in re.findall(r"\|\s*([a-z_]+\.[a-z_]+)\.[a-z_]+", text)}
    named |= {("test", m) for m in re.findall(
        r"(?:select|reject|selectattr|rejectattr)\([^)]*'([a-z_]+\.[a-z_]+)\.[a-z_]+'", text)}
    named |= {("test", m) for m in re.findall(
        r"\bis[ \t]+(?:not[ \t]+)?([a-z_]+\.[a-z_]+)\.[a-z_]+", text)}
    named.discard(("filter", "ansible.builtin"))
    named.discard(("test", "ansible.builtin"))
    warmed = {(kind, name.rpartition(".")[0])
              for kind, _, name in (p.partition(":") for p in PLAYBOOK_JINJA_PLUGINS)}
    assert named and named <= warmed, named - warmed


def test_task_warnings_are_one_printable_line_each() -> None:
    assert task_warnings({"warnings": ["one\ntwo", "  ", 7, "\x1b[2Jwiped"]}) \
        == ["one", " [2Jwiped"]
    assert task_warnings({"warnings": "not a list"}) == []
    assert task_warnings({"censored": "hidden", "warnings": ["secret"]}) == []
    assert task_warnings({}) == []


def test_event_collector_keeps_each_report_once_and_counts_those_over_the_limit() -> None:
    collector = EventCollector()
    many = [f"w{i}" for i in range(WARNINGS_MAX + 5)]
    for kind, action, warnings in (
            ("runner_on_ok", "report_warning", ["w0", "w0"]),
            ("runner_on_failed", "ansible.legacy.report_warning", many),
            ("runner_on_ok", "ansible.netcommon.cli_config", ["a library's hint"]),
            ("runner_on_unreachable", "report_warning", ["never"])):
        collector({"event": kind, "event_data": {"host": "h", "task": "T",
                                                 "resolved_action": action,
                                                 "res": {"warnings": warnings}}})
    assert collector.hosts["h"].warnings == many[:WARNINGS_MAX]
    assert collector.hosts["h"].warnings_left_out == 5


NO_LOG_REPORT = f"""\
- name: A report that would hide a secret
  hosts: a
  gather_facts: false
  tasks:
    - name: Report under no_log
      report_warning:
        msg: "the passphrase is {SECRET}"
      no_log: true
"""


def test_a_report_under_no_log_fails_and_its_text_is_nowhere(tmp_path: Path) -> None:
    # Ansible prints a no_log result's warnings all the same; the report refuses to run.
    outcome = run_playbook(_job(tmp_path, NO_LOG_REPORT))
    a = outcome.hosts["a"]
    assert (a.status, a.failed_task, a.warnings) == ("failed", "Report under no_log", [])
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path


def test_task_message_prefers_msg_then_stderr() -> None:
    assert task_message({"msg": "first\nsecond"}) == "first"
    assert task_message({"stderr": "E: no package"}) == "E: no package"
    assert task_message({}) == ""
    assert task_message({"msg": "\x1b]0;owned\x07 switch said no"}) == " ]0;owned  switch said no"
    assert HostRecap("x").status == "ok"


def _command_file(folder: Path, text: str) -> Path:
    path = folder / "artifacts" / "2b1c" / "command"  # ansible-runner's layout
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("text", [
    '{"command": ["ansible-playbook"], "cwd": "/x", "env": {"TOKEN": "' + SECRET,  # cut off
    '["ansible-playbook", {"TOKEN": "' + SECRET + '"}]',  # JSON, not the runner's object
    "TOKEN=" + SECRET + "\n\udcff",  # not even UTF-8
])
def test_a_command_file_that_cannot_be_scrubbed_is_deleted(tmp_path: Path, text: str) -> None:
    path = _command_file(tmp_path, "")
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert scrub_command_file(path) is False
    assert not path.exists()


def test_the_command_file_keeps_only_the_command_and_its_folder(tmp_path: Path) -> None:
    run = tmp_path / "run-7"
    good = _command_file(run / "wave-1", json.dumps(
        {"command": ["ansible-playbook", "site.yml"], "cwd": "/x", "env": {"TOKEN": SECRET}}))
    broken = _command_file(run / "wave-2", '{"env": {"TOKEN": "' + SECRET)
    # Every wave's file of a run's folder, as the next start does after a kill -9.
    assert scrub_command_files(run) == 2
    assert json.loads(good.read_text()) == {"command": ["ansible-playbook", "site.yml"],
                                            "cwd": "/x"}
    assert oct(good.stat().st_mode & 0o777) == "0o600"
    assert not broken.exists()
    assert sorted(p.name for p in good.parent.iterdir()) == ["command"]  # no temporary file
