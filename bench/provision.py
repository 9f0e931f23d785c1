"""Provision lab schools of 20 SSH-managed hosts: `provision school` against plain Ansible.

Each variant gets its own lab school (4 servers, 6 switches, 12 Linux APs, the issue's
example) so that
each first run starts from the same untouched hosts; all schools live in one lab and
the variants run one after another, first runs then idempotent re-runs:

  a   `provision school --id S --yes` (preflight, the play with the tool's default
      strategy, mitogen_linear, and read-back verification)
  b   `ansible-playbook -i inventories/S playbooks/site.yml` with Ansible's defaults
  c   the same, hand-tuned: forks 25, pipelining, ControlPersist, jsonfile fact cache
  l   (with --linear) `provision school --strategy linear`: the tool on plain Ansible
  i   (with --in-order) `provision school --plays-in-order`: the tool with the site
      playbook's plays one after another, as plain Ansible runs them (no slices)

With `--switch-platform aruba_aoss` every school's switches are HPE Aruba AOS-S
(the lab's AOS-S simulator) instead of Cisco IOS. Plain ansible-playbook (b, c) then
gets the platform's cliconf/terminal plugin folders (ANSIBLE_CLICONF_PLUGINS,
ANSIBLE_TERMINAL_PLUGINS): without them it cannot talk to AOS-S at all.

Run it in a sandbox of its own (a lab of 80 devices; needs root):

    XDG_DATA_HOME=/tmp/bench-prov/data bash scripts/isolated.sh bench-prov \\
        .venv/bin/python bench/provision.py --linear

Prints seconds per run, ratios against (b), and hosts lost (any host whose recap
shows a failure or unreachable, or that `provision` did not verify). With `--cpu` each
run's line also gives how busy the machine's cores were (/proc/stat) and the CPU seconds
of the run's own process tree on the controller (the command and every process it
waited for); the rest of the busy time is the lab's hosts, which share the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provisioner.platforms import ansible_plugin_env

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PLAN = REPO / "examples" / "plan-musterstadt.csv"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                   re.MULTILINE)


class Bench:
    def __init__(self, home: Path, servers: int, switches: int, aps: int,
                 playbooks: Path, switch_platform: str = "cisco_ios") -> None:
        self.home = home
        self.switch_platform = switch_platform
        self.playbooks = playbooks
        self.db = home / "bench.db"
        self.inv = home / "data" / "provisioner" / "lab" / "inventories"
        self.spec = (servers, switches, aps)
        self.env = {**os.environ, "XDG_DATA_HOME": str(home / "data"),
                    "XDG_CONFIG_HOME": str(home / "config"),
                    "PROVISIONER_MANAGEMENT_NETWORKS": "10.213.0.0/16",
                    "PROVISIONER_PLAYBOOKS": str(playbooks),
                    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def provision(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "provision"), "--db", str(self.db), "--inventories",
                               str(self.inv), *args], env=self.env, capture_output=True,
                              text=True, check=False)
        if done.returncode not in (0, 7):
            raise SystemExit(f"provision {' '.join(args)} failed ({done.returncode}):\n"
                             f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        return done.stdout

    def lab_up(self, schools: int) -> list[str]:
        self.provision("plan", "import", str(PLAN))
        servers, switches, aps = self.spec
        self.provision("lab", "up", "--schools", str(schools), "--servers", str(servers),
                       "--switches", str(switches), "--aps", str(aps), "--recorded-aps", "0",
                       "--wlan-aps", "0", "--switch-platform", self.switch_platform,
                       "--runtime", "nspawn")
        return sorted(p.name for p in self.inv.iterdir() if p.is_dir())

    def known_hosts(self) -> Path:
        return self.home / "data" / "provisioner" / "lab" / "credentials" / "known_hosts"


class CpuMeter:
    """Busy share of all cores (/proc/stat) and this process's waited children's CPU."""

    def __init__(self) -> None:
        self.busy, self.total = _proc_stat()
        self.children = _children_cpu()

    def report(self, elapsed_s: float) -> str:
        busy, total = _proc_stat()
        share = (busy - self.busy) / max(1, total - self.total)
        cores = os.cpu_count() or 1
        return (f"  cores {share * 100:.0f}% busy = {share * cores * elapsed_s:.0f} CPU s, "
                f"controller tree {_children_cpu() - self.children:.0f} CPU s")


def _proc_stat() -> tuple[int, int]:
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ours(bench: Bench, school: str, flags: tuple[str, ...]) -> tuple[float, int, int]:
    """(seconds, hosts lost, hosts changed) of `provision school --id`."""
    started = time.monotonic()
    out = bench.provision("--json", "school", "--id", school, "--yes", *flags)
    elapsed = time.monotonic() - started
    hosts = json.loads(out)[0]["hosts"]
    lost = sum(h["status"] not in ("verified", "skipped") for h in hosts)
    changed = sum(int(h["counts"]["changed"]) > 0 for h in hosts)
    return elapsed, lost, changed


def _ansible_env(bench: Bench, tuned: bool, run_dir: Path) -> dict[str, str]:
    home = run_dir / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    (home / ".ssh" / "known_hosts").write_bytes(bench.known_hosts().read_bytes())
    # Host key checking stays on, as for us; network_cli pins via $HOME/.ssh/known_hosts.
    # The project's plugins as plain ansible-playbook finds them (playbooks/ansible.cfg:
    # the WLAN controllers' action plugin; the platforms' cliconf/terminal folders too).
    env = {**bench.env, "HOME": str(home), "ANSIBLE_HOST_KEY_CHECKING": "True",
           "ANSIBLE_CONFIG": str(REPO / "playbooks" / "ansible.cfg"), **ansible_plugin_env()}
    if tuned:
        env.update({
            "ANSIBLE_FORKS": "25", "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=300s "
                                "-o ServerAliveInterval=10",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(run_dir / "cp"),
            "ANSIBLE_GATHERING": "smart", "ANSIBLE_CACHE_PLUGIN": "jsonfile",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(run_dir.parent / "facts"),
            "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "3600",
        })
    return env


def run_plain(bench: Bench, school: str, tuned: bool, run_dir: Path) -> tuple[float, int, int]:
    """(seconds, hosts lost, hosts changed) of ansible-playbook, default or hand-tuned."""
    run_dir.mkdir(parents=True)
    started = time.monotonic()
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(bench.inv / school),
                           str(bench.playbooks / "site.yml")],
                          env=_ansible_env(bench, tuned, run_dir), cwd=run_dir,
                          capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    (run_dir / "stdout").write_text(done.stdout)
    recap = RECAP.findall(done.stdout)
    lost = sum(int(u) > 0 or int(f) > 0 for _h, _ok, _c, u, f in recap)
    changed = sum(int(c) > 0 for _h, _ok, c, _u, _f in recap)
    expected = sum(bench.spec)
    return elapsed, lost + max(0, expected - len(recap)), changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--switches", type=int, default=6)
    parser.add_argument("--aps", type=int, default=12)
    parser.add_argument("--linear", action="store_true",
                        help="add variant l (provision school --strategy linear)")
    parser.add_argument("--in-order", action="store_true",
                        help="add variant i (provision school --plays-in-order)")
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    parser.add_argument("--cpu", action="store_true",
                        help="also print each run's busy cores and controller CPU seconds")
    parser.add_argument("--switch-platform", default="cisco_ios",
                        help="the lab switches' platform (cisco_ios, aruba_aoss)")
    parser.add_argument("--playbooks", type=Path, default=REPO / "playbooks",
                        help="the playbooks folder (default: the repository's)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/provision.py needs root: run it through scripts/isolated.sh", file=sys.stderr)
        return 6
    home = Path(tempfile.mkdtemp(prefix="bench-prov-"))
    bench = Bench(home, args.servers, args.switches, args.aps, args.playbooks.resolve(),
                  args.switch_platform)
    variants = (["a", "b", "c"] + (["l"] if args.linear else [])
                + (["i"] if args.in_order else []))
    started = time.monotonic()
    schools = bench.lab_up(len(variants))
    print(f"lab up: {len(schools)} schools of {sum(bench.spec)} SSH-managed hosts "
          f"({args.switch_platform} switches) in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    results: dict[str, list[tuple[float, int, int]]] = {v: [] for v in variants}
    try:
        for round_name in ("first", "re-run"):
            for variant, school in zip(variants, schools, strict=False):
                meter = CpuMeter()
                if variant in OURS:
                    result = run_ours(bench, school, OURS[variant])
                else:
                    result = run_plain(bench, school, variant == "c",
                                       home / f"{variant}-{round_name}")
                results[variant].append(result)
                print(f"  {variant} {round_name:7s} {result[0]:7.1f} s  lost {result[1]}  "
                      f"changed hosts {result[2]}"
                      + (meter.report(result[0]) if args.cpu else ""), flush=True)
    finally:
        if not args.keep:  # --keep leaves the lab and its folder here to look at
            bench.provision("lab", "down")
            shutil.rmtree(home, ignore_errors=True)
    report(results, sum(bench.spec))
    return 0


NAMES = {"a": "provision school --id", "b": "ansible-playbook, defaults",
         "c": "ansible-playbook, hand-tuned", "l": "provision school --id --strategy linear",
         "i": "provision school --id --plays-in-order"}
# The tool's variants and their flags.
OURS = {"a": (), "l": ("--strategy", "linear"), "i": ("--plays-in-order",)}


def report(results: dict[str, list[tuple[float, int, int]]], hosts: int) -> None:
    """The markdown table for docs/benchmarks.md: ratios against (b) and (c)."""
    base, tuned = results["b"], results["c"]
    print(f"\n| variant ({hosts} hosts) | first run s | x vs b | x vs c | re-run s | x vs b | "
          "x vs c | hosts lost | changed hosts on re-run |")
    print("|---|---|---|---|---|---|---|---|---|")
    for variant, runs in results.items():
        first, again = runs[0], runs[1]
        print(f"| {NAMES[variant]} | {first[0]:.1f} | {base[0][0] / first[0]:.2f} | "
              f"{tuned[0][0] / first[0]:.2f} | {again[0]:.1f} | {base[1][0] / again[0]:.2f} | "
              f"{tuned[1][0] / again[0]:.2f} | {first[1]} + {again[1]} | {again[2]} |")


if __name__ == "__main__":
    raise SystemExit(main())
