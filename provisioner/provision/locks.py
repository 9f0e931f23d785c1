"""One provisioning run per school at a time, and ending what a dead run left behind.

The lock is an `flock` on a file per school in the data dir: the kernel drops it
when the process ends however it ends (also kill -9), so a dead run never blocks
the next one. The run row in the database says which run holds it; a row still
"running" whose process is gone (pid not alive, or alive with another start time,
i.e. reused) belongs to a dead run. The next start, holding the lock, ends every
process that run left (provisioner/containment.py), removes the environment from its
ansible-runner files, and marks it interrupted, before anything touches the school.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType

from provisioner.ansible import scrub_command_files
from provisioner.containment import end_leftovers
from provisioner.db.runs import RunLog
from provisioner.errors import AlreadyRunningError
from provisioner.files import locked
from provisioner.outcome import RunStatus

KIND = "provision"


def process_start_time(pid: int) -> int | None:
    """When a process started, in clock ticks since boot (/proc/PID/stat field 22), or None
    when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its end.
    return int(stat.rsplit(")", 1)[1].split()[19])


def run_is_alive(pid: int | None, started: int | None) -> bool:
    """Whether the process that recorded a run still runs (same pid, same start time)."""
    if pid is None:
        return False
    now_started = process_start_time(pid)
    return now_started is not None and (started is None or now_started == started)


def gone_runs(runs: RunLog, school_id: str | None = None) -> set[int]:
    """Runs recorded as running whose process is gone (killed with -9, power loss): the
    next start of their school records them interrupted; until then a listing must not
    show them as running."""
    return {run_id for run_id, pid, started in runs.running(KIND, school_id)
            if not run_is_alive(pid, started)}


@contextmanager
def school_lock(lock_dir: Path, school_id: str, runs: RunLog) -> Iterator[list[int]]:
    """Hold school `school_id`'s provisioning lock for the block.

    Entering also ends what runs of the school that are recorded as running but whose
    process is gone left behind, and marks them interrupted; the block receives their ids.

    Raises:
        AlreadyRunningError: another process provisions the school now.
        EnvironmentProblemError: a dead run's file holding the environment can be
            neither scrubbed nor deleted.
    """
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with ExitStack() as held:
        try:
            held.enter_context(locked(lock_dir / f"school-{school_id}.lock", blocking=False))
        except BlockingIOError as exc:
            raise _busy(school_id, runs) from exc
        yield reap_dead_runs(runs, school_id)


def _busy(school_id: str, runs: RunLog) -> AlreadyRunningError:
    live = [(run_id, pid) for run_id, pid, started in runs.running(KIND, school_id)
            if run_is_alive(pid, started)]
    which = f" (run {live[-1][0]}, process {live[-1][1]})" if live else ""
    return AlreadyRunningError(
        f"school {school_id} is being provisioned right now{which}; wait for it to end "
        "(see 'provision runs --school " + school_id + "') and start again"
    )


def reap_dead_runs(runs: RunLog, school_id: str) -> list[int]:
    """End what the school's runs recorded as running left behind (processes, the
    environment in their files) and mark them interrupted; their ids.

    Called with the school's lock held: no live process provisions the school, so a
    row still "running" belongs to a process that died (kill -9, power loss).

    Raises:
        EnvironmentProblemError: a file holding the environment can be neither scrubbed
            nor deleted.
    """
    dead = []
    for run_id, pid, started in runs.running(KIND, school_id):
        how = ("is gone" if not run_is_alive(pid, started)
               else "lost its lock (its pid was reused)")
        folder = runs.get(run_id).artifacts
        ended = 0
        if folder:
            ended = end_leftovers(Path(folder))
            scrub_command_files(Path(folder))
        left = (f"; it ended the {ended} process{'' if ended == 1 else 'es'} the run had "
                "left running" if ended else "")
        runs.finish(run_id, RunStatus.INTERRUPTED, f"process {pid} {how} without finishing the "
                    f"run; noticed by the next start{left}")
        dead.append(run_id)
    return dead


class Cancellation:
    """A stop request: set by SIGINT/SIGTERM while `signals()` is active, or by `cancel()`."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name = ""

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the run to stop."""
        self.signal_name = self.signal_name or reason
        self._event.set()

    def __call__(self) -> bool:
        """Whether a stop was asked for (ansible-runner's cancel_callback)."""
        return self._event.is_set()

    @contextmanager
    def signals(self) -> Iterator[None]:
        """Turn SIGINT and SIGTERM into a stop request for the block (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(number: int, _frame: FrameType | None) -> None:
            self.cancel(signal.Signals(number).name)

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for number, old in previous.items():
                signal.signal(number, old)
