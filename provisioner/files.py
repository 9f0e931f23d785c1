"""Files written so that a reader, a crash or a second writer never sees them half done.

One place for the three shapes the project needs again and again:

- `write_atomic`: replace a file whole (temporary file beside it, then rename), created
  with its final mode before the first byte, so a secret is never readable by others;
- `locked`: an exclusive `flock` on a lock file for a block (the kernel drops it when the
  process dies, however it dies, so no stale lock is ever left);
- `publish_dir`: build a folder under a temporary name and rename it into place, under
  a lock, so concurrent builders build it once and readers see it complete or not at all.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

_BUILD_PREFIX = ".build-"


def write_atomic(path: Path, data: str | bytes, mode: int = 0o644, *, sync: bool = False) -> None:
    """Replace `path` with `data` atomically: readers see the old file or the new one whole.

    The temporary file sits beside the target (same file system, so the rename is atomic)
    and is created with `mode` before anything is written to it.

    Args:
        path: the file to replace (its folder must exist).
        data: text (written as UTF-8) or bytes.
        mode: the file's permission bits, whatever the umask.
        sync: fsync the data before the rename (for files that must survive a power loss).

    Raises:
        OSError: the folder is missing or not writable (no temporary file is left).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # an older leftover of the same name kept its mode
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def locked(lock_file: Path, *, blocking: bool = True) -> Iterator[None]:
    """Hold an exclusive `flock` on `lock_file` (created 0600 if missing) for the block.

    Raises:
        BlockingIOError: `blocking` is False and another process holds the lock.
        OSError: the lock file cannot be created.
    """
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        yield
    finally:
        os.close(fd)  # closing releases the lock


def publish_dir(target: Path, build: Callable[[Path], None], *, mode: int = 0o755) -> bool:
    """Make folder `target` once: built by `build` into a temporary folder beside it, then
    renamed into place. Concurrent callers wait for the first; a crashed build leaves only
    a temporary folder, removed by the next build.

    `target`'s existence means complete: readers need no lock. Never change it afterwards
    (make a new one under another name).

    Args:
        target: the folder to make; its parent is created.
        build: fills the (empty, existing) folder it is given.
        mode: the folder's permission bits.

    Returns:
        Whether this call built it (False: it was there already).

    Raises:
        Whatever `build` raises (its partial folder is removed), or OSError.
    """
    if target.is_dir():
        return False
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    with locked(parent / f".{target.name}.lock"):
        if target.is_dir():
            return False
        for stale in parent.glob(f"{_BUILD_PREFIX}{target.name}.*"):
            shutil.rmtree(stale, ignore_errors=True)  # a builder that died mid-way
        staging = parent / f"{_BUILD_PREFIX}{target.name}.{os.getpid()}"
        staging.mkdir()
        try:
            build(staging)
            staging.chmod(mode)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return True
