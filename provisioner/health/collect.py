"""The run's bridge to the profiles: which second request a device gets, and its parser.

A device's profile is chosen from what it answered to the identity request
(sysObjectID, sysDescr) by `provisioner.health.profiles.profile_for`; the profile's
sections depend on the device's inventory role (host resources for servers, PoE for
switches), so the bridge knows every polled device's role.
"""

from __future__ import annotations

from collections.abc import Mapping

from provisioner.health.facts import DeviceFacts
from provisioner.health.profiles import profile_for
from provisioner.models import Role
from provisioner.snmp import PollRequest, SnmpData, SnmpTarget


class ProfileParser:
    """`FactsParser` over the profiles, for the devices of one run.

    Args:
        roles: device name -> inventory role, for every device polled.
    """

    def __init__(self, roles: Mapping[str, Role]) -> None:
        self._roles = dict(roles)

    def follow_up(self, target: SnmpTarget, identity: SnmpData) -> PollRequest | None:
        """The profile's request for this device and its role."""
        role = self._roles.get(target.name)
        return profile_for(identity).request(role.value if role else "other")

    def parse(self, data: SnmpData, role: Role) -> DeviceFacts:
        """Both phases' answers, read by the device's profile."""
        return profile_for(data).parse(data, role.value)
