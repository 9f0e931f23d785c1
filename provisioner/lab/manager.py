"""`lab up` and `lab down` as a library: build, record and remove a whole lab.

`lab_up` run twice is safe: if a complete lab of the same spec and runtime is
recorded and all its hosts still run, it is returned as it is (known_hosts and
inventories are rewritten); otherwise the old lab, or a crashed one's leftovers, is
torn down first and a fresh lab is built.

`lab_down` removes everything the state file records AND anything carrying the lab's
names (namespaces `pvlab-*`, veths `pvl<n>h`, bridge `pvlab0`, mounts under the lab
dir, cgroups `pvlab-*`), so a lab whose `up` crashed is removed all the same.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType

from provisioner.config import Settings
from provisioner.errors import LabError, ProvisionerError
from provisioner.lab import hosts, limits, netns
from provisioner.lab import nodes as lab_nodes
from provisioner.lab.credentials import LabCredentials
from provisioner.lab.rootfs import BaseImage, ensure_base
from provisioner.lab.state import (
    HostRecord,
    LabState,
    ProcessRef,
    StateJournal,
    is_alive,
    load_state,
    process_ref,
    remove_state,
    state_path,
)
from provisioner.lab.syscmd import mounts_below, require_root, require_tools, unmount_below
from provisioner.lab.topology import NETNS_PREFIX, DeviceKind, LabDevice, LabSpec, plan_lab
from provisioner.secrets import write_secret_file

Progress = Callable[[str], None]
RUNTIME_CHOICES = ("auto", "nspawn", "chroot")
SIMULATED_KINDS = (DeviceKind.IOS_SWITCH, DeviceKind.AOSS_SWITCH, DeviceKind.RECORDED_AP,
                   DeviceKind.RECORDED, DeviceKind.WLAN_CONTROLLER, DeviceKind.CONTROLLED_AP)
# What `lab up` makes in the lab dir besides the state file; `lab down` removes them.
LAB_FOLDERS = ("hosts", "logs", "simulators", "inventories", "broker", "nodes")
LAB_FILES = ("faults.lock",)  # `lab fault`'s lock
CREDENTIALS_FOLDER = "credentials"
# Booting systemd is CPU-bound for its first seconds: on 2 busy cores fewer at once
# boot each one sooner. (Hosts past the 15th used to miss the readiness wait for
# another reason, inotify instances: see provisioner/lab/limits.py.)
MAX_PARALLEL_STARTS = 6
LAB_MODULE_PREFIX = "provisioner.lab."


@dataclass(frozen=True)
class Leftovers:
    """Lab parts that exist on the machine now, found by the lab's names."""

    netns: tuple[str, ...]
    links: tuple[str, ...]
    mounts: tuple[str, ...]
    cgroups: tuple[str, ...]
    processes: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether nothing of a lab is left."""
        return not (self.netns or self.links or self.mounts or self.cgroups or self.processes)


@dataclass(frozen=True)
class DownSummary:
    """What `lab_down` removed."""

    hosts_stopped: int = 0
    processes_killed: int = 0
    mounts_removed: int = 0
    links_removed: int = 0
    netns_removed: int = 0
    cgroups_removed: int = 0
    had_state: bool = False

    def __str__(self) -> str:
        return (f"stopped {self.hosts_stopped} hosts, killed {self.processes_killed} "
                f"processes, removed {self.mounts_removed} mounts, {self.netns_removed} "
                f"namespaces, {self.links_removed} links, {self.cgroups_removed} cgroups")


def find_leftovers(lab_dir: Path) -> Leftovers:
    """Everything of a lab that exists now, by the lab's names (needs no state file)."""
    return Leftovers(
        netns=tuple(netns.list_netns()),
        links=tuple(netns.list_links()),
        mounts=tuple(mounts_below(lab_dir)),
        cgroups=tuple(hosts.list_cgroups(NETNS_PREFIX)),
        processes=tuple(find_lab_processes(lab_dir)),
    )


def is_lab_process(argv: Sequence[str], lab_dir: Path) -> bool:
    """Whether a command line is one of the lab's simulators: a `provisioner.lab.*`
    module run with a file under the lab dir (how a crashed lab's are found without pids).
    """
    inside = str(lab_dir).rstrip("/") + "/"
    return (any(arg.startswith(LAB_MODULE_PREFIX) for arg in argv)
            and any(arg.startswith(inside) for arg in argv))


def find_lab_processes(lab_dir: Path) -> list[int]:
    """Pids of running processes of the lab's simulators (see `is_lab_process`)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = proc.joinpath("cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if int(proc.name) != os.getpid() and is_lab_process(argv, lab_dir.resolve()):
            found.append(int(proc.name))
    return sorted(found)


def _locked(progress: Progress) -> Progress:
    """The caller's callback, serialised: hosts start in threads."""
    lock = threading.Lock()

    def say(message: str) -> None:
        with lock:
            progress(message)

    return say


def check_environment(runtime: str) -> None:
    """Raise unless the lab can run here with `runtime`.

    Raises:
        EnvironmentProblemError: not root, a tool missing (naming its Debian package).
        LabError: unknown runtime.
    """
    if runtime not in RUNTIME_CHOICES:
        raise LabError(f"unknown lab runtime {runtime!r}; use one of {', '.join(RUNTIME_CHOICES)}")
    require_root()
    require_tools(["ip", "mount", "umount", "unshare", "setpriv", "chroot"])
    if runtime == "nspawn":
        require_tools(["systemd-nspawn"])


def lab_up(spec: LabSpec, settings: Settings, credentials: LabCredentials, progress: Progress,
           *, runtime: str = "auto") -> LabState:
    """Build and start a lab; on failure everything made so far is removed again.

    Safe to run twice: a complete, running lab of the same spec and runtime is returned
    as it is; any other lab (or a crashed one's leftovers) is removed and rebuilt.

    Args:
        spec: schools and devices per school.
        settings: `cache_dir` keeps the base image, `lab_dir` the lab's state and hosts.
        credentials: the lab's credentials (made by `ensure_credentials`).
        progress: receives one-line progress messages.
        runtime: "auto" (nspawn, falling back to chroot per host), "nspawn" or "chroot".

    Returns:
        The recorded state of the running lab.

    Raises:
        EnvironmentProblemError: not root or tools missing.
        LabError: a part of the lab could not be made.
    """
    check_environment(runtime)
    try:
        devices = plan_lab(spec)
    except ValueError as exc:
        raise LabError(f"cannot lay out the lab: {exc}") from exc
    say = _locked(progress)
    existing = _reusable(settings.lab_dir, spec, runtime)
    if existing is not None:
        say("the lab is already up with this layout; reusing it")
        _finish(existing, settings, credentials, say)
        return existing
    if _anything_there(settings.lab_dir):
        say("removing the previous lab first")
        lab_down(settings, say, keep_credentials=True)
    image = ensure_base(settings.cache_dir, say)
    settings.lab_dir.mkdir(parents=True, exist_ok=True)
    state = LabState(spec=spec, devices=devices, runtime=runtime, base=str(image.root),
                     repo=str(image.repo))
    journal = StateJournal(settings.lab_dir, state)
    try:
        _build(journal, image, credentials, settings, say)
        _finish(state, settings, credentials, say)
    except BaseException:
        say("lab up failed; removing what was made")
        try:
            lab_down(settings, say, keep_credentials=True)
        except ProvisionerError as down_exc:  # the first error is the one to report
            say(f"removal incomplete ({down_exc}); run 'provision lab down'")
        raise
    journal.record(lambda s: setattr(s, "complete", True))
    return state


def _reusable(lab_dir: Path, spec: LabSpec, runtime: str) -> LabState | None:
    try:
        state = load_state(lab_dir)
    except LabError:
        return None
    if state is None or not state.complete or state.spec != spec or state.runtime != runtime:
        return None
    if state.faults or state.boots:
        return None  # `up` gives a lab without faults: rebuild a faulted one
    refs = [p for p in state.processes if p.role in hosts.RUNTIMES and p.device in state.hosts]
    running = {p.device for p in refs if is_alive(p)}
    simulators = [p for p in state.processes if p.role == "simulator"]
    if running != set(state.hosts) or not all(is_alive(p) for p in simulators):
        return None
    return state


def _anything_there(lab_dir: Path) -> bool:
    return state_path(lab_dir).exists() or not find_leftovers(lab_dir).empty


def _build(journal: StateJournal, image: BaseImage, credentials: LabCredentials,
           settings: Settings, say: Progress) -> None:
    lab_dir = settings.lab_dir
    devices = journal.state.devices
    # A school's Instant APs live inside its controller's simulator: no namespace.
    _make_networks(journal, [d for d in devices if d.has_netns], say)
    simulated = [d for d in devices if d.kind in SIMULATED_KINDS]
    debian = [d for d in devices if d.kind is DeviceKind.DEBIAN_HOST]
    # Simulators and hosts need only the namespaces: start both at once (the
    # simulators' Python start-up is a second or so that the hosts' boots hide).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lab-sim") as pool:
        simulators = pool.submit(_start_simulators, journal, simulated, settings, credentials,
                                 say)
        try:
            _start_hosts(journal, debian, image, lab_dir, credentials, say)
        finally:
            simulators.exception()  # wait for it either way: teardown must see its pids
    simulators.result()
    if journal.state.spec.nodes:
        say(f"starting the lab's broker and {journal.state.spec.nodes} execution nodes")
        started = lab_nodes.start_broker_and_nodes(lab_dir,
                                                   lab_nodes.lab_nodes(journal.state.spec.nodes))
        journal.record(lambda s: s.processes.extend(started))


def _make_networks(journal: StateJournal, devices: Sequence[LabDevice], say: Progress) -> None:
    """The lab bridge and device namespaces; with execution nodes, each node's
    namespace holds its schools' bridge and the machine only reaches the nodes' WAN."""
    count = journal.state.spec.nodes
    nodes = lab_nodes.lab_nodes(count)

    def add_networks(s: LabState) -> None:
        s.netns.extend([*(n.netns for n in nodes), *(d.netns for d in devices)])
        s.veths.extend(d.veth_host for d in devices)

    if not count:
        say(f"creating bridge {netns.BRIDGE} and {len(devices)} network namespaces")
        journal.record(lambda s: setattr(s, "bridge", netns.BRIDGE))
        netns.ensure_bridge()
        journal.record(add_networks)
        netns.create_device_networks(devices)
        return
    say(f"creating the WAN, {count} execution node namespaces (each the only way to its "
        f"schools) and {len(devices)} device namespaces")
    journal.record(add_networks)
    lab_nodes.create_networks(nodes, devices,
                              lab_nodes.school_nodes(journal.state.spec.school_ids, count))


def _optional_module(name: str) -> ModuleType | None:
    """A sibling module written by another part of the project, if it exists yet."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def _start_simulators(journal: StateJournal, devices: Sequence[LabDevice], settings: Settings,
                      credentials: LabCredentials, say: Progress) -> None:
    if not devices:
        return
    module = _optional_module("provisioner.lab.simulators")
    if module is None:
        note = f"simulators not available yet: {len(devices)} switches/recorded APs skipped"
        say(note)
        journal.record(lambda s: s.notes.append(note))
        return
    say(f"starting {len(devices)} simulated switches, APs and WLAN controllers")
    started = module.start_simulators(devices, settings.lab_dir, credentials,
                                      cache_dir=settings.cache_dir)
    refs = [process_ref(pid, "simulator") for pid in started.pids]
    keys = dict(started.host_keys)

    def add_simulators(s: LabState) -> None:
        s.processes.extend(refs)
        s.host_keys.update(keys)

    journal.record(add_simulators)


def _start_hosts(journal: StateJournal, devices: Sequence[LabDevice], image: BaseImage,
                 lab_dir: Path, credentials: LabCredentials, say: Progress) -> None:
    if not devices:
        return
    runtime = journal.state.runtime
    if runtime == "auto" and shutil.which("systemd-nspawn") is None:
        say("systemd-nspawn not installed (apt-get install systemd-container): using chroot")
        runtime = "chroot"
    if runtime != "chroot":
        limits.ensure_inotify_instances(len(devices), say)
    say(f"starting {len(devices)} Debian hosts ({runtime})")
    workers = min(MAX_PARALLEL_STARTS, len(devices))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lab-host") as pool:
        futures = {d.name: pool.submit(_start_host, journal, d, image, lab_dir, credentials,
                                       runtime, say) for d in devices}
    failures = []
    for name, future in futures.items():
        exc = future.exception()
        if exc is not None:
            failures.append(f"{name}: {exc}")
    if failures:
        raise LabError(f"{len(failures)} of {len(devices)} hosts did not start ({failures[0]}"
                       f"{' ...' if len(failures) > 1 else ''}); see the logs in {lab_dir}/logs")


def _start_host(journal: StateJournal, device: LabDevice, image: BaseImage, lab_dir: Path,
                credentials: LabCredentials, runtime: str, say: Progress) -> None:
    paths = hosts.host_paths(lab_dir, device)
    _reset_host_dir(paths)
    journal.record(lambda s: s.mounts.append(str(paths.root)))
    hosts.mount_overlay(image, paths)
    host_key = hosts.write_host_files(paths.root, device, credentials)
    cgroup = device.netns
    journal.record(lambda s: s.cgroups.append(cgroup))
    procs = hosts.make_cgroup(cgroup)
    attempts = ["nspawn", "chroot"] if runtime == "auto" else [runtime]
    for attempt in attempts:
        ref = hosts.start_runtime(attempt, device, paths, image, procs)
        journal.record(partial(_add_process, ref=ref))
        try:
            hosts.wait_ready(ref)
        except LabError as exc:
            hosts.stop_runtime(ref, cgroup)
            if attempt == attempts[-1]:
                raise
            say(f"{device.name}: {exc}; trying the chroot runtime")
            continue
        record = HostRecord(name=device.name, address=device.address, runtime=attempt,
                            root=str(paths.root), cgroup=cgroup, host_key=host_key)
        journal.record(partial(_add_host, record=record))
        return


def _add_process(state: LabState, ref: ProcessRef) -> None:
    state.processes.append(ref)


def _add_host(state: LabState, record: HostRecord) -> None:
    state.hosts[record.name] = record
    state.host_keys[record.address] = record.host_key


def _reset_host_dir(paths: hosts.HostPaths) -> None:
    """Start every host from a clean upper dir (fresh keys, no state of an older lab)."""
    base = paths.root.parent
    if mounts_below(base):
        raise LabError(f"{base} is still mounted; run 'provision lab down' first")
    if base.exists():
        shutil.rmtree(base)
    paths.log.unlink(missing_ok=True)


def _finish(state: LabState, settings: Settings, credentials: LabCredentials,
            say: Progress) -> None:
    pin_host_keys(credentials.known_hosts, state.host_keys)
    module = _optional_module("provisioner.lab.inventory")
    if module is None:
        say("lab inventories not written: provisioner.lab.inventory is not available yet")
        return
    # All planned devices, also simulated ones not running yet: school numbering and
    # the inventories' shape must not depend on which parts of the lab are available.
    module.write_lab_inventories(state.devices, credentials, settings.lab_dir / "inventories",
                                 lab_nodes.school_nodes(state.spec.school_ids, state.spec.nodes))


def known_hosts_text(host_keys: dict[str, str]) -> str:
    """Pinned known_hosts lines `<address> <keytype> <key>` (plain, not hashed), sorted."""
    lines = []
    for address, line in sorted(host_keys.items()):
        fields = line.split()
        if len(fields) < 2:
            raise LabError(f"host key of {address} is not an OpenSSH public key line; "
                           "run 'provision lab down' and 'provision lab up'")
        lines.append(f"{address} {fields[0]} {fields[1]}")
    return "".join(line + "\n" for line in lines)


def pin_host_keys(path: Path, host_keys: dict[str, str]) -> None:
    """Replace the pinned known_hosts file with the lab's current host keys (mode 600)."""
    write_secret_file(path, known_hosts_text(host_keys))


def lab_down(settings: Settings, progress: Progress, *,
             keep_credentials: bool = False) -> DownSummary:
    """Remove the lab: everything its state file records and anything with its names.

    Works without a state file (or with a damaged one): then the lab's name prefixes
    and the mounts under the lab dir find what a crashed `lab up` left. Afterwards the
    lab dir holds nothing `lab up` made (host dirs, logs, simulator files with their
    host keys and saved switch configs, inventories, credentials); files of others stay.

    Args:
        settings: `lab_dir` is where the state file and host dirs are.
        progress: receives one-line progress messages.
        keep_credentials: keep the lab's credentials folder (for `lab_up`, which
            rebuilds a lab with the credentials it was given).

    Returns:
        Counts of what was removed.

    Raises:
        EnvironmentProblemError: not root.
        LabError: something could not be removed (run it again; it is idempotent).
    """
    require_root()
    say = _locked(progress)
    lab_dir = settings.lab_dir
    try:
        state = load_state(lab_dir)
    except LabError as exc:
        say(f"{exc}: removing by name only")
        state = None
    recorded = state.processes if state else []
    simulators = [p for p in recorded if p.role == "simulator"]
    known = {p.pid for p in simulators}
    simulators += _refs([pid for pid in find_lab_processes(lab_dir) if pid not in known])
    killed = lab_nodes.stop_processes([p for p in recorded if p.role in ("node", "broker")])
    killed += _stop_simulators(simulators, say)
    stopped = _stop_hosts([p for p in recorded if p.role in hosts.RUNTIMES], say)
    cgroups = sorted(set(hosts.list_cgroups(NETNS_PREFIX)) | set(state.cgroups if state else []))
    killed += sum(hosts.kill_cgroup(name) for name in cgroups)
    for ref in recorded:
        hosts.reap(ref.pid)  # runtimes this very process started, e.g. in tests
    unmounted = unmount_below(lab_dir, "remove the lab")
    lab_nodes.remove_wan()
    links, spaces = netns.remove_networks(state.netns if state else (),
                                          state.veths if state else ())
    removed_groups = sum(hosts.remove_cgroup(name) for name in cgroups)
    _remove_lab_files(lab_dir, keep_credentials)
    remove_state(lab_dir)
    with contextlib.suppress(OSError):
        lab_dir.rmdir()  # only if empty: a folder of the user's own stays
    summary = DownSummary(hosts_stopped=stopped, processes_killed=killed,
                          mounts_removed=unmounted, links_removed=links, netns_removed=spaces,
                          cgroups_removed=removed_groups, had_state=state is not None)
    return summary


def _remove_lab_files(lab_dir: Path, keep_credentials: bool) -> None:
    """Remove the files `lab up` made (after its processes and mounts are gone)."""
    module = _optional_module("provisioner.lab.simulators")
    if module is not None:
        module.remove_simulator_files(lab_dir)
    folders = [*LAB_FOLDERS, *([] if keep_credentials else [CREDENTIALS_FOLDER])]
    for name in folders:
        if (lab_dir / name).exists():
            shutil.rmtree(lab_dir / name)
    for name in LAB_FILES:
        (lab_dir / name).unlink(missing_ok=True)


def _stop_simulators(refs: Sequence[ProcessRef], say: Progress) -> int:
    """Let the simulators' module stop its processes, then end any survivor."""
    alive = [r for r in refs if is_alive(r)]
    if not alive:
        return 0
    module = _optional_module("provisioner.lab.simulators")
    if module is not None:
        say(f"stopping {len(alive)} simulator processes")
        module.stop_simulators([r.pid for r in alive])
    for ref in alive:
        hosts.terminate(ref)  # the survivors, or all when the module is missing
    return len(alive)


def _refs(pids: Sequence[int]) -> list[ProcessRef]:
    """References to leftover simulator processes that still run."""
    refs = []
    for pid in pids:
        try:
            refs.append(process_ref(pid, "simulator"))
        except LabError:
            continue  # it ended meanwhile
    return refs


def _stop_hosts(refs: Sequence[ProcessRef], say: Progress) -> int:
    alive = [r for r in refs if is_alive(r)]
    if not alive:
        return 0
    say(f"stopping {len(alive)} hosts")
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_STARTS, len(alive))) as pool:
        list(pool.map(lambda r: hosts.stop_runtime(r, NETNS_PREFIX + r.device), alive))
    return len(alive)


def lab_status(settings: Settings) -> LabState | None:
    """The recorded state of the lab, or None when no lab is recorded.

    Raises:
        LabError: the state file is damaged.
    """
    return load_state(settings.lab_dir)
