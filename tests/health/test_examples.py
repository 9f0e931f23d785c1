"""The cron and systemd examples call `provision health` with options it really has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from provisioner.cli import cli
from provisioner.cli import health as health_cli

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def _cron_command() -> list[str]:
    lines = [line for line in (EXAMPLES / "cron" / "provisioner-health").read_text().splitlines()
             if line and not line.startswith("#") and "=" not in line.split()[0]]
    [entry] = lines
    fields = entry.split(None, 6)  # minute hour dom month dow user command
    assert fields[5] == "provisioner"
    return shlex.split(fields[6].split(">>")[0])


def _systemd_command() -> list[str]:
    text = (EXAMPLES / "systemd" / "provisioner-health.service").read_text()
    match = re.search(r"^ExecStart=(.*?)(?<!\\)$", text.replace("\\\n", " "), re.MULTILINE)
    assert match is not None
    return shlex.split(match.group(1))


@pytest.mark.parametrize("command", [_cron_command(), _systemd_command()],
                         ids=["cron", "systemd"])
def test_example_command_parses(command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # The Prometheus folder exists on the server, not on this machine.
    monkeypatch.setattr(health_cli.os, "access", lambda *_args: True)
    assert command[0].endswith("/provision")
    at = command.index("health")
    # The global options before the command, then the health options after it.
    ctx = cli.make_context("provision", [*command[1:at], "audit"])
    assert {"db", "inventories"} <= {k for k, v in ctx.params.items() if v is not None}
    group = cli.commands["health"]
    assert isinstance(group, click.Group)
    sub = group.make_context("health", command[at + 1:], parent=ctx)
    assert sub.params["deadline"] == 1500.0
    assert str(sub.params["prometheus"]).endswith(".prom")


def test_timer_runs_nightly_and_catches_up() -> None:
    timer = (EXAMPLES / "systemd" / "provisioner-health.timer").read_text()
    assert "OnCalendar=*-*-* 02:30:00" in timer and "Persistent=true" in timer
    service = (EXAMPLES / "systemd" / "provisioner-health.service").read_text()
    assert "SuccessExitStatus=10\n" in service
    assert "flock" not in _systemd_command() and "flock" not in _cron_command()
