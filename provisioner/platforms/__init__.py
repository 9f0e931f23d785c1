"""The platform registry: every device OS the tool knows, one module each.

`get_platform("aruba_aoss")` returns a platform (`provisioner.platforms.base.Platform`)
as NAPALM's `get_network_driver` returns a driver; `platforms()` lists them in
registry order, which is the order of `provision platforms` and the order in which
their SNMP health profiles are tried. Modules are imported on first use, so importing
this package costs nothing. docs/platforms.md says how to add a platform.
"""

from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass

from provisioner.errors import NotFoundError
from provisioner.models import Device
from provisioner.platforms.base import Capability, Platform, PlatformKind

__all__ = ["Capability", "MatrixRow", "Platform", "PlatformKind", "ansible_plugin_env",
           "find_platform",
           "get_platform", "matrix", "platform_for", "platforms"]

# One module per platform under provisioner/platforms/, each holding `PLATFORM`.
# Registry order: a platform's health profile comes before those it would otherwise
# fall to (UniFi before airMAX, both under Ubiquiti's enterprise number; vendors' Linux
# devices before net-snmp on Debian, which takes any sysDescr "Linux ...").
MODULES = (
    "cisco_ios", "aruba_aoss", "aruba_aoscx",
    "ubiquiti_unifi", "ubiquiti_airos", "aruba_os", "aruba_instant", "cisco_wlc",
    "windows", "debian", "linux_hostapd",
)


@functools.cache
def platforms() -> tuple[Platform, ...]:
    """Every registered platform, in registry order."""
    found: list[Platform] = []
    for module_name in MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        platform = module.PLATFORM
        if not isinstance(platform, Platform):
            raise TypeError(f"{module.__name__}.PLATFORM is not a Platform")
        found.append(platform)
    return tuple(found)


@functools.cache
def _by_name() -> dict[str, Platform]:
    names: dict[str, Platform] = {}
    for platform in platforms():
        for name in (platform.name, *platform.aliases):
            if name in names:
                raise ValueError(f"platform name {name!r} is claimed twice "
                                 f"({names[name].name}, {platform.name})")
            names[name] = platform
    return names


def find_platform(name: str) -> Platform | None:
    """The platform registered under `name` or one of its aliases, else None."""
    return _by_name().get(name.strip().lower())


def get_platform(name: str) -> Platform:
    """The platform registered under `name` or one of its aliases.

    Raises:
        NotFoundError: no platform has that name (the message lists those that exist).
    """
    platform = find_platform(name)
    if platform is None:
        raise NotFoundError(f"no platform {name!r}; the tool knows "
                            f"{', '.join(p.name for p in platforms())} "
                            "('provision platforms' shows what each can do)")
    return platform


def ansible_plugin_env() -> dict[str, str]:
    """ANSIBLE_<TYPE>_PLUGINS for the plugin folders the platforms ship (cliconf,
    terminal ...), so `network_cli` finds a platform's plugins by its network OS."""
    folders: dict[str, list[str]] = {}
    for platform in platforms():
        for kind, folder in (platform.ansible.plugins if platform.ansible else {}).items():
            folders.setdefault(kind, []).append(str(folder))
    return {f"ANSIBLE_{kind.upper()}_PLUGINS": os.pathsep.join(found)
            for kind, found in folders.items()}


def network_plugins() -> list[str]:
    """The connection, cliconf and terminal plugins the platforms' Ansible access uses,
    as "kind:name" (the strategy loads them before its workers fork: `warm_plugins` in
    provisioner/ansible_plugins/strategy/mitogen_unpinned.py)."""
    names: list[str] = []
    for access in (p.ansible for p in platforms() if p.ansible is not None):
        if access.connection == "ssh":
            continue
        names.append(f"connection:{access.connection}")
        if access.connection.endswith("network_cli") and access.network_os:
            names += [f"cliconf:{access.network_os}", f"terminal:{access.network_os}"]
    return list(dict.fromkeys(names))


def platform_for(device: Device) -> Platform | None:
    """The platform of a device, by its inventory `platform`, or None if unknown."""
    return find_platform(device.platform)


@dataclass(frozen=True)
class MatrixRow:
    """One row of the capability matrix: a platform and what the tool can do with it."""

    platform: str
    title: str
    kind: str
    aliases: tuple[str, ...]
    capabilities: dict[str, bool]
    # How the lab stands it up: "simulated" (it can be provisioned and read back there),
    # "SNMP only" (a recording answers its SNMP), "" (not at all).
    lab: str = ""


def matrix() -> list[MatrixRow]:
    """The capability matrix (platform x provision, check mode, verify, health, lab)."""
    rows = []
    for platform in platforms():
        held = platform.capabilities()
        lab = "" if platform.lab is None else \
            "SNMP only" if platform.lab.kind == "recorded" else "simulated"
        rows.append(MatrixRow(platform.name, platform.title, platform.kind.value,
                              platform.aliases, {c.value: c in held for c in Capability}, lab))
    return rows
