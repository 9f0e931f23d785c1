"""What a school's WLAN controllers carry now: their SSIDs, their APs, clients per SSID.

Read live through each controller's API (`readback.read_controller`: one session each,
side by side); nothing is stored. For `provision wlan --school ID`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from provisioner.errors import ProvisionerError
from provisioner.models import Device, Role
from provisioner.wlan.readback import (
    ControllerSnapshot,
    ap_view,
    aps_of,
    controller_access,
    read_controller,
    unknown_aps,
)


@dataclass(frozen=True)
class SsidLine:
    """One SSID profile on the controller."""

    name: str
    essid: str
    vlan: str
    opmode: str
    enabled: bool


@dataclass(frozen=True)
class ApLine:
    """One inventoried AP of the controller: `up`, `down` or `not known`, its clients per SSID."""

    name: str
    state: str
    clients: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Its clients over every SSID."""
        return sum(self.clients.values())


@dataclass(frozen=True)
class ControllerView:
    """One controller as it answered, or why it did not."""

    name: str
    platform: str
    address: str
    error: str = ""
    ssids: tuple[SsidLine, ...] = ()
    aps: tuple[ApLine, ...] = ()
    unknown: tuple[str, ...] = ()


def _ssids(snapshot: ControllerSnapshot) -> tuple[SsidLine, ...]:
    return tuple(SsidLine(name, p.get("essid", name), p.get("vlan", ""), p.get("opmode", ""),
                          "enable" in p)
                 for name, p in snapshot.config.ssid_profiles.items())


def _aps(snapshot: ControllerSnapshot, aps: Sequence[Device]) -> tuple[ApLine, ...]:
    lines = []
    for ap in aps:
        view = ap_view(snapshot, ap)
        state = "up" if view.up else "down" if view.known else "not known"
        per_ssid: dict[str, int] = {}
        for (ssid, _band), count in view.clients.items():
            per_ssid[ssid] = per_ssid.get(ssid, 0) + count
        lines.append(ApLine(ap.name, state, per_ssid))
    return tuple(lines)


def _view(device: Device, school: Sequence[Device]) -> ControllerView:
    try:
        snapshot = read_controller(controller_access(device))
    except ProvisionerError as exc:
        return ControllerView(device.name, device.platform, device.address, str(exc))
    aps = aps_of(device.name, school)
    return ControllerView(device.name, device.platform, device.address, "", _ssids(snapshot),
                          _aps(snapshot, aps), tuple(unknown_aps(snapshot, aps)))


def school_wlan(devices: Sequence[Device]) -> list[ControllerView]:
    """Every WLAN controller of the devices (a school's), read side by side, by name."""
    controllers = sorted((d for d in devices if d.role is Role.WLAN_CONTROLLER),
                         key=lambda d: d.name)
    if not controllers:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(controllers))) as pool:
        return list(pool.map(lambda d: _view(d, devices), controllers))
