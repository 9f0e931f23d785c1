"""`provision lab down` leaves nothing behind: namespaces, links, mounts, processes, files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from provisioner.devices.cli_session import SwitchSession
from provisioner.lab.credentials import SWITCH_USER, read_secret
from provisioner.lab.state import load_state
from provisioner.lab.topology import BRIDGE, NETNS_PREFIX, DeviceKind
from tests.lab.test_lab_e2e import Lab

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]


def leftovers(lab_dir: Path) -> list[str]:
    """What of a lab exists on the machine: namespaces, the bridge, mounts, processes."""
    found = []
    spaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [line.split()[0] for line in spaces.splitlines() if line.startswith(NETNS_PREFIX)]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    found += [f"link {BRIDGE}" for line in links.splitlines() if f" {BRIDGE}:" in line]
    mounts = Path("/proc/self/mounts").read_text()
    found += [f"mount {line.split()[1]}" for line in mounts.splitlines()
              if str(lab_dir) in line]
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    # Every lab process (host runtimes, simulators) runs with a path under the lab dir.
    found += [f"process {p}" for p in procs.splitlines() if str(lab_dir) in p]
    return found


def _save_a_switch_config(lab: Lab) -> Path:
    state = load_state(lab.lab_dir)
    assert state is not None
    switch = next(d for d in state.devices if d.kind is DeviceKind.IOS_SWITCH)
    with SwitchSession(switch.address, username=SWITCH_USER,
                       password=read_secret(lab.creds.switch_password),
                       known_hosts=lab.creds.known_hosts) as session:
        session.ensure_vlan(110, "Verwaltung")
        session.save()
    return lab.lab_dir / "simulators" / "startup" / f"{switch.name}.cfg"


def test_down_leaves_nothing_behind(tmp_path_factory: pytest.TempPathFactory) -> None:
    small = Lab(tmp_path_factory.mktemp("lab-down"))
    small.lab_dir.mkdir(parents=True)
    (small.lab_dir / "notes.txt").write_text("the admin's own file\n")
    up = small.run("lab", "up", "--schools", "1", "--servers", "1", "--switches", "1",
                   "--wlan-aps", "0", "--aps", "0", "--recorded-aps", "1")
    assert up.exit_code == 0, up.output
    assert leftovers(small.lab_dir) != []
    saved = _save_a_switch_config(small)
    assert "vlan 110" in saved.read_text()
    assert sorted(p.name for p in small.lab_dir.iterdir()) == [
        "credentials", "hosts", "inventories", "logs", "notes.txt", "simulators", "state.json"]
    down = small.run("lab", "down")
    assert down.exit_code == 0, down.output
    assert leftovers(small.lab_dir) == []
    # Nothing `up` made is left in the lab folder: saved switch configs, host keys,
    # logs, inventories, credentials; the admin's own file stays.
    assert [p.name for p in small.lab_dir.iterdir()] == ["notes.txt"]
