"""Every host `ansible-inventory --list` sees is a device or named in a problem.

Run against the real `ansible-inventory` for every inventory kept in tests/ and in
inventories/: `inventory check` never says "0 problems" while devices are missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner.inventory import check_inventory, load_inventories
from provisioner.inventory.loader import school_dirs

ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"
REPO = Path(__file__).resolve().parent.parent.parent
ROOTS = sorted(p for p in (REPO / "tests" / "data" / "inventories").iterdir() if p.is_dir())
ROOTS.append(REPO / "inventories")


def ansible_hosts(root: Path) -> set[str] | None:
    """Host names `ansible-inventory` lists for every school folder of `root` (None: it fails)."""
    sources = [arg for folder in school_dirs(root) for arg in ("-i", str(folder))]
    done = subprocess.run([str(ANSIBLE_INVENTORY), *sources, "--list"], capture_output=True,
                          text=True)
    if done.returncode != 0:
        return None
    groups = json.loads(done.stdout)
    return {host for name, group in groups.items() if name != "_meta"
            for host in group.get("hosts", [])}


@pytest.mark.parametrize("root", ROOTS, ids=[p.name for p in ROOTS])
def test_every_host_ansible_sees_is_a_device_or_a_problem(root: Path) -> None:
    load = load_inventories(root)
    report = check_inventory(load, [], {p.name for p in school_dirs(root)}, str(root))
    expected = ansible_hosts(root)
    if expected is None:  # Ansible itself refuses the inventory: so do we, with a problem
        assert report.problems
        assert load.devices == []
        return
    assert {name for _school, name in load.seen} == expected
    named = " ".join(str(p) for p in report.problems)
    for _school, name in load.refused:
        assert f"host {name!r}" in named
    if report.ok:
        assert sorted(d.name for d in report.devices) == sorted(expected)
