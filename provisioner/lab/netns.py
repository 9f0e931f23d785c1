"""The lab's network: one bridge on the machine, one namespace + veth pair per device.

Nothing leaves the machine: the bridge is not attached to any real interface, the
devices get no default route, no NAT and no DNS. They reach each other and the bridge
address (10.213.0.1), nothing else.

All `ip` work is done in `ip -batch` scripts (one process for many commands); the
script builders are pure and unit-tested.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from provisioner.errors import LabError
from provisioner.lab.syscmd import run
from provisioner.lab.topology import (
    BRIDGE,
    BRIDGE_ADDRESS,
    LAB_NETWORK,
    NETNS_PREFIX,
    VETH_PREFIX,
    LabDevice,
)

# Only these link names are the lab's: `pvl` alone would also match the bridge and
# other tools' interfaces (another `pvdev0` bridge exists on developer machines).
VETH_PATTERN = re.compile(rf"^{re.escape(VETH_PREFIX)}\d+[hd]$")
PREFIX_LEN = LAB_NETWORK.prefixlen


def parse_netns_list(text: str) -> list[str]:
    """Names of the lab's namespaces in `ip netns list` output ("name (id: 3)" lines)."""
    names = (line.split()[0] for line in text.splitlines() if line.strip())
    return [name for name in names if name.startswith(NETNS_PREFIX)]


def parse_links(json_text: str) -> list[str]:
    """Names of the lab's links (bridge and veths) in `ip -json link show` output."""
    links = json.loads(json_text or "[]")
    names = [str(link.get("ifname", "")) for link in links]
    return [n for n in names if n == BRIDGE or VETH_PATTERN.match(n)]


def list_netns() -> list[str]:
    """The lab's network namespaces that exist now."""
    return parse_netns_list(run(["ip", "netns", "list"], step="list network namespaces"))


def list_links() -> list[str]:
    """The lab's links (bridge, host ends of veths) that exist now."""
    return parse_links(run(["ip", "-json", "link", "show"], step="list network links"))


def bridge_script() -> str:
    """The `ip -batch` script that makes the lab bridge (caller checks it is absent)."""
    return "\n".join([
        f"link add {BRIDGE} type bridge",
        f"addr add {BRIDGE_ADDRESS}/{PREFIX_LEN} dev {BRIDGE}",
        f"link set {BRIDGE} up",
    ]) + "\n"


def ensure_bridge() -> bool:
    """Create the bridge unless it exists; call once before hosts start in parallel.

    Returns:
        Whether it was created now.

    Raises:
        LabError: `ip` failed (message carries its stderr).
    """
    if BRIDGE in list_links():
        return False
    run(["ip", "-batch", "-"], step=f"create bridge {BRIDGE}", input_text=bridge_script())
    return True


def host_side_script(devices: Sequence[LabDevice]) -> str:
    """The `ip -batch` script that makes each device's namespace and plugs its veth in."""
    lines: list[str] = []
    for d in devices:
        lines += [
            f"netns add {d.netns}",
            f"link add {d.veth_host} type veth peer name {d.veth_device} netns {d.netns}",
            f"link set {d.veth_host} master {BRIDGE} up",
        ]
    return "\n".join(lines) + "\n"


def device_side_script(device: LabDevice) -> str:
    """The `ip -n NS -batch` script that sets the device end up as eth0 with its address.

    Deliberately no route: the /16 on eth0 reaches the lab and nothing else.
    """
    return "\n".join([
        f"link set {device.veth_device} name eth0",
        f"addr add {device.address}/{PREFIX_LEN} dev eth0",
        "link set eth0 up",
        "link set lo up",
    ]) + "\n"


def create_device_networks(devices: Sequence[LabDevice]) -> None:
    """Make every device's namespace and veth pair, addressed and up.

    Raises:
        LabError: a namespace or link already exists or `ip` failed.
    """
    if not devices:
        return
    run(["ip", "-batch", "-"], step="create device namespaces",
        input_text=host_side_script(devices))
    for d in devices:
        run(["ip", "-n", d.netns, "-batch", "-"], step=f"configure namespace {d.netns}",
            input_text=device_side_script(d))


def teardown_script(links: Iterable[str], netns: Iterable[str], bridge: bool) -> str:
    """The `ip -batch` script removing links before namespaces (so re-creating works at once).

    Deleting a veth end removes its peer; deleting a namespace first would leave the
    kernel to tear the pair down asynchronously, and an immediate re-create of the same
    names then fails with "File exists".
    """
    lines = [f"link del {name}" for name in links if name != BRIDGE]
    lines += [f"netns del {name}" for name in netns]
    if bridge:
        lines.append(f"link del {BRIDGE}")
    return "\n".join(lines) + "\n" if lines else ""


def remove_networks(
    recorded_netns: Iterable[str] = (), recorded_veths: Iterable[str] = ()
) -> tuple[int, int]:
    """Remove the lab's veths, namespaces and bridge: recorded ones and any by prefix.

    Returns:
        (links removed, namespaces removed).

    Raises:
        LabError: something could not be removed.
    """
    links = sorted(set(list_links()))
    existing_ns = set(list_netns())
    # Recorded names matter only if they still exist; prefix matches catch the rest.
    ns = sorted(existing_ns | (set(recorded_netns) & existing_ns))
    veths = [n for n in links if n != BRIDGE and (VETH_PATTERN.match(n) or n in recorded_veths)]
    script = teardown_script(veths, ns, BRIDGE in links)
    if script:
        run(["ip", "-batch", "-"], step="remove the lab network", input_text=script)
    left = set(list_links()) | set(list_netns())
    if left:
        raise LabError(f"lab network parts still exist ({', '.join(sorted(left))}); "
                       "run 'provision lab down' again")
    return len(veths) + (BRIDGE in links), len(ns)


def links_script(names: Iterable[str], up: bool) -> str:
    """The `ip -batch` script that sets links up or down."""
    state = "up" if up else "down"
    return "".join(f"link set {name} {state}\n" for name in names)


def set_links(names: Sequence[str], up: bool, namespace: str = "") -> None:
    """Set links of the machine's side up or down (a school's veth host ends: its uplink),
    or of an execution node's namespace, where its schools' veth ends are.

    Raises:
        LabError: a link does not exist or `ip` failed.
    """
    if names:
        where = ["-n", namespace] if namespace else []
        run(["ip", *where, "-batch", "-"],
            step=f"set {len(names)} lab links {'up' if up else 'down'}",
            input_text=links_script(names, up))


def set_device_link(netns: str, up: bool) -> None:
    """Set a device's eth0 up or down inside its namespace (it stops or resumes answering).

    Raises:
        LabError: the namespace does not exist or `ip` failed.
    """
    run(["ip", "-n", netns, "link", "set", "eth0", "up" if up else "down"],
        step=f"set eth0 of {netns} {'up' if up else 'down'}")
