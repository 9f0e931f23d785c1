"""Exit statuses, JSON shape, the Prometheus textfile (parsed back) and the lock."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from provisioner.errors import AlreadyRunningError, EnvironmentProblemError, ExitStatus
from provisioner.health.judge import school_health
from provisioner.health.lock import health_lock, lock_path
from provisioner.health.model import HealthReport, HealthState
from provisioner.health.prometheus import escape, render, write_textfile
from provisioner.models import Role
from provisioner.results import FailureKind
from provisioner.terminal import to_json
from tests.health.factories import health


def report(*devices: object, dead: str = "") -> HealthReport:
    members = list(devices)
    schools = [school_health("100001", members, dead, {Role.ACCESS_POINT: 4})]  # type: ignore[arg-type]
    return HealthReport(7, "2026-11-30T02:00:00+00:00", "2026-11-30T02:00:04+00:00", 4.25,
                        300.0, members, schools)  # type: ignore[arg-type]


@pytest.mark.parametrize(("states", "status"), [
    ((HealthState.OK, HealthState.OK), ExitStatus.OK),
    ((HealthState.OK, HealthState.WARNING), ExitStatus.HEALTH_WARNING),
    # Not read, so not vouched for: never passed as warnings by a nightly job.
    ((HealthState.OK, HealthState.STALE), ExitStatus.HEALTH_UNKNOWN),
    ((HealthState.UNKNOWN,), ExitStatus.HEALTH_UNKNOWN),
    ((HealthState.WARNING, HealthState.UNKNOWN), ExitStatus.HEALTH_UNKNOWN),
    ((HealthState.UNKNOWN, HealthState.CRITICAL), ExitStatus.HEALTH_CRITICAL),
    ((HealthState.WARNING, HealthState.CRITICAL), ExitStatus.HEALTH_CRITICAL),
    ((HealthState.OK, HealthState.UNREACHABLE), ExitStatus.HEALTH_CRITICAL),
])
def test_exit_status_for_cron(states: tuple[HealthState, ...], status: ExitStatus) -> None:
    devices = [health(f"d{n}", s) for n, s in enumerate(states)]
    assert report(*devices).exit_status is status


def test_a_device_not_read_by_choice_is_a_warning_not_exit_12() -> None:
    # `snmp: false`, or a WLAN controller behind an execution node: unknown, but
    # nothing to fix, so the nightly job does not fail on it every night.
    skipped = health("vc1", HealthState.UNKNOWN, failure=FailureKind.SKIPPED)
    assert report(health("d1", HealthState.OK), skipped).exit_status \
        is ExitStatus.HEALTH_WARNING
    refused = health("ap1", HealthState.UNKNOWN, failure=FailureKind.AUTH)
    assert report(skipped, refused).exit_status is ExitStatus.HEALTH_UNKNOWN


@pytest.mark.parametrize(("states", "failure", "school_state", "status"), [
    # The school's word and the exit status agree: what could not be read outranks a
    # warning, and a device not read by choice weighs as a warning.
    ((HealthState.WARNING, HealthState.UNKNOWN), FailureKind.AUTH,
     HealthState.UNKNOWN, ExitStatus.HEALTH_UNKNOWN),
    ((HealthState.WARNING, HealthState.STALE), FailureKind.STALE,
     HealthState.STALE, ExitStatus.HEALTH_UNKNOWN),
    ((HealthState.OK, HealthState.UNKNOWN), FailureKind.SKIPPED,
     HealthState.WARNING, ExitStatus.HEALTH_WARNING),
    ((HealthState.STALE, HealthState.UNKNOWN), FailureKind.SKIPPED,
     HealthState.STALE, ExitStatus.HEALTH_UNKNOWN),
    ((HealthState.UNKNOWN, HealthState.UNREACHABLE), FailureKind.UNREACHABLE,
     HealthState.UNREACHABLE, ExitStatus.HEALTH_CRITICAL),
])
def test_the_school_line_names_what_the_exit_status_counts(
        states: tuple[HealthState, HealthState], failure: FailureKind,
        school_state: HealthState, status: ExitStatus) -> None:
    first, second = states
    devices = [health("d1", first, failure=FailureKind.AUTH if first is HealthState.UNKNOWN
                      else FailureKind.STALE if first is HealthState.STALE else None),
               health("d2", second, failure=failure)]
    result = report(*devices)
    [school] = result.schools
    assert (school.state, result.exit_status) == (school_state, status)
    assert school.line().startswith(f"100001 {school_state.value}: ")


def test_a_dead_site_is_critical_even_when_no_device_is() -> None:
    assert report(health("d1", HealthState.STALE), dead="core down").exit_status \
        is ExitStatus.HEALTH_CRITICAL


def test_json_report_shape() -> None:
    data = json.loads(to_json(report(
        health("100001-sw01", HealthState.OK),
        health("100001-ap01", HealthState.UNREACHABLE, role=Role.ACCESS_POINT,
               failure=FailureKind.UPSTREAM, uplink="100001-sw01"),
        health("100001-ap02", HealthState.OK, role=Role.ACCESS_POINT, clients=11)).as_dict()))
    assert data["exit_status"] == 11
    assert data["states"] == {"ok": 2, "warning": 0, "critical": 0, "unreachable": 1,
                              "stale": 0, "unknown": 0}
    ap = data["devices"][1]
    assert (ap["state"], ap["failure"], ap["uplink"], ap["reason"]) == (
        "unreachable", "upstream", "100001-sw01", "why")
    [school] = data["schools"]
    assert school["wlan_clients"] == 11
    assert school["line"] == ("100001 unreachable: switches 1/1 online, 1 ok, "
                              "APs 1/2 online, 1 ok (plan 4), WLAN clients 11")


def test_prometheus_file_parses_back_with_every_metric() -> None:
    text = render(report(health("100001-sw01", HealthState.OK),
                         health('odd"name\\x', HealthState.CRITICAL, role=Role.ACCESS_POINT,
                                clients=3)), 1_795_000_000.0)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    up = {s.labels["device"]: s.value for s in families["provisioner_device_up"].samples}
    assert up == {"100001-sw01": 1.0, 'odd"name\\x': 1.0}
    state = {(s.labels["device"], s.labels["state"]): s.value
             for s in families["provisioner_device_state"].samples}
    assert state[("100001-sw01", "ok")] == 1.0 and state[("100001-sw01", "critical")] == 0.0
    assert state[('odd"name\\x', "critical")] == 1.0
    assert [s.value for s in families["provisioner_wlan_clients"].samples] == [3.0]
    assert families["provisioner_school_dead_site"].samples[0].value == 0.0
    assert families["provisioner_health_run_duration_seconds"].samples[0].value == 4.25
    assert families["provisioner_health_last_run_timestamp_seconds"].samples[0].value \
        == 1_795_000_000.0
    assert families["provisioner_health_exit_status"].samples[0].value == 11.0
    assert {f.type for f in families.values()} == {"gauge"}


def test_label_escaping() -> None:
    assert escape('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_textfile_is_replaced_atomically(tmp_path: Path) -> None:
    target = tmp_path / "provisioner.prom"
    target.write_text("old\n")
    write_textfile(target, "provisioner_x 1\n")
    assert target.read_text() == "provisioner_x 1\n"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["provisioner.prom"]


def test_textfile_in_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblemError, match=r"cannot write into .*missing"):
        write_textfile(tmp_path / "missing" / "p.prom", "x 1\n")


def test_second_holder_of_the_lock_is_refused(tmp_path: Path) -> None:
    path = lock_path(tmp_path / "state.db")
    assert path.name == "state.db.health.lock"
    with health_lock(path, "2026-11-30T02:00:00+00:00"):
        with pytest.raises(AlreadyRunningError) as caught, health_lock(path):
            pass
        message = str(caught.value)
        assert f"pid {os.getpid()} started 2026-11-30T02:00:00+00:00" in message
        assert "another health check is running" in message
        assert caught.value.exit_status == ExitStatus.ALREADY_RUNNING
    with health_lock(path):  # released on exit
        pass


def test_online_counts_only_devices_that_answered_believably() -> None:
    devices = [
        health("ap-ok", HealthState.OK, role=Role.ACCESS_POINT),
        # Its agent refused our passphrase: there, answering, not judged.
        health("ap-auth", HealthState.UNKNOWN, role=Role.ACCESS_POINT, failure=FailureKind.AUTH),
        # Forged or broken replies from its address: nothing says it is the device.
        health("ap-lies", HealthState.UNKNOWN, role=Role.ACCESS_POINT,
               failure=FailureKind.PROTOCOL),
        # Its controller refused the login: the AP itself was never seen.
        replace(health("ap-iap", HealthState.UNKNOWN, role=Role.ACCESS_POINT,
                       failure=FailureKind.AUTH), controller="vc01"),
    ]
    summary = school_health("100001", devices, "", {Role.ACCESS_POINT: 4})
    assert "APs 2/4 online, 1 ok (plan 4)" in summary.line()
