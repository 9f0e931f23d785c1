"""Execution nodes in the lab (`lab up --nodes N`): node namespaces, a WAN, a broker.

With nodes, the lab's schools are spread round-robin over the nodes `node1`..`nodeN`.
Each node is a network namespace `pvlab-n-<node>` holding the bridge of its schools
(`pvlab0`, 10.213.0.1/16, inside the node's namespace): it is the only way to its
schools' devices. The machine's own namespace (the controller) has no lab bridge and
no route to the schools at all, so a run that works went through the node. Nodes and
controller meet on a separate "WAN" bridge `pvwan0` (10.214.0.0/24), where the lab's
RabbitMQ listens (TLS, a CA the lab makes) on 10.214.0.1; each node's
`provision node run` process runs inside its namespace.

Nothing leaves the machine: neither bridge is attached to a real interface, and no
namespace has a default route.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from provisioner.lab.broker import BrokerAddress, LabBroker, spawn_detached, stop_group
from provisioner.lab.state import ProcessRef, is_alive, process_ref
from provisioner.lab.syscmd import run
from provisioner.lab.topology import BRIDGE, BRIDGE_ADDRESS, NETNS_PREFIX, LabDevice
from provisioner.nodes.config import BrokerConfig, broker_config_text

WAN_BRIDGE = "pvwan0"
WAN_ADDRESS = "10.214.0.1"
WAN_PREFIX = 24
BROKER_PORT = 25671
NODE_NETNS_PREFIX = f"{NETNS_PREFIX}n-"
WAN_VETH_PREFIX = "pvw"
LEASE_S = 20.0
_STOP_WAIT_S = 30.0


@dataclass(frozen=True)
class LabNode:
    """One execution node of the lab."""

    number: int  # from 1

    @property
    def name(self) -> str:
        """The node's name (its broker user and queue)."""
        return f"node{self.number}"

    @property
    def netns(self) -> str:
        """Its network namespace."""
        return f"{NODE_NETNS_PREFIX}{self.name}"

    @property
    def wan_address(self) -> str:
        """Its address on the WAN bridge."""
        return f"10.214.0.{10 + self.number}"

    @property
    def veth_host(self) -> str:
        """The machine's end of its WAN veth pair (on `pvwan0`)."""
        return f"{WAN_VETH_PREFIX}{self.number}h"


def lab_nodes(count: int) -> list[LabNode]:
    """The lab's nodes, `node1`..`node<count>`."""
    return [LabNode(n) for n in range(1, count + 1)]


def school_nodes(school_ids: Sequence[str], count: int) -> dict[str, str]:
    """Which node serves which school: round-robin in the schools' order ({} without nodes)."""
    if count <= 0:
        return {}
    nodes = lab_nodes(count)
    return {school: nodes[i % count].name for i, school in enumerate(school_ids)}


def wan_script(nodes: Sequence[LabNode]) -> str:
    """The machine-side `ip -batch` script: the WAN bridge, node namespaces, WAN veths."""
    lines = [f"link add {WAN_BRIDGE} type bridge",
             f"addr add {WAN_ADDRESS}/{WAN_PREFIX} dev {WAN_BRIDGE}",
             f"link set {WAN_BRIDGE} up"]
    for node in nodes:
        lines += [f"netns add {node.netns}",
                  f"link add {node.veth_host} type veth peer name wan0 netns {node.netns}",
                  f"link set {node.veth_host} master {WAN_BRIDGE} up"]
    return "\n".join(lines) + "\n"


def node_side_script(node: LabNode) -> str:
    """The node namespace's script: its WAN address and its schools' bridge."""
    return "\n".join([
        f"addr add {node.wan_address}/{WAN_PREFIX} dev wan0", "link set wan0 up",
        "link set lo up", f"link add {BRIDGE} type bridge",
        f"addr add {BRIDGE_ADDRESS}/16 dev {BRIDGE}", f"link set {BRIDGE} up",
    ]) + "\n"


def device_scripts(devices: Sequence[LabDevice], nodes_of: dict[str, str]
                   ) -> tuple[str, dict[str, str]]:
    """The machine-side script (device namespaces, veths moved into their node) and per
    node namespace the script that plugs them into its bridge."""
    lines: list[str] = []
    per_node: dict[str, list[str]] = {}
    for d in devices:
        node_ns = f"{NODE_NETNS_PREFIX}{nodes_of[d.school_id]}"
        lines += [f"netns add {d.netns}",
                  f"link add {d.veth_host} type veth peer name {d.veth_device} netns {d.netns}",
                  f"link set {d.veth_host} netns {node_ns}"]
        per_node.setdefault(node_ns, []).append(f"link set {d.veth_host} master {BRIDGE} up")
    return "\n".join(lines) + "\n", {ns: "\n".join(v) + "\n" for ns, v in per_node.items()}


def create_networks(nodes: Sequence[LabNode], devices: Sequence[LabDevice],
                    nodes_of: dict[str, str]) -> None:
    """Make the WAN, the node namespaces and every device's namespace behind its node.

    Raises:
        LabError: a part exists already or `ip` failed.
    """
    run(["ip", "-batch", "-"], step="create the lab WAN and node namespaces",
        input_text=wan_script(nodes))
    for node in nodes:
        run(["ip", "-n", node.netns, "-batch", "-"], step=f"configure node {node.name}",
            input_text=node_side_script(node))
    machine, per_node = device_scripts(devices, nodes_of)
    run(["ip", "-batch", "-"], step="create device namespaces", input_text=machine)
    for node_ns, script in per_node.items():
        run(["ip", "-n", node_ns, "-batch", "-"], step=f"plug devices into {node_ns}",
            input_text=script)
    from provisioner.lab.netns import device_side_script

    for d in devices:
        run(["ip", "-n", d.netns, "-batch", "-"], step=f"configure namespace {d.netns}",
            input_text=device_side_script(d))


def remove_wan() -> None:
    """Remove the WAN bridge and veths; call before the namespaces are removed (a veth
    whose namespace is deleted first is torn down by the kernel in the background)."""
    links = run(["ip", "-o", "link", "show"], step="list network links")
    names = {line.split(":")[1].strip().split("@")[0] for line in links.splitlines()
             if ":" in line}
    script = "".join(f"link del {n}\n" for n in sorted(names)
                     if n == WAN_BRIDGE or (n.startswith(WAN_VETH_PREFIX) and n.endswith("h")))
    if script:
        # -force: a veth whose node namespace is going away may vanish meanwhile.
        run(["ip", "-force", "-batch", "-"], step="remove the lab WAN", input_text=script)


def lab_broker(lab_dir: Path) -> LabBroker:
    """The lab's broker: data in the lab folder, secrets with the lab's credentials."""
    return LabBroker(lab_dir / "broker", lab_dir / "credentials" / "broker",
                     BrokerAddress(WAN_ADDRESS, BROKER_PORT))


def node_config_path(lab_dir: Path, node: str) -> Path:
    """Where a node's (or the controller's, node "controller") broker settings are."""
    return lab_dir / "nodes" / f"{node}.toml"


def controller_config_path(lab_dir: Path) -> Path:
    """The controller's broker settings for the lab (PROVISIONER_BROKER_CONFIG)."""
    return node_config_path(lab_dir, "controller")


def start_broker_and_nodes(lab_dir: Path, nodes: Sequence[LabNode]) -> list[ProcessRef]:
    """Start the lab's RabbitMQ on the WAN and `provision node run` in each node namespace.

    Returns:
        The started processes (role "broker": its start script and its epmd; role
        "node": each node's process), to stop with `stop_processes`.

    Raises:
        LabError, EnvironmentProblemError: the broker did not start.
    """
    broker = lab_broker(lab_dir)
    broker.start()
    refs = [process_ref(pid, "broker") for pid in broker.pids()]
    (lab_dir / "nodes").mkdir(mode=0o700, exist_ok=True)
    for user in ["controller", *(n.name for n in nodes)]:
        # The controller's user is made with the broker (`LabBroker.start`).
        password = broker.password_file(user) if user == "controller" \
            else broker.add_node(user)
        config = BrokerConfig(url=broker.address.url, user=user, password_file=password,
                              ca_file=broker.ca, lease_s=LEASE_S,
                              state_dir=lab_dir / "nodes" / f"{user}-state")
        node_config_path(lab_dir, user).write_text(broker_config_text(config))
    from provisioner.nodes.broker import declare_node
    from provisioner.nodes.config import load_broker_config

    controller = load_broker_config(node_config_path(lab_dir, "controller"))
    for node in nodes:
        declare_node(controller, node.name)  # a node declares nothing itself
        refs.append(_start_node(lab_dir, node))
    return refs


def _start_node(lab_dir: Path, node: LabNode) -> ProcessRef:
    env = {**os.environ, "PROVISIONER_BROKER_CONFIG": str(node_config_path(lab_dir, node.name))}
    log_dir = lab_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    pid = spawn_detached(["ip", "netns", "exec", node.netns, sys.executable, "-m",
                          "provisioner.cli", "node", "run", "--name", node.name], env,
                         log_dir / f"{node.name}.log")
    return process_ref(pid, "node", node.name)


def stop_processes(refs: Sequence[ProcessRef]) -> int:
    """Stop nodes, then the broker: SIGTERM to each process group, SIGKILL after 30 s."""
    alive = [r for r in sorted(refs, key=lambda r: r.role != "node") if is_alive(r)]
    for ref in alive:
        stop_group(ref.pid, _STOP_WAIT_S)
    return len(alive)
