"""The `provision` command: parse, call the library, render. The only module importing click."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from provisioner import __version__, overview
from provisioner.app import App, build_app
from provisioner.errors import ExitStatus, InvalidInputError, ProvisionerError
from provisioner.inventory.service import inventory_check, inventory_sync
from provisioner.lab import manager as lab_manager
from provisioner.lab.credentials import ensure_credentials
from provisioner.lab.status import lab_status
from provisioner.lab.topology import MAX_SCHOOLS, LabSpec, lab_school_ids
from provisioner.models import Role
from provisioner.plan.diff import PlanDiff
from provisioner.plan.service import import_plan, last_change
from provisioner.terminal import eur, render_table, to_json

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What the global options give every command."""

    def __init__(self, app: App, json_output: bool, verbose: int) -> None:
        self.app = app
        self.json_output = json_output
        self.verbose = verbose

    @property
    def tty(self) -> bool:
        """Whether stdout is a terminal (tables with lines and colour)."""
        return sys.stdout.isatty()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]], *,
              title: str | None = None, right: Sequence[int] = ()) -> None:
        """Print a table."""
        click.echo(render_table(headers, rows, title=title, tty=self.tty, right=right), nl=False)

    def progress(self, message: str) -> None:
        """Progress for people: on stderr, so stdout stays data."""
        click.echo(message, err=True)


def fail(exc: ProvisionerError) -> NoReturn:
    """Print a library error as people should read it and exit with its status."""
    if isinstance(exc, InvalidInputError):
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
    click.echo(f"Error: {exc}", err=True)
    raise click.exceptions.Exit(int(exc.exit_status))


class ProvisionerGroup(click.Group):
    """A group that turns library errors into one clear message and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; map ProvisionerError to its exit status."""
        try:
            return super().invoke(ctx)
        except ProvisionerError as exc:
            fail(exc)
        finally:
            obj = ctx.find_object(Context)
            if obj is not None:
                obj.app.close()


pass_ctx = click.make_pass_decorator(Context)


def json_option(func: F) -> F:
    """`--json` on a listing command, same as the global `--json`."""

    def set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.ensure_object(Context).json_output = True

    return click.option("--json", "json_flag", is_flag=True, expose_value=False,
                        callback=set_json, help="Machine-readable JSON output.")(func)


def school_id_type(value: str) -> str:
    """Normalise a school id as typed: spaces removed."""
    return value.replace(" ", "")


@click.group(cls=ProvisionerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="State database file [env PROVISIONER_DB; default in the user's data dir].")
@click.option("--inventories", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of per-school inventories [env PROVISIONER_INVENTORIES; "
                   "default ./inventories].")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file (TOML) [env PROVISIONER_CONFIG].")
@click.option("--json", "json_output", is_flag=True, help="Machine-readable JSON output.")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv: debug).")
@click.version_option(__version__, prog_name="provision")
@click.pass_context
def cli(ctx: click.Context, db: Path | None, inventories: Path | None,
        config_file: Path | None, json_output: bool, verbose: int) -> None:
    """Roll out, check and report the IT of a city's schools.

    Example: provision plan import examples/plan-musterstadt.csv
    """
    levels = {0: logging.WARNING, 1: logging.INFO}
    logging.basicConfig(level=levels.get(verbose, logging.DEBUG), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        app = build_app({"db": db, "inventories": inventories}, config_file=config_file)
    except ProvisionerError as exc:
        fail(exc)
    ctx.obj = Context(app, json_output, verbose)


# -- plan ------------------------------------------------------------------------------


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
    click.echo(f"{len(diff.added)} added, {len(diff.removed)} removed, "
               f"{len(diff.changed)} changed, {diff.unchanged} unchanged")
    if not diff.is_empty:
        obj.table(["", "school", "measure", "year", "what", "budget"], _diff_rows(diff))


@plan.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@json_option
@pass_ctx
def plan_import(obj: Context, file: Path, dry_run: bool) -> None:
    """Import a plan file (CSV or XLSX) as a new plan version.

    All problems of the file are listed at once; with any problem nothing is written.

    Example: provision plan import examples/plan-musterstadt.csv --dry-run
    """
    with obj.app.audited(f"plan import {file.name}{' --dry-run' if dry_run else ''}"):
        outcome = import_plan(obj.app.store, file, user=obj.app.user, dry_run=dry_run)
    if obj.json_output:
        click.echo(to_json({"version": outcome.version, "dry_run": dry_run,
                            "schools": len(outcome.parsed.schools),
                            "items": len(outcome.parsed.items), "diff": outcome.diff}), nl=False)
        return
    parsed = outcome.parsed
    click.echo(f"{parsed.source}: {len(parsed.items)} plan items of {len(parsed.schools)} schools")
    if outcome.previous is None:
        # Against an empty database every line is new: a list of them tells nothing.
        click.echo(f"first plan: {len(parsed.items)} items")
    else:
        _show_diff(obj, outcome.diff)
    if outcome.version is not None:
        click.echo(f"imported as plan version {outcome.version.version_id}")
    elif dry_run:
        click.echo("dry run: nothing written")
    else:
        click.echo("the plan in force already says exactly this: nothing written")


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
        click.echo(to_json({"items": items, "totals": overview.plan_totals(items)}), nl=False)
        return
    names = {s.school_id: s.name for s in store.schools()}
    rows = [[i.school_id, names.get(i.school_id, ""), i.year, i.measure.german, i.quantity,
             eur(i.budget_eur), i.funding, i.funding_status.value if i.funding_status else "",
             eur(i.spent_eur)] for i in items]
    obj.table(["school", "name", "year", "measure", "qty", "budget", "funding", "status",
               "spent"], rows, right=[4, 5, 8])
    for plan_year, totals in overview.totals_by_year(items).items():
        click.echo(f"total {plan_year}: {eur(totals.budget_eur)} budget, "
                   f"{eur(totals.spent_eur)} spent, {totals.items} items")
    totals = overview.plan_totals(items)
    click.echo(f"total: {eur(totals.budget_eur)} budget, {eur(totals.spent_eur)} spent, "
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
        click.echo(to_json({"version": new, "previous": old, "diff": diff}), nl=False)
        return
    against = f"version {old.version_id}" if old else "an empty plan"
    click.echo(f"plan version {new.version_id} ({new.source}, {new.imported_at}) "
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
        click.echo(to_json(versions), nl=False)
        return
    obj.table(["version", "imported", "by", "file", "items", "sha256"],
              [[v.version_id, v.imported_at, v.imported_by, v.source, v.item_count,
                v.sha256[:12]] for v in versions], right=[0, 4])


# -- inventory ----------------------------------------------------------------------------


@cli.group()
def inventory() -> None:
    """The per-school Ansible inventories: check them, sync them into the database."""


def _report_inventory(obj: Context, report: Any, verb: str) -> None:
    if obj.json_output:
        click.echo(to_json({"ok": report.ok, "problems": [str(p) for p in report.problems],
                            "devices": len(report.devices),
                            "comparisons": report.comparisons}), nl=False)
    else:
        rows = [[c.school_id, c.role.value, c.planned, c.inventoried,
                 f"{c.difference:+d}" if c.difference else "="]
                for c in report.comparisons if c.planned or c.inventoried]
        if rows:
            obj.table(["school", "role", "planned", "inventoried", "diff"], rows,
                      right=[2, 3, 4], title="Devices: plan against inventory")
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
        click.echo(f"{len(report.devices)} devices {verb}, {len(report.problems)} problems")
    if not report.ok:
        raise click.exceptions.Exit(int(ExitStatus.INVALID_INPUT))


@inventory.command("check")
@click.option("--school", "school_id", type=school_id_type, help="Only this school (id).")
@json_option
@pass_ctx
def inventory_check_cmd(obj: Context, school_id: str | None) -> None:
    """Check inventories: platform and address per host, unique addresses, plan membership.

    Device counts are compared with the plan's quantities (reported, not an error).

    Example: provision inventory check --school 100001
    """
    report = inventory_check(obj.app.store, obj.app.settings.inventories, school_id)
    _report_inventory(obj, report, "checked")


@inventory.command("sync")
@click.option("--school", "school_id", type=school_id_type, help="Only this school (id).")
@json_option
@pass_ctx
def inventory_sync_cmd(obj: Context, school_id: str | None) -> None:
    """Check the inventories, then store their devices in the database.

    Nothing is written when the check finds a problem.

    Example: provision inventory sync
    """
    with obj.app.audited(f"inventory sync{' --school ' + school_id if school_id else ''}"):
        report = inventory_sync(obj.app.store, obj.app.settings.inventories, school_id)
    _report_inventory(obj, report, "synced")


# -- schools ------------------------------------------------------------------------------


@cli.command("schools")
@json_option
@pass_ctx
def schools_cmd(obj: Context) -> None:
    """List the schools with plan totals and inventoried devices.

    Example: provision schools
    """
    lines = overview.schools_overview(obj.app.store)
    if obj.json_output:
        click.echo(to_json(lines), nl=False)
        return
    rows = [[o.school.school_id, o.school.name, o.school.school_type, o.totals.items,
             eur(o.totals.budget_eur), eur(o.totals.spent_eur), o.devices[Role.SERVER],
             o.devices[Role.SWITCH], o.devices[Role.ACCESS_POINT]] for o in lines]
    obj.table(["school", "name", "type", "items", "budget", "spent", "servers", "switches",
               "APs"], rows, right=[3, 4, 5, 6, 7, 8])


@cli.group()
def school() -> None:
    """One school: its plan, devices, runs and health."""


@school.command("show")
@click.argument("school_id", type=school_id_type)
@json_option
@pass_ctx
def school_show(obj: Context, school_id: str) -> None:
    """Show one school: plan items by year, devices, latest run and health.

    Example: provision school show 100001
    """
    detail = overview.school_detail(obj.app.store, school_id)
    if obj.json_output:
        click.echo(to_json(detail), nl=False)
        return
    s = detail.school
    click.echo(f"{s.school_id} {s.name} ({s.school_type or 'type unknown'})")
    obj.table(["year", "measure", "qty", "budget", "status", "spent"],
              [[i.year, i.measure.german, i.quantity, eur(i.budget_eur),
                i.funding_status.value if i.funding_status else "", eur(i.spent_eur)]
               for i in detail.items], title="Plan", right=[2, 3, 5])
    totals = detail.totals
    click.echo(f"total: {eur(totals.budget_eur)} budget, {eur(totals.spent_eur)} spent")
    if detail.devices:
        obj.table(["device", "role", "platform", "address", "room"],
                  [[d.name, d.role.value, d.platform, d.address, d.room]
                   for d in detail.devices], title="Devices")
    else:
        click.echo("devices: none synced (run 'provision inventory sync')")
    run = detail.latest_run
    click.echo(f"latest run: {run.kind} {run.status} at {run.started_at}" if run
               else "latest run: none")
    states = ", ".join(f"{h.device} {h.state}" for h in detail.health)
    click.echo(f"health: {states}" if states else "health: no samples yet")


# -- lab -----------------------------------------------------------------------------------


@cli.group()
def lab() -> None:
    """The built-in lab: a simulated school network of real daemons on this machine."""


@lab.command("up")
@click.option("--schools", type=click.IntRange(1, MAX_SCHOOLS), default=1, show_default=True,
              help="Lab schools; they take the ids of the plan's first schools.")
@click.option("--servers", type=click.IntRange(0, 50), default=2, show_default=True,
              help="Debian servers per school (sshd, snmpd).")
@click.option("--switches", type=click.IntRange(0, 100), default=4, show_default=True,
              help="Simulated Cisco IOS switches per school (SSH CLI, SNMP recording).")
@click.option("--aps", type=click.IntRange(0, 150), default=8, show_default=True,
              help="Linux access points per school (sshd, snmpd).")
@click.option("--recorded-aps", type=click.IntRange(0, 50), default=2, show_default=True,
              help="WLAN devices per school answering SNMP from real recordings.")
@click.option("--runtime", type=click.Choice(["auto", "nspawn", "chroot"]), default="auto",
              show_default=True, help="How Debian hosts run: systemd-nspawn or plain chroot.")
@pass_ctx
def lab_up_cmd(obj: Context, schools: int, servers: int, switches: int, aps: int,
               recorded_aps: int, runtime: str) -> None:
    """Build and start the lab (needs root); safe to run again.

    Writes an Ansible inventory per lab school, the SSH key, a pinned known_hosts
    and SNMPv3 credentials (0600 files) under the lab folder.

    Example: provision lab up --schools 1 --servers 2 --switches 4 --aps 8
    """
    app = obj.app
    try:
        planned = [s.school_id for s in app.store.schools()]
    except ProvisionerError:
        planned = []
    spec = LabSpec(lab_school_ids(planned, schools), servers, switches, aps, recorded_aps)
    with app.audited(f"lab up --schools {schools}"):
        creds = ensure_credentials(app.settings.lab_dir / "credentials")
        state = lab_manager.lab_up(spec, app.settings, creds, obj.progress, runtime=runtime)
    obj.table(["device", "school", "role", "kind", "address"],
              [[d.name, d.school_id, d.role.value, d.kind.value, d.address]
               for d in state.devices])
    click.echo(f"lab up: {len(state.devices)} devices in {len(spec.school_ids)} schools; "
               f"inventories in {app.settings.lab_dir / 'inventories'}")


@lab.command("down")
@pass_ctx
def lab_down_cmd(obj: Context) -> None:
    """Remove the lab: namespaces, links, mounts, processes and cgroups, also a crashed one's.

    Example: provision lab down
    """
    with obj.app.audited("lab down"):
        summary = lab_manager.lab_down(obj.app.settings, obj.progress)
    click.echo(f"lab down: {summary}")


@lab.command("status")
@json_option
@pass_ctx
def lab_status_cmd(obj: Context) -> None:
    """Show each lab device and whether SSH and SNMPv3 answer.

    Exits with 7 when a device does not answer.

    Example: provision lab status
    """
    statuses = lab_status(obj.app.settings.lab_dir, obj.app.snmp())
    if obj.json_output:
        click.echo(to_json([{"device": s.device.name, "address": s.device.address,
                             "ssh": None if not s.ssh_checked else (s.ssh_error or "ok"),
                             "snmp": s.snmp_error or "ok", "sys_descr": s.sys_descr}
                            for s in statuses]), nl=False)
    else:
        obj.table(["device", "role", "address", "ssh", "snmp", "sysDescr"],
                  [[s.device.name, s.device.role.value, s.device.address,
                    (s.ssh_error or "ok") if s.ssh_checked else "-", s.snmp_error or "ok",
                    s.sys_descr.splitlines()[0][:60] if s.sys_descr else ""]
                   for s in statuses])
        failed = sum(not s.ok for s in statuses)
        click.echo(f"{len(statuses) - failed} of {len(statuses)} devices answer")
    if any(not s.ok for s in statuses):
        raise click.exceptions.Exit(int(ExitStatus.DEVICES_FAILED))


# -- audit ---------------------------------------------------------------------------------


@cli.command("audit")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="How many entries, newest first.")
@json_option
@pass_ctx
def audit_cmd(obj: Context, limit: int) -> None:
    """Show the audit log: who ran which changing command when, and how it ended.

    Example: provision audit --limit 20
    """
    entries = obj.app.store.audit_entries(limit)
    if obj.json_output:
        click.echo(to_json(entries), nl=False)
        return
    obj.table(["when", "who", "command", "outcome", "detail"],
              [[e.at, e.user, e.command, e.outcome, e.detail] for e in entries])


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="provision")


if __name__ == "__main__":
    main()
