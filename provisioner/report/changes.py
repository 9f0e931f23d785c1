"""Since the last meeting: each export's figures as a snapshot, and what changed since one.

A snapshot holds, per school in the export, its status, money and the measures it
has fully done, as JSON (money as decimal strings). Comparing looks only at the
schools both exports contain, so a one-school export next to a city-wide one does
not show the other schools as "lost".
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

from provisioner.db import Store
from provisioner.errors import NotFoundError
from provisioner.models import ExportSnapshot, Measure
from provisioner.report.model import Changes, Report, SchoolChange
from provisioner.report.status import Status

SNAPSHOT_VERSION = 1


def snapshot_figures(report: Report) -> dict[str, Any]:
    """The figures of a report that a later export compares with."""
    done: defaultdict[str, dict[Measure, bool]] = defaultdict(dict)
    for row in report.items:
        previous = done[row.school_id].get(row.measure, True)
        done[row.school_id][row.measure] = previous and row.percent_done >= 100
    schools = {
        s.school_id: {
            "name": s.name, "status": s.status.value, "spent_eur": str(s.spent_eur),
            "approved_eur": str(s.approved_eur), "verified": s.devices.verified,
            "done": sorted(m.value for m, ok in done[s.school_id].items() if ok),
        }
        for s in report.schools
    }
    return {"version": SNAPSHOT_VERSION, "as_of": report.scope.as_of.isoformat(),
            "scope": report.scope.describe(), "schools": schools}


#: What an export with `--since last` says when there is no earlier export yet.
FIRST_EXPORT_NOTE = ("no earlier export to compare with: this is the first, so the report "
                     "shows no changes; the next '--since last' compares with it")


def find_snapshot(store: Store, since: str) -> ExportSnapshot | None:
    """The snapshot `--since` names: "last" (None before the first export: a monthly job
    with `--since last` still gets its first report), or the newest one made on or
    before a date.

    Raises:
        NotFoundError: no export was made on or before the date.
        ValueError: `since` is neither "last" nor an ISO date.
    """
    if since == "last":
        return store.snapshot_until()
    day = dt.date.fromisoformat(since)
    found = store.snapshot_until(f"{day.isoformat()}T23:59:59+00:00")
    if found is None:
        raise NotFoundError(f"no export was made on or before {day:%d.%m.%Y}; try "
                            "'--since last' or a later date")
    return found


def _school_change(school_id: str, name: str, before: str, now: Status) -> SchoolChange:
    return SchoolChange(school_id, name, Status(before), now)


def compare(report: Report, snapshot: ExportSnapshot) -> Changes:
    """What changed between `snapshot` and `report`, over the schools both contain."""
    then: dict[str, dict[str, Any]] = json.loads(snapshot.figures)["schools"]
    now = snapshot_figures(report)["schools"]
    common = [sid for sid in now if sid in then]
    schools_done = {
        measure: (sum(1 for sid in common if measure.value in then[sid]["done"]),
                  sum(1 for sid in common if measure.value in now[sid]["done"]))
        for measure in Measure
    }

    def delta(key: str) -> Decimal:
        return sum((Decimal(now[sid][key]) - Decimal(then[sid][key]) for sid in common),
                   Decimal(0))

    status = {s.school_id: s for s in report.schools}
    turned_red = [_school_change(sid, now[sid]["name"], then[sid]["status"], Status.RED)
                  for sid in common if status[sid].status is Status.RED
                  and then[sid]["status"] != Status.RED.value]
    turned_green = [_school_change(sid, now[sid]["name"], then[sid]["status"], Status.GREEN)
                    for sid in common if status[sid].status is Status.GREEN
                    and then[sid]["status"] != Status.GREEN.value]
    return Changes(
        snapshot_id=snapshot.snapshot_id, snapshot_created_at=snapshot.created_at,
        snapshot_as_of=snapshot.as_of, schools_done=schools_done,
        spent_since_eur=delta("spent_eur"), approved_since_eur=delta("approved_eur"),
        verified_since=sum(now[sid]["verified"] - then[sid]["verified"] for sid in common),
        turned_red=turned_red, turned_green=turned_green,
        new_schools=[sid for sid in now if sid not in then],
    )
