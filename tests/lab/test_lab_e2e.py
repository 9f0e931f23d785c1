"""The lab end to end, through `provision`: up, status, strict SSH, SNMPv3, VLANs, down.

Real daemons only: OpenSSH and net-snmp in Debian hosts, fake-switches over SSH,
snmpsim answering from real device recordings, pysnmp and paramiko/netmiko talking
to them over the lab bridge.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from provisioner.devices.cli_session import SwitchSession
from provisioner.devices.ssh import fetch_host_key, parse_host_key, probe_ssh
from provisioner.errors import DeviceError, ExitStatus, HostKeyChangedError
from provisioner.inventory.ansible_inventory import read_inventory
from provisioner.lab.credentials import DEPLOY_USER, SWITCH_USER, read_secret
from provisioner.lab.recordings import describe_recording
from provisioner.lab.state import load_state
from provisioner.lab.status import snmp_target
from provisioner.lab.topology import DeviceKind, LabDevice
from provisioner.snmp import SYS_DESCR, SYS_OBJECT_ID
from provisioner.snmp.pysnmp_backend import PysnmpBackend
from tests.labkit import CliLab

SYS_NAME = "1.3.6.1.2.1.1.5.0"  # SNMPv2-MIB sysName

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]

PLAN = Path(__file__).parent.parent / "data" / "cli" / "plan-v1.csv"


class Lab(CliLab):
    """The lab of the lab's own tests (and of the health, fault and scale tests)."""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    the_lab = Lab(tmp_path_factory.mktemp("lab-e2e"))
    assert the_lab.run("plan", "import", str(PLAN)).exit_code == 0
    up = the_lab.run("lab", "up", "--schools", "1", "--servers", "2", "--switches", "2",
                     "--aps", "2", "--recorded-aps", "2", "--wlan-aps", "2")
    try:
        assert up.exit_code == 0, up.output
        yield the_lab
    finally:
        down = the_lab.run("lab", "down")
        assert down.exit_code == 0, down.output


def _expected_descr(device: LabDevice) -> str:
    """What a device's sysDescr must hold: a Debian host's kernel says Linux; a
    simulated or recorded device answers its recording's own first line."""
    if device.kind is DeviceKind.DEBIAN_HOST:
        return "Linux "
    assert device.recording is not None
    return describe_recording(device.recording).sys_descr


WLAN_KINDS = (DeviceKind.WLAN_CONTROLLER, DeviceKind.CONTROLLED_AP)


def _snmp_devices(lab: Lab) -> list[LabDevice]:
    """The lab's devices that answer SNMP (its WLAN controller and APs answer HTTPS)."""
    state = load_state(lab.lab_dir)
    assert state is not None
    return [d for d in state.devices if d.kind not in WLAN_KINDS]


def test_lab_status_every_device_answers_ssh_and_snmpv3(lab: Lab) -> None:
    result = lab.run("--json", "lab", "status")
    assert result.exit_code == 0, result.output
    rows = {row["device"]: row for row in json.loads(result.output)}
    state = load_state(lab.lab_dir)
    assert state is not None
    assert sorted(rows) == sorted(d.name for d in state.devices)
    # The WLAN controller over its API (TLS against its pinned certificate), its APs
    # as the controller lists them.
    for name in ("100001-vc01", "100001-iap01", "100001-iap02"):
        assert rows[name]["api"] == "ok" and rows[name]["ssh"] is None, rows[name]
        assert rows[name]["snmp"] is None and rows[name]["failure"] is None, rows[name]
    for device in _snmp_devices(lab):
        row = rows[device.name]
        assert row["snmp"] == "ok", row
        assert row["ssh"] == ("ok" if device.has_ssh else None), row  # recorded APs: no SSH
        assert row["fault"] is None and row["failure"] is None, row
        assert _expected_descr(device) in row["sys_descr"], row
    assert "Cisco IOS" in rows["100001-sw01"]["sys_descr"]
    assert "C3750" in rows["100001-sw01"]["sys_descr"]
    assert rows["100001-wap01"]["sys_descr"].startswith("ArubaOS (MODEL: Aruba7010)")
    # The Ubiquiti M5 says Linux (AirOS); its recording is what it answers from.
    assert rows["100001-wap02"]["sys_descr"].startswith("Linux 2.6.32.61")


def test_pysnmp_authpriv_get_to_every_device(lab: Lab) -> None:
    devices = _snmp_devices(lab)
    with closing(PysnmpBackend()) as backend:
        replies = backend.get_many([snmp_target(d, lab.creds) for d in devices],
                                   [SYS_DESCR, SYS_OBJECT_ID])
    assert [r.error for r in replies] == [None] * len(devices)
    for device, reply in zip(devices, replies, strict=True):
        assert _expected_descr(device) in reply.values[SYS_DESCR], device.name
        if device.recording:
            recorded = describe_recording(device.recording).sys_object_id
            assert reply.values[SYS_OBJECT_ID] == recorded, device.name
        else:  # net-snmp's own enterprise branch (NET-SNMP-MIB netSnmpAgentOIDs.linux)
            assert reply.values[SYS_OBJECT_ID] == "1.3.6.1.4.1.8072.3.2.10", device.name


def test_every_simulated_switch_answers_its_own_sysname(lab: Lab) -> None:
    # As a real switch's sysName is its hostname; one recording serves all of them.
    state = load_state(lab.lab_dir)
    assert state is not None
    switches = [d for d in state.devices if d.kind is DeviceKind.IOS_SWITCH]
    recorded = [d for d in state.devices if d.kind is DeviceKind.RECORDED_AP]
    assert len(switches) >= 2 and recorded
    with closing(PysnmpBackend()) as backend:
        replies = backend.get_many([snmp_target(d, lab.creds) for d in switches + recorded],
                                   [SYS_NAME])
    names = {r.target: r.values.get(SYS_NAME) for r in replies}
    assert {d.name: names[d.name] for d in switches} == {d.name: d.name for d in switches}
    # A recorded device keeps its recording's sysName, and the lab's inventory expects
    # exactly that name (`snmp_sys_name`): health's identity rule has nothing to warn of.
    expected = {h.name: h.vars.get("snmp_sys_name")
                for school in {d.school_id for d in recorded}
                for h in read_inventory(lab.lab_dir / "inventories" / school).hosts}
    for device in recorded:
        assert names[device.name] not in (None, device.name), device.name
        assert expected[device.name] == names[device.name], device.name
    assert all(expected.get(d.name) is None for d in switches)


def test_wrong_snmp_passphrase_is_refused(lab: Lab, tmp_path: Path) -> None:
    state = load_state(lab.lab_dir)
    assert state is not None
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-passphrase\n")
    target = snmp_target(state.devices[0], lab.creds)
    bad = target.__class__(target.name, target.address,
                           user=target.user.__class__(target.user.name, wrong,  # type: ignore[union-attr]
                                                      lab.creds.snmp_priv))
    with closing(PysnmpBackend()) as backend:
        [reply] = backend.get_many([bad], [SYS_DESCR], timeout=1.0, retries=0)
    assert reply.error is not None and "digest" in reply.error.lower()


def test_inventories_of_the_lab_sync_against_the_plan(lab: Lab) -> None:
    inv = lab.lab_dir / "inventories"
    result = lab.run("--inventories", str(inv), "inventory", "sync")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("11 devices synced, 0 problems")
    listed = subprocess.run([str(Path(os.sys.executable).parent / "ansible-inventory"),
                             "-i", str(inv / "100001"), "--list"],
                            check=True, capture_output=True, text=True).stdout
    assert "100001-sw02" in listed


def test_strict_ssh_to_every_server_and_switch(lab: Lab) -> None:
    state = load_state(lab.lab_dir)
    assert state is not None
    password = read_secret(lab.creds.switch_password)
    for device in _snmp_devices(lab):
        if device.kind is DeviceKind.DEBIAN_HOST:
            answer = probe_ssh(device.address, username=DEPLOY_USER, key_file=lab.creds.ssh_key,
                               known_hosts=lab.creds.known_hosts, command="uname -s; hostname")
            assert answer == "Linux", device.name
            banner = probe_ssh(device.address, username=DEPLOY_USER,
                               key_file=lab.creds.ssh_key, known_hosts=lab.creds.known_hosts)
            assert banner.startswith("SSH-2.0-OpenSSH_"), banner
        elif device.kind is DeviceKind.IOS_SWITCH:
            banner = probe_ssh(device.address, username=SWITCH_USER, password=password,
                               known_hosts=lab.creds.known_hosts)
            assert banner.startswith("SSH-2.0-"), banner
        else:  # recorded APs answer SNMP only: nothing listens for SSH
            with pytest.raises(DeviceError):
                probe_ssh(device.address, username=DEPLOY_USER, key_file=lab.creds.ssh_key,
                          known_hosts=lab.creds.known_hosts, timeout=3)


def test_changed_host_key_is_refused(lab: Lab, tmp_path: Path) -> None:
    state = load_state(lab.lab_dir)
    assert state is not None
    server = state.devices[0]
    other_key = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)],
                   check=True)
    forged = tmp_path / "known_hosts"
    forged.write_text(f"{server.address} {other_key.with_suffix('.pub').read_text()}")
    with pytest.raises(HostKeyChangedError, match=server.address) as refused:
        probe_ssh(server.address, username=DEPLOY_USER, key_file=lab.creds.ssh_key,
                  known_hosts=forged)
    assert refused.value.pinned == parse_host_key(
        other_key.with_suffix(".pub").read_text()).fingerprint
    assert refused.value.presented == fetch_host_key(server.address).fingerprint
    # The OpenSSH client refuses it as well: the pinned file is honoured end to end.
    ssh = subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                          "-o", f"UserKnownHostsFile={forged}", "-i", str(lab.creds.ssh_key),
                          f"{DEPLOY_USER}@{server.address}", "true"],
                         capture_output=True, text=True, timeout=30)
    assert ssh.returncode == 255
    assert "HOST IDENTIFICATION HAS CHANGED" in ssh.stderr


def test_netmiko_configures_a_vlan_and_reads_it_back(lab: Lab) -> None:
    state = load_state(lab.lab_dir)
    assert state is not None
    switch = next(d for d in state.devices if d.kind is DeviceKind.IOS_SWITCH)
    password = read_secret(lab.creds.switch_password)
    with SwitchSession(switch.address, username=SWITCH_USER, password=password,
                       known_hosts=lab.creds.known_hosts) as session:
        assert session.ensure_vlan(110, "Verwaltung") is True
        session.save()
    with SwitchSession(switch.address, username=SWITCH_USER, password=password,
                       known_hosts=lab.creds.known_hosts) as session:
        assert session.vlans()[110] == "Verwaltung"
        assert session.ensure_vlan(110, "Verwaltung") is False


def test_up_twice_is_safe(lab: Lab) -> None:
    again = lab.run("lab", "up", "--schools", "1", "--servers", "2", "--switches", "2",
                    "--aps", "2", "--recorded-aps", "2", "--wlan-aps", "2")
    assert again.exit_code == 0, again.output
    assert lab.run("lab", "status").exit_code == 0


def test_status_without_a_lab_is_one_clear_line(tmp_path: Path) -> None:
    nothing = Lab(tmp_path)
    result = nothing.run("lab", "status")
    assert result.exit_code == ExitStatus.ENVIRONMENT
    assert result.output == "Error: no lab is running; start one with 'provision lab up'\n"
