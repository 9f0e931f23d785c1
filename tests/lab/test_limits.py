"""Raising the inotify limit before systemd hosts boot (provisioner/lab/limits.py)."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import pytest

from provisioner.errors import EnvironmentProblemError
from provisioner.lab import limits


def _limit_file(tmp_path: Path, value: int) -> Path:
    path = tmp_path / "max_user_instances"
    path.write_text(f"{value}\n")
    return path


def test_a_low_limit_is_raised_for_the_hosts_and_what_is_in_use(tmp_path: Path) -> None:
    path = _limit_file(tmp_path, 128)
    said: list[str] = []
    result = limits.ensure_inotify_instances(48, said.append, limit_file=path, in_use=40)
    needed = 40 + 48 * limits.INSTANCES_PER_HOST + limits.HEADROOM
    assert (result.before, result.after, result.raised) == (128, needed, True)
    assert path.read_text().strip() == str(needed)
    assert said == [said[0]] and "from 128 to" in said[0] and "sysctl.d" in said[0]


def test_a_high_enough_limit_is_never_lowered(tmp_path: Path) -> None:
    path = _limit_file(tmp_path, 65536)
    said: list[str] = []
    result = limits.ensure_inotify_instances(48, said.append, limit_file=path, in_use=40)
    assert not result.raised and result.after == 65536
    assert path.read_text().strip() == "65536" and said == []


class _ReadOnlyLimit(type(Path())):  # type: ignore[misc]
    """A limit file whose write fails as /proc/sys does in a container (root too)."""

    def write_text(self, *_args: object, **_kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")


def test_a_limit_that_cannot_be_raised_names_the_sysctl(tmp_path: Path) -> None:
    path = _ReadOnlyLimit(_limit_file(tmp_path, 128))
    with pytest.raises(EnvironmentProblemError,
                       match=r"is 128, 30 lab hosts need 556 and it cannot be raised here "
                             r"\(Permission denied\): run `sysctl -w "
                             r"fs.inotify.max_user_instances=556`"):
        limits.ensure_inotify_instances(30, lambda _: None, limit_file=path, in_use=0)
    assert path.read_text().strip() == "128"


def test_instances_in_use_counts_inotify_fds_of_this_process() -> None:
    before = limits.inotify_instances_in_use()
    libc = ctypes.CDLL(None, use_errno=True)
    fds = [libc.inotify_init() for _ in range(3)]
    try:
        assert all(fd >= 0 for fd in fds)
        assert limits.inotify_instances_in_use() >= before + 3
    finally:
        for fd in fds:
            os.close(fd)
