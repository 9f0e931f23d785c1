"""After a rollout: `provision health` on a real net-snmp agent (loopback, no lab) and
provisioning runs as the database records them.

An agent restarted inside a provisioning run that reached the device is ok with the
run named; restarted outside one (the run ended long ago, or only a check-mode run
was going) it still warns. The audit log shows how each health run really ended.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from provisioner.app import build_app
from provisioner.cli import cli
from provisioner.db import Store
from provisioner.errors import ExitStatus
from provisioner.health.model import HealthReport, HealthState, SchoolHealth
from provisioner.health.run import provisioning_windows
from provisioner.models import HostRun
from provisioner.provision.locks import KIND
from provisioner.results import FailureKind
from provisioner.snmp.agent import SnmpdAgent
from tests.health.factories import health

PLAN = Path(__file__).parent.parent / "data" / "cli" / "plan-v1.csv"
SWITCH = "100001-sw01"
NOW = "2026-11-30T04:00:00+00:00"
ADDRESS, PORT = "127.47.0.1", 16171


# -- the loader on a real SQLite: which runs can explain a reset ---------------------------

@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "state.db")


def record(store: Store, hosts: list[HostRun], *, check: bool = False, pid: int | None = None,
           finish: bool = True) -> int:
    """A provision run as the engine records it (times: now)."""
    run_id = store.runs.start(kind=KIND, school_id="100001", user="anna",
                              arguments={"check": check, "limit": []}, playbook_commit="abc",
                              pid=os.getpid() if pid is None else pid, pid_started=None,
                              artifacts="")
    store.runs.save_hosts(run_id, hosts)
    if finish:
        store.runs.finish(run_id, "ok")
    return run_id


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_only_apply_runs_and_the_hosts_their_play_reached_count(store: Store) -> None:
    played = record(store, [HostRun("a", "server", "verified", "done"),
                            HostRun("b", "switch", "failed", "play"),
                            HostRun("c", "switch", "blocked", "preflight"),
                            HostRun("d", "access_point", "unreachable", "play")])
    record(store, [HostRun("a", "server", "verified", "play")], check=True)
    open_live = record(store, [HostRun("e", "server", "running", "play")], finish=False)
    record(store, [HostRun("f", "server", "running", "play")], pid=_dead_pid(),
           finish=False)
    previous = {"a": ("2026-01-01T00:00:00+00:00", 100, {})}
    windows = {w.run_id: w for w in provisioning_windows(store, previous)}
    assert sorted(windows) == [played, open_live]
    assert windows[played].hosts == {"a", "b"}
    assert windows[played].finished_at is not None
    assert windows[open_live].finished_at is None  # still running: open window


def test_runs_that_ended_before_the_oldest_previous_sample_are_not_loaded(
        store: Store) -> None:
    record(store, [HostRun("a", "server", "verified", "done")])
    assert provisioning_windows(store, {"a": ("2999-01-01T00:00:00+00:00", 5, {})}) == ()
    assert provisioning_windows(store, {}) == ()


# -- the real pipeline: snmpd on loopback, runs recorded in the database ------------------

class Site:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.db = home / "state.db"
        self.env = {"XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "cfg"),
                    "PROVISIONER_MANAGEMENT_NETWORKS": "127.47.0.0/16",
                    "PROVISIONER_INVENTORIES": str(home / "inventories"),
                    "SUDO_USER": "anna"}

    def run(self, *args: str) -> Result:
        return CliRunner(env=self.env).invoke(cli, ["--db", str(self.db), *args],
                                              catch_exceptions=False)

    def health(self) -> tuple[int, dict[str, Any]]:
        result = self.run("--json", "health", "--timeout", "1", "--retries", "1")
        assert result.exit_code in (0, 10, 11, 12), result.output
        return result.exit_code, json.loads(result.output)["devices"][0]

    def audit(self) -> list[dict[str, Any]]:
        result = self.run("--json", "audit", "--limit", "5")
        assert result.exit_code == 0, result.output
        return list(json.loads(result.output))


def _inventory(root: Path, secrets: Path) -> None:
    folder = root / "100001"
    (folder / "group_vars").mkdir(parents=True)
    (folder / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "snmp_user": "pvtest", "snmp_auth_file": str(secrets / "auth"),
        "snmp_priv_file": str(secrets / "priv"), "snmp_port": PORT}))
    hosts = {"switches": {"hosts": {SWITCH: {"ansible_host": ADDRESS,
                                             "platform": "cisco_ios"}}}}
    (folder / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": hosts}}))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, SnmpdAgent]]:
    if shutil.which("snmpd") is None and not Path("/usr/sbin/snmpd").exists():
        pytest.skip("net-snmp snmpd is not installed")
    home = tmp_path_factory.mktemp("after-rollout")
    agent = SnmpdAgent(home / "agent", [f"{ADDRESS}:{PORT}"],
                       extra_config=(f"sysName {SWITCH}",))
    secrets = agent.write_secrets(home / "secrets")
    _inventory(home / "inventories", secrets)
    the_site = Site(home)
    assert the_site.run("plan", "import", str(PLAN)).exit_code == 0
    synced = the_site.run("inventory", "sync")
    assert synced.exit_code == 0, synced.output
    agent.start()
    try:
        yield the_site, agent
    finally:
        agent.stop()


def sample_after_uptime(site: Site, seconds: int) -> dict[str, Any]:
    """A health sample once the agent has been up `seconds` (uptime counts whole seconds:
    only then is a restart's uptime lower than the sample's)."""
    for _ in range(80):
        _status, device = site.health()
        if (device["uptime_s"] or 0) >= seconds:
            return device
        time.sleep(0.25)
    raise AssertionError(f"the agent's uptime never reached {seconds} s: {device}")


def played(site: Site, *, check: bool = False) -> tuple[Store, int]:
    store = Store.open(site.db)
    run_id = record(store, [HostRun(SWITCH, "switch", "running", "play")], check=check,
                    finish=False)
    return store, run_id


def test_a_restart_during_a_provisioning_run_is_ok_and_names_it(
        site: tuple[Site, SnmpdAgent]) -> None:
    the_site, agent = site
    sample_after_uptime(the_site, 3)
    store, run_id = played(the_site)
    agent.stop()
    agent.start()  # what the switch role's snmpd handler does
    store.runs.save_hosts(run_id, [HostRun(SWITCH, "switch", "verified", "done")])
    store.runs.finish(run_id, "ok")
    store.close()
    status, device = the_site.health()
    assert status == ExitStatus.OK, device
    assert device["state"] == "ok"
    assert len(device["reasons"]) == 1, device
    assert device["reasons"][0].startswith(
        f"agent restarted during provisioning run {run_id}: uptime "), device
    entry = the_site.audit()[0]
    assert (entry["command"], entry["outcome"]) == ("health", "ok")
    assert entry["detail"].startswith("exit 0: health run ")


def test_a_restart_outside_any_run_still_warns(site: tuple[Site, SnmpdAgent]) -> None:
    the_site, agent = site
    sample_after_uptime(the_site, 3)
    # The last apply run ended an hour ago; only a check-mode run is going now: check
    # mode changes nothing, so it cannot have restarted the agent.
    hour_back = "strftime('%Y-%m-%dT%H:%M:%S+00:00', {}, '-1 hour')"
    with closing(sqlite3.connect(the_site.db)) as db, db:
        db.execute(f"UPDATE runs SET started_at = {hour_back.format('started_at')}, "
                   f"finished_at = {hour_back.format('finished_at')} "
                   "WHERE finished_at IS NOT NULL")
    store, check_run = played(the_site, check=True)
    agent.stop()
    agent.start()
    store.runs.finish(check_run, "ok")
    store.close()
    status, device = the_site.health()
    assert status == ExitStatus.HEALTH_WARNING
    assert device["state"] == "warning"
    assert device["reasons"][0].startswith("rebooted: uptime "), device
    entry = the_site.audit()[0]
    assert (entry["command"], entry["outcome"]) == ("health", "warning")
    assert entry["detail"].startswith("exit 10: health run ")
    assert entry["detail"].endswith("1 device(s): 1 warning")


# -- the audit outcome of a health run ------------------------------------------------------

def test_the_audit_outcome_names_critical_runs_and_dead_sites() -> None:
    report = HealthReport(12, NOW, NOW, 1.0, 300.0,
                          [health("100002-sw01", HealthState.UNREACHABLE, school="100002",
                                  failure=FailureKind.TIMEOUT),
                           health("100001-sw01", HealthState.OK)],
                          [SchoolHealth("100002", HealthState.CRITICAL, True, "core switch "
                                        "100002-sw01 does not answer", (), 0, {})])
    assert report.outcome == ("critical", "exit 11: health run 12, 2 device(s): 1 ok, "
                                          "1 unreachable; dead site(s) 100002")


def test_audited_records_the_outcome_the_block_sets(tmp_path: Path) -> None:
    app = build_app({"db": tmp_path / "state.db"}, env={"SUDO_USER": "anna"})
    with app.audited("health") as audit:
        audit.outcome, audit.detail = "warning", "exit 10: health run 3"
    with app.audited("lab down"):
        pass
    entries = app.store.audit_entries()
    assert [(e.command, e.outcome, e.detail) for e in entries] == [
        ("lab down", "ok", ""), ("health", "warning", "exit 10: health run 3")]
