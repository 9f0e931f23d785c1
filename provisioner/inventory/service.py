"""The inventory use cases: check the inventories, sync their devices into the database."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from provisioner.db import Store
from provisioner.errors import InvalidInputError, Problem, ProvisionerError
from provisioner.inventory.check import InventoryReport, check_inventory
from provisioner.inventory.loader import InventoryLoad, load_inventories, school_dirs


def inventory_check(store: Store, root: Path, school_id: str | None = None) -> InventoryReport:
    """Check the inventories under `root` against each other and the plan in force.

    Raises:
        NotFoundError: `root` or the school's folder does not exist.
    """
    if school_id is not None:
        school_dirs(root, school_id)  # NotFoundError for an unknown school
    # Uniqueness is across ALL schools, so a one-school check still reads the others.
    everything = load_inventories(root)
    report = _check_all(store, root, everything)
    return _of_school(report, everything, school_id) if school_id is not None else report


def _check_all(store: Store, root: Path, everything: InventoryLoad) -> InventoryReport:
    items = store.plan_items()
    return check_inventory(everything, items, {i.school_id for i in items}, str(root))


def _of_school(report: InventoryReport, everything: InventoryLoad,
               school_id: str) -> InventoryReport:
    """The part of an all-schools report that concerns one school."""
    return InventoryReport(
        devices=[d for d in everything.devices if d.school_id == school_id],
        problems=[p for p in report.problems if _concerns(p, school_id)],
        comparisons=[c for c in report.comparisons if c.school_id == school_id],
        warnings=[p for p in report.warnings if _concerns(p, school_id)],
        seen=sum(1 for school, _name in everything.seen if school == school_id),
        schools=[school_id])


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


def sync_schools(store: Store, root: Path, school_ids: Sequence[str],
                 ) -> dict[str, InventoryReport | ProvisionerError]:
    """Check every inventory once, then sync each named school that has no problem.

    For provisioning several schools side by side: one read of all inventories (their
    uniqueness is checked across schools) instead of one per school.

    Returns:
        Per school: its report (synced), or the error that kept it from being synced
        (`InventoryRefusedError` with its problems, `NotFoundError` for a school with no
        folder, `DatabaseError`); one school's error does not stop the others.

    Raises:
        NotFoundError: `root` does not exist.
    """
    everything = load_inventories(root)
    report = _check_all(store, root, everything)
    found: dict[str, InventoryReport | ProvisionerError] = {}
    for school_id in school_ids:
        try:
            school_dirs(root, school_id)
            school = _of_school(report, everything, school_id)
            if not school.ok:
                raise InventoryRefusedError(root, school)
            store.replace_devices([school_id], school.devices)
        except ProvisionerError as exc:
            found[school_id] = exc
            continue
        found[school_id] = school
    return found
