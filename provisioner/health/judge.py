"""From poll results to verdicts: each device's state and reasons, then each school's.

Pure: the run (provisioner.health.run) gathers the inputs and stores the outputs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from provisioner.health.dependency import Dependencies, Node, analyse
from provisioner.health.facts import DeviceFacts
from provisioner.health.model import (
    FAILURE_STATES,
    DeviceHealth,
    HealthState,
    RoleCount,
    SchoolHealth,
    worst,
)
from provisioner.health.rules import (
    Previous,
    RuleInput,
    RunWindow,
    Thresholds,
    evaluate,
    find_port,
)
from provisioner.health.targets import PlannedDevice
from provisioner.models import Role
from provisioner.results import FailureKind

#: A stored sample as the run reads it back: (sampled_at ISO, uptime_s, facts summary).
StoredSample = tuple[str, int | None, Mapping[str, Any]]
DEFAULT_THRESHOLDS = Thresholds()


def wlan_clients(facts: DeviceFacts) -> int | None:
    """Clients the device reports: the MIB's total, else per AP, else per radio."""
    wlan = facts.wlan
    if wlan is None:
        return None
    if wlan.clients_total is not None:
        return wlan.clients_total
    if wlan.aps:
        return sum(ap.clients for ap in wlan.aps)
    counted = [r.clients for r in wlan.radios if r.clients is not None]
    return sum(counted) if counted else None


def port_error_counts(facts: DeviceFacts, ports: Mapping[str, object]) -> dict[str, int]:
    """In+out error counters of the watched ports, for the next run's comparison."""
    counts: dict[str, int] = {}
    for port in ports:
        iface = find_port(facts.interfaces, port)
        if iface is not None and (iface.in_errors is not None or iface.out_errors is not None):
            counts[port] = (iface.in_errors or 0) + (iface.out_errors or 0)
    return counts


def facts_summary(facts: DeviceFacts, ports: Mapping[str, object]) -> dict[str, Any]:
    """What is kept of the facts per sample (JSON-ready; SNMP answers hold no secrets)."""
    wlan = facts.wlan
    return {
        "profile": facts.profile, "vendor": facts.vendor, "model": facts.model,
        "firmware": facts.firmware, "serial": facts.serial, "sys_name": facts.sys_name,
        "sys_location": facts.sys_location, "sys_object_id": facts.sys_object_id,
        "wlan_clients": wlan_clients(facts),
        "aps": len(wlan.aps) if wlan else None,
        "ssids": list(wlan.ssids) if wlan else [],
        "port_errors": port_error_counts(facts, ports),
        "anomalies": len(facts.anomalies),
    }


def _age_s(then: str, now: str) -> float:
    return (dt.datetime.fromisoformat(now) - dt.datetime.fromisoformat(then)).total_seconds()


def previous_of(stored: StoredSample | None, now: str) -> Previous | None:
    """The rules' view of the device's previous answered sample."""
    if stored is None:
        return None
    at, uptime, summary = stored
    errors = summary.get("port_errors") or {}
    return Previous(float(uptime) if uptime is not None else None, _age_s(at, now),
                    {str(k): int(v) for k, v in errors.items() if isinstance(v, int)})


def judge_answered(planned: PlannedDevice, facts: DeviceFacts, rtt_ms: float,
                   stored: StoredSample | None, now: str,
                   thresholds: Thresholds = DEFAULT_THRESHOLDS, *,
                   runs: tuple[RunWindow, ...] = (), polled_from: str | None = None,
                   ) -> DeviceHealth:
    """The verdict on a device that answered: every rule, the worst finding wins.

    Args:
        now: when it is judged (ISO, UTC); the answer is from no later.
        runs: provisioning runs that may explain an uptime reset (`rules.RunWindow`).
        polled_from: when the poll began (ISO, UTC); the answer is from no earlier.
            None: a reset cannot be placed inside a run.
    """
    device = planned.device
    polled = ((dt.datetime.fromisoformat(polled_from), dt.datetime.fromisoformat(now))
              if polled_from is not None else None)
    findings = evaluate(RuleInput(device.name, device.role, facts, planned.expected_name,
                                  planned.expected_location, planned.ports,
                                  previous_of(stored, now), thresholds, runs, polled))
    return DeviceHealth(
        device.name, device.school_id, device.role, device.address,
        worst(f.state for f in findings), tuple(f.reason for f in findings), None,
        device.uplink_host, int(facts.uptime_s) if facts.uptime_s is not None else None,
        round(rtt_ms, 1), wlan_clients(facts), facts_summary(facts, planned.ports))


def with_notes(health: DeviceHealth, notes: Sequence[str]) -> DeviceHealth:
    """A device that answered while its address also sent datagrams the poller could not
    believe (malformed, unauthenticated, forged; `SnmpData.notes`): at least a warning,
    naming them. Its values came from replies that passed every check."""
    if not notes:
        return health
    return replace(health, state=worst((health.state, HealthState.WARNING)),
                   reasons=(*health.reasons, *(f"SNMP: {note}" for note in notes)))


def judge_failed(planned: PlannedDevice, failure: FailureKind, message: str,
                 rtt_ms: float | None = None) -> DeviceHealth:
    """The verdict on a device that gave no usable answer: its state says why."""
    device = planned.device
    return DeviceHealth(device.name, device.school_id, device.role, device.address,
                        FAILURE_STATES[failure], (message or failure.value,), failure,
                        device.uplink_host, None, rtt_ms)


def apply_dependencies(devices: Sequence[DeviceHealth],
                       whole_schools: set[str] | None) -> tuple[list[DeviceHealth],
                                                                Dependencies]:
    """Silent devices behind a silent upstream become "unreachable (upstream)"."""
    deps = analyse([Node(d.device, d.school_id, d.role, d.uplink, d.failure)
                    for d in devices], whole_schools)
    judged = []
    for health in devices:
        blame = deps.upstream.get(health.device)
        if blame is not None:
            reason = (f"unreachable (upstream): {blame} does not answer" if blame != "the site"
                      else "unreachable (upstream): nothing at the site answers")
            health = replace(health, state=HealthState.UNREACHABLE,  # noqa: PLW2901
                             failure=FailureKind.UPSTREAM, reasons=(reason,))
        judged.append(health)
    return judged, deps


def school_health(school_id: str, devices: Sequence[DeviceHealth], dead_reason: str,
                  planned: Mapping[Role, int]) -> SchoolHealth:
    """One school's summary: per role online/ok against inventory and plan, clients."""
    counts = tuple(
        RoleCount(role, sum(1 for d in devices if d.role is role),
                  sum(1 for d in devices if d.role is role and d.up),
                  sum(1 for d in devices if d.role is role and d.state == HealthState.OK),
                  planned.get(role))
        for role in Role)
    states: dict[str, int] = {s.value: 0 for s in HealthState}
    for d in devices:
        states[d.state.value] += 1
    state = HealthState.CRITICAL if dead_reason else worst(d.weighed_state for d in devices)
    return SchoolHealth(school_id, state, bool(dead_reason), dead_reason, counts,
                        sum(d.wlan_clients or 0 for d in devices), states)
