"""The domain model: schools, their plan, their devices, runs and health. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from provisioner.outcome import Counts, DeviceState, HostStatus, Phase, RunStatus


class Measure(StrEnum):
    """Kinds of measure (Maßnahme) in a media development plan."""

    CABLING = "cabling"
    WLAN = "wlan"
    SERVERS = "servers"
    SWITCHES = "switches"
    ACCESS_POINTS = "access_points"
    DISPLAYS = "displays"
    END_DEVICES = "end_devices"

    @property
    def german(self) -> str:
        """The name German plans use for this measure."""
        return MEASURE_GERMAN[self]


MEASURE_GERMAN: dict[Measure, str] = {
    Measure.CABLING: "Verkabelung",
    Measure.WLAN: "WLAN",
    Measure.SERVERS: "Server",
    Measure.SWITCHES: "Switches",
    Measure.ACCESS_POINTS: "Access Points",
    Measure.DISPLAYS: "Präsentationstechnik",
    Measure.END_DEVICES: "Endgeräte",
}


class Role(StrEnum):
    """What a managed device is in a school's network; also its inventory group."""

    SERVER = "server"
    SWITCH = "switch"
    ACCESS_POINT = "access_point"
    # Configures the school's WLAN on its access points (e.g. an Aruba Instant virtual
    # controller); an AP names its controller in the host var `controller`.
    WLAN_CONTROLLER = "wlan_controller"

    @property
    def group(self) -> str:
        """The Ansible inventory group of this role."""
        return ROLE_GROUPS[self]


ROLE_GROUPS: dict[Role, str] = {
    Role.SERVER: "servers",
    Role.SWITCH: "switches",
    Role.ACCESS_POINT: "access_points",
    Role.WLAN_CONTROLLER: "wlan_controllers",
}

# Which plan measure counts the devices of a role (for plan-vs-inventory checks).
ROLE_MEASURE: dict[Role, Measure] = {
    Role.SERVER: Measure.SERVERS,
    Role.SWITCH: Measure.SWITCHES,
    Role.ACCESS_POINT: Measure.ACCESS_POINTS,
}


class FundingStatus(StrEnum):
    """Where a measure's funding stands (Förderstatus)."""

    PLANNED = "planned"  # geplant
    APPLIED = "applied"  # beantragt
    APPROVED = "approved"  # bewilligt
    REJECTED = "rejected"  # abgelehnt
    PAID = "paid"  # ausgezahlt / abgerechnet
    NOT_FUNDED = "not_funded"  # Eigenmittel


@dataclass(frozen=True)
class School:
    """A school (Schule) identified by its official 6-digit Schulnummer."""

    school_id: str
    name: str
    school_type: str = ""


@dataclass(frozen=True)
class PlanItem:
    """One line of the media development plan: a measure at a school in a year."""

    school_id: str
    measure: Measure
    year: int
    quantity: int | None
    budget_eur: Decimal
    funding: str = ""
    funding_status: FundingStatus | None = None
    spent_eur: Decimal | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        """What makes a plan item unique: school × measure × year."""
        return (self.school_id, self.measure.value, self.year)


@dataclass(frozen=True)
class Device:
    """A managed device of a school, as its Ansible inventory describes it."""

    school_id: str
    name: str
    role: Role
    platform: str
    address: str
    serial: str = ""
    room: str = ""
    vars: dict[str, object] = field(default_factory=dict, compare=False)
    # The upstream device (inventory host var `uplink`) and its port; the school's
    # core switch has none. Health reads this to tell "down" from "behind a down switch".
    uplink_host: str = ""
    uplink_port: str = ""
    # Host var `managed: false`: watched over SNMP only, never an SSH/Ansible target.
    managed: bool = True
    # Rollout state: set by runs (`outcome.device_state_after`), kept by inventory
    # syncs; an inventory never sets it. `state_detail`: why (the run's message), and
    # `state_at` when it was set (ISO, UTC; None: never).
    state: DeviceState = DeviceState.PLANNED
    state_detail: str = ""
    state_at: str | None = None


@dataclass(frozen=True)
class PlanVersion:
    """One import of the plan; the plan is updated ("fortgeschrieben") by new imports."""

    version_id: int
    imported_at: str
    imported_by: str
    source: str
    sha256: str
    item_count: int


@dataclass(frozen=True)
class RunSummary:
    """A provisioning or check run and how it ended.

    `mode`: "check" (Ansible check mode: nothing changed) or "apply". `partial`: the run
    covered only some hosts or tasks, which `scope` names ("limit servers; tags snmp",
    "resume"); "" for a full run.
    """

    run_id: int
    kind: str
    school_id: str | None
    started_at: str
    finished_at: str | None
    status: RunStatus
    started_by: str
    mode: str = "apply"
    partial: bool = False
    scope: str = ""


@dataclass(frozen=True)
class HealthSample:
    """The latest known health of one device."""

    device: str
    school_id: str
    sampled_at: str
    state: str
    detail: str = ""


@dataclass(frozen=True)
class AuditEntry:
    """One line of the append-only audit log."""

    entry_id: int
    at: str
    user: str
    command: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class ProgressEntry:
    """Progress staff recorded for a plan item without managed devices (cabling, displays...).

    `unit` is "units" (done pieces of the item's quantity) or "percent" (a share of a
    lump-sum item such as cabling).
    """

    school_id: str
    measure: Measure
    year: int
    done: int
    unit: str
    note: str = ""
    recorded_at: str = ""
    recorded_by: str = ""


@dataclass(frozen=True)
class DeviceRollout:
    """A device's rollout state as the database holds it (set by provisioning runs),
    or as it was at a moment (`Store.device_states_until`).

    `detail`: why it is in that state (the run's message: a changed host key, the
    failed task), "" for verified and planned devices.
    """

    name: str
    school_id: str
    role: Role
    state: DeviceState
    state_at: str | None
    managed: bool = True
    detail: str = ""


@dataclass(frozen=True)
class ExportSnapshot:
    """The figures of one committee export, kept for `provision export --since`."""

    snapshot_id: int
    created_at: str
    created_by: str
    as_of: str
    format: str
    scope: str
    figures: str  # JSON text


@dataclass(frozen=True)
class HostRun:
    """One host's part in a provisioning run, as recorded.

    `status`: see `HostStatus`; `phase`: how far it got. `counts` are Ansible's PLAY
    RECAP; `failed_task` and `message` never hold task arguments. `warnings`: one per
    line (`provisioner.lines.joined_lines`): preflight findings that did not block
    (e.g. SNMP silent), what the play's reports warned of, verification's notes.
    """

    host: str
    role: str
    status: HostStatus
    phase: Phase = Phase.PREFLIGHT
    counts: Counts = field(default_factory=Counts)
    failed_task: str = ""
    message: str = ""
    warnings: str = ""
    duration_ms: float = 0.0


@dataclass(frozen=True)
class RunRecord:
    """A provisioning run in full: who, when, with what, from which playbook commit."""

    summary: RunSummary
    arguments: dict[str, object]
    playbook_commit: str
    pid: int | None
    artifacts: str
    detail: str
    hosts: tuple[HostRun, ...] = ()
