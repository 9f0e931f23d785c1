"""A school's WLAN profile as Aruba Instant SSID profiles and RADIUS servers. Pure.

The school's `school_network` group variable (provisioner/inventory/profile.py) lists
one SSID per VLAN with its security; this module says what that is on an Instant
virtual controller, in the words of its CLI and of the REST Configuration API that
mirrors it (Aruba Instant 8.x CLI Reference Guide: `wlan ssid-profile`, `wlan
auth-server`; Aruba Instant 8.x REST API Guide, "Configuration APIs"):

| profile security | opmode | type | more |
|---|---|---|---|
| `wpa2-enterprise` | `wpa2-aes` (WPA2-Enterprise) | employee | `auth-server`: the RADIUS |
| `wpa3-enterprise` | `wpa3-aes-ccm-128` (WPA3-Enterprise) | employee | `auth-server`: the RADIUS |
| `wpa2-psk` | `wpa2-psk-aes` | employee | `wpa-passphrase` from `wlan_psk_file` |
| `open-captive-portal` | `opensystem` | guest | `captive-portal internal` (vouchers) |

Every SSID is bridged to its VLAN (`vlan`). The profile's first RADIUS server becomes the
`wlan auth-server` named `radius1` (port 1812, its shared secret from
`radius_secret_file`) that the 802.1X SSIDs use; further servers of the profile are not
put on the controller (Instant's backup server per SSID is not used).
Secrets are never part of what this module returns: only that a profile needs one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RADIUS_PORT = 1812
RADIUS_PREFIX = "radius"
# profile security -> (opmode, type, needs RADIUS, needs the PSK, captive portal)
SECURITY: dict[str, tuple[str, str, bool, bool, str]] = {
    "wpa2-enterprise": ("wpa2-aes", "employee", True, False, "disable"),
    "wpa3-enterprise": ("wpa3-aes-ccm-128", "employee", True, False, "disable"),
    "wpa2-psk": ("wpa2-psk-aes", "employee", False, True, "disable"),
    "open-captive-portal": ("opensystem", "guest", False, False, "internal"),
}


class ProfileError(ValueError):
    """The school's WLAN profile cannot be put on the controller (names what and why)."""


@dataclass(frozen=True)
class SsidProfile:
    """One SSID profile as the controller should hold it.

    Attributes:
        name: the profile's name (the SSID itself: one profile per SSID).
        essid: the network name clients see.
        opmode: the Instant operation mode (encryption and key management).
        vlan: the VLAN its clients are bridged to.
        type: `employee` or `guest`.
        auth_servers: the RADIUS servers (`wlan auth-server` names), enterprise only.
        psk: whether it needs the pre-shared key.
        captive_portal: `disable` or `internal`.
    """

    name: str
    essid: str
    opmode: str
    vlan: int
    type: str
    auth_servers: tuple[str, ...] = ()
    psk: bool = False
    captive_portal: str = "disable"

    def settings(self) -> dict[str, str]:
        """The non-secret settings as `show running-config` lists them, in its order."""
        found = {"enable": "", "type": self.type, "essid": self.essid, "opmode": self.opmode,
                 "vlan": str(self.vlan)}
        if self.auth_servers:  # one `auth-server NAME` line each, primary first
            found["auth-server"] = ",".join(self.auth_servers)
        found["captive-portal"] = self.captive_portal
        return found


@dataclass(frozen=True)
class AuthServer:
    """One RADIUS server (`wlan auth-server`): its name, address and port; its key is a
    secret from a file."""

    name: str
    ip: str
    port: int = RADIUS_PORT

    def settings(self) -> dict[str, str]:
        """The non-secret settings as `show running-config` lists them."""
        return {"ip": self.ip, "port": str(self.port)}


@dataclass(frozen=True)
class WlanProfile:
    """What the controller should hold for the school."""

    ssids: tuple[SsidProfile, ...]
    auth_servers: tuple[AuthServer, ...]

    @property
    def needs_psk(self) -> bool:
        """Whether an SSID needs the pre-shared key."""
        return any(s.psk for s in self.ssids)

    @property
    def needs_radius(self) -> bool:
        """Whether an SSID authenticates against RADIUS."""
        return bool(self.auth_servers)


def _vlan(entry: Mapping[str, Any], name: str) -> int:
    try:
        vid = int(str(entry.get("vlan")))
    except ValueError:
        raise ProfileError(f"SSID {name!r} has vlan {entry.get('vlan')!r}, not a number; "
                           "give the VLAN id (1-4094)") from None
    if not 1 <= vid <= 4094:
        raise ProfileError(f"SSID {name!r} has vlan {vid}; VLAN ids run from 1 to 4094")
    return vid


def _ssid(entry: object, servers: tuple[str, ...]) -> SsidProfile:
    if not isinstance(entry, Mapping) or not str(entry.get("name") or "").strip():
        raise ProfileError(f"an SSID of the profile is {entry!r}; give name, vlan, security")
    name = str(entry["name"]).strip()
    if len(name.encode()) > 32:
        raise ProfileError(f"SSID {name!r} is longer than 32 bytes (802.11 allows 32)")
    security = str(entry.get("security") or "")
    if security not in SECURITY:
        raise ProfileError(f"SSID {name!r} has security {security!r}; use one of "
                           f"{', '.join(SECURITY)}")
    opmode, kind, radius, psk, portal = SECURITY[security]
    if radius and not servers:
        raise ProfileError(f"SSID {name!r} authenticates by 802.1X but the profile has no "
                           "radius_servers; add the school's RADIUS servers")
    return SsidProfile(name, name, opmode, _vlan(entry, name), kind,
                       servers if radius else (), psk, portal)


def wlan_profile(network: Mapping[str, Any]) -> WlanProfile:
    """The controller's share of a school's `school_network` profile.

    Raises:
        ProfileError: an SSID lacks a name, has an unknown security or a bad VLAN,
            names are doubled, or 802.1X is asked for without RADIUS servers.
    """
    radius = network.get("radius_servers") or []
    if not isinstance(radius, Sequence) or isinstance(radius, str):
        raise ProfileError(f"radius_servers is {radius!r}; give a list of addresses")
    servers = tuple(AuthServer(f"{RADIUS_PREFIX}{n}", str(ip))
                    for n, ip in enumerate(radius[:1], start=1))
    entries = network.get("ssids") or []
    if not isinstance(entries, Sequence) or isinstance(entries, str) or not entries:
        raise ProfileError("the profile lists no ssids; give one SSID per VLAN")
    ssids = tuple(_ssid(entry, tuple(s.name for s in servers)) for entry in entries)
    names = [s.name for s in ssids]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ProfileError(f"SSID(s) {', '.join(doubled)} listed twice; each SSID once")
    used = {name for s in ssids for name in s.auth_servers}
    return WlanProfile(ssids, tuple(s for s in servers if s.name in used))
