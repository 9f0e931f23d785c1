"""A school's network profile following the German reference design.

The administration network (Verwaltungsnetz) is its own VLAN that no SSID and no
pedagogical VLAN reaches: the separation the school laws of every state require.
Addressing: one /16 per school out of 10.0.0.0/8, WLAN client subnets /20.
"""

from __future__ import annotations

import ipaddress
from typing import Any

# (VLAN id, name, zone, third octet, prefix length)
_VLANS: tuple[tuple[int, str, str, int, int], ...] = (
    (10, "Verwaltung", "administration", 10, 24),
    (20, "Lehrer", "pedagogical", 16, 20),
    (30, "Schueler", "pedagogical", 32, 20),
    (40, "Server", "pedagogical", 4, 24),
    (50, "Gaeste", "guest", 48, 20),
    (60, "Geraete", "devices", 64, 22),
    (99, "Management", "management", 0, 24),
)

# SSID -> (VLAN id, security): teachers authenticate by 802.1X against RADIUS,
# guests through a voucher portal, building devices with a pre-shared key.
_SSIDS: tuple[tuple[str, int, str], ...] = (
    ("Lehrkraefte", 20, "wpa2-enterprise"),
    ("Schueler", 30, "wpa2-enterprise"),
    ("Gaeste", 50, "open-captive-portal"),
    ("Geraete", 60, "wpa2-psk"),
)


def school_supernet(school_no: int) -> ipaddress.IPv4Network:
    """The /16 of the school numbered `school_no` (1-based) in the city's 10.0.0.0/8."""
    if not 1 <= school_no <= 255:
        raise ValueError("school numbers for addressing run from 1 to 255")
    return ipaddress.IPv4Network(f"10.{school_no}.0.0/16")


def network_profile(school_no: int) -> dict[str, Any]:
    """The `school_network` group variables of a school: VLANs, subnets, SSIDs."""
    net = school_supernet(school_no)
    octet = str(net.network_address).split(".")[1]
    vlans = [
        {"id": vid, "name": name, "zone": zone,
         "subnet": f"10.{octet}.{third}.0/{prefix}",
         "gateway": f"10.{octet}.{third}.1"}
        for vid, name, zone, third, prefix in _VLANS
    ]
    ssids = [{"name": name, "vlan": vid, "security": security} for name, vid, security in _SSIDS]
    return {
        "school_network": {
            "supernet": str(net),
            "vlans": vlans,
            "ssids": ssids,
            "management_vlan": 99,
            "administration_vlan": 10,
        }
    }
