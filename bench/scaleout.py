"""Execution nodes: 8 lab schools provisioned and health-checked over 1, 2 and 4 nodes.

For each node count the lab is built anew (`lab up --nodes N`: every school behind
its node, the controller without a route to any school), then, timed:

  provision   `provision school --id S1 ... --id S8 --yes`: the 8 schools side by side
              (preflight, play and verification on the nodes)
  health      `provision health`: every device, polled by the nodes, judged and stored
              on the controller

Controller CPU is the `provision` command's own CPU (user + system, its children
included): the nodes' work runs in the node processes, which `lab up` started. With
`--local` a first row runs the same schools with no node (the controller alone, its
children's Ansible included) for comparison.

Run it in a sandbox of its own (needs root; about 20 minutes on 2 busy cores):

    XDG_DATA_HOME=/tmp/bench-scale/data bash scripts/isolated.sh bench-scale \\
        .venv/bin/python bench/scaleout.py --local

Prints one markdown table: per node count, wall seconds and controller CPU
milliseconds per device for each phase, and the devices that did not end well.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PLAN = REPO / "examples" / "plan-musterstadt.csv"
SCHOOLS = 8
LAB = ("--servers", "1", "--switches", "1", "--aps", "0", "--recorded-aps", "1")


@dataclass
class Phase:
    wall_s: float
    cpu_s: float
    devices: int
    bad: int

    def per_device_ms(self) -> float:
        return 1000 * self.cpu_s / max(1, self.devices)


class Bench:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.db = home / "bench.db"
        self.lab_dir = home / "data" / "provisioner" / "lab"
        self.inv = self.lab_dir / "inventories"
        self.env = {**os.environ, "XDG_DATA_HOME": str(home / "data"),
                    "XDG_CONFIG_HOME": str(home / "config"),
                    "PROVISIONER_MANAGEMENT_NETWORKS": "10.213.0.0/16",
                    "PROVISIONER_BROKER_CONFIG": str(self.lab_dir / "nodes" / "controller.toml"),
                    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def provision(self, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[str, float, float]:
        """Run `provision ARGS`; (stdout, wall s, CPU s of it and its children)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        done = subprocess.run([str(BIN / "provision"), "--db", str(self.db), "--inventories",
                               str(self.inv), *args], env=self.env, capture_output=True,
                              text=True, check=False)
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in ok:
            raise SystemExit(f"provision {' '.join(args)}: exit {done.returncode}\n"
                             f"{done.stderr[-3000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return done.stdout, wall, cpu

    def schools(self) -> list[str]:
        return sorted(p.name for p in self.inv.iterdir() if p.is_dir())

    def round(self, nodes: int) -> tuple[Phase, Phase]:
        self.provision("lab", "up", "--schools", str(SCHOOLS), *LAB, "--nodes", str(nodes))
        try:
            self.provision("inventory", "sync")
            ids = [arg for school in self.schools() for arg in ("--id", school)]
            out, wall, cpu = self.provision("--json", "school", *ids, "--yes", ok=(0, 7))
            runs = json.loads(out)
            hosts = [h for r in runs for h in r.get("hosts", []) if h["status"] != "skipped"]
            bad = [h for h in hosts if h["status"] != "verified"]
            provision = Phase(wall, cpu, len(hosts), len(bad))
            out, wall, cpu = self.provision("--json", "health", ok=(0, 10, 11, 12))
            devices = json.loads(out)["devices"]
            sick = [d for d in devices if d["state"] not in ("ok", "warning")]
            for d in sick:  # say why, so a bad row can be read
                print(f"# {nodes} nodes: {d['device']} {d['state']}: {d['reason']}",
                      file=sys.stderr)
            for h in bad:
                print(f"# {nodes} nodes: {h['host']} {h['status']}: {h['message']}",
                      file=sys.stderr)
            return provision, Phase(wall, cpu, len(devices), len(sick))
        finally:
            self.provision("lab", "down")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--local", action="store_true",
                        help="also a first row with no node (the controller alone)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    bench = Bench(home)
    bench.provision("plan", "import", str(PLAN))
    print("| nodes | provision: hosts | wall s | controller CPU ms/host | not verified "
          "| health: devices | wall s | controller CPU ms/device | not ok |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for nodes in ([0] if args.local else []) + list(args.nodes):
        p, h = bench.round(nodes)
        print(f"| {nodes or 'none (controller)'} | {p.devices} | {p.wall_s:.1f} | "
              f"{p.per_device_ms():.0f} | {p.bad} | {h.devices} | {h.wall_s:.1f} | "
              f"{h.per_device_ms():.0f} | {h.bad} |", flush=True)

if __name__ == "__main__":
    main()
