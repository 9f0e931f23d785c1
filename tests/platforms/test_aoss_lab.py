"""HPE Aruba AOS-S on the lab: a mixed school (IOS core, AOS-S access switch) end to end.

One lab school: switch 01 simulates Cisco IOS (the core), switch 02 AOS-S (the access
switch the Linux access point hangs off). The tests run in file order and build on
each other's state: provision both platforms in one run and read them back, re-run
with nothing changed, `--check --diff` shows the AOS-S lines and changes nothing, a
command the switch refuses fails that host with the switch's own message, a changed
host key is refused (by preflight and by Ansible itself), and health reads the switch
with the ProCurve profile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ansible import executor as ansible_executor

from provisioner.ansible import PlaybookJob, run_playbook
from provisioner.devices.cli_session import SwitchSession
from provisioner.devices.ssh import fetch_host_key
from provisioner.inventory import load_inventories
from provisioner.lab.credentials import SWITCH_USER, read_secret
from provisioner.lab.faults import device_fault
from provisioner.platforms import ansible_plugin_env
from provisioner.platforms.aruba_aoss import AOSS, RUNNING_VLANS, ports_of
from provisioner.platforms.parsing import parse_template
from tests.labkit import CliLab, lab_up

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]

PLAN = Path(__file__).parent.parent / "data" / "cli" / "plan-v1.csv"
ROOT = Path(__file__).resolve().parents[2]
SCHOOL = "100001"
IOS, AOSS_SWITCH, AP = f"{SCHOOL}-sw01", f"{SCHOOL}-sw02", f"{SCHOOL}-ap01"


class Lab(CliLab):
    """The lab of one school whose switches are AOS-S (or a mix)."""

    def aoss(self) -> SwitchSession:
        return SwitchSession(self.address(AOSS_SWITCH), username=SWITCH_USER,
                             password=read_secret(self.creds.switch_password),
                             known_hosts=self.creds.known_hosts, dialect=AOSS)

    def running_config(self) -> str:
        with self.aoss() as switch:
            return switch.run("show running-config")

    def playbook(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Plain ansible-playbook on the school, as a user would run it."""
        home = self.home / f"pb-{time.monotonic_ns()}"
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "known_hosts").write_bytes(self.creds.known_hosts.read_bytes())
        # Plain ansible-playbook finds the project's plugins through playbooks/ansible.cfg.
        env = {**os.environ, **self.env, "HOME": str(home),
               "ANSIBLE_CONFIG": str(ROOT / "playbooks" / "ansible.cfg"),
               "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "1",
               "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        return subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i",
             str(self.inventories / SCHOOL), str(ROOT / "playbooks" / "site.yml"), *args],
            env=env, capture_output=True, text=True, check=False, timeout=600)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab_up(Lab(tmp_path_factory.mktemp("aoss-lab")), PLAN, "--schools", "1", "--servers",
                "0", "--switches", "2", "--wlan-aps", "0", "--aps", "1", "--recorded-aps", "0",
                "--switch-platform", f"{SCHOOL}:cisco_ios,aruba_aoss", sync=False) as the_lab:
        yield the_lab


def _vlan_blocks(running: str) -> dict[int, dict[str, str]]:
    return {int(r["VLAN_ID"]): r for r in parse_template(RUNNING_VLANS, running, "running")}


def test_a_mixed_school_is_provisioned_in_one_run_and_read_back(lab: Lab) -> None:
    inventory = {d.name: d for d in load_inventories(lab.inventories, SCHOOL).devices}
    assert (inventory[IOS].platform, inventory[AOSS_SWITCH].platform) == ("cisco_ios",
                                                                           "aruba_aoss")
    ap_port = int(inventory[AP].uplink_port)
    result, hosts = lab.provision()
    assert result.exit_code == 0, result.output
    assert {h: hosts[h]["status"] for h in (IOS, AOSS_SWITCH, AP)} == dict.fromkeys(
        (IOS, AOSS_SWITCH, AP), "verified")
    assert hosts[AOSS_SWITCH]["changed"] and hosts[IOS]["changed"]
    # Read back independently: VLANs by name, room ports untagged, trunks tagged.
    with lab.aoss() as switch:
        vlans = switch.run("show vlans")
        running = switch.run("show running-config")
        status = switch.run("show config status")
    for vid, name in ((10, "Verwaltung"), (30, "Schueler"), (99, "Management")):
        assert f"  {vid:<7} {name:<32} | Port-based" in vlans
    blocks = _vlan_blocks(running)
    assert ports_of(blocks[30]["UNTAGGED"]) >= set(range(2, 13))  # Klassenraum 1-12
    assert {ap_port, 21, 22, 23, 24, 25, 26, 27, 28} <= ports_of(blocks[99]["UNTAGGED"])
    assert {ap_port, 21, 25, 28} <= ports_of(blocks[20]["TAGGED"])  # the AP's SSID VLANs
    assert f"ip address {lab.address(AOSS_SWITCH)} 255.255.0.0" in running
    assert 'snmpv3 user "provisioner"' not in running or "auth" not in running
    assert 'snmpv3 user "initial"' not in running  # snmpv3 enable's weak user removed
    assert "same as the startup configuration" in status  # written to memory


def test_a_second_run_changes_nothing(lab: Lab) -> None:
    result, hosts = lab.provision()
    assert result.exit_code == 0, result.output
    assert {h: hosts[h]["changed"] for h in (IOS, AOSS_SWITCH, AP)} == dict.fromkeys(
        (IOS, AOSS_SWITCH, AP), 0)


def test_each_switch_session_is_started_once_not_once_per_task(lab: Lab) -> None:
    """ansible-core starts its `ansible-connection` helper before every network task;
    the tool's strategy finds an open session in the worker (network_sessions.py).
    A wrapper in the helper's place counts its starts: one per switch, while each
    switch runs three network tasks (the block, the SNMPv3 read, the save)."""
    helper = Path(ansible_executor.__file__).parent.parent / "cli" / "scripts" / \
        "ansible_connection_cli_stub.py"
    starts = lab.home / "helper-starts"
    wrapper = lab.home / "counting_helper.py"
    wrapper.write_text(
        "import runpy, sys\n"
        f"with open({str(starts)!r}, 'a') as log:\n"
        "    log.write(sys.argv[-1] + '\\n')\n"
        f"sys.argv[0] = {str(helper)!r}\n"
        f"runpy.run_path({str(helper)!r}, run_name='__main__')\n")
    lab.env["_ANSIBLE_CONNECTION_PATH"] = str(wrapper)
    try:
        result, hosts = lab.provision()
    finally:
        del lab.env["_ANSIBLE_CONNECTION_PATH"]
    assert result.exit_code == 0, result.output
    assert {h: (hosts[h]["status"], hosts[h]["changed"]) for h in (IOS, AOSS_SWITCH)} == \
        dict.fromkeys((IOS, AOSS_SWITCH), ("verified", 0))
    assert all(hosts[h]["ok"] >= 3 for h in (IOS, AOSS_SWITCH)), hosts
    assert len(starts.read_text().split()) == 2, starts.read_text()


def test_check_diff_shows_the_lines_and_changes_nothing(lab: Lab) -> None:
    with lab.aoss() as switch:  # drift: a room VLAN renamed and a port taken out
        switch.configure(['vlan 30 name "Falsch"', "vlan 30", "no untagged 5"])
    before = lab.running_config()
    checked = lab.playbook("--check", "--diff", "--limit", AOSS_SWITCH)
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert 'name "Schueler"' in checked.stdout and "untagged 2-12" in checked.stdout
    assert lab.running_config() == before
    result, hosts = lab.provision("--check")
    assert result.exit_code == 0, result.output
    assert hosts[AOSS_SWITCH]["status"] == "checked" and hosts[AOSS_SWITCH]["changed"]
    # The summary line says that a host would change, and that nothing did.
    assert "would change (" in result.output and "nothing was changed" in result.output
    assert lab.running_config() == before
    repaired, hosts = lab.provision("--limit", AOSS_SWITCH)
    assert repaired.exit_code == 0, repaired.output
    assert hosts[AOSS_SWITCH]["status"] == "verified"
    assert 'name "Schueler"' in lab.running_config()


def test_a_vlan_the_profile_does_not_give_a_port_is_taken_off_it(lab: Lab) -> None:
    # Someone tagged the AP's port in the administration VLAN: the run takes it off
    # again (as `switchport trunk allowed vlan` does on IOS), and changes nothing after.
    inventory = {d.name: d for d in load_inventories(lab.inventories, SCHOOL).devices}
    ap_port = int(inventory[AP].uplink_port)
    with lab.aoss() as switch:
        switch.configure(["vlan 10", f"tagged {ap_port}"])
    assert ap_port in ports_of(_vlan_blocks(lab.running_config())[10]["TAGGED"])
    repaired, hosts = lab.provision("--limit", AOSS_SWITCH)
    assert repaired.exit_code == 0, repaired.output
    assert (hosts[AOSS_SWITCH]["status"], bool(hosts[AOSS_SWITCH]["changed"])) == ("verified",
                                                                                  True)
    blocks = _vlan_blocks(lab.running_config())
    assert ap_port not in ports_of(blocks[10]["TAGGED"])
    assert ap_port in ports_of(blocks[20]["TAGGED"]) and ap_port in ports_of(
        blocks[99]["UNTAGGED"])
    again, hosts = lab.provision("--limit", AOSS_SWITCH)
    assert again.exit_code == 0 and hosts[AOSS_SWITCH]["changed"] == 0, again.output


def test_a_switch_whose_snmpv3_user_does_not_answer_is_not_verified(lab: Lab) -> None:
    # Its CLI is right, but its address answers SNMP with nothing usable: the read-back
    # says so instead of "verified".
    device_fault(lab.lab_dir, AOSS_SWITCH, "hostile")
    try:
        result, hosts = lab.provision("--limit", AOSS_SWITCH)
        assert result.exit_code == 7, result.output
        assert hosts[AOSS_SWITCH]["status"] == "failed"
        assert "SNMPv3 as the configured user does not answer" in \
            str(hosts[AOSS_SWITCH]["message"]), hosts[AOSS_SWITCH]
    finally:
        device_fault(lab.lab_dir, AOSS_SWITCH, "restore")
    again, hosts = lab.provision("--limit", AOSS_SWITCH)
    assert again.exit_code == 0 and hosts[AOSS_SWITCH]["status"] == "verified", again.output


def _set_host_var(lab: Lab, host: str, key: str, value: object) -> None:
    path = lab.inventories / SCHOOL / "hosts.yml"
    data = yaml.safe_load(path.read_text())
    for group in data["all"]["children"].values():
        if host in (group.get("hosts") or {}):
            if value is None:
                group["hosts"][host].pop(key, None)
            else:
                group["hosts"][host][key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_refused_command_fails_that_host_with_the_switchs_message(lab: Lab) -> None:
    # A port the 28-port switch does not have: the switch refuses the line.
    _set_host_var(lab, AOSS_SWITCH, "switch_uplink_ports", ["25", "26", "27", "28", "52"])
    try:
        result, hosts = lab.provision()
    finally:
        _set_host_var(lab, AOSS_SWITCH, "switch_uplink_ports", ["25", "26", "27", "28"])
    assert result.exit_code == 7, result.output
    assert hosts[AOSS_SWITCH]["status"] == "failed"
    message = str(hosts[AOSS_SWITCH]["message"])
    assert message.startswith("Module not present for port or invalid port: 52 (the switch "
                              "refused: tagged 25-28,52)"), message
    assert hosts[IOS]["status"] == "verified" and hosts[AP]["status"] == "verified"


PING = """\
- name: Reach the switch
  hosts: all
  gather_facts: false
  tasks:
    - name: Show the version
      ansible.netcommon.cli_command:
        command: show version
"""


def _reach(lab: Lab, host: str) -> tuple[str, str]:
    """The switch's status and message after a one-task play, as the engine runs plays."""
    run_dir = lab.home / f"reach-{time.monotonic_ns()}"
    (run_dir / "home" / ".ssh").mkdir(parents=True)
    (run_dir / "home" / ".ssh" / "known_hosts").write_bytes(
        lab.creds.known_hosts.read_bytes())
    (run_dir / "reach.yml").write_text(PING)
    job = PlaybookJob(playbook=run_dir / "reach.yml", inventory=lab.inventories / SCHOOL,
                      run_dir=run_dir / "job", limit=(host,),
                      env={"HOME": str(run_dir / "home"), **ansible_plugin_env()})
    recap = run_playbook(job).hosts[host]
    return recap.status, recap.message


def test_a_changed_host_key_is_refused(lab: Lab) -> None:
    assert _reach(lab, AOSS_SWITCH)[0] == "ok"
    old = fetch_host_key(lab.address(AOSS_SWITCH))
    assert old.key_type == "ecdsa-sha2-nistp256"  # AOS-S 16.x makes ECDSA keys
    device_fault(lab.lab_dir, AOSS_SWITCH, "rekey")
    new = fetch_host_key(lab.address(AOSS_SWITCH))
    assert new.fingerprint != old.fingerprint
    result, hosts = lab.provision("--limit", AOSS_SWITCH)
    assert result.exit_code == 8, result.output
    assert hosts[AOSS_SWITCH]["status"] == "blocked"
    assert new.fingerprint in str(hosts[AOSS_SWITCH]["message"])
    # Past preflight, network_cli itself refuses the changed key (paramiko, strict against
    # the run's pinned $HOME/.ssh/known_hosts): the task fails on it.
    status, message = _reach(lab, AOSS_SWITCH)
    assert status == "failed" and "host key" in message.lower(), message
    trusted = lab.run("trust", AOSS_SWITCH, "--fingerprint", new.fingerprint)
    assert trusted.exit_code == 0, trusted.output
    assert _reach(lab, AOSS_SWITCH)[0] == "ok"


def test_health_reads_the_aoss_switch_with_the_procurve_profile(lab: Lab) -> None:
    assert lab.run("inventory", "sync").exit_code == 0
    result = lab.run("--json", "health", "--school", SCHOOL, "--timeout", "2", "--retries",
                     "1", "--device", AOSS_SWITCH)
    report = json.loads(result.stdout)
    device = next(d for d in report["devices"] if d["device"] == AOSS_SWITCH)
    assert device["failure"] is None, device
    assert (device["summary"]["vendor"], device["summary"]["model"]) == ("HPE", "J9773A")
    assert device["summary"]["profile"] == "hpe-procurve"
