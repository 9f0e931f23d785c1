"""Run records (real SQLite), the school lock, noticing dead runs, and the run CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from provisioner.db import Store
from provisioner.errors import AlreadyRunningError
from provisioner.models import Device, HostRun, Role
from provisioner.outcome import Counts, DeviceState, HostStatus, Phase, RunStatus
from provisioner.provision.engine import resume_selection
from provisioner.provision.locks import (
    KIND,
    Cancellation,
    process_start_time,
    run_is_alive,
    school_lock,
)
from tests.conftest import Invoke


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "state.db")


def _start(store: Store, pid: int, started: int | None) -> int:
    return store.runs.start(kind=KIND, school_id="100001", user="anna",
                            arguments={"check": False, "limit": ["servers"]},
                            playbook_commit="abc123", pid=pid, pid_started=started,
                            artifacts="")


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_run_is_recorded_with_hosts_and_read_back(store: Store) -> None:
    run_id = _start(store, 1, None)
    store.runs.save_hosts(run_id, [
        HostRun("100001-srv01", "server", HostStatus.VERIFIED, Phase.DONE,
                Counts(ok=12, changed=3), duration_ms=5100.0),
        HostRun("100001-sw01", "switch", HostStatus.FAILED, Phase.PLAY, Counts(ok=2, failed=1),
                failed_task="Configure VLANs", message="% Invalid input"),
    ])
    store.runs.finish(run_id, RunStatus.FAILED, "1 of 2 hosts verified or skipped")
    record = store.runs.get(run_id)
    assert record.summary.status == "failed" and record.summary.finished_at
    assert record.arguments == {"check": False, "limit": ["servers"]}
    assert record.playbook_commit == "abc123"
    assert [h.status for h in record.hosts] == ["verified", "failed"]
    assert record.hosts[1].failed_task == "Configure VLANs"
    assert record.hosts[0].counts == Counts(ok=12, changed=3)
    assert store.runs.last(KIND, "100001") == record
    assert [r.run_id for r in store.runs.list(school_id="100001")] == [run_id]


def test_device_state_moves_and_bad_values_are_refused(store: Store) -> None:
    store.replace_devices(["100001"], [Device("100001", "100001-srv01", Role.SERVER, "debian",
                                              "10.213.1.10")])
    assert store.runs.set_device_state("100001-srv01", DeviceState.VERIFIED)
    assert store.device_rollout()[0].state is DeviceState.VERIFIED
    assert not store.runs.set_device_state("never-synced", DeviceState.VERIFIED)
    with pytest.raises(ValueError, match="'great' is not a valid DeviceState"):
        store.runs.set_device_state("100001-srv01", "great")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="run status 'done' cannot end a provisioning run"):
        store.runs.finish(1, RunStatus.DONE)


def test_a_second_lock_on_the_same_school_is_refused(tmp_path: Path, store: Store) -> None:
    with school_lock(tmp_path / "locks", "100001", store.runs):
        run_id = _start(store, os.getpid(), process_start_time(os.getpid()))
        with (pytest.raises(AlreadyRunningError, match=r"school 100001 is being provisioned "
                                                       r"right now "
                                                       rf"\(run {run_id}, process {os.getpid()}\)"),
              school_lock(tmp_path / "locks", "100001", store.runs)):
            pass
        with school_lock(tmp_path / "locks", "100002", store.runs):  # other schools go on
            pass
    assert store.runs.get(run_id).summary.status == "running"  # the refused start left it be


def test_a_dead_run_is_marked_interrupted_by_the_next_start(tmp_path: Path,
                                                             store: Store) -> None:
    pid = _dead_pid()
    run_id = _start(store, pid, 12345)
    store.runs.save_hosts(run_id, [HostRun("a", "server", HostStatus.VERIFIED, Phase.DONE),
                                   HostRun("b", "server", HostStatus.RUNNING, Phase.PLAY)])
    with school_lock(tmp_path / "locks", "100001", store.runs) as reaped:
        assert reaped == [run_id]
    record = store.runs.get(run_id)
    assert record.summary.status == "interrupted"
    assert f"process {pid} is gone" in record.detail
    assert [h.status for h in record.hosts] == ["verified", "interrupted"]


def _synced(store: Store, *names: str) -> None:
    store.replace_devices(["100001"], [Device("100001", n, Role.SERVER, "debian", f"10.0.0.{i}")
                                       for i, n in enumerate(names, start=1)])


def test_resume_before_the_lock_takes_the_hosts_of_a_run_killed_with_9(store: Store) -> None:
    # The confirmation is asked before the lock, so before the dead run is reaped: it
    # must name the hosts of that run, not of the run before (nor find "no earlier run").
    devices = [Device("100001", f"100001-{n}", Role.SERVER, "debian", f"10.213.1.{i}")
               for i, n in enumerate(["srv01", "srv02", "srv03"], start=10)]
    killed = _start(store, _dead_pid(), None)
    store.runs.save_hosts(killed, [
        HostRun("100001-srv01", "server", HostStatus.VERIFIED, Phase.DONE),
        HostRun("100001-srv02", "server", HostStatus.RUNNING, Phase.PLAY)])
    assert [d.name for d in resume_selection(store, "100001", devices)] == ["100001-srv02"]
    older = killed
    killed = _start(store, _dead_pid(), None)  # a newer one, with an older one dead too
    store.runs.save_hosts(killed, [
        HostRun("100001-srv03", "server", HostStatus.RUNNING, Phase.PLAY)])
    store.runs.finish(older, RunStatus.INTERRUPTED, "reaped")
    assert [d.name for d in resume_selection(store, "100001", devices)] == ["100001-srv03"]
    # A run whose process still runs is not the last one: its lock will refuse the start.
    alive = _start(store, os.getpid(), process_start_time(os.getpid()))
    store.runs.save_hosts(alive, [HostRun("100001-srv01", "server", HostStatus.RUNNING,
                                          Phase.PLAY)])
    assert [d.name for d in resume_selection(store, "100001", devices)] == ["100001-srv03"]


def test_host_results_move_device_states_and_keep_their_history(store: Store) -> None:
    _synced(store, "a", "b", "c", "d")
    run_id = _start(store, 1, None)
    store.runs.save_hosts(run_id, [
        HostRun("a", "server", HostStatus.VERIFIED, Phase.DONE),
        HostRun("b", "server", HostStatus.BLOCKED, message="host key changed: ..."),
        HostRun("c", "server", HostStatus.SKIPPED, message="not managed over SSH"),
        HostRun("d", "server", HostStatus.PENDING)])
    states = {d.name: (d.state, d.detail) for d in store.device_rollout()}
    assert states == {"a": (DeviceState.VERIFIED, ""),
                      "b": (DeviceState.BLOCKED, "host key changed: ..."),
                      "c": (DeviceState.PLANNED, ""), "d": (DeviceState.PLANNED, "")}
    # A later run that finds "a" unreachable takes "verified" away; the history keeps both.
    later = _start(store, 1, None)
    store.runs.save_hosts(later, [HostRun("a", "server", HostStatus.UNREACHABLE,
                                          message="port 22 does not answer")])
    assert store.device_rollout()[0].state is DeviceState.UNREACHABLE
    history = store._db.execute("SELECT state, run_id FROM device_states WHERE device = 'a' "
                                "ORDER BY id").fetchall()
    assert history == [("verified", run_id), ("unreachable", later)]


def test_a_check_run_moves_only_what_reaching_the_device_found(store: Store) -> None:
    _synced(store, "a", "b")
    store.runs.set_device_state("a", DeviceState.VERIFIED)
    store.runs.set_device_state("b", DeviceState.VERIFIED)
    run_id = _start(store, 1, None)
    store.runs.save_hosts(run_id, [HostRun("a", "server", HostStatus.FAILED, Phase.PLAY),
                                   HostRun("b", "server", HostStatus.BLOCKED)], check=True)
    assert {d.name: d.state for d in store.device_rollout()} == {
        "a": DeviceState.VERIFIED, "b": DeviceState.BLOCKED}


def test_a_stopped_run_interrupts_the_devices_its_play_was_on_only(store: Store) -> None:
    _synced(store, "a", "b", "c")
    for name in ("a", "b", "c"):
        store.runs.set_device_state(name, DeviceState.VERIFIED)
    run_id = _start(store, 1, None)
    store.runs.save_hosts(run_id, [HostRun("a", "server", HostStatus.VERIFIED, Phase.DONE),
                                   HostRun("b", "server", HostStatus.RUNNING, Phase.PLAY),
                                   HostRun("c", "server", HostStatus.PENDING)])
    store.runs.finish(run_id, RunStatus.INTERRUPTED, "SIGTERM")
    assert [h.status for h in store.runs.hosts(run_id)] == [
        HostStatus.VERIFIED, HostStatus.INTERRUPTED, HostStatus.INTERRUPTED]
    rollout = {d.name: d for d in store.device_rollout()}
    assert rollout["a"].state is DeviceState.VERIFIED
    assert rollout["b"].state is DeviceState.INTERRUPTED
    assert "stopped while its play was working on it" in rollout["b"].detail
    assert rollout["c"].state is DeviceState.VERIFIED  # never touched: as it was


def test_process_identity_uses_the_start_time() -> None:
    me, started = os.getpid(), process_start_time(os.getpid())
    assert run_is_alive(me, started)
    assert not run_is_alive(me, (started or 0) + 1)  # same pid, other process
    assert not run_is_alive(_dead_pid(), None)


def test_cancellation_from_a_signal() -> None:
    cancel = Cancellation()
    with cancel.signals():
        os.kill(os.getpid(), signal.SIGTERM)
    assert cancel() and cancel.signal_name == "SIGTERM"


def test_runs_and_run_show_through_the_cli(invoke: Invoke, cli_env: Path) -> None:
    store = Store.open(cli_env / "state.db")
    run_id = _start(store, 1, None)
    store.runs.save_hosts(run_id, [HostRun("100001-sw01", "switch", HostStatus.FAILED,
                                           Phase.PLAY, Counts(ok=2, failed=1),
                                           failed_task="Configure VLANs",
                                           message="% Invalid input")])
    store.runs.finish(run_id, RunStatus.FAILED, "0 of 1 hosts verified or skipped")
    store.close()
    listing = invoke("runs", "--school", "100001")
    assert listing.exit_code == 0
    assert listing.output.splitlines()[1].split()[0:2] == [str(run_id), "100001"]
    shown = invoke("run", "show", str(run_id))
    assert shown.exit_code == 0, shown.output
    assert "playbook commit: abc123" in shown.output
    assert "by anna" in shown.output
    assert "100001-sw01 failed: task 'Configure VLANs': % Invalid input" in shown.output
    as_json = json.loads(invoke("run", "show", str(run_id), "--json").output)
    assert as_json["hosts"][0]["failed_task"] == "Configure VLANs"
    missing = invoke("run", "show", "999")
    assert missing.exit_code == 4
    assert missing.output == "Error: no run 999: list the runs with 'provision runs'\n"


def test_a_run_whose_process_is_gone_is_not_shown_as_running(invoke: Invoke,
                                                            cli_env: Path) -> None:
    # Until the school's next start records it interrupted, the record says "running";
    # what the listings show must not.
    store = Store.open(cli_env / "state.db")
    dead = _start(store, _dead_pid(), None)
    alive = store.runs.start(kind=KIND, school_id="100001", user="anna",
                             arguments={"check": True}, playbook_commit="abc123",
                             pid=os.getpid(), pid_started=process_start_time(os.getpid()),
                             artifacts="")
    store.close()
    rows = {line.split()[0]: line for line in invoke("runs").output.splitlines()[1:]}
    assert "died: process gone" in rows[str(dead)]
    assert "running" in rows[str(alive)] and "died" not in rows[str(alive)]
    listed = {r["run_id"]: r for r in json.loads(invoke("runs", "--json").output)}
    assert listed[dead]["process_gone"] and listed[dead]["status"] == "running"
    assert not listed[alive]["process_gone"]
    assert f"run {dead}: school 100001, died: process gone" in invoke("run", "show",
                                                                      str(dead)).output
    shown = invoke("school", "show", "100001")
    assert shown.exit_code == 0, shown.output
    assert f"latest run: run {alive} (provision, check mode: nothing changed) running at " \
        in shown.output


def test_school_needs_an_id_or_a_subcommand(invoke: Invoke) -> None:
    result = invoke("school")
    assert result.exit_code == 2
    assert "give --id SCHOOL to provision" in result.output
    # A school id in a subcommand's place: the command it was meant for, not only
    # "No such command".
    result = invoke("school", "100001")
    assert result.exit_code == 2
    assert ("'100001' is no subcommand of 'school'; to provision school 100001: provision "
            "school --id 100001; to see it: provision school show 100001") in result.output
