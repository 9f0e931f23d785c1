"""The simulated switches and SNMP-recorded APs, as real daemons in network namespaces.

The fixture builds its own small network (a bridge and one namespace per device in
10.214.N.0/24, N from the test process id) rather than the lab's 10.213.0.0/16, so
it never meets a running lab: the devices' namespaces are named `pvdev-...`, which
`provision lab down` (it removes `pvlab-*`) leaves alone.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from provisioner.config import load_settings
from provisioner.devices.cli_session import SwitchSession
from provisioner.devices.ssh import probe_ssh
from provisioner.errors import HostKeyChangedError, HostKeyUnknownError, LabError
from provisioner.lab.credentials import (
    SNMP_USER,
    SWITCH_USER,
    LabCredentials,
    ensure_credentials,
    read_secret,
)
from provisioner.lab.simconfig import read_snmp_config
from provisioner.lab.simulators import (
    SimulatorSet,
    remove_simulator_files,
    start_simulators,
    stop_simulators,
)
from provisioner.lab.topology import AP_RECORDINGS, SWITCH_RECORDING, DeviceKind, LabDevice
from provisioner.models import Role

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(
        os.geteuid() != 0, reason="needs root: builds network namespaces and binds ports 22/161"
    ),
    pytest.mark.skipif(
        shutil.which("ip") is None or shutil.which("snmpget") is None,
        reason="needs iproute2 and Debian's snmp package (snmpget)",
    ),
]
pytest.importorskip("fake_switches", reason="the lab extras (fake-switches) are not installed")
pytest.importorskip("snmpsim", reason="the lab extras (snmpsim) are not installed")

RUN = os.getpid() % 10000
OCTET = os.getpid() % 250 + 1
BRIDGE = f"pvdev{RUN:04d}"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
UBIQUITI_ENTERPRISE = ".1.3.6.1.4.1.41112."


@dataclass(frozen=True)
class DevDevice(LabDevice):
    """A lab device in this test's own namespace, out of `provision lab down`'s reach."""

    @property
    def netns(self) -> str:
        return f"pvdev-{self.name}"

    @property
    def veth_host(self) -> str:
        return f"pvd{RUN:04d}{self.index}h"

    @property
    def veth_device(self) -> str:
        return f"pvd{RUN:04d}{self.index}d"


def _device(index: int, name: str, kind: DeviceKind, recording: str) -> DevDevice:
    role = Role.SWITCH if kind is DeviceKind.IOS_SWITCH else Role.ACCESS_POINT
    platform = {DeviceKind.IOS_SWITCH: "cisco_ios"}.get(kind, "recorded")
    return DevDevice(
        index,
        "t",
        f"t{RUN:04d}-{name}",
        role,
        kind,
        platform,
        f"10.214.{OCTET}.{10 + index}",
        recording,
    )


DEVICES = [
    _device(0, "sw01", DeviceKind.IOS_SWITCH, SWITCH_RECORDING),
    _device(1, "sw02", DeviceKind.IOS_SWITCH, SWITCH_RECORDING),
    _device(2, "wap01", DeviceKind.RECORDED_AP, AP_RECORDINGS[0]),
    _device(3, "wap02", DeviceKind.RECORDED_AP, AP_RECORDINGS[1]),
    # a device of another kind: the simulators must leave it alone
    _device(4, "srv01", DeviceKind.DEBIAN_HOST, ""),
]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _ip_quiet(*args: str) -> None:
    subprocess.run(["ip", *args], check=False, capture_output=True)


def _add_device_network(device: DevDevice) -> None:
    ns = device.netns
    _ip("netns", "add", ns)
    _ip("link", "add", device.veth_host, "type", "veth", "peer", "name", device.veth_device)
    _ip("link", "set", device.veth_device, "netns", ns)
    _ip("link", "set", device.veth_host, "master", BRIDGE, "up")
    _ip("-n", ns, "link", "set", device.veth_device, "name", "eth0")
    _ip("-n", ns, "addr", "add", f"{device.address}/24", "dev", "eth0")
    _ip("-n", ns, "link", "set", "eth0", "up")
    _ip("-n", ns, "link", "set", "lo", "up")


@pytest.fixture(scope="module")
def network() -> Iterator[list[DevDevice]]:
    """A bridge and a namespace with its veth per device; removed afterwards."""
    try:
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"10.214.{OCTET}.1/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        for device in DEVICES:
            _add_device_network(device)
        yield DEVICES
    finally:
        # Links before namespaces: the kernel then tears nothing down asynchronously.
        for device in DEVICES:
            _ip_quiet("link", "del", device.veth_host)
        for device in DEVICES:
            _ip_quiet("netns", "del", device.netns)
        _ip_quiet("link", "del", BRIDGE)


@dataclass(frozen=True)
class Lab:
    devices: list[DevDevice]
    credentials: LabCredentials
    simulators: SimulatorSet
    snmp_data: Path  # the recordings the responder serves
    snmp_env: dict[str, str] = field(repr=False)  # a copy of os.environ: keep it out of reports

    @property
    def switches(self) -> list[DevDevice]:
        return [d for d in self.devices if d.kind is DeviceKind.IOS_SWITCH]

    @property
    def snmp_devices(self) -> list[DevDevice]:
        return [d for d in self.devices if d.kind is not DeviceKind.DEBIAN_HOST]

    def switch_password(self) -> str:
        return read_secret(self.credentials.switch_password)


def _snmp_env(creds: LabCredentials, conf_dir: Path) -> dict[str, str]:
    """net-snmp settings in a 0600 file, so no passphrase shows up in `ps` or test output."""
    conf_dir.mkdir(mode=0o700)
    lines = [
        "mibs :",
        f"persistentDir {conf_dir}",
        f"defSecurityName {SNMP_USER}",
        "defSecurityLevel authPriv",
        "defAuthType SHA",
        "defPrivType AES",
        f"defAuthPassphrase {read_secret(creds.snmp_auth)}",
        f"defPrivPassphrase {read_secret(creds.snmp_priv)}",
    ]
    conf = conf_dir / "snmp.conf"
    conf.write_text("\n".join(lines) + "\n")
    conf.chmod(0o600)
    return dict(os.environ, SNMPCONFPATH=str(conf_dir))


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


# Runs in the child below: starts the simulators as `provision lab up` does, from the
# Python it was started with, and prints what the test needs to stop them.
START = """
import json, pickle, sys
from pathlib import Path
from provisioner.lab.credentials import ensure_credentials
from provisioner.lab.simulators import start_simulators
devices = pickle.loads(sys.stdin.buffer.read())
lab_dir, cache_dir = Path(sys.argv[1]), Path(sys.argv[2])
started = start_simulators(devices, lab_dir, ensure_credentials(lab_dir / "credentials"),
                           cache_dir=cache_dir)
print(json.dumps({"pids": started.pids, "host_keys": started.host_keys}))
"""


def _start_where_nobody_cannot_read_the_venv(devices: list[DevDevice], lab_dir: Path,
                                              cache_dir: Path, hidden: Path) -> SimulatorSet:
    """Start the simulators from this venv and project seen through a 0700 folder.

    As in a clone made by `mktemp -d` (or under /root): the SNMP responder imports as
    root, then serves as `nobody`, who cannot read one more module from there. Bind
    mounts in a mount namespace of the simulators' own make it so on any machine.
    """
    root = Path(__file__).resolve().parents[2]
    hidden.chmod(0o700)
    python = hidden / "venv" / Path(sys.executable).relative_to(sys.prefix)
    for sub in ("venv", "src"):
        (hidden / sub).mkdir()
    mount_then_run = ('mount --bind "$1" "$3/venv" && mount --bind "$2" "$3/src" && '
                      'cd "$3/src" && shift 3 && exec "$@"')
    env = dict(os.environ, PYTHONPATH=str(hidden / "src"))
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", mount_then_run,
         "sh", sys.prefix, str(root), str(hidden), str(python), "-c", START, str(lab_dir),
         str(cache_dir)],
        input=pickle.dumps(devices), capture_output=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    started = json.loads(done.stdout)
    return SimulatorSet(tuple(started["pids"]), started["host_keys"])


@pytest.fixture(scope="module")
def lab(network: list[DevDevice], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The simulators of the network's devices, running; stopped (and checked) afterwards.

    Started from a Python `nobody` cannot reach, so every SNMP test below also shows
    the responder serves after its privilege drop without importing anything more.
    """
    lab_dir = tmp_path_factory.mktemp("lab")
    creds = ensure_credentials(lab_dir / "credentials")
    # The settings' cache, as a lab uses it (for root under /root, which `nobody`, the
    # responder's account, cannot enter): shared, unpacked and indexed once.
    started = _start_where_nobody_cannot_read_the_venv(
        network, lab_dir, load_settings(env=os.environ).cache_dir,
        tmp_path_factory.mktemp("hidden"))
    try:
        creds.known_hosts.write_text(
            "".join(f"{address} {key}\n" for address, key in started.host_keys.items())
        )
        config = read_snmp_config(lab_dir / "simulators" / "snmpsim.json")
        yield Lab(network, creds, started, Path(config.workdir) / config.data_dir,
                  _snmp_env(creds, lab_dir / "snmp-client"))
    finally:
        stop_simulators(started.pids)
        remove_simulator_files(lab_dir)
    assert _processes_mentioning(str(lab_dir)) == []
    assert not (lab_dir / "simulators").exists()


def test_one_switch_process_and_one_snmp_process_with_a_key_per_switch(lab: Lab) -> None:
    assert len(lab.simulators.pids) == 2
    assert sorted(lab.simulators.host_keys) == sorted(d.address for d in lab.switches)
    keys = list(lab.simulators.host_keys.values())
    assert all(key.startswith("ssh-ed25519 AAAA") for key in keys)
    assert len(set(keys)) == len(keys)


def _session(lab: Lab, switch: LabDevice) -> SwitchSession:
    return SwitchSession(
        switch.address,
        username=SWITCH_USER,
        password=lab.switch_password(),
        known_hosts=lab.credentials.known_hosts,
    )


def test_switch_takes_a_vlan_saves_it_and_shows_it_again(lab: Lab) -> None:
    switch, other = lab.switches
    with _session(lab, switch) as session:
        assert session.ensure_vlan(110, "Verwaltung") is True
        assert session.ensure_vlan(110, "Verwaltung") is False
        session.save()
    with _session(lab, switch) as session:
        assert session.vlans() == {1: "default", 110: "Verwaltung"}
        assert "vlan 110\n name Verwaltung\n" in session.run("show startup-config")
    with _session(lab, other) as session:
        assert 110 not in session.vlans()


def test_probe_ssh_logs_in_with_the_pinned_key(lab: Lab) -> None:
    for switch in lab.switches:
        banner = probe_ssh(
            switch.address,
            username=SWITCH_USER,
            password=lab.switch_password(),
            known_hosts=lab.credentials.known_hosts,
        )
        assert banner.startswith("SSH-2.0-")


def test_probe_ssh_refuses_another_key_and_an_unknown_host(lab: Lab, tmp_path: Path) -> None:
    switch, other = lab.switches
    wrong = tmp_path / "known_hosts_wrong"
    wrong.write_text(f"{switch.address} {lab.simulators.host_keys[other.address]}\n")
    empty = tmp_path / "known_hosts_empty"
    empty.write_text("")
    before = {path: path.read_text() for path in (wrong, empty)}
    with pytest.raises(HostKeyChangedError, match="host key changed: it presents SHA256:"):
        probe_ssh(
            switch.address, username=SWITCH_USER, password=lab.switch_password(), known_hosts=wrong
        )
    with pytest.raises(HostKeyUnknownError, match="no host key is pinned for it"):
        probe_ssh(
            switch.address, username=SWITCH_USER, password=lab.switch_password(), known_hosts=empty
        )
    assert {path: path.read_text() for path in (wrong, empty)} == before


def _snmpget(
    lab: Lab, device: LabDevice, oid: str, *options: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["snmpget", "-On", "-Oqvt", "-t", "2", "-r", "1", *options, device.address, oid],
        env=lab.snmp_env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _v3_get(lab: Lab, device: LabDevice, oid: str) -> str:
    result = _snmpget(lab, device, oid, "-v3", "-n", str(device.recording))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().strip('"')


def _recorded_sys_descr(lab: Lab, recording: str) -> str:
    text = (lab.snmp_data / f"{recording}.snmprec").read_text()
    line = next(row for row in text.splitlines() if row.startswith(f"{SYS_DESCR}|"))
    _, tag, value = line.split("|", 2)
    return bytes.fromhex(value).decode() if tag == "4x" else value


def test_snmpv3_authpriv_sysdescr_of_every_device_is_its_recording(lab: Lab) -> None:
    for device in lab.snmp_devices:
        assert _v3_get(lab, device, SYS_DESCR) == _recorded_sys_descr(lab, str(device.recording))
    descr = {d.recording: _v3_get(lab, d, SYS_DESCR) for d in lab.snmp_devices}
    assert descr[SWITCH_RECORDING].startswith("Cisco IOS Software, C3750 Software")
    assert descr["network/wifi/aruba-7010"].startswith("ArubaOS (MODEL: Aruba7010)")
    ubiquiti = next(d for d in lab.devices if d.recording == "network/wifi/ubiquiti-m5")
    assert _v3_get(lab, ubiquiti, SYS_OBJECT_ID).startswith(UBIQUITI_ENTERPRISE)


def test_snmpv3_with_a_wrong_auth_passphrase_fails(lab: Lab) -> None:
    device = lab.switches[0]
    result = _snmpget(
        lab, device, SYS_DESCR, "-v3", "-n", SWITCH_RECORDING, "-A", "wrong-passphrase-for-test"
    )
    assert result.returncode != 0
    assert "Authentication failure" in result.stderr
    assert result.stdout == ""


def test_snmpv2c_community_is_the_recording_path(lab: Lab) -> None:
    device = lab.devices[2]
    result = _snmpget(lab, device, SYS_DESCR, "-v2c", "-c", str(device.recording))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().strip('"') == _recorded_sys_descr(lab, str(device.recording))


def test_uptime_moves_like_a_live_device(lab: Lab) -> None:
    device = lab.switches[1]
    first = int(_v3_get(lab, device, SYS_UPTIME))
    time.sleep(0.3)
    assert int(_v3_get(lab, device, SYS_UPTIME)) - first >= 20  # TimeTicks: 1/100 s


def test_a_simulator_that_cannot_start_names_the_device_and_leaves_nothing_behind(
    network: list[DevDevice], tmp_path: Path
) -> None:
    ghost = _device(9, "ghost", DeviceKind.IOS_SWITCH, SWITCH_RECORDING)  # no namespace
    creds = ensure_credentials(tmp_path / "credentials")
    with pytest.raises(LabError) as failure:
        start_simulators([ghost], tmp_path, creds, cache_dir=tmp_path / "cache", timeout=20)
    message = str(failure.value)
    assert ghost.name in message
    assert "ip netns list" in message
    assert "\n" not in message
    assert _processes_mentioning(str(tmp_path)) == []
