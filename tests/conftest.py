from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner.cli import cli

DATA = Path(__file__).parent / "data"

Invoke = Callable[..., Result]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated home for the CLI: its own database, config and data dirs."""
    for var in ("PROVISIONER_DB", "PROVISIONER_INVENTORIES", "PROVISIONER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SUDO_USER", "anna")
    yield tmp_path


@pytest.fixture
def invoke(cli_env: Path) -> Invoke:
    """Run `provision --db <tmp> ARGS...` in-process; returns click's Result."""
    runner = CliRunner()

    def run(*args: str, db: Path | None = None) -> Result:
        return runner.invoke(cli, ["--db", str(db or cli_env / "state.db"), *args],
                             catch_exceptions=False)

    return run
