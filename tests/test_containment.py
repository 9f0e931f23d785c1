"""Nothing a run starts outlives it (provisioner/containment.py, provisioner/supervisor.py).

A "tool" process sets up a containment and starts a command under the supervisor, as
run_playbook does with ansible-playbook; the command leaves a daemon in a session of
its own (as mitogen's multiplexer and ssh's ControlPersist masters do). The processes
are found by a sleep time no other process uses, not by the containment's own means.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import provisioner
from provisioner.containment import (
    MARKER_ENV,
    RECORD,
    SCRATCH_PREFIX,
    contain,
    end,
    end_leftovers,
    join_cgroup,
    own_cgroup,
    remove_scratch,
)

TOOL = """
import os, subprocess, sys, time
from pathlib import Path
from provisioner.containment import contain
folder = Path(sys.argv[1])
containment = contain(folder)
subprocess.Popen(containment.supervised(["sh", "-c", sys.argv[2]]),
                 env={**os.environ, **containment.env()}, start_new_session=True)
time.sleep(600)
"""


def _with(token: str) -> list[int]:
    """Live `sleep TOKEN` processes."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "cmdline").read_bytes().endswith(b"sleep\0" + token.encode() + b"\0"):
                    state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
                    if state != "Z":
                        found.append(int(proc.name))
            except OSError:
                continue
    return found


def _gone(token: str, wait_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + wait_s
    while (left := _with(token)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def folder() -> Iterator[Path]:
    """A run folder anyone may use (the non-root case runs as nobody)."""
    path = Path(tempfile.mkdtemp(prefix="pv-contain-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def package_copy() -> Iterator[Path]:
    """A copy of the `provisioner` package anyone may read, for the run as `nobody`.

    This checkout and its venv are root's and may sit in a folder no one else can
    enter (a clone in a `mktemp -d` folder, or under /root); a real non-root admin
    runs their own. The containment needs the standard library only.
    """
    path = Path(tempfile.mkdtemp(prefix="pv-contain-py-"))
    path.chmod(0o755)
    shutil.copytree(Path(provisioner.__file__).parent, path / "provisioner",
                    ignore=shutil.ignore_patterns("__pycache__"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _tool(folder: Path, script: str, user: str | None,
          package_copy: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != MARKER_ENV}
    python = sys.executable
    as_user: list[str] = []
    if user:
        as_user = ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}",
                   "--clear-groups"]
        # The system's Python (the venv's base) and the package copy: both readable.
        python = os.path.realpath(sys.executable)
        env["PYTHONPATH"] = str(package_copy)
    return subprocess.Popen([*as_user, python, "-c", TOOL, str(folder), script],
                            env=env, start_new_session=True)


def _users() -> list[str | None]:
    if os.geteuid() != 0:
        return [None]  # this user: without a cgroup, by supervisor and marker
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return [None]
    return [None, "nobody"]  # root (with a cgroup), and a user without one


@pytest.mark.parametrize("user", _users())
def test_a_killed_tool_takes_every_process_of_its_run_along(folder: Path, user: str | None,
                                                            package_copy: Path) -> None:
    token = f"31{os.getpid() % 1000:03d}.1"
    # A daemon in a session of its own (re-parented when its shell ends), and a child;
    # a file in TMPDIR first, as mitogen's multiplexer leaves its socket there.
    script = f'touch "$TMPDIR/mux.sock"; (setsid sleep {token} &); sleep {token}'
    tool = _tool(folder, script, user, package_copy)
    try:
        deadline = time.monotonic() + 30
        while len(_with(token)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_with(token)) == 2
        scratch = Path(json.loads((folder / RECORD).read_text())["scratch"])
        assert (scratch / "mux.sock").exists()
    finally:
        tool.kill()  # kill -9 of the tool
        tool.wait()
    assert _gone(token) == []
    deadline = time.monotonic() + 10  # the supervisor removes the run's scratch folder
    while scratch.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not scratch.exists()
    cgroup = json.loads((folder / RECORD).read_text())["cgroup"]
    if cgroup:  # the supervisor, last of the run, removes the run's cgroup as it leaves
        deadline = time.monotonic() + 10
        while Path(cgroup).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(cgroup).exists()


def test_a_finished_command_leaves_nothing_and_its_exit_status_stays(folder: Path) -> None:
    token = f"32{os.getpid() % 1000:03d}.1"
    containment = contain(folder)
    script = f'test "$TMPDIR" = "{containment.scratch}" && (setsid sleep {token} &); exit 3'
    done = subprocess.run(containment.supervised(["sh", "-c", script]),
                          env={**os.environ, **containment.env()}, timeout=60, check=False)
    assert done.returncode == 3
    assert _gone(token, 1.0) == []
    assert containment.scratch is not None and not containment.scratch.exists()
    end(containment)


def test_a_signal_reaches_the_command_and_its_death_is_passed_on(folder: Path) -> None:
    token = f"33{os.getpid() % 1000:03d}.1"
    containment = contain(folder)
    proc = subprocess.Popen(containment.supervised(["sleep", token]),
                            env={**os.environ, **containment.env()})
    deadline = time.monotonic() + 30
    while not _with(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == -signal.SIGTERM
    assert _gone(token, 1.0) == []
    end(containment)


def test_the_next_start_ends_what_a_dead_runs_left_by_its_record(folder: Path) -> None:
    token = f"34{os.getpid() % 1000:03d}.1"
    wave = folder / "wave-1"
    wave.mkdir()
    containment = contain(wave)
    env = {k: v for k, v in os.environ.items() if k != MARKER_ENV}
    marked = subprocess.Popen(["sleep", token], env={**env, MARKER_ENV: str(wave)},
                              start_new_session=True)
    others = [marked]
    if containment.cgroup is not None:  # one the marker does not find: only in the cgroup
        unmarked = subprocess.Popen(["sleep", token], env=env, start_new_session=True)
        assert join_cgroup(containment.cgroup, unmarked.pid)
        others.append(unmarked)
    assert containment.scratch is not None
    (containment.scratch / "mitogen_unix_x.sock").touch()  # what the dead run left
    assert end_leftovers(folder) == len(others)
    assert [p.wait(10) for p in others] == [-signal.SIGKILL] * len(others)
    assert not containment.scratch.exists()
    assert end_leftovers(folder) == 0
    if containment.cgroup is not None:
        assert not containment.cgroup.exists()


def test_only_a_scratch_folder_of_this_user_is_removed(tmp_path: Path) -> None:
    # Its path is read from a file: a path that is not a run's scratch is left alone.
    other = tmp_path / "data"
    other.mkdir()
    assert not remove_scratch(other)
    link = tmp_path / f"{SCRATCH_PREFIX}link"
    link.symlink_to(other)
    assert not remove_scratch(link)
    assert other.exists() and link.is_symlink()
    scratch = tmp_path / f"{SCRATCH_PREFIX}abc"
    (scratch / "sub").mkdir(parents=True)
    if os.geteuid() == 0:
        os.chown(scratch, 65534, 65534)  # another user's folder of the same name
        assert not remove_scratch(scratch)
        os.chown(scratch, 0, 0)
    assert remove_scratch(scratch)
    assert not scratch.exists()


def test_own_cgroup_reads_v2_and_named_v1_lines() -> None:
    text = "9:name=systemd:/user.slice/s-1.scope\n4:memory:/m\n0::/system.slice/x.service\n"
    assert own_cgroup("", text) == "/system.slice/x.service"
    assert own_cgroup("name=systemd", text) == "/user.slice/s-1.scope"
    assert own_cgroup("", "4:memory:/m\n") is None
