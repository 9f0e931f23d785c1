"""Who to poll and how: synced devices + their inventory's SNMP settings -> SNMP targets.

SNMP settings are inventory variables (host vars win over group vars, as in Ansible);
secrets are files, never values:

| variable | meaning | default |
|---|---|---|
| `snmp_version` | `3` (authPriv) or `2c` (only where a device cannot do v3) | `3` |
| `snmp_user` | SNMPv3 user name | (required for v3) |
| `snmp_auth_protocol`, `snmp_priv_protocol` | `SHA`/`MD5`, `AES`/`DES` | `SHA`, `AES` |
| `snmp_auth_file`, `snmp_priv_file` | files holding the passphrases | (required for v3) |
| `snmp_community_file` | file holding the v2c community | (required for v2c) |
| `snmp_port`, `snmp_context` | UDP port; SNMPv3 context (v2c: community suffix) | `161`, `""` |
| `snmp` | `false`: not polled over SNMP (e.g. read through its WLAN controller) | `true` |
| `snmp_sys_name` | the sysName the device should report | the inventory host name |
| `snmp_location` | the sysLocation it should report (checked only when set) | |

A device whose address is outside `management_networks`, or whose settings are
incomplete, gets a per-device config failure naming host and address; no packet is
sent to it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.errors import ConfigError
from provisioner.models import Device, Role
from provisioner.secrets import read_secret
from provisioner.snmp import SnmpTarget, SnmpV3User

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class PlannedDevice:
    """One device of a health run, before polling.

    Attributes:
        device: the synced device (with its uplink).
        target: how to poll it; None when it must not or cannot be polled.
        problem: why not (a one-line config failure), "" when it can.
        expected_name: the sysName it should report.
        expected_location: the sysLocation it should report (None: not checked).
        ports: its watched ports: port name -> (device behind it, that device's role).
    """

    device: Device
    target: SnmpTarget | None
    problem: str = ""
    expected_name: str | None = None
    expected_location: str | None = None
    ports: dict[str, tuple[str, Role]] = field(default_factory=dict)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _file_var(name: str, hostvars: Mapping[str, object], key: str) -> Path:
    value = _text(hostvars.get(key))
    if not value:
        raise ConfigError(f"{name}: no {key} in its inventory; set the path of the secret file")
    if "{{" in value:
        raise ConfigError(f"{name}: {key} is a template ({value}); give a plain file path")
    return Path(value).expanduser()


def snmp_target(device: Device, hostvars: Mapping[str, object]) -> SnmpTarget:
    """The SNMP target of a device from its inventory variables (see the module table).

    Raises:
        ConfigError: a setting is missing or not understood (names device and setting).
    """
    name = device.name
    version = _text(hostvars.get("snmp_version") or "3").lower()
    port_text = _text(hostvars.get("snmp_port") or "161")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"{name}: snmp_port {port_text!r} is not a UDP port (1-65535)")
    context = _text(hostvars.get("snmp_context"))
    port = int(port_text)
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


def address_problem(device: Device, networks: Sequence[Network]) -> str:
    """Why the device's address must not be polled ("" when it may)."""
    try:
        address = ipaddress.ip_address(device.address)
    except ValueError:
        return (f"{device.name}: address {device.address!r} is not an IP address, so it "
                "cannot be checked against management_networks; write the address in "
                "ansible_host")
    if not any(address in net for net in networks):
        nets = ", ".join(str(n) for n in networks)
        return (f"{device.name}: address {address} is outside the management networks "
                f"({nets}); not polled. Fix ansible_host or add its network to "
                "management_networks")
    return ""


def watched_ports(devices: Sequence[Device]) -> dict[str, dict[str, tuple[str, Role]]]:
    """Per switch, the ports devices hang off (their `uplink.port`): port -> (device, role)."""
    ports: dict[str, dict[str, tuple[str, Role]]] = {}
    for device in devices:
        if device.uplink_host and device.uplink_port:
            ports.setdefault(device.uplink_host, {})[device.uplink_port] = (device.name,
                                                                             device.role)
    return ports


def plan_device(device: Device, hostvars: Mapping[str, object] | None,
                networks: Sequence[Network],
                ports: Mapping[str, tuple[str, Role]]) -> PlannedDevice:
    """One device's target, or the config failure that keeps it from being polled."""
    vars_ = hostvars or {}
    problem = address_problem(device, networks)
    if not problem and hostvars is None:
        problem = (f"{device.name}: not in its school's inventory any more; run "
                   "'provision inventory sync'")
    target: SnmpTarget | None = None
    if not problem and _text(vars_.get("snmp", True)).lower() in ("false", "no", "0", "off"):
        problem = (f"{device.name}: does not answer SNMP (inventory snmp: false); "
                   "not polled")
    elif not problem:
        try:
            target = snmp_target(device, vars_)
        except ConfigError as exc:
            problem = str(exc)
    return PlannedDevice(device, target, problem,
                         expected_name=_text(vars_.get("snmp_sys_name")) or device.name,
                         expected_location=_text(vars_.get("snmp_location")) or None,
                         ports=dict(ports))
