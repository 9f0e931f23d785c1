"""Building blocks platforms make their health profiles of (provisioner/platforms/).

A switch of any vendor answers the system group, ENTITY-MIB and IF-MIB; a device's
inventory role adds sections (PoE for switches, host resources for servers). The
matchers here decide from a device's first-phase answers (sysObjectID, sysDescr).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from provisioner.health.profiles.base import Profile, Section, enterprise
from provisioner.health.profiles.interfaces import INTERFACES, POE
from provisioner.health.profiles.server import HOST_RESOURCES
from provisioner.health.profiles.system import ENTITY, SYSTEM

Matcher = Callable[[str, str], bool]

SWITCH_SECTIONS: tuple[Section, ...] = (SYSTEM, ENTITY, INTERFACES)
ROLE_EXTRAS: dict[str, tuple[Section, ...]] = {"switch": (POE,), "server": (HOST_RESOURCES,)}
# Vendors of network gear without a profile of their own: LANCOM, H3C, Huawei, D-Link,
# Brocade, Juniper, Arista, Zyxel, Netgear, TP-Link, Alcatel-Lucent, Dell, Fortinet,
# Ruckus (IANA enterprise numbers).
NETWORK_VENDORS = (2356, 25506, 2011, 171, 1991, 2636, 30065, 890, 4526, 11863, 6486, 6027,
                   674, 12356, 25053)


def by_enterprise(*numbers: int) -> Matcher:
    """A matcher: the sysObjectID lies under one of these enterprise numbers."""
    return lambda oid, descr: enterprise(oid) in numbers


def by_descr(pattern: str) -> Matcher:
    """A matcher: sysDescr matches the regular expression (from its start)."""
    regex = re.compile(pattern)
    return lambda oid, descr: regex.match(descr) is not None


def all_of(*matchers: Matcher) -> Matcher:
    """A matcher: every one of `matchers` matches."""
    return lambda oid, descr: all(m(oid, descr) for m in matchers)


def none_of(*matchers: Matcher) -> Matcher:
    """A matcher: none of `matchers` matches."""
    return lambda oid, descr: not any(m(oid, descr) for m in matchers)


# Network gear of vendors without a profile of their own, and anything else: the
# fallbacks after every platform's profiles.
NETWORK = Profile("network", None, SWITCH_SECTIONS, by_enterprise(*NETWORK_VENDORS),
                  ROLE_EXTRAS)
GENERIC = Profile("generic", None, SWITCH_SECTIONS, lambda oid, descr: True, ROLE_EXTRAS)
