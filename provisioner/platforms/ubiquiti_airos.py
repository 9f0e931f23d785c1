"""Ubiquiti airMAX (airOS) radios: health over SNMP only.

- Health: the ubiquiti-airmax profile (enterprise 41112, e.g. 1.3.6.1.4.1.41112.1.4):
  UBNT-AirMAX-MIB and IEEE802dot11-MIB. UniFi APs answer under the same enterprise
  number and are caught by the ubiquiti_unifi platform first (registry order).
- Lab: SNMP only, answered from snmpsim-data's NanoStation M5 recording.
"""

from __future__ import annotations

from provisioner.health.profiles.base import Profile
from provisioner.health.profiles.common import ROLE_EXTRAS, by_enterprise
from provisioner.health.profiles.interfaces import INTERFACES
from provisioner.health.profiles.system import SYSTEM
from provisioner.health.profiles.wlan import UBIQUITI_WLAN
from provisioner.platforms.base import LabSimulator, Platform, PlatformKind

HEALTH = Profile("ubiquiti-airmax", "Ubiquiti", (SYSTEM, INTERFACES, UBIQUITI_WLAN),
                 by_enterprise(41112), ROLE_EXTRAS)


class UbiquitiAirOs(Platform):
    """Ubiquiti airMAX radios (airOS)."""

    name = "ubiquiti_airos"
    title = "Ubiquiti airMAX (airOS)"
    kind = PlatformKind.ACCESS_POINT
    aliases = ("airos",)
    health = (HEALTH,)
    lab = LabSimulator("recorded", "SNMP only, from snmpsim-data's NanoStation M5 recording",
                       snmp_recording="network/wifi/ubiquiti-m5")


PLATFORM = UbiquitiAirOs()
