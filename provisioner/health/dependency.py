"""Dependency-aware health: devices behind a silent upstream, and dead sites. Pure.

Each device names its upstream in the inventory (host var `uplink: {host, port}`); a
school's core switch has none. A device that does not answer while a device on its path
to the core does not answer either is "unreachable (upstream)": it is the upstream that
is broken, not 60 devices behind it. A school whose core switch (a switch without an
uplink) does not answer, or none of whose devices answers, is a dead site: one line,
never 60 alerts and never green.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from provisioner.models import Role
from provisioner.results import FailureKind

# A device with these failures was asked and did not answer on the network.
SILENT = frozenset({FailureKind.TIMEOUT, FailureKind.UNREACHABLE})
# A device with these answered (credentials refused, odd PDUs are answers too).
ANSWERED = frozenset({FailureKind.AUTH, FailureKind.PROTOCOL})


@dataclass(frozen=True)
class Node:
    """One device as the dependency logic sees it.

    Attributes:
        name: host name.
        school_id: its school.
        role: server, switch or access point.
        uplink: the upstream host name ("" for none).
        failure: why it gave no answer this run (None: it answered).
    """

    name: str
    school_id: str
    role: Role
    uplink: str
    failure: FailureKind | None

    @property
    def silent(self) -> bool:
        """Asked and no answer on the network."""
        return self.failure in SILENT

    @property
    def answered(self) -> bool:
        """It answered (maybe refusing our credentials)."""
        return self.failure is None or self.failure in ANSWERED


@dataclass(frozen=True)
class Dependencies:
    """What the dependency logic concluded.

    Attributes:
        upstream: silent device -> the silent device upstream of it that is to blame.
        dead_sites: school id -> why it counts as a dead site.
    """

    upstream: dict[str, str]
    dead_sites: dict[str, str]


def _blamed(node: Node, nodes: Mapping[str, Node]) -> str | None:
    """The highest silent device on `node`'s path to the core, if any (cycles stop)."""
    blame: str | None = None
    seen = {node.name}
    current = nodes.get(node.uplink)
    while current is not None and current.name not in seen:
        seen.add(current.name)
        if current.silent:
            blame = current.name
        elif current.answered:
            # Something above answers, so the path up to it works: blame stays below it.
            break
        current = nodes.get(current.uplink)
    return blame


def _dead_reason(school: Sequence[Node]) -> str:
    cores = [n for n in school if n.role is Role.SWITCH and not n.uplink]
    silent_cores = [n.name for n in cores if n.silent]
    if silent_cores:
        behind = sum(1 for n in school if n.silent) - len(silent_cores)
        return (f"core switch {', '.join(silent_cores)} does not answer; "
                f"{behind} device(s) behind it unreachable (upstream)")
    asked = [n for n in school if n.silent or n.answered]
    if asked and all(n.silent for n in asked):
        return f"none of its {len(asked)} device(s) answers"
    return ""


def analyse(nodes: Sequence[Node], whole_schools: Set[str] | None = None) -> Dependencies:
    """Find the devices that are unreachable because of their upstream, and the dead sites.

    Args:
        nodes: every device of the run (several schools at once is fine).
        whole_schools: the schools all of whose devices are in `nodes` (None: all are);
            only these can be dead sites (one silent device polled alone is not a site).

    Returns:
        For each silent device with a silent device upstream, that upstream (the highest
        one on its path); for each dead school, the reason. In a dead site every silent
        device but the core switches themselves counts as behind the core.
    """
    by_name = {n.name: n for n in nodes}
    upstream: dict[str, str] = {}
    for node in nodes:
        if node.silent and (blame := _blamed(node, by_name)) is not None:
            upstream[node.name] = blame
    schools: dict[str, list[Node]] = {}
    for node in nodes:
        schools.setdefault(node.school_id, []).append(node)
    dead: dict[str, str] = {}
    for school_id, members in schools.items():
        if whole_schools is not None and school_id not in whole_schools:
            continue
        reason = _dead_reason(members)
        if not reason:
            continue
        dead[school_id] = reason
        cores = [n.name for n in members if n.role is Role.SWITCH and not n.uplink and n.silent]
        for node in members:
            if node.silent and node.name not in cores and node.name not in upstream:
                upstream[node.name] = cores[0] if cores else "the site"
    return Dependencies(upstream, dead)
