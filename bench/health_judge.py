"""Benchmark: what `provision health` costs per device beyond polling (no network).

The poll itself is measured by bench/health.py. This measures the rest of a run for N
devices of realistic shape (per school 1 core + 9 access switches with 26 ports and PoE,
2 servers with disks and proc checks, 58 APs with radios; every AP and switch hangs off
a switch port): the rules over each device's facts against its previous sample, the
dependency analysis and school summaries, and storing the samples with 30 days of
history already in the database (the nightly prune folds one day into summaries).

    .venv/bin/python bench/health_judge.py --devices 10000

Prints CPU ms per device for each step and the whole, beside the budget the issue sets
for polling (10,000 devices in 60 s wall: 6 ms per device).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from provisioner.db import Store
from provisioner.health.facts import (
    AccessPointFacts,
    DeviceFacts,
    InterfaceFacts,
    PoeFacts,
    ProcessCheck,
    RadioFacts,
    ServerFacts,
    StorageFacts,
    WlanFacts,
)
from provisioner.health.judge import apply_dependencies, judge_answered, school_health
from provisioner.health.run import sample_row
from provisioner.health.targets import PlannedDevice, watched_ports
from provisioner.models import Device, Role

PER_SCHOOL = 70
BUDGET_MS = 6.0  # 10,000 devices in 60 s


def _school(no: int) -> list[Device]:
    school = f"{100001 + no}"
    devices = [Device(school, f"{school}-sw01", Role.SWITCH, "cisco_ios", f"10.{no}.0.1")]
    for n in range(2, 11):
        devices.append(Device(school, f"{school}-sw{n:02d}", Role.SWITCH, "cisco_ios",
                              f"10.{no}.0.{n}", uplink_host=f"{school}-sw01",
                              uplink_port=f"Gi1/0/{n}"))
    for n in range(1, 3):
        devices.append(Device(school, f"{school}-srv{n:02d}", Role.SERVER, "debian",
                              f"10.{no}.1.{n}", uplink_host=f"{school}-sw01",
                              uplink_port=f"Gi1/0/{20 + n}"))
    for n in range(PER_SCHOOL - len(devices)):
        switch = 2 + n % 9
        devices.append(Device(school, f"{school}-ap{n + 1:02d}", Role.ACCESS_POINT,
                              "aruba_instant", f"10.{no}.2.{n + 1}",
                              uplink_host=f"{school}-sw{switch:02d}",
                              uplink_port=f"Gi1/0/{1 + n // 9}"))
    return devices


def _facts(device: Device, uptime: float) -> DeviceFacts:
    common = {"vendor": "Cisco", "model": "WS-C2960X-24PS-L", "sys_name": device.name,
              "uptime_s": uptime}
    if device.role is Role.SWITCH:
        ports = tuple(InterfaceFacts(i, f"GigabitEthernet1/0/{i}", admin="up", oper="up",
                                     in_errors=i, out_errors=0, in_octets=10**9)
                      for i in range(1, 27))
        return DeviceFacts("cisco-ios", interfaces=ports, poe=(PoeFacts(1, 370, "on", 200),),
                           **common)  # type: ignore[arg-type]
    if device.role is Role.SERVER:
        server = ServerFacts(storage=(StorageFacts(31, "/", "fixedDisk", 10**11, 5 * 10**10),),
                             processes=(ProcessCheck("sshd", 1, 1, 0),))
        return DeviceFacts("net-snmp", server=server, **common)  # type: ignore[arg-type]
    wlan = WlanFacts(clients_total=12, aps=(AccessPointFacts("1", device.name, "up", 12),),
                     radios=(RadioFacts(device.name, "1", "up"), RadioFacts(device.name, "2",
                                                                            "up")))
    return DeviceFacts("aruba-controller", wlan=wlan, **common)  # type: ignore[arg-type]


def _cpu() -> float:
    return time.process_time() * 1000


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--history-days", type=int, default=30)
    args = parser.parse_args()
    devices = [d for no in range(max(1, args.devices // PER_SCHOOL)) for d in _school(no)]
    ports = watched_ports(devices)
    planned = [PlannedDevice(d, None, "", d.name, None, ports.get(d.name, {})) for d in devices]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        store.replace_devices(sorted({d.school_id for d in devices}), devices)
        start = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
        for day in range(args.history_days):  # the month of nightly runs before
            _store_run(store, planned, start + dt.timedelta(days=day), None, args)
        cpu = _cpu()
        previous = store.health.previous([d.name for d in devices])
        read_ms = _cpu() - cpu
        figures = {"read previous samples": read_ms,
                   **_store_run(store, planned, start + dt.timedelta(days=args.history_days),
                                previous, args)}
        store.close()
    n = len(devices)
    wall_store = figures.pop("wall_store_ms")
    print(f"{n} devices, {args.history_days} days of samples before")
    total = 0.0
    for step, ms in figures.items():
        total += ms
        print(f"  {step:<34} {ms / n:7.3f} CPU ms/device")
    print(f"  {'whole (beyond polling)':<34} {total / n:7.3f} CPU ms/device = "
          f"{total / n / BUDGET_MS:.1%} of the 6 ms/device polling budget")
    print(f"  storing and pruning took {wall_store / 1000:.2f} s wall (commit and fsync "
          "included)")


def _store_run(store: Store, planned: list[PlannedDevice], at: dt.datetime,
               previous: dict[str, tuple[str, int | None, dict[str, object]]] | None,
               args: argparse.Namespace) -> dict[str, float]:
    now = at.isoformat(timespec="seconds")
    uptime = float(86_400 * (at.day + 1))
    cpu = _cpu()
    judged = [judge_answered(p, _facts(p.device, uptime), 3.0,
                             (previous or {}).get(p.device.name), now) for p in planned]
    rules_ms, cpu = _cpu() - cpu, _cpu()
    judged, deps = apply_dependencies(judged, None)
    by_school: dict[str, list[object]] = {}
    for d in judged:
        by_school.setdefault(d.school_id, []).append(d)
    for school_id, members in by_school.items():
        school_health(school_id, members, deps.dead_sites.get(school_id, ""), {})  # type: ignore[arg-type]
    deps_ms, cpu = _cpu() - cpu, _cpu()
    wall = time.perf_counter()
    run_id = store.health.begin_run(now, "bench", "all", 300.0)
    store.health.finish_run(run_id, finished_at=now, duration_s=1.0,
                            samples=[sample_row(d) for d in judged], dead_sites=[],
                            exit_status=0, retention_days=args.history_days - 1)
    store_ms = _cpu() - cpu
    return {"rules (vs previous sample)": rules_ms, "dependencies + school summaries": deps_ms,
            "store samples + prune one day": store_ms,
            "wall_store_ms": (time.perf_counter() - wall) * 1000}


if __name__ == "__main__":
    main()
