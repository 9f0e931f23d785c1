"""`provision lab` commands that need no running lab: listings and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.errors import ExitStatus
from tests.conftest import Invoke

pytest.importorskip("snmpsim_data", reason="the lab extras (snmpsim-data) are not installed")


def test_recordings_lists_each_with_its_recorded_sysdescr(invoke: Invoke) -> None:
    result = invoke("--json", "lab", "recordings")
    assert result.exit_code == 0, result.output
    rows = {row["recording"]: row for row in json.loads(result.output)}
    assert rows["network/switch/hpe-procurve-516733-b21"]["sys_descr"].startswith(
        "ProCurve 516733-B21 6120XG Blade Switch, revision Z.14.31")
    assert rows["network/wifi/aruba-7210"]["sys_object_id"] == "1.3.6.1.4.1.14823.1.1.32"
    assert len(rows) > 100


def test_recordings_as_a_table(invoke: Invoke) -> None:
    lines = invoke("lab", "recordings").output.splitlines()
    assert lines[0].split() == ["recording", "sysObjectID", "sysDescr"]
    aruba = next(line for line in lines if line.startswith("network/wifi/aruba-7010 "))
    assert "ArubaOS (MODEL: Aruba7010)" in aruba


@pytest.mark.parametrize(("device", "message"), [
    ("network/switch/hpe-procurve:switch",
     "no snmpsim-data recording 'network/switch/hpe-procurve': did you mean "
     "network/switch/hpe-procurve-516733-b21"),
    ("network/switch/cisco-c3560:router", "unknown role 'router' in "),
    ("network/switch/cisco-c3560", "names no role: write RECORDING:ROLE"),
])
def test_a_bad_device_is_refused_before_anything_is_made(
        invoke: Invoke, cli_env: Path, device: str, message: str) -> None:
    result = invoke("lab", "up", "--device", device)
    assert result.exit_code == ExitStatus.USAGE
    assert message in result.output
    assert "Invalid value for '--device'" in result.output
    assert not (cli_env / "data" / "provisioner" / "lab").exists()


def test_fault_without_a_lab_is_one_clear_line(invoke: Invoke) -> None:
    result = invoke("lab", "fault", "100001-srv01", "stop")
    assert result.exit_code == ExitStatus.ENVIRONMENT
    assert result.output == "Error: no lab is running; start one with 'provision lab up'\n"


@pytest.mark.parametrize(("args", "message"), [
    (["100001-srv01"], "give DEVICE ACTION with ACTION one of stop, start, rekey, reboot"),
    (["100001-srv01", "explode"], "give DEVICE ACTION with ACTION one of"),
    (["--school", "100001", "stop"], "with --school give one ACTION: cut or restore"),
    (["--school", "100001"], "with --school give one ACTION: cut or restore"),
])
def test_fault_usage_errors_say_what_to_write(invoke: Invoke, args: list[str],
                                              message: str) -> None:
    result = invoke("lab", "fault", *args)
    assert result.exit_code == ExitStatus.USAGE
    assert f"Error: {message}" in result.output
