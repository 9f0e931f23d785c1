"""A switch's open `network_cli` session, found again without a helper process per task.

ansible-core starts its persistent connection helper before **every** task on a
`network_cli` host (`ansible.executor.task_executor.start_connection`): a new Python
that runs `ansible-connection`, imports Ansible (about 0.6 CPU s) and, for every task
after a host's first, only finds the socket of the process that already holds the
switch's SSH session and hands it the task's options and play context. On the lab's
two cores those helpers were 12.7 of the 61 CPU s a re-run of one school took on the
controller (docs/benchmarks.md, "where the CPU goes").

`start_connection` here does that second part in the worker, which has Ansible
imported already: the same socket path, under the same lock, the same three calls
(`set_options`, `update_play_context`, `set_check_prompt`), the same messages shown.
A host's first task, and any task whose socket file is gone, still goes to
ansible-core's own `start_connection`, which forks the process that holds the session.
A socket file whose process has died fails the task, as with ansible-core's helper. So the
session, its host key checking, its timeouts and its end with `ansible-playbook` are
ansible-core's, unchanged.

Follows ansible-core 2.19's `ansible/cli/scripts/ansible_connection_cli_stub.py`
(`main()`, the "found existing local domain socket" branch) and
`ansible/executor/task_executor.py` (`start_connection`). `install()` replaces the
function only on 2.19 (pyproject.toml pins it); on any other version ansible-core's
own is left in place. Loaded by the tool's strategy plugins (strategy/).
"""

from __future__ import annotations

import fcntl
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.executor import task_executor
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.connection import Connection
from ansible.plugins.loader import connection_loader
from ansible.release import __version__ as ansible_version
from ansible.utils.display import Display
from ansible.utils.path import unfrackpath

FOLLOWS = "2.19."
"""The ansible-core series whose helper this module does the work of."""

# JSON-RPC "method not found": only network_cli has update_play_context and
# set_check_prompt; the helper takes its absence as no error (netconf, httpapi).
_NO_SUCH_METHOD = -32601

display = Display()
_ansible_start_connection: Callable[..., str] = task_executor.start_connection


def install() -> bool:
    """Make ansible-core's workers use `start_connection`; True if installed.

    Idempotent. Call in the `ansible-playbook` process before it forks workers (a
    strategy plugin's import does). Leaves ansible-core alone (False) on any series
    but FOLLOWS.
    """
    if not ansible_version.startswith(FOLLOWS):
        return False
    task_executor.start_connection = start_connection
    return True


def socket_path(play_context: Any, playbook_pid: int) -> str:
    """The socket of a host's persistent connection: the helper's own naming (a hash
    of address, port, user, connection and the `ansible-playbook` process)."""
    ssh = connection_loader.get("ssh", class_only=True)
    pattern = ssh._create_control_path(  # the helper's own call
        play_context.remote_addr, play_context.port, play_context.remote_user,
        play_context.connection, str(playbook_pid))
    return str(unfrackpath(pattern % {"directory": unfrackpath(C.PERSISTENT_CONTROL_PATH_DIR)}))


def start_connection(play_context: Any, options: dict[str, Any], task_uuid: str) -> str:
    """The socket path of the host's persistent connection, as ansible-core's
    `start_connection` returns it (same arguments).

    Raises:
        AnsibleError: the open session refused the task's options or play context
            (the task fails on that host, as with ansible-core's helper).
    """
    # The worker's parent is ansible-playbook: the pid ansible-core hands its helper.
    path = socket_path(play_context, os.getppid())
    if os.path.exists(path):
        with _file_lock(f"{os.path.dirname(path)}/.ansible_pc_lock_{os.path.basename(path)}"):
            if os.path.exists(path):
                _hand_over(Connection(path), play_context, options, task_uuid)
                return path
    return _ansible_start_connection(play_context, options, task_uuid)


def _hand_over(conn: Any, play_context: Any, options: dict[str, Any], task_uuid: str) -> None:
    """What the helper sends an open session for a new task, and its messages shown."""
    try:
        conn.set_options(direct=options)
        try:
            # The helper sends the pickled play context as text, and so do we.
            conn.update_play_context(to_text(pickle.dumps(play_context.serialize())))
            conn.set_check_prompt(task_uuid)
        except Exception as exc:  # the helper's own test: only "no such method" is fine
            if getattr(exc, "code", None) != _NO_SUCH_METHOD:
                raise
    except Exception as exc:  # the helper turns every failure into the task's error
        _show(_queued(conn), play_context.remote_addr)
        raise AnsibleError(
            f"{play_context.remote_addr}: the network_cli session of this switch did not "
            f"take the task (it ended, or refused the task's options): {exc}") from exc
    _show(_queued(conn), play_context.remote_addr)


def _queued(conn: Any) -> list[tuple[str, str]]:
    """The session's queued messages; none when the session cannot be asked."""
    try:
        return list(conn.pop_messages())
    except Exception:  # a session that is gone has nothing more to say
        return []


def _show(messages: list[tuple[str, str]], host: str) -> None:
    """Display the session's queued messages as ansible-core's start_connection does."""
    for level, message in messages:
        if level == "log":
            display.display(message, log_only=True)
        elif level in ("debug", "v", "vv", "vvv", "vvvv", "vvvvv", "vvvvvv"):
            getattr(display, level)(message, host=host)
        elif hasattr(display, level):
            getattr(display, level)(message)
        else:
            display.vvvv(message, host=host)


@contextmanager
def _file_lock(lock_path: str) -> Iterator[None]:
    """The helper's lock on a host's socket (`file_lock` in its stub)."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        os.close(fd)
