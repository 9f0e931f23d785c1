"""Every process a playbook run starts ends with the run, however deep and in whatever session.

ansible-playbook is not the only process of a run: mitogen forks a connection
multiplexer into a session of its own, OpenSSH daemonizes its ControlPersist masters,
network_cli keeps `ansible-connection` daemons. None of them is a child of the tool, so
a signal to ansible-playbook, or the kernel's parent-death signal, never reaches them;
after a `kill -9` of the tool they went on, beside the next run of the school.

A run is contained three ways, each enough on its own where it works:

1. **A cgroup of its own** (root, or a user whose cgroup is delegated to it): made
   below the tool's own cgroup (cgroup v2, the hybrid layout's v2 tree, or the v1
   `name=systemd` tree), every descendant stays in it whatever it forks or setsids.
2. **A marker in the environment**: `PROVISIONER_RUN=<the run's folder>` is inherited
   by every process of the run (read back from /proc/PID/environ, as root or as the
   same user).
3. **A supervisor between ansible-runner and ansible-playbook**
   (`provisioner.supervisor`): a child subreaper, so orphans of the run are re-parented
   to it rather than to init, with a parent-death signal: when the tool dies, however
   it dies, it kills everything of the run and leaves.

Without root and without a delegated cgroup the run is contained by 2 and 3 only; a
process that both clears its environment and escapes the supervisor (it would have to
be re-parented past it) is then out of reach.

`end` ends what is left of a run when it returns; `end_leftovers` does it for a run
whose tool died, from the record each run leaves in its folder (locks.py calls it
before anything else touches the school).

Files go the same way. A run's processes write temporary files on this machine:
mitogen's multiplexer its Unix socket, Ansible the payloads of modules it runs
here. A killed run used to leave them in the system's temporary folder, where nothing
ever removed them. Each run gets a private scratch folder as TMPDIR (short, so that
Unix socket paths stay under their 107 bytes), recorded with the run. `end`, the
supervisor, or a later `end_leftovers` removes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

MARKER_ENV = "PROVISIONER_RUN"
TOOL_PID_ENV = "PROVISIONER_RUN_TOOL_PID"
CGROUP_ENV = "PROVISIONER_RUN_CGROUP"
SCRATCH_ENV = "PROVISIONER_RUN_SCRATCH"
SCRATCH_PREFIX = "provisioner-run-"
RECORD = "contained.json"
CGROUP_PREFIX = "provisioner-run-"
SUPERVISOR_MODULE = "provisioner.supervisor"
CGROUP_FS = Path("/sys/fs/cgroup")
_POLL_S = 0.05
KILL_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Containment:
    """How one run's processes are found.

    Attributes:
        marker: the value of PROVISIONER_RUN every process of the run carries (the
            run's folder, absolute: unique per run and database).
        cgroup: the run's cgroup folder, or None where none could be made.
        scratch: the run's private temporary folder (its processes' TMPDIR), or None.
    """

    marker: str
    cgroup: Path | None
    scratch: Path | None = None

    def env(self) -> dict[str, str]:
        """The environment the run's first process gets (it names this process as the tool)."""
        env = {MARKER_ENV: self.marker, TOOL_PID_ENV: str(os.getpid()),
               CGROUP_ENV: str(self.cgroup or "")}
        if self.scratch is not None:
            env.update({SCRATCH_ENV: str(self.scratch), "TMPDIR": str(self.scratch)})
        return env

    def supervised(self, argv: Iterable[str]) -> list[str]:
        """`argv` run under the supervisor (provisioner/supervisor.py)."""
        return [sys.executable, "-m", SUPERVISOR_MODULE, "--", *argv]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Containment | None:
        """The containment a process of a run was started in, or None (not in a run)."""
        marker = env.get(MARKER_ENV, "")
        if not marker:
            return None
        cgroup, scratch = env.get(CGROUP_ENV, ""), env.get(SCRATCH_ENV, "")
        return cls(marker, Path(cgroup) if cgroup else None, Path(scratch) if scratch else None)


def contain(folder: Path) -> Containment:
    """Set up the containment of a run whose files live in `folder`; records it there.

    The cgroup is made where this process may make one, else the run goes without.
    The scratch folder is made in the system's temporary folder (mode 0700).
    """
    marker = os.path.abspath(folder)
    digest = hashlib.sha256(marker.encode()).hexdigest()[:16]
    scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    containment = Containment(marker, make_cgroup(CGROUP_PREFIX + digest), scratch)
    record = {"marker": marker, "cgroup": str(containment.cgroup or ""), "scratch": str(scratch)}
    (folder / RECORD).write_text(json.dumps(record), encoding="utf-8")
    return containment


def _read_record(path: Path) -> Containment | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        # Records of runs before the scratch folder have no "scratch".
        scratch = str(data.get("scratch") or "")
        return Containment(str(data["marker"]), Path(data["cgroup"]) if data["cgroup"] else None,
                           Path(scratch) if scratch else None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def remove_scratch(path: Path) -> bool:
    """Remove a run's scratch folder and what is in it; whether it was removed.

    Only a real folder (not a link) named like one `contain` makes and owned by this
    process's user is touched: the path comes from a file, and removing is not undone.
    """
    if not path.name.startswith(SCRATCH_PREFIX):
        return False
    try:
        info = path.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()


# cgroups -----------------------------------------------------------------------------

def _hierarchy() -> tuple[Path, str] | None:
    """The cgroup tree to track runs in and how /proc/self/cgroup names it: cgroup v2,
    the hybrid layout's v2 tree, or the v1 tree systemd names (`name=systemd`)."""
    if (CGROUP_FS / "cgroup.controllers").exists():
        return CGROUP_FS, ""
    if (CGROUP_FS / "unified" / "cgroup.procs").exists():
        return CGROUP_FS / "unified", ""
    if (CGROUP_FS / "systemd" / "cgroup.procs").exists():
        return CGROUP_FS / "systemd", "name=systemd"
    return None


def own_cgroup(controllers: str, text: str) -> str | None:
    """This process's cgroup path in the tree whose /proc/PID/cgroup line names
    `controllers` ("" for v2's `0::PATH`), from that file's text."""
    for line in text.splitlines():
        number, _, rest = line.partition(":")
        names, _, path = rest.partition(":")
        if (controllers == "" and number == "0" and names == "") or (
                controllers and controllers in names.split(",")):
            return path
    return None


def make_cgroup(name: str) -> Path | None:
    """Make cgroup `name` below this process's own cgroup; None where that is not possible
    (no cgroup tree, no permission, or a cgroup namespace whose mount does not match)."""
    found = _hierarchy()
    if found is None:
        return None
    root, controllers = found
    try:
        path = own_cgroup(controllers, Path("/proc/self/cgroup").read_text(encoding="utf-8"))
        if path is None:
            return None
        base = root / path.lstrip("/")
        if str(os.getpid()) not in (base / "cgroup.procs").read_text(encoding="ascii").split():
            return None  # the mounted tree is not the one our namespace sees
        group = base / name
        group.mkdir(exist_ok=True)
        return group
    except OSError:
        return None


def join_cgroup(group: Path, pid: int = 0) -> bool:
    """Move a process (default: this one) into a cgroup; whether it worked."""
    try:
        (group / "cgroup.procs").write_text(str(pid or os.getpid()), encoding="ascii")
        return True
    except OSError:
        return False


def cgroup_pids(group: Path) -> set[int]:
    """The processes in a cgroup and its children (empty when it is gone)."""
    pids: set[int] = set()
    for procs in [group / "cgroup.procs", *group.glob("**/cgroup.procs")]:
        with suppress(OSError, ValueError):
            pids.update(int(p) for p in procs.read_text(encoding="ascii").split())
    return pids


def remove_cgroup(group: Path) -> None:
    """Remove an emptied cgroup (children first); one still in use stays."""
    for sub in sorted((p for p in group.glob("**/") if p != group), key=lambda p: -len(p.parts)):
        with suppress(OSError):
            sub.rmdir()
    with suppress(OSError):
        group.rmdir()


def leave_cgroup(group: Path) -> None:
    """Move this process back to the cgroup above `group`, then remove `group` if empty."""
    join_cgroup(group.parent)
    remove_cgroup(group)


# processes -----------------------------------------------------------------------------

def marked_pids(marker: str) -> set[int]:
    """Processes whose environment carries PROVISIONER_RUN=`marker` or a folder below it
    (those this process may read: all as root, its user's own otherwise)."""
    wanted = f"{MARKER_ENV}={marker}".encode()
    below = f"{MARKER_ENV}={marker.rstrip('/')}/".encode()
    found = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:
            continue
        if any(item == wanted or item.startswith(below) for item in environ):
            found.add(int(entry.name))
    return found


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{entry.name}/stat").read_text(encoding="utf-8")
                parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    return parents


def descendants(pid: int) -> set[int]:
    """Every process below `pid` in the process tree (children, theirs, ...)."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found: set[int] = set()
    todo = list(children.get(pid, []))
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


def run_pids(containment: Containment) -> set[int]:
    """Every process of the run this process can find (never this process itself)."""
    pids = marked_pids(containment.marker)
    if containment.cgroup is not None:
        pids |= cgroup_pids(containment.cgroup)
    pids.discard(os.getpid())
    return pids


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return True  # gone
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def kill_until_gone(find: Callable[[], set[int]], signum: int = signal.SIGKILL,
                    timeout: float = KILL_TIMEOUT_S, reap: Callable[[], object] | None = None,
                    ) -> set[int]:
    """Signal what `find` returns until it returns nothing alive or `timeout` passes.

    Args:
        find: the processes to end, asked again each round (new ones are caught too).
        signum: the signal to send (each round).
        timeout: seconds to keep trying.
        reap: called each round to collect exit statuses of this process's own children.

    Returns:
        Every process signalled.
    """
    signalled: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        if reap is not None:
            reap()
        alive = {pid for pid in find() if not _is_zombie(pid)}
        if not alive or time.monotonic() > deadline:
            return signalled
        for pid in alive:
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)
        signalled |= alive
        time.sleep(_POLL_S)


def end(containment: Containment) -> int:
    """End every process of a run that is still there, then remove its cgroup and scratch
    folder; how many processes there were.

    Safe to call for a run that left nothing (0).
    """
    group = containment.cgroup
    there = {pid for pid in run_pids(containment) if not _is_zombie(pid)}
    if there and group is not None and (group / "cgroup.kill").exists():
        with suppress(OSError):  # one atomic kill of the whole tree (Linux 5.14+)
            (group / "cgroup.kill").write_text("1", encoding="ascii")
    ended = there | kill_until_gone(lambda: run_pids(containment))
    if group is not None:
        remove_cgroup(group)
    if containment.scratch is not None:  # nothing of the run is left to write there
        remove_scratch(containment.scratch)
    return len(ended)


def end_leftovers(folder: Path) -> int:
    """End whatever runs whose files are in `folder` (or one level below) left running;
    how many processes that was. For a run whose tool died: call it before anything
    else touches what the run worked on."""
    marker = os.path.abspath(folder)
    records = [folder / RECORD, *sorted(folder.glob(f"*/{RECORD}"))]
    found = [c for c in map(_read_record, records) if c is not None]
    # Anything of the run not recorded (a record is written before its run starts).
    found.append(Containment(marker, None))
    return sum(end(containment) for containment in found)
