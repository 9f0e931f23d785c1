"""A school's network profile following the German reference design.

The administration network (Verwaltungsnetz) is its own VLAN that no SSID and no
pedagogical VLAN reaches: the separation the school laws of every state require.
Addressing: one /16 per school out of 10.0.0.0/8, WLAN client subnets /20.

The profile is the `school_network` group variable the site playbooks read: VLANs
with their DHCP ranges, SSIDs, switch port profiles per room kind and the layout of
access ports, and the addresses of the central services (NTP, DNS, RADIUS) of the
Schulträger's centre. Secrets (RADIUS shared secret, WLAN pre-shared key) are never
in it: the inventory names the files that hold them.
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
# VLANs whose clients get addresses from the school server's DHCP; servers and
# network devices have fixed addresses.
_DHCP_VLANS = frozenset({10, 20, 30, 50, 60})

# SSID -> (VLAN id, security): teachers authenticate by 802.1X against RADIUS,
# guests through a voucher portal, building devices with a pre-shared key.
_SSIDS: tuple[tuple[str, int, str], ...] = (
    ("Lehrkraefte", 20, "wpa2-enterprise"),
    ("Schueler", 30, "wpa2-enterprise"),
    ("Gaeste", 50, "open-captive-portal"),
    ("Geraete", 60, "wpa2-psk"),
)

# Switch port profiles by room kind: what a wall socket in such a room carries.
# Access points get a trunk: management untagged, the SSIDs' VLANs tagged.
_PORT_PROFILES: tuple[tuple[str, int], ...] = (
    ("Klassenraum", 30),
    ("Lehrerzimmer", 20),
    ("Verwaltung", 10),
    ("Geraete", 60),
    ("Server", 40),
)
AP_PORT_PROFILE = "AccessPoint"
UPLINK_PORT_PROFILE = "Uplink"
# (port profile, first port, last port) on a 24/48-port access switch.
_PORT_LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("Klassenraum", 1, 12),
    ("Lehrerzimmer", 13, 16),
    ("Verwaltung", 17, 18),
    ("Geraete", 19, 20),
    (AP_PORT_PROFILE, 21, 24),
)

# The Schulträger centre's services, in the city's central 10.0.0.0/16.
CENTRAL_NTP = ("10.0.0.123",)
CENTRAL_DNS = ("10.0.0.53",)
CENTRAL_RADIUS = ("10.0.0.18",)
# Who answers for the devices (SNMP sysContact): the Schulträger's school IT desk.
CONTACT = "Schul-IT des Schultraegers <schul-it@schultraeger.invalid>"


def school_supernet(school_no: int) -> ipaddress.IPv4Network:
    """The /16 of the school numbered `school_no` (1-based) in the city's 10.0.0.0/8."""
    if not 1 <= school_no <= 255:
        raise ValueError("school numbers for addressing run from 1 to 255")
    return ipaddress.IPv4Network(f"10.{school_no}.0.0/16")


def _dhcp_range(subnet: ipaddress.IPv4Network) -> dict[str, str]:
    """Clients from .100 of the subnet to its last usable address less 5 (kept for printers)."""
    first = subnet.network_address + 100
    last = subnet.broadcast_address - 6
    return {"start": str(first), "end": str(last)}


def _vlan(vid: int, name: str, zone: str, subnet: ipaddress.IPv4Network,
          gateway: str) -> dict[str, Any]:
    vlan: dict[str, Any] = {"id": vid, "name": name, "zone": zone, "subnet": str(subnet),
                            "gateway": gateway}
    if vid in _DHCP_VLANS:
        vlan["dhcp"] = _dhcp_range(subnet)
    return vlan


def _port_profiles() -> list[dict[str, Any]]:
    wlan_vlans = sorted({vid for _name, vid, _sec in _SSIDS})
    profiles: list[dict[str, Any]] = [
        {"name": name, "mode": "access", "vlan": vid} for name, vid in _PORT_PROFILES
    ]
    profiles.append({"name": AP_PORT_PROFILE, "mode": "trunk", "native_vlan": 99,
                     "vlans": [*wlan_vlans, 99]})
    # The access switch's uplink to the distribution carries every school VLAN.
    profiles.append({"name": UPLINK_PORT_PROFILE, "mode": "trunk", "native_vlan": 99,
                     "vlans": sorted(vid for vid, *_rest in _VLANS)})
    return profiles


def network_profile(
    school_no: int, management: ipaddress.IPv4Network | None = None,
    management_gateway: str | None = None, central: str | None = None,
) -> dict[str, Any]:
    """The `school_network` group variables of a school.

    Args:
        school_no: the school's address index (1-255), not its Schulnummer.
        management: the management VLAN's subnet if it is not the school's own
            `10.N.0.0/24` (the lab manages its devices over its bridge network).
        management_gateway: the management VLAN's gateway with `management`
            (default: its first address).
        central: one address for all central services instead of the city's
            NTP/DNS/RADIUS servers (the lab points them at its bridge: no packet
            leaves the machine).

    Returns:
        `{"school_network": {...}}`: supernet, vlans (id, name, zone, subnet, gateway,
        dhcp start/end for client VLANs), ssids (name, vlan, security), port_profiles
        (name, mode access+vlan or trunk+native_vlan+vlans), access_ports (profile,
        first, last port number), management/administration VLAN ids, domain,
        contact (sysContact) and the central ntp/dns/radius server addresses.

    Raises:
        ValueError: `school_no` is outside 1-255.
    """
    net = school_supernet(school_no)
    octet = str(net.network_address).split(".")[1]
    vlans = []
    for vid, name, zone, third, prefix in _VLANS:
        subnet = ipaddress.IPv4Network(f"10.{octet}.{third}.0/{prefix}")
        gateway = f"10.{octet}.{third}.1"
        if vid == 99 and management is not None:
            subnet = management
            gateway = management_gateway or str(management.network_address + 1)
        vlans.append(_vlan(vid, name, zone, subnet, gateway))
    ssids = [{"name": name, "vlan": vid, "security": security} for name, vid, security in _SSIDS]
    return {
        "school_network": {
            "supernet": str(net),
            "domain": f"schule{octet}.intern",
            "contact": CONTACT,
            "vlans": vlans,
            "ssids": ssids,
            "management_vlan": 99,
            "administration_vlan": 10,
            "port_profiles": _port_profiles(),
            "access_ports": [{"profile": p, "first": a, "last": b} for p, a, b in _PORT_LAYOUT],
            "ntp_servers": [central] if central else list(CENTRAL_NTP),
            "dns_servers": [central] if central else list(CENTRAL_DNS),
            "radius_servers": [central] if central else list(CENTRAL_RADIUS),
        }
    }
