"""`provision lab up --nodes 2`: execution-node namespaces as the only way to their
schools, RabbitMQ on a separate WAN bridge; provisioning and health through them.

The controller (this namespace) has no route to the schools at all, so every run that
works went through a node. Kept small (two schools of one server and one switch).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.inventory import load_inventories
from provisioner.lab.nodes import WAN_BRIDGE, controller_config_path
from tests.labkit import CliLab, lab_up

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]

PLAN = Path(__file__).parent.parent / "data" / "cli" / "plan-v1.csv"


class Lab(CliLab):
    """The lab with its execution nodes; the CLI finds the lab broker's settings."""

    def __init__(self, home: Path) -> None:
        super().__init__(home)
        self.env["PROVISIONER_BROKER_CONFIG"] = str(controller_config_path(self.lab_dir))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab_up(Lab(tmp_path_factory.mktemp("lab-nodes")), PLAN, "--schools", "2", "--servers",
                "1", "--switches", "1", "--wlan-aps", "0", "--aps", "0", "--recorded-aps", "0",
                "--nodes", "2") as the_lab:
        assert "execution nodes: node1: " in the_lab.outputs[-2]  # lab up's, before the sync
        yield the_lab


def _schools(lab: Lab) -> list[str]:
    return sorted(p.name for p in lab.inventories.iterdir() if p.is_dir())


def test_each_school_names_its_node_and_only_the_node_reaches_it(lab: Lab) -> None:
    schools = _schools(lab)
    nodes = {}
    for school in schools:
        devices = load_inventories(lab.inventories, school).devices
        nodes[school] = {d.vars.get("execution_node") for d in devices}
        for device in devices:
            route = subprocess.run(["ip", "-o", "route", "get", device.address],
                                   capture_output=True, text=True, check=False)
            assert route.returncode != 0, route.stdout  # no route from the controller
            with pytest.raises(OSError), socket.create_connection((device.address, 22),
                                                                  timeout=2):
                pass
    assert nodes == {schools[0]: {"node1"}, schools[1]: {"node2"}}
    # From its node, the school's server answers SSH.
    server = next(d for d in load_inventories(lab.inventories, schools[0]).devices
                  if d.name.endswith("srv01"))
    probe = subprocess.run(
        ["ip", "netns", "exec", "pvlab-n-node1", "bash", "-c",
         f"exec 3<>/dev/tcp/{server.address}/22 && head -c 4 <&3"],
        capture_output=True, text=True, timeout=20, check=False)
    assert probe.stdout == "SSH-", probe.stderr
    assert WAN_BRIDGE in subprocess.run(["ip", "-o", "link"], capture_output=True,
                                        text=True, check=True).stdout


def test_two_schools_on_two_nodes_side_by_side(lab: Lab) -> None:
    first, second = _schools(lab)
    result = lab.run("--json", "school", "--id", first, "--id", second, "--yes")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)
    assert [r["status"] for r in runs] == ["ok", "ok"]
    for run in runs:
        assert {h["status"] for h in run["hosts"]} == {"verified"}
        assert all(h["counts"]["ok"] > 0 for h in run["hosts"])
    journals = {n: (lab.lab_dir / "nodes" / f"{n}-state" / "journal.jsonl").read_text()
                for n in ("node1", "node2")}
    assert f"school-{first}-run-" in journals["node1"]
    assert f"school-{second}-run-" in journals["node2"]
    assert f"school-{second}-run-" not in journals["node1"]


def test_health_of_both_schools_through_their_nodes(lab: Lab) -> None:
    result = lab.run("--json", "health")
    assert result.exit_code in (0, 10), result.output
    devices = json.loads(result.stdout)["devices"]
    assert len(devices) == 4
    assert {d["state"] for d in devices} <= {"ok", "warning"}, devices
