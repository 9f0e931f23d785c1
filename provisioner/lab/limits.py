"""Kernel limits the lab's systemd hosts need: inotify instances.

Every systemd-nspawn host runs systemd, dbus and logind, which take about eight
inotify instances between them. All hosts run as root in the machine's user
namespace, so they share one per-user limit, `fs.inotify.max_user_instances`
(Debian's default is 128, see inotify(7)): past about 15 hosts systemd fails its
units with "Too many open files", the host misses the readiness wait and the lab
fell back to the chroot runtime, where the playbooks' systemd units cannot run.
kind and LXD document the same fix: raise the limit before starting containers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import EnvironmentProblemError

MAX_USER_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
# Measured: 22 booted Debian 12 hosts held 178 instances (systemd 134, dbus 22,
# logind 22); ten per host leaves room for a unit that watches a path.
INSTANCES_PER_HOST = 10
# What the machine's own services and a test run beside the lab hold.
HEADROOM = 256


@dataclass(frozen=True)
class InotifyLimit:
    """The limit before and after `ensure_inotify_instances` (equal when unchanged)."""

    before: int
    after: int
    in_use: int

    @property
    def raised(self) -> bool:
        return self.after > self.before


def inotify_instances_in_use(proc: Path = Path("/proc")) -> int:
    """How many inotify instances all processes hold now (their fds on anon_inode:inotify).

    Processes that end while being read, or whose fds cannot be read, are left out.
    """
    count = 0
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == "anon_inode:inotify":
                    count += 1
            except OSError:
                continue
    return count


def needed_instances(hosts: int, in_use: int) -> int:
    """The limit that `hosts` more systemd hosts need beside `in_use` instances."""
    return in_use + INSTANCES_PER_HOST * hosts + HEADROOM


def ensure_inotify_instances(hosts: int, say: Callable[[str], None],
                             limit_file: Path = MAX_USER_INSTANCES,
                             in_use: int | None = None) -> InotifyLimit:
    """Raise `fs.inotify.max_user_instances` so `hosts` more systemd hosts can boot.

    Never lowers it. Says what it changed through `say`.

    Raises:
        EnvironmentProblemError: the limit is too low and cannot be written (a
            container without access to /proc/sys); names the sysctl to set.
    """
    current = int(limit_file.read_text().strip())
    used = inotify_instances_in_use() if in_use is None else in_use
    needed = needed_instances(hosts, used)
    if current >= needed:
        return InotifyLimit(before=current, after=current, in_use=used)
    try:
        limit_file.write_text(f"{needed}\n")
    except OSError as exc:
        raise EnvironmentProblemError(
            f"fs.inotify.max_user_instances is {current}, {hosts} lab hosts need {needed} "
            f"and it cannot be raised here ({exc.strerror}): run "
            f"`sysctl -w fs.inotify.max_user_instances={needed}` on the machine, "
            "or start fewer hosts") from exc
    say(f"raised fs.inotify.max_user_instances from {current} to {needed} "
        f"({hosts} systemd hosts; to keep it: echo fs.inotify.max_user_instances={needed} "
        "> /etc/sysctl.d/60-provisioner-lab.conf)")
    return InotifyLimit(before=current, after=needed, in_use=used)
