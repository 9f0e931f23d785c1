"""`provision schools` and `provision school show`: the schools with their plan and devices."""

from __future__ import annotations

import click

from provisioner import overview
from provisioner.cli.base import Context, cli, json_option, pass_ctx, school_id_type
from provisioner.models import Role
from provisioner.terminal import eur, to_json


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
