"""Reading the per-school Ansible inventories into `Device`s.

Layout: `<root>/<school_id>/hosts.yml` (standard Ansible YAML inventory with the
groups `servers`, `switches`, `access_points`) and `<root>/<school_id>/group_vars/`.
A host's `platform`, `room` and `serial_number` (not `serial`: a reserved Ansible
word) may come from its group's vars; host vars win,
as in Ansible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provisioner.errors import NotFoundError, Problem
from provisioner.models import ROLE_GROUPS, Device, Role

HOSTS_FILE = "hosts.yml"
_GROUP_ROLES = {group: role for role, group in ROLE_GROUPS.items()}


@dataclass
class InventoryLoad:
    """Devices read from inventories, and problems that kept hosts out."""

    devices: list[Device] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    schools: list[str] = field(default_factory=list)


def _read_yaml(path: Path, problems: list[Problem]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(Problem(str(path), f"cannot be read as YAML ({exc}); fix the file"))
        return None


def _group_vars(school_dir: Path, group: str, problems: list[Problem]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    base = school_dir / "group_vars"
    candidates = [base / f"{group}.yml", base / f"{group}.yaml"]
    if (base / group).is_dir():
        candidates += sorted((base / group).glob("*.y*ml"))
    for path in candidates:
        if path.is_file():
            data = _read_yaml(path, problems)
            if isinstance(data, Mapping):
                merged.update(data)
    return merged


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _device(
    school_id: str, name: str, role: Role, hostvars: Mapping[str, Any], file: str,
    problems: list[Problem],
) -> Device | None:
    address = _text(hostvars.get("ansible_host"))
    platform = _text(hostvars.get("platform"))
    missing = [key for key, value in (("ansible_host", address), ("platform", platform))
               if not value]
    for key in missing:
        problems.append(Problem(file, f"host {name!r} has no {key}; add it to its host vars"))
    if missing:
        return None
    return Device(school_id, name, role, platform, address, _text(hostvars.get("serial_number")),
                  _text(hostvars.get("room")), vars=dict(hostvars))


def _group_hosts(data: Mapping[str, Any], group: str) -> Mapping[str, Any]:
    children = (data.get("all") or {}).get("children") or {}
    hosts = (children.get(group) or {}).get("hosts") or {}
    return hosts if isinstance(hosts, Mapping) else {}


def load_school(school_dir: Path) -> InventoryLoad:
    """Read one school's inventory folder."""
    result = InventoryLoad(schools=[school_dir.name])
    hosts_file = school_dir / HOSTS_FILE
    data = _read_yaml(hosts_file, result.problems) if hosts_file.is_file() else None
    if hosts_file.is_file() and not isinstance(data, Mapping):
        if data is not None:
            result.problems.append(Problem(str(hosts_file), "is not an Ansible YAML inventory"))
        return result
    if data is None:
        result.problems.append(Problem(str(hosts_file), "missing; every school folder needs one"))
        return result
    common = _group_vars(school_dir, "all", result.problems)
    for group, role in _GROUP_ROLES.items():
        defaults = {**common, **_group_vars(school_dir, group, result.problems)}
        for name, hostvars in _group_hosts(data, group).items():
            merged = {**defaults, **(hostvars or {})}
            device = _device(school_dir.name, str(name), role, merged, str(hosts_file),
                             result.problems)
            if device is not None:
                result.devices.append(device)
    return result


def school_dirs(root: Path, school_id: str | None = None) -> list[Path]:
    """The school folders under `root` (only `school_id`'s when given).

    Raises:
        NotFoundError: the root, or the named school's folder, does not exist.
    """
    if not root.is_dir():
        raise NotFoundError(f"inventory folder {root} does not exist; pass --inventories DIR")
    if school_id is not None:
        folder = root / school_id
        if not folder.is_dir():
            raise NotFoundError(f"no inventory for school {school_id} in {root}; "
                                f"create {folder}/{HOSTS_FILE}")
        return [folder]
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def load_inventories(root: Path, school_id: str | None = None) -> InventoryLoad:
    """Read every school's inventory under `root` (or one school's)."""
    total = InventoryLoad()
    for folder in school_dirs(root, school_id):
        one = load_school(folder)
        total.devices += one.devices
        total.problems += one.problems
        total.schools += one.schools
    return total
