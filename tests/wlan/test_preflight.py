"""Preflight of WLAN controllers (TLS against the pinned certificate, no login) and of the
APs behind them, against the simulator on loopback."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from provisioner.lab import wlan_lab
from provisioner.models import Device, Role
from provisioner.provision.preflight import (
    Preflight,
    check_device,
    follow_controllers,
)
from provisioner.results import AggregatedResult, FailureKind
from provisioner.wlan.instant_api import certificate_fingerprint
from tests.wlan.conftest import Controller, controller_device, free_port


def _controller(c: Controller, **changes: object) -> Device:
    device = Device("100001", "100001-vc01", Role.WLAN_CONTROLLER, "aruba_instant",
                    "127.0.0.1", vars={"controller_user": "admin",
                                       "controller_password_file": str(c.access.password_file),
                                       "controller_cert_file": str(c.access.cert_file),
                                       "controller_port": c.access.port})
    device.vars.update(changes)
    return device


AP = Device("100001", "100001-iap01", Role.ACCESS_POINT, "aruba_instant", "127.0.0.21",
            vars={"controller": "100001-vc01"})


def test_a_controller_is_ready_when_it_presents_the_pinned_certificate(
        controller: Controller, tmp_path: Path) -> None:
    ready = check_device(_controller(controller), tmp_path / "known_hosts", 5.0)
    assert ready.ok and ready.data is not None
    assert ready.data.fingerprint == certificate_fingerprint(
        controller.access.cert_file.read_text())
    assert not controller.log.exists()  # no login, no request: a handshake only
    # An AP configured through its controller has nothing of its own to check.
    through = check_device(AP, tmp_path / "known_hosts", 5.0)
    assert through.ok and through.message == "configured through its controller 100001-vc01"


def test_another_certificate_a_missing_password_and_an_unknown_platform_block_it(
        controller: Controller, tmp_path: Path) -> None:
    other, _key = wlan_lab.certificate(tmp_path, controller_device())
    cases = [
        (_controller(controller, controller_cert_file=str(other)),
         FailureKind.HOST_KEY_CHANGED, "is not the one pinned in"),
        (_controller(controller, controller_password_file=str(tmp_path / "none")),
         FailureKind.CONFIG, "missing or unreadable"),
        (_controller(controller, controller_user=""), FailureKind.CONFIG,
         "controller_user is missing"),
        (replace(_controller(controller), platform="lancom_wlc"), FailureKind.CONFIG,
         "'lancom_wlc' is not one the tool knows"),
        (_controller(controller, controller_port=free_port()), FailureKind.UNREACHABLE,
         "does not answer"),
    ]
    for device, kind, message in cases:
        blocked = check_device(device, tmp_path / "known_hosts", 5.0)
        assert (blocked.failure, message in blocked.message) == (kind, True), blocked


def test_aps_behind_a_failed_controller_are_held_back_too(controller: Controller,
                                                        tmp_path: Path) -> None:
    silent = _controller(controller, controller_port=free_port())
    # The controller in the run: its verdict is copied to its APs.
    results: Preflight = AggregatedResult.of("preflight", [
        check_device(d, tmp_path / "known_hosts", 5.0) for d in (silent, AP)])
    followed = follow_controllers(results, [silent, AP], [silent, AP])
    assert followed[AP.name].failure is FailureKind.UNREACHABLE
    assert followed[AP.name].message.startswith(
        "100001-iap01: its controller 100001-vc01 is not ready: 100001-vc01: 127.0.0.1 port")
    # The controller outside the run (--limit access_points): checked once here.
    alone: Preflight = AggregatedResult.of("preflight", [check_device(AP, tmp_path, 5.0)])
    assert not follow_controllers(alone, [AP], [silent, AP])[AP.name].ok
    fine: Preflight = AggregatedResult.of("preflight", [check_device(AP, tmp_path, 5.0)])
    assert follow_controllers(fine, [AP], [_controller(controller), AP])[AP.name].ok
