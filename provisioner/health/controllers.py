"""Health through the WLAN controllers: per AP up/down and clients per SSID and radio.

Each WLAN controller of the run is read once over its API (provisioner/wlan/readback.py:
its running config, `show aps`, `show ap bss-table`). Then, per device:

- the controller: ok when it answers; a warning naming each AP of its cluster that the
  inventory does not know; unreachable when it does not answer, unknown when it refuses
  the login (its clients are counted on its APs, not again on it);
- an AP that names the controller (host var `controller`): ok when the controller lists
  it up, with its clients per SSID and radio (`clients` in the facts summary, e.g.
  `{"Lehrkraefte 5 GHz": 7}`) and their total as its WLAN clients; unreachable when the
  controller knows it but it is down; a warning when the controller does not know it.
  An AP that also answers SNMP keeps the worse of both verdicts.
- when the controller does not answer, its APs that gave no SNMP answer of their own are
  "unreachable (controller)", and the school gets one line for it, like a dead site.

Controllers are read from this machine. A school served by an execution node
(docs/scale-out.md) is out of its reach: its controller and the APs behind it are
`unknown`, saying so, never `unreachable` (which would blame the network).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from provisioner.errors import ProvisionerError
from provisioner.health.dependency import SILENT
from provisioner.health.model import DeviceHealth, HealthState, worst
from provisioner.models import Device, Role
from provisioner.results import FailureKind
from provisioner.wlan.readback import (
    ControllerSnapshot,
    ap_view,
    aps_of,
    controller_access,
    controller_name,
    failure_kind,
    read_controller,
    unknown_aps,
)

FAILED_STATES = {FailureKind.AUTH: HealthState.UNKNOWN, FailureKind.CONFIG: HealthState.UNKNOWN,
                 FailureKind.HOST_KEY_CHANGED: HealthState.UNKNOWN,
                 FailureKind.PROTOCOL: HealthState.UNKNOWN}


@dataclass(frozen=True)
class Read:
    """One controller's answer, or why there is none, and how long it took."""

    snapshot: ControllerSnapshot | None
    failure: FailureKind | None
    message: str
    elapsed_ms: float


def _read(device: Device, timeout: float) -> Read:
    started = time.perf_counter()
    try:
        snapshot = read_controller(controller_access(device, timeout))
    except ProvisionerError as exc:
        return Read(None, failure_kind(exc), str(exc), (time.perf_counter() - started) * 1000)
    return Read(snapshot, None, "", (time.perf_counter() - started) * 1000)


def read_controllers(controllers: Sequence[Device], timeout: float, workers: int = 32,
                     behind_nodes: Mapping[str, str] | None = None) -> dict[str, Read]:
    """Every controller read side by side, by name; one of a school in `behind_nodes`
    (school id -> execution node) is not asked (its Read says why)."""
    far = behind_nodes or {}
    found = {d.name: Read(None, FailureKind.SKIPPED,
                          f"{d.name}: school {d.school_id} is served by execution node "
                          f"{far[d.school_id]}, and WLAN controllers are read from this "
                          "machine only: not checked", 0.0)
             for d in controllers if d.school_id in far}
    near = [d for d in controllers if d.name not in found]
    if near:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(near)))) as pool:
            found.update(zip((d.name for d in near),
                             pool.map(lambda d: _read(d, timeout), near), strict=True))
    return found


def _not_asked(health: DeviceHealth, read: Read, controller: str = "") -> DeviceHealth:
    """A controller, or an AP of one, whose school is behind an execution node: the
    controller is not read from here (`read` says so), so the device's own SNMP verdict
    from the node stands, whatever it is (answered, silent, refused, skipped by
    choice), with that said beside it."""
    return replace(health, reasons=(*health.reasons, read.message),
                   controller=controller or health.controller)


def _controller_verdict(health: DeviceHealth, device: Device, read: Read,
                        school: Sequence[Device]) -> DeviceHealth:
    if read.failure is FailureKind.SKIPPED:
        return _not_asked(health, read)
    if read.snapshot is None:
        kind = read.failure or FailureKind.UNREACHABLE
        state = FAILED_STATES.get(kind, HealthState.UNREACHABLE)
        return replace(health, state=state, reasons=(read.message,), failure=kind,
                       rtt_ms=round(read.elapsed_ms, 1), wlan_clients=None, summary={})
    strangers = unknown_aps(read.snapshot, aps_of(device.name, school))
    reasons = tuple(f"AP {s} is in its cluster but not in the inventory" for s in strangers)
    clients = sum(b.clients or 0 for b in read.snapshot.bss)
    summary = {"profile": "aruba_instant_rest", "vendor": "Aruba", "aps": len(read.snapshot.aps),
               "ssids": sorted(read.snapshot.config.ssid_profiles), "cluster_clients": clients}
    return replace(health, state=HealthState.WARNING if reasons else HealthState.OK,
                   reasons=reasons, failure=None, rtt_ms=round(read.elapsed_ms, 1),
                   wlan_clients=None, summary=summary)


def _ap_from_controller(health: DeviceHealth, device: Device, controller: str,
                        read: Read) -> DeviceHealth:
    view = ap_view(read.snapshot, device) if read.snapshot is not None else None
    if view is None:
        return replace(health, state=HealthState.UNKNOWN, failure=read.failure,
                       reasons=(f"its controller cannot be read: {read.message}",))
    if not view.known:
        return replace(health, state=HealthState.WARNING, failure=None,
                       reasons=(f"not known to its controller {controller} (serial, address, "
                                "MAC): check serial_number and mac in the inventory",))
    if not view.up:
        return replace(health, state=HealthState.UNREACHABLE, failure=FailureKind.UNREACHABLE,
                       reasons=(f"down: its controller {controller} does not see it",))
    clients = {f"{ssid} {band}".strip(): n for (ssid, band), n in sorted(view.clients.items())}
    return replace(health, state=HealthState.OK, failure=None, reasons=(),
                   wlan_clients=view.total_clients,
                   summary={"profile": "aruba_instant_rest", "vendor": "Aruba",
                            "name_on_controller": view.name, "ssids": sorted(view.ssids),
                            "clients": clients, "wlan_clients": view.total_clients})


def _ap_verdict(health: DeviceHealth, device: Device, controller: str,
                read: Read | None) -> DeviceHealth:
    answered_snmp = health.failure is None
    if read is None:
        reason = f"its controller {controller!r} is not a WLAN controller of the inventory"
        return replace(health, state=worst([health.state, HealthState.UNKNOWN]),
                       reasons=(*health.reasons, reason) if answered_snmp else (reason,),
                       failure=health.failure if answered_snmp else FailureKind.CONFIG)
    if read.failure is FailureKind.SKIPPED:
        return _not_asked(health, read, controller)
    if read.snapshot is None and read.failure in SILENT and not answered_snmp:
        return replace(health, state=HealthState.UNREACHABLE, failure=FailureKind.UPSTREAM,
                       reasons=(f"unreachable (controller): {controller} does not answer",),
                       controller=controller)
    verdict = _ap_from_controller(health, device, controller, read)
    if not answered_snmp:
        return replace(verdict, controller=controller)
    # It answered SNMP too: the worse of both, its SNMP facts kept beside the controller's.
    return replace(health, state=worst([health.state, verdict.state]),
                   reasons=tuple(r for r in (*health.reasons, *verdict.reasons)
                                 if r != "all checks passed"),
                   wlan_clients=verdict.wlan_clients if verdict.wlan_clients is not None
                   else health.wlan_clients,
                   summary={**health.summary, **{k: v for k, v in verdict.summary.items()
                                                 if k in ("clients", "name_on_controller")}},
                   controller=controller)


def through_controllers(judged: Sequence[DeviceHealth], devices: Sequence[Device],
                        timeout: float = 10.0, behind_nodes: Mapping[str, str] | None = None,
                        ) -> tuple[list[DeviceHealth], dict[str, str]]:
    """Judge the controllers and their APs from the controllers' API.

    Args:
        judged: every device's verdict so far (from SNMP, or "not polled").
        devices: the run's devices with their inventory vars.
        timeout: seconds per API request.
        behind_nodes: school id -> the execution node serving it: its controllers are
            not read from here; they and their APs keep their own SNMP verdicts (from
            the node), with a reason saying so.

    Returns:
        The verdicts, those of WLAN devices replaced; and per school id one line for
        each controller that does not answer ("controller X does not answer: N APs
        unreachable (controller)").
    """
    by_name = {d.name: d for d in devices}
    controllers = [d for d in devices if d.role is Role.WLAN_CONTROLLER]
    reads = read_controllers(controllers, timeout, behind_nodes=behind_nodes)
    found = []
    for health in judged:
        device = by_name.get(health.device)
        if device is None:
            found.append(health)
        elif device.role is Role.WLAN_CONTROLLER and device.name in reads:
            found.append(_controller_verdict(health, device, reads[device.name], devices))
        elif controller_name(device):
            found.append(_ap_verdict(health, device, controller_name(device),
                                     reads.get(controller_name(device))))
        else:
            found.append(health)
    return found, _down_lines(found, controllers, reads)


def _down_lines(judged: Sequence[DeviceHealth], controllers: Sequence[Device],
                reads: dict[str, Read]) -> dict[str, str]:
    lines: dict[str, list[str]] = {}
    for controller in controllers:
        read = reads[controller.name]
        if read.snapshot is not None or read.failure not in SILENT:
            continue
        behind = sum(1 for d in judged if d.controller == controller.name
                     and d.failure is FailureKind.UPSTREAM)
        lines.setdefault(controller.school_id, []).append(
            f"controller {controller.name} does not answer; {behind} AP(s) behind it "
            "unreachable (controller)")
    return {school: "; ".join(parts) for school, parts in lines.items()}
