"""Ubiquiti UniFi access points: health over SNMP only (the UniFi controller configures them).

- Health: the ubiquiti-unifi profile. UniFi APs answer under Ubiquiti's enterprise
  number (41112) or as net-snmp (8072.3.2.10), like airMAX devices, but carry
  UBNT-UniFi-MIB and no UBNT-AirMAX-MIB; they are told apart by sysDescr, which starts
  with the model ("UAP-AC-Pro", "U6-Lite", "U7-Pro"), as LibreNMS's unifi detection does.
- Not provisioned: the UniFi Network application owns their configuration.
"""

from __future__ import annotations

from provisioner.health.profiles.base import Profile
from provisioner.health.profiles.common import ROLE_EXTRAS, all_of, by_descr, by_enterprise
from provisioner.health.profiles.interfaces import INTERFACES
from provisioner.health.profiles.system import SYSTEM
from provisioner.health.profiles.wlan import UNIFI_WLAN
from provisioner.platforms.base import Platform, PlatformKind

UNIFI_DESCR = r"(UAP|U6|U7|E7|UK|U-LTE)"
HEALTH = Profile("ubiquiti-unifi", "Ubiquiti", (SYSTEM, INTERFACES, UNIFI_WLAN),
                 all_of(by_enterprise(41112, 8072), by_descr(UNIFI_DESCR)), ROLE_EXTRAS)


class UbiquitiUnifi(Platform):
    """Ubiquiti UniFi access points (managed by a UniFi controller)."""

    name = "ubiquiti_unifi"
    title = "Ubiquiti UniFi (access points)"
    kind = PlatformKind.ACCESS_POINT
    aliases = ("unifi",)
    health = (HEALTH,)
    notes = "configured by the UniFi Network application; the tool reads health only"


PLATFORM = UbiquitiUnifi()
