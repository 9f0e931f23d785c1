"""`provision school --id N`, `provision runs`, `provision run show`, `provision trust`."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path

import click

from provisioner.ansible import playbook_output
from provisioner.cli.base import (
    Context,
    cli,
    echo,
    echo_error,
    echo_rendered,
    error_of,
    fail,
    json_option,
    pass_ctx,
)
from provisioner.db import Store
from provisioner.devices.ssh import fetch_host_key, pin_host_key
from provisioner.errors import ConfigError, ExitStatus, NotFoundError, ProvisionerError
from provisioner.inventory import load_inventories
from provisioner.models import Device, HostRun, Role, RunSummary
from provisioner.outcome import HostStatus, Phase, RunStatus
from provisioner.provision import engine
from provisioner.provision.facts import forget_facts
from provisioner.provision.locks import Cancellation, gone_runs
from provisioner.provision.preflight import known_hosts_file, pinned_keys, school_known_hosts
from provisioner.terminal import LiveBoard, to_json

RECAP_HEADERS = ["host", "role", "status", "ok", "changed", "unreach", "failed", "skipped", "ms"]


def recap_rows(hosts: Sequence[HostRun]) -> list[list[object]]:
    """The recap table's rows (messages are listed below it: they are long)."""
    return [[h.host, h.role, h.status, h.counts.ok, h.counts.changed, h.counts.unreachable,
             h.counts.failed, h.counts.skipped, f"{h.duration_ms:.0f}"] for h in hosts]


def show_recap(obj: Context, hosts: Sequence[HostRun], title: str) -> None:
    """The recap table, then per host its failed task and message, and warnings."""
    obj.table(RECAP_HEADERS, recap_rows(hosts), right=[3, 4, 5, 6, 7, 8], title=title)
    for h in hosts:
        task = f"task {h.failed_task!r}: " if h.failed_task else ""
        if h.message and h.status != HostStatus.VERIFIED:
            echo(f"  {h.host} {h.status}: {task + h.message}")
        for warning in h.warnings.splitlines():
            echo(f"  {h.host} warning: {warning}")


def run_status_text(run: RunSummary, gone: set[int]) -> str:
    """A run's status for people: a run recorded as running whose process is gone (in
    `gone`, from `locks.gone_runs`) is "died: process gone", not "running"."""
    return "died: process gone" if run.run_id in gone else str(run.status)


def _resumed(store: Store, school_id: str) -> str:
    """Which run --resume continues, for the confirmation: ", resuming run 9 (failed)"."""
    run = engine.run_to_resume(store, school_id).summary
    return f", resuming run {run.run_id} ({run_status_text(run, gone_runs(store.runs, school_id))})"


def _confirm(obj: Context, plans: dict[str, list[Device]], check: bool, yes: bool,
             resumed: dict[str, str]) -> None:
    for school_id, devices in plans.items():
        groups = [f"{role.group}: {', '.join(d.name for d in devices if d.role is role)}"
                  for role in Role if any(d.role is role for d in devices)]
        mode = " (check mode: nothing changes)" if check else ""
        echo(f"school {school_id}{mode}{resumed.get(school_id, '')}: "
             + "; ".join(groups or ["no hosts"]), err=True)
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.UsageError("stdin is not a terminal: add --yes to provision without asking")
    if not click.confirm("Provision these hosts?", err=True):
        raise click.exceptions.Exit(int(ExitStatus.OK))


class _Reporter:
    """Progress for people: a live table on a terminal, plain lines otherwise (stderr)."""

    def __init__(self, board: LiveBoard | None) -> None:
        self._board = board
        self._lock = threading.Lock()

    def __call__(self, event: engine.Progress) -> None:
        with self._lock:
            if self._board is not None and event.host:
                counts = event.counts
                self._board.update(f"{event.school_id} {event.host}", [
                    event.school_id, event.host, event.phase, event.task or event.message,
                    counts.ok, counts.changed, counts.failed + counts.unreachable])
            elif self._board is None and (event.phase != Phase.PLAY or not event.host
                                          or event.counts.failed or event.counts.unreachable):
                self._plain(event)

    @staticmethod
    def _plain(event: engine.Progress) -> None:
        failed = event.phase == Phase.PLAY and event.host
        text = f"failed in task {event.task!r}" if failed else event.message
        who = f" {event.host}" if event.host else ""
        echo(f"[{event.school_id}]{who} {event.phase}: {text}", err=True)


def _exit_status(results: Sequence[engine.SchoolResult | ProvisionerError]) -> int:
    errors = [r for r in results if isinstance(r, ProvisionerError)]
    if errors:
        return int(errors[0].exit_status)
    statuses = {r.status for r in results if isinstance(r, engine.SchoolResult)}
    for status, code in _EXIT_STATUSES:
        if status in statuses:
            return int(code)
    return int(ExitStatus.OK)


# Run statuses -> exit statuses, the first found among the schools wins.
# lost: the execution node stopped answering mid-run; its hosts' state is unknown.
_EXIT_STATUSES = ((RunStatus.INTERRUPTED, 130), (RunStatus.BLOCKED, ExitStatus.PREFLIGHT_BLOCKED),
                  (RunStatus.LOST, ExitStatus.DEVICES_FAILED),
                  (RunStatus.FAILED, ExitStatus.DEVICES_FAILED))
_AUDIT_WORDS = {130: RunStatus.INTERRUPTED.value,
                int(ExitStatus.PREFLIGHT_BLOCKED): RunStatus.BLOCKED.value,
                int(ExitStatus.DEVICES_FAILED): "devices failed"}


def _audit_line(result: engine.SchoolResult | ProvisionerError) -> str:
    if isinstance(result, ProvisionerError):
        return str(result)
    return f"school {result.school_id} run {result.run_id} {result.status}"


def _render(obj: Context, results: Sequence[engine.SchoolResult | ProvisionerError]) -> None:
    for done in (r for r in results if isinstance(r, engine.SchoolResult)):
        for run_id in done.reaped:  # on stderr, so also with --json
            echo(f"run {run_id} of school {done.school_id} had died (its process is "
                 "gone): marked interrupted", err=True)
    if obj.json_output:
        echo_rendered(to_json([asdict(r) if isinstance(r, engine.SchoolResult) else error_of(r)
                            for r in results]), nl=False)
        return
    for result in results:
        if isinstance(result, ProvisionerError):
            echo_error(result)  # with each address outside the networks, say
            continue
        for warning in result.warnings:
            echo(f"school {result.school_id}: warning: {warning}", err=True)
        if result.hosts:
            show_recap(obj, result.hosts,
                       f"school {result.school_id}, run {result.run_id}: {result.status}")
        echo(f"school {result.school_id}: {result.status} ({result.detail})")


def provision_command(obj: Context | None, school_ids: Sequence[str], options: engine.Options,
                      yes: bool) -> None:
    """Run `provision school --id ...` (called by the `school` group)."""
    if obj is None:
        raise click.UsageError("provision school --id needs the provision command's context")
    app = obj.app
    try:
        plans = {s: engine.plan_school(app.settings, app.store, s, options) for s in school_ids}
        resumed = {s: _resumed(app.store, s) for s in school_ids} if options.resume else {}
    except ProvisionerError as exc:
        fail(exc, obj.json_output)
    _confirm(obj, plans, options.check, yes, resumed)
    cancel = Cancellation()
    live = sys.stderr.isatty() and not obj.json_output
    board = LiveBoard(["school", "host", "phase", "task", "ok", "changed", "failed"]) \
        if live else None
    # The default poller (the one `provision health` uses): preflight and verification
    # ask every agent of the school at once.
    snmp = partial(app.snmp, None)
    command = " ".join(["school", *(f"--id {s}" for s in school_ids), *options.as_flags()])
    with app.audited(command) as audit, cancel.signals():
        if board is not None:
            with board:
                results = engine.provision_schools(
                    app.settings, school_ids, options, user=app.user, snmp=snmp,
                    progress=_Reporter(board), cancel=cancel, runners=app.runners())
        else:
            results = engine.provision_schools(
                app.settings, school_ids, options, user=app.user, snmp=snmp,
                progress=_Reporter(None), cancel=cancel, runners=app.runners())
        status = _exit_status(results)
        if status:
            audit.outcome = _AUDIT_WORDS.get(status, RunStatus.FAILED.value)
            audit.detail = f"exit {status}: " + "; ".join(_audit_line(r) for r in results)
    _render(obj, results)
    if status:
        raise click.exceptions.Exit(status)


@cli.command("runs")
@click.option("--school", "school_id", help="Only this school's runs.")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True,
              help="How many runs, newest first.")
@json_option
@pass_ctx
def runs_cmd(obj: Context, school_id: str | None, limit: int) -> None:
    """List provisioning runs, newest first: who, when, school, mode, scope, status.

    Mode is "check" (--check: nothing changed) or "apply"; scope is "all", or "partial"
    with what limited the run (--limit, --tags, --resume).

    Example: provision runs --school 100001 --limit 5
    """
    runs = obj.app.store.runs.list(school_id=school_id, kind="provision", limit=limit)
    gone = gone_runs(obj.app.store.runs, school_id)
    if obj.json_output:
        echo_rendered(to_json([{**asdict(r), "process_gone": r.run_id in gone} for r in runs]),
                      nl=False)
        return
    obj.table(["run", "school", "mode", "scope", "started", "finished", "status", "by"],
              [[r.run_id, r.school_id, r.mode, _scope(r), r.started_at, r.finished_at or "",
                run_status_text(r, gone), r.started_by] for r in runs], right=[0])


def _scope(summary: RunSummary) -> str:
    return f"partial ({summary.scope})" if summary.partial else "all"


@cli.group("run")
def run_group() -> None:
    """One provisioning run in detail."""


@run_group.command("show")
@click.argument("run_id", type=int)
@click.option("--output", "output", is_flag=True,
              help="Also print what Ansible printed, wave by wave (a --check run's diff).")
@json_option
@pass_ctx
def run_show_cmd(obj: Context, run_id: int, output: bool) -> None:
    """Show one run: who, when, arguments, playbook commit, per-host recap and failures.

    Example: provision run show 12 --output
    """
    record = obj.app.store.runs.get(run_id)
    if output and not obj.json_output:
        _print_playbook_output(record.artifacts)
    if obj.json_output:
        echo_rendered(to_json(record), nl=False)
        return
    s = record.summary
    gone = gone_runs(obj.app.store.runs, s.school_id) if s.school_id else set()
    echo(f"run {s.run_id}: school {s.school_id}, {run_status_text(s, gone)}")
    echo(f"mode: {s.mode}, scope: {_scope(s)}")
    echo(f"by {s.started_by}, {s.started_at} - {s.finished_at or 'not finished'}")
    echo("arguments: " + ", ".join(f"{k}={v}" for k, v in sorted(record.arguments.items())
                                         if v not in (None, False, [])))
    echo(f"playbook commit: {record.playbook_commit or 'unknown (not a git checkout)'}")
    echo(f"artifacts: {record.artifacts}")
    if record.detail:
        echo(f"detail: {record.detail}")
    show_recap(obj, record.hosts, "hosts")


def _print_playbook_output(folder: str) -> None:
    waves = playbook_output(Path(folder)) if folder else []
    if not waves:
        echo(f"(no Ansible output kept in {folder or 'this run'}: the run did not "
             "reach its play, or its folder was removed)")
    for wave, text in waves:
        echo(f"--- {wave}")
        # What devices said is in it: their escape sequences are not the terminal's.
        echo(text.rstrip("\n"))
    echo("---")


def _find_device(obj: Context, host: str) -> tuple[Device, list[Device]]:
    loaded = load_inventories(obj.app.settings.inventories)
    for device in loaded.devices:
        if host in (device.name, device.address):
            school = [d for d in loaded.devices if d.school_id == device.school_id]
            return device, school
    raise NotFoundError(f"host {host!r} is in no inventory under "
                        f"{obj.app.settings.inventories}; give its inventory name or address "
                        "(and --inventories DIR)")


@cli.command("trust")
@click.argument("host")
@click.option("--fingerprint", help="Pin only if the presented key has this SHA256:... "
                                    "fingerprint (checked out of band).")
@click.option("--yes", is_flag=True, help="Pin without asking: a device's first key without "
                                          "--fingerprint too (trust on first use, so "
                                          "recorded); a changed key only with --fingerprint.")
@pass_ctx
def trust_cmd(obj: Context, host: str, fingerprint: str | None, yes: bool) -> None:
    """Show the SSH host key a device presents and pin it (replacing an older pin).

    Example: provision trust 100001-srv01 --fingerprint SHA256:abc...
    """
    device, school = _find_device(obj, host)
    from provisioner.provision.preflight import check_addresses

    check_addresses([device], obj.app.settings.management_networks, device.name)
    known_hosts = known_hosts_file(device, school_known_hosts(school))
    port = int(str(device.vars.get("ansible_port") or 22))
    pinned = pinned_keys(known_hosts, device.address, port)
    presented = fetch_host_key(device.address, port,
                               key_types=[k.key_type for k in pinned] or None)
    echo(f"{device.name} ({device.address}) presents {presented.key_type} "
         f"{presented.fingerprint}")
    echo("pinned: " + (", ".join(k.fingerprint for k in pinned) or "nothing"))
    if presented.fingerprint in {k.fingerprint for k in pinned}:
        echo("already trusted: nothing to do")
        return
    if fingerprint is not None and fingerprint != presented.fingerprint:
        raise ConfigError(f"{device.name} presents {presented.fingerprint}, not {fingerprint}: "
                          "not pinned. Verify the key on the device's console")
    if fingerprint is None and yes and pinned:
        # A changed key is what an attacker in the path presents: a person checks it.
        raise ConfigError(f"{device.name} has another key pinned: a changed key is pinned "
                          "only with --fingerprint SHA256:... as the device's console shows "
                          "it (or without --yes, at a terminal, after comparing)")
    if fingerprint is None and not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("stdin is not a terminal: pass --fingerprint SHA256:... "
                                   "(or, for a device's first key, --yes to trust it on first "
                                   "use)")
        if not click.confirm(f"Pin {presented.fingerprint} for {device.name}?"):
            raise click.exceptions.Exit(int(ExitStatus.OK))
    how = ("checked against --fingerprint" if fingerprint is not None
           else "trusted on first use (--yes)" if yes else "confirmed at the terminal")
    with obj.app.audited(f"trust {device.name} {presented.fingerprint} ({how})"):
        pin_host_key(known_hosts, device.address, presented, port=port)
        # A new key can mean a new installation: its next run gathers facts afresh.
        forget_facts(engine.runs_root(obj.app.settings), device.name)
    echo(f"pinned {presented.fingerprint} for {device.address} in {known_hosts}")
