"""`python -m provisioner.supervisor -- COMMAND...`: COMMAND, and nothing it starts outlives
the tool that started the supervisor.

ansible-runner starts it (through the run's `ansible-playbook` wrapper) in place of
ansible-playbook. It

- asks the kernel for SIGUSR2 when its parent, the tool, dies (PR_SET_PDEATHSIG), and
  leaves at once if the tool is already gone;
- becomes a child subreaper (PR_SET_CHILD_SUBREAPER): a process of the run whose parent
  ends (mitogen's multiplexer, an ssh ControlPersist master, an ansible-connection
  daemon) is re-parented to it, not to init, so it is still below it;
- joins the run's cgroup if there is one (provisioner/containment.py);
- runs COMMAND as its child, passing on SIGINT, SIGTERM and SIGQUIT;
- when COMMAND ends: asks what is left of the run to end (SIGTERM, then SIGKILL after
  a grace) and exits as COMMAND did;
- when the tool dies: kills everything of the run (SIGKILL, no grace: a run must not
  go on changing devices without its tool) and exits.

Runs with nothing but the standard library and provisioner.containment, and prints
nothing: its output is the playbook's.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence
from contextlib import suppress

from provisioner.containment import (
    TOOL_PID_ENV,
    Containment,
    descendants,
    join_cgroup,
    kill_until_gone,
    leave_cgroup,
    remove_cgroup,
    remove_scratch,
    run_pids,
)

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
TOOL_DIED = signal.SIGUSR2
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)
WATCHED = {signal.SIGCHLD, TOOL_DIED, *FORWARDED}
GRACE_S = 3.0
_CHECK_S = 1.0


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


class Supervisor:
    """One supervised command and the run it belongs to."""

    def __init__(self, containment: Containment | None, tool_pid: int) -> None:
        self.containment = containment
        self.tool_pid = tool_pid
        self.child = 0

    def tool_gone(self) -> bool:
        """Whether the tool that started us has died (we were re-parented)."""
        return self.tool_pid > 0 and os.getppid() != self.tool_pid

    def start(self, argv: Sequence[str]) -> None:
        """Fork and exec the command, with default signals and a death signal of its own."""
        pid = os.fork()
        if pid == 0:  # the child: single-threaded parent, so fork is safe
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, set())
                for signum in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores these
                    signal.signal(signum, signal.SIG_DFL)
                _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                os.execvp(argv[0], list(argv))
            finally:
                os._exit(127)
        self.child = pid

    def ours(self) -> set[int]:
        """Every process of the run still there (this one excepted)."""
        pids = descendants(os.getpid())
        if self.containment is not None:
            pids |= run_pids(self.containment)
        pids.discard(os.getpid())
        return pids

    def reap(self) -> int | None:
        """Collect every ended child (orphans of the run included); the command's wait
        status once it has ended, else None."""
        status = None
        while True:
            try:
                pid, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return status
            if pid == 0:
                return status
            if pid == self.child:
                status, self.child = code, 0

    def end_run(self, grace: float) -> None:
        """End what is left of the run: SIGTERM with `grace` seconds first, then SIGKILL."""
        if grace > 0:
            kill_until_gone(self.ours, signal.SIGTERM, timeout=grace, reap=self.reap)
        kill_until_gone(self.ours, signal.SIGKILL, reap=self.reap)
        self.reap()

    def wait(self) -> int | None:
        """Wait for the command to end (its wait status) or the tool to die (None)."""
        while True:
            info = signal.sigtimedwait(WATCHED, _CHECK_S)
            if info is None or info.si_signo == TOOL_DIED:
                if info is not None or self.tool_gone():
                    return None
            elif info.si_signo == signal.SIGCHLD:
                status = self.reap()
                if status is not None:
                    return status
            elif self.child:
                with suppress(ProcessLookupError):
                    os.kill(self.child, info.si_signo)


def _exit_as(status: int) -> int:
    """Exit as a command with wait status `status` did (re-raising its signal)."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
        os.kill(os.getpid(), signum)
        return 128 + signum
    return os.WEXITSTATUS(status)


def supervise(argv: Sequence[str], containment: Containment | None, tool_pid: int) -> int:
    """Run `argv` supervised (see the module doc); the exit status to leave with."""
    signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
    _prctl(PR_SET_PDEATHSIG, TOOL_DIED)
    supervisor = Supervisor(containment, tool_pid)
    group = containment.cgroup if containment is not None else None
    if supervisor.tool_gone():  # died before the death signal was asked for
        if group is not None:
            remove_cgroup(group)  # made for this run by the tool, and empty
        return 1
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    if group is not None:
        join_cgroup(group)
    status: int | None = None
    try:
        supervisor.start(argv)
        status = supervisor.wait()
    finally:
        # The tool gone (status None): no grace. Else the play is over: a short one.
        supervisor.end_run(GRACE_S if status is not None else 0.0)
        if group is not None:
            leave_cgroup(group)
        if containment is not None and containment.scratch is not None:
            remove_scratch(containment.scratch)  # nothing of the run is left to use it
    return 1 if status is None else _exit_as(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `python -m provisioner.supervisor -- COMMAND [ARGS...]`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m provisioner.supervisor -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    tool_pid = int(os.environ.get(TOOL_PID_ENV, "0") or 0)
    return supervise(args, Containment.from_env(os.environ), tool_pid)


if __name__ == "__main__":
    sys.exit(main())
