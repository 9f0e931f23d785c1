"""`provision lab ...`: the built-in lab of real daemons."""

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
from provisioner.errors import ExitStatus, LabError, NotFoundError, ProvisionerError
from provisioner.lab import faults as lab_faults
from provisioner.lab import manager as lab_manager
from provisioner.lab import prepare as lab_prepare
from provisioner.lab.credentials import ensure_credentials
from provisioner.lab.nodes import controller_config_path, school_nodes
from provisioner.lab.recordings import (
    describe_recording,
    installed_recordings,
    parse_recorded_device,
)
from provisioner.lab.status import lab_status
from provisioner.lab.topology import (
    MAX_SCHOOLS,
    LabSpec,
    RecordedDevice,
    lab_school_ids,
    switch_simulator,
)
from provisioner.outcome import HealthState
from provisioner.platforms import get_platform
from provisioner.terminal import to_json

# What `lab status` shows for a protocol that answered.
ANSWERED = HealthState.OK.value


def _recorded_devices(_ctx: click.Context, _param: click.Parameter,
                      values: tuple[str, ...]) -> tuple[RecordedDevice, ...]:
    try:
        return tuple(parse_recorded_device(value) for value in values)
    except LabError as exc:
        raise click.BadParameter(str(exc)) from exc


def _switch_platforms(_ctx: click.Context, _param: click.Parameter,
                      values: tuple[str, ...]) -> tuple[str, ...]:
    """`[SCHOOL:]PLATFORM[,PLATFORM]` with every platform one the lab simulates."""
    chosen = []
    for value in values:
        school, _, names = value.strip().rpartition(":")
        platforms = [name.strip() for name in names.split(",") if name.strip()]
        try:
            resolved = [get_platform(name).name for name in platforms]
            for name in resolved:
                switch_simulator(name)
        except (NotFoundError, ValueError) as exc:
            raise click.BadParameter(str(exc)) from exc
        if not resolved:
            raise click.BadParameter(f"{value!r} names no platform")
        chosen.append(f"{school}:{','.join(resolved)}" if school else ",".join(resolved))
    return tuple(chosen)


@cli.group()
def lab() -> None:
    """The built-in lab: a simulated school network of real daemons on this machine."""


@lab.command("up")
@click.option("--schools", type=click.IntRange(1, MAX_SCHOOLS), default=1, show_default=True,
              help="Lab schools; they take the ids of the plan's first schools.")
@click.option("--servers", type=click.IntRange(0, 50), default=2, show_default=True,
              help="Debian servers per school (sshd, snmpd).")
@click.option("--switches", type=click.IntRange(0, 100), default=4, show_default=True,
              help="Simulated switches per school (SSH CLI, SNMP recording).")
@click.option("--aps", type=click.IntRange(0, 150), default=8, show_default=True,
              help="Linux access points per school (sshd, snmpd).")
@click.option("--recorded-aps", type=click.IntRange(0, 50), default=2, show_default=True,
              help="WLAN devices per school answering SNMP from real recordings.")
@click.option("--wlan-aps", type=click.IntRange(0, 150), default=4, show_default=True,
              help="Aruba Instant APs per school, configured through the school's WLAN "
                   "controller (simulated, HTTPS REST API); 0: no controller.")
@click.option("--device", "recorded", multiple=True, metavar="RECORDING:ROLE",
              callback=_recorded_devices,
              help="Also give every school a device answering SNMP from this snmpsim-data "
                   "recording (see 'lab recordings'); ROLE is switch, access_point or "
                   "server. Repeatable.")
@click.option("--switch-platform", "switch_platforms", multiple=True,
              metavar="[SCHOOL:]PLATFORM[,PLATFORM]", callback=_switch_platforms,
              help="The simulated switches' platform (cisco_ios or aruba_aoss; default "
                   "cisco_ios): for every school, or SCHOOL's alone; a list makes a mixed "
                   "school, its switches taking the platforms in turn. Repeatable.")
@click.option("--runtime", type=click.Choice(["auto", "nspawn", "chroot"]), default="auto",
              show_default=True, help="How Debian hosts run: systemd-nspawn or plain chroot.")
@click.option("--nodes", type=click.IntRange(0, 16), default=0, show_default=True,
              help="Execution nodes: each the only way to its schools (round-robin); the "
                   "lab's RabbitMQ on a separate WAN bridge (docs/scale-out.md).")
@pass_ctx
def lab_up_cmd(obj: Context, schools: int, servers: int, switches: int, aps: int,
               recorded_aps: int, wlan_aps: int, recorded: tuple[RecordedDevice, ...],
               switch_platforms: tuple[str, ...], runtime: str, nodes: int) -> None:
    """Build and start the lab (needs root); safe to run again.

    Writes an Ansible inventory per lab school (with each device's uplink switch
    port), the SSH key, a pinned known_hosts and SNMPv3 credentials (0600 files)
    under the lab folder. Recorded devices are named <school>-rec01, ... and marked
    `managed: false`. Each school's WLAN controller is <school>-vc01, its Instant APs
    <school>-iap01, ...; the controller's certificate is pinned in the credentials.

    Example: provision lab up --schools 2 --switch-platform 100002:aruba_aoss

    Also: provision lab up --schools 1 --device network/switch/hpe-procurve-516733-b21:switch
    """
    app = obj.app
    try:
        planned = [s.school_id for s in app.store.schools()]
    except ProvisionerError:
        planned = []
    spec = LabSpec(lab_school_ids(planned, schools), servers, switches, aps, recorded_aps,
                   recorded, nodes=nodes, switch_platforms=switch_platforms,
                   wlan_aps=wlan_aps)
    with app.audited(f"lab up --schools {schools}" + (f" --nodes {nodes}" if nodes else "")):
        creds = ensure_credentials(app.settings.lab_dir / "credentials")
        state = lab_manager.lab_up(spec, app.settings, creds, obj.progress, runtime=runtime)
    obj.table(["device", "school", "role", "kind", "address"],
              [[d.name, d.school_id, d.role.value, d.kind.value, d.address]
               for d in state.devices])
    schools = len(spec.school_ids)
    echo(f"lab up: {len(state.devices)} devices in {schools} "
         f"school{'' if schools == 1 else 's'}; "
         f"inventories in {app.settings.lab_dir / 'inventories'}")
    if nodes:
        served = school_nodes(spec.school_ids, nodes)
        echo("execution nodes: " + "; ".join(
            f"{node}: {', '.join(s for s, n in served.items() if n == node)}"
            for node in dict.fromkeys(served.values())))
        echo("the controller's broker settings: export PROVISIONER_BROKER_CONFIG="
             f"{controller_config_path(app.settings.lab_dir)}")


@lab.command("prepare")
@pass_ctx
def lab_prepare_cmd(obj: Context) -> None:
    """Build or find what every lab is made from, and start nothing (needs root).

    The Debian base root filesystem with its local package repository (debootstrap from
    this machine's Debian mirror: the one step that needs the network, a minute or two)
    and the SNMP recordings with their index, kept in the cache folder (cache_dir,
    PROVISIONER_CACHE_DIR). 'lab up' does the same when they are missing; the test
    command runs this first, since its tests have no network. Says for each whether it
    was cached.

    Example: provision lab prepare
    """
    # Not audited: it changes nothing but the cache, and opens no database.
    prepared = lab_prepare.prepare_lab(obj.app.settings.cache_dir, obj.progress)
    echo(f"lab prepare: base {prepared.base.root.parent} ({prepared.base_s:.0f} s), "
         f"SNMP data {prepared.snmp.root} ({prepared.snmp_s:.0f} s)")


@lab.command("down")
@pass_ctx
def lab_down_cmd(obj: Context) -> None:
    """Remove the lab: namespaces, links, mounts, processes and cgroups, also a crashed one's.

    Example: provision lab down
    """
    with obj.app.audited("lab down"):
        summary = lab_manager.lab_down(obj.app.settings, obj.progress)
    echo(f"lab down: {summary}")


@lab.command("status")
@json_option
@pass_ctx
def lab_status_cmd(obj: Context) -> None:
    """Show each lab device, whether SSH, SNMPv3 or its WLAN controller's API answer, and
    any lab fault.

    Exits with 7 when a device does not answer.

    Example: provision lab status
    """
    snmp = obj.app.snmp()
    try:
        results = lab_status(obj.app.settings.lab_dir, snmp)
    finally:
        snmp.close()
    probes = [r.data for r in results if r.data is not None]
    if obj.json_output:
        echo_rendered(to_json([{"device": p.device.name, "address": p.device.address,
                             "ssh": None if not p.ssh_checked else (p.ssh_error or ANSWERED),
                             "snmp": None if not p.snmp_checked else (p.snmp_error or ANSWERED),
                             "api": None if not p.api_checked else (p.api_error or ANSWERED),
                             "sys_descr": p.sys_descr,
                             "fault": p.fault,
                             "failure": results[p.device.name].failure}
                            for p in probes]), nl=False)
    else:
        obj.table(["device", "role", "address", "ssh", "snmp", "api", "fault", "sysDescr"],
                  [[p.device.name, p.device.role.value, p.device.address,
                    (p.ssh_error or ANSWERED) if p.ssh_checked else "-",
                    (p.snmp_error or ANSWERED) if p.snmp_checked else "-",
                    (p.api_error or ANSWERED) if p.api_checked else "-",
                    p.fault or "", p.sys_descr.splitlines()[0][:60] if p.sys_descr else ""]
                   for p in probes])
        failed = len(results.failed_devices)
        echo(f"{len(results) - failed} of {len(results)} devices answer")
    if results.failed:
        raise click.exceptions.Exit(int(ExitStatus.DEVICES_FAILED))


@lab.command("fault", context_settings={"ignore_unknown_options": False})
@click.argument("words", nargs=-1, metavar="[DEVICE] ACTION")
@click.option("--school", type=school_id_type, metavar="ID",
              help="Act on a whole lab school: ACTION is cut or restore.")
@json_option
@pass_ctx
def lab_fault_cmd(obj: Context, words: tuple[str, ...], school: str | None) -> None:
    """Make a lab device or school fail, for real, to rehearse (needs root).

    DEVICE ACTION: stop (nothing answers; an Instant AP: its controller sees it
    down), start, rekey (a new SSH host key; the pinned known_hosts keeps the old one
    until 'provision trust'), reboot (its agents restart: sysUpTime counts anew),
    hostile (its SNMP address answers with forged, unauthenticated, malformed and
    flooding replies, never a usable one), restore (undoes hostile). For a WLAN
    controller also reject-login (it refuses every login), unknown-ap (an AP the
    inventory does not know joins it) and clear (both end). --school ID cut|restore:
    the school's uplink goes down (none of its devices answers) or comes back. 'lab
    status' shows the faults; 'lab down' removes a faulted lab as any other.

    Example: provision lab fault 100001-srv01 stop
    """
    if school is not None:
        if len(words) != 1 or words[0] not in lab_faults.SCHOOL_ACTIONS:
            raise click.UsageError("with --school give one ACTION: cut or restore")
        command = f"lab fault --school {school} {words[0]}"
        with obj.app.audited(command):
            outcome = lab_faults.school_fault(obj.app.settings.lab_dir, school, words[0])
    else:
        if len(words) != 2 or words[1] not in lab_faults.DEVICE_ACTIONS:
            raise click.UsageError("give DEVICE ACTION with ACTION one of "
                                   f"{', '.join(lab_faults.DEVICE_ACTIONS)} "
                                   "(or --school ID cut|restore)")
        with obj.app.audited(f"lab fault {words[0]} {words[1]}"):
            outcome = lab_faults.device_fault(obj.app.settings.lab_dir, words[0], words[1])
    if obj.json_output:
        echo_rendered(to_json({"target": outcome.target, "action": outcome.action,
                            "fault": outcome.fault, "message": outcome.message}), nl=False)
    else:
        echo(outcome.message)


@lab.command("recordings")
@json_option
@pass_ctx
def lab_recordings_cmd(obj: Context) -> None:
    """List the snmpsim-data recordings 'lab up --device' can put into a lab school.

    Each with the vendor, model and firmware its recorded sysDescr names.

    Example: provision lab recordings
    """
    infos = [describe_recording(path) for path in installed_recordings()]
    if obj.json_output:
        echo_rendered(to_json([{"recording": i.path, "sys_descr": i.sys_descr,
                             "sys_object_id": i.sys_object_id} for i in infos]), nl=False)
        return
    obj.table(["recording", "sysObjectID", "sysDescr"],
              [[i.path, i.sys_object_id, i.sys_descr[:70]] for i in infos])
