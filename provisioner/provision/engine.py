"""`provision school --id N` as a library call: select, check, lock, preflight, play, verify.

One run per school, recorded in the database from the moment it holds the school's
lock. Per-host failure is data (host rows and device states); exceptions only for
"cannot start" (bad input, lab down, school busy). The caller gets progress through
a callback and never output: this module does not print.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from provisioner.ansible import HostRecap, PlaybookJob, PlaybookOutcome, run_playbook
from provisioner.config import Settings
from provisioner.db import Store
from provisioner.errors import (
    ConfigError,
    InvalidInputError,
    NotFoundError,
    Problem,
    ProvisionerError,
)
from provisioner.inventory import load_inventories
from provisioner.models import Device, HostRun, Role
from provisioner.platforms import ansible_plugin_env
from provisioner.provision import preflight as pf
from provisioner.provision.facts import fact_cache_dir, prepare_fact_cache
from provisioner.provision.locks import KIND, Cancellation, process_start_time, school_lock
from provisioner.provision.verify import verify_devices
from provisioner.results import FailureKind
from provisioner.snmp import SnmpBackend

SITE_PLAYBOOK = "site.yml"
STRATEGIES = ("linear", "free", "mitogen_linear", "mitogen_free")
# mitogen runs a school's Linux hosts' tasks in persistent interpreters: 1.9x plain
# Ansible, no host lost (docs/benchmarks.md); `--strategy linear` is Ansible's own.
STRATEGY = "mitogen_linear"
_ROLE_ORDER = {Role.SERVER: 0, Role.SWITCH: 1, Role.WLAN_CONTROLLER: 2, Role.ACCESS_POINT: 3}
# Host statuses after which `--resume` leaves a host alone.
# A host needs no --resume once verified, skipped (not managed over SSH) or checked
# (--check: compared with what the play would do, nothing changed).
DONE = ("verified", "skipped", "checked")


@dataclass(frozen=True)
class Options:
    """How to provision (the command line's options).

    Attributes:
        check: Ansible check mode with diff: report, change nothing, verify nothing.
        limit: host names or inventory groups; empty means the whole school.
        tags: only tasks with these tags.
        resume: only the hosts that failed or did not finish in the school's last run.
        batch: switches and access points go in waves of this many (servers first,
            all at once); None runs every host in one play.
        max_fail_percent: stop starting waves when more than this share of the hosts
            so far failed; None never stops early.
        forks: hosts Ansible works on in parallel.
        strategy: an Ansible strategy plugin, or None for the default.
    """

    check: bool = False
    limit: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    resume: bool = False
    batch: int | None = None
    max_fail_percent: int | None = None
    forks: int = 25
    strategy: str = STRATEGY

    def as_arguments(self) -> dict[str, object]:
        """The options as recorded with the run."""
        return {"check": self.check, "limit": list(self.limit), "tags": list(self.tags),
                "resume": self.resume, "batch": self.batch,
                "max_fail_percent": self.max_fail_percent, "forks": self.forks,
                "strategy": self.strategy}

    def as_flags(self) -> list[str]:
        """The options that differ from the defaults, as command-line flags (the audit)."""
        flags = ["--check"] if self.check else []
        flags += [f"--limit {x}" for x in self.limit] + [f"--tags {x}" for x in self.tags]
        flags += ["--resume"] if self.resume else []
        default = Options()
        for name in ("batch", "max_fail_percent", "forks", "strategy"):
            if getattr(self, name) != getattr(default, name):
                flags.append(f"--{name.replace('_', '-')} {getattr(self, name)}")
        return flags


@dataclass(frozen=True)
class Progress:
    """One progress report: a host's phase and counts, or a school-level line (host "")."""

    school_id: str
    host: str
    phase: str
    task: str = ""
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
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
    """

    school_id: str
    run_id: int
    status: str
    hosts: list[HostRun] = field(default_factory=list)
    reaped: list[int] = field(default_factory=list)
    detail: str = ""


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
    """The school's devices as its inventory describes them.

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
        InvalidInputError: a name is neither a host nor a group of the inventory.
    """
    if not limit:
        return list(devices)
    groups = {role.group: role for role in Role}
    unknown = [n for n in limit if n not in groups and n not in {d.name for d in devices}]
    if unknown:
        raise InvalidInputError(source, [Problem(source, f"--limit {n}: no such host or group "
                                                 f"(groups: {', '.join(groups)})")
                                         for n in unknown])
    return [d for d in devices if d.name in limit or d.role.group in limit]


def resume_selection(store: Store, school_id: str, devices: Sequence[Device]) -> list[Device]:
    """The devices the school's last run did not finish (failed, blocked, interrupted...).

    Raises:
        NotFoundError: the school has no earlier run.
    """
    last = store.runs.last(KIND, school_id)
    if last is None:
        raise NotFoundError(f"school {school_id} has no earlier run to resume; "
                            "run without --resume")
    unfinished = {h.host for h in last.hosts if h.status not in DONE}
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


def host_status(recap: HostRecap | None, cancelled: bool) -> tuple[str, str]:
    """(host status, device state) after the play, from its recap."""
    if recap is None or (cancelled and recap.status == "ok"):
        return ("interrupted", "") if cancelled else ("failed", "failed")
    if recap.status == "unreachable":
        return "unreachable", "unreachable"
    return ("failed", "failed") if recap.status == "failed" else ("provisioned", "provisioned")


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
    hosts: dict[str, HostRun] = field(default_factory=dict)
    school: list[Device] = field(default_factory=list)  # every device of the school

    def say(self, host: str, phase: str, message: str = "", recap: HostRecap | None = None
            ) -> None:
        counts = {"task": recap.task, "ok": recap.ok, "changed": recap.changed,
                  "failed": recap.failed, "unreachable": recap.unreachable} if recap else {}
        self.progress(Progress(self.school_id, host, phase, message=message, **counts))  # type: ignore[arg-type]

    def save(self, *hosts: HostRun) -> None:
        for host in hosts:
            self.hosts[host.host] = host
        self.store.runs.save_hosts(self.run_id, hosts)


def _preflight(run: _Run) -> list[Device]:
    """Preflight every device; the devices ready for the play."""
    count = len(run.devices)
    run.say("", "preflight", f"checking {count} device{'' if count == 1 else 's'}")
    checked = pf.follow_controllers(
        pf.run_preflight(run.devices, run.snmp, known_hosts=run.known_hosts), run.devices,
        run.school)
    ready = []
    for device in run.devices:
        result = checked[device.name]
        warnings = "; ".join(result.data.warnings) if result.data else ""
        if result.failure is FailureKind.SKIPPED:
            status = "skipped"
        elif result.ok:
            status = "pending"
            ready.append(device)
        else:
            status = "blocked"
            if result.failure in (FailureKind.UNREACHABLE, FailureKind.TIMEOUT):
                run.store.runs.set_device_state(device.name, "unreachable", result.message)
        message = "" if status == "pending" else result.message
        run.save(HostRun(device.name, device.role.value, status, "preflight",
                         message=message, warnings=warnings, duration_ms=result.elapsed_ms))
        run.say(device.name, "preflight", f"{status}: {message or warnings or 'ready'}")
    return ready


def _home(run_dir: Path, known_hosts: Path) -> Path:
    """A HOME for Ansible holding only the pinned known_hosts: network_cli over paramiko
    checks host keys against $HOME/.ssh/known_hosts (playbooks/README.md)."""
    ssh = run_dir / "home" / ".ssh"
    ssh.mkdir(mode=0o700, parents=True)
    if known_hosts.is_file():
        shutil.copyfile(known_hosts, ssh / "known_hosts")
        (ssh / "known_hosts").chmod(0o600)
    return ssh.parent


def _play_wave(run: _Run, wave: Sequence[Device], number: int) -> PlaybookOutcome:
    job_dir = run.run_dir / f"wave-{number}"
    home = _home(run.run_dir / f"home-{number}", run.known_hosts)
    names = [d.name for d in wave]
    facts = prepare_fact_cache(fact_cache_dir(runs_root(run.settings), run.school_id), names,
                               run.store.runs.verified_last(run.school_id, names, run.run_id))
    job = PlaybookJob(
        playbook=run.settings.playbooks / SITE_PLAYBOOK,
        inventory=run.settings.inventories / run.school_id, run_dir=job_dir,
        limit=tuple(names), tags=run.options.tags, check=run.options.check,
        forks=run.options.forks, env={"HOME": str(home), **ansible_plugin_env()},
        strategy=run.options.strategy,
        fact_cache=facts,
    )
    for device in wave:
        run.save(replace(run.hosts[device.name], status="running", phase="play"))
    return run_playbook(job, lambda recap: run.say(recap.host, "play", recap=recap), run.cancel)


def _record_wave(run: _Run, wave: Sequence[Device], outcome: PlaybookOutcome) -> list[Device]:
    """Record the hosts of a finished wave; those the play provisioned."""
    cancelled = outcome.status == "canceled"
    done = []
    for device in wave:
        recap = outcome.hosts.get(device.name)
        status, state = host_status(recap, cancelled)
        cut_short = status == "provisioned" and outcome.ended_early
        if cut_short:
            status, state = "failed", ""
        if status == "provisioned" and run.options.check:
            status, state = "checked", ""  # check mode: nothing changed, nothing to verify
        message = (recap.message if recap and recap.failed_task else
                   "" if recap else "Ansible reported nothing for this host")
        if cut_short:
            message = (f"not finished: every host of play {outcome.ended_early_in!r} failed, "
                       "so Ansible ended the playbook there; fix those hosts and --resume")
        counts = {f: getattr(recap, f) for f in ("ok", "changed", "unreachable", "failed",
                                                  "skipped", "rescued", "ignored")} if recap else {}
        row = replace(run.hosts[device.name], status=status, phase="play",
                      failed_task=recap.failed_task if recap else "", message=message,
                      duration_ms=round(recap.elapsed_ms, 1) if recap else 0.0, **counts)
        run.save(row)
        if state:
            run.store.runs.set_device_state(device.name, state, message)
        if status == "provisioned":
            done.append(device)
    return done


def _verify(run: _Run, devices: Sequence[Device]) -> None:
    if not devices or run.options.check:
        return
    run.say("", "verify", f"reading back {len(devices)} devices")
    checked = verify_devices(devices, run.snmp, run.known_hosts, school=run.school)
    for device in devices:
        result = checked[device.name]
        status = "verified" if result.ok else "failed"
        # A verified device may carry notes (a controller's unknown APs): warnings.
        notes = "; ".join(result.data) if result.ok and result.data else ""
        row = replace(run.hosts[device.name], status=status, phase="done" if result.ok
                      else "verify", message="" if result.ok else result.message,
                      warnings="; ".join(filter(None, [run.hosts[device.name].warnings,
                                                       notes])))
        run.save(row)
        run.store.runs.set_device_state(device.name, status, "" if result.ok else result.message)
        run.say(device.name, "verify", result.message)


def _too_many_failed(run: _Run, percent: int | None) -> bool:
    played = [h for h in run.hosts.values() if h.phase != "preflight"]
    failed = [h for h in played if h.status in ("failed", "unreachable")]
    return percent is not None and bool(played) and len(failed) * 100 > percent * len(played)


def _play(run: _Run, ready: Sequence[Device]) -> None:
    for number, wave in enumerate(waves(ready, run.options.batch), start=1):
        if run.cancel() or _too_many_failed(run, run.options.max_fail_percent):
            reason = ("stopped before it started" if run.cancel() else
                      f"not started: more than {run.options.max_fail_percent}% of the hosts "
                      "failed in earlier waves")
            run.save(*(replace(run.hosts[d.name], message=reason) for d in wave))
            continue
        run.say("", "play", f"wave {number}: {len(wave)} hosts")
        outcome = _play_wave(run, wave, number)
        _verify(run, _record_wave(run, wave, outcome))


def _final_status(run: _Run) -> str:
    statuses = {h.status for h in run.hosts.values()}
    if run.cancel():
        return "interrupted"
    if statuses <= set(DONE):
        return "ok"
    return "failed"


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
                     cancel: Cancellation | None = None) -> SchoolResult:
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

    Returns:
        The run's outcome; hosts that failed are data in it.

    Raises:
        NotFoundError: no inventory for the school, or nothing to resume.
        InvalidInputError: inventory problems, a bad --limit, or an address outside
            the management networks (then nothing was sent anywhere).
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
        if options.resume:  # after reaping: a run killed with -9 counts as the last one
            devices = resume_selection(store, school_id, devices)
        if not devices:
            return SchoolResult(school_id, 0, "ok", reaped=reaped,
                                detail="nothing to do: every host of the last run is verified")
        run_id, run_dir = _start_run(settings, store, school_id, options, user)
        run = _Run(settings, store, snmp, school_id, options, devices,
                   pf.school_known_hosts(everything), run_id, run_dir, cancel, progress,
                   school=everything)
        status = _execute(run)
        done_word = "checked" if options.check else "verified"
        detail = (f"{sum(h.status in DONE for h in run.hosts.values())} of {len(devices)} "
                  f"hosts {done_word} or skipped")
        store.runs.finish(run_id, status, detail)
        return SchoolResult(school_id, run_id, status, store.runs.hosts(run_id), reaped, detail)


def _execute(run: _Run) -> str:
    """Preflight and play; the run's final status. The run is closed on any error."""
    try:
        ready = _preflight(run)
        if ready:
            _play(run, ready)
        return _final_status(run) if ready else "blocked"
    except BaseException:
        run.store.runs.finish(run.run_id, "interrupted", "stopped by an unexpected error")
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
                      cancel: Cancellation) -> list[SchoolResult | ProvisionerError]:
    """Provision several schools side by side, each with its own database connection.

    Returns:
        Per school, in the order given: its result, or the error that kept it from
        starting (one school's error does not stop the others).
    """
    def one(school_id: str) -> SchoolResult | ProvisionerError:
        store, backend = Store.open(settings.db), snmp()
        try:
            return provision_school(settings, store, backend, school_id, options, user=user,
                                    progress=progress, cancel=cancel)
        except ProvisionerError as exc:
            return exc
        finally:
            backend.close()
            store.close()

    if len(school_ids) == 1:
        return [one(school_ids[0])]
    with ThreadPoolExecutor(max_workers=min(len(school_ids), max(1, options.forks))) as pool:
        return list(pool.map(one, school_ids))
