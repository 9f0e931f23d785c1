"""Checks of the `uplink` host vars of one school: the tree health walks. Pure logic.

Every device names its upstream switch (`uplink`); the school's core switch has
none. Health uses the tree to report "unreachable (upstream)" instead of 60 alerts,
so it must be a tree: known hosts of the same school, switches only, no cycles.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from provisioner.errors import Problem
from provisioner.models import Device, Role

_NAMES_SHOWN = 5


def _names(devices: Sequence[Device]) -> str:
    shown = ", ".join(d.name for d in devices[:_NAMES_SHOWN])
    more = len(devices) - _NAMES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _link_problems(devices: Sequence[Device], seen: Collection[str],
                   where: Callable[[Device], str]) -> list[Problem]:
    by_name = {d.name: d for d in devices}
    problems = []
    for device in devices:
        upstream = device.uplink_host
        if not upstream or upstream == device.name:
            continue  # no uplink is the core; a self-uplink is reported as a cycle
        target = by_name.get(upstream)
        if target is None and upstream not in seen:
            problems.append(Problem(where(device), (
                f"host {device.name!r} has uplink {upstream!r}, which is not a host of school "
                f"{device.school_id}'s inventory; name the switch it hangs off")))
        elif target is not None and target.role is not Role.SWITCH:
            kind = "an access point" if target.role is Role.ACCESS_POINT else "a server"
            problems.append(Problem(where(device), (
                f"host {device.name!r} has uplink {upstream!r}, which is {kind}, not a "
                "switch; name the switch it hangs off")))
    return problems


def _cycles(devices: Sequence[Device]) -> list[list[str]]:
    """Every cycle of uplinks, each once, as the host names along it."""
    upstream = {d.name: d.uplink_host for d in devices if d.uplink_host}
    done: set[str] = set()
    cycles = []
    for start in sorted(upstream):
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in done and node not in path:
            path.append(node)
            node = upstream.get(node)
        if node is not None and node in path:
            cycles.append(path[path.index(node):])
        done.update(path)
    return cycles


def check_uplinks(devices: Sequence[Device], seen: Collection[str],
                  where: Callable[[Device], str]) -> tuple[list[Problem], list[Problem]]:
    """Check the uplinks of ONE school's devices.

    Args:
        devices: the school's devices.
        seen: every host name of the school's inventory (also those refused for
            other problems: an uplink to them is not "unknown").
        where: the file to name for a device.

    Returns:
        `(problems, warnings)`: unknown uplink hosts, uplinks that are not switches
        and cycles are problems; more than one device without uplink in a school
        with switches is a warning (which one is the core?).
    """
    problems = _link_problems(devices, seen, where)
    by_name = {d.name: d for d in devices}
    for cycle in _cycles(devices):
        first = by_name[cycle[0]]
        problems.append(Problem(where(first), (
            f"uplinks form a cycle: {' -> '.join([*cycle, cycle[0]])}; the school's core "
            "switch has no uplink, every other device names the switch it hangs off")))
    warnings = []
    roots = [d for d in devices if not d.uplink_host]
    if len(roots) > 1 and any(d.role is Role.SWITCH for d in devices):
        warnings.append(Problem(where(roots[0]), (
            f"{len(roots)} devices of school {roots[0].school_id} have no uplink "
            f"({_names(roots)}); only the core switch should have none: add `uplink` to "
            "the others")))
    return problems, warnings
