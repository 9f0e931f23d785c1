"""`provision health` as a library call: pick devices, poll, judge, store, report.

One run at a time per database (`health_lock`). Devices come from the database (what
`provision inventory sync` stored, with their uplinks); how to reach each over SNMP
from its inventory (`targets`). Polling is one `SnmpBackend.poll` for all devices:
identity first, then the profile's own request chosen from sysObjectID/sysDescr; a
device that has not finished when the deadline passes is "stale", never dropped.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from provisioner.config import Settings
from provisioner.db import Store
from provisioner.db.health import SampleRow
from provisioner.errors import NotFoundError
from provisioner.health.controllers import through_controllers
from provisioner.health.facts import DeviceFacts
from provisioner.health.judge import (
    StoredSample,
    apply_dependencies,
    judge_answered,
    judge_failed,
    school_health,
    with_notes,
)
from provisioner.health.lock import health_lock, lock_path
from provisioner.health.model import DeviceHealth, HealthReport
from provisioner.health.rules import RunWindow
from provisioner.health.targets import PlannedDevice, plan_device, watched_ports
from provisioner.inventory import load_inventories
from provisioner.models import ROLE_MEASURE, Device, Role
from provisioner.nodes.assign import nodes_by_school
from provisioner.outcome import RunStatus
from provisioner.provision.locks import KIND as PROVISION_KIND
from provisioner.provision.locks import run_is_alive
from provisioner.results import DeviceResult, FailureKind
from provisioner.snmp import IDENTITY_REQUEST, PollRequest, SnmpBackend, SnmpData, SnmpTarget

#: Called as devices finish: (finished so far, total).
ProgressFn = Callable[[int, int], None]


class RemotePoller(Protocol):
    """Polls the devices of schools that execution nodes serve (provisioner.nodes.health)."""

    def remote(self, device: Device) -> str | None:
        """The node that polls `device`, or None (polled here)."""
        ...

    def poll(self, planned: Sequence[PlannedDevice], run_id: int, *, deadline_s: float,
             timeout_s: float, retries: int, concurrency: int,
             hostvars: Mapping[str, Mapping[str, object]],
             ) -> dict[str, DeviceResult[SnmpData]]:
        """One result per device it polls (a silent node's devices: stale); `hostvars`
        are the devices' inventory variables (their SNMP settings go to the node)."""
        ...


#: Builds the remote poller from school id -> execution node (the composition root's).
RemoteChoice = Callable[[Mapping[str, str]], RemotePoller]


class FactsParser(Protocol):
    """What the run needs of the profiles: the second request, and the parser."""

    def follow_up(self, target: SnmpTarget, identity: SnmpData) -> PollRequest | None:
        """What to ask a device after its identity (None: nothing more)."""
        ...

    def parse(self, data: SnmpData, role: Role) -> DeviceFacts:
        """Everything the device answered, as facts (odd values become anomalies)."""
        ...


@dataclass(frozen=True)
class HealthOptions:
    """What to check and how patiently.

    Attributes:
        school_ids: only these schools (empty: every school with synced devices).
        device_names: only these devices (empty: every device of those schools).
        deadline_s: the whole poll's limit; devices unfinished by then are stale.
        timeout_s: per SNMP request, before a retry.
        retries: per SNMP request.
        concurrency: devices in flight at once.
    """

    school_ids: tuple[str, ...] = ()
    device_names: tuple[str, ...] = ()
    deadline_s: float = 300.0
    timeout_s: float = 2.0
    retries: int = 1
    concurrency: int = 64


def now_iso() -> str:
    """UTC now, ISO 8601 seconds, as the database stores times."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def linked_devices(store: Store) -> list[Device]:
    """Every synced device with its uplink and managed flag from the database."""
    links = store.health.device_links()
    default = ("", "", True)
    return [replace(d, uplink_host=links.get(d.name, default)[0],
                    uplink_port=links.get(d.name, default)[1],
                    managed=links.get(d.name, default)[2]) for d in store.devices()]


def select_devices(devices: list[Device], options: HealthOptions) -> list[Device]:
    """The synced devices to check.

    Raises:
        NotFoundError: a named school has no synced device, a named device is unknown,
            or nothing is synced at all.
    """
    if not devices:
        raise NotFoundError("no devices are synced; run 'provision inventory sync' first")
    synced_schools = {d.school_id for d in devices}
    for school_id in options.school_ids:
        if school_id not in synced_schools:
            raise NotFoundError(f"school {school_id} has no synced devices; run "
                                f"'provision inventory sync --school {school_id}'")
    if options.school_ids:
        devices = [d for d in devices if d.school_id in options.school_ids]
    if options.device_names:
        known = {d.name for d in devices}
        unknown = [n for n in options.device_names if n not in known]
        if unknown:
            raise NotFoundError(f"unknown device(s) {', '.join(unknown)}: not synced (in the "
                                "chosen schools); list them with 'provision school show ID'")
        devices = [d for d in devices if d.name in options.device_names]
    return devices


def _inventory_vars(root: Path, school_ids: Iterable[str]) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    if not root.is_dir():
        raise NotFoundError(f"inventory folder {root} does not exist; pass --inventories DIR")
    for school_id in school_ids:
        try:
            load = load_inventories(root, school_id)
        except NotFoundError:
            continue  # its devices each get "not in its inventory" (per-device failure)
        found.update({d.name: dict(d.vars) for d in load.devices})
    return found


def plan_run(store: Store, settings: Settings, options: HealthOptions) -> list[PlannedDevice]:
    """Every device of the run with its target, or why it is not polled."""
    return _plan(store, settings, options)[0]


def _plan(store: Store, settings: Settings, options: HealthOptions,
          ) -> tuple[list[PlannedDevice], dict[str, str], dict[str, dict[str, object]]]:
    """The planned devices, and school id -> execution node for the schools that name
    one (their devices get no target here: their node polls them)."""
    everything = linked_devices(store)
    devices = select_devices(everything, options)
    hostvars = _inventory_vars(settings.inventories, sorted({d.school_id for d in devices}))
    nodes = {school: node for school, node in nodes_by_school(devices, hostvars).items()
             if node}
    ports = watched_ports(everything)
    nets = settings.management_nets()
    # The vars ride along: WLAN controllers are read through their API (health/controllers).
    return [plan_device(replace(d, vars=dict(hostvars.get(d.name) or {})), hostvars.get(d.name),
                        nets, ports.get(d.name, {}), build_target=d.school_id not in nodes)
            for d in devices], nodes, hostvars


def poll(planned: Sequence[PlannedDevice], backend: SnmpBackend, parser: FactsParser,
         options: HealthOptions, progress: ProgressFn | None = None, *,
         remote: RemotePoller | None = None, run_id: int = 0,
         hostvars: Mapping[str, Mapping[str, object]] | None = None,
         ) -> list[tuple[PlannedDevice, DeviceResult[SnmpData] | None]]:
    """Poll every pollable device once (identity, then its profile); pairs in input order.

    Devices of schools an execution node serves are polled there (`remote`), at the
    same time as the rest here. Devices refused before polling (config failures) pair
    with None.
    """
    far = [p for p in planned if remote is not None and not p.problem
           and remote.remote(p.device) is not None]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nodes") as pool:
        remote_results = pool.submit(
            remote.poll, far, run_id, deadline_s=options.deadline_s,
            timeout_s=options.timeout_s, retries=options.retries,
            concurrency=options.concurrency, hostvars=hostvars or {},
        ) if far and remote is not None else None
        pairs = _poll_here(planned, backend, parser, options, progress, len(far))
        found = remote_results.result() if remote_results is not None else {}
    if far and progress is not None:
        progress(len(planned), len(planned))
    return [(p, found.get(p.device.name, r)) for p, r in pairs]


def _poll_here(planned: Sequence[PlannedDevice], backend: SnmpBackend, parser: FactsParser,
               options: HealthOptions, progress: ProgressFn | None, elsewhere: int,
               ) -> list[tuple[PlannedDevice, DeviceResult[SnmpData] | None]]:
    pollable = [p for p in planned if p.target is not None]
    total, done, lock = len(planned), [len(planned) - len(pollable) - elsewhere], threading.Lock()

    def tick(_result: DeviceResult[SnmpData]) -> None:
        with lock:
            done[0] += 1
            if progress is not None:
                progress(done[0], total)

    if progress is not None:
        progress(done[0], total)
    results = backend.poll([p.target for p in pollable if p.target is not None],
                           IDENTITY_REQUEST, then=parser.follow_up, timeout=options.timeout_s,
                           retries=options.retries, concurrency=options.concurrency,
                           deadline=options.deadline_s, progress=tick) if pollable else []
    by_name = {r.device: r for r in results}
    return [(p, by_name.get(p.device.name) if p.target is not None else None)
            for p in planned]


def judge_one(planned: PlannedDevice, result: DeviceResult[SnmpData] | None,
              parser: FactsParser, stored: StoredSample | None, now: str, *,
              runs: tuple[RunWindow, ...] = (), polled_from: str | None = None,
              ) -> DeviceHealth:
    """One device's verdict from its poll result (or its config failure); `runs` and
    `polled_from` as `judge.judge_answered` takes them."""
    if result is None:
        return judge_failed(planned, FailureKind.SKIPPED if planned.skipped
                            else FailureKind.CONFIG,
                            planned.problem or f"{planned.device.name}: not polled")
    if result.failure is not None or result.data is None:
        kind = result.failure or FailureKind.PROTOCOL
        return judge_failed(planned, kind, result.message or "no data", result.elapsed_ms)
    try:
        facts = parser.parse(result.data, planned.device.role)
    except Exception as exc:  # one device's odd answer must not stop the run
        return judge_failed(planned, FailureKind.PROTOCOL,
                            f"{planned.device.name}: answer could not be parsed "
                            f"({type(exc).__name__}: {exc})", result.elapsed_ms)
    return with_notes(judge_answered(planned, facts, result.elapsed_ms, stored, now, runs=runs,
                                     polled_from=polled_from), result.data.notes)


def provisioning_windows(store: Store, previous: Mapping[str, StoredSample],
                         ) -> tuple[RunWindow, ...]:
    """The provisioning runs that may explain an uptime reset since the previous samples:
    apply-mode runs ending after the oldest of them, or still running (one query).

    A run recorded as running whose process is gone (kill -9, not yet noticed by the
    next `provision school`) is left out: it explains nothing that happens after.
    """
    if not previous:
        return ()  # no previous uptime: no reset to explain
    since = min(at for at, _uptime, _facts in previous.values())
    return tuple(
        RunWindow(r.run_id, dt.datetime.fromisoformat(r.started_at),
                  dt.datetime.fromisoformat(r.finished_at) if r.finished_at else None,
                  r.hosts)
        for r in store.runs.played_since(PROVISION_KIND, since)
        if r.finished_at is not None or run_is_alive(r.pid, r.pid_started))


def _planned_quantities(store: Store, school_id: str) -> dict[Role, int]:
    totals: dict[Role, int] = {}
    measures = {measure: role for role, measure in ROLE_MEASURE.items()}
    for item in store.plan_items(school_id=school_id):
        role = measures.get(item.measure)
        if role is not None and item.quantity is not None:
            totals[role] = totals.get(role, 0) + item.quantity
    return totals


def _whole_schools(options: HealthOptions) -> set[str] | None:
    # A dead site needs every device of the school polled; --device picks only some.
    return None if not options.device_names else set()


def _report(store: Store, planned: Sequence[PlannedDevice],
            pairs: Sequence[tuple[PlannedDevice, DeviceResult[SnmpData] | None]],
            parser: FactsParser, options: HealthOptions, started_at: str, now: str,
            nodes: Mapping[str, str] | None = None) -> tuple[list[DeviceHealth], list[Any]]:
    previous = store.health.previous([p.device.name for p in planned])
    runs = provisioning_windows(store, previous)
    judged = [judge_one(p, r, parser, previous.get(p.device.name), now, runs=runs,
                        polled_from=started_at) for p, r in pairs]
    # As patient with a controller as with an SNMP agent: its timeout times its tries.
    judged, controllers_down = through_controllers(
        judged, [p.device for p in planned],
        timeout=min(options.timeout_s * (options.retries + 1), options.deadline_s),
        behind_nodes=nodes or {})
    judged, deps = apply_dependencies(judged, _whole_schools(options))
    schools = []
    for school_id in sorted({d.school_id for d in judged}):
        members = [d for d in judged if d.school_id == school_id]
        school = school_health(school_id, members, deps.dead_sites.get(school_id, ""),
                               _planned_quantities(store, school_id))
        schools.append(replace(school, controller_down=controllers_down.get(school_id, "")))
    return judged, schools


def sample_row(d: DeviceHealth) -> SampleRow:
    """The database row of one device's verdict."""
    return SampleRow(d.device, d.school_id, d.role.value, d.state.value, d.reason,
                     d.failure.value if d.failure else "", d.uptime_s, d.rtt_ms, d.summary)


def run_health(store: Store, settings: Settings, backend: SnmpBackend, *, user: str,
               options: HealthOptions, progress: ProgressFn | None = None,
               parser: FactsParser | None = None,
               remote: RemoteChoice | None = None) -> HealthReport:
    """Check the chosen devices once, store the samples, prune old ones, report.

    Args:
        parser: the profiles (default: `collect.ProfileParser`, by sysObjectID/sysDescr).
        remote: builds the poller for schools whose inventory names an execution node
            (called only when one does).

    Raises:
        AlreadyRunningError: another health check on this database is running.
        NotFoundError: unknown school or device, nothing synced, no inventory folder.
        ConfigError, DatabaseError: settings or database problems (nothing polled).
    """
    started_at, clock = now_iso(), time.monotonic()
    with health_lock(lock_path(settings.db), started_at):
        store.health.close_dead_runs(started_at)
        planned, nodes, hostvars = _plan(store, settings, options)
        far = remote(nodes) if remote is not None and nodes else None
        if parser is None:
            from provisioner.health.collect import ProfileParser

            parser = ProfileParser({p.device.name: p.device.role for p in planned})
        scope = " ".join([*options.school_ids, *options.device_names]) or "all"
        run_id = store.health.begin_run(started_at, user, scope, options.deadline_s)
        try:
            pairs = poll(planned, backend, parser, options, progress, remote=far,
                         run_id=run_id, hostvars=hostvars)
            devices, schools = _report(store, planned, pairs, parser, options, started_at,
                                       now_iso(), nodes)
        except BaseException:
            store.health.fail_run(run_id, now_iso(), RunStatus.INTERRUPTED)
            raise
        finished_at, duration = now_iso(), round(time.monotonic() - clock, 3)
        report = HealthReport(run_id, started_at, finished_at, duration, options.deadline_s,
                              devices, schools)
        store.health.finish_run(run_id, finished_at=finished_at, duration_s=duration,
                                samples=[sample_row(d) for d in devices],
                                dead_sites=report.dead_sites, exit_status=report.exit_status,
                                retention_days=settings.health_retention_days)
    return report
