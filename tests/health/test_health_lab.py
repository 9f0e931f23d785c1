"""`provision health` on a small lab of real agents, through the CLI.

One lab for the module: a Debian server and a Debian AP (real net-snmp snmpd), the
simulated Cisco switch (the core) and six recorded devices put in with `lab up --device`:
Cisco C3750, Cisco C3560, HPE ProCurve, Aruba 7010, Aruba 7210, Ubiquiti M5.
Tests run in file order; each one that injects a fault undoes it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from prometheus_client.parser import text_string_to_metric_families

from provisioner.errors import ExitStatus
from provisioner.health.lock import health_lock, lock_path
from tests.health.recorded import RECORDINGS, expected_from_recording
from tests.lab.test_lab_e2e import Lab
from tests.labkit import lab_up

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]

PLAN = Path(__file__).parent.parent / "data" / "cli" / "plan-v1.csv"
SCHOOL = "100001"
SERVER, CORE, LINUX_AP = f"{SCHOOL}-srv01", f"{SCHOOL}-sw01", f"{SCHOOL}-ap01"


class HealthLab(Lab):
    def health(self, *args: str, inventories: Path | None = None) -> Result:
        return self.run("--inventories", str(inventories or self.inventories), *args)

    def report(self, *args: str, inventories: Path | None = None) -> tuple[int, dict[str, Any]]:
        result = self.health("--json", "health", "--timeout", "2", "--retries", "1", *args,
                             inventories=inventories)
        assert result.exit_code in (0, 10, 11, 12), result.output
        return result.exit_code, json.loads(result.output)


def by_device(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["device"]: d for d in report["devices"]}


def recorded_names(lab: HealthLab) -> dict[str, str]:
    """Recording path -> lab device name, from the lab's inventory."""
    hosts = yaml.safe_load((lab.inventories / SCHOOL / "hosts.yml").read_text())
    found: dict[str, str] = {}
    for group in hosts["all"]["children"].values():
        for name, hostvars in (group.get("hosts") or {}).items():
            if (hostvars or {}).get("snmp_recording"):
                found[hostvars["snmp_recording"]] = name
    return found


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HealthLab]:
    devices = [arg for path, role in RECORDINGS.items() for arg in ("--device", f"{path}:{role}")]
    with lab_up(HealthLab(tmp_path_factory.mktemp("health-lab")), PLAN, "--schools", "1",
                "--servers", "1", "--switches", "1", "--aps", "1", "--recorded-aps", "0",
                "--wlan-aps", "0", *devices) as the_lab:
        yield the_lab


def test_every_device_answers_and_each_vendor_is_parsed_from_its_recording(
        lab: HealthLab) -> None:
    _status, report = lab.report()
    devices = by_device(report)
    assert len(devices) == 3 + len(RECORDINGS)
    assert {d["failure"] for d in devices.values()} == {None}, devices
    recorded = {path: name for path, name in recorded_names(lab).items() if path in RECORDINGS}
    assert sorted(recorded) == sorted(RECORDINGS)
    for path, name in recorded.items():
        expected = expected_from_recording(path)
        summary = devices[name]["summary"]
        assert (summary["vendor"], summary["model"]) == (expected.vendor, expected.model), path
        assert devices[name]["wlan_clients"] == expected.clients, path
    for name in (SERVER, LINUX_AP):
        assert devices[name]["summary"]["vendor"] == "net-snmp"
        assert devices[name]["uptime_s"] is not None and devices[name]["uptime_s"] >= 0
        assert devices[name]["state"] in ("ok", "warning"), devices[name]
    # Every inventory uplink port is an interface of the switch, and it is up.
    port_findings = [r for d in devices.values() for r in d["reasons"] if "port " in r]
    assert port_findings == []
    school = report["schools"][0]
    assert not school["dead_site"]
    assert school["wlan_clients"] == sum(d["wlan_clients"] or 0 for d in devices.values())


def test_a_stopped_device_times_out_and_only_it(lab: HealthLab) -> None:
    assert lab.run("lab", "fault", SERVER, "stop").exit_code == 0
    try:
        status, report = lab.report()
    finally:
        assert lab.run("lab", "fault", SERVER, "start").exit_code == 0
    devices = by_device(report)
    assert (devices[SERVER]["state"], devices[SERVER]["failure"]) == ("unreachable", "timeout")
    assert status == ExitStatus.HEALTH_CRITICAL
    assert [n for n, d in devices.items() if d["failure"]] == [SERVER]


def _settled(device: dict[str, Any]) -> tuple[object, ...]:
    """What must not change between two runs of a device that is left alone."""
    summary = device["summary"]
    return (device["failure"], device["state"], device["wlan_clients"], summary.get("vendor"),
            summary.get("model"), summary.get("firmware"), summary.get("serial"))


def test_hostile_devices_fail_alone_and_every_other_result_stays_right(
        lab: HealthLab) -> None:
    # Twice: the first may still see what an earlier test did (a reboot warns once).
    lab.report()
    _status, before = lab.report()
    hostile = [LINUX_AP, recorded_names(lab)["network/wifi/ubiquiti-m5"]]
    for name in hostile:
        result = lab.run("lab", "fault", name, "hostile")
        assert result.exit_code == 0, result.output
        assert "is hostile" in result.output
    try:
        status, during = lab.report()
        text = lab.health("health", "--timeout", "1", "--retries", "1")
    finally:
        for name in hostile:
            assert lab.run("lab", "fault", name, "restore").exit_code == 0
    _status, after = lab.report()
    was, now, later = by_device(before), by_device(during), by_device(after)
    for name in hostile:
        assert (now[name]["state"], now[name]["failure"]) == ("unknown", "protocol")
        assert "could not be believed" in now[name]["reason"], now[name]
        assert any(line.startswith(f"{name} (") and "could not be believed" in line
                   for line in text.output.splitlines()), text.output
        assert later[name]["failure"] is None, later[name]
    assert status == ExitStatus.HEALTH_UNKNOWN
    others = [n for n in was if n not in hostile]
    assert len(others) == len(was) - 2
    for name in others:
        assert _settled(now[name]) == _settled(was[name]), name
        assert not any("SNMP:" in r for r in now[name]["reasons"]), now[name]


def test_a_device_unanswered_at_the_deadline_is_stale_not_dropped(lab: HealthLab) -> None:
    assert lab.run("lab", "fault", SERVER, "stop").exit_code == 0
    try:
        # Each request may take 5 s x 3 tries; the whole poll only 1 s.
        result = lab.health("--json", "health", "--deadline", "1", "--timeout", "5",
                            "--retries", "2")
    finally:
        assert lab.run("lab", "fault", SERVER, "start").exit_code == 0
    devices = by_device(json.loads(result.output))
    assert len(devices) == 3 + len(RECORDINGS)
    assert (devices[SERVER]["state"], devices[SERVER]["failure"]) == ("stale", "stale")


def test_a_wrong_snmpv3_passphrase_is_that_device_s_error(lab: HealthLab, tmp_path: Path) -> None:
    inventories = tmp_path / "inventories"
    shutil.copytree(lab.inventories, inventories)
    wrong = tmp_path / "wrong-auth"
    wrong.write_text("not-the-passphrase\n")
    host_vars = inventories / SCHOOL / "host_vars"
    host_vars.mkdir(exist_ok=True)
    (host_vars / f"{LINUX_AP}.yml").write_text(f"snmp_auth_file: {wrong}\n")
    _status, report = lab.report("--device", LINUX_AP, "--device", SERVER,
                                 inventories=inventories)
    devices = by_device(report)
    assert (devices[LINUX_AP]["state"], devices[LINUX_AP]["failure"]) == ("unknown", "auth")
    assert "credentials rejected" in devices[LINUX_AP]["reason"]
    assert devices[SERVER]["failure"] is None


def test_a_reboot_is_reported_on_the_next_run(lab: HealthLab) -> None:
    # Uptime counts whole seconds: sample until the switch has been up a few, so that a
    # reboot makes it lower (that is what the rule looks at).
    for _ in range(40):
        _status, before = lab.report("--device", CORE)
        if by_device(before)[CORE]["uptime_s"] >= 3:
            break
        time.sleep(0.25)
    assert by_device(before)[CORE]["uptime_s"] >= 3
    assert lab.run("lab", "fault", CORE, "reboot").exit_code == 0
    _status, report = lab.report("--device", CORE)
    reasons = by_device(report)[CORE]["reasons"]
    assert any(r.startswith("rebooted: uptime ") for r in reasons), reasons


def test_a_cut_school_is_one_dead_site_line(lab: HealthLab) -> None:
    assert lab.run("lab", "fault", "--school", SCHOOL, "cut").exit_code == 0
    try:
        result = lab.health("health", "--timeout", "1", "--retries", "0")
        _status, report = lab.report("--retries", "0")
    finally:
        assert lab.run("lab", "fault", "--school", SCHOOL, "restore").exit_code == 0
    assert result.exit_code == ExitStatus.HEALTH_CRITICAL
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{SCHOOL} DEAD SITE: core switch {CORE} does not answer")
    # One line for the site, none per device behind it.
    assert not any(line.startswith(f"{SCHOOL}-") for line in lines[1:-1]), lines
    assert report["dead_sites"] == [SCHOOL]
    behind = [d for n, d in by_device(report).items() if n != CORE]
    assert {(d["state"], d["failure"]) for d in behind} == {("unreachable", "upstream")}


def test_a_second_run_while_one_runs_is_refused(lab: HealthLab) -> None:
    with health_lock(lock_path(lab.db), "2026-11-30T02:30:00+00:00"):
        result = lab.health("health")
    assert result.exit_code == ExitStatus.ALREADY_RUNNING
    assert result.output == (
        f"Error: another health check is running (pid {os.getpid()} started "
        f"2026-11-30T02:30:00+00:00, lock {lock_path(lab.db)}); wait for it to finish, "
        "this run did not start\n")


def test_prometheus_file_parses_back(lab: HealthLab, tmp_path: Path) -> None:
    target = tmp_path / "provisioner.prom"
    result = lab.health("health", "--timeout", "1", "--prometheus", str(target))
    assert result.exit_code in (0, 10, 11, 12), result.output
    families = {f.name: f for f in text_string_to_metric_families(target.read_text())}
    up = {s.labels["device"]: s.value for s in families["provisioner_device_up"].samples}
    assert len(up) == 3 + len(RECORDINGS) and set(up.values()) == {1.0}
    assert families["provisioner_school_dead_site"].samples[0].labels == {"school": SCHOOL}
    assert families["provisioner_health_exit_status"].samples[0].value == result.exit_code


def test_history_and_school_show(lab: HealthLab) -> None:
    shown = lab.run("--json", "health", "show", "--school", SCHOOL)
    assert shown.exit_code == 0, shown.output
    history = json.loads(shown.output)
    assert len(history["runs"]) >= 5
    assert {s["device"] for s in history["samples"]} >= {SERVER, CORE, LINUX_AP}
    school = lab.run("school", "show", SCHOOL)
    assert school.exit_code == 0, school.output
    assert "health: " in school.output and "latest check" in school.output
