"""Checks of the inventories against each other and against the plan. Pure logic."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from provisioner.ansible_plugins.filter.device_answers import inventory_mac_problem
from provisioner.errors import Problem
from provisioner.inventory.loader import InventoryLoad
from provisioner.inventory.uplinks import check_uplinks
from provisioner.models import ROLE_MEASURE, Device, PlanItem, Role
from provisioner.platforms import find_platform, platforms


@dataclass(frozen=True)
class CountComparison:
    """Devices of one role at a school: how many the plan funds, how many are inventoried."""

    school_id: str
    role: Role
    planned: int
    inventoried: int

    @property
    def difference(self) -> int:
        """Inventoried minus planned (negative: still to be installed)."""
        return self.inventoried - self.planned


@dataclass
class InventoryReport:
    """The result of `check_inventory`: problems block; warnings and comparisons inform.

    `seen` counts every host Ansible sees; each one is a device or named in a problem.
    """

    devices: list[Device]
    problems: list[Problem] = field(default_factory=list)
    comparisons: list[CountComparison] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    seen: int = 0
    schools: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem was found."""
        return not self.problems


def _school_folder(root: str, school_id: str) -> str:
    return f"{root}/{school_id}"


def _duplicates(devices: Sequence[Device], attr: str, load: InventoryLoad) -> list[Problem]:
    seen: dict[str, Device] = {}
    problems = []
    for device in devices:
        value = getattr(device, attr)
        first = seen.setdefault(value, device)
        if first is not device:
            what = "address" if attr == "address" else "host name"
            problems.append(Problem(
                load.files.get((device.school_id, device.name), device.school_id),
                f"host {device.name!r} uses {what} {value} already used by host {first.name!r} "
                f"of school {first.school_id}; each {what} must be unique across all schools",
            ))
    return problems


def _shared_macs(devices: Sequence[Device], load: InventoryLoad) -> list[Problem]:
    """A warning for every device whose inventory `mac` an earlier one has too.

    A MAC belongs to one device, so one of the two is wrong: the servers reserve it for
    the AP they already hold it for, else for neither, and an AP that does not get it
    keeps what the servers hold for it (the run says so too). A warning, not a problem:
    the run keeps the held reservations rather than stop.
    """
    seen: dict[str, Device] = {}
    warnings = []
    for device in devices:
        mac = device.vars.get("mac")
        if not isinstance(mac, str) or inventory_mac_problem(mac):
            continue  # unusable ones are warned of where the host is read
        first = seen.setdefault(mac.lower(), device)
        if first is not device:
            warnings.append(Problem(
                load.files.get((device.school_id, device.name), device.school_id),
                f"host {device.name!r} has mac {mac.lower()} that host {first.name!r} of "
                f"school {first.school_id} has too; a MAC belongs to one device: fix the "
                "wrong one (each keeps the reservation the servers hold for it, or gets none)"))
    return warnings


# (role, platform kind) that go together: each role with its own kind, and an access
# point with its WLAN controller's platform (an Instant AP, a campus AP of a controller).
_FITTING = {*((role.value, role.value) for role in Role),
            (Role.ACCESS_POINT.value, "wlan_controller")}


def _platform_problems(devices: Sequence[Device], load: InventoryLoad) -> list[Problem]:
    """Managed devices whose platform the registry does not know (a typo, or a vendor the
    tool has no platform for: set `managed: false`), or whose platform is of another kind
    than their group (a switch with a server's platform): the run would pick the wrong
    role or connection. A device watched over SNMP only is read by what it answers, not
    by its platform, so its platform is not checked."""
    names = sorted({n for p in platforms() for n in (p.name, *p.aliases)})
    problems: list[Problem] = []
    for device in (d for d in devices if d.managed):
        where = load.files.get((device.school_id, device.name), device.school_id)
        platform = find_platform(device.platform)
        if platform is None:
            near = difflib.get_close_matches(device.platform.lower(), names, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            problems.append(Problem(where, (
                f"host {device.name!r}: platform {device.platform!r} is not one the tool "
                f"knows{hint}; 'provision platforms' lists them (or set managed: false)")))
        elif (device.role.value, platform.kind.value) not in _FITTING:
            problems.append(Problem(where, (
                f"host {device.name!r} is in the group {device.role.group}, but its platform "
                f"{platform.name} is for a {platform.kind.value.replace('_', ' ')}; fix the "
                "group or the platform (or set managed: false)")))
    return problems


def _school_problems(schools: Iterable[str], root: str) -> list[Problem]:
    return [Problem(_school_folder(root, school_id), f"folder {school_id!r} is not a 6-digit "
                    "Schulnummer; rename it to the school's id")
            for school_id in schools if not (len(school_id) == 6 and school_id.isdigit())]


def unplanned_warnings(schools: Iterable[str], planned: set[str], root: str) -> list[Problem]:
    """A warning per school that is not in the plan in force.

    Not a problem: offices replace hardware before the plan is updated. Such a school's
    devices are synced and provisioned like any other, and the committee report lists
    them in its section "not in the plan".
    """
    return [Problem(_school_folder(root, school_id),
                    f"school {school_id} is not in the plan in force; its devices are kept "
                    "and reported under 'not in the plan': import a plan that contains it")
            for school_id in schools
            if len(school_id) == 6 and school_id.isdigit() and school_id not in planned]


def compare_counts(devices: Sequence[Device], items: Sequence[PlanItem],
                   schools: Iterable[str]) -> list[CountComparison]:
    """Planned quantities (summed over all years) against inventoried devices, per role."""
    planned: Counter[tuple[str, Role]] = Counter()
    measure_role = {measure: role for role, measure in ROLE_MEASURE.items()}
    for item in items:
        role = measure_role.get(item.measure)
        if role is not None and item.quantity:
            planned[(item.school_id, role)] += item.quantity
    counted = Counter((d.school_id, d.role) for d in devices)
    return [
        CountComparison(school_id, role, planned[(school_id, role)], counted[(school_id, role)])
        for school_id in sorted(set(schools))
        for role in Role
    ]


def _uplink_findings(load: InventoryLoad) -> tuple[list[Problem], list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for school_id in load.schools:
        devices = [d for d in load.devices if d.school_id == school_id]
        seen = {name for school, name in load.seen if school == school_id}
        found = check_uplinks(devices, seen,
                              lambda d: load.files.get((d.school_id, d.name), d.school_id))
        problems += found[0]
        warnings += found[1]
    return problems, warnings


def check_inventory(load: InventoryLoad, plan_items: Sequence[PlanItem],
                    plan_schools: set[str], root: str) -> InventoryReport:
    """Check loaded inventories: completeness, uniqueness, uplinks, membership in the plan.

    Args:
        load: what `load_inventories` read.
        plan_items: the plan in force (for the count comparison).
        plan_schools: the school ids of the plan in force (others get a warning).
        root: the inventories folder (named in school problems).

    Returns:
        The report; `ok` is False when any problem was found.
    """
    report = InventoryReport(devices=load.devices, problems=list(load.problems),
                             warnings=list(load.warnings), seen=len(load.seen),
                             schools=list(load.schools))
    report.problems += _school_problems(load.schools, root)
    report.warnings += unplanned_warnings(load.schools, plan_schools, root)
    report.problems += _duplicates(load.devices, "address", load)
    report.problems += _duplicates(load.devices, "name", load)
    report.warnings += _shared_macs(load.devices, load)
    report.problems += _platform_problems(load.devices, load)
    uplink_problems, uplink_warnings = _uplink_findings(load)
    report.problems += uplink_problems
    report.warnings += uplink_warnings
    report.comparisons = compare_counts(load.devices, plan_items, load.schools)
    return report
