"""`provision health` and `provision health show`: the SNMP health check and its history."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

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
from provisioner.errors import ExitStatus, UnknownSchoolError
from provisioner.health.model import HealthReport, HealthState
from provisioner.health.prometheus import render, write_textfile
from provisioner.health.run import HealthOptions, run_health
from provisioner.results import FailureKind
from provisioner.snmp import BACKENDS, DEFAULT_BACKEND
from provisioner.terminal import progress_bar, to_json

DEFAULT_HISTORY_DAYS = 7


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    if value is None:
        moment = dt.datetime.now(dt.UTC) - dt.timedelta(days=DEFAULT_HISTORY_DAYS)
        return moment.isoformat(timespec="seconds")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write YYYY-MM-DD or "
                                 "YYYY-MM-DDTHH:MM") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="seconds")


def _problem_rows(report: HealthReport) -> list[list[object]]:
    dead = set(report.dead_sites)
    rows: list[list[object]] = []
    for d in report.devices:
        if d.state == HealthState.OK:
            continue
        # A dead site is one line above, not one alert per device behind its core.
        if d.school_id in dead and d.failure in (FailureKind.UPSTREAM, FailureKind.TIMEOUT,
                                                 FailureKind.UNREACHABLE):
            continue
        # So is a silent WLAN controller for the APs behind it.
        if d.controller and d.failure is FailureKind.UPSTREAM:
            continue
        rows.append([d.device, d.school_id, d.role.value, d.state.value, d.reason])
    return rows


def _print_report(obj: Context, report: HealthReport) -> None:
    for school in report.schools:
        echo(school.line())
        if school.controller_down and not school.dead_site:
            echo(f"{school.school_id} CONTROLLER DOWN: {school.controller_down}")
    rows = _problem_rows(report)
    if rows and obj.tty:
        obj.table(["device", "school", "role", "state", "reason"], rows)
    else:
        # Plain lines for cron mail and grep: a table would squeeze long reasons.
        for device, _school, role, state, reason in rows:
            echo(f"{device} ({role}) {state}: {reason}")
    counts = ", ".join(f"{n} {state}" for state, n in report.states.items())
    echo(f"{len(report.devices)} devices: {counts}; run {report.run_id} took "
         f"{report.duration_s:.1f} s")


def _textfile(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    # Checked before polling: a 25-minute run must not end in "cannot write the file".
    if value is not None and not os.access(value.parent, os.W_OK | os.X_OK):
        raise click.BadParameter(f"folder {value.parent} does not exist or is not writable; "
                                 "create it or choose another path")
    return value


@contextmanager
def _progress(obj: Context) -> Iterator[Callable[[int, int], None] | None]:
    # A bar only for a person at a terminal; cron mail and pipes get the summary alone.
    if obj.json_output or not obj.tty:
        yield None
        return
    with progress_bar("polling") as update:
        yield update


@cli.group("health", invoke_without_command=True)
@click.option("--school", "schools", multiple=True, type=school_id_type,
              help="Only this school (id); repeat for more.")
@click.option("--device", "devices", multiple=True, metavar="NAME",
              help="Only this device; repeat for more.")
@click.option("--deadline", type=click.FloatRange(min=1), default=300.0, show_default=True,
              metavar="SECONDS",
              help="Seconds for the whole poll; devices not done by then are stale.")
@click.option("--timeout", type=click.FloatRange(min=0.1, max=60), default=2.0,
              show_default=True, metavar="SECONDS", help="Seconds per SNMP request before a retry.")
@click.option("--retries", type=click.IntRange(0, 10), default=1, show_default=True,
              help="Retries per SNMP request.")
@click.option("--backend", type=click.Choice(BACKENDS), default=None,
              help=f"SNMP library [default: {DEFAULT_BACKEND}].")
@click.option("--prometheus", type=click.Path(dir_okay=False, path_type=Path),
              callback=_textfile,
              help="Also write node_exporter's textfile format here (atomically).")
@json_option
@click.pass_context
def health(ctx: click.Context, schools: tuple[str, ...], devices: tuple[str, ...],
           deadline: float, timeout: float, retries: int, backend: str | None,
           prometheus: Path | None) -> None:
    """Check the devices over SNMP: states, dead sites, WLAN clients; store the samples.

    SNMPv3 authPriv unless the inventory says 2c for a device; WLAN controllers and the
    APs that name them through the controller's API (per AP up/down, clients per SSID
    and radio; a silent controller is one CONTROLLER DOWN line). Exit status for cron:
    0 all ok, 10 warnings, 12 devices the check could not read (unknown or stale, none
    critical; not those skipped by choice), 11 critical, unreachable or a dead site, 9
    another check is running, 1-6 it could not run.

    Example: provision health --school 100001 --prometheus /var/lib/node_exporter/provisioner.prom
    """
    if ctx.invoked_subcommand is not None:
        return
    obj = ctx.find_object(Context)
    assert obj is not None
    options = HealthOptions(schools, devices, deadline, timeout, retries)
    app = obj.app
    poller = app.snmp(backend)
    try:
        with app.audited("health") as audit, _progress(obj) as update:
            report = run_health(app.store, app.settings, poller, user=app.user,
                                remote=app.remote_pollers(),
                                options=options, progress=update)
            # Exit 10 and 11 are findings, not errors: the log says which, not "ok".
            audit.outcome, audit.detail = report.outcome
    finally:
        poller.close()
    if prometheus is not None:
        write_textfile(prometheus, render(report, time.time()))
    if obj.json_output:
        echo_rendered(to_json(report.as_dict()), nl=False)
    else:
        _print_report(obj, report)
    if report.exit_status is not ExitStatus.OK:
        raise click.exceptions.Exit(int(report.exit_status))


@health.command("show")
@click.option("--school", type=school_id_type, help="Only this school (id).")
@click.option("--since", callback=_since, metavar="DATE",
              help=f"From this date (YYYY-MM-DD, UTC) on [default: {DEFAULT_HISTORY_DAYS} "
                   "days ago].")
@json_option
@pass_ctx
def health_show(obj: Context, school: str | None, since: str) -> None:
    """Show the health history: runs, then samples (older days as daily summaries).

    Example: provision health show --school 100001 --since 2026-11-01
    """
    store = obj.app.store
    known = {s.school_id for s in store.schools()} | {d.school_id for d in store.devices()}
    if school is not None and school not in known:
        raise UnknownSchoolError(school)
    rows = store.health.history(school, since)
    sampled = {r.run_id for r in rows}
    # With --school: the runs that checked it (by their samples), not every run.
    runs = [r for r in store.health.runs(limit=1000) if r.started_at >= since
            and (school is None or r.run_id in sampled)]
    if obj.json_output:
        echo_rendered(to_json({"runs": runs, "samples": rows}), nl=False)
        return
    obj.table(["run", "started", "by", "scope", "s", "devices", "states", "dead sites", "exit"],
              [[r.run_id, r.started_at, r.started_by, r.scope,
                "" if r.duration_s is None else f"{r.duration_s:.1f}", r.devices,
                " ".join(f"{k}={v}" for k, v in r.states.items() if v), ",".join(r.dead_sites),
                r.status if r.exit_status is None else r.exit_status] for r in runs],
              title="Runs", right=[0, 4, 5])
    if not rows:
        echo(f"no samples since {since}")
        return
    if obj.tty:
        obj.table(["at", "device", "school", "state", "detail"],
                  [[r.at, r.device, r.school_id, r.state, r.detail] for r in rows],
                  title="Samples")
        return
    for r in rows:
        echo(f"{r.at} {r.device} {r.state}: {r.detail}")
