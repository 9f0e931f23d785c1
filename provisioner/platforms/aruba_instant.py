"""HPE Aruba Instant: the virtual controller of a school's Instant APs, and those APs.

A WLAN controller platform: the school's SSIDs are configured on the controller, which
puts them on every AP of its cluster; the APs (inventory `platform: aruba_instant`, host
var `controller: <its controller>`) are never reached one by one.

- Ansible: the `wlan_controller` role's action plugin `aruba_instant_wlan`
  (provisioner/ansible_plugins/action/), on the control node over the controller's REST
  API (Aruba Instant 8.x REST API Guide, HTTPS 4343, TLS against the pinned
  certificate): SSID profiles and the RADIUS server created or changed, nothing else
  touched; check mode and `--diff` show what would change, secrets named by file.
- Read-back: the same API (`show running-config`, `show aps`, `show ap bss-table`,
  provisioner/wlan/): the controller holds the profile's SSIDs; each AP is known (serial,
  address or MAC), up and beams them; cluster APs the inventory does not know are named.
  An AP whose inventory lets it answer SNMP must answer SNMPv3 too.
- Health: per AP up/down and clients per SSID and radio from the controller's API
  (provisioner/health/controllers.py); over SNMP, a cluster answers AI-AP-MIB under
  Aruba's enterprise number, read by the ArubaOS profile (shared).
- Lab: one simulated virtual controller per school with its APs (HTTPS REST API,
  provisioner/lab/wlansim.py, which lists what it does not emulate).
"""

from __future__ import annotations

from pathlib import Path

from provisioner.models import Device
from provisioner.platforms.aruba_os import HEALTH as ARUBA_HEALTH
from provisioner.platforms.base import (
    AnsibleAccess,
    LabSimulator,
    Platform,
    PlatformKind,
    ReadBack,
)


class ArubaInstant(Platform):
    """Aruba Instant virtual controllers (and the APs of their clusters)."""

    name = "aruba_instant"
    title = "HPE Aruba Instant (virtual controller and its APs)"
    kind = PlatformKind.WLAN_CONTROLLER
    aliases = ("aruba_iap", "instant")
    ansible = AnsibleAccess(connection="local", role="wlan_controller",
                            host_vars={"ansible_connection": "local",
                                       "ansible_python_interpreter":
                                           "{{ ansible_playbook_python }}"})
    read_back = ReadBack("https", (
        "show running-config: ssid-profile, auth-server, allowed-ap blocks "
        "(provisioner/wlan/instant_cli.py)",
        "show aps: cluster members (name, address, serial)",
        "show ap bss-table: SSIDs and clients per AP and radio"))
    health = (ARUBA_HEALTH,)
    lab = LabSimulator("wlan_controller", "Aruba Instant virtual controller over HTTPS "
                       "(REST API as the Instant 8.x REST API Guide documents it), its APs "
                       "inside it")
    notes = ("controllers and their APs are read back and watched through the controller's "
             "REST API, all APs of a controller in one session")

    def verify(self, device: Device, known_hosts: Path) -> list[str]:
        """Never reached: verification reads controllers and their APs together, once per
        controller (provisioner/wlan/verify.py runs before the per-device read-backs)."""
        return []


PLATFORM = ArubaInstant()
