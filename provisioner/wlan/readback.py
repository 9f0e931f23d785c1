"""Reading a WLAN controller back: its SSID profiles, its APs, their SSIDs and clients.

One snapshot per controller (one REST session: `show running-config`, `show aps`, `show
ap bss-table`; provisioner/wlan/instant_api.py names the vendor document) serves both
verification after a run and the health check. Pure functions then compare it with the
inventory and the school's profile:

- an inventoried AP (host var `controller: NAME`) is *known* to its controller when its
  serial number or address is among the cluster's APs or its MAC (host var `mac`) among
  the `allowed-ap` entries; *up* when it is a member of the cluster now; it *carries* an
  SSID when the BSS table lists a BSS of it for that SSID;
- a cluster AP that matches no inventoried AP of that controller is *unknown*: named as
  a warning, never a failure (a spare plugged in, an AP moved between schools).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.errors import (
    ConfigError,
    DeviceError,
    ProvisionerError,
)
from provisioner.inventory.ansible_inventory import answers_snmp as snmp_answers
from provisioner.models import Device, Role
from provisioner.results import FailureKind
from provisioner.wlan.instant_api import (
    DEFAULT_PORT,
    ControllerAccess,
    InstantSession,
)
from provisioner.wlan.instant_cli import (
    Bss,
    ClusterAp,
    RunningConfig,
    parse_aps,
    parse_bss_table,
    parse_running_config,
)
from provisioner.wlan.profile import WlanProfile

COMMANDS = ("show running-config", "show aps", "show ap bss-table")

def failure_kind(error: ProvisionerError) -> FailureKind:
    """The failure kind of an error reading a controller."""
    if not isinstance(error, DeviceError):
        return FailureKind.CONFIG
    return error.kind


@dataclass(frozen=True)
class ControllerSnapshot:
    """What one controller said, at one moment."""

    config: RunningConfig
    aps: tuple[ClusterAp, ...]
    bss: tuple[Bss, ...]


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def controller_name(device: Device) -> str:
    """The controller an AP names (host var `controller`), "" for none."""
    return _text(device.vars.get("controller"))


def answers_snmp(device: Device) -> bool:
    """Whether the inventory says the device answers SNMP (host var `snmp`, default yes;
    `inventory.ansible_inventory.answers_snmp`). A value that is no boolean, which the
    inventory's loader refuses, counts as yes: the device is asked."""
    try:
        return snmp_answers(device.vars)
    except ValueError:
        return True


def controller_access(device: Device, timeout: float = 10.0) -> ControllerAccess:
    """How to reach a controller, from its inventory vars.

    Raises:
        ConfigError: a setting is missing or a template (names the device and the var).
    """
    found = {}
    for var in ("controller_user", "controller_password_file", "controller_cert_file"):
        value = _text(device.vars.get(var))
        if not value or "{{" in value:
            raise ConfigError(f"{device.name}: {var} is {'a template' if value else 'missing'}"
                              " in its inventory; give it plainly (secrets as file paths)")
        found[var] = value
    port = _text(device.vars.get("controller_port")) or str(DEFAULT_PORT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{device.name}: controller_port {port!r} is not a TCP port")
    return ControllerAccess(device.name, device.address, found["controller_user"],
                            Path(found["controller_password_file"]).expanduser(),
                            Path(found["controller_cert_file"]).expanduser(), int(port),
                            timeout)


def read_controller(access: ControllerAccess) -> ControllerSnapshot:
    """One REST session: the running config, the cluster's APs and the BSS table.

    Raises:
        DeviceError: the controller cannot be reached, refuses the login or a command.
        ConfigError: its password file cannot be read.
    """
    with InstantSession(access) as session:
        config, aps, bss = (session.show(command) for command in COMMANDS)
    return ControllerSnapshot(parse_running_config(config), tuple(parse_aps(aps)),
                              tuple(parse_bss_table(bss)))


def profile_differences(profile: WlanProfile, config: RunningConfig) -> list[str]:
    """What the controller's SSID profiles and RADIUS servers lack against the profile."""
    found = []
    for server in profile.auth_servers:
        have = config.auth_servers.get(server.name)
        if have is None:
            found.append(f"auth-server {server.name} missing")
        elif any(have.get(k) != v for k, v in server.settings().items()):
            found.append(f"auth-server {server.name} differs")
    for ssid in profile.ssids:
        have = config.ssid_profiles.get(ssid.name)
        if have is None:
            found.append(f"SSID profile {ssid.name!r} missing")
            continue
        wrong = [f"{k} is {have.get(k, '(none)')!r}, not {v!r}"
                 for k, v in ssid.settings().items() if k != "enable" and have.get(k) != v]
        if "enable" not in have:
            wrong.append("it is disabled")
        if ssid.psk and have.get("wpa-passphrase") != "set":
            wrong.append("it has no passphrase")
        if wrong:
            found.append(f"SSID profile {ssid.name!r}: " + ", ".join(wrong))
    return found


@dataclass(frozen=True)
class ApView:
    """One inventoried AP as its controller sees it.

    Attributes:
        known: its serial, address or MAC is known to the controller.
        up: it is a member of the cluster now.
        name: its name on the controller ("" when not a member).
        clients: (SSID, band) -> current clients, from the BSS table.
    """

    known: bool
    up: bool
    name: str = ""
    clients: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @property
    def ssids(self) -> set[str]:
        """The SSIDs it beams."""
        return {ssid for ssid, _band in self.clients}

    @property
    def total_clients(self) -> int:
        """Its clients over every SSID and radio."""
        return sum(self.clients.values())


def _member(snapshot: ControllerSnapshot, device: Device) -> ClusterAp | None:
    serial = device.serial.strip().upper()
    return next((ap for ap in snapshot.aps
                 if (serial and ap.serial.strip().upper() == serial)
                 or ap.address == device.address), None)


def ap_view(snapshot: ControllerSnapshot, device: Device) -> ApView:
    """How the controller sees an inventoried AP."""
    member = _member(snapshot, device)
    mac = _text(device.vars.get("mac")).lower()
    known = member is not None or (bool(mac) and mac in snapshot.config.allowed_aps)
    if member is None:
        return ApView(known, False)
    clients: dict[tuple[str, str], int] = {}
    for row in snapshot.bss:
        if row.ap_address == member.address or row.ap_name == member.name:
            key = (row.ssid, row.band)
            clients[key] = clients.get(key, 0) + (row.clients or 0)
    return ApView(True, True, member.name, clients)


def ap_problems(view: ApView, profile: WlanProfile, controller: str) -> list[str]:
    """Why an AP is not verified through its controller (empty: it is)."""
    if not view.known:
        return [f"not known to its controller {controller} (neither its serial number, "
                "address nor MAC): check serial_number and mac in the inventory"]
    if not view.up:
        return [f"down: its controller {controller} knows it but it is not in the cluster"]
    missing = [s.essid for s in profile.ssids if s.essid not in view.ssids]
    return [f"does not beam SSID(s) {', '.join(missing)} (controller {controller})"] \
        if missing else []


def unknown_aps(snapshot: ControllerSnapshot, inventoried: Sequence[Device]) -> list[str]:
    """Cluster APs that match no inventoried AP of the controller, one line each."""
    serials = {d.serial.strip().upper() for d in inventoried if d.serial.strip()}
    addresses = {d.address for d in inventoried}
    return [f"{ap.name} (serial {ap.serial or '?'}, address {ap.address})"
            for ap in snapshot.aps
            if ap.serial.strip().upper() not in serials and ap.address not in addresses]


def aps_of(controller: str, devices: Sequence[Device]) -> list[Device]:
    """The inventoried APs that name this controller."""
    return [d for d in devices if d.role is Role.ACCESS_POINT and controller_name(d) == controller]
