"""`provision lab down` leaves nothing behind: namespaces, links, mounts, processes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from provisioner.lab.topology import BRIDGE, NETNS_PREFIX
from tests.lab.test_lab_e2e import Lab

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]


def _leftovers(lab_dir: Path) -> list[str]:
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


def test_down_leaves_nothing_behind(tmp_path_factory: pytest.TempPathFactory) -> None:
    small = Lab(tmp_path_factory.mktemp("lab-down"))
    up = small.run("lab", "up", "--schools", "1", "--servers", "1", "--switches", "1",
                   "--aps", "0", "--recorded-aps", "1")
    assert up.exit_code == 0, up.output
    assert _leftovers(small.lab_dir) != []
    down = small.run("lab", "down")
    assert down.exit_code == 0, down.output
    assert _leftovers(small.lab_dir) == []
