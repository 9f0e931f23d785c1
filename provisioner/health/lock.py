"""One health check at a time per database: an advisory lock file beside the database.

cron and a person at the keyboard may start `provision health` at the same moment; the
second must not poll every device again nor interleave samples. The lock is `flock` on
`<db>.health.lock`: the kernel drops it when the holder exits, even when killed, so no
stale lock is ever left to clean up (no extra `flock(1)` needed in cron lines). A
provisioning run takes another lock and may go on meanwhile.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from provisioner.errors import AlreadyRunningError, EnvironmentProblemError


def lock_path(db: Path) -> Path:
    """The lock file of the health checks writing into database `db`."""
    return db.with_name(db.name + ".health.lock")


def _holder(handle: int) -> str:
    os.lseek(handle, 0, os.SEEK_SET)
    text = os.read(handle, 200).decode("utf-8", "replace").strip()
    return text or "unknown"


@contextmanager
def health_lock(path: Path, started_at: str = "") -> Iterator[None]:
    """Hold the health lock at `path` for the duration of the block.

    Args:
        path: the lock file (see `lock_path`); created if missing.
        started_at: written into the file with this process id, to name the holder.

    Raises:
        AlreadyRunningError: another process holds it; this one did not start.
        EnvironmentProblemError: the lock file cannot be created.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise EnvironmentProblemError(
            f"health lock {path} cannot be created ({exc.strerror}); check the folder "
            "of --db is writable") from exc
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise AlreadyRunningError(
                f"another health check is running ({_holder(handle)}, lock {path}); "
                "wait for it to finish, this run did not start") from exc
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"pid {os.getpid()} started {started_at}".strip().encode(), 0)
        yield
    finally:
        os.close(handle)
