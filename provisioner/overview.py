"""Per-school overviews: plan totals beside inventory counts, runs and health."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from provisioner.db import Store
from provisioner.errors import UnknownSchoolError
from provisioner.models import (
    Device,
    HealthSample,
    PlanItem,
    ProgressEntry,
    Role,
    RunSummary,
    School,
)


@dataclass(frozen=True)
class PlanTotals:
    """Money and items of part of the plan."""

    items: int = 0
    budget_eur: Decimal = Decimal(0)
    spent_eur: Decimal = Decimal(0)

    def add(self, item: PlanItem) -> PlanTotals:
        """These totals with one more item."""
        return PlanTotals(self.items + 1, self.budget_eur + item.budget_eur,
                          self.spent_eur + (item.spent_eur or Decimal(0)))


def plan_totals(items: Iterable[PlanItem]) -> PlanTotals:
    """Totals over `items`."""
    totals = PlanTotals()
    for item in items:
        totals = totals.add(item)
    return totals


def totals_by_year(items: Iterable[PlanItem]) -> dict[int, PlanTotals]:
    """Totals per plan year, years ascending."""
    years: defaultdict[int, PlanTotals] = defaultdict(PlanTotals)
    for item in items:
        years[item.year] = years[item.year].add(item)
    return dict(sorted(years.items()))


@dataclass(frozen=True)
class SchoolOverview:
    """One line of `provision schools`; `in_plan`: the plan in force contains the school
    (one that does not has devices synced or provisioned all the same)."""

    school: School
    totals: PlanTotals
    devices: dict[Role, int]
    in_plan: bool = True


@dataclass(frozen=True)
class SchoolDetail:
    """Everything `provision school show` tells about one school."""

    school: School
    items: list[PlanItem]
    devices: list[Device]
    latest_run: RunSummary | None
    health: list[HealthSample] = field(default_factory=list)
    dead_site: bool = False  # the latest health check found the site dead
    # The newest progress staff recorded per item (cabling, displays, ...): `plan progress`.
    progress: list[ProgressEntry] = field(default_factory=list)
    # The plan in force contains the school; False: its devices were synced or provisioned
    # before the plan named it (the report lists it under "not in the plan").
    in_plan: bool = True

    @property
    def health_summary(self) -> str:
        """The latest health in one line: when, devices per state, a dead site first."""
        if not self.health:
            return "no samples yet (run 'provision health --school ID')"
        counts = Counter(h.state for h in self.health)
        states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        latest = max(h.sampled_at for h in self.health)
        return ("DEAD SITE; " if self.dead_site else "") + f"{states} (latest check {latest})"

    @property
    def totals(self) -> PlanTotals:
        """Totals over the school's whole plan."""
        return plan_totals(self.items)


def schools_overview(store: Store) -> list[SchoolOverview]:
    """Every school in the plan with its totals and inventoried device counts."""
    items_by_school: defaultdict[str, list[PlanItem]] = defaultdict(list)
    for item in store.plan_items():
        items_by_school[item.school_id].append(item)
    counts: Counter[tuple[str, Role]] = Counter((d.school_id, d.role) for d in store.devices())
    known = {s.school_id: s for s in store.schools()}
    planned = set(items_by_school)
    ids = sorted(set(known) | {school_id for school_id, _ in counts})
    return [
        SchoolOverview(
            known.get(school_id, School(school_id, "")), plan_totals(items_by_school[school_id]),
            {role: counts[(school_id, role)] for role in Role}, school_id in planned,
        )
        for school_id in ids
    ]


def school_detail(store: Store, school_id: str) -> SchoolDetail:
    """One school's plan, devices (with their rollout state and why), latest run and health.

    A school the plan in force does not contain is shown all the same when it has synced
    devices or runs (`in_plan` False); its name is the one an earlier plan gave it.

    Raises:
        UnknownSchoolError: the school is in no imported plan, has no synced device and
            no run.
    """
    devices = store.devices(school_id)
    latest_run = store.latest_run(school_id)
    try:
        school = store.school(school_id)
    except UnknownSchoolError:
        if not devices and latest_run is None:
            raise
        school = School(school_id, "")
    return SchoolDetail(
        school=school,
        items=store.plan_items(school_id=school_id),
        devices=devices,
        latest_run=latest_run,
        health=store.latest_health(school_id),
        dead_site=store.dead_sites_until("9999").get(school_id, False),
        progress=store.progress(school_id=school_id),
        in_plan=school_id in store.plan_school_ids(),
    )


def filter_items(items: Sequence[PlanItem], school_id: str | None,
                 year: int | None) -> list[PlanItem]:
    """Items of one school and/or year."""
    return [i for i in items if (school_id is None or i.school_id == school_id)
            and (year is None or i.year == year)]
