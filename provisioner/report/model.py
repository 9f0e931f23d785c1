"""The committee report as one typed object built from the Store; every format renders it.

Because XLSX, PDF, HTML, CSV and JSON all render the same `Report`, their figures
agree by construction. Building it is pure reading: nothing is written here.

What "as of" means: the day ends at 23:59:59 UTC. The plan version in force is the
last one imported by then (its budgets, funding statuses and spent amounts are what
was known that day); recorded progress and health samples count up to then; a
device counts with its rollout state if that state was set by then, otherwise as
not yet provisioned.

Two sections list devices one by one: those of the plan's schools that need attention
(blocked, failed, unreachable, interrupted: the record cannot vouch for them), and the
schools "not in the plan" in force whose devices are synced (hardware replaced before
the plan was updated), with every device.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from provisioner.db import Store
from provisioner.errors import ConfigError, NotFoundError
from provisioner.models import (
    FundingStatus,
    Measure,
    PlanItem,
    PlanVersion,
    ProgressEntry,
    Role,
    School,
)
from provisioner.outcome import DeviceState, HealthState
from provisioner.report.devices import (
    DeviceCounts,
    DeviceLine,
    UnplannedSchool,
    needing_attention,
    unplanned_schools,
)
from provisioner.report.status import Status, item_status, worst

__all__ = ["DeviceCounts", "DeviceLine", "Report", "Scope", "UnplannedSchool", "build_report",
           "check_as_of", "year_quantities"]

SCHEMA_VERSION = "1.1"
# Measures whose progress comes from managed devices; the others from `plan progress`.
DEVICE_MEASURES: dict[Measure, Role] = {
    Measure.SERVERS: Role.SERVER, Measure.SWITCHES: Role.SWITCH,
    Measure.ACCESS_POINTS: Role.ACCESS_POINT,
}
APPROVED_STATUSES = (FundingStatus.APPROVED, FundingStatus.PAID)
HEALTH_STATES = tuple(s.value for s in HealthState if s != HealthState.UNKNOWN)
# Rollout states that count as installed (provisioned, whether read back yet or not).
INSTALLED = frozenset({DeviceState.PROVISIONED, DeviceState.VERIFIED})
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_TENTH = Decimal("0.1")


class ItemRow(NamedTuple):
    """One school x measure x year: plan against what is installed, verified and spent.

    A named tuple, not a dataclass: a city-wide report has 40,000 of them and a
    tuple is made several times faster.

    `provisioned`/`verified` are device counts for servers, switches and access
    points; for other measures `provisioned` is the recorded count and `verified`
    None. `source` is "devices", "recorded" or "none" (nothing recorded yet).
    """

    school_id: str
    school_name: str
    measure: Measure
    year: int
    quantity: int | None
    provisioned: int | None
    verified: int | None
    percent_done: Decimal
    source: str
    budget_eur: Decimal
    approved_eur: Decimal
    spent_eur: Decimal
    funding_status: str
    status: Status


@dataclass(frozen=True)
class SchoolRow:
    """One school's line: its items' money and share done, devices, worst status."""

    school_id: str
    name: str
    school_type: str
    items: int
    percent_done: Decimal
    budget_eur: Decimal
    approved_eur: Decimal
    spent_eur: Decimal
    devices: DeviceCounts
    dead_site: bool
    status: Status


@dataclass(frozen=True)
class MeasureYear:
    """One measure in one plan year across the schools in scope."""

    measure: Measure
    year: int
    items: int
    quantity: int
    verified: int
    percent_done: Decimal
    budget_eur: Decimal
    approved_eur: Decimal
    spent_eur: Decimal
    items_done: int
    done: int = 0  # pieces done: verified devices, or recorded units


@dataclass(frozen=True)
class YearBudget:
    """Money of one plan year: planned, approved (bewilligt), paid out (Mittelabfluss)."""

    year: int
    budget_eur: Decimal
    approved_eur: Decimal
    spent_eur: Decimal
    percent_done: Decimal


@dataclass(frozen=True)
class Summary:
    """The report's first page."""

    schools: int
    items: int
    percent_done: Decimal
    budget_eur: Decimal
    approved_eur: Decimal
    spent_eur: Decimal
    devices: DeviceCounts
    dead_sites: list[str]
    status_counts: dict[Status, int]


@dataclass(frozen=True)
class SchoolChange:
    """A school whose status changed since the snapshot compared with."""

    school_id: str
    name: str
    before: Status
    now: Status


@dataclass(frozen=True)
class Changes:
    """What changed since an earlier export (`--since`)."""

    snapshot_id: int
    snapshot_created_at: str
    snapshot_as_of: str
    schools_done: dict[Measure, tuple[int, int]]  # measure -> (schools done then, now)
    spent_since_eur: Decimal
    approved_since_eur: Decimal
    verified_since: int
    turned_red: list[SchoolChange]
    turned_green: list[SchoolChange]
    new_schools: list[str]


@dataclass(frozen=True)
class Scope:
    """What the report was asked for."""

    as_of: dt.date
    school_ids: tuple[str, ...] = ()
    year: int | None = None
    lang: str = "de"

    @property
    def until(self) -> str:
        """The end of the as-of day as the database stores times."""
        return f"{self.as_of.isoformat()}T23:59:59+00:00"

    def describe(self) -> str:
        """Scope in a few words, stored with snapshots: 'all' or 'schools=...;year=...'."""
        parts = []
        if self.school_ids:
            parts.append("schools=" + ",".join(self.school_ids))
        if self.year is not None:
            parts.append(f"year={self.year}")
        return ";".join(parts) or "all"


@dataclass(frozen=True)
class Report:
    """The whole committee report; every export format renders exactly this."""

    scope: Scope
    generated_at: str
    plan_version: PlanVersion
    summary: Summary
    measures: list[MeasureYear]
    budget: list[YearBudget]
    schools: list[SchoolRow]
    items: list[ItemRow]
    changes: Changes | None = None
    # `--since last` before any export: no changes to show, and the report says so.
    first_since: bool = False
    schema_version: str = SCHEMA_VERSION
    attention: list[DeviceLine] = field(default_factory=list)
    unplanned: list[UnplannedSchool] = field(default_factory=list)

    @property
    def years(self) -> list[int]:
        """The plan years in the report, ascending."""
        return sorted({row.year for row in self.items})


def _percent(done: int, of: int) -> Decimal:
    if of <= 0:
        return _ZERO
    return min(_HUNDRED, Decimal(done) * _HUNDRED / of).quantize(_TENTH)


def _allocate(items: list[PlanItem], count: int) -> dict[int, int]:
    """Devices fill a school's plan years of one measure in order, each up to its quantity."""
    given: dict[int, int] = {}
    for item in sorted(items, key=lambda i: i.year):
        take = min(count, item.quantity or 0)
        given[item.year] = take
        count -= take
    return given


@dataclass
class _SchoolFacts:
    """Per school: rollout counts per role and device counts with health."""

    provisioned: dict[Role, int] = field(default_factory=lambda: defaultdict(int))
    verified: dict[Role, int] = field(default_factory=lambda: defaultdict(int))
    total: int = 0
    health: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    dead_verdict: bool | None = None  # the health check's own verdict, when it gave one

    def counts(self) -> DeviceCounts:
        return DeviceCounts(self.total, sum(self.provisioned.values()),
                            sum(self.verified.values()), dict(self.health))

    @property
    def dead(self) -> bool:
        if self.dead_verdict is not None:
            return self.dead_verdict
        # Samples without a health run: every sampled device unreachable means dead.
        sampled = sum(self.health.values())
        return sampled > 0 and self.health.get(HealthState.UNREACHABLE, 0) == sampled


def _facts(store: Store, until: str) -> dict[str, _SchoolFacts]:
    facts: defaultdict[str, _SchoolFacts] = defaultdict(_SchoolFacts)
    for school_id, dead in store.dead_sites_until(until).items():
        facts[school_id].dead_verdict = dead
    for school_id, role_value, state, count in store.rollout_counts_until(until):
        school, role = facts[school_id], Role(role_value)
        school.total += count
        if state in INSTALLED:
            school.provisioned[role] += count
        if state == DeviceState.VERIFIED:
            school.verified[role] += count
    for school_id, health, count in store.health_counts_until(until):
        facts[school_id].health[health] += count
    return facts


def _item_row(item: PlanItem, school: School, given: tuple[int, int],
              progress: ProgressEntry | None, as_of: dt.date) -> ItemRow:
    """One item's row; `given`: (provisioned, verified) devices allocated to it."""
    role = DEVICE_MEASURES.get(item.measure)
    quantity = item.quantity
    if role is not None:
        provisioned, verified = given
        percent, source = _percent(verified, quantity or 0), "devices"
    elif progress is not None:
        verified = None
        if progress.unit == "percent":
            provisioned, percent = None, min(_HUNDRED, Decimal(progress.done)).quantize(_TENTH)
        else:
            provisioned, percent = progress.done, _percent(progress.done, quantity or 0)
        source = "recorded"
    else:
        provisioned, verified, percent, source = None, None, _ZERO, "none"
    approved = item.budget_eur if item.funding_status in APPROVED_STATUSES else _ZERO
    spent = item.spent_eur or _ZERO
    return ItemRow(
        school_id=item.school_id, school_name=school.name, measure=item.measure, year=item.year,
        quantity=quantity, provisioned=provisioned, verified=verified, percent_done=percent,
        source=source, budget_eur=item.budget_eur, approved_eur=approved, spent_eur=spent,
        funding_status=item.funding_status.value if item.funding_status else "",
        status=item_status(item.year, percent, item.budget_eur, spent, as_of),
    )


def _school_items(school: School, items: list[PlanItem], facts: _SchoolFacts,
                  progress: dict[tuple[str, int], ProgressEntry],
                  as_of: dt.date) -> list[ItemRow]:
    by_measure: defaultdict[Measure, list[PlanItem]] = defaultdict(list)
    for item in items:
        by_measure[item.measure].append(item)
    allocated: dict[tuple[Measure, int], tuple[int, int]] = {}
    for measure, role in DEVICE_MEASURES.items():
        prov = _allocate(by_measure[measure], facts.provisioned[role])
        ver = _allocate(by_measure[measure], facts.verified[role])
        for year in prov:
            allocated[(measure, year)] = (prov[year], ver[year])
    return [
        _item_row(item, school, allocated.get((item.measure, item.year), (0, 0)),
                  progress.get((item.measure.value, item.year)), as_of)
        for item in items
    ]


class _Totals:
    """Sums over item rows in one pass: money, pieces, and the budget-weighted share done."""

    def __init__(self) -> None:
        self.items = self.quantity = self.verified = self.done = self.items_done = 0
        self.budget = self.approved = self.spent = self.weighted = self.plain = _ZERO

    def add(self, row: ItemRow) -> None:
        self.items += 1
        self.budget += row.budget_eur
        self.approved += row.approved_eur
        self.spent += row.spent_eur
        self.weighted += row.percent_done * row.budget_eur
        self.plain += row.percent_done
        self.quantity += row.quantity or 0
        self.verified += row.verified or 0
        self.done += _done_pieces(row)
        self.items_done += row.percent_done >= _HUNDRED

    def merge(self, other: _Totals) -> None:
        """Add another group's sums to these (cheaper than adding its rows again)."""
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def percent(self) -> Decimal:
        """Budget-weighted mean share done; the plain mean when no item has a budget."""
        if not self.items:
            return _ZERO.quantize(_TENTH)
        value = self.weighted / self.budget if self.budget else self.plain / self.items
        return value.quantize(_TENTH)


def _totals(rows: Iterable[ItemRow]) -> _Totals:
    totals = _Totals()
    for row in rows:
        totals.add(row)
    return totals


def _school_row(school: School, rows: list[ItemRow], facts: _SchoolFacts) -> SchoolRow:
    t = _totals(rows)
    return SchoolRow(
        school_id=school.school_id, name=school.name, school_type=school.school_type,
        items=t.items, percent_done=t.percent, budget_eur=t.budget, approved_eur=t.approved,
        spent_eur=t.spent, devices=facts.counts(), dead_site=facts.dead,
        status=worst([r.status for r in rows]),
    )


def _done_pieces(row: ItemRow) -> int:
    """Pieces of a counted item done: verified devices or recorded units (lump sums: 0)."""
    if row.quantity is None:
        return 0
    if row.source == "devices":
        return row.verified or 0
    return row.provisioned or 0


def year_quantities(measures: Sequence[MeasureYear]) -> list[tuple[int, int, int]]:
    """(year, pieces planned, pieces done) over the counted items, years ascending."""
    years: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])
    for m in measures:
        years[m.year][0] += m.quantity
        years[m.year][1] += m.done
    return [(year, planned, done) for year, (planned, done) in sorted(years.items())]


def _group_totals(items: Sequence[ItemRow]) -> dict[tuple[int, Measure], _Totals]:
    """Sums per (year, measure), years and measures in the plan's order."""
    groups: defaultdict[tuple[int, int, Measure], _Totals] = defaultdict(_Totals)
    order = {m: n for n, m in enumerate(Measure)}
    for row in items:
        groups[(row.year, order[row.measure], row.measure)].add(row)
    return {(year, measure): t for (year, _, measure), t in sorted(
        groups.items(), key=lambda kv: kv[0][:2])}


def _measure_years(groups: dict[tuple[int, Measure], _Totals]) -> list[MeasureYear]:
    return [
        MeasureYear(measure=measure, year=year, items=t.items, quantity=t.quantity,
                    verified=t.verified, percent_done=t.percent, budget_eur=t.budget,
                    approved_eur=t.approved, spent_eur=t.spent, items_done=t.items_done,
                    done=t.done)
        for (year, measure), t in groups.items()
    ]


def _year_totals(groups: dict[tuple[int, Measure], _Totals]) -> dict[int, _Totals]:
    years: defaultdict[int, _Totals] = defaultdict(_Totals)
    for (year, _), t in groups.items():
        years[year].merge(t)
    return dict(sorted(years.items()))


def _summary(schools: Sequence[SchoolRow], years: dict[int, _Totals]) -> Summary:
    health: defaultdict[str, int] = defaultdict(int)
    for school in schools:
        for state, count in school.devices.health.items():
            health[state] += count
    devices = DeviceCounts(
        total=sum(s.devices.total for s in schools),
        provisioned=sum(s.devices.provisioned for s in schools),
        verified=sum(s.devices.verified for s in schools), health=dict(health),
    )
    t = _Totals()
    for year in years.values():
        t.merge(year)
    return Summary(
        schools=len(schools), items=t.items, percent_done=t.percent, budget_eur=t.budget,
        approved_eur=t.approved, spent_eur=t.spent, devices=devices,
        dead_sites=[s.school_id for s in schools if s.dead_site],
        status_counts={status: sum(1 for s in schools if s.status is status)
                       for status in Status},
    )


def _plan_in_force(store: Store, scope: Scope) -> PlanVersion:
    version = store.plan_version_at(scope.until)
    if version is not None:
        return version
    versions = store.plan_versions()
    if not versions:
        raise NotFoundError("no plan imported yet: import one with 'provision plan import FILE'")
    first = versions[0]
    raise NotFoundError(
        f"no plan version was in force on {scope.as_of:%d.%m.%Y}: the first was imported "
        f"{first.imported_at[:10]}; ask for --as-of {first.imported_at[:10]} or later"
    )


def _scoped_items(store: Store, scope: Scope, version: PlanVersion) -> list[PlanItem]:
    known = {s.school_id for s in store.schools()} | set(store.device_schools())
    for school_id in scope.school_ids:
        if school_id not in known:
            store.school(school_id)  # raises UnknownSchoolError with its advice
    items = store.plan_items(version.version_id, year=scope.year)
    if scope.school_ids:
        wanted = set(scope.school_ids)
        items = [i for i in items if i.school_id in wanted]
    if not items:
        what = f"year {scope.year}" if scope.year is not None else "these schools"
        raise NotFoundError(
            f"the plan in force (version {version.version_id}) has no items for {what}; "
            "check --school and --year against 'provision plan show' (a school not in the "
            "plan is listed in the whole report's section 'not in the plan')"
        )
    return items


def _device_sections(store: Store, scope: Scope, version: PlanVersion, schools: set[str],
                     facts: dict[str, _SchoolFacts],
                     ) -> tuple[list[DeviceLine], list[UnplannedSchool]]:
    """Devices needing attention at `schools`, and the schools not in the plan."""
    devices = store.device_states_until(scope.until)
    names = {s.school_id: s.name for s in store.schools()}
    planned = store.plan_school_ids(version.version_id)
    counts = {school_id: f.counts() for school_id, f in facts.items()}
    wanted = set(scope.school_ids) if scope.school_ids else None
    return (needing_attention(devices, names, schools),
            unplanned_schools(devices, names, planned, counts, wanted))


def check_as_of(as_of: dt.date, today: dt.date) -> None:
    """Refuse an as-of date in the future: its figures would be today's, mislabelled.

    Raises:
        ConfigError: `as_of` is after `today`.
    """
    if as_of > today:
        raise ConfigError(
            f"--as-of {as_of.isoformat()} lies in the future; give today "
            f"({today.isoformat()}) or an earlier date, e.g. the Stichtag 30 June or 31 December"
        )


def build_report(store: Store, scope: Scope, *, generated_at: str) -> Report:
    """Build the report for `scope` from the database.

    Args:
        store: the state database (only read).
        scope: as-of date, school and year filters, language.
        generated_at: when the report is made (ISO 8601), printed on its title page.

    Returns:
        The report; items ordered by school, year, measure; devices needing attention
        and schools not in the plan ordered by school and device.

    Raises:
        NotFoundError: no plan in force at the as-of date, or nothing in the scope.
        UnknownSchoolError: a school of `--school` is in no plan.
    """
    version = _plan_in_force(store, scope)
    items = _scoped_items(store, scope, version)
    facts = _facts(store, scope.until)
    progress = defaultdict(dict)  # type: defaultdict[str, dict[tuple[str, int], ProgressEntry]]
    for entry in store.progress(scope.until):
        progress[entry.school_id][(entry.measure.value, entry.year)] = entry
    by_school: defaultdict[str, list[PlanItem]] = defaultdict(list)
    for item in items:
        by_school[item.school_id].append(item)
    rows: list[ItemRow] = []
    schools: list[SchoolRow] = []
    for school in store.schools():
        if school.school_id not in by_school:
            continue
        school_facts = facts.get(school.school_id, _SchoolFacts())
        school_rows = _school_items(school, by_school[school.school_id], school_facts,
                                    progress[school.school_id], scope.as_of)
        rows += school_rows
        schools.append(_school_row(school, school_rows, school_facts))
    groups = _group_totals(rows)
    years = _year_totals(groups)
    budget = [YearBudget(year, t.budget, t.approved, t.spent, t.percent)
              for year, t in years.items()]
    attention, unplanned = _device_sections(store, scope, version,
                                            {s.school_id for s in schools}, facts)
    return Report(scope=scope, generated_at=generated_at, plan_version=version,
                  summary=_summary(schools, years), measures=_measure_years(groups),
                  budget=budget, schools=schools, items=rows, attention=attention,
                  unplanned=unplanned)
