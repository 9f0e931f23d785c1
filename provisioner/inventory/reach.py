"""How to reach a device: its SNMP target and whether its address may be sent a packet.

Preflight, the read-back after a play, the nightly health check and `lab status` all
reach a device through these two functions, so they cannot disagree about the same
device. SNMP settings are inventory variables (host vars win over group vars, as in
Ansible); secrets are files, never values:

| variable | meaning | default |
|---|---|---|
| `snmp_version` | `3` (authPriv) or `2c` (only where a device cannot do v3) | `3` |
| `snmp_user` | SNMPv3 user name | (required for v3) |
| `snmp_auth_protocol`, `snmp_priv_protocol` | `SHA`/`MD5`, `AES`/`DES` | `SHA`, `AES` |
| `snmp_auth_file`, `snmp_priv_file` | files holding the passphrases | (required for v3) |
| `snmp_community_file` | file holding the v2c community | (required for v2c) |
| `snmp_port`, `snmp_context` | UDP port; SNMPv3 context (v2c: community suffix) | `161`, `""` |
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from provisioner.errors import ConfigError
from provisioner.secrets import read_secret
from provisioner.snmp import SnmpTarget, SnmpV3User

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Addressed(Protocol):
    """A device as far as reaching it goes: its inventory name and management address."""

    @property
    def name(self) -> str:
        """The inventory host name."""
        ...

    @property
    def address(self) -> str:
        """The management address (`ansible_host`)."""
        ...


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _file_var(name: str, hostvars: Mapping[str, object], key: str) -> Path:
    value = _text(hostvars.get(key))
    if not value:
        raise ConfigError(f"{name}: no {key} in its inventory; set the path of the secret file")
    if "{{" in value:
        raise ConfigError(f"{name}: {key} is a template ({value}); give a plain file path")
    return Path(value).expanduser()


def _port(name: str, hostvars: Mapping[str, object]) -> int:
    port_text = _text(hostvars.get("snmp_port") or "161")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"{name}: snmp_port {port_text!r} is not a UDP port (1-65535)")
    return int(port_text)


def snmp_target(device: Addressed, hostvars: Mapping[str, object]) -> SnmpTarget:
    """The SNMP target of a device from its inventory variables (see the module table).

    Args:
        device: the device (name and management address).
        hostvars: its inventory variables (for an inventory `Device`: `device.vars`).

    Raises:
        ConfigError: a setting is missing or not understood (names device and setting),
            or the v2c community file cannot be read.
    """
    name = device.name
    version = _text(hostvars.get("snmp_version") or "3").lower()
    port = _port(name, hostvars)
    context = _text(hostvars.get("snmp_context"))
    if version in ("2c", "2", "v2c"):
        community_file = _file_var(name, hostvars, "snmp_community_file")
        community = read_secret(community_file, f"{name} SNMP v2c community")
        # snmpsim and some controllers select a view by "community@context".
        return SnmpTarget(name, device.address, port,
                          community=f"{community}@{context}" if context else community)
    if version not in ("3", "v3"):
        raise ConfigError(f"{name}: snmp_version {version!r} is not supported; use 3 or 2c")
    user = _text(hostvars.get("snmp_user"))
    if not user:
        raise ConfigError(f"{name}: no snmp_user in its inventory; SNMPv3 needs a user")
    v3 = SnmpV3User(user, _file_var(name, hostvars, "snmp_auth_file"),
                    _file_var(name, hostvars, "snmp_priv_file"),
                    _text(hostvars.get("snmp_auth_protocol") or "SHA").upper(),
                    _text(hostvars.get("snmp_priv_protocol") or "AES").upper())
    return SnmpTarget(name, device.address, port, user=v3, context=context)


def address_problem(device: Addressed, networks: Sequence[Network]) -> str:
    """Why no packet may be sent to the device's address ("" when one may).

    Args:
        device: the device.
        networks: the management networks (`Settings.management_nets()`).
    """
    try:
        address = ipaddress.ip_address(device.address)
    except ValueError:
        return (f"host {device.name}: address {device.address!r} is not an IP address, so it "
                "cannot be checked against management_networks; write the address in "
                "ansible_host")
    if not any(address in net for net in networks):
        nets = ", ".join(str(n) for n in networks)
        return (f"host {device.name}: address {address} is outside the management networks "
                f"({nets}); nothing was sent to it. Fix ansible_host or add its network to "
                "management_networks")
    return ""
