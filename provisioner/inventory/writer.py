"""Writing a school's Ansible inventory folder (used by the lab and by examples)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from provisioner.inventory.loader import HOSTS_FILE
from provisioner.models import ROLE_GROUPS, Device


def _host_entry(device: Device) -> dict[str, Any]:
    entry: dict[str, Any] = {"ansible_host": device.address, "platform": device.platform}
    if device.room:
        entry["room"] = device.room
    if device.serial:
        entry["serial_number"] = device.serial
    if device.uplink_host:
        entry["uplink"] = ({"host": device.uplink_host, "port": device.uplink_port}
                           if device.uplink_port else device.uplink_host)
    if not device.managed:
        entry["managed"] = False
    entry.update(device.vars)
    return entry


def inventory_document(school_id: str, devices: Sequence[Device]) -> dict[str, Any]:
    """The hosts.yml content of one school, groups in a fixed order."""
    children: dict[str, Any] = {}
    for role, group in ROLE_GROUPS.items():
        hosts = {d.name: _host_entry(d) for d in devices if d.role is role}
        children[group] = {"hosts": hosts} if hosts else {}
    return {"all": {"vars": {"school_id": school_id}, "children": children}}


def _write_atomically(path: Path, text: str) -> None:
    # Write-then-rename: a reader (ansible, a nightly check) never sees half a file.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _dump(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, default_flow_style=False)


def write_school_inventory(
    root: Path, school_id: str, devices: Sequence[Device],
    group_vars: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write `<root>/<school_id>/hosts.yml` and `group_vars/<group>.yml` files.

    Args:
        root: the inventories folder.
        school_id: the school's 6-digit id (the folder name).
        devices: the school's devices; `Device.vars` become extra host vars.
        group_vars: per group (`all`, `servers`, ...) the variables to write.

    Returns:
        The school's inventory folder.
    """
    folder = root / school_id
    (folder / "group_vars").mkdir(parents=True, exist_ok=True)
    header = f"# Ansible inventory of school {school_id}, written by provisioner.\n"
    _write_atomically(folder / HOSTS_FILE, header + _dump(inventory_document(school_id, devices)))
    for group, variables in (group_vars or {}).items():
        _write_atomically(folder / "group_vars" / f"{group}.yml", "---\n" + _dump(variables))
    return folder
