"""Cisco wireless LAN controllers (AireOS): health over SNMP only.

- Health: the cisco-wlc profile (enterprise 9 or 14179 and a sysDescr naming a
  controller): AIRESPACE-WIRELESS-MIB.
"""

from __future__ import annotations

from provisioner.health.profiles.base import Profile
from provisioner.health.profiles.common import SWITCH_SECTIONS, by_enterprise
from provisioner.health.profiles.wlan import CISCO_WLAN
from provisioner.platforms.base import Platform, PlatformKind


def _cisco_wlc(oid: str, descr: str) -> bool:
    return by_enterprise(9, 14179)(oid, descr) and "controller" in descr.lower()


HEALTH = Profile("cisco-wlc", "Cisco", (*SWITCH_SECTIONS, CISCO_WLAN), _cisco_wlc)


class CiscoWlc(Platform):
    """Cisco AireOS wireless LAN controllers."""

    name = "cisco_wlc"
    title = "Cisco AireOS (WLAN controller)"
    kind = PlatformKind.WLAN_CONTROLLER
    aliases = ("cisco_aireos",)
    health = (HEALTH,)


PLATFORM = CiscoWlc()
