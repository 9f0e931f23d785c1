"""`provision lab fault` on a small lab: each fault's real effect, and its undoing.

One lab for the module (a server, two simulated switches, a recorded Aruba AP and a
recorded HPE ProCurve put in with `--device`); the tests run in file order and each
leaves the lab as it found it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from provisioner.devices.cli_session import SwitchSession
from provisioner.devices.ssh import fetch_host_key, parse_host_key, pin_host_key, probe_ssh
from provisioner.errors import DeviceError, ExitStatus, HostKeyChangedError
from provisioner.lab.credentials import DEPLOY_USER, SNMP_USER, SWITCH_USER, read_secret
from provisioner.lab.recordings import describe_recording
from provisioner.lab.state import load_state
from provisioner.lab.topology import DeviceKind, LabDevice
from provisioner.snmp import SYS_DESCR, SYS_UPTIME
from tests.lab.test_lab_down import leftovers
from tests.lab.test_lab_e2e import Lab

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]

HPE = "network/switch/hpe-procurve-516733-b21"
SCHOOL = "100001"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    the_lab = Lab(tmp_path_factory.mktemp("lab-faults"))
    up = the_lab.run("lab", "up", "--schools", "1", "--servers", "1", "--switches", "2",
                     "--aps", "0", "--recorded-aps", "1", "--wlan-aps", "0",
                     "--device", f"{HPE}:switch")
    try:
        assert up.exit_code == 0, up.output
        yield the_lab
    finally:
        down = the_lab.run("lab", "down")
        assert down.exit_code == 0, down.output
        assert leftovers(the_lab.lab_dir) == []


def _device(lab: Lab, name: str) -> LabDevice:
    state = load_state(lab.lab_dir)
    assert state is not None
    return next(d for d in state.devices if d.name == name)


def _ssh(lab: Lab, device: LabDevice, known_hosts: Path | None = None) -> str:
    pins = known_hosts or lab.creds.known_hosts
    if device.name.split("-")[1].startswith("sw"):
        return probe_ssh(device.address, username=SWITCH_USER, known_hosts=pins, timeout=5,
                         password=read_secret(lab.creds.switch_password))
    return probe_ssh(device.address, username=DEPLOY_USER, key_file=lab.creds.ssh_key,
                     known_hosts=pins, timeout=5)


@pytest.fixture(scope="module")
def snmp_env(lab: Lab) -> dict[str, str]:
    """net-snmp client settings in a 0600 file: no passphrase in `ps` or test output."""
    conf_dir = lab.home / "snmp-client"
    conf_dir.mkdir(mode=0o700)
    conf = conf_dir / "snmp.conf"
    conf.write_text("".join(line + "\n" for line in [
        "mibs :", f"persistentDir {conf_dir}", f"defSecurityName {SNMP_USER}",
        "defSecurityLevel authPriv", "defAuthType SHA", "defPrivType AES",
        f"defAuthPassphrase {read_secret(lab.creds.snmp_auth)}",
        f"defPrivPassphrase {read_secret(lab.creds.snmp_priv)}"]))
    conf.chmod(0o600)
    return {"SNMPCONFPATH": str(conf_dir), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def _snmp(env: dict[str, str], device: LabDevice, oid: str,
          timeout: int = 1) -> tuple[str | None, str]:
    """net-snmp's snmpget over SNMPv3 authPriv (an agent and a client independent of ours)."""
    done = subprocess.run(["snmpget", "-v3", "-n", device.snmp_context, "-On", "-Oqvt",
                           "-t", str(timeout), "-r", "0", device.address, oid],
                          env=env, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0 or "No Such" in done.stdout:
        return (done.stderr or done.stdout).strip() or "no answer", ""
    return None, done.stdout.strip().strip('"')


def _uptime(env: dict[str, str], device: LabDevice) -> int:
    error, value = _snmp(env, device, SYS_UPTIME)
    assert error is None, error
    return int(value)


def _fault(lab: Lab, *words: str) -> dict[str, str | None]:
    result = lab.run("--json", "lab", "fault", *words)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _status(lab: Lab) -> dict[str, dict[str, str | None]]:
    result = lab.run("--json", "lab", "status")
    return {row["device"]: row for row in json.loads(result.output)}


def test_inventory_writes_uplinks_and_marks_recorded_devices_unmanaged(lab: Lab) -> None:
    inventory = lab.lab_dir / "inventories" / SCHOOL
    hosts = yaml.safe_load((inventory / "hosts.yml").read_text())["all"]["children"]
    switches = hosts["switches"]["hosts"]
    assert "uplink" not in switches[f"{SCHOOL}-sw01"]  # the core
    assert switches[f"{SCHOOL}-sw02"]["uplink"] == {"host": f"{SCHOOL}-sw01",
                                                     "port": "GigabitEthernet0/1"}
    assert switches[f"{SCHOOL}-rec01"] == {
        **switches[f"{SCHOOL}-rec01"], "platform": "hp_procurve", "managed": False,
        # 38 characters: longer than an SNMPv3 context may be, so snmpsim's MD5 of it.
        "snmp_context": hashlib.md5(HPE.encode()).hexdigest(), "snmp_recording": HPE,
        "uplink": {"host": f"{SCHOOL}-sw01", "port": "GigabitEthernet0/2"}}
    server = hosts["servers"]["hosts"][f"{SCHOOL}-srv01"]
    assert server["uplink"] == {"host": f"{SCHOOL}-sw01", "port": "FastEthernet0/1"}
    ap = hosts["access_points"]["hosts"][f"{SCHOOL}-wap01"]
    assert ap["uplink"] == {"host": f"{SCHOOL}-sw02", "port": "FastEthernet0/1"}
    assert ap["managed"] is False
    assert yaml.safe_load((inventory / "group_vars" / "all.yml").read_text())["lab"] is True


def test_a_recording_put_in_with_device_answers_as_recorded(
        lab: Lab, snmp_env: dict[str, str]) -> None:
    error, descr = _snmp(snmp_env, _device(lab, f"{SCHOOL}-rec01"), SYS_DESCR)
    assert error is None, error
    assert descr == describe_recording(HPE).sys_descr
    assert "ProCurve" in descr


def test_stop_and_start_a_server(lab: Lab, snmp_env: dict[str, str]) -> None:
    server = _device(lab, f"{SCHOOL}-srv01")
    assert _fault(lab, server.name, "stop")["fault"] == "stopped"
    with pytest.raises(DeviceError):
        _ssh(lab, server)
    assert _snmp(snmp_env, server, SYS_DESCR)[0] is not None
    status = lab.run("--json", "lab", "status")
    assert status.exit_code == ExitStatus.DEVICES_FAILED
    rows = {row["device"]: row for row in json.loads(status.output)}
    assert rows[server.name]["fault"] == "stopped"
    assert rows[f"{SCHOOL}-sw01"]["fault"] is None and rows[f"{SCHOOL}-sw01"]["snmp"] == "ok"
    assert _fault(lab, server.name, "start")["fault"] is None
    assert _ssh(lab, server).startswith("SSH-2.0-OpenSSH")
    assert "Linux" in _snmp(snmp_env, server, SYS_DESCR)[1]


def test_stop_and_start_a_simulated_switch(lab: Lab, snmp_env: dict[str, str]) -> None:
    switch = _device(lab, f"{SCHOOL}-sw02")
    _fault(lab, switch.name, "stop")
    with pytest.raises(DeviceError):
        _ssh(lab, switch)
    assert _snmp(snmp_env, switch, SYS_DESCR)[0] is not None
    assert _ssh(lab, _device(lab, f"{SCHOOL}-sw01")).startswith("SSH-2.0-")  # its twin runs
    _fault(lab, switch.name, "start")
    assert _ssh(lab, switch).startswith("SSH-2.0-")
    assert "C3750" in _snmp(snmp_env, switch, SYS_DESCR)[1]


@pytest.mark.parametrize("name", [f"{SCHOOL}-srv01", f"{SCHOOL}-sw02"])
def test_a_hostile_device_answers_snmp_with_lies_until_restored(
        lab: Lab, snmp_env: dict[str, str], name: str) -> None:
    device = _device(lab, name)
    _, descr = _snmp(snmp_env, device, SYS_DESCR)
    outcome = _fault(lab, name, "hostile")
    assert outcome["fault"] == "hostile" and "forged" in str(outcome["message"])
    try:
        rows = _status(lab)
        assert rows[name]["fault"] == "hostile"
        assert "could not be believed" in str(rows[name]["snmp"]), rows[name]
        assert {n for n, row in rows.items() if row["snmp"] != "ok"} == {name}
        assert _ssh(lab, device).startswith("SSH-2.0-")  # only SNMP is hostile
        again = lab.run("lab", "fault", name, "hostile")
        assert again.exit_code == 0 and "hostile already" in again.output
    finally:
        assert _fault(lab, name, "restore")["fault"] is None
    assert _snmp(snmp_env, device, SYS_DESCR) == (None, descr)
    assert _status(lab)[name]["snmp"] == "ok"
    state = load_state(lab.lab_dir)
    assert state is not None and not [p for p in state.processes if p.device == name
                                      and p.role == "simulator"]


def test_restore_undoes_only_hostile_and_a_stopped_device_cannot_turn_hostile(
        lab: Lab) -> None:
    name = f"{SCHOOL}-sw02"
    result = lab.run("lab", "fault", name, "restore")
    assert result.exit_code == ExitStatus.ENVIRONMENT
    assert result.output.startswith(f"Error: {name} is not hostile: 'restore' undoes ")
    _fault(lab, name, "stop")
    try:
        result = lab.run("lab", "fault", name, "hostile")
        assert result.exit_code == ExitStatus.ENVIRONMENT
        assert result.output == (f"Error: {name} is stopped: start it with 'provision lab "
                                 f"fault {name} start' first\n")
    finally:
        _fault(lab, name, "start")


@pytest.mark.parametrize("name", [f"{SCHOOL}-srv01", f"{SCHOOL}-sw01"])
def test_rekey_is_refused_until_the_new_key_is_pinned(lab: Lab, name: str) -> None:
    device = _device(lab, name)
    pinned_before = lab.creds.known_hosts.read_text()
    old = fetch_host_key(device.address)
    message = _fault(lab, name, "rekey")["message"]
    assert lab.creds.known_hosts.read_text() == pinned_before  # the pins are untouched
    new = fetch_host_key(device.address)
    assert new.fingerprint != old.fingerprint
    assert new.fingerprint in str(message)
    with pytest.raises(HostKeyChangedError) as refused:
        _ssh(lab, device)
    assert (refused.value.presented, refused.value.pinned) == (new.fingerprint, old.fingerprint)
    if device.kind is DeviceKind.IOS_SWITCH:  # netmiko's sessions refuse it the same way
        with pytest.raises(HostKeyChangedError, match=re.escape(new.fingerprint)):
            SwitchSession(device.address, username=SWITCH_USER, known_hosts=lab.creds.known_hosts,
                          password=read_secret(lab.creds.switch_password)).open()
    pin_host_key(lab.creds.known_hosts, device.address, new)
    assert _ssh(lab, device).startswith("SSH-2.0-")


def test_a_recorded_device_has_no_host_key_to_change(lab: Lab) -> None:
    result = lab.run("lab", "fault", f"{SCHOOL}-rec01", "rekey")
    assert result.exit_code == ExitStatus.ENVIRONMENT
    assert result.output == (f"Error: {SCHOOL}-rec01 answers SNMP only: it has no SSH host "
                             "key to change\n")


def _wait_for_uptime(snmp_env: dict[str, str], device: LabDevice, ticks: int) -> int:
    """The device's uptime once it is at least `ticks` (a host just started may be younger)."""
    deadline = time.monotonic() + 30
    while (uptime := _uptime(snmp_env, device)) < ticks and time.monotonic() < deadline:
        time.sleep(0.5)
    return uptime


def test_reboot_a_server_restarts_its_uptime(lab: Lab, snmp_env: dict[str, str]) -> None:
    server = _device(lab, f"{SCHOOL}-srv01")
    before = _wait_for_uptime(snmp_env, server, 500)
    _fault(lab, server.name, "reboot")
    assert _uptime(snmp_env, server) < before
    assert _ssh(lab, server).startswith("SSH-2.0-")


def test_reboot_a_recorded_device_restarts_only_its_uptime(
        lab: Lab, snmp_env: dict[str, str]) -> None:
    # The other device answers from the same responder (the Aruba 7010 recording has
    # no sysUpTime at all, so the switch's C3750 recording is the one to compare).
    recorded, other = _device(lab, f"{SCHOOL}-rec01"), _device(lab, f"{SCHOOL}-sw02")
    before, other_before = _uptime(snmp_env, recorded), _uptime(snmp_env, other)
    _fault(lab, recorded.name, "reboot")
    after = _uptime(snmp_env, recorded)
    assert after < before
    assert after < 100 * 60  # counts from the reboot, not from the recorded days
    assert _uptime(snmp_env, other) >= other_before  # the responder's other devices count on


def test_cut_and_restore_a_school(lab: Lab, snmp_env: dict[str, str]) -> None:
    state = load_state(lab.lab_dir)
    assert state is not None
    devices = [d for d in state.devices if d.school_id == SCHOOL]
    assert _fault(lab, "--school", SCHOOL, "cut")["fault"] == "cut"
    answers = [_snmp(snmp_env, d, SYS_DESCR)[0] for d in devices]
    assert [error is not None for error in answers] == [True] * len(devices)
    with pytest.raises(DeviceError):
        _ssh(lab, _device(lab, f"{SCHOOL}-srv01"))
    assert {row["fault"] for row in _status(lab).values()} == {"cut"}
    assert _fault(lab, "--school", SCHOOL, "restore")["fault"] is None
    answers = [_snmp(snmp_env, d, SYS_DESCR, timeout=2)[0] for d in devices]
    assert answers == [None] * len(devices)
    assert _ssh(lab, _device(lab, f"{SCHOOL}-srv01")).startswith("SSH-2.0-")


def test_unknown_devices_and_schools_are_named(lab: Lab) -> None:
    result = lab.run("lab", "fault", f"{SCHOOL}-srv1", "stop")
    assert result.exit_code == ExitStatus.NOT_FOUND
    assert result.output == (f"Error: no lab device '{SCHOOL}-srv1': did you mean "
                             f"{SCHOOL}-srv01, {SCHOOL}-sw01, {SCHOOL}-rec01? the lab's "
                             "devices are listed by 'provision lab status'\n")
    result = lab.run("lab", "fault", "--school", "999999", "cut")
    assert result.exit_code == ExitStatus.NOT_FOUND
    assert "no lab school '999999': the lab's schools are 100001" in result.output


def test_up_rebuilds_a_faulted_lab_without_faults(lab: Lab) -> None:
    _fault(lab, "--school", SCHOOL, "cut")
    again = lab.run("lab", "up", "--schools", "1", "--servers", "1", "--switches", "2",
                    "--aps", "0", "--recorded-aps", "1", "--wlan-aps", "0",
                    "--device", f"{HPE}:switch")
    assert again.exit_code == 0, again.output
    assert "removing the previous lab first" in again.output
    state = load_state(lab.lab_dir)
    assert state is not None and state.faults == {}
    rows = _status(lab)
    assert {(row["ssh"] in ("ok", None), row["snmp"], row["fault"]) for row in rows.values()} \
        == {(True, "ok", None)}


def test_a_faulted_lab_goes_down_cleanly(lab: Lab) -> None:
    # Left faulted on purpose: the fixture's `lab down` must remove it all the same.
    _fault(lab, f"{SCHOOL}-srv01", "stop")
    _fault(lab, "--school", SCHOOL, "cut")
    state = load_state(lab.lab_dir)
    assert state is not None
    assert state.faults == {f"{SCHOOL}-srv01": "stopped", f"school {SCHOOL}": "cut"}
    assert parse_host_key(state.host_keys[_device(lab, f"{SCHOOL}-srv01").address])
