"""Running playbooks through ansible-runner: the only module that imports ansible_runner.

One call runs one playbook against one inventory in a fresh private data dir and turns
ansible-runner's event stream into typed per-host progress and a per-host recap.
The four ansible-runner traps (LAB.md) are handled here, once:

1. host key checking is forced on (ansible-runner turns it off unless told);
2. `suppress_env_files=True` and a fresh private_data_dir per run, so no stale
   `env/envvars` overrides this run and no settings land on disk;
3. a fresh ControlPath dir per run, `ssh -O exit` on every master afterwards and
   ServerAliveInterval, so no leftover ControlPersist master hangs a later run;
4. the venv's bin on PATH, so `ansible-playbook` is found.

Secrets: a task's result (`res`) is read for its message only (none for `no_log`
tasks) and removed, with the task's arguments, from every event before
ansible-runner stores it; the environment is removed from the `command` artifact.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner
import yaml

from provisioner.errors import ConfigError

# Recap fields in the order `ansible-playbook` prints them.
RECAP_FIELDS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
# playbook_on_stats keys -> recap fields.
_STATS_KEYS = {"ok": "ok", "changed": "changed", "dark": "unreachable", "failures": "failed",
               "skipped": "skipped", "rescued": "rescued", "ignored": "ignored"}
_MESSAGE_MAX = 300
# The fact cache (provisioner/provision/facts.py): file name prefix and lifetime.
FACT_PREFIX = "facts-"
FACT_TTL_S = 3600


@dataclass
class HostRecap:
    """One host's progress during a run and its recap at the end.

    Attributes:
        host: the inventory host name.
        task: the task it runs now (or ran last).
        ok, changed, unreachable, failed, skipped, rescued, ignored: task counts as
            `ansible-playbook`'s PLAY RECAP gives them (ok includes changed).
        failed_task: the first task that failed or found it unreachable.
        message: that task's message (never its arguments; hidden for `no_log` tasks).
        started: monotonic seconds of its first task, or None.
        finished: monotonic seconds of its last event, or None.
    """

    host: str
    task: str = ""
    ok: int = 0
    changed: int = 0
    unreachable: int = 0
    failed: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0
    failed_task: str = ""
    message: str = ""
    started: float | None = None
    finished: float | None = None

    @property
    def status(self) -> str:
        """`unreachable`, `failed` or `ok` (a host with no failed task)."""
        if self.unreachable:
            return "unreachable"
        return "failed" if self.failed else "ok"

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
        status: ansible-runner's status: successful, failed, canceled, timeout or error.
        rc: ansible-playbook's exit code.
        hosts: per-host recap, by host name (hosts Ansible never reached included).
        artifact_dir: where ansible-runner kept this run's artifacts.
    """

    status: str
    rc: int
    hosts: dict[str, HostRecap]
    artifact_dir: Path
    ended_early_in: str = ""

    @property
    def ended_early(self) -> bool:
        """Ansible ended the playbook before its last play (every host of a play failed:
        the later plays never ran, so hosts with no failure may not be done)."""
        return bool(self.ended_early_in)


ProgressCallback = Callable[[HostRecap], None]


def _first_line(text: object) -> str:
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line[:_MESSAGE_MAX]


def task_message(res: Mapping[str, Any]) -> str:
    """The one-line message of a failed or unreachable task's result.

    Ansible replaces the result of a `no_log` task with `censored`; then only that is said.
    """
    if "censored" in res:
        return "output hidden by no_log"
    for key in ("msg", "stderr", "module_stderr", "stdout", "module_stdout"):
        if res.get(key):
            return _first_line(res[key])
    return ""


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
        if kind == "runner_on_ok":
            host.ok += 1
            host.changed += bool(res.get("changed"))
        elif kind == "runner_on_skipped":
            host.skipped += 1
        elif kind == "runner_on_failed" and data.get("ignore_errors"):
            host.ignored += 1
        elif kind in ("runner_on_failed", "runner_on_unreachable"):
            if kind == "runner_on_failed":
                host.failed += 1
            else:
                host.unreachable += 1
            if not host.failed_task:
                host.failed_task = host.task
                host.message = task_message(res)
        if self._progress is not None:
            self._progress(host)

    def _stats(self, data: Mapping[str, Any]) -> None:
        # The recap Ansible computed is the authority over our live counts.
        for key, field_name in _STATS_KEYS.items():
            for name, count in (data.get(key) or {}).items():
                setattr(self._host(str(name)), field_name, int(count))


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
        # The project's own action plugins (e.g. aruba_instant_wlan: the vendor's
        # collection is not on PyPI); playbooks/ansible.cfg names the same folder.
        "ANSIBLE_ACTION_PLUGINS": str(Path(__file__).resolve().parent / "ansible_plugins"
                                      / "action"),
    }
    if job.strategy:
        env["ANSIBLE_STRATEGY"] = job.strategy
        if job.strategy.startswith("mitogen"):
            env["ANSIBLE_STRATEGY_PLUGINS"] = str(mitogen_strategy_dir())
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


def _write_playbook_wrapper(folder: Path) -> Path:
    """`ansible-playbook` for ansible-runner to start: the venv's, with the kernel told to
    kill it when this process dies (setpriv --pdeathsig, util-linux).

    ansible-runner starts ansible-playbook in a session of its own, so after a kill -9
    of the tool it went on alone, changing devices while the next run, finding the
    tool's process gone, took the school's lock and started its own play.
    """
    wrapper = folder / "ansible-playbook"
    real = Path(sys.executable).parent / "ansible-playbook"
    wrapper.write_text(f'#!/bin/sh\nexec setpriv --pdeathsig KILL -- "{real}" "$@"\n')
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
    """
    job.run_dir.mkdir(mode=0o700, parents=True, exist_ok=False)
    for sub in ("cp", "tmp", "bin"):
        (job.run_dir / sub).mkdir(mode=0o700)
    _write_playbook_wrapper(job.run_dir / "bin")
    collector = EventCollector(progress)
    try:
        runner = ansible_runner.run(
            private_data_dir=str(job.run_dir), playbook=str(job.playbook.resolve()),
            inventory=str(job.inventory.resolve()), limit=",".join(job.limit) or None,
            tags=",".join(job.tags) or None, forks=job.forks, cmdline=_cmdline(job),
            envvars=ansible_env(job), suppress_env_files=True, quiet=True,
            event_handler=collector, cancel_callback=cancelled or (lambda: False),
            # ansible-runner points Ansible's jsonfile cache at a folder of its own
            # after our envvars; an absolute path here is joined to nothing.
            **({"fact_cache": str(job.fact_cache.resolve())} if job.fact_cache else {}),
        )
    finally:
        close_control_masters(job.run_dir / "cp")
    artifact_dir = Path(runner.config.artifact_dir)
    _scrub_command_file(artifact_dir / "command")
    # Ansible ends a playbook when every host of a play failed in it: no later play
    # starts (and no event says so). A finished run that started fewer plays than the
    # playbook has ended there.
    early = ""
    if runner.status == "failed" and 0 < len(collector.plays) < count_plays(job.playbook):
        early = collector.plays[-1]
    return PlaybookOutcome(str(runner.status), int(runner.rc if runner.rc is not None else -1),
                           collector.hosts, artifact_dir, early)


def count_plays(playbook: Path) -> int:
    """How many plays a playbook file holds (imported playbooks count as one each)."""
    try:
        plays = yaml.safe_load(playbook.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return 0
    return len(plays) if isinstance(plays, list) else 0


def _scrub_command_file(path: Path) -> None:
    """Keep the command line and folder of the `command` artifact, drop its environment.

    ansible-runner stores the whole process environment there; whatever a caller's
    environment holds must not be kept on disk.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    kept = {key: data[key] for key in ("command", "cwd") if key in data}
    path.write_text(json.dumps(kept), encoding="utf-8")
