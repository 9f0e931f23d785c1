"""Benchmark: checking the inventories of a city (issue 6: 100 schools x 70 devices < 10 s).

Writes N school folders (default 100) of 2 servers, 20 switches and 48 access points
each (7,000 hosts), with group_vars (the network profile) and an `uplink` per device,
into a temporary folder. Then, side by side in one run:

- provisioner: `load_inventories` + `check_inventory`, what `provision inventory check`
  does (Ansible's InventoryManager/VariableManager in process, roles, uplinks, checks);
- reference: one `ansible-inventory -i <school> --list` subprocess per school, the
  other way to let Ansible read the inventories (parsing its JSON included).

Prints the seconds of each, their ratio and a markdown row for docs/benchmarks.md.

    .venv/bin/python bench/inventory.py                   # 100 schools, both ways
    .venv/bin/python bench/inventory.py --schools 20 --no-reference
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provisioner.inventory import check_inventory, load_inventories, write_school_inventory
from provisioner.inventory.profile import network_profile
from provisioner.models import Device, Role

ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"
PER_SCHOOL = ((Role.SERVER, "srv", 2, "debian"), (Role.SWITCH, "sw", 20, "cisco_ios"),
              (Role.ACCESS_POINT, "ap", 48, "aruba_instant"))


def school_devices(school_id: str, school_no: int) -> list[Device]:
    """70 devices of one school: sw01 is the core, the rest hang off switch ports."""
    devices = []
    for subnet, (role, prefix, count, platform) in enumerate(PER_SCHOOL):
        for n in range(1, count + 1):
            name = f"{school_id}-{prefix}{n:02d}"
            if role is Role.SWITCH:
                uplink = ("", "") if n == 1 else (f"{school_id}-sw01", f"Gi1/0/{24 + n}")
            else:
                uplink = (f"{school_id}-sw{2 + n % 19:02d}", f"Gi1/0/{n}")
            devices.append(Device(school_id, name, role, platform,
                                  f"10.{school_no}.{subnet}.{n + 9}", serial=f"SN{name}",
                                  room=f"Raum {n}", uplink_host=uplink[0],
                                  uplink_port=uplink[1]))
    return devices


def write_city(root: Path, schools: int) -> list[str]:
    """Write the school folders; returns the school ids."""
    ids = [f"{100001 + n}" for n in range(schools)]
    for school_no, school_id in enumerate(ids, start=1):
        write_school_inventory(root, school_id, school_devices(school_id, school_no % 250 + 1),
                               {"all": network_profile(school_no % 250 + 1),
                                "switches": {"ansible_user": "provisioner"}})
    return ids


def time_provisioner(root: Path, ids: list[str]) -> tuple[float, float, int]:
    """Wall and CPU seconds (this process and its children) of a full check."""
    start, cpu = time.perf_counter(), _cpu()
    report = check_inventory(load_inventories(root), [], set(ids), str(root))
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    if report.problems:
        raise SystemExit(f"the generated inventories have problems: {report.problems[:3]}")
    return seconds, cpu, len(report.devices)


def _cpu() -> float:
    own, children = os.times(), os.times()
    return own.user + own.system + children.children_user + children.children_system


def time_reference(root: Path, ids: list[str]) -> tuple[float, float, int]:
    """Wall and CPU seconds of one ansible-inventory subprocess per school."""
    start, cpu = time.perf_counter(), _cpu()
    hosts = 0
    for school_id in ids:
        out = subprocess.run([str(ANSIBLE_INVENTORY), "-i", str(root / school_id), "--list"],
                             check=True, capture_output=True, text=True).stdout
        hosts += len(json.loads(out)["_meta"]["hostvars"])
    return time.perf_counter() - start, _cpu() - cpu, hosts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the ansible-inventory subprocesses")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as tmp:
        root = Path(tmp)
        ids = write_city(root, args.schools)
        ours, ours_cpu, devices = time_provisioner(root, ids)
        print(f"provisioner (InventoryManager in process + checks): {devices} devices "
              f"in {ours:.2f} s wall, {ours_cpu:.2f} s CPU")
        command = f"`.venv/bin/python bench/inventory.py --schools {args.schools}`"
        if args.no_reference:
            print(f"| {args.schools} | {devices} | {ours:.2f} / {ours_cpu:.2f} | | | {command} |")
            return
        ref, ref_cpu, hosts = time_reference(root, ids)
        print(f"reference (ansible-inventory --list per school): {hosts} hosts in {ref:.2f} s "
              f"wall, {ref_cpu:.2f} s CPU")
        print(f"ratio: reference / provisioner = {ref / ours:.1f}x wall, "
              f"{ref_cpu / ours_cpu:.1f}x CPU")
        print(f"| {args.schools} | {devices} | {ours:.2f} / {ours_cpu:.2f} | {ref:.2f} / "
              f"{ref_cpu:.2f} | {ref / ours:.1f}x / {ref_cpu / ours_cpu:.1f}x | {command} |")

if __name__ == "__main__":
    main()
