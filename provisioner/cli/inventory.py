"""`provision inventory ...`: check the per-school inventories, sync them into the database."""

from __future__ import annotations

import click

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
from provisioner.errors import ExitStatus
from provisioner.inventory.check import InventoryReport
from provisioner.inventory.service import (
    InventoryRefusedError,
    inventory_check,
    inventory_sync,
)
from provisioner.terminal import to_json


@cli.group()
def inventory() -> None:
    """The per-school Ansible inventories: check them, sync them into the database."""


def _report_inventory(obj: Context, report: InventoryReport, synced: bool) -> None:
    if obj.json_output:
        echo_rendered(to_json({"ok": report.ok, "problems": [str(p) for p in report.problems],
                            "warnings": [str(w) for w in report.warnings],
                            "hosts": report.seen, "devices": len(report.devices),
                            "comparisons": report.comparisons}), nl=False)
    else:
        rows = [[c.school_id, c.role.value, c.planned, c.inventoried,
                 f"{c.difference:+d}" if c.difference else "="]
                for c in report.comparisons if c.planned or c.inventoried]
        if rows:
            obj.table(["school", "role", "planned", "inventoried", "diff"], rows,
                      right=[2, 3, 4], title="Devices: plan against inventory")
        for problem in report.problems:
            echo(f"  {problem}", err=True)
        for warning in report.warnings:
            echo(f"  warning: {warning}", err=True)
        refused = report.seen - len(report.devices)
        hosts = f" of {report.seen} hosts Ansible sees" if refused else ""
        devices = plural(len(report.devices), "device")
        done = f"{devices} synced" if synced else f"{devices} checked"
        echo(f"{done}{hosts}, "
             f"{plural(len(report.problems), 'problem')}, "
             f"{plural(len(report.warnings), 'warning')}")
    if not report.ok:
        raise click.exceptions.Exit(int(ExitStatus.INVALID_INPUT))


@inventory.command("check")
@click.option("--school", "school_id", type=school_id_type, help="Only this school (id).")
@json_option
@pass_ctx
def inventory_check_cmd(obj: Context, school_id: str | None) -> None:
    """Check inventories as Ansible reads them: roles, platforms, addresses, uplinks, plan.

    Every host Ansible sees (ansible-inventory -i DIR/SCHOOL --list) is a device
    or named in a problem: no role group or two, no platform, a managed device's
    platform the tool does not know or of another kind than its group, a Jinja2 value
    that does not render, an unknown uplink, an uplink cycle, an address used twice, a
    file Ansible cannot parse. Numbers YAML made of text (serial 000123, room 1.10)
    are warnings. Device counts are compared with the plan (reported, not an error).

    Example: provision inventory check --school 100001
    """
    report = inventory_check(obj.app.store, obj.app.settings.inventories, school_id)
    _report_inventory(obj, report, synced=False)


@inventory.command("sync")
@click.option("--school", "school_id", type=school_id_type, help="Only this school (id).")
@json_option
@pass_ctx
def inventory_sync_cmd(obj: Context, school_id: str | None) -> None:
    """Check the inventories, then store their devices in the database.

    Nothing is written when the check finds a problem. Devices that stay keep their
    rollout state (planned, provisioned, verified...); devices no longer in a
    school's inventory are removed; all in one transaction.

    Example: provision inventory sync
    """
    try:
        with obj.app.audited(f"inventory sync{' --school ' + school_id if school_id else ''}"):
            report = inventory_sync(obj.app.store, obj.app.settings.inventories, school_id)
    except InventoryRefusedError as exc:
        if obj.json_output:
            _report_inventory(obj, exc.report, synced=True)  # exits with INVALID_INPUT
        for warning in exc.report.warnings:
            echo(f"  warning: {warning}", err=True)
        raise
    _report_inventory(obj, report, synced=True)
