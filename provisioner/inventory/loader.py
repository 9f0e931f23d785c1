"""Reading the per-school Ansible inventories into `Device`s, as Ansible reads them.

Layout: `<root>/<school_id>/` is one Ansible inventory source: whatever
`ansible-playbook -i <root>/<school_id>` accepts (YAML `hosts.yml`/`hosts.yaml`, an
INI `hosts` file, nested child groups, ranges like `ap[01:45]`, `vars:` in the file,
`group_vars/` and `host_vars/`) means the same here, because Ansible itself reads it
(`ansible_inventory.read_inventory`).

A device's role is its membership, direct or through child groups, in `servers`,
`switches` or `access_points`. Host vars used: `ansible_host` (default: the host
name, as in Ansible), `platform` (required), `room`, `serial_number` (not `serial`:
a reserved Ansible word), `uplink` (`{host: NAME, port: INTERFACE}` or `NAME`),
`managed` (default true) and `mac` (checked only: a MAC the servers' role cannot use
for a DHCP reservation is warned about). Jinja2 in them is rendered with the host's vars as a task
would; text that YAML silently turned into a number is read back as written and
warned about.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.ansible_plugins.filter.device_answers import inventory_mac_problem
from provisioner.errors import NotFoundError, Problem
from provisioner.inventory.ansible_inventory import (
    AnsibleHost,
    RenderError,
    as_bool,
    read_inventory,
    written_as,
)
from provisioner.models import ROLE_GROUPS, Device, Role

HOSTS_FILE = "hosts.yml"
_UPLINK_KEYS = frozenset({"host", "port"})
_FAILED = object()  # a value Ansible could not render (its problem is recorded)


@dataclass
class InventoryLoad:
    """Devices read from inventories, the problems that kept hosts out, and warnings.

    Attributes:
        devices: the hosts that became devices.
        problems: what blocks a sync (a refused host, a file Ansible cannot read).
        warnings: worth telling, not blocking (a number YAML made of a serial).
        schools: the school folders read.
        seen: `(school_id, host)` of every host Ansible sees, device or not.
        files: `(school_id, host)` -> the inventory file that defines the host.
    """

    devices: list[Device] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    schools: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    seen: list[tuple[str, str]] = field(default_factory=list)
    files: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def refused(self) -> list[tuple[str, str]]:
        """Hosts Ansible sees that did not become devices (each has a problem)."""
        kept = {(d.school_id, d.name) for d in self.devices}
        return [key for key in self.seen if key not in kept]

    def extend(self, other: InventoryLoad) -> None:
        """Add another load's results to this one."""
        self.devices += other.devices
        self.problems += other.problems
        self.schools += other.schools
        self.warnings += other.warnings
        self.seen += other.seen
        self.files.update(other.files)


class _HostReader:
    """Turns one Ansible host into a `Device`, collecting its problems and warnings."""

    def __init__(self, school_id: str, host: AnsibleHost) -> None:
        self.school_id = school_id
        self.host = host
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def _problem(self, message: str) -> None:
        self.problems.append(Problem(self.host.source, f"host {self.host.name!r} {message}"))

    def value(self, key: str, raw: Any = None) -> Any:
        """The var `key` (or `raw`) rendered as Ansible would; `_FAILED` and a problem if not."""
        value = self.host.vars.get(key) if raw is None else raw
        try:
            return self.host.render(value)
        except RenderError as exc:
            self._problem(f"has {key} {str(value)!r} that Ansible cannot render ({exc}); "
                          "fix the expression or define the variables it uses")
            return _FAILED

    def text(self, key: str, raw: Any = None) -> str | None:
        """The var as text; numbers YAML made of text are read back as written (a warning)."""
        value = self.host.vars.get(key) if raw is None else raw
        rendered = self.value(key, value)
        if rendered is _FAILED:
            return None
        if rendered is None:
            return ""
        if isinstance(rendered, dict | list):
            self._problem(f"has {key} as a {type(rendered).__name__}; it must be text")
            return None
        if isinstance(rendered, str) or rendered is not value:
            return str(rendered).strip()  # text, or the result of a template
        return self._number_as_text(key, value)

    def _number_as_text(self, key: str, value: Any) -> str:
        place = written_as(value, key)
        if place is not None and place[1] == str(value):
            return place[1]  # `room: 12` is the number 12 and reads back as "12"
        kind = "boolean" if isinstance(value, bool) else "number"
        if place is None:
            self.warnings.append(Problem(self.host.source, (
                f"host {self.host.name!r}: {key} is the {kind} {value}, not text; quote it "
                "in the inventory")))
            return str(value)
        file, written = place
        self.warnings.append(Problem(file, (
            f"host {self.host.name!r}: {key} {written} is read by Ansible as the {kind} "
            f"{value}; quote it ('{written}') so Ansible keeps the text; stored as "
            f"{written!r}")))
        return written

    def role(self) -> Role | None:
        roles = [role for role, group in ROLE_GROUPS.items() if group in self.host.groups]
        if len(roles) == 1:
            return roles[0]
        groups = ", ".join(ROLE_GROUPS[r] for r in Role)
        if not roles:
            self._problem(f"is in none of the groups {groups} (directly or through child "
                          "groups); add it to the one that says what it is")
        else:
            both = " and ".join(ROLE_GROUPS[r] for r in roles)
            self._problem(f"is in {both} (directly or through child groups); a device has "
                          "one role: keep it in one of them")
        return None

    def uplink(self) -> tuple[str, str] | None:
        raw = self.host.vars.get("uplink")
        if raw is None:
            return "", ""
        value = self.value("uplink", raw)
        if value is _FAILED:
            return None
        if isinstance(value, dict) and "host" in value and set(value) <= _UPLINK_KEYS:
            host = self.text("uplink host", value["host"])
            port = self.text("uplink port", value["port"]) if value.get("port") is not None \
                else ""
            return (host, port) if host is not None and port is not None else None
        if isinstance(value, str):
            return value.strip(), ""
        if value is not None:
            self._problem(f"has uplink {value!r}; write `uplink: {{host: SWITCH, port: "
                          "INTERFACE}` or `uplink: SWITCH`")
        return None

    def boolean(self, key: str) -> bool | None:
        """A host var read as Ansible reads a boolean, true when absent; None (and a
        problem) when it is no boolean or cannot be rendered."""
        raw = self.host.vars.get(key)
        if raw is None:
            return True
        value = self.value(key, raw)
        if value is _FAILED:
            return None
        try:
            return as_bool(value)
        except ValueError:
            self._problem(f"has {key} {raw!r}; it must be true or false")
            return None

    def managed(self) -> bool | None:
        return self.boolean("managed")

    def check_snmp(self) -> None:
        """Refuse an `snmp` host var that is not a boolean: read as yes by one part and
        as no by another, it would decide whether the device is polled at all
        (`ansible_inventory.answers_snmp` reads it)."""
        self.boolean("snmp")

    def check_mac(self) -> None:
        """Warn of a `mac` (an AP's DHCP reservation) the servers' role cannot use, such
        as a MAC of digits only that YAML read as a base-60 number."""
        if self.host.vars.get("mac") in (None, ""):
            return
        rendered = self.value("mac")
        problem = "" if rendered is _FAILED else inventory_mac_problem(rendered)
        if problem:
            self.warnings.append(Problem(self.host.source, (
                f"host {self.host.name!r}: {problem}; the servers keep the reservation "
                "they hold for it, or make none")))

    def device(self) -> Device | None:
        """The device, or None when a problem keeps the host out."""
        self.check_mac()
        self.check_snmp()
        role, uplink, managed = self.role(), self.uplink(), self.managed()
        address = self.text("ansible_host") if "ansible_host" in self.host.vars \
            else self.host.name
        platform, serial, room = self.text("platform"), self.text("serial_number"), \
            self.text("room")
        school = self.text("school_id")
        if platform == "":
            self._problem("has no platform; set it in its host vars or its group's vars")
        if address == "":
            self._problem("has an empty ansible_host; give its address or remove the key")
        if school and school != self.school_id:
            self._problem(f"has school_id {school} but is in the folder of school "
                          f"{self.school_id}; fix one of them")
        if self.problems or role is None or uplink is None or managed is None:
            return None
        return Device(self.school_id, self.host.name, role, platform or "", address or "",
                      serial or "", room or "", vars=self.host.vars, uplink_host=uplink[0],
                      uplink_port=uplink[1], managed=managed)


def load_school(school_dir: Path) -> InventoryLoad:
    """Read one school's inventory folder through Ansible.

    Returns:
        The school's devices; problems for every host Ansible sees that did not
        become a device and for every file Ansible could not read; warnings.
    """
    school_id = school_dir.name
    read = read_inventory(school_dir)
    result = InventoryLoad(schools=[school_id], problems=list(read.unparsed),
                           warnings=list(read.warnings))
    # Ansible's own host order is not stable from run to run: by name, as the CLI shows it.
    for host in sorted(read.hosts, key=lambda h: h.name):
        reader = _HostReader(school_id, host)
        device = reader.device()
        result.seen.append((school_id, host.name))
        result.files[(school_id, host.name)] = host.source
        result.problems += reader.problems
        result.warnings += reader.warnings
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
            # Mostly a mistyped id: name the nearest school there before a new folder.
            near = difflib.get_close_matches(school_id, [p.name for p in _schools_in(root)], n=1)
            hint = (f"did you mean {near[0]}? A new school needs {folder}/{HOSTS_FILE}" if near
                    else f"a new school needs {folder}/{HOSTS_FILE}")
            raise NotFoundError(f"unknown school {school_id}: no inventory for it in {root}; "
                                f"{hint}")
        return [folder]
    return _schools_in(root)


def _schools_in(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def load_inventories(root: Path, school_id: str | None = None) -> InventoryLoad:
    """Read every school's inventory under `root` (or one school's).

    Raises:
        NotFoundError: the root, or the named school's folder, does not exist.
    """
    total = InventoryLoad()
    for folder in school_dirs(root, school_id):
        total.extend(load_school(folder))
    return total
