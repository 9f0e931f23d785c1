"""What a health check says: states, findings, per device, per school and per run. No I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from provisioner.errors import ExitStatus
from provisioner.models import Role
from provisioner.outcome import HealthState
from provisioner.results import FailureKind

# What a device that gave no usable answer is, by why it gave none.
FAILURE_STATES: dict[FailureKind, HealthState] = {
    FailureKind.UNREACHABLE: HealthState.UNREACHABLE,
    FailureKind.TIMEOUT: HealthState.UNREACHABLE,
    FailureKind.UPSTREAM: HealthState.UNREACHABLE,
    FailureKind.STALE: HealthState.STALE,
    FailureKind.INTERRUPTED: HealthState.STALE,
    FailureKind.AUTH: HealthState.UNKNOWN,
    FailureKind.CONFIG: HealthState.UNKNOWN,
    FailureKind.PROTOCOL: HealthState.UNKNOWN,
    FailureKind.HOST_KEY_UNKNOWN: HealthState.UNKNOWN,
    FailureKind.HOST_KEY_CHANGED: HealthState.UNKNOWN,
    FailureKind.FAILED: HealthState.UNKNOWN,
    FailureKind.SKIPPED: HealthState.UNKNOWN,
}


def worst(states: Iterable[HealthState]) -> HealthState:
    """The most severe of `states` (ok for none)."""
    return max(states, key=lambda s: s.severity, default=HealthState.OK)


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on a device: which rule, how bad, and why in one line."""

    rule: str
    state: HealthState
    reason: str


@dataclass(frozen=True)
class DeviceHealth:
    """One device after a check.

    Attributes:
        device: inventory host name.
        school_id: its school.
        role: server, switch or access point.
        address: the management address polled.
        state: the verdict.
        reasons: one line per finding that is not ok (or why it gave no answer).
        failure: why the device gave no usable answer, None when it answered.
        uplink: the upstream device (inventory `uplink.host`), "" for a core switch.
        uptime_s: seconds since the agent (re)started, as reported.
        rtt_ms: wall time of the poll of this device, milliseconds.
        wlan_clients: clients associated (access points, controllers), None if not reported.
        summary: a small facts summary (vendor, model, firmware, ...) without secrets.
        controller: the WLAN controller an AP is judged through ("" for none).
    """

    device: str
    school_id: str
    role: Role
    address: str
    state: HealthState
    reasons: tuple[str, ...] = ()
    failure: FailureKind | None = None
    uplink: str = ""
    uptime_s: int | None = None
    rtt_ms: float | None = None
    wlan_clients: int | None = None
    summary: dict[str, object] = field(default_factory=dict)
    controller: str = ""

    @property
    def reason(self) -> str:
        """The reasons in one line."""
        return "; ".join(self.reasons) if self.reasons else "all checks passed"

    @property
    def weighed_state(self) -> HealthState:
        """The state a school and the run are judged by: a device not read by choice
        (failure `skipped`: `snmp: false`, a WLAN controller behind an execution node) is
        unknown, but weighs as a warning: nothing is broken and nothing is to be fixed."""
        if self.failure is FailureKind.SKIPPED and self.state is HealthState.UNKNOWN:
            return HealthState.WARNING
        return self.state

    @property
    def up(self) -> bool:
        """The device itself answered this run, believably: judged, or refusing our
        credentials. Not: answers that could not be believed or parsed (anyone may send
        those from its address), nor an AP whose controller could not be read."""
        return self.failure is None or (self.failure is FailureKind.AUTH and not self.controller)


@dataclass(frozen=True)
class RoleCount:
    """Devices of one role at a school: inventoried, answering, healthy, and planned."""

    role: Role
    inventory: int
    online: int
    healthy: int
    planned: int | None = None

    def line(self) -> str:
        """E.g. "APs 52/55 online, 50 ok (plan 60)"."""
        text = f"{ROLE_LABELS[self.role]} {self.online}/{self.inventory} online, {self.healthy} ok"
        return text + (f" (plan {self.planned})" if self.planned is not None else "")


ROLE_LABELS = {Role.SERVER: "servers", Role.SWITCH: "switches", Role.ACCESS_POINT: "APs",
               Role.WLAN_CONTROLLER: "WLAN controllers"}


@dataclass(frozen=True)
class SchoolHealth:
    """One school after a check.

    Attributes:
        school_id: the Schulnummer.
        state: the worst device state, a device not read by choice weighing as a warning
            (`DeviceHealth.weighed_state`); critical for a dead site.
        dead_site: the core switch, or every device, did not answer.
        dead_reason: why it counts as dead ("" when not).
        counts: per role, devices inventoried / answering / ok / planned.
        wlan_clients: clients over all its access points and controllers that reported any.
        states: how many devices are in each state.
        controller_down: one line for its WLAN controllers that do not answer (their APs
            are "unreachable (controller)"), "" when all answer.
    """

    school_id: str
    state: HealthState
    dead_site: bool
    dead_reason: str
    counts: tuple[RoleCount, ...]
    wlan_clients: int
    states: dict[str, int]
    controller_down: str = ""

    def line(self) -> str:
        """The school in one line, as the summary prints it."""
        if self.dead_site:
            return f"{self.school_id} DEAD SITE: {self.dead_reason}"
        parts = [c.line() for c in self.counts if c.inventory or c.planned]
        return (f"{self.school_id} {self.state.value}: " + ", ".join(parts)
                + f", WLAN clients {self.wlan_clients}")


@dataclass(frozen=True)
class HealthReport:
    """One `provision health` run: every device, every school, and the exit status for cron."""

    run_id: int
    started_at: str
    finished_at: str
    duration_s: float
    deadline_s: float
    devices: Sequence[DeviceHealth]
    schools: Sequence[SchoolHealth]

    @property
    def states(self) -> dict[str, int]:
        """How many devices are in each state (every state named, zeros included)."""
        counted = Counter(d.state for d in self.devices)
        return {s.value: counted[s] for s in HealthState}

    @property
    def dead_sites(self) -> list[str]:
        """The schools that count as dead sites."""
        return [s.school_id for s in self.schools if s.dead_site]

    @property
    def exit_status(self) -> ExitStatus:
        """0 all ok; 10 warnings; 12 none critical, but devices unknown or stale that the
        check tried to read (it could not vouch for them: a nightly job must not pass
        them as warnings); 11 critical, unreachable or a dead site. A device not read by
        choice (failure `skipped`: the inventory's `snmp: false`, a WLAN controller
        behind an execution node) is unknown, and counts as a warning: it would
        otherwise fail every night's job with nothing to fix."""
        states = {d.weighed_state for d in self.devices}
        if self.dead_sites or states & {HealthState.CRITICAL, HealthState.UNREACHABLE}:
            return ExitStatus.HEALTH_CRITICAL
        if states & {HealthState.UNKNOWN, HealthState.STALE}:
            return ExitStatus.HEALTH_UNKNOWN
        if states - {HealthState.OK}:
            return ExitStatus.HEALTH_WARNING
        return ExitStatus.OK

    @property
    def outcome(self) -> tuple[str, str]:
        """How the run ended, for the audit log: ("ok" | "warning" | "unknown" |
        "critical", one line like "exit 10: health run 7, 42 device(s): 40 ok, 2 warning")."""
        status = self.exit_status
        word = {ExitStatus.OK: HealthState.OK, ExitStatus.HEALTH_WARNING: HealthState.WARNING,
                ExitStatus.HEALTH_UNKNOWN: HealthState.UNKNOWN,
                }.get(status, HealthState.CRITICAL).value
        counts = ", ".join(f"{n} {state}" for state, n in self.states.items() if n)
        dead = f"; dead site(s) {', '.join(self.dead_sites)}" if self.dead_sites else ""
        return word, (f"exit {int(status)}: health run {self.run_id}, {len(self.devices)} "
                      f"device(s): {counts or 'none'}{dead}")

    def as_dict(self) -> dict[str, object]:
        """The report for `--json`: run, counts, exit status, schools, devices."""
        return {
            "run_id": self.run_id, "started_at": self.started_at,
            "finished_at": self.finished_at, "duration_s": self.duration_s,
            "deadline_s": self.deadline_s, "exit_status": int(self.exit_status),
            "states": self.states, "dead_sites": self.dead_sites,
            "schools": [{**asdict(s), "state": s.state.value, "line": s.line(),
                         "counts": [{**asdict(c), "role": c.role.value} for c in s.counts]}
                        for s in self.schools],
            "devices": [{**asdict(d), "role": d.role.value, "state": d.state.value,
                         "failure": d.failure.value if d.failure else None,
                         "reasons": list(d.reasons), "reason": d.reason}
                        for d in self.devices],
        }
