"""The report's devices one by one: those that need attention, and schools not in the plan.

The committee counts verified devices; these lists say which devices the record cannot
vouch for and why (a changed host key, a failed task, silence), and which devices were
installed at schools the plan in force does not contain (offices replace hardware
before the plan is updated). Both read the rollout state as of the report's day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from provisioner.models import DeviceRollout, Role
from provisioner.outcome import DeviceState, HealthState


@dataclass(frozen=True)
class DeviceCounts:
    """Synced devices of a school (or all): rollout states and latest health."""

    total: int = 0
    provisioned: int = 0
    verified: int = 0
    health: dict[str, int] = field(default_factory=dict)

    @property
    def healthy(self) -> int:
        """Devices whose latest sample says ok."""
        return self.health.get(HealthState.OK, 0)

    @property
    def unchecked(self) -> int:
        """Devices without any health sample up to the as-of date."""
        return self.total - sum(self.health.values())


@dataclass(frozen=True)
class DeviceLine:
    """One device in the report's device lists: where it stands in the rollout, since
    when (ISO, UTC; None: never set) and why (the run's message, "" when all is well)."""

    school_id: str
    school_name: str
    device: str
    role: Role
    state: DeviceState
    since: str | None
    reason: str


@dataclass(frozen=True)
class UnplannedSchool:
    """A school with synced devices that the plan in force does not contain.

    `name` is the name an earlier plan gave it, "" when none did.
    """

    school_id: str
    name: str
    devices: DeviceCounts
    lines: list[DeviceLine]


def device_line(device: DeviceRollout, school_name: str) -> DeviceLine:
    """A device's line from its rollout state as of the report's day."""
    return DeviceLine(device.school_id, school_name, device.name, device.role, device.state,
                      device.state_at, device.detail)


def needing_attention(devices: Iterable[DeviceRollout], names: Mapping[str, str],
                      schools: set[str]) -> list[DeviceLine]:
    """Lines for the devices of `schools` whose state needs a person (by school, device).

    Args:
        devices: every synced device with its state as of the report's day.
        names: school id -> school name.
        schools: the plan's schools in the report's scope.
    """
    return [device_line(d, names.get(d.school_id, "")) for d in devices
            if d.school_id in schools and d.state.needs_attention]


def unplanned_schools(devices: Iterable[DeviceRollout], names: Mapping[str, str],
                      planned: set[str], counts: Mapping[str, DeviceCounts],
                      wanted: set[str] | None) -> list[UnplannedSchool]:
    """The schools with synced devices that are not in the plan in force, with every
    device (by school, device).

    Args:
        devices: every synced device with its state as of the report's day.
        names: school id -> the name an earlier plan gave it.
        planned: the school ids of the plan in force (all its years).
        counts: per school, its device counts (rollout and health).
        wanted: only these schools (`--school`); None: all.
    """
    lines: dict[str, list[DeviceLine]] = {}
    for device in devices:
        if device.school_id in planned or (wanted is not None and
                                           device.school_id not in wanted):
            continue
        lines.setdefault(device.school_id, []).append(
            device_line(device, names.get(device.school_id, "")))
    return [UnplannedSchool(school_id, names.get(school_id, ""),
                            counts.get(school_id, DeviceCounts()), school_lines)
            for school_id, school_lines in sorted(lines.items())]
