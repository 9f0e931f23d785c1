"""HPE Aruba AOS-S (ProCurve, ArubaOS-Switch: 2530, 2540, 2930F): the most common school switch.

- Health: the hpe-procurve profile (enterprise 11: HP's number, which AOS-S keeps):
  system, ENTITY-MIB, IF-MIB, PoE for switches.
"""

from __future__ import annotations

from provisioner.health.profiles.base import Profile
from provisioner.health.profiles.common import ROLE_EXTRAS, SWITCH_SECTIONS, by_enterprise
from provisioner.platforms.base import Platform, PlatformKind

HEALTH = Profile("hpe-procurve", "HPE", SWITCH_SECTIONS, by_enterprise(11), ROLE_EXTRAS)


class ArubaAosS(Platform):
    """HPE Aruba AOS-S switches."""

    name = "aruba_aoss"
    title = "HPE Aruba AOS-S (ProCurve, ArubaOS-Switch)"
    kind = PlatformKind.SWITCH
    aliases = ("hp_procurve", "aruba_osswitch", "arubaoss")
    health = (HEALTH,)


PLATFORM = ArubaAosS()
