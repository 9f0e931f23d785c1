"""Running playbooks through ansible-runner: the only module that imports ansible_runner.

One call runs one playbook against one inventory in a fresh private data dir and turns
ansible-runner's event stream into typed per-host progress and a per-host recap.
The four ansible-runner traps met on this project's lab are handled here, once:

1. host key checking is forced on (ansible-runner turns it off unless told);
2. `suppress_env_files=True` and a fresh private_data_dir per run, so no stale
   `env/envvars` overrides this run and no settings land on disk;
3. a fresh ControlPath dir per run, `ssh -O exit` on every master afterwards and
   ServerAliveInterval, so no leftover ControlPersist master hangs a later run;
4. the venv's bin on PATH, so `ansible-playbook` is found.

Every process the run starts ends with it, whatever its depth or session, also when
the tool is killed with -9: ansible-playbook runs under a supervisor, in a cgroup of
its own where it can be made (provisioner/containment.py).

Secrets: a task's result (`res`) is read for its message only (none for `no_log`
tasks) and removed, with the task's arguments, from every event before
ansible-runner stores it. The environment ansible-runner writes into the `command`
artifact is removed the moment the file is written (before ansible-playbook starts),
again after the run, and by the next start after a killed run; a file that cannot be
scrubbed is deleted.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Protocol

import ansible_runner
import yaml
from ansible_runner.exceptions import AnsibleRunnerException, ConfigurationError
from ansible_runner.streaming import Worker

from provisioner.ansible_plugins import WARM_PLUGINS_ENV
from provisioner.containment import Containment, contain, end
from provisioner.errors import ConfigError, EnvironmentProblemError
from provisioner.files import write_atomic
from provisioner.lines import one_line
from provisioner.outcome import STATS_KEYS, Counts, RecapStatus, RunnerStatus
from provisioner.platforms import network_plugins

# Warnings kept per host and run: a report of 45 APs' reservations must not fill the
# record; the run's output (`provision run show --output`) has them all, and the record
# counts those it left out.
WARNINGS_MAX = 10
# The action whose warnings are the record's (the roles' "Report ..." tasks); modules'
# own warnings (a library's idempotency hints, deprecations) stay in the run's output.
REPORT_ACTION = "report_warning"
# Ansible's host pattern for every host of the inventory.
ALL_HOSTS = "all"
# The fact cache (provisioner/provision/facts.py): file name prefix and lifetime.
FACT_PREFIX = "facts-"
FACT_TTL_S = 3600
# The plugins the tool's strategy loads before its workers fork (WARM_PLUGINS_ENV): the
# playbooks' Jinja filters and tests from collections (tests/provision/
# test_ansible_adapter.py checks that each one the playbooks name is here), and the
# platforms' network plugins.
PLAYBOOK_JINJA_PLUGINS = ("filter:ansible.utils.ipaddr", "test:ansible.utils.in_any_network")


@dataclass
class HostRecap:
    """One host's progress during a run and its recap at the end.

    Attributes:
        host: the inventory host name.
        task: the task it runs now (or ran last).
        counts: task counts as `ansible-playbook`'s PLAY RECAP gives them.
        failed_task: the first task that failed or found it unreachable.
        message: that task's message (never its arguments; hidden for `no_log` tasks).
        warnings: what the roles' "Report ..." tasks (`REPORT_ACTION`) warned of on it
            (`task_warnings`), in order, each once, at most `WARNINGS_MAX`.
        warnings_left_out: how many more there were.
        started: monotonic seconds of its first task, or None.
        finished: monotonic seconds of its last event, or None.
    """

    host: str
    task: str = ""
    counts: Counts = field(default_factory=Counts)
    failed_task: str = ""
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    warnings_left_out: int = 0
    started: float | None = None
    finished: float | None = None

    def add_warnings(self, warnings: Sequence[str]) -> None:
        """Keep a task's warnings: those not kept yet, up to `WARNINGS_MAX` in all; count
        the others."""
        for warning in warnings:
            if warning in self.warnings:
                continue
            if len(self.warnings) < WARNINGS_MAX:
                self.warnings.append(warning)
            else:
                self.warnings_left_out += 1

    @property
    def status(self) -> RecapStatus:
        """Ansible's verdict on the host: unreachable, failed or ok (no failed task)."""
        return self.counts.status

    @property
    def elapsed_ms(self) -> float:
        """Milliseconds from its first to its last event."""
        if self.started is None or self.finished is None:
            return 0.0
        return (self.finished - self.started) * 1000


@dataclass(frozen=True)
class PlaybookJob:
    """What to run.

    Attributes:
        playbook: the playbook file.
        inventory: the inventory (a school's folder).
        run_dir: a new, empty folder for this run (ansible-runner's private_data_dir).
        limit: hosts or groups to limit to; empty means all.
        tags: only tasks with these tags; empty means all.
        check: check mode (with --diff): report, change nothing.
        forks: parallel hosts.
        env: more environment for Ansible (no secrets: they stay in their files).
        pipelining: ANSIBLE_PIPELINING (fewer SSH round trips per task).
        strategy: an Ansible strategy plugin name (e.g. `mitogen_linear`), or None.
        fact_cache: a folder for Ansible's jsonfile fact cache with smart gathering
            (provisioner/provision/facts.py), or None to gather every time.
    """

    playbook: Path
    inventory: Path
    run_dir: Path
    limit: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    check: bool = False
    forks: int = 20
    env: Mapping[str, str] = field(default_factory=dict)
    pipelining: bool = True
    strategy: str | None = None
    fact_cache: Path | None = None


@dataclass
class PlaybookOutcome:
    """How a run ended.

    Attributes:
        status: ansible-runner's status: successful, failed, canceled, timeout or error;
            or `lost`: the execution node running it stopped answering mid-run.
        rc: ansible-playbook's exit code.
        hosts: per-host recap, by host name (hosts Ansible never reached included).
        artifact_dir: where ansible-runner kept this run's artifacts.
        detail: one line on how it ended when that is not Ansible's (an execution node's).
        groups_left: see `cut_short`.
    """

    status: str
    rc: int
    hosts: dict[str, HostRecap]
    artifact_dir: Path
    ended_early_in: str = ""
    detail: str = ""
    # The host groups of the plays that never started (`play_host_groups`); "all" when
    # they cannot be told.
    groups_left: frozenset[str] = frozenset({ALL_HOSTS})

    @property
    def cancelled(self) -> bool:
        """The run was stopped through the cancel callback (ansible-runner's `canceled`),
        or its execution node was lost: either way the hosts' plays did not finish."""
        return self.status in (RunnerStatus.CANCELED, RunnerStatus.LOST)

    @property
    def ended_early(self) -> bool:
        """Ansible ended the playbook before its last play (every host of a play failed:
        the later plays never ran, so hosts with no failure may not be done)."""
        return bool(self.ended_early_in)

    def cut_short(self, host: str, group: str) -> bool:
        """Whether the playbook ended before a play that would have worked on the host
        (named, or in its inventory group): a host none of the later plays selects had
        all of its plays."""
        return self.ended_early and bool({ALL_HOSTS, host, group} & self.groups_left)


ProgressCallback = Callable[[HostRecap], None]


def task_message(res: Mapping[str, Any]) -> str:
    """The one-line message of a failed or unreachable task's result.

    Ansible replaces the result of a `no_log` task with `censored`; then only that is said.
    """
    if "censored" in res:
        return "output hidden by no_log"
    for key in ("msg", "stderr", "module_stderr", "stdout", "module_stdout"):
        if res.get(key):
            return one_line(res[key])
    return ""


def task_warnings(res: Mapping[str, Any]) -> list[str]:
    """The warnings of a task's result, as `ansible-playbook` prints them `[WARNING]:`.

    ansible-runner's events carry them as `res["warnings"]`, a list of strings (a loop's
    final result holds its items' warnings). Each becomes its first line; anything that
    is not a string is ignored, and a `no_log` result has none.
    """
    raw = res.get("warnings")
    if "censored" in res or not isinstance(raw, list):
        return []
    return [line for line in (one_line(text) for text in raw if isinstance(text, str))
            if line]


def host_warnings(host: str, res: Mapping[str, Any]) -> list[str]:
    """A report's warnings as the host's record keeps them: `task_warnings` without the
    "HOST: " that `report_warning` puts before each for `ansible-playbook`'s output
    (the record names the host already)."""
    return [text.removeprefix(f"{host}: ") for text in task_warnings(res)]


def is_report(data: Mapping[str, Any]) -> bool:
    """Whether an event's task is a role's report (`REPORT_ACTION`, by any prefix such
    as `ansible.legacy.`)."""
    action = str(data.get("resolved_action") or data.get("task_action") or "")
    return action.rsplit(".", 1)[-1] == REPORT_ACTION


class EventCollector:
    """ansible-runner's event handler: live per-host progress, recap, events kept lean."""

    def __init__(self, progress: ProgressCallback | None = None) -> None:
        self.hosts: dict[str, HostRecap] = {}
        self.plays: list[str] = []  # plays started, in order
        self._progress = progress

    def _host(self, name: str) -> HostRecap:
        recap = self.hosts.get(name)
        if recap is None:
            recap = self.hosts[name] = HostRecap(name)
        return recap

    def __call__(self, event: dict[str, Any]) -> bool:
        """Handle one event; strip its task result before ansible-runner writes it."""
        data = event.get("event_data") or {}
        res = data.pop("res", None)
        # The task's arguments may hold templated secrets; the rendered output
        # (`stdout`) is what ansible-playbook prints, with no_log results hidden.
        data.pop("task_args", None)
        kind = event.get("event", "")
        if kind == "playbook_on_play_start":
            self.plays.append(str(data.get("name") or data.get("play") or ""))
        elif kind == "playbook_on_stats":
            self._stats(data)
        elif data.get("host") and kind.startswith("runner_on_"):
            self._host_event(kind, str(data["host"]), data, res if isinstance(res, dict) else {})
        return True

    def _host_event(self, kind: str, name: str, data: Mapping[str, Any],
                    res: Mapping[str, Any]) -> None:
        host = self._host(name)
        now = time.monotonic()
        host.started = host.started if host.started is not None else now
        host.finished = now
        host.task = str(data.get("task") or host.task)
        if kind in ("runner_on_ok", "runner_on_failed") and is_report(data):
            host.add_warnings(host_warnings(name, res))
        if kind == "runner_on_ok":
            host.counts = host.counts.plus(ok=1, changed=int(bool(res.get("changed"))))
        elif kind == "runner_on_skipped":
            host.counts = host.counts.plus(skipped=1)
        elif kind == "runner_on_failed" and data.get("ignore_errors"):
            host.counts = host.counts.plus(ignored=1)
        elif kind in ("runner_on_failed", "runner_on_unreachable"):
            if kind == "runner_on_failed":
                host.counts = host.counts.plus(failed=1)
            else:
                host.counts = host.counts.plus(unreachable=1)
            if not host.failed_task:
                host.failed_task = host.task
                host.message = task_message(res)
        if self._progress is not None:
            self._progress(host)

    def _stats(self, data: Mapping[str, Any]) -> None:
        # The recap Ansible computed is the authority over our live counts.
        for key, field_name in STATS_KEYS.items():
            for name, count in (data.get(key) or {}).items():
                host = self._host(str(name))
                host.counts = replace(host.counts, **{field_name: int(count)})


def _ssh_args() -> str:
    return ("-o ControlMaster=auto -o ControlPersist=60s -o ServerAliveInterval=10 "
            "-o ServerAliveCountMax=3")


def ansible_env(job: PlaybookJob) -> dict[str, str]:
    """The environment of one run (see the module doc for why each is set)."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        # The run's own bin first: its `ansible-playbook` dies with this process.
        "PATH": os.pathsep.join([str(job.run_dir / "bin"), venv_bin,
                                 os.environ.get("PATH", "/usr/bin:/bin")]),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(job.run_dir / "cp"),
        "ANSIBLE_SSH_ARGS": _ssh_args(),
        "ANSIBLE_PIPELINING": str(job.pipelining),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_LOCAL_TEMP": str(job.run_dir / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_TIMEOUT": "20",
        # The project's own action plugins (report_warning; aruba_instant_wlan: the
        # vendor's collection is not on PyPI); playbooks/ansible.cfg names the same folder.
        "ANSIBLE_ACTION_PLUGINS": str(Path(__file__).resolve().parent / "ansible_plugins"
                                      / "action"),
        # Its filters (management_mac: an AP's answer read defensively).
        "ANSIBLE_FILTER_PLUGINS": str(Path(__file__).resolve().parent / "ansible_plugins"
                                      / "filter"),
    }
    if job.strategy:
        env["ANSIBLE_STRATEGY"] = job.strategy
        if job.strategy.startswith("mitogen"):
            env["ANSIBLE_STRATEGY_PLUGINS"] = str(mitogen_strategy_dir())
            env[WARM_PLUGINS_ENV] = ",".join([*PLAYBOOK_JINJA_PLUGINS, *network_plugins()])
    if job.fact_cache is not None:  # the folder goes to ansible-runner (run_playbook)
        env.update({"ANSIBLE_GATHERING": "smart", "ANSIBLE_CACHE_PLUGIN": "jsonfile",
                    "ANSIBLE_CACHE_PLUGIN_PREFIX": FACT_PREFIX,
                    "ANSIBLE_CACHE_PLUGIN_TIMEOUT": str(FACT_TTL_S)})
    config = job.playbook.parent / "ansible.cfg"
    if config.is_file():
        env["ANSIBLE_CONFIG"] = str(config)
    env.update(job.env)
    return env


def mitogen_strategy_dir() -> Path:
    """Where our mitogen strategy plugins are: mitogen's, without its CPU pinning
    (provisioner/ansible_plugins/strategy/mitogen_unpinned.py says why).

    Raises:
        ConfigError: mitogen (the pip package) is not installed.
    """
    if importlib.util.find_spec("ansible_mitogen") is None:
        raise ConfigError("the mitogen strategy needs the Python package mitogen: "
                          "pip install 'mitogen>=0.3.54,<0.4', or use --strategy linear")
    return Path(__file__).resolve().parent / "ansible_plugins" / "strategy"


def _write_playbook_wrapper(folder: Path, containment: Containment) -> Path:
    """`ansible-playbook` for ansible-runner to start: the venv's, under the supervisor
    that ends every process of the run when the run or this process ends.

    ansible-runner starts ansible-playbook in a session of its own, and mitogen, ssh and
    network_cli start processes in sessions of theirs: after a kill -9 of the tool they
    went on alone, changing devices while the next run took the school's lock.
    """
    wrapper = folder / "ansible-playbook"
    real = Path(sys.executable).parent / "ansible-playbook"
    command = " ".join(shlex.quote(part) for part in containment.supervised([str(real)]))
    wrapper.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
    wrapper.chmod(0o700)
    return wrapper


def _cmdline(job: PlaybookJob) -> str | None:
    parts = ["--check", "--diff"] if job.check else []
    return " ".join(parts) or None


def close_control_masters(control_dir: Path) -> int:
    """Ask every ControlPersist master under `control_dir` to exit; how many there were."""
    if not control_dir.is_dir():
        return 0
    sockets = [p for p in control_dir.iterdir() if p.is_socket()]
    for sock in sockets:
        subprocess.run(["ssh", "-O", "exit", "-o", f"ControlPath={sock}", "controlmaster"],
                       capture_output=True, timeout=10, check=False)
    return len(sockets)


def run_playbook(job: PlaybookJob, progress: ProgressCallback | None = None,
                 cancelled: Callable[[], bool] | None = None) -> PlaybookOutcome:
    """Run one playbook and return each host's recap.

    Args:
        job: what to run; `job.run_dir` is created with mode 0700.
        progress: called after each host event with that host's running recap.
        cancelled: polled by ansible-runner; True stops the run (status `canceled`).

    Returns:
        The outcome; per-host failure is data in `hosts`, never an exception.

    Raises:
        EnvironmentProblemError: ansible-runner could not start or follow the run
            (`runner_error`), or its `command` file (the environment) could be neither
            scrubbed nor deleted; the playbook was not started.
    """
    job.run_dir.mkdir(mode=0o700, parents=True, exist_ok=False)
    for sub in ("cp", "tmp", "bin"):
        (job.run_dir / sub).mkdir(mode=0o700)
    containment = contain(job.run_dir)
    _write_playbook_wrapper(job.run_dir / "bin", containment)
    collector = EventCollector(progress)
    try:
        runner = ansible_runner.run(
            private_data_dir=str(job.run_dir), playbook=str(job.playbook.resolve()),
            inventory=str(job.inventory.resolve()), limit=",".join(job.limit) or None,
            tags=",".join(job.tags) or None, forks=job.forks, cmdline=_cmdline(job),
            envvars={**ansible_env(job), **containment.env()}, suppress_env_files=True,
            quiet=True, event_handler=collector, status_handler=_scrub_when_running,
            cancel_callback=cancelled or (lambda: False),
            # ansible-runner points Ansible's jsonfile cache at a folder of its own
            # after our envvars; an absolute path here is joined to nothing.
            **({"fact_cache": str(job.fact_cache.resolve())} if job.fact_cache else {}),
        )
    except (AnsibleRunnerException, OSError) as exc:
        raise runner_error(job, exc) from exc
    finally:
        close_control_masters(job.run_dir / "cp")
        end(containment)
    artifact_dir = Path(runner.config.artifact_dir)
    scrub_command_file(artifact_dir / "command")
    early, left = _ended(str(runner.status), job.playbook, collector.plays)
    return PlaybookOutcome(str(runner.status), int(runner.rc if runner.rc is not None else -1),
                           collector.hosts, artifact_dir, early, groups_left=left)


def runner_error(job: PlaybookJob, exc: Exception) -> EnvironmentProblemError:
    """ansible-runner's (or the OS's) refusal to run a playbook, as one line naming the
    playbook, the run folder and what to check."""
    if isinstance(exc, ConfigurationError):
        what = "refused the run's settings"
    elif isinstance(exc, OSError):
        what = f"could not start ansible-playbook ({exc.strerror or exc})"
    else:
        what = "failed while following the run"
    return EnvironmentProblemError(
        f"ansible-runner {what} for {job.playbook} ({exc}); its files are in {job.run_dir}: "
        "check that Ansible is installed ('bash scripts/setup.sh install') and the playbook "
        "and inventory are readable")


def playbook_output(run_folder: Path) -> list[tuple[str, str]]:
    """What ansible-playbook printed in a run, per wave: (wave folder name, text), in
    order; with `--check --diff` its diff of every change it would make.

    Read from ansible-runner's `stdout` artifact of each wave (`<wave>/artifacts/<id>/
    stdout`); no_log tasks are hidden there by Ansible, and the run folders hold no
    secret (the tests grep them). Waves whose output is gone are left out.
    """
    found = []
    for path in sorted(run_folder.glob("*/artifacts/*/stdout")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found.append((path.parent.parent.parent.name, text))
    return found


def play_host_groups(playbook: Path) -> list[frozenset[str]]:
    """Per play of a playbook file, the groups and hosts its `hosts:` pattern takes hosts
    from: its terms but those starting with `&` or `!` (they only narrow the selection).
    A play whose pattern has a wildcard, a regex, a template or is no plain string, and
    an imported playbook, stand for every host (`all`). Empty when the file cannot be read.
    """
    try:
        plays = yaml.safe_load(playbook.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    if not isinstance(plays, list):
        return []
    return [_pattern_groups(play.get("hosts") if isinstance(play, dict) else None)
            for play in plays]


def _pattern_groups(pattern: object) -> frozenset[str]:
    if not isinstance(pattern, str) or any(c in pattern for c in "*~[{"):
        return frozenset({ALL_HOSTS})
    terms = [t.strip() for t in re.split(r"[:,]", pattern) if t.strip()]
    return frozenset(t for t in terms if t[0] not in "&!") or frozenset({ALL_HOSTS})


def _ended(status: str, playbook: Path, plays: Sequence[str]) -> tuple[str, frozenset[str]]:
    """The play Ansible ended the playbook in ("" if it did not) and the host groups of
    the plays it never started. Ansible ends a playbook when every host of a play failed
    in it (no event says so): a failed run that started fewer plays than the playbook
    has ended there."""
    groups = play_host_groups(playbook)
    if status != RunnerStatus.FAILED or not 0 < len(plays) < len(groups):
        return "", frozenset()
    return plays[-1], frozenset().union(*groups[len(plays):])


def scrub_command_file(path: Path) -> bool:
    """Keep the command line and folder of ansible-runner's `command` artifact, drop its
    environment; a file that cannot be scrubbed (not JSON, not an object, unreadable) is
    deleted. Whether the file was scrubbed (False: deleted, or there was none).

    ansible-runner stores the whole process environment there; whatever a caller's
    environment holds must not be kept on disk.

    Raises:
        EnvironmentProblemError: the file can be neither scrubbed nor deleted.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        kept = {key: data[key] for key in ("command", "cwd") if key in data}
        write_atomic(path, json.dumps(kept), 0o600)
        return True
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        pass
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise EnvironmentProblemError(
            f"cannot remove {path}, which may hold the environment ({exc.strerror}); "
            "delete it by hand and check the folder's permissions") from exc
    return False


def scrub_command_files(folder: Path) -> int:
    """`scrub_command_file` for every ansible-runner `command` artifact below a run's
    folder (`*/artifacts/*/command`: its waves); how many there were.

    Raises:
        EnvironmentProblemError: one can be neither scrubbed nor deleted.
    """
    found = sorted(folder.glob("*/artifacts/*/command"))
    for path in found:
        scrub_command_file(path)
    return len(found)


def _scrub_when_running(status: Mapping[str, Any], runner_config: Any = None) -> None:
    """ansible-runner's status handler: it calls this with "running" right after writing
    the `command` file and before starting ansible-playbook."""
    if status.get("status") == RunnerStatus.RUNNING and runner_config is not None:
        scrub_command_file(Path(runner_config.artifact_dir) / "command")


# Execution nodes: ansible-runner's streaming protocol, as AWX uses it. The controller
# `transmit`s the job (its kwargs and the zipped private data dir), the node's `work`
# runs it with ansible-runner's Worker and streams status lines and events back, and
# the controller's `process` feeds them to the same EventCollector as a local run.
# The node computes its own environment (paths are its own); what it sends back is
# made lean first (`lean_line`): no environment, no task results beyond their message,
# no artifacts archive (it holds the node's `command` file with its environment).

STREAM_PROJECT = "project"
STREAM_INVENTORY = "inventory"
STREAM_HOME = "home"


class ByteSink(Protocol):
    """Where a streaming step writes (ansible-runner reads `.name` of it)."""

    name: str

    def write(self, data: bytes) -> int:
        """Take bytes."""
        ...

    def flush(self) -> None:
        """Pass on what was written."""
        ...


class StreamBuffer(io.BytesIO):
    """A named in-memory binary stream: ansible-runner's streaming code reads `.name`."""

    name = "<provisioner stream>"


def transmit(job: PlaybookJob, stage: Path) -> bytes:
    """The job as ansible-runner's transmit stream, for a worker on an execution node.

    The private data dir (`stage`, new) holds copies of the playbooks folder, the
    school's inventory and the run's HOME (the pinned known_hosts): files that name
    secrets by path, never secrets. No environment travels: the node makes its own.

    Returns:
        The stream: a kwargs line, the zipped folder (base64), an eof line.
    """
    stage.mkdir(mode=0o700, parents=True)
    shutil.copytree(job.playbook.parent, stage / STREAM_PROJECT)
    shutil.copytree(job.inventory, stage / STREAM_INVENTORY)
    if job.env.get("HOME"):
        shutil.copytree(job.env["HOME"], stage / STREAM_HOME)
    out = StreamBuffer()
    ansible_runner.interface.run(
        streamer="transmit", _output=out, private_data_dir=str(stage),
        playbook=str(stage / STREAM_PROJECT / job.playbook.name),
        inventory=str(stage / STREAM_INVENTORY), limit=",".join(job.limit) or None,
        tags=",".join(job.tags) or None, forks=job.forks, cmdline=_cmdline(job),
        suppress_env_files=True, quiet=True)
    return out.getvalue()


def node_job(run_dir: Path, playbook_name: str, *, check: bool, forks: int,
             strategy: str | None, fact_cache: Path | None,
             plugin_env: Mapping[str, str] | None = None) -> PlaybookJob:
    """The job as a node runs it, in its own private data dir `run_dir` (made by `work`).

    `plugin_env`: the node's own ANSIBLE_<TYPE>_PLUGINS for the platforms' plugins
    (`provisioner.platforms.ansible_plugin_env`: paths are the node's).
    """
    env = {"HOME": str(run_dir / STREAM_HOME), **(plugin_env or {})}
    return PlaybookJob(playbook=run_dir / STREAM_PROJECT / playbook_name,
                       inventory=run_dir / STREAM_INVENTORY, run_dir=run_dir, check=check,
                       forks=forks, env=env, strategy=strategy, fact_cache=fact_cache)


def work(stream: bytes, job: PlaybookJob, output: ByteSink,
         cancelled: Callable[[], bool]) -> str:
    """Run a transmitted job with ansible-runner's Worker; its lines go to `output`.

    Args:
        stream: what `transmit` made on the controller.
        job: from `node_job`: where to unpack and run, with the node's settings.
        output: receives the worker's stream (give it a `.name`); `lean_line` it before
            it leaves the node.
        cancelled: polled; True stops the run (status `canceled`).

    Returns:
        ansible-runner's status of the run.
    """
    job.run_dir.mkdir(mode=0o700, parents=True, exist_ok=False)
    for sub in ("cp", "tmp", "bin"):
        (job.run_dir / sub).mkdir(mode=0o700)
    # The node's run is contained as a local one is: a killed worker leaves nothing.
    containment = contain(job.run_dir)
    _write_playbook_wrapper(job.run_dir / "bin", containment)
    if job.fact_cache is not None:
        job.fact_cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    # ansible-runner's Worker itself, built here rather than through interface.run, which
    # drops the cancel callback before it reaches the Worker.
    env = {**ansible_env(job), **containment.env()}
    if containment.scratch is not None:
        # network_cli's sockets in the run's short scratch folder: a Unix socket path
        # holds at most 107 bytes, and the node's folders may be deep.
        sockets = containment.scratch / "pc"
        sockets.mkdir(mode=0o700)
        env["ANSIBLE_PERSISTENT_CONTROL_PATH_DIR"] = str(sockets)
    worker = Worker(_input=io.BytesIO(stream), _output=output, private_data_dir=str(job.run_dir),
                    envvars=env,
                    suppress_env_files=True, cancel_callback=cancelled,
                    **({"fact_cache": str(job.fact_cache)} if job.fact_cache else {}))
    try:
        status, _rc = worker.run()
    finally:
        close_control_masters(job.run_dir / "cp")
        end(containment)
    return str(status)


def lean_line(line: bytes) -> bytes | None:
    """One line of a worker's stream as it may leave the node; None: drop it.

    Status lines lose the worker's environment (ansible-runner puts the whole process
    environment into its first one); events lose their task arguments and keep of
    their result only what `EventCollector` reads. Lines that are not JSON objects
    (they are none of ansible-runner's) are dropped.
    """
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data.pop("env", None)
    event = data.get("event_data")
    if isinstance(event, dict):
        event.pop("task_args", None)
        res = event.get("res")
        if isinstance(res, dict):
            event["res"] = lean_result(res)
    return json.dumps(data).encode() + b"\n"


def lean_result(res: Mapping[str, Any]) -> dict[str, Any]:
    """What of a task result leaves an execution node: changed, the one-line message
    a local run would record (or only that it is hidden, for `no_log` tasks), and its
    warnings (`task_warnings`)."""
    if "censored" in res:
        return {"censored": "output hidden by no_log", "changed": bool(res.get("changed"))}
    message, warnings = task_message(res), task_warnings(res)
    return {"changed": bool(res.get("changed")), **({"msg": message} if message else {}),
            **({"warnings": warnings} if warnings else {})}


def archive_size(line: bytes) -> int | None:
    """The base64 length of the archive that follows a `{"zipfile": N}` line, else None
    (ansible_runner.utils.streaming.stream_dir: N zip bytes, base64 without newlines)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("zipfile"), int):
        return 4 * ((int(data["zipfile"]) + 2) // 3)
    return None


def process(stream: IO[bytes], job: PlaybookJob,
            progress: ProgressCallback | None = None) -> PlaybookOutcome:
    """Read a node's worker stream back into this run's events and recap.

    Args:
        stream: the lines `work` produced (after `lean_line`), ending with eof; an
            empty read (the stream cut) ends it as ansible-runner's `error`.
        job: the controller's job; its `run_dir` (new) keeps the events as a local
            run's artifacts do.
        progress: as for `run_playbook`.

    Returns:
        The outcome, as `run_playbook` returns it.
    """
    job.run_dir.mkdir(mode=0o700, parents=True, exist_ok=False)
    collector = EventCollector(progress)
    final: dict[str, Any] = {}

    def on_status(data: dict[str, Any], runner_config: Any = None) -> None:
        data.pop("env", None)  # again here: whatever a node sent, it is never kept
        if getattr(runner_config, "env", None) is not None:
            runner_config.env = None
        final.update(data)

    processor = ansible_runner.interface.run(
        streamer="process", _input=stream, private_data_dir=str(job.run_dir),
        event_handler=collector, status_handler=on_status, quiet=True)
    status = str(final.get("status") or processor.status)
    rc = final.get("rc")
    rc = int(rc) if isinstance(rc, int) else (0 if status == RunnerStatus.SUCCESSFUL else 2)
    early, left = _ended(status, job.playbook, collector.plays)
    return PlaybookOutcome(status, rc, collector.hosts, Path(processor.artifact_dir), early,
                           str(final.get("job_explanation") or ""), groups_left=left)
