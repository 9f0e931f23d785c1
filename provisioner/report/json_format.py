"""The report as JSON, following docs/report-schema.json (version `SCHEMA_VERSION`).

Money is an exact decimal string in EUR ("949500.00"), percentages are decimal
strings with one place ("87.5"), dates ISO 8601. Keys are English whatever `--lang`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from provisioner.report.model import (
    Changes,
    DeviceCounts,
    DeviceLine,
    ItemRow,
    MeasureYear,
    Report,
    SchoolRow,
    Summary,
    UnplannedSchool,
    YearBudget,
)

_CENT = Decimal("0.01")
_TENTH = Decimal("0.1")


def money(value: Decimal) -> str:
    """EUR as an exact string with two places."""
    return str(value.quantize(_CENT))


def percent(value: Decimal) -> str:
    """A percentage as a decimal string with one place ("87.5")."""
    return str(value.quantize(_TENTH))


def _devices(d: DeviceCounts) -> dict[str, Any]:
    return {"total": d.total, "provisioned": d.provisioned, "verified": d.verified,
            "healthy": d.healthy, "unchecked": d.unchecked,
            "health": dict(sorted(d.health.items()))}


def _summary(s: Summary) -> dict[str, Any]:
    return {"schools": s.schools, "items": s.items, "percent_done": percent(s.percent_done),
            "budget_eur": money(s.budget_eur), "approved_eur": money(s.approved_eur),
            "spent_eur": money(s.spent_eur), "devices": _devices(s.devices),
            "dead_sites": s.dead_sites,
            "status_counts": {k.value: v for k, v in s.status_counts.items()}}


def _measure(m: MeasureYear) -> dict[str, Any]:
    return {"measure": m.measure.value, "year": m.year, "items": m.items,
            "quantity": m.quantity, "verified": m.verified, "percent_done": percent(m.percent_done),
            "budget_eur": money(m.budget_eur), "approved_eur": money(m.approved_eur),
            "spent_eur": money(m.spent_eur), "items_done": m.items_done}


def _budget(b: YearBudget) -> dict[str, Any]:
    return {"year": b.year, "budget_eur": money(b.budget_eur),
            "approved_eur": money(b.approved_eur), "spent_eur": money(b.spent_eur),
            "percent_done": percent(b.percent_done)}


def _school(s: SchoolRow) -> dict[str, Any]:
    return {"school_id": s.school_id, "name": s.name, "school_type": s.school_type,
            "items": s.items, "percent_done": percent(s.percent_done),
            "budget_eur": money(s.budget_eur), "approved_eur": money(s.approved_eur),
            "spent_eur": money(s.spent_eur), "devices": _devices(s.devices),
            "dead_site": s.dead_site, "status": s.status.value}


def _item(r: ItemRow) -> dict[str, Any]:
    return {"school_id": r.school_id, "measure": r.measure.value, "year": r.year,
            "quantity": r.quantity, "provisioned": r.provisioned, "verified": r.verified,
            "percent_done": percent(r.percent_done), "source": r.source,
            "budget_eur": money(r.budget_eur), "approved_eur": money(r.approved_eur),
            "spent_eur": money(r.spent_eur), "funding_status": r.funding_status or None,
            "status": r.status.value}


def _line(d: DeviceLine) -> dict[str, Any]:
    return {"school_id": d.school_id, "device": d.device, "role": d.role.value,
            "state": d.state.value, "since": d.since, "reason": d.reason}


def _unplanned(u: UnplannedSchool) -> dict[str, Any]:
    return {"school_id": u.school_id, "name": u.name, "devices": _devices(u.devices),
            "device_states": [_line(d) for d in u.lines]}


def _changes(c: Changes) -> dict[str, Any]:
    def school(change: Any) -> dict[str, str]:
        return {"school_id": change.school_id, "name": change.name,
                "before": change.before.value, "now": change.now.value}

    return {
        "snapshot_id": c.snapshot_id, "snapshot_created_at": c.snapshot_created_at,
        "snapshot_as_of": c.snapshot_as_of,
        "schools_done": {m.value: {"before": b, "now": n} for m, (b, n) in c.schools_done.items()},
        "spent_since_eur": money(c.spent_since_eur),
        "approved_since_eur": money(c.approved_since_eur), "verified_since": c.verified_since,
        "turned_red": [school(x) for x in c.turned_red],
        "turned_green": [school(x) for x in c.turned_green], "new_schools": c.new_schools,
    }


def report_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON values (the schema's shape)."""
    scope = report.scope
    version = report.plan_version
    return {
        "schema_version": report.schema_version,
        "as_of": scope.as_of.isoformat(), "generated_at": report.generated_at,
        "lang": scope.lang,
        "scope": {"school_ids": list(scope.school_ids), "year": scope.year},
        "plan_version": {"version_id": version.version_id, "imported_at": version.imported_at,
                         "source": version.source, "sha256": version.sha256},
        "summary": _summary(report.summary),
        "measures": [_measure(m) for m in report.measures],
        "budget": [_budget(b) for b in report.budget],
        "schools": [_school(s) for s in report.schools],
        "items": [_item(r) for r in report.items],
        "changes": _changes(report.changes) if report.changes else None,
        "attention": [_line(d) for d in report.attention],
        "not_in_plan": [_unplanned(u) for u in report.unplanned],
    }


def render_json(report: Report) -> bytes:
    """The report as UTF-8 JSON text."""
    # Compact: a city-wide report has 40,000 items; `python -m json.tool` pretty-prints it.
    text = json.dumps(report_dict(report), ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode()
