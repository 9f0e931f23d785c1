"""Preflight and verification logic without a lab; the management-network guard end to end."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from provisioner.ansible import HostRecap
from provisioner.config import Settings
from provisioner.db import Store
from provisioner.devices.ssh import HostKey, pin_host_key
from provisioner.errors import ConfigError, InvalidInputError, LabError, NotFoundError
from provisioner.inventory import network_profile, write_school_inventory
from provisioner.models import Device, Role
from provisioner.outcome import Counts, HostStatus
from provisioner.platforms.cisco_ios import (
    expected_trunk_ports,
    parse_interfaces,
    switch_differences,
)
from provisioner.provision import engine
from provisioner.provision import preflight as pf
from provisioner.results import DeviceResult, FailureKind
from provisioner.snmp import SnmpReply

DATA = Path(__file__).parent.parent / "data" / "provision"
KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3Fq+fQm5wuBN5AVXaSg/JUV8wpmG7zvJmE0zq/s1bm"


def _device(name: str, address: str, **vars: Any) -> Device:
    return Device("100001", name, Role.SERVER, "debian", address, vars=vars)


def test_an_address_outside_the_management_networks_is_refused_naming_it() -> None:
    devices = [_device("100001-srv01", "10.213.1.10"), _device("100001-srv02", "192.0.2.7")]
    with pytest.raises(InvalidInputError) as caught:
        pf.check_addresses(devices, ("10.213.0.0/16",), "inventories/100001")
    [problem] = caught.value.problems
    assert "host 100001-srv02: address 192.0.2.7 is outside the management networks " \
           "(10.213.0.0/16); nothing was sent to it" in problem.message
    pf.check_addresses(devices[:1], ("10.213.0.0/16",), "x")  # inside: no error


def _settings(tmp_path: Path, nets: tuple[str, ...] = ("10.213.0.0/16",)) -> Settings:
    return Settings(db=tmp_path / "state.db", inventories=tmp_path / "inventories",
                    cache_dir=tmp_path / "cache", lab_dir=tmp_path / "lab",
                    playbooks=tmp_path / "playbooks", management_networks=nets)


def _write_school(tmp_path: Path, addresses: list[str], **extra: Any) -> None:
    devices = [Device("100001", f"100001-srv{n:02d}", Role.SERVER, "debian", a, room="Serverraum")
               for n, a in enumerate(addresses, start=1)]
    write_school_inventory(tmp_path / "inventories", "100001", devices,
                           {"all": {**network_profile(1), **extra}})


class _NoSnmp:
    def get_many(self, *_args: Any, **_kwargs: Any) -> list[SnmpReply]:
        raise AssertionError("no SNMP packet may be sent")


def test_provisioning_refuses_before_any_connection(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _write_school(tmp_path, ["10.213.1.10", "198.51.100.20"])
    attempts: list[object] = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: attempts.append(a))
    store = Store.open(tmp_path / "state.db")
    with pytest.raises(InvalidInputError) as caught:
        engine.provision_school(_settings(tmp_path), store, _NoSnmp(), "100001",  # type: ignore[arg-type]
                                engine.Options(), user="anna", progress=lambda p: None)
    assert "100001-srv02: address 198.51.100.20 is outside" in str(caught.value.problems[0])
    assert attempts == []
    assert store.runs.list() == []  # not even a run was started
    assert not (tmp_path / "state-runs").exists()


def test_a_missing_site_playbook_is_refused_before_any_run(tmp_path: Path) -> None:
    _write_school(tmp_path, ["10.213.1.10"])
    store = Store.open(tmp_path / "state.db")
    expected = f"no playbook {tmp_path / 'playbooks' / 'site.yml'}: set playbooks"
    with pytest.raises(ConfigError, match=re.escape(expected)):
        engine.plan_school(_settings(tmp_path), store, "100001", engine.Options())
    with pytest.raises(ConfigError, match=re.escape(expected)):
        engine.provision_school(_settings(tmp_path), store, _NoSnmp(), "100001",  # type: ignore[arg-type]
                                engine.Options(), user="anna", progress=lambda p: None)
    assert store.runs.list() == []  # no run, so no device marked failed


def test_the_shipped_playbooks_are_the_default_from_any_folder() -> None:
    assert (Settings.defaults({}).playbooks / "site.yml").is_file()


def test_a_lab_inventory_is_refused_while_the_lab_is_down(tmp_path: Path) -> None:
    _write_school(tmp_path, ["10.213.1.10"], lab=True)
    store = Store.open(tmp_path / "state.db")
    with pytest.raises(LabError, match="no lab is running"):
        engine.provision_school(_settings(tmp_path), store, _NoSnmp(), "100001",  # type: ignore[arg-type]
                                engine.Options(), user="anna", progress=lambda p: None)


def test_limit_selects_hosts_and_groups_and_refuses_unknown_names() -> None:
    devices = [Device("1", "srv", Role.SERVER, "debian", "10.0.0.1"),
               Device("1", "sw", Role.SWITCH, "cisco_ios", "10.0.0.2"),
               Device("1", "ap", Role.ACCESS_POINT, "debian", "10.0.0.3")]
    assert [d.name for d in engine.select_devices(devices, ("switches", "ap"), "x")] == \
        ["sw", "ap"]
    with pytest.raises(NotFoundError) as caught:  # a mistyped argument: exit 4, one line
        engine.select_devices(devices, ("printers", "swiches"), "inv")
    assert str(caught.value) == (
        "--limit printers, --limit swiches (did you mean switches?): no such host or group in "
        "inv; the groups are servers, switches, access_points, wlan_controllers, the hosts "
        "those of its inventory")
    assert caught.value.exit_status == 4


def test_the_audit_names_every_option_that_changes_the_run() -> None:
    assert engine.Options().as_flags() == []
    options = engine.Options(check=True, limit=("switches", "100001-ap01"), tags=("snmp",),
                             resume=True, batch=5, strategy="linear")
    assert options.as_flags() == ["--check", "--limit switches", "--limit 100001-ap01",
                                  "--tags snmp", "--resume", "--batch 5", "--strategy linear"]


def test_waves_put_servers_first_then_batches() -> None:
    devices = [Device("1", n, r, "x", "10.0.0.1") for n, r in
               (("s1", Role.SERVER), ("w1", Role.SWITCH), ("w2", Role.SWITCH),
                ("a1", Role.ACCESS_POINT), ("s2", Role.SERVER))]
    assert [[d.name for d in w] for w in engine.waves(devices, 2)] == \
        [["s1", "s2"], ["w1", "w2"], ["a1"]]
    assert len(engine.waves(devices, None)) == 1


def test_pinned_keys_and_host_key_verdicts(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    known = tmp_path / "known_hosts"
    pin_host_key(known, "10.213.1.10", KEY_A)
    pin_host_key(known, "10.213.1.11", KEY_B)
    assert [k.base64 for k in pf.pinned_keys(known, "10.213.1.10")] == [KEY_A.split()[1]]
    assert pf.pinned_keys(known, "10.213.1.99") == []
    presented = HostKey("ssh-ed25519", KEY_B.split()[1], pf.parse_host_key(KEY_B).fingerprint)
    monkeypatch.setattr(pf, "fetch_host_key", lambda *a, **k: presented)
    device = _device("100001-srv01", "10.213.1.10")
    with pytest.raises(pf.DeviceError) as changed:
        pf.check_host_key(device, known, 1.0)
    assert type(changed.value).__name__ == "HostKeyChangedError"
    text = str(changed.value)
    assert presented.fingerprint in text and pf.parse_host_key(KEY_A).fingerprint in text
    assert "re-pin it with 'provision trust 100001-srv01'" in text  # the name, not 10.x
    unknown = _device("100001-srv09", "10.213.1.99")
    with pytest.raises(pf.DeviceError,
                       match=r"no host key is pinned.*'provision trust 100001-srv09'"):
        pf.check_host_key(unknown, known, 1.0)
    assert pf.check_host_key(_device("sw", "10.213.1.11"), known, 1.0) == presented.fingerprint


def test_known_hosts_comes_from_the_hosts_ssh_options(tmp_path: Path) -> None:
    device = _device("a", "10.0.0.1", ansible_ssh_common_args=f"-o UserKnownHostsFile={tmp_path}"
                                                              "/kh -o StrictHostKeyChecking=yes")
    assert pf.known_hosts_file(device, Path("/fallback")) == tmp_path / "kh"
    assert pf.known_hosts_file(_device("b", "10.0.0.2"), Path("/fallback")) == Path("/fallback")
    assert pf.school_known_hosts([_device("b", "10.0.0.2"), device]) == tmp_path / "kh"


def test_missing_credential_files_are_named(tmp_path: Path) -> None:
    present = tmp_path / "key"
    present.write_text("k")
    device = _device("a", "10.0.0.1", ansible_ssh_private_key_file=str(present),
                     snmp_auth_file=str(tmp_path / "gone"),
                     ansible_password="{{ lookup('ansible.builtin.file', '%s') }}"
                     % (tmp_path / "pw"))
    missing = pf.missing_credentials(device)
    assert missing == [f"{tmp_path / 'gone'} (No such file or directory)",
                       f"{tmp_path / 'pw'} (No such file or directory)"]


class _SilentSnmp:
    def get_many(self, targets: Any, oids: Any, **_kwargs: Any) -> list[SnmpReply]:
        return [SnmpReply(t.name, error="No SNMP response received before timeout")
                for t in targets]


def test_preflight_skips_unmanaged_blocks_failures_and_warns_on_silent_snmp(
        tmp_path: Path) -> None:
    snmp = {"snmp_user": "u", "snmp_auth_file": "/a", "snmp_priv_file": "/p"}
    devices = [_device("ok", "10.0.0.1", **snmp), _device("down", "10.0.0.2", **snmp),
               Device("100001", "wap", Role.ACCESS_POINT, "aruba", "10.0.0.3", managed=False)]
    calls: list[str] = []

    def checker(device: Device, known: Path, timeout: float) -> DeviceResult[pf.HostCheck]:
        calls.append(device.name)
        if device.name == "down":
            return DeviceResult(device.name, None, FailureKind.UNREACHABLE, "port 22 closed")
        return DeviceResult(device.name, pf.HostCheck(device.address, "SHA256:x"), None, "ready")

    result = pf.run_preflight(devices, _SilentSnmp(), known_hosts=tmp_path / "kh",  # type: ignore[arg-type]
                              checker=checker)
    assert sorted(calls) == ["down", "ok"]  # the unmanaged device is never contacted
    assert result["wap"].failure is FailureKind.SKIPPED and not result["wap"].failed
    assert result["down"].failure is FailureKind.UNREACHABLE
    assert result["ok"].ok
    assert result["ok"].data is not None
    assert result["ok"].data.warnings[0].startswith("SNMPv3 does not answer yet")


def test_the_preflight_line_says_ready_or_why_not() -> None:
    assert engine.preflight_line(HostStatus.PENDING, "", "") == "ready"
    assert (engine.preflight_line(HostStatus.PENDING, "", "SNMPv3 does not answer yet")
            == "ready; SNMPv3 does not answer yet")
    assert (engine.preflight_line(HostStatus.UNREACHABLE, "port 22 closed", "")
            == "unreachable: port 22 closed")


def test_switch_differences_read_from_recorded_cli_output() -> None:
    profile = network_profile(1)["school_network"]
    show_vlan = (DATA / "show_vlan.txt").read_text()
    running = (DATA / "running_config.txt").read_text()
    assert [i["INTERFACE"] for i in parse_interfaces(running)] == [
        "FastEthernet0/20", "FastEthernet0/21", "FastEthernet0/22", "Vlan99"]
    assert parse_interfaces(running)[1]["ALLOWED"] == "20,30,50,60,99"
    assert expected_trunk_ports(profile) == {21, 22, 23, 24}
    assert switch_differences(profile, show_vlan, running) == [
        "port FastEthernet0/22 is not a trunk (mode access)"]
    renamed = show_vlan.replace("30   Schueler", "30   Schueler-alt")
    broken = renamed.replace("50   Gaeste                           active\n", "")
    assert switch_differences(profile, broken, running)[:2] == [
        "VLAN 30 'Schueler' is named 'Schueler-alt'", "VLAN 50 'Gaeste' missing"]


def test_old_run_folders_are_pruned_and_new_ones_kept(tmp_path: Path) -> None:
    old, new = tmp_path / "run-1", tmp_path / "run-2"
    old.mkdir()
    new.mkdir()
    ten_days_ago = time.time() - 10 * 86400
    os.utime(old, (ten_days_ago, ten_days_ago))
    assert engine.prune_runs(tmp_path, 7) == [old]
    assert not old.exists() and new.exists()
    assert engine.runs_root(_settings(tmp_path)) == tmp_path / "state-runs"


def test_the_playbook_commit_is_the_git_head(tmp_path: Path) -> None:
    repo_playbooks = Path(__file__).parent.parent.parent / "playbooks"
    head = subprocess.run(["git", "-C", str(repo_playbooks), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert engine.playbook_commit(repo_playbooks).removesuffix("-dirty") == head
    assert engine.playbook_commit(tmp_path) == ""  # not a git checkout


@pytest.mark.parametrize(("counts", "cancelled", "ended_early", "check", "status"), [
    (None, False, False, False, HostStatus.FAILED),  # Ansible reported nothing
    (None, True, False, False, HostStatus.INTERRUPTED),
    (Counts(ok=5, unreachable=1), False, False, False, HostStatus.UNREACHABLE),
    (Counts(ok=5, failed=1), True, False, False, HostStatus.FAILED),
    (Counts(ok=5), True, False, False, HostStatus.INTERRUPTED),  # stopped mid-play
    (Counts(ok=5), False, True, False, HostStatus.INTERRUPTED),  # later plays never ran
    (Counts(ok=5, changed=2), False, False, True, HostStatus.CHECKED),
    (Counts(ok=5, changed=2), False, False, False, HostStatus.PROVISIONED),
])
def test_a_hosts_status_after_the_play(counts: Counts | None, cancelled: bool,
                                       ended_early: bool, check: bool,
                                       status: HostStatus) -> None:
    recap = None if counts is None else HostRecap("h", counts=counts)
    assert engine.host_status(recap, cancelled=cancelled, ended_early=ended_early,
                              check=check) is status
