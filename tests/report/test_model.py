from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from provisioner.db import Store
from provisioner.errors import ConfigError, NotFoundError, UnknownSchoolError
from provisioner.models import Measure
from provisioner.report import Scope, build_report, make_report
from provisioner.report.model import Report
from provisioner.report.status import Status, item_status
from tests.report.conftest import PAST, at, today


def _report(store: Store, day: dt.date | None = None, **kw: object) -> Report:
    return build_report(store, Scope(as_of=day or today(), **kw),  # type: ignore[arg-type]
                        generated_at=at(today().isoformat()))


def _row(report: Report, school: str, measure: Measure, year: int):  # type: ignore[no-untyped-def]
    return next(r for r in report.items if (r.school_id, r.measure, r.year) == (school, measure,
                                                                                    year))


def test_devices_fill_plan_years_in_order(store: Store) -> None:
    report = _report(store)
    # 3 verified switches against 2 planned in 2020 and 2 in 2021.
    first, second = (_row(report, "100001", Measure.SWITCHES, y) for y in (2020, 2021))
    assert (first.verified, first.percent_done, first.source) == (2, Decimal("100.0"), "devices")
    assert (second.verified, second.percent_done) == (1, Decimal("50.0"))
    # APs: ap1 verified, ap2 provisioned, ap3 failed -> 2021 (4 planned): 2 provisioned, 1 verified
    aps = _row(report, "100001", Measure.ACCESS_POINTS, 2021)
    assert (aps.provisioned, aps.verified, aps.percent_done) == (2, 1, Decimal("25.0"))


def test_recorded_progress_units_and_percent(store: Store) -> None:
    report = _report(store)
    cabling = _row(report, "100001", Measure.CABLING, 2020)
    assert (cabling.quantity, cabling.percent_done, cabling.source) == (None, Decimal("100.0"),
                                                                        "recorded")
    devices = _row(report, "100001", Measure.END_DEVICES, 2020)
    assert (devices.provisioned, devices.percent_done) == (30, Decimal("100.0"))
    wlan = _row(report, "100001", Measure.WLAN, 2021)
    assert (wlan.source, wlan.percent_done, wlan.status) == ("none", Decimal(0), Status.RED)


def test_as_of_a_past_day_sees_only_what_was_known_then(store: Store) -> None:
    report = _report(store, dt.date.fromisoformat(PAST))
    switches = _row(report, "100001", Measure.SWITCHES, 2021)
    # sw3 was verified after PAST; the run before PAST had left it provisioned.
    assert (switches.provisioned, switches.verified) == (1, 0)
    # End devices were recorded after PAST: nothing recorded then.
    assert _row(report, "100001", Measure.END_DEVICES, 2020).source == "none"
    assert _row(report, "100001", Measure.CABLING, 2020).source == "recorded"


def test_budget_approved_means_approved_or_paid(store: Store, db_path: Path) -> None:
    report = _report(store)
    conn = sqlite3.connect(db_path)
    budget, approved, spent = conn.execute(
        "SELECT SUM(budget_cents), SUM(CASE WHEN funding_status IN ('approved', 'paid') THEN "
        "budget_cents ELSE 0 END), SUM(COALESCE(spent_cents, 0)) FROM plan_items").fetchone()
    summary = report.summary
    assert summary.budget_eur == Decimal(budget) / 100
    assert summary.approved_eur == Decimal(approved) / 100
    assert summary.spent_eur == Decimal(spent) / 100
    assert summary.approved_eur < summary.budget_eur
    assert sum(b.spent_eur for b in report.budget) == summary.spent_eur


def test_plan_version_in_force_on_the_as_of_day(store: Store, db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO plan_versions (id, imported_at, imported_by, source, sha256, "
                 "item_count) VALUES (2, ?, 'bert', 'v2.csv', 'x', 1)", (at("2026-01-10"),))
    conn.execute("INSERT INTO plan_items (version_id, school_id, measure, year, quantity, "
                 "budget_cents) VALUES (2, '100001', 'wlan', 2021, NULL, 100)")
    conn.commit()
    assert _report(store, dt.date(2025, 12, 31)).plan_version.version_id == 1
    later = _report(store, dt.date(2026, 1, 10))
    assert later.plan_version.version_id == 2
    assert later.summary.budget_eur == Decimal("1.00")


def test_devices_health_and_dead_sites(store: Store) -> None:
    report = _report(store)
    devices = report.summary.devices
    assert (devices.total, devices.verified, devices.healthy) == (10, 5, 3)
    assert devices.health == {"ok": 3, "warning": 1, "critical": 1, "unreachable": 2}
    assert devices.unchecked == 3
    assert report.summary.dead_sites == ["100002"]
    by_id = {s.school_id: s for s in report.schools}
    assert by_id["100002"].dead_site and not by_id["100001"].dead_site


def test_scope_filters_schools_and_year(store: Store) -> None:
    report = _report(store, school_ids=("100002", "100001"), year=2021)
    assert [s.school_id for s in report.schools] == ["100001", "100002"]
    assert {r.year for r in report.items} == {2021}
    assert report.summary.schools == 2


@pytest.mark.parametrize(("kw", "error", "match"), [
    ({"school_ids": ("999999",)}, UnknownSchoolError, "unknown school '999999'"),
    ({"year": 2031}, NotFoundError, "no items for year 2031"),
])
def test_bad_scope_is_refused(store: Store, kw: dict[str, object], error: type[Exception],
                              match: str) -> None:
    with pytest.raises(error, match=match):
        _report(store, **kw)


def test_no_plan_in_force_on_the_day(store: Store) -> None:
    with pytest.raises(NotFoundError, match=r"no plan version was in force on 31\.12\.2024.*"
                                            r"2025-01-15"):
        _report(store, dt.date(2024, 12, 31))


def test_future_as_of_is_refused(store: Store) -> None:
    with pytest.raises(ConfigError, match="lies in the future"):
        make_report(store, Scope(as_of=today() + dt.timedelta(days=1)))


@pytest.mark.parametrize(("year", "percent", "spent", "status"), [
    (2027, "0", "0", Status.GREEN),      # not begun
    (2026, "100", "0", Status.GREEN),    # done
    (2026, "10", "0", Status.YELLOW),    # running
    (2025, "80", "0", Status.YELLOW),    # ended, >= 80 %
    (2025, "79.9", "0", Status.RED),     # ended, < 80 %
    (2025, "100", "111", Status.YELLOW),  # done but over 110 % of budget
    (2025, "100", "110", Status.GREEN),  # exactly 110 % is still fine
])
def test_status_rule(year: int, percent: str, spent: str, status: Status) -> None:
    as_of = dt.date(2026, 6, 30)
    assert item_status(year, Decimal(percent), Decimal(100), Decimal(spent), as_of) is status


def test_school_status_is_its_worst_item(store: Store) -> None:
    report = _report(store)
    for school in report.schools:
        rows = [r for r in report.items if r.school_id == school.school_id]
        assert school.status is max((r.status for r in rows), key=lambda s: s.rank)
