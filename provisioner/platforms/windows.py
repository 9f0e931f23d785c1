"""Windows servers: health over SNMP only (HOST-RESOURCES-MIB).

- Health: the windows profile (enterprise 311): system, IF-MIB, HOST-RESOURCES-MIB.
- Not provisioned: the school platforms' Windows servers are managed by their vendors.
"""

from __future__ import annotations

from provisioner.health.profiles.base import Profile
from provisioner.health.profiles.common import ROLE_EXTRAS, by_enterprise
from provisioner.health.profiles.interfaces import INTERFACES
from provisioner.health.profiles.server import HOST_RESOURCES
from provisioner.health.profiles.system import SYSTEM
from provisioner.platforms.base import Platform, PlatformKind

HEALTH = Profile("windows", "Microsoft", (SYSTEM, INTERFACES, HOST_RESOURCES),
                 by_enterprise(311), ROLE_EXTRAS)


class Windows(Platform):
    """Windows servers."""

    name = "windows"
    title = "Microsoft Windows (server)"
    kind = PlatformKind.SERVER
    health = (HEALTH,)


PLATFORM = Windows()
