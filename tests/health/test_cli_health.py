"""`provision health` refusals that need no agent: the lock, nothing synced, bad options."""

from __future__ import annotations

import os
from pathlib import Path

from provisioner.errors import ExitStatus
from provisioner.health.lock import health_lock, lock_path
from tests.conftest import Invoke


def test_a_second_run_exits_at_once_with_9(invoke: Invoke, cli_env: Path) -> None:
    db = cli_env / "state.db"
    with health_lock(lock_path(db), "2026-11-30T02:30:00+00:00"):
        result = invoke("health", db=db)
    assert result.exit_code == ExitStatus.ALREADY_RUNNING
    assert result.output == (
        f"Error: another health check is running (pid {os.getpid()} started "
        f"2026-11-30T02:30:00+00:00, lock {lock_path(db)}); wait for it to finish, "
        "this run did not start\n")


def test_nothing_synced_is_a_clear_error(invoke: Invoke) -> None:
    result = invoke("health")
    assert result.exit_code == ExitStatus.NOT_FOUND
    assert result.output == ("Error: no devices are synced; run 'provision inventory sync' "
                             "first\n")


def test_deadline_must_be_positive(invoke: Invoke) -> None:
    result = invoke("health", "--deadline", "0")
    assert result.exit_code == ExitStatus.USAGE
    assert "--deadline" in result.output


def test_unwritable_prometheus_folder_is_refused_before_polling(invoke: Invoke,
                                                                cli_env: Path) -> None:
    result = invoke("health", "--prometheus", str(cli_env / "missing" / "p.prom"))
    assert result.exit_code == ExitStatus.USAGE
    assert "missing" in result.output
