"""Which execution node serves a school: its inventory's `execution_node`. Pure, no broker.

A school's inventory names its node once, for all its hosts (`all: vars:
execution_node: node-a`); a school without it is served by the controller itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from provisioner.errors import InvalidInputError, NotFoundError, Problem
from provisioner.inventory import load_inventories
from provisioner.models import Device
from provisioner.nodes.topology import check_node_name

NODE_VAR = "execution_node"


def node_of(devices: Iterable[Device], source: str) -> str | None:
    """The execution node the devices' inventory names, or None (the controller).

    Raises:
        InvalidInputError: hosts of one school name different nodes, or a name is not
            a valid node name.
    """
    names = {str(d.vars.get(NODE_VAR) or "").strip() for d in devices}
    if len(names) > 1:
        named = ", ".join(sorted(n or "(none)" for n in names))
        raise InvalidInputError(source, [Problem(source, f"{NODE_VAR} differs between hosts "
                                                 f"({named}); set it once for the school "
                                                 "under all: vars:")])
    name = next(iter(names), "")
    return check_node_name(name) if name else None


def school_node(inventories: Path, school_id: str) -> str | None:
    """The execution node of a school, from its inventory (None: the controller).

    Raises:
        InvalidInputError: as `node_of`, or the inventory has problems.
    """
    try:
        loaded = load_inventories(inventories, school_id)
    except NotFoundError:
        return None  # the engine says what is missing, with its own message
    return node_of(loaded.devices, str(inventories / school_id))


def nodes_by_school(devices: Iterable[Device],
                    hostvars: Mapping[str, Mapping[str, object]]) -> dict[str, str | None]:
    """Per school, its execution node, from each device's inventory variables."""
    found: dict[str, str | None] = {}
    for device in devices:
        node = str((hostvars.get(device.name) or {}).get(NODE_VAR) or "").strip() or None
        found.setdefault(device.school_id, node)
    return found
