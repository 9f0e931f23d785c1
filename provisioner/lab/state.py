"""The lab's state file: everything `lab up` made, written as it is made.

The file is written *before* each thing is created (a write-ahead record), so after a
crash `lab down` knows every namespace, veth, mount, process and cgroup that may exist.
Teardown treats each recorded item as "maybe there" and tolerates it being gone.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from provisioner.errors import LabError
from provisioner.lab.topology import DeviceKind, LabDevice, LabSpec, RecordedDevice
from provisioner.models import Role

STATE_FILE = "state.json"
STATE_VERSION = 1


@dataclass(frozen=True)
class ProcessRef:
    """A process the lab started, identified beyond its pid.

    Attributes:
        pid: the process id.
        start_ticks: its start time (field 22 of /proc/PID/stat); a pid reused by an
            unrelated process after a crash or reboot has another one, so it is spared.
        role: what it is ("nspawn", "init", "simulator").
        device: the device it belongs to, if one.
    """

    pid: int
    start_ticks: int
    role: str
    device: str = ""


@dataclass
class HostRecord:
    """One started Debian host.

    Attributes:
        name: device name (also machine name and hostname).
        address: its lab address.
        runtime: "nspawn" or "chroot".
        root: the merged overlay root it runs from.
        cgroup: the cgroup name (under each hierarchy) it runs in.
        host_key: its pinned public host key line ("ssh-ed25519 AAAA...").
    """

    name: str
    address: str
    runtime: str
    root: str
    cgroup: str
    host_key: str


@dataclass
class LabState:
    """Everything a lab consists of; serialised to `<lab_dir>/state.json`.

    Attributes:
        spec: what was asked for.
        devices: the planned devices.
        runtime: the runtime asked for ("auto", "nspawn" or "chroot").
        base: the lower (read-only) root filesystem the hosts share.
        repo: the local package repository bind-mounted into the hosts.
        bridge: the bridge, once its creation was started.
        netns: network namespaces (maybe) created.
        veths: host ends of veth pairs (maybe) created.
        mounts: overlay mounts (maybe) made, in order.
        cgroups: cgroup names (maybe) created under each hierarchy.
        processes: processes started (hosts' runtimes, simulators).
        hosts: the Debian hosts that came up, by name.
        host_keys: pinned host key line by device address.
        complete: whether `lab up` finished.
        notes: things the caller should know (e.g. "switches skipped").
        faults: faults in effect, by device name or `school <id>` (`provision lab fault`):
            "stopped", "cut"; a rekeyed device is not a fault (it runs with its new key).
        boots: device address -> when its SNMP agent last (re)started, epoch seconds, for
            recorded devices rebooted by `lab fault` (their sysUpTime counts from it).
    """

    spec: LabSpec
    devices: list[LabDevice]
    runtime: str = "auto"
    base: str = ""
    repo: str = ""
    bridge: str | None = None
    netns: list[str] = field(default_factory=list)
    veths: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)
    processes: list[ProcessRef] = field(default_factory=list)
    hosts: dict[str, HostRecord] = field(default_factory=dict)
    host_keys: dict[str, str] = field(default_factory=dict)
    complete: bool = False
    notes: list[str] = field(default_factory=list)
    faults: dict[str, str] = field(default_factory=dict)
    boots: dict[str, float] = field(default_factory=dict)


def _device_to_dict(device: LabDevice) -> dict[str, Any]:
    raw = asdict(device)
    raw["role"] = device.role.value
    raw["kind"] = device.kind.value
    return raw


def _device_from_dict(raw: dict[str, Any]) -> LabDevice:
    return LabDevice(**{**raw, "role": Role(raw["role"]), "kind": DeviceKind(raw["kind"])})


def state_to_json(state: LabState) -> str:
    """Serialise a lab state (stable key order, so diffs of the file are readable)."""
    raw: dict[str, Any] = asdict(state)
    raw["spec"]["school_ids"] = list(state.spec.school_ids)
    raw["devices"] = [_device_to_dict(d) for d in state.devices]
    raw["version"] = STATE_VERSION
    return json.dumps(raw, indent=1, sort_keys=True) + "\n"


def state_from_json(text: str) -> LabState:
    """Parse a state file's text.

    Raises:
        ValueError: the text is not a state file of this version.
    """
    raw = json.loads(text)
    if not isinstance(raw, dict) or raw.get("version") != STATE_VERSION:
        raise ValueError(f"not a lab state file of version {STATE_VERSION}")
    spec = raw["spec"]
    recorded = tuple(RecordedDevice(r["recording"], Role(r["role"]))
                     for r in spec.get("recorded", ()))
    return LabState(
        spec=LabSpec(**{**spec, "school_ids": tuple(spec["school_ids"]), "recorded": recorded,
                        "switch_platforms": tuple(spec.get("switch_platforms", ()))}),
        devices=[_device_from_dict(d) for d in raw["devices"]],
        runtime=raw["runtime"],
        base=raw["base"],
        repo=raw["repo"],
        bridge=raw["bridge"],
        netns=list(raw["netns"]),
        veths=list(raw["veths"]),
        mounts=list(raw["mounts"]),
        cgroups=list(raw["cgroups"]),
        processes=[ProcessRef(**p) for p in raw["processes"]],
        hosts={name: HostRecord(**h) for name, h in raw["hosts"].items()},
        host_keys=dict(raw["host_keys"]),
        complete=bool(raw["complete"]),
        notes=list(raw["notes"]),
        # Absent in the files of labs started before faults existed.
        faults=dict(raw.get("faults", {})),
        boots={k: float(v) for k, v in raw.get("boots", {}).items()},
    )


def state_path(lab_dir: Path) -> Path:
    """Where a lab's state file lives."""
    return lab_dir / STATE_FILE


def load_state(lab_dir: Path) -> LabState | None:
    """The recorded state of the lab in `lab_dir`, or None if there is none.

    Raises:
        LabError: the file exists but cannot be read or parsed.
    """
    path = state_path(lab_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LabError(f"lab state {path} cannot be read ({exc}); check its permissions") from exc
    try:
        return state_from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise LabError(f"lab state {path} is damaged ({exc}); "
                       "'provision lab down' still removes the lab by its name prefixes") from exc


def save_state(lab_dir: Path, state: LabState) -> None:
    """Write the state atomically (a crash leaves the old or the new file, never half)."""
    path = state_path(lab_dir)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(state_to_json(state))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def remove_state(lab_dir: Path) -> None:
    """Forget the lab (after everything in it was removed)."""
    path = state_path(lab_dir)
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".tmp").unlink(missing_ok=True)  # left by a crash mid-write


class StateJournal:
    """Records changes to a lab state and saves each one at once; safe across threads."""

    def __init__(self, lab_dir: Path, state: LabState) -> None:
        self.lab_dir = lab_dir
        self.state = state
        self._lock = threading.Lock()
        save_state(lab_dir, state)

    def record(self, change: Callable[[LabState], object]) -> None:
        """Apply `change` to the state and write the file before returning."""
        with self._lock:
            change(self.state)
            save_state(self.lab_dir, self.state)


def parse_start_ticks(stat_line: str) -> int:
    """The start time (clock ticks since boot) from a /proc/PID/stat line.

    The command name (field 2) may hold spaces and parentheses, so fields are counted
    from the last ')'.

    Raises:
        ValueError: the line is not a stat line.
    """
    _, sep, rest = stat_line.rpartition(")")
    if not sep:
        raise ValueError("no ')' in stat line")
    # rest starts at field 3 (state); starttime is field 22 -> index 19 of rest.
    return int(rest.split()[19])


def process_ref(pid: int, role: str, device: str = "") -> ProcessRef:
    """A reference to a running process.

    Raises:
        LabError: the process is already gone.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError as exc:
        raise LabError(f"process {pid} ({role} {device}) exited at once; "
                       "see the logs under the lab dir") from exc
    return ProcessRef(pid=pid, start_ticks=parse_start_ticks(stat), role=role, device=device)


def is_alive(ref: ProcessRef) -> bool:
    """Whether the referenced process still runs (same pid AND same start time)."""
    try:
        stat = Path(f"/proc/{ref.pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    try:
        state_char = stat.rpartition(")")[2].split()[0]
        return parse_start_ticks(stat) == ref.start_ticks and state_char != "Z"
    except (ValueError, IndexError):
        return False
