"""Reading a controller back: its APs known, up, beaming the SSIDs; strangers named;
and the health check's verdicts through it."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from provisioner.health.controllers import through_controllers
from provisioner.health.model import DeviceHealth, HealthState
from provisioner.inventory.profile import network_profile
from provisioner.lab import wlan_lab
from provisioner.models import Device, Role
from provisioner.results import FailureKind
from provisioner.wlan.apply import Secrets, plan, send
from provisioner.wlan.instant_api import InstantSession
from provisioner.wlan.instant_cli import parse_running_config
from provisioner.wlan.profile import wlan_profile
from provisioner.wlan.readback import (
    ap_problems,
    ap_view,
    profile_differences,
    read_controller,
    unknown_aps,
)
from tests.wlan.conftest import APS, PSK, RADIUS_KEY, Controller, free_port

NETWORK: dict[str, Any] = network_profile(1)["school_network"]


def _provision(controller: Controller) -> None:
    with InstantSession(controller.access) as session:
        config = parse_running_config(session.show("show running-config"))
        send(session, plan(wlan_profile(NETWORK), config, Secrets(PSK, RADIUS_KEY)).changes)


def _fault(controller: Controller, **faults: Any) -> None:
    time.sleep(0.01)  # a new mtime: the simulator reads the file again
    controller.faults.write_text(json.dumps({"100001-vc01": faults}))


def _controller(c: Controller, port: int | None = None) -> Device:
    return Device("100001", "100001-vc01", Role.WLAN_CONTROLLER, "aruba_instant", "127.0.0.1",
                  vars={"controller_user": "admin",
                        "controller_password_file": str(c.access.password_file),
                        "controller_cert_file": str(c.access.cert_file),
                        "controller_port": port or c.access.port, "snmp": False,
                        "school_network": NETWORK})


def _ap(name: str, address: str, **extra: Any) -> Device:
    return Device("100001", name, Role.ACCESS_POINT, "aruba_instant", address,
                  serial=extra.pop("serial", wlan_lab.ap_serial(name)),
                  vars={"controller": "100001-vc01", "mac": wlan_lab.ap_mac(name),
                        "snmp": False, **extra})


APS_INVENTORY = [_ap(n, a) for n, a in APS]


def test_provisioned_controller_and_its_aps_read_back(controller: Controller) -> None:
    profile = wlan_profile(NETWORK)
    snapshot = read_controller(controller.access)
    assert profile_differences(profile, snapshot.config) == [
        "auth-server radius1 missing", *(f"SSID profile {s.name!r} missing"
                                         for s in profile.ssids)]
    _provision(controller)
    snapshot = read_controller(controller.access)
    assert profile_differences(profile, snapshot.config) == []
    for ap in APS_INVENTORY:
        view = ap_view(snapshot, ap)
        assert view.known and view.up and view.ssids == {s.essid for s in profile.ssids}
        assert ap_problems(view, profile, "100001-vc01") == []
        assert set(view.clients) == {(s.essid, band) for s in profile.ssids
                                     for band in ("2.4 GHz", "5 GHz")}
    assert unknown_aps(snapshot, APS_INVENTORY) == []


def test_down_unknown_and_foreign_aps(controller: Controller) -> None:
    _provision(controller)
    _fault(controller, aps_down=["100001-iap02"], unknown_ap=True)
    snapshot = read_controller(controller.access)
    down = ap_view(snapshot, APS_INVENTORY[1])
    assert down.known and not down.up  # its MAC is still an allowed-ap
    assert ap_problems(down, wlan_profile(NETWORK), "100001-vc01") == [
        "down: its controller 100001-vc01 knows it but it is not in the cluster"]
    stranger = _ap("100001-iap99", "127.0.0.50", serial="CNX0NOTHERE", mac="aa:aa:aa:aa:aa:aa")
    assert not ap_view(snapshot, stranger).known
    assert unknown_aps(snapshot, APS_INVENTORY) == [
        "100001-fremd (serial CNX0FREMD0, address 127.0.0.99)"]


def _not_polled(device: Device) -> DeviceHealth:
    return DeviceHealth(device.name, device.school_id, device.role, device.address,
                        HealthState.UNKNOWN, ("not polled",), FailureKind.CONFIG)


def test_health_per_ap_up_down_and_clients_per_ssid_and_radio(controller: Controller) -> None:
    _provision(controller)
    _fault(controller, aps_down=["100001-iap02"], unknown_ap=True)
    devices = [_controller(controller), *APS_INVENTORY]
    judged, down = through_controllers([_not_polled(d) for d in devices], devices, 5.0)
    by_name = {h.device: h for h in judged}
    vc = by_name["100001-vc01"]
    assert vc.state is HealthState.WARNING and vc.failure is None and vc.wlan_clients is None
    assert vc.reasons == ("AP 100001-fremd (serial CNX0FREMD0, address 127.0.0.99) is in its "
                          "cluster but not in the inventory",)
    up = by_name["100001-iap01"]
    assert up.state is HealthState.OK and up.controller == "100001-vc01"
    clients = up.summary["clients"]
    assert isinstance(clients, dict) and len(clients) == 8  # 4 SSIDs x 2 radios
    assert up.wlan_clients == sum(clients.values())
    assert by_name["100001-iap02"].state is HealthState.UNREACHABLE
    assert by_name["100001-iap02"].reasons == ("down: its controller 100001-vc01 does not see "
                                               "it",)
    assert down == {}


def test_a_silent_controller_makes_its_aps_unreachable_controller_in_one_line(
        controller: Controller) -> None:
    devices = [_controller(controller, port=free_port()), *APS_INVENTORY]
    judged, down = through_controllers([_not_polled(d) for d in devices], devices, 2.0)
    by_name = {h.device: h for h in judged}
    assert by_name["100001-vc01"].state is HealthState.UNREACHABLE
    for ap in APS_INVENTORY:
        health = by_name[ap.name]
        assert (health.state, health.failure, health.controller) == (
            HealthState.UNREACHABLE, FailureKind.UPSTREAM, "100001-vc01")
        assert health.reasons == ("unreachable (controller): 100001-vc01 does not answer",)
    assert down == {"100001": "controller 100001-vc01 does not answer; 3 AP(s) behind it "
                              "unreachable (controller)"}


def test_a_refused_login_is_unknown_not_down(controller: Controller) -> None:
    _fault(controller, reject_login=True)
    devices = [_controller(controller), *APS_INVENTORY]
    judged, down = through_controllers([_not_polled(d) for d in devices], devices, 5.0)
    states = {h.device: (h.state, h.failure) for h in judged}
    assert states["100001-vc01"] == (HealthState.UNKNOWN, FailureKind.AUTH)
    assert states["100001-iap01"] == (HealthState.UNKNOWN, FailureKind.AUTH)
    assert down == {}


def test_behind_an_execution_node_each_device_keeps_its_own_snmp_verdict(
        controller: Controller) -> None:
    # The simulator answers: only the node keeps it from being read (and blamed). What
    # the node's SNMP poll found of each device stands: skipped by choice (the lab's
    # `snmp: false`), silent, or answered.
    _provision(controller)
    devices = [_controller(controller), *APS_INVENTORY]
    silent, answered = APS_INVENTORY[0].name, APS_INVENTORY[1].name
    own = {d.name: DeviceHealth(d.name, d.school_id, d.role, d.address, HealthState.UNKNOWN,
                                ("not polled",), FailureKind.SKIPPED) for d in devices}
    own[silent] = replace(own[silent], state=HealthState.UNREACHABLE,
                          reasons=("timeout",), failure=FailureKind.TIMEOUT)
    own[answered] = replace(own[answered], state=HealthState.OK, reasons=(), failure=None)
    judged, down = through_controllers(list(own.values()), devices, 5.0,
                                       behind_nodes={"100001": "node-nord"})
    by_name = {h.device: h for h in judged}
    vc = by_name["100001-vc01"]
    assert (vc.state, vc.failure) == (HealthState.UNKNOWN, FailureKind.SKIPPED)
    assert "served by execution node node-nord" in vc.reasons[-1]
    assert [(by_name[n].state, by_name[n].failure) for n in (silent, answered)] == [
        (HealthState.UNREACHABLE, FailureKind.TIMEOUT), (HealthState.OK, None)]
    for ap in APS_INVENTORY[2:]:
        assert (by_name[ap.name].state, by_name[ap.name].failure) == (
            HealthState.UNKNOWN, FailureKind.SKIPPED)
    assert {by_name[ap.name].controller for ap in APS_INVENTORY} == {"100001-vc01"}
    assert down == {}
