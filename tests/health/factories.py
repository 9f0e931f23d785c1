"""Small builders of health inputs for the unit tests."""

from __future__ import annotations

from provisioner.health.facts import DeviceFacts, InterfaceFacts
from provisioner.health.model import DeviceHealth, HealthState
from provisioner.health.targets import PlannedDevice
from provisioner.models import Device, Role
from provisioner.results import FailureKind


def device(name: str, role: Role = Role.ACCESS_POINT, uplink: str = "", port: str = "",
           school: str = "100001", address: str = "10.1.0.10") -> Device:
    return Device(school, name, role, "test", address, uplink_host=uplink, uplink_port=port)


def planned(name: str, role: Role = Role.SWITCH, **kwargs: object) -> PlannedDevice:
    return PlannedDevice(device(name, role), None, "", expected_name=name, **kwargs)  # type: ignore[arg-type]


def facts(**kwargs: object) -> DeviceFacts:
    return DeviceFacts("generic", **kwargs)  # type: ignore[arg-type]


def iface(name: str, oper: str = "up", admin: str = "up", errors: int | None = 0) -> InterfaceFacts:
    return InterfaceFacts(index=1, name=name, admin=admin, oper=oper, in_errors=errors,
                          out_errors=0 if errors is not None else None)


def health(name: str, state: HealthState, school: str = "100001", role: Role = Role.SWITCH,
           failure: FailureKind | None = None, uplink: str = "",
           clients: int | None = None) -> DeviceHealth:
    return DeviceHealth(name, school, role, "10.1.0.1", state, ("why",) if failure else (),
                        failure, uplink, wlan_clients=clients)
