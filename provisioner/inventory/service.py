"""The inventory use cases: check the inventories, sync their devices into the database."""

from __future__ import annotations

from pathlib import Path

from provisioner.db import Store
from provisioner.errors import InvalidInputError, Problem
from provisioner.inventory.check import InventoryReport, check_inventory
from provisioner.inventory.loader import load_inventories, school_dirs


def inventory_check(store: Store, root: Path, school_id: str | None = None) -> InventoryReport:
    """Check the inventories under `root` against each other and the plan in force.

    Raises:
        NotFoundError: `root` or the school's folder does not exist.
    """
    if school_id is not None:
        school_dirs(root, school_id)  # NotFoundError for an unknown school
    # Uniqueness is across ALL schools, so a one-school check still reads the others.
    everything = load_inventories(root)
    items = store.plan_items()
    report = check_inventory(everything, items, {i.school_id for i in items}, str(root))
    if school_id is not None:
        report.problems = [p for p in report.problems if _concerns(p, school_id)]
        report.warnings = [p for p in report.warnings if _concerns(p, school_id)]
        report.devices = [d for d in everything.devices if d.school_id == school_id]
        report.seen = sum(1 for school, _name in everything.seen if school == school_id)
        report.schools = [school_id]
        report.comparisons = [c for c in report.comparisons if c.school_id == school_id]
    return report


def _concerns(problem: Problem, school_id: str) -> bool:
    return f"/{school_id}/" in problem.file or problem.file.endswith(f"/{school_id}")


class InventoryRefusedError(InvalidInputError):
    """The check found problems, so nothing was synced; carries the whole report."""

    def __init__(self, root: Path, report: InventoryReport) -> None:
        super().__init__(root, report.problems)
        self.report = report


def inventory_sync(store: Store, root: Path, school_id: str | None = None) -> InventoryReport:
    """Check, then write the devices of the checked schools into the database.

    Devices that stay keep their rollout state; devices gone from a school's
    inventory are removed (`Store.replace_devices`), all in one transaction.

    Raises:
        InventoryRefusedError: the check found problems; nothing was written.
        NotFoundError: `root` or the school's folder does not exist.
    """
    report = inventory_check(store, root, school_id)
    if not report.ok:
        raise InventoryRefusedError(root, report)
    # Every school folder read is synced, also one whose devices are all gone.
    store.replace_devices(report.schools, report.devices)
    return report
