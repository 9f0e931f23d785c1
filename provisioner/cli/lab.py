"""`provision lab ...`: the built-in lab of real daemons."""

from __future__ import annotations

import click

from provisioner.cli.base import Context, cli, json_option, pass_ctx
from provisioner.errors import ExitStatus, ProvisionerError
from provisioner.lab import manager as lab_manager
from provisioner.lab.credentials import ensure_credentials
from provisioner.lab.status import lab_status
from provisioner.lab.topology import MAX_SCHOOLS, LabSpec, lab_school_ids
from provisioner.terminal import to_json


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
