"""`provision health` end to end against real net-snmp agents on loopback (no lab).

Two schools. 100001: a core switch answering, behind it an AP answering, an AP that is
silent, an AP whose inventory points to a wrong SNMPv3 passphrase, a server with a
failing `proc` check, a switch outside the management networks. 100002: its core
switch and the AP behind it are silent: a dead site.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from provisioner.cli import cli
from provisioner.errors import ExitStatus
from provisioner.snmp.agent import SnmpdAgent

pytestmark = pytest.mark.skipif(shutil.which("snmpd") is None
                                and not Path("/usr/sbin/snmpd").exists(),
                                reason="net-snmp snmpd is not installed")

PLAN = Path(__file__).parent.parent / "data" / "cli" / "plan-v1.csv"
PORT = 16161
CORE, AP_OK, AP_SILENT, AP_AUTH = "100001-sw01", "100001-ap01", "100001-ap02", "100001-ap03"
SERVER, FOREIGN = "100001-srv01", "100001-sw02"
DEAD_CORE, DEAD_AP = "100002-sw01", "100002-ap01"


def _host(address: str, platform: str, **extra: Any) -> dict[str, Any]:
    return {"ansible_host": address, "platform": platform, **extra}


def _inventory(root: Path, secrets: Path) -> None:
    common = {"snmp_user": "pvtest", "snmp_auth_file": str(secrets / "auth"),
              "snmp_priv_file": str(secrets / "priv"), "snmp_port": PORT}
    schools = {
        "100001": {
            "switches": {CORE: _host("127.31.0.1", "cisco_ios"),
                         FOREIGN: _host("192.0.2.5", "cisco_ios",
                                        uplink={"host": CORE, "port": "lo"})},
            "access_points": {
                AP_OK: _host("127.31.0.2", "linux_hostapd", uplink={"host": CORE,
                                                                   "port": "lo"}),
                AP_SILENT: _host("127.31.0.3", "linux_hostapd", uplink={"host": CORE,
                                                                       "port": "lo"}),
                AP_AUTH: _host("127.31.0.5", "linux_hostapd", uplink={"host": CORE, "port": "lo"},
                               snmp_auth_file=str(secrets / "wrong"))},
            "servers": {SERVER: _host("127.31.0.4", "debian",
                                      uplink={"host": CORE, "port": "lo"})},
        },
        "100002": {
            "switches": {DEAD_CORE: _host("127.31.1.1", "cisco_ios")},
            "access_points": {DEAD_AP: _host("127.31.1.2", "linux_hostapd",
                                             uplink={"host": DEAD_CORE, "port": "lo"})},
        },
    }
    for school_id, groups in schools.items():
        folder = root / school_id
        (folder / "group_vars").mkdir(parents=True)
        (folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(common))
        children = {group: {"hosts": hosts} for group, hosts in groups.items()}
        (folder / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": children}}))


class Site:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {"XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "cfg"),
                    "PROVISIONER_MANAGEMENT_NETWORKS": "127.31.0.0/16",
                    "PROVISIONER_INVENTORIES": str(home / "inventories")}

    def run(self, *args: str) -> Result:
        return CliRunner(env=self.env).invoke(cli, ["--db", str(self.home / "state.db"), *args],
                                              catch_exceptions=False)

    def report(self, *args: str) -> tuple[int, dict[str, Any]]:
        result = self.run("--json", "health", "--timeout", "1.5", "--retries", "1", *args)
        assert result.exit_code in (0, 10, 11, 12), result.output
        return result.exit_code, json.loads(result.output)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, SnmpdAgent]]:
    home = tmp_path_factory.mktemp("health-snmpd")
    agent = SnmpdAgent(home / "agent", [f"127.31.0.{n}:{PORT}" for n in (1, 2, 5)],
                       extra_config=(f"sysName {CORE}",))
    server = SnmpdAgent(home / "server", [f"127.31.0.4:{PORT}"],
                        extra_config=("proc pv-no-such-daemon", f"sysName {SERVER}"))
    secrets = agent.write_secrets(home / "secrets")
    (secrets / "wrong").write_text("not-the-passphrase\n")
    _inventory(home / "inventories", secrets)
    the_site = Site(home)
    assert the_site.run("plan", "import", str(PLAN)).exit_code == 0
    sync = the_site.run("inventory", "sync")
    assert sync.exit_code == 0, sync.output
    agent.start()
    server.start()
    try:
        yield the_site, agent
    finally:
        server.stop()
        agent.stop()


def devices_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["device"]: d for d in report["devices"]}


def test_each_device_gets_a_state_with_its_reason(site: tuple[Site, SnmpdAgent]) -> None:
    status, report = site[0].report()
    devices = devices_of(report)
    assert status == ExitStatus.HEALTH_CRITICAL
    core, server = devices[CORE], devices[SERVER]
    assert (core["state"], core["reasons"]) == ("ok", []), core
    assert core["summary"]["vendor"] == "net-snmp" and core["uptime_s"] >= 0
    assert (server["state"], server["reasons"]) == ("critical", [
        "service pv-no-such-daemon not running as configured "
        "(No pv-no-such-daemon process running)"])
    assert (devices[AP_SILENT]["state"], devices[AP_SILENT]["failure"]) == ("unreachable",
                                                                            "timeout")
    # The AP answers from the core's agent, so its sysName is the core's: a warning.
    assert (devices[AP_OK]["state"], devices[AP_OK]["reasons"]) == (
        "warning", [f"sysName is '{CORE}', inventory says '{AP_OK}'"])
    assert (devices[AP_AUTH]["state"], devices[AP_AUTH]["failure"]) == ("unknown", "auth")
    assert "credentials rejected" in devices[AP_AUTH]["reason"]
    assert (devices[FOREIGN]["state"], devices[FOREIGN]["failure"]) == ("unknown", "config")
    # The same words preflight uses: one address check for both.
    assert devices[FOREIGN]["reason"].startswith(
        f"host {FOREIGN}: address 192.0.2.5 is outside the management networks "
        "(127.31.0.0/16); nothing was sent to it")
    assert report["dead_sites"] == ["100002"]
    assert (devices[DEAD_AP]["state"], devices[DEAD_AP]["failure"]) == ("unreachable",
                                                                        "upstream")
    assert devices[DEAD_CORE]["failure"] == "timeout"


def test_plain_summary_is_one_line_per_school_and_the_dead_site_once(
        site: tuple[Site, SnmpdAgent]) -> None:
    result = site[0].run("health", "--timeout", "1.5", "--retries", "1")
    assert result.exit_code == ExitStatus.HEALTH_CRITICAL
    lines = result.output.splitlines()
    assert lines[0] == ("100001 critical: servers 1/1 online, 0 ok (plan 2), switches 1/2 "
                        "online, 1 ok (plan 4), APs 2/3 online, 0 ok (plan 8), WLAN clients 0")
    assert lines[1] == ("100002 DEAD SITE: core switch 100002-sw01 does not answer; "
                        "1 device(s) behind it unreachable (upstream)")
    assert not any(DEAD_AP in line for line in lines)
    assert lines[-1].startswith("8 devices: ")


def test_a_restarted_agent_is_reported_as_rebooted(site: tuple[Site, SnmpdAgent]) -> None:
    the_site, agent = site
    # Uptime counts whole seconds: sample until the agent has been up a few, so that a
    # restart makes it lower (that is what the rule looks at).
    for _ in range(40):
        _status, before = the_site.report("--device", CORE)
        if devices_of(before)[CORE]["uptime_s"] >= 3:
            break
        time.sleep(0.25)
    assert devices_of(before)[CORE]["uptime_s"] >= 3
    agent.stop()
    agent.start()
    _status, report = the_site.report("--device", CORE)
    reasons = devices_of(report)[CORE]["reasons"]
    assert any(r.startswith("rebooted: uptime ") for r in reasons), reasons


def test_a_restart_is_reported_after_the_uptime_passed_the_previous_one(
        site: tuple[Site, SnmpdAgent]) -> None:
    the_site, agent = site
    for _ in range(40):  # the previous sample: up at least 3 s
        _status, before = the_site.report("--device", CORE)
        if devices_of(before)[CORE]["uptime_s"] >= 3:
            break
        time.sleep(0.25)
    previous = devices_of(before)[CORE]["uptime_s"]
    assert previous >= 3
    # Restarted well after that sample (more than the seconds the stored times round to
    # and the rule allows), then no sample until the new uptime must be past the
    # previous one (a sample in between would be the next one's previous).
    time.sleep(5)
    agent.stop()
    agent.start()
    time.sleep(previous + 1.5)
    _status, report = the_site.report("--device", CORE)
    now = devices_of(report)[CORE]
    assert now["uptime_s"] > previous
    assert any(r.startswith("rebooted: up ") for r in now["reasons"]), now["reasons"]


def test_unknown_device_and_school_are_clear_errors(site: tuple[Site, SnmpdAgent]) -> None:
    result = site[0].run("health", "--device", "nope")
    assert result.exit_code == ExitStatus.NOT_FOUND
    assert result.output.startswith("Error: unknown device(s) nope: not synced")
    result = site[0].run("health", "--school", "100099")
    assert result.exit_code == ExitStatus.NOT_FOUND
    assert "school 100099 has no synced devices" in result.output


def test_history_shows_the_runs(site: tuple[Site, SnmpdAgent]) -> None:
    shown = site[0].run("--json", "health", "show", "--school", "100002")
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert {s["device"] for s in data["samples"]} == {DEAD_CORE, DEAD_AP}
    assert data["runs"][0]["dead_sites"] == ["100002"]
    bad = site[0].run("health", "show", "--since", "yesterday")
    assert bad.exit_code == ExitStatus.USAGE
    assert "'yesterday' is not a date; write YYYY-MM-DD" in bad.output
