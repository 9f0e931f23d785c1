"""Device profiles for the health poll: which OIDs to ask a device, and how to read them.

A health poll has two phases (`SnmpBackend.poll(..., then=...)`): first
`IDENTITY_REQUEST` (sysDescr, sysObjectID, uptime, name, location, contact), then the
request of the profile chosen from sysObjectID's enterprise number and sysDescr
(`select_profile`). `parse()` turns the answers into `DeviceFacts`. Unknown devices get
the generic profile (system group, ENTITY-MIB, IF-MIB). A device's role adds sections:
servers get HOST-RESOURCES/UCD, switches PoE, WLAN devices their vendor's WLAN MIB.

Profiles and the MIBs they follow (see each section's `source`):
    cisco-ios        Cisco IOS switches (9):      system, ENTITY, IF, POWER-ETHERNET
    cisco-wlc        Cisco AireOS controllers:    + AIRESPACE-WIRELESS-MIB
    hpe-procurve     HP/HPE ProCurve/Aruba-OS switches (11): system, ENTITY, IF, PoE
    aruba-controller Aruba (14823): controllers + WLSX-WLAN-MIB / WLSX-USER-MIB,
                     Instant clusters + AI-AP-MIB
    ubiquiti-airmax  Ubiquiti airMAX (41112):     + UBNT-AirMAX-MIB, IEEE802dot11-MIB
    net-snmp         Linux/Unix net-snmp (8072, 2021): + HOST-RESOURCES, UCD-SNMP
    windows          Windows (311):               + HOST-RESOURCES
    network          other network vendors (LANCOM, H3C, Huawei, D-Link, Brocade,
                     Juniper, Zyxel ...): system, ENTITY, IF, PoE
    generic          anything else: system, ENTITY, IF

Not covered yet, for want of a recording or MIB to test against: LANCOM's LCOS-MIB
WLAN tables (LANCOM devices get the "network" profile: system, ENTITY, IF, PoE). The
Aruba Instant part follows the AI-AP-MIB text; no recording of an Instant cluster was
at hand, so its test uses made-up data in that MIB's shape.
"""

from __future__ import annotations

from collections.abc import Callable

from provisioner.health.facts import DeviceFacts
from provisioner.health.profiles.base import Profile, Section, enterprise
from provisioner.health.profiles.interfaces import INTERFACES, POE
from provisioner.health.profiles.server import HOST_RESOURCES
from provisioner.health.profiles.system import ENTITY, SYSTEM, VENDORS
from provisioner.health.profiles.wlan import (
    ARUBA_INSTANT,
    ARUBA_WLAN,
    CISCO_WLAN,
    UBIQUITI_WLAN,
)
from provisioner.snmp import (
    IDENTITY_REQUEST,
    SYS_DESCR,
    SYS_OBJECT_ID,
    FollowUp,
    PollRequest,
    SnmpData,
    SnmpTarget,
)

__all__ = ["IDENTITY_REQUEST", "PROFILES", "Profile", "follow_up", "parse", "profile_for",
           "select_profile"]

_SWITCH = (SYSTEM, ENTITY, INTERFACES)
_ROLE_EXTRAS: dict[str, tuple[Section, ...]] = {
    "switch": (POE,), "server": (HOST_RESOURCES,),
}
_NETWORK_VENDORS = {2356, 25506, 2011, 171, 1991, 2636, 30065, 890, 4526, 11863, 6486, 6027,
                    674, 12356, 25053}


def _ent(*numbers: int) -> Callable[[str, str], bool]:
    return lambda oid, descr: enterprise(oid) in numbers


def _cisco_wlc(oid: str, descr: str) -> bool:
    return enterprise(oid) in (9, 14179) and "controller" in descr.lower()


def _aruba_controller(oid: str, descr: str) -> bool:
    # ArubaOS controllers and Instant clusters alike; whichever MIB answers is read
    return enterprise(oid) == 14823


def _net_snmp(oid: str, descr: str) -> bool:
    return enterprise(oid) in (8072, 2021) or descr.startswith(("Linux ", "FreeBSD "))


PROFILES: tuple[Profile, ...] = (
    Profile("cisco-wlc", "Cisco", (*_SWITCH, CISCO_WLAN), _cisco_wlc),
    Profile("cisco-ios", "Cisco", _SWITCH, _ent(9), {**_ROLE_EXTRAS, "switch": (POE,)}),
    Profile("hpe-procurve", "HPE", _SWITCH, _ent(11), _ROLE_EXTRAS),
    Profile("aruba-controller", "Aruba", (*_SWITCH, ARUBA_WLAN, ARUBA_INSTANT), _aruba_controller,
            _ROLE_EXTRAS),
    Profile("ubiquiti-airmax", "Ubiquiti", (SYSTEM, INTERFACES, UBIQUITI_WLAN), _ent(41112),
            _ROLE_EXTRAS),
    Profile("windows", "Microsoft", (SYSTEM, INTERFACES, HOST_RESOURCES), _ent(311),
            _ROLE_EXTRAS),
    Profile("network", None, _SWITCH, _ent(*_NETWORK_VENDORS), _ROLE_EXTRAS),
    Profile("net-snmp", None, (SYSTEM, INTERFACES, HOST_RESOURCES), _net_snmp, _ROLE_EXTRAS),
)
GENERIC = Profile("generic", None, _SWITCH, lambda oid, descr: True, _ROLE_EXTRAS)


def select_profile(sys_object_id: str | None, sys_descr: str | None) -> Profile:
    """The first profile that fits a device's sysObjectID and sysDescr, else generic."""
    oid, descr = (sys_object_id or "").strip("."), sys_descr or ""
    for profile in PROFILES:
        if profile.matches(oid, descr):
            return profile
    return GENERIC


def profile_for(data: SnmpData) -> Profile:
    """The profile for a device from its first-phase answers (sysObjectID, sysDescr)."""
    oid, descr = data.scalars.get(SYS_OBJECT_ID), data.scalars.get(SYS_DESCR)
    return select_profile(oid if isinstance(oid, str) else None,
                          descr if isinstance(descr, str) else None)


def parse(data: SnmpData, role: str) -> DeviceFacts:
    """Facts from one device's answers (both phases), by the profile its answers select.

    Never raises on odd data: such values are named in `DeviceFacts.anomalies`.
    """
    return profile_for(data).parse(data, role)


def follow_up(role_of: Callable[[SnmpTarget], str], max_rows: int = 10_000) -> FollowUp:
    """The second phase for `SnmpBackend.poll(..., then=...)`: the selected profile's
    request for each device's role (`role_of(target)`)."""

    def then(target: SnmpTarget, data: SnmpData) -> PollRequest | None:
        return profile_for(data).request(role_of(target), max_rows)

    return then


def vendor_names() -> dict[int, str]:
    """Enterprise number -> vendor, as profiles name them."""
    return dict(VENDORS)
