"""Device profiles for the health poll: which OIDs to ask a device, and how to read them.

A health poll has two phases (`SnmpBackend.poll(..., then=...)`): first
`IDENTITY_REQUEST` (sysDescr, sysObjectID, uptime, name, location, contact), then the
request of the profile chosen from sysObjectID's enterprise number and sysDescr
(`select_profile`). `parse()` turns the answers into `DeviceFacts`. A device's role adds
sections: servers get HOST-RESOURCES/UCD, switches PoE, WLAN devices their vendor's
WLAN MIB.

The profiles are the platforms' (provisioner/platforms/, `provision platforms`), tried
in registry order; each section names the MIB it follows (see its `source`). After them
come two fallbacks:
    network          other network vendors (LANCOM, H3C, Huawei, D-Link, Brocade,
                     Juniper, Zyxel ...): system, ENTITY, IF, PoE
    generic          anything else: system, ENTITY, IF

Not covered yet, for want of a recording or MIB to test against: LANCOM's LCOS-MIB
WLAN tables (LANCOM devices get the "network" profile: system, ENTITY, IF, PoE). The
Aruba Instant and UniFi parts follow their MIBs' text; no recording of either was at
hand, so their tests use made-up data in those MIBs' shape.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from provisioner.health.facts import DeviceFacts
from provisioner.health.profiles.base import Profile
from provisioner.health.profiles.common import GENERIC, NETWORK
from provisioner.health.profiles.system import VENDORS
from provisioner.snmp import (
    IDENTITY_REQUEST,
    SYS_DESCR,
    SYS_OBJECT_ID,
    FollowUp,
    PollRequest,
    SnmpData,
    SnmpTarget,
)

__all__ = ["GENERIC", "IDENTITY_REQUEST", "Profile", "follow_up", "parse", "profile_for",
           "profiles", "select_profile"]

@functools.cache
def profiles() -> tuple[Profile, ...]:
    """Every profile in the order they are tried: the platforms', then the fallbacks.

    A profile several platforms share (net-snmp for Debian servers and Linux access
    points) is tried once, where its first platform stands.
    """
    # Imported here: the platforms build their profiles from this package's sections.
    from provisioner.platforms import platforms

    chosen: dict[str, Profile] = {}
    for platform in platforms():
        for profile in platform.health:
            chosen.setdefault(profile.name, profile)
    chosen.setdefault(NETWORK.name, NETWORK)
    return tuple(chosen.values())


def select_profile(sys_object_id: str | None, sys_descr: str | None) -> Profile:
    """The first profile that fits a device's sysObjectID and sysDescr, else generic."""
    oid, descr = (sys_object_id or "").strip("."), sys_descr or ""
    for profile in profiles():
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
