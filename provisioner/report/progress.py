"""Progress recorded by staff for plan items without managed devices.

Cabling, WLAN, classroom displays and end devices are not devices this tool
provisions, so their progress is typed in: `provision plan progress`. Servers,
switches and access points are refused: their progress is counted from the
devices' rollout state, and a typed number beside it would let the report
disagree with the database.
"""

from __future__ import annotations

import re

from provisioner.db import Store
from provisioner.errors import ConfigError, NotFoundError
from provisioner.models import Measure, ProgressEntry
from provisioner.plan.columns import known_measures, measure_for
from provisioner.report.model import DEVICE_MEASURES

_DONE = re.compile(r"^\s*(\d{1,6})\s*(%?)\s*$")


def parse_measure(text: str) -> Measure:
    """A measure by its English or German name (`cabling`, `Verkabelung`).

    Raises:
        ConfigError: not a known measure.
    """
    measure = measure_for(text)
    if measure is None:
        raise ConfigError(f"unknown measure {text!r}: use one of {known_measures()} "
                          f"(or {', '.join(m.value for m in Measure)})")
    return measure


def _parse_done(text: str) -> tuple[int, str]:
    match = _DONE.match(text)
    if match is None:
        raise ConfigError(f"--done {text!r} is neither a count (12) nor a share (60%)")
    return int(match.group(1)), "percent" if match.group(2) else "units"


def record_progress(store: Store, *, school_id: str, measure: Measure, year: int, done: str,
                    note: str, user: str) -> ProgressEntry:
    """Check and append progress for one plan item of the plan in force.

    Args:
        done: "N" pieces of the item's quantity, or "N%" of it (lump sums need "N%").

    Raises:
        UnknownSchoolError: the school is in no plan.
        NotFoundError: the plan in force has no such item.
        ConfigError: a device measure, or `done` out of range for the item.
    """
    store.school(school_id)
    if measure in DEVICE_MEASURES:
        raise ConfigError(
            f"{measure.value} are counted from the devices' rollout state (provision runs), "
            "not recorded by hand; record progress for cabling, wlan, displays or end_devices"
        )
    items = [i for i in store.plan_items(school_id=school_id, year=year) if i.measure is measure]
    if not items:
        raise NotFoundError(
            f"the plan in force has no {measure.value} for school {school_id} in {year}; see "
            f"'provision plan show --school {school_id}'"
        )
    count, unit = _parse_done(done)
    quantity = items[0].quantity
    if unit == "units" and quantity is None:
        raise ConfigError(f"{measure.value} {year} at {school_id} has no quantity in the plan: "
                          "give the share done as a percentage, e.g. --done 60%")
    limit = 100 if unit == "percent" else quantity or 0
    if count > limit:
        what = "100%" if unit == "percent" else f"the planned quantity {limit}"
        raise ConfigError(f"--done {done} is more than {what} for {measure.value} {year} "
                          f"at {school_id}")
    return store.record_progress(ProgressEntry(school_id, measure, year, count, unit, note,
                                               recorded_by=user))
