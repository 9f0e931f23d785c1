"""SSIDs for many schools' WLAN controllers in one run: the role against naive uri calls.

A lab of N schools (default 50), each with its Aruba Instant virtual controller (the
lab's HTTPS simulator) and two Instant APs. Each variant starts from controllers without
SSIDs (the lab is rebuilt between variants), makes a first run and a re-run:

  role   one `ansible-playbook` over every school's inventory (`-i` per school) running
         the `wlan_controller` role: its action plugin reads the running config once,
         compares, sends only what differs (a re-run sends nothing)
  uri    the same run with `ansible.builtin.uri`, one task per call and one call per
         SSID (login, RADIUS server, four SSIDs, logout), sent every run: the naive way
  tool   `provision school --id S1 ... --id SN --limit wlan_controllers,access_points`:
         the tool end to end, per school its own run (preflight with TLS pinning, the
         role, read-back of the controller and its APs), schools side by side (--forks)

After every first run each controller is read back: every variant must leave all N
controllers with the school's SSID profiles. Run it in a sandbox of its own (needs root):

    XDG_DATA_HOME=/tmp/bench-wlan/data bash scripts/isolated.sh bench-wlan \\
        .venv/bin/python bench/wlan.py --schools 50

Prints seconds per run and per school, and the markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provisioner.inventory import load_inventories
from provisioner.models import Role
from provisioner.wlan.profile import wlan_profile
from provisioner.wlan.readback import controller_access, profile_differences, read_controller

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PLAN = REPO / "examples" / "plan-musterstadt.csv"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                   re.MULTILINE)
NAMES = {"role": "ansible-playbook, wlan_controller role (compare, then change)",
         "uri": "ansible-playbook, ansible.builtin.uri, one call per SSID",
         "tool": "provision school --id x N (per school: preflight, role, read-back)"}


class Bench:
    def __init__(self, home: Path, schools: int, forks: int) -> None:
        self.home, self.schools, self.forks = home, schools, forks
        self.db = home / "bench.db"
        self.inv = home / "data" / "provisioner" / "lab" / "inventories"
        self.env = {**os.environ, "XDG_DATA_HOME": str(home / "data"),
                    "XDG_CONFIG_HOME": str(home / "config"),
                    "PROVISIONER_MANAGEMENT_NETWORKS": "10.213.0.0/16",
                    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def provision(self, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        done = subprocess.run([str(BIN / "provision"), "--db", str(self.db), "--inventories",
                               str(self.inv), *args], env=self.env, capture_output=True,
                              text=True, check=False)
        if done.returncode not in ok:
            raise SystemExit(f"provision {' '.join(args)} failed ({done.returncode}):\n"
                             f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        return done.stdout

    def lab_up(self) -> list[str]:
        """A fresh lab: controllers without SSIDs; the school ids."""
        self.provision("lab", "down")
        self.provision("lab", "up", "--schools", str(self.schools), "--servers", "0",
                       "--switches", "0", "--aps", "0", "--recorded-aps", "0",
                       "--wlan-aps", "2")
        return sorted(p.name for p in self.inv.iterdir() if p.is_dir())

    def playbook(self, playbook: Path, schools: list[str], run_dir: Path) -> tuple[int, int]:
        """One ansible-playbook over every school; (hosts lost, hosts changed)."""
        run_dir.mkdir(parents=True)
        inventories = [arg for s in schools for arg in ("-i", str(self.inv / s))]
        env = {**self.env, "ANSIBLE_ROLES_PATH": str(REPO / "playbooks" / "roles"),
               "ANSIBLE_ACTION_PLUGINS": str(REPO / "provisioner" / "ansible_plugins" / "action"),
               "ANSIBLE_FORKS": str(self.forks), "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_LOCAL_TEMP": str(run_dir / "tmp"), "ANSIBLE_RETRY_FILES_ENABLED": "0"}
        done = subprocess.run([str(BIN / "ansible-playbook"), *inventories, str(playbook)],
                              env=env, cwd=run_dir, capture_output=True, text=True, check=False)
        (run_dir / "stdout").write_text(done.stdout + done.stderr)
        recap = RECAP.findall(done.stdout)
        lost = sum(int(u) > 0 or int(f) > 0 for _h, _ok, _c, u, f in recap)
        changed = sum(int(c) > 0 for _h, _ok, c, _u, _f in recap)
        return lost + max(0, len(schools) - len(recap)), changed

    def tool(self, schools: list[str]) -> tuple[int, int]:
        ids = [arg for s in schools for arg in ("--id", s)]
        out = self.provision("--json", "school", *ids, "--limit",
                             "wlan_controllers,access_points", "--yes", "--forks",
                             str(self.forks), ok=(0, 7))
        runs = json.loads(out)
        hosts = [h for r in runs for h in r.get("hosts", [])]
        controllers = [h for h in hosts if h["role"] == Role.WLAN_CONTROLLER.value]
        lost = sum(h["status"] != "verified" for h in hosts)
        return lost, sum(int(h["changed"]) > 0 for h in controllers)

    def controllers_done(self, schools: list[str]) -> int:
        """How many schools' controllers hold every SSID profile of their school."""
        done = 0
        for school in schools:
            for device in load_inventories(self.inv, school).devices:
                if device.role is Role.WLAN_CONTROLLER:
                    snapshot = read_controller(controller_access(device))
                    network = device.vars.get("school_network")
                    profile = wlan_profile(network if isinstance(network, dict) else {})
                    done += not profile_differences(profile, snapshot.config)
        return done


def run_variant(bench: Bench, variant: str, run_root: Path) -> list[tuple[float, int, int, int]]:
    """First run and re-run: (seconds, hosts lost, hosts changed, schools done) each."""
    started = time.monotonic()
    schools = bench.lab_up()
    print(f"  lab up: {len(schools)} schools, a controller and 2 APs each, in "
          f"{time.monotonic() - started:.1f} s (with the previous lab's down)", flush=True)
    found = []
    for round_name in ("first", "re-run"):
        started = time.monotonic()
        if variant == "tool":
            lost, changed = bench.tool(schools)
        else:
            playbook = REPO / "bench" / "wlan" / ("ssids.yml" if variant == "role"
                                                 else "ssids_uri.yml")
            lost, changed = bench.playbook(playbook, schools, run_root / f"{variant}-{round_name}")
        elapsed = time.monotonic() - started
        done = bench.controllers_done(schools)
        found.append((elapsed, lost, changed, done))
        print(f"  {variant:4s} {round_name:7s} {elapsed:7.1f} s  "
              f"{elapsed / len(schools):6.2f} s/school  lost {lost}  changed {changed}  "
              f"controllers with the profile {done}/{len(schools)}", flush=True)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--forks", type=int, default=25,
                        help="Ansible forks; for `tool` also the schools run side by side")
    parser.add_argument("--variants", default="role,uri,tool")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/wlan.py needs root: run it through scripts/isolated.sh", file=sys.stderr)
        return 6
    home = Path(tempfile.mkdtemp(prefix="bench-wlan-"))
    bench = Bench(home, args.schools, args.forks)
    bench.provision("plan", "import", str(PLAN))
    results = {}
    try:
        for variant in args.variants.split(","):
            results[variant] = run_variant(bench, variant, home / "runs")
    finally:
        bench.provision("lab", "down")
    report(results, args.schools, args.forks)
    return 0


def report(results: dict[str, list[tuple[float, int, int, int]]], schools: int,
           forks: int) -> None:
    """The markdown table for docs/benchmarks.md."""
    print(f"\n| variant ({schools} schools, forks {forks}) | first run s | s/school | re-run s "
          "| s/school | changed on re-run | hosts lost | controllers with the profile |")
    print("|---|---|---|---|---|---|---|---|")
    for variant, (first, again) in results.items():
        print(f"| {NAMES[variant]} | {first[0]:.1f} | {first[0] / schools:.2f} | "
              f"{again[0]:.1f} | {again[0] / schools:.2f} | {again[2]} | "
              f"{first[1]} + {again[1]} | {first[3]}/{schools} |")


if __name__ == "__main__":
    raise SystemExit(main())
