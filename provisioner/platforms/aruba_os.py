"""ArubaOS WLAN controllers (7000/7200 series, Mobility Controllers): health over SNMP.

- Health: the aruba-controller profile (enterprise 14823): WLSX-WLAN-MIB and
  WLSX-USER-MIB for controllers; Instant clusters answer AI-AP-MIB under the same
  enterprise number, read by the same profile (whichever MIB answers).
- Lab: SNMP only, answered from snmpsim-data's Aruba 7010 recording.
"""

from __future__ import annotations

from provisioner.health.profiles.base import Profile
from provisioner.health.profiles.common import ROLE_EXTRAS, SWITCH_SECTIONS, by_enterprise
from provisioner.health.profiles.wlan import ARUBA_INSTANT, ARUBA_WLAN
from provisioner.platforms.base import LabSimulator, Platform, PlatformKind

HEALTH = Profile("aruba-controller", "Aruba", (*SWITCH_SECTIONS, ARUBA_WLAN, ARUBA_INSTANT),
                 by_enterprise(14823), ROLE_EXTRAS)


class ArubaOs(Platform):
    """ArubaOS WLAN controllers."""

    name = "aruba_os"
    title = "HPE Aruba ArubaOS (WLAN controller)"
    kind = PlatformKind.WLAN_CONTROLLER
    health = (HEALTH,)
    lab = LabSimulator("recorded", "SNMP only, from snmpsim-data's Aruba 7010 recording",
                       snmp_recording="network/wifi/aruba-7010")


PLATFORM = ArubaOs()
