"""`provision schools` and `provision school show`: the schools with their plan and devices."""

from __future__ import annotations

import click

from provisioner import overview
from provisioner.cli.base import (
    Context,
    cli,
    echo,
    echo_rendered,
    json_option,
    pass_ctx,
    school_id_type,
)
from provisioner.cli.provision import provision_command, run_status_text
from provisioner.models import Role
from provisioner.outcome import HealthState
from provisioner.provision import engine
from provisioner.provision.locks import gone_runs
from provisioner.provision.options import STRATEGIES, STRATEGY
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
        echo_rendered(to_json(lines), nl=False)
        return
    rows = [[o.school.school_id, _name(o.school.name, o.in_plan), o.school.school_type,
             o.totals.items,
             eur(o.totals.budget_eur), eur(o.totals.spent_eur), o.devices[Role.SERVER],
             o.devices[Role.SWITCH], o.devices[Role.ACCESS_POINT]] for o in lines]
    obj.table(["school", "name", "type", "items", "budget", "spent", "servers", "switches",
               "APs"], rows, right=[3, 4, 5, 6, 7, 8])


def _name(name: str, in_plan: bool) -> str:
    return name if in_plan else f"{name} (not in the plan)".strip()


class _SchoolGroup(click.Group):
    """`school`'s subcommands; a school id in a subcommand's place gets the command it
    was meant for (`provision school 100001` for `provision school --id 100001`)."""

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and self.get_command(ctx, name) is None and name.isdigit():
            raise click.UsageError(f"{name!r} is no subcommand of 'school'; to provision "
                                   f"school {name}: provision school --id {name}; to see "
                                   f"it: provision school show {name}", ctx)
        return super().resolve_command(ctx, args)


@cli.group(cls=_SchoolGroup, invoke_without_command=True)
@click.option("--id", "school_ids", multiple=True, type=school_id_type,
              help="Provision this school (repeat for several, run side by side).")
@click.option("--check", is_flag=True, help="Ansible check mode with diff: change nothing.")
@click.option("--limit", "limit", help="Only these hosts or groups (comma-separated).")
@click.option("--tags", help="Only tasks with these tags (comma-separated).")
@click.option("--resume", is_flag=True,
              help="Only the hosts that failed or did not finish in the school's last run.")
@click.option("--batch", type=click.IntRange(1), help="Switches and APs in waves of N "
                                                      "(servers first).")
@click.option("--max-fail-percent", type=click.IntRange(0, 100),
              help="Start no further wave once more than P% of the hosts failed.")
@click.option("--forks", type=click.IntRange(1, 500), default=25, show_default=True,
              help="Hosts worked on in parallel (and schools side by side).")
@click.option("--strategy", type=click.Choice(STRATEGIES), default=STRATEGY,
              show_default=True, help="Ansible strategy plugin (see docs/benchmarks.md).")
@click.option("--plays-in-order", is_flag=True,
              help="One ansible-playbook, its plays one after another, as plain Ansible "
                   "runs it (default: the switches' and WLAN controllers' plays run "
                   "beside the servers' and APs').")
@click.option("--yes", is_flag=True, help="Do not ask (required when stdin is not a terminal).")
@json_option
@click.pass_context
def school(ctx: click.Context, school_ids: tuple[str, ...], check: bool, limit: str | None,
           tags: str | None, resume: bool, batch: int | None, max_fail_percent: int | None,
           forks: int, strategy: str, plays_in_order: bool, yes: bool) -> None:
    """One school: provision it with --id (see 'school show' for its plan and devices).

    Preflight (addresses, SSH host keys, credentials, SNMP), the site playbook through
    Ansible, then a read-back verification. Exit status: 0 all verified, 7 some hosts
    failed, 8 preflight let no host through, 3 bad input (e.g. an address outside the
    management networks), 4 unknown school (no inventory) or a --limit that names no
    host or group, 9 the school is already being provisioned, 130 stopped by Ctrl-C or
    SIGTERM.

    Example: provision school --id 100001 --yes
    """
    if ctx.invoked_subcommand is not None:
        if school_ids:
            raise click.UsageError("--id provisions; it cannot be combined with a subcommand")
        return
    if not school_ids:
        raise click.UsageError("give --id SCHOOL to provision, or a subcommand such as "
                               "'school show SCHOOL'")
    options = engine.Options(
        check=check, limit=_split(limit), tags=_split(tags), resume=resume, batch=batch,
        max_fail_percent=max_fail_percent, forks=forks, strategy=strategy,
        plays_in_order=plays_in_order)
    provision_command(ctx.find_object(Context), list(dict.fromkeys(school_ids)), options, yes)


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


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
        echo_rendered(to_json(detail), nl=False)
        return
    s = detail.school
    echo(f"{s.school_id} {s.name or '(no name)'} ({s.school_type or 'type unknown'})")
    if not detail.in_plan:
        echo("not in the plan in force: its devices are kept and the committee report "
             "lists them under 'not in the plan'; import a plan that contains it")
    obj.table(["year", "measure", "qty", "budget", "status", "spent"],
              [[i.year, i.measure.german, i.quantity, eur(i.budget_eur),
                i.funding_status.value if i.funding_status else "", eur(i.spent_eur)]
               for i in detail.items], title="Plan", right=[2, 3, 5])
    totals = detail.totals
    echo(f"total: {eur(totals.budget_eur)} budget, {eur(totals.spent_eur)} spent")
    if detail.devices:
        obj.table(["device", "role", "platform", "address", "room", "state"],
                  [[d.name, d.role.value, d.platform, d.address, d.room, d.state]
                   for d in detail.devices], title="Devices")
        for d in detail.devices:
            if d.state.needs_attention:
                echo(f"  {d.name} {d.state} since {d.state_at}: {d.state_detail}")
    else:
        echo("devices: none synced (run 'provision inventory sync')")
    run = detail.latest_run
    if run is None:
        echo("latest run: none")
    else:  # a check run changed nothing: it must not read as the rollout itself
        mode = ", check mode: nothing changed" if run.mode == "check" else ""
        scope = f", partial: {run.scope}" if run.partial else ""
        status = run_status_text(run, gone_runs(obj.app.store.runs, school_id))
        echo(f"latest run: run {run.run_id} ({run.kind}{mode}{scope}) {status} at "
             f"{run.started_at}")
    if detail.progress:
        obj.table(["year", "measure", "done", "recorded", "by", "note"],
                  [[e.year, e.measure.german, f"{e.done} %" if e.unit == "percent" else e.done,
                    e.recorded_at[:10], e.recorded_by, e.note] for e in detail.progress],
                  title="Progress recorded")
    echo(f"health: {detail.health_summary}")
    for sample in detail.health:
        if sample.state != HealthState.OK:
            echo(f"  {sample.device} {sample.state}: {sample.detail}")
