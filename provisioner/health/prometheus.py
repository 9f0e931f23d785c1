"""The node_exporter textfile collector format, written atomically.

Format: Prometheus text exposition format 0.0.4
(https://prometheus.io/docs/instrumenting/exposition_formats/): `# HELP` and `# TYPE`
once per metric family, then `name{label="value",...} number` lines; label values
escape backslash, double quote and newline. node_exporter reads every `*.prom` file of
its `--collector.textfile.directory` on each scrape, so a half-written file would be a
scrape of garbage: we write a temporary file in the same folder and rename it.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from provisioner.errors import EnvironmentProblemError
from provisioner.health.model import DeviceHealth, HealthReport, HealthState

Labels = dict[str, str]
Sample = tuple[Labels, float]


def escape(value: str) -> str:
    """A label value escaped as the text format demands."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def family(name: str, kind: str, help_text: str, samples: Sequence[Sample]) -> list[str]:
    """One metric family as lines: HELP, TYPE, then one line per sample."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        body = ",".join(f'{key}="{escape(val)}"' for key, val in labels.items())
        lines.append(f"{name}{{{body}}} {_number(value)}" if body else
                     f"{name} {_number(value)}")
    return lines


def _device_families(report: HealthReport) -> Iterator[list[str]]:
    def labels(d: DeviceHealth) -> Labels:
        return {"school": d.school_id, "device": d.device, "role": d.role.value}

    devices = report.devices
    yield family("provisioner_device_up", "gauge",
                 "1 if the device answered SNMP in the last health check, else 0.",
                 [(labels(d), 1.0 if d.up else 0.0) for d in devices])
    yield family("provisioner_device_state", "gauge",
                 "1 for the device's state in the last health check, 0 for the others.",
                 [({**labels(d), "state": s.value}, 1.0 if d.state is s else 0.0)
                  for d in devices for s in HealthState])
    yield family("provisioner_device_uptime_seconds", "gauge",
                 "Seconds since the device's SNMP agent (re)started.",
                 [(labels(d), float(d.uptime_s)) for d in devices if d.uptime_s is not None])
    yield family("provisioner_wlan_clients", "gauge",
                 "WLAN clients associated with an access point or controller.",
                 [(labels(d), float(d.wlan_clients)) for d in devices
                  if d.wlan_clients is not None])


def _school_families(report: HealthReport) -> Iterator[list[str]]:
    schools = report.schools
    yield family("provisioner_school_dead_site", "gauge",
                 "1 if the school's core switch or every device did not answer.",
                 [({"school": s.school_id}, 1.0 if s.dead_site else 0.0) for s in schools])
    yield family("provisioner_school_wlan_clients", "gauge",
                 "WLAN clients over all access points and controllers of the school.",
                 [({"school": s.school_id}, float(s.wlan_clients)) for s in schools])
    yield family("provisioner_school_devices_online", "gauge",
                 "Devices of a role that answered, per school.",
                 [({"school": s.school_id, "role": c.role.value}, float(c.online))
                  for s in schools for c in s.counts])
    yield family("provisioner_school_devices_inventory", "gauge",
                 "Devices of a role in the school's inventory.",
                 [({"school": s.school_id, "role": c.role.value}, float(c.inventory))
                  for s in schools for c in s.counts])


def render(report: HealthReport, finished_unix: float) -> str:
    """The whole textfile for one run.

    Args:
        report: the run's result.
        finished_unix: when the run ended, seconds since the epoch.
    """
    lines: list[str] = []
    for block in (*_device_families(report), *_school_families(report)):
        lines += block
    lines += family("provisioner_health_devices", "gauge",
                    "Devices per state in the last health check.",
                    [({"state": state}, float(n)) for state, n in report.states.items()])
    lines += family("provisioner_health_run_duration_seconds", "gauge",
                    "Wall time of the last health check.", [({}, report.duration_s)])
    lines += family("provisioner_health_last_run_timestamp_seconds", "gauge",
                    "When the last health check finished (Unix time).", [({}, finished_unix)])
    lines += family("provisioner_health_exit_status", "gauge",
                    "Exit status of the last health check "
                    "(0 ok, 10 warning, 11 critical, 12 unknown or stale).",
                    [({}, float(report.exit_status))])
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, text: str) -> None:
    """Write `text` to `path` atomically: a temporary file in the same folder, then rename.

    Raises:
        EnvironmentProblemError: the folder is missing or not writable (the old file, if
            any, stays as it was).
    """
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise EnvironmentProblemError(
            f"Prometheus file {path}: cannot write into {path.parent} ({exc.strerror}); "
            "create the folder or pass another --prometheus path") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # node_exporter runs as another user: the file must be readable by it.
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise EnvironmentProblemError(
            f"Prometheus file {path} cannot be written ({exc.strerror})") from exc
