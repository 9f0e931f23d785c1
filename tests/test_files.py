"""Atomic writes, locks and folders published whole (provisioner/files.py)."""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest

from provisioner.files import locked, publish_dir, write_atomic


def test_write_atomic_replaces_whole_with_its_mode_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_text("old")
    target.chmod(0o644)
    old_umask = os.umask(0)
    try:
        write_atomic(target, "new text", 0o600)
    finally:
        os.umask(old_umask)
    assert target.read_text() == "new text"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret"]


def test_write_atomic_into_a_missing_folder_raises_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "file", b"data")
    assert list(tmp_path.iterdir()) == []


def test_a_held_lock_refuses_a_second_holder_until_released(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with locked(lock), pytest.raises(BlockingIOError), locked(lock, blocking=False):
        pass
    with locked(lock, blocking=False):
        pass


def _build_slowly(log: Path, staging: Path) -> None:
    with log.open("a") as handle:
        handle.write(f"{os.getpid()}\n")
    (staging / "part-1").write_text("1")
    time.sleep(0.3)  # a second builder arrives meanwhile
    (staging / "part-2").write_text("2")


def _publish(target: str, log: str) -> None:
    publish_dir(Path(target), lambda staging: _build_slowly(Path(log), staging))
    # Whoever returns sees the folder complete.
    assert sorted(p.name for p in Path(target).iterdir()) == ["part-1", "part-2"]


def test_concurrent_builders_build_once_and_all_see_it_complete(tmp_path: Path) -> None:
    target, log = tmp_path / "cache" / "set-1", tmp_path / "builds"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_publish, args=(str(target), str(log))) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert len(log.read_text().split()) == 1
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert [p.name for p in target.parent.iterdir() if p.is_dir()] == ["set-1"]


def test_a_failed_build_leaves_nothing_and_a_crashed_ones_folder_is_cleared(
        tmp_path: Path) -> None:
    target = tmp_path / "set-2"
    crashed = tmp_path / ".build-set-2.99999"  # a builder killed mid-way left this
    crashed.mkdir()
    (crashed / "half").write_text("")

    def fail(staging: Path) -> None:
        (staging / "part").write_text("")
        raise RuntimeError("build step failed")

    with pytest.raises(RuntimeError):
        publish_dir(target, fail)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []
    assert publish_dir(target, lambda staging: (staging / "ok").write_text("")) is True
    assert publish_dir(target, lambda staging: pytest.fail("built twice")) is False
    assert [p.name for p in target.iterdir()] == ["ok"]
