"""`provision plan ...`: import, show and compare the media development plan."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from provisioner import overview
from provisioner.cli.base import (
    Context,
    cli,
    echo,
    echo_rendered,
    json_option,
    pass_ctx,
    plural,
    school_id_type,
)
from provisioner.plan import ParsedPlan
from provisioner.plan.diff import PlanDiff
from provisioner.plan.service import ImportOutcome, import_plan, last_change
from provisioner.terminal import eur, to_json


@cli.group()
def plan() -> None:
    """The media development plan (Medienentwicklungsplan): import, show, compare."""


def _diff_rows(diff: PlanDiff) -> list[list[object]]:
    rows: list[list[object]] = []
    for item in diff.added:
        rows.append(["+", item.school_id, item.measure.value, item.year, "new",
                     eur(item.budget_eur)])
    for item in diff.removed:
        rows.append(["-", item.school_id, item.measure.value, item.year, "removed",
                     eur(item.budget_eur)])
    for change in diff.changed:
        old, new = change.old, change.new
        what = ", ".join(change.changed_fields)
        rows.append(["~", new.school_id, new.measure.value, new.year, what,
                     f"{eur(old.budget_eur)} -> {eur(new.budget_eur)}"])
    return rows


def _show_diff(obj: Context, diff: PlanDiff) -> None:
    echo(f"{len(diff.added)} added, {len(diff.removed)} removed, "
         f"{len(diff.changed)} changed, {diff.unchanged} unchanged")
    if not diff.is_empty:
        obj.table(["", "school", "measure", "year", "what", "budget"], _diff_rows(diff))


def _read_as(parsed: ParsedPlan) -> dict[str, object]:
    info = parsed.info
    return {"format": info.format, "sheet": info.sheet, "encoding": info.encoding,
            "delimiter": info.delimiter}


def _show_import(obj: Context, outcome: ImportOutcome, dry_run: bool) -> None:
    parsed = outcome.parsed
    echo(f"{parsed.source}: {plural(len(parsed.items), 'plan item')} of "
         f"{plural(len(parsed.schools), 'school')}")
    if outcome.previous is None:
        # Against an empty database every line is new: a list of them tells nothing.
        echo(f"first plan: {plural(len(parsed.items), 'item')}")
    else:
        _show_diff(obj, outcome.diff)
    echo(f"read as {parsed.detected}")
    for notice in parsed.notices:
        echo(f"note: {notice}")
    for warning in parsed.warnings:
        echo(f"warning: {warning}")
    if outcome.version is not None:
        echo(f"imported as plan version {outcome.version.version_id}")
    elif dry_run:
        echo("dry run: nothing written")
    else:
        echo("the plan in force already says exactly this: nothing written")


@plan.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@click.option("--sheet", metavar="NAME",
              help="Read this worksheet (default: the visible sheet holding the plan's columns).")
@click.option("--encoding", metavar="NAME",
              help="Text encoding of a CSV file, e.g. cp1252 (default: detected).")
@json_option
@pass_ctx
def plan_import(obj: Context, file: Path, dry_run: bool, sheet: str | None,
                encoding: str | None) -> None:
    """Import a plan file (CSV, XLSX, XLS or ODS) as a new plan version.

    All problems of the file are listed at once; with any problem nothing is written.
    The summary names the sheet, encoding and delimiter read; with --json a refused
    file's problems are printed as JSON too.

    Example: provision plan import examples/plan-musterstadt.csv --dry-run
    """
    command = f"plan import {file.name}{' --dry-run' if dry_run else ''}"
    # A refused file's problems reach --json as the CLI's one error shape (cli/base.py).
    with obj.app.audited(command):
        outcome = import_plan(obj.app.store, file, user=obj.app.user, dry_run=dry_run,
                              sheet=sheet, encoding=encoding)
    if obj.json_output:
        parsed = outcome.parsed
        echo_rendered(to_json({"version": outcome.version, "dry_run": dry_run,
                            "schools": len(parsed.schools), "items": len(parsed.items),
                            "read_as": _read_as(parsed),
                            "notices": [asdict(p) for p in parsed.notices],
                            "warnings": [asdict(p) for p in parsed.warnings],
                            "diff": outcome.diff}), nl=False)
        return
    _show_import(obj, outcome, dry_run)


@plan.command("show")
@click.option("--school", "school_id", type=school_id_type, help="Only this school (id).")
@click.option("--year", type=int, help="Only this plan year.")
@json_option
@pass_ctx
def plan_show(obj: Context, school_id: str | None, year: int | None) -> None:
    """Show the plan in force with totals per year.

    Example: provision plan show --school 100001 --year 2021
    """
    store = obj.app.store
    if school_id is not None:
        store.school(school_id)
    items = store.plan_items(school_id=school_id, year=year)
    if obj.json_output:
        echo_rendered(to_json({"items": items, "totals": overview.plan_totals(items)}), nl=False)
        return
    names = {s.school_id: s.name for s in store.schools()}
    rows = [[i.school_id, names.get(i.school_id, ""), i.year, i.measure.german, i.quantity,
             eur(i.budget_eur), i.funding, i.funding_status.value if i.funding_status else "",
             eur(i.spent_eur)] for i in items]
    obj.table(["school", "name", "year", "measure", "qty", "budget", "funding", "status",
               "spent"], rows, right=[4, 5, 8])
    for plan_year, totals in overview.totals_by_year(items).items():
        echo(f"total {plan_year}: {eur(totals.budget_eur)} budget, "
             f"{eur(totals.spent_eur)} spent, {totals.items} items")
    totals = overview.plan_totals(items)
    echo(f"total: {eur(totals.budget_eur)} budget, {eur(totals.spent_eur)} spent, "
         f"{totals.items} items")


@plan.command("diff")
@click.option("--version", "version_id", type=int,
              help="Compare this version with the one before (default: the latest).")
@json_option
@pass_ctx
def plan_diff(obj: Context, version_id: int | None) -> None:
    """Show what an import changed in the plan (default: the last import).

    Example: provision plan diff
    """
    new, old, diff = last_change(obj.app.store, version_id)
    if obj.json_output:
        echo_rendered(to_json({"version": new, "previous": old, "diff": diff}), nl=False)
        return
    against = f"version {old.version_id}" if old else "an empty plan"
    echo(f"plan version {new.version_id} ({new.source}, {new.imported_at}) "
         f"against {against}:")
    _show_diff(obj, diff)


@plan.command("versions")
@json_option
@pass_ctx
def plan_versions(obj: Context) -> None:
    """List every import of the plan, oldest first.

    Example: provision plan versions
    """
    versions = obj.app.store.plan_versions()
    if obj.json_output:
        echo_rendered(to_json(versions), nl=False)
        return
    obj.table(["version", "imported", "by", "file", "items", "sha256"],
              [[v.version_id, v.imported_at, v.imported_by, v.source, v.item_count,
                v.sha256[:12]] for v in versions], right=[0, 4])


@plan.command("progress")
@click.option("--school", "school_id", type=school_id_type, required=True,
              help="The school (id).")
@click.option("--measure", required=True,
              help="cabling, wlan, displays or end_devices (German names work too).")
@click.option("--year", type=int, required=True, help="The plan year of the item.")
@click.option("--done", required=True,
              help="Pieces done of the planned quantity (12), or a share (60%).")
@click.option("--note", default="", help="What was done, e.g. the acceptance (Abnahme) date.")
@json_option
@pass_ctx
def plan_progress(obj: Context, school_id: str, measure: str, year: int, done: str,
                  note: str) -> None:
    """Record progress of a plan item without managed devices (cabling, displays, ...).

    Servers, switches and access points are counted from their devices' rollout state
    and refused here. The newest entry counts; every entry stays in the history.

    Example: provision plan progress --school 100001 --measure cabling --year 2020 --done 100%
    """
    from provisioner.report.progress import parse_measure, record_progress

    kind = parse_measure(measure)
    with obj.app.audited(f"plan progress {school_id} {kind.value} {year} {done}"):
        entry = record_progress(obj.app.store, school_id=school_id, measure=kind, year=year,
                                done=done, note=note, user=obj.app.user)
    if obj.json_output:
        echo_rendered(to_json(entry), nl=False)
        return
    amount = f"{entry.done}%" if entry.unit == "percent" else f"{entry.done} done"
    echo(f"recorded: {entry.school_id} {kind.german} {entry.year}: {amount}"
         + (f" ({entry.note})" if entry.note else ""))
