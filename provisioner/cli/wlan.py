"""`provision wlan`: what a school's WLAN controllers carry now, read through their API."""

from __future__ import annotations

import click

from provisioner.cli.base import (
    Context,
    cli,
    echo,
    echo_rendered,
    json_option,
    pass_ctx,
    school_id_type,
)
from provisioner.errors import ExitStatus
from provisioner.inventory import load_inventories
from provisioner.terminal import to_json
from provisioner.wlan.overview import ControllerView, school_wlan


def _print(obj: Context, view: ControllerView) -> None:
    if view.error:
        echo(f"{view.name} ({view.platform}, {view.address}): {view.error}")
        return
    ssids = ", ".join(f"{s.essid} (VLAN {s.vlan}, {s.opmode}"
                      f"{'' if s.enabled else ', disabled'})" for s in view.ssids) or "none"
    up = sum(a.state == "up" for a in view.aps)
    clients = sum(a.total for a in view.aps)
    echo(f"{view.name} ({view.platform}, {view.address}): SSIDs {ssids}; "
                         f"{up} of {len(view.aps)} APs up, {clients} clients")
    names = [s.essid for s in view.ssids]
    if view.aps:
        obj.table(["ap", "state", "clients", *names],
                  [[a.name, a.state, a.total, *(a.clients.get(n, 0) for n in names)]
                   for a in view.aps], right=list(range(2, len(names) + 3)))
    for line in view.unknown:
        echo(f"  warning: AP {line} is in its cluster but not in the inventory")


@cli.command("wlan")
@click.option("--school", "school_id", required=True, type=school_id_type,
              help="The school (id) whose WLAN controllers to read.")
@json_option
@pass_ctx
def wlan_cmd(obj: Context, school_id: str) -> None:
    """Show what the school's WLAN controllers carry now: SSIDs, APs up, clients per SSID.

    Read live through each controller's REST API (TLS against its pinned certificate);
    the APs are the inventory's that name the controller, an AP of its cluster the
    inventory does not know is named. Exits with 7 when a controller cannot be read.

    Example: provision wlan --school 100001
    """
    devices = load_inventories(obj.app.settings.inventories, school_id).devices
    views = school_wlan(devices)
    if obj.json_output:
        echo_rendered(to_json(views), nl=False)
    elif not views:
        echo(f"school {school_id} has no WLAN controller in its inventory")
    for view in views if not obj.json_output else ():
        _print(obj, view)
    if any(v.error for v in views):
        raise click.exceptions.Exit(int(ExitStatus.DEVICES_FAILED))
