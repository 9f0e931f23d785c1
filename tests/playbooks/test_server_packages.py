"""Which packages the servers' role installs for the parts a run selects: the role's own
variables, templated by a real `ansible-playbook` on this machine (no host touched)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROLE = Path(__file__).resolve().parents[2] / "playbooks" / "roles" / "school_server"
BASE = ["less", "vim-tiny", "lsof", "tcpdump", "rsyslog", "logrotate"]
PLAY = f"""
- name: The server role's package list
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: The role's defaults
      ansible.builtin.include_vars: {ROLE / "defaults" / "main.yml"}
      tags: [always]
    - name: The role's variables
      ansible.builtin.include_vars: {ROLE / "vars" / "main.yml"}
      tags: [always]
    - name: The packages
      ansible.builtin.debug:
        var: school_server_package_names
      tags: [always]
"""


def package_names(tmp_path: Path, *args: str) -> list[str]:
    playbook = tmp_path / "packages.yml"
    playbook.write_text(PLAY)
    env = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
           "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
           "HOME": str(tmp_path)}
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), str(playbook),
                           *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tasks = json.loads(done.stdout)["plays"][0]["tasks"]
    names = tasks[-1]["hosts"]["localhost"]["school_server_package_names"]
    assert isinstance(names, list)
    return names


@pytest.mark.parametrize(("args", "services"), [
    ((), ["chrony", "dnsmasq", "nftables", "unattended-upgrades", "snmpd"]),
    (("--tags", "school_server"), ["chrony", "dnsmasq", "nftables", "unattended-upgrades",
                                   "snmpd"]),
    # Only what the selected parts configure: no dnsmasq left running unconfigured.
    (("--tags", "snmp"), ["snmpd"]),
    (("--tags", "time,snmp"), ["chrony", "snmpd"]),
    (("--tags", "sshd"), []),
    (("--skip-tags", "dhcp_dns,upgrades"), ["chrony", "nftables", "snmpd"]),
])
def test_a_run_installs_the_packages_of_the_parts_it_configures(
        tmp_path: Path, args: tuple[str, ...], services: list[str]) -> None:
    assert package_names(tmp_path, *args) == BASE + services
