"""Aruba Instant in the platform registry: a WLAN controller platform with every capability."""

from __future__ import annotations

import json

from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.platforms import PlatformKind, get_platform


def test_provision_platforms_lists_the_controller_with_its_capabilities() -> None:
    result = CliRunner().invoke(cli, ["platforms", "--json"])
    assert result.exit_code == 0, result.output
    row = next(r for r in json.loads(result.output) if r["platform"] == "aruba_instant")
    assert row["kind"] == "wlan_controller"
    assert row["capabilities"] == {"provision": True, "check mode": True, "verify": True,
                                   "health": True, "lab simulator": True}
    platform = get_platform("instant")
    assert platform.kind is PlatformKind.WLAN_CONTROLLER
    assert platform.ansible is not None and platform.ansible.role == "wlan_controller"
    assert platform.ansible.tasks_file().is_file()
    assert platform.read_back is not None and platform.read_back.transport == "https"
    plain = CliRunner().invoke(cli, ["platforms"])
    assert any(line.split()[:7] == ["aruba_instant", "wlan_controller", "yes", "yes",
                                    "yes", "yes", "yes"]
               for line in plain.output.splitlines()), plain.output
