"""`provision school --id N` as a library call: select, check, lock, preflight, play, verify.

One run per school, recorded in the database from the moment it holds the school's
lock. Per-host failure is data (host rows and device states); exceptions only for
"cannot start" (bad input, lab down, school busy). The caller gets progress through
a callback and never output: this module does not print.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

from provisioner.ansible import HostRecap, PlaybookJob, PlaybookOutcome
from provisioner.config import Settings
from provisioner.db import Store
from provisioner.errors import (
    ConfigError,
    InvalidInputError,
    NotFoundError,
    ProvisionerError,
)
from provisioner.inventory import load_inventories
from provisioner.inventory.check import InventoryReport
from provisioner.inventory.service import inventory_sync, sync_schools
from provisioner.lines import joined_lines
from provisioner.models import Device, HostRun, Role, RunRecord
from provisioner.outcome import (
    DONE,
    FAILING,
    Counts,
    HostStatus,
    Phase,
    RecapStatus,
    RunnerStatus,
    RunStatus,
    host_status_for,
)
from provisioner.platforms import ansible_plugin_env
from provisioner.provision import preflight as pf
from provisioner.provision.facts import fact_cache_dir, prepare_fact_cache
from provisioner.provision.locks import (
    KIND,
    Cancellation,
    gone_runs,
    process_start_time,
    school_lock,
)
from provisioner.provision.options import (
    SLICE_NAMES,
    Options,
    slice_title,
    slices,
)
from provisioner.provision.runner import JobKey, PlaybookRunner, RunnerChoice, local_runners
from provisioner.snmp import SnmpBackend
from provisioner.wlan.readback import controller_name

SITE_PLAYBOOK = "site.yml"
_ROLE_ORDER = {Role.SERVER: 0, Role.SWITCH: 1, Role.WLAN_CONTROLLER: 2, Role.ACCESS_POINT: 3}


@dataclass(frozen=True)
class Progress:
    """One progress report: a host's phase and counts, or a school-level line (host "")."""

    school_id: str
    host: str
    phase: Phase
    task: str = ""
    counts: Counts = field(default_factory=Counts)
    message: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass
class SchoolResult:
    """How one school's run ended.

    Attributes:
        school_id: the school.
        run_id: the recorded run (0 when nothing was started: e.g. nothing to resume).
        status: ok, failed, interrupted or blocked.
        hosts: every host of the run with its recorded outcome.
        reaped: earlier runs of the school found dead and marked interrupted.
        detail: one line for people.
        warnings: what the run was allowed to do but people should know: the school is
            not in the plan in force, the inventory's warnings.
    """

    school_id: str
    run_id: int
    status: RunStatus
    hosts: list[HostRun] = field(default_factory=list)
    reaped: list[int] = field(default_factory=list)
    detail: str = ""
    warnings: list[str] = field(default_factory=list)


def runs_root(settings: Settings) -> Path:
    """Where runs keep their ansible-runner folders: beside the database that records them."""
    return settings.db.with_name(settings.db.stem + "-runs")


def playbook_commit(playbooks: Path) -> str:
    """The git commit of the playbooks folder (`-dirty` with uncommitted changes), or ''."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(playbooks), *args], capture_output=True,
                              text=True, check=False, timeout=20)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    if commit and git("status", "--porcelain", "--", "."):
        commit += "-dirty"
    return commit


def prune_runs(root: Path, days: int) -> list[Path]:
    """Remove run folders older than `days`; the removed ones."""
    if not root.is_dir():
        return []
    cutoff = time.time() - days * 86400
    old = [p for p in root.iterdir() if p.is_dir() and p.stat().st_mtime < cutoff]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    return old


def load_school_devices(settings: Settings, school_id: str) -> list[Device]:
    """The school's devices as its inventory describes them (`sync_school` writes them to
    the database when a run starts, so the run and the record speak of the same devices).

    Raises:
        NotFoundError: no inventory folder for the school.
        InvalidInputError: the inventory has problems.
    """
    loaded = load_inventories(settings.inventories, school_id)
    if loaded.problems:
        raise InvalidInputError(settings.inventories / school_id, list(loaded.problems))
    if not loaded.devices:
        raise NotFoundError(f"school {school_id}'s inventory in {settings.inventories} has no "
                            "devices; add them to its hosts.yml")
    return sorted(loaded.devices, key=lambda d: (_ROLE_ORDER[d.role], d.name))


def select_devices(devices: Sequence[Device], limit: Sequence[str], source: str) -> list[Device]:
    """The devices named by `limit` (host names or role groups); all when it is empty.

    Raises:
        NotFoundError: a name is neither a host nor a group of the inventory (a typo in
            an argument, not a fault of the inventory: exit 4, as an unknown device).
    """
    if not limit:
        return list(devices)
    groups = [role.group for role in Role]
    names = [*groups, *(d.name for d in devices)]
    unknown = [n for n in limit if n not in names]
    if unknown:
        wrong = ", ".join(f"--limit {n}" + "".join(
            f" (did you mean {near}?)" for near in difflib.get_close_matches(n, names, n=1))
            for n in unknown)
        raise NotFoundError(f"{wrong}: no such host or group in {source}; the groups are "
                            f"{', '.join(groups)}, the hosts those of its inventory")
    return [d for d in devices if d.name in limit or d.role.group in limit]


def run_to_resume(store: Store, school_id: str) -> RunRecord:
    """The run `--resume` continues: the school's newest run that ended, or a newer one
    still recorded as running whose process is gone (killed with -9; the next start
    reaps it under the school's lock). So the confirmation, asked before that lock,
    names the run and the hosts the run will take.

    Raises:
        NotFoundError: the school has no earlier run.
    """
    last = store.runs.last(KIND, school_id)
    dead = gone_runs(store.runs, school_id)
    if dead and (last is None or max(dead) > last.summary.run_id):
        last = store.runs.get(max(dead))
    if last is None:
        raise NotFoundError(f"school {school_id} has no earlier run to resume; "
                            "run without --resume")
    return last


def resume_selection(store: Store, school_id: str, devices: Sequence[Device]) -> list[Device]:
    """The devices the run `run_to_resume` names did not finish (failed, blocked,
    interrupted...).

    Raises:
        NotFoundError: the school has no earlier run.
    """
    unfinished = {h.host for h in run_to_resume(store, school_id).hosts
                  if h.status not in DONE}
    return [d for d in devices if d.name in unfinished]


def waves(devices: Sequence[Device], batch: int | None) -> list[list[Device]]:
    """Servers and WLAN controllers first, all at once (controllers configure the APs'
    SSIDs); then switches and access points in waves of `batch`."""
    if batch is None:
        return [list(devices)] if devices else []
    first = (Role.SERVER, Role.WLAN_CONTROLLER)
    servers = [d for d in devices if d.role in first]
    rest = [d for d in devices if d.role not in first]
    return ([servers] if servers else []) + [rest[i:i + batch]
                                             for i in range(0, len(rest), batch)]


def host_status(recap: HostRecap | None, *, cancelled: bool, ended_early: bool = False,
                check: bool = False) -> HostStatus:
    """A host's status after its wave's play, from its recap.

    Args:
        recap: what Ansible reported for the host (None: nothing).
        cancelled: the run was stopped during the play.
        ended_early: Ansible ended the playbook before a later play that would have
            worked on this host (every host of a play failed): a host without a failed
            task did not get those plays (`PlaybookOutcome.cut_short`).
        check: a --check run (nothing changed, nothing to verify).
    """
    if recap is None:
        return HostStatus.INTERRUPTED if cancelled else HostStatus.FAILED
    if recap.status == RecapStatus.UNREACHABLE:
        return HostStatus.UNREACHABLE
    if recap.status == RecapStatus.FAILED:
        return HostStatus.FAILED
    if cancelled or ended_early:
        return HostStatus.INTERRUPTED
    return HostStatus.CHECKED if check else HostStatus.PROVISIONED


@dataclass
class _Run:
    """What one school's run carries between its steps."""

    settings: Settings
    store: Store
    snmp: SnmpBackend
    school_id: str
    options: Options
    devices: list[Device]
    known_hosts: Path
    run_id: int
    run_dir: Path
    cancel: Cancellation
    progress: ProgressCallback
    runner: PlaybookRunner
    hosts: dict[str, HostRun] = field(default_factory=dict)
    lost: str = ""  # why the run is lost (its execution node stopped answering), or ""
    school: list[Device] = field(default_factory=list)  # every device of the school

    def say(self, host: str, phase: Phase, message: str = "", recap: HostRecap | None = None
            ) -> None:
        self.progress(Progress(self.school_id, host, phase, recap.task if recap else "",
                               recap.counts if recap else Counts(), message))

    def save(self, *hosts: HostRun) -> None:
        """Record hosts' results; the database moves their devices' rollout states."""
        for host in hosts:
            self.hosts[host.host] = host
        self.store.runs.save_hosts(self.run_id, hosts, check=self.options.check)


def _preflight(run: _Run) -> list[Device]:
    """Preflight every device; the devices ready for the play."""
    count = len(run.devices)
    run.say("", Phase.PREFLIGHT, f"checking {count} device{'' if count == 1 else 's'}")
    # An AP configured through its WLAN controller cannot be provisioned past a blocked one.
    checked = pf.follow_controllers(run.runner.preflight(run.devices, run.snmp, run.known_hosts),
                                    run.devices, run.school)
    ready = []
    for device in run.devices:
        result = checked[device.name]
        warnings = joined_lines(*result.data.warnings) if result.data else ""
        status = host_status_for(result.failure, success=HostStatus.PENDING)
        if status == HostStatus.PENDING:
            ready.append(device)
        message = "" if result.ok else result.message
        run.save(HostRun(device.name, device.role.value, status, Phase.PREFLIGHT,
                         message=message, warnings=warnings, duration_ms=result.elapsed_ms))
        run.say(device.name, Phase.PREFLIGHT, preflight_line(status, message, warnings))
    return ready


def preflight_line(status: HostStatus, message: str, warnings: str) -> str:
    """What the progress says of one device's preflight: "ready" (with its warnings)
    for a device the play may take, whose record stays `pending` until then; else its
    status and why ("unreachable: port 22 closed")."""
    said = "; ".join(warnings.splitlines())
    if status == HostStatus.PENDING:
        return f"ready; {said}" if said else "ready"
    return f"{status}: {message or said}"


def _home(run_dir: Path, known_hosts: Path) -> Path:
    """A HOME for Ansible holding only the pinned known_hosts: network_cli over paramiko
    checks host keys against $HOME/.ssh/known_hosts (playbooks/README.md)."""
    ssh = run_dir / "home" / ".ssh"
    ssh.mkdir(mode=0o700, parents=True)
    if known_hosts.is_file():
        shutil.copyfile(known_hosts, ssh / "known_hosts")
        (ssh / "known_hosts").chmod(0o600)
    return ssh.parent


#: A wave's part and how its playbook run ended, or the error that kept it from running.
Played = tuple[list[Device], PlaybookOutcome | BaseException]


def _play_slice(run: _Run, part: Sequence[Device], number: int, suffix: str,
                facts: Path) -> PlaybookOutcome:
    home = _home(run.run_dir / f"home-{number}{suffix}", run.known_hosts)
    job = PlaybookJob(
        playbook=run.settings.playbooks / SITE_PLAYBOOK,
        inventory=run.settings.inventories / run.school_id,
        run_dir=run.run_dir / f"wave-{number}{suffix}",
        limit=tuple(d.name for d in part), tags=run.options.tags, check=run.options.check,
        forks=run.options.forks, env={"HOME": str(home), **ansible_plugin_env()},
        strategy=run.options.strategy,
        fact_cache=facts,
    )
    return run.runner.run(job, JobKey(run.school_id, run.run_id, number),
                          lambda recap: run.say(recap.host, Phase.PLAY, recap=recap), run.cancel)


def _play_wave(run: _Run, wave: Sequence[Device], number: int) -> Iterator[Played]:
    """Run the wave's playbook, its slices side by side where the runner can; per slice
    its hosts and outcome (or the error that kept it from running), each as soon as its
    slice has ended, while the others go on."""
    names = [d.name for d in wave]
    facts = prepare_fact_cache(fact_cache_dir(runs_root(run.settings), run.school_id), names,
                               run.store.runs.verified_last(run.school_id, names, run.run_id))
    for device in wave:
        run.save(replace(run.hosts[device.name], status=HostStatus.RUNNING, phase=Phase.PLAY))
    # An execution node runs one job of a school at a time (it takes the school's lock).
    parts = slices(wave, run.options.plays_in_order or not run.runner.slices_side_by_side)
    if len(parts) == 1:
        yield parts[0], _play_slice(run, parts[0], number, "", facts)
        return
    run.say("", Phase.PLAY, f"wave {number} as {len(parts)} playbooks side by side: "
            + "; ".join(slice_title(part) for part in parts))
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        futures = {pool.submit(_play_slice, run, part, number, f"-{name}", facts): part
                   for part, name in zip(parts, SLICE_NAMES, strict=False)}
        for future in as_completed(futures):
            error = future.exception()
            yield futures[future], future.result() if error is None else error


def _play_message(recap: HostRecap | None, status: HostStatus,
                  outcome: PlaybookOutcome) -> str:
    if recap is None and outcome.detail:
        return outcome.detail  # an execution node's word on why nothing came
    if recap is None:
        return ("the run was stopped before Ansible reported on this host"
                if status == HostStatus.INTERRUPTED else "Ansible reported nothing for this host")
    if recap.failed_task:
        return recap.message
    if status == HostStatus.INTERRUPTED and outcome.ended_early:
        return (f"not finished: every host of play {outcome.ended_early_in!r} failed, so "
                "Ansible ended the playbook there; fix those hosts and --resume")
    if status == HostStatus.INTERRUPTED:
        return "the run was stopped during its play; run it again (--resume)"
    return ""


def _play_warnings(recap: HostRecap | None, run_id: int) -> list[str]:
    """What the play's reports warned of on a host, and how many more the output has."""
    if recap is None:
        return []
    more = ([f"{recap.warnings_left_out} more: provision run show {run_id} --output"]
            if recap.warnings_left_out else [])
    return [*recap.warnings, *more]


def _record_wave(run: _Run, wave: Sequence[Device], outcome: PlaybookOutcome) -> list[Device]:
    """Record the hosts of a finished wave; those the play provisioned."""
    done = []
    for device in wave:
        recap = outcome.hosts.get(device.name)
        status = host_status(recap, cancelled=outcome.cancelled,
                             ended_early=outcome.cut_short(device.name, device.role.group),
                             check=run.options.check)
        row = replace(run.hosts[device.name], status=status, phase=Phase.PLAY,
                      counts=recap.counts if recap else Counts(),
                      failed_task=recap.failed_task if recap else "",
                      message=_play_message(recap, status, outcome),
                      # What the play warned of (a role's "Report ..." tasks) joins
                      # preflight's warnings: the summary and the record show both.
                      warnings=joined_lines(run.hosts[device.name].warnings,
                                            *_play_warnings(recap, run.run_id)),
                      duration_ms=round(recap.elapsed_ms, 1) if recap else 0.0)
        run.save(row)
        if status == HostStatus.PROVISIONED:
            done.append(device)
    return done


def _verify(run: _Run, devices: Sequence[Device]) -> None:
    if not devices or run.options.check:
        return
    run.say("", Phase.VERIFY, f"reading back {len(devices)} devices")
    checked = run.runner.verify(devices, run.snmp, run.known_hosts, school=run.school)
    for device in devices:
        result = checked[device.name]
        status = host_status_for(result.failure, success=HostStatus.VERIFIED)
        # A verified device may carry notes (a controller's unknown APs): warnings.
        notes = result.data if result.ok and result.data else []
        row = replace(run.hosts[device.name], status=status, phase=Phase.DONE if result.ok
                      else Phase.VERIFY, message="" if result.ok else result.message,
                      warnings=joined_lines(run.hosts[device.name].warnings, *notes))
        run.save(row)
        run.say(device.name, Phase.VERIFY, result.message)


def _too_many_failed(run: _Run, percent: int | None) -> bool:
    played = [h for h in run.hosts.values() if h.phase != Phase.PREFLIGHT]
    failed = [h for h in played if h.status in FAILING]
    return percent is not None and bool(played) and len(failed) * 100 > percent * len(played)


def _play(run: _Run, ready: Sequence[Device]) -> None:
    for number, wave in enumerate(waves(ready, run.options.batch), start=1):
        if run.cancel() or run.lost or _too_many_failed(run, run.options.max_fail_percent):
            reason = ("stopped before it started" if run.cancel() or run.lost else
                      f"not started: more than {run.options.max_fail_percent}% of the hosts "
                      "failed in earlier waves")
            run.save(*(replace(run.hosts[d.name], message=reason) for d in wave))
            continue
        run.say("", Phase.PLAY, f"wave {number}: {len(wave)} hosts")
        _play_and_verify(run, wave, number)


def _play_and_verify(run: _Run, wave: Sequence[Device], number: int) -> None:
    """Play one wave; record and read back each slice's hosts as soon as it ends, while
    the other slice goes on (the switches' read-back in the shadow of the servers'
    packages).

    An AP whose WLAN controller is in a slice still playing waits for it: it is read
    back through that controller. What one slice did is recorded even when the other
    could not run, or its recording or read-back failed; the first error is raised
    once every slice's outcome is recorded.
    """
    errors: list[BaseException] = []
    playing = {d.name for d in wave}
    waiting: list[Device] = []
    for part, outcome in _play_wave(run, wave, number):
        playing -= {d.name for d in part}
        if isinstance(outcome, BaseException):
            errors.append(outcome)
            continue
        if outcome.status == RunnerStatus.LOST:  # never re-run by itself: --resume
            run.lost = outcome.detail or "the execution node stopped answering"
            run.say("", Phase.PLAY, run.lost)
        try:
            done = _record_wave(run, part, outcome)
            waiting += [d for d in done if controller_name(d) in playing]
            _verify(run, [d for d in done if controller_name(d) not in playing])
        except Exception as exc:  # raised below, once the other slices are recorded
            errors.append(exc)
    try:
        _verify(run, waiting)
    except Exception as exc:
        errors.append(exc)
    if errors:
        raise errors[0]


def _final_status(run: _Run) -> RunStatus:
    statuses = {h.status for h in run.hosts.values()}
    if run.lost:
        return RunStatus.LOST
    if run.cancel():
        return RunStatus.INTERRUPTED
    if statuses <= DONE:
        return RunStatus.OK
    return RunStatus.FAILED


def _start_run(settings: Settings, store: Store, school_id: str, options: Options,
               user: str) -> tuple[int, Path]:
    root = runs_root(settings)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    prune_runs(root, settings.artifacts_retention_days)
    run_id = store.runs.start(
        kind=KIND, school_id=school_id, user=user, arguments=options.as_arguments(),
        playbook_commit=playbook_commit(settings.playbooks), pid=os.getpid(),
        pid_started=process_start_time(os.getpid()), artifacts="")
    run_dir = root / f"run-{run_id}"
    run_dir.mkdir(mode=0o700)
    store.runs.set_artifacts(run_id, str(run_dir))
    return run_id, run_dir


def provision_school(settings: Settings, store: Store, snmp: SnmpBackend, school_id: str,
                     options: Options, *, user: str, progress: ProgressCallback,
                     cancel: Cancellation | None = None,
                     synced: Sequence[str] | None = None,
                     runner: PlaybookRunner | None = None) -> SchoolResult:
    """Provision one school: the whole run, recorded.

    Args:
        settings: where the inventories, playbooks, data and lab are.
        store: the state database (used from this thread only).
        snmp: the SNMP poller for preflight and verification.
        school_id: the school (its inventory folder's name).
        options: how to provision.
        user: who runs it (for the record).
        progress: called with every progress report.
        cancel: a stop request polled throughout (SIGINT/SIGTERM in the CLI).
        synced: the warnings of a sync of the school just made (`provision_schools`
            syncs all its schools at once); None: the run syncs the school itself.
        runner: where the waves' playbooks run (default: on this machine).

    Returns:
        The run's outcome; hosts that failed are data in it.

    Raises:
        NotFoundError: no inventory for the school, or nothing to resume.
        InvalidInputError: inventory problems (also against the other schools' ones,
            found by the sync), a bad --limit, or an address outside the management
            networks (then nothing was sent anywhere).
        LabError: a lab inventory while the lab is down.
        ConfigError: no site.yml in the playbooks folder.
        AlreadyRunningError: the school is being provisioned by another process.
    """
    cancel = cancel or Cancellation()
    everything = load_school_devices(settings, school_id)
    source = str(settings.inventories / school_id)
    devices = select_devices(everything, options.limit, source)
    pf.check_addresses(devices, settings.management_networks, source)
    pf.check_lab(devices, settings.lab_dir, school_id)
    check_playbooks(settings)
    with school_lock(runs_root(settings) / "locks", school_id, store.runs) as reaped:
        warnings = list(synced) if synced is not None else sync_school(settings, store,
                                                                        school_id)
        if options.resume:  # after reaping: a run killed with -9 counts as the last one
            devices = resume_selection(store, school_id, devices)
        if not devices:
            return SchoolResult(school_id, 0, RunStatus.OK, reaped=reaped,
                                detail="nothing to do: every host of the last run is verified",
                                warnings=warnings)
        run_id, run_dir = _start_run(settings, store, school_id, options, user)
        run = _Run(settings, store, snmp, school_id, options, devices,
                   pf.school_known_hosts(everything), run_id, run_dir, cancel, progress,
                   runner or local_runners(school_id), school=everything)
        status = _execute(run)
        done_word = HostStatus.CHECKED if options.check else HostStatus.VERIFIED
        detail = (f"{sum(h.status in DONE for h in run.hosts.values())} of {len(devices)} "
                  f"hosts {done_word} or skipped")
        if options.check:
            detail += would_change(run.hosts.values())
        if run.lost:
            detail = f"{run.lost}; {detail}"
        store.runs.finish(run_id, status, detail)
        return SchoolResult(school_id, run_id, status, store.runs.hosts(run_id), reaped, detail,
                            warnings)


def would_change(hosts: Iterable[HostRun], named: int = 5) -> str:
    """What a check run found to change, for its one-line detail: "; 2 would change
    (sw01, sw02), nothing was changed" or "; none would change"."""
    changing = sorted(h.host for h in hosts if h.counts.changed)
    if not changing:
        return "; none would change"
    names = ", ".join(changing[:named]) + (f" and {len(changing) - named} more"
                                           if len(changing) > named else "")
    return f"; {len(changing)} would change ({names}), nothing was changed"


def _sync_all(settings: Settings, school_ids: Sequence[str]
              ) -> dict[str, list[str] | ProvisionerError]:
    """Sync the schools of a run with one read of every inventory; per school its
    warnings, or the error that keeps it from running."""
    store = Store.open(settings.db)
    try:
        found = sync_schools(store, settings.inventories, school_ids)
    finally:
        store.close()
    return {school_id: [str(w) for w in result.warnings] if isinstance(result, InventoryReport)
            else result for school_id, result in found.items()}


def sync_school(settings: Settings, store: Store, school_id: str) -> list[str]:
    """Write the school's inventory to the database before its run; the warnings.

    So the run, `school show`, the health check and the report speak of the same
    devices, and a device's new rollout state is never dropped for want of a row. A
    school outside the plan in force is synced and provisioned; its warning says so.

    Raises:
        InventoryRefusedError: the inventory check found problems (each named; e.g. an
            address another school's device holds); nothing was synced or run.
        DatabaseError: an address is still held in the database by another school's
            device (named in the message).
    """
    report = inventory_sync(store, settings.inventories, school_id)
    return [str(p) for p in report.warnings]


def _execute(run: _Run) -> RunStatus:
    """Preflight and play; the run's final status. The run is closed on any error."""
    try:
        ready = _preflight(run)
        if ready:
            _play(run, ready)
        return _final_status(run) if ready else RunStatus.BLOCKED
    except BaseException:
        run.store.runs.finish(run.run_id, RunStatus.INTERRUPTED, "stopped by an unexpected error")
        raise


def plan_school(settings: Settings, store: Store, school_id: str,
                options: Options) -> list[Device]:
    """The devices a run with these options would touch (for the confirmation).

    Raises:
        The errors of `load_school_devices`, `select_devices` and `resume_selection`.
    """
    devices = select_devices(load_school_devices(settings, school_id), options.limit,
                             str(settings.inventories / school_id))
    check_playbooks(settings)
    return resume_selection(store, school_id, devices) if options.resume else devices


def check_playbooks(settings: Settings) -> Path:
    """The site playbook; refused before any run when it is not there.

    Raises:
        ConfigError: no `site.yml` in the playbooks folder (names it and the setting).
    """
    site = settings.playbooks / SITE_PLAYBOOK
    if not site.is_file():
        raise ConfigError(f"no playbook {site.resolve()}: set playbooks (PROVISIONER_PLAYBOOKS "
                          "or the config file) to the folder that holds site.yml")
    return site


def provision_schools(settings: Settings, school_ids: Sequence[str], options: Options, *,
                      user: str, snmp: Callable[[], SnmpBackend], progress: ProgressCallback,
                      cancel: Cancellation, runners: RunnerChoice = local_runners,
                      ) -> list[SchoolResult | ProvisionerError]:
    """Provision several schools side by side, each with its own database connection.

    `runners` picks where each school's playbooks run (the composition root's choice).

    Returns:
        Per school, in the order given: its result, or the error that kept it from
        starting (one school's error does not stop the others).

    Raises:
        NotFoundError: the inventories folder does not exist.
        DatabaseError: the database cannot be opened.
    """
    synced = _sync_all(settings, school_ids)

    def one(school_id: str) -> SchoolResult | ProvisionerError:
        found = synced[school_id]
        if isinstance(found, ProvisionerError):
            return found
        store, backend = Store.open(settings.db), snmp()
        try:
            return provision_school(settings, store, backend, school_id, options, user=user,
                                    progress=progress, cancel=cancel, synced=found,
                                    runner=runners(school_id))
        except ProvisionerError as exc:
            return exc
        finally:
            backend.close()
            store.close()

    if len(school_ids) == 1:
        return [one(school_ids[0])]
    with ThreadPoolExecutor(max_workers=min(len(school_ids), max(1, options.forks))) as pool:
        return list(pool.map(one, school_ids))
