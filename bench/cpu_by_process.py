"""Where the CPU of one `provision school` goes: kernel process accounting, by command.

One lab school of bench/provision.py (4 servers, 6 switches, 12 Linux APs); a first
run and a re-run of `provision school --id`. During each run the kernel's process
accounting (acct(2), the BSD accounting of `accton`) writes a record for every process
that ends: the controller's (ansible-playbook and the workers it forks per host and
task, the switches' `ansible-connection` helpers, ssh) and the lab hosts' (their
mitogen interpreters, dpkg, maintainer scripts), whatever PID namespace it ran in.
Processes that outlive the run (the hosts' systemd, sshd listeners) are not in it;
their share is the /proc/stat busy time minus the records' sum.

Prints, per run: seconds, hosts not verified, CPU seconds by command (`comm`, 15
characters as the kernel keeps it), and ansible-playbook split into its long-lived
processes (the playbooks' own and mitogen's connection multiplexer) and the workers
forked per host and task (count, CPU, minor page faults per worker). Then the lab
hosts' CPU from their cgroups (`cpu.stat` usage_usec before and after the run, each
host's cgroup `pvlab-<host>` with what its systemd made inside: `init.scope` is PID 1
and the generators it runs, `user.slice` the SSH sessions with mitogen's interpreters
and whatever they start, such as apt and dpkg, `system.slice` the services), by kind
of host, and the rest of the busy time: the controller's side (this script and the
lab's switch simulator, under 1 CPU s a run, included).

Run it in a sandbox of its own (root: the lab and acct(2) need it):

    XDG_DATA_HOME=/tmp/bench-cpu/data bash scripts/isolated.sh bench-cpu \\
        .venv/bin/python bench/cpu_by_process.py [--frozen-heap-off N]

`--frozen-heap-off N` adds N pairs of re-runs: one with the heap frozen per play (as
shipped), one without (bench/frozen_heap_off/sitecustomize.py on PYTHONPATH makes
`gc.freeze` do nothing), to compare the workers' CPU and page faults side by side.

Record format: `struct acct_v3` of <linux/acct.h> (64 bytes; times and counts as
`comp_t`, 13-bit mantissa and 3-bit base-8 exponent, in AHZ = 100 ticks per second).
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/ is a folder of scripts, not a package.
from provision import REPO, Bench, _proc_stat

ACCT_V3 = struct.Struct("<BBHIIIIIIfHHHHHHHH16s")
AHZ = 100
FROZEN_HEAP_OFF = Path(__file__).resolve().parent / "frozen_heap_off"
CGROUP_FS = Path("/sys/fs/cgroup")
LONG_LIVED = 3  # ansible-playbook processes that are no worker: two playbooks, one mux each


@dataclass(frozen=True)
class Record:
    comm: str
    cpu_s: float
    minor_faults: int


def comp_t(value: int) -> int:
    """The value of a comp_t (linux/acct.h: 13-bit mantissa, base-8 exponent)."""
    return (value & 0x1FFF) << (3 * (value >> 13))


def read_records(path: Path) -> list[Record]:
    """The records of an acct(2) file (acct_v3 only; other versions are skipped)."""
    data = path.read_bytes()
    records = []
    for offset in range(0, len(data) - ACCT_V3.size + 1, ACCT_V3.size):
        fields = ACCT_V3.unpack_from(data, offset)
        if fields[1] != 3:  # ac_version
            continue
        utime, stime, minflt, comm = fields[10], fields[11], fields[15], fields[18]
        records.append(Record(comm.split(b"\0")[0].decode(errors="replace"),
                              (comp_t(utime) + comp_t(stime)) / AHZ, comp_t(minflt)))
    return records


def busy_seconds() -> float:
    """CPU seconds all cores were busy since boot (/proc/stat: all but idle and iowait)."""
    return _proc_stat()[0] / os.sysconf("SC_CLK_TCK")


def accounting(path: Path | None) -> None:
    """Turn process accounting on (into `path`) or off (None)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.acct(str(path).encode() if path else None) != 0:
        raise SystemExit(f"acct: {os.strerror(ctypes.get_errno())} (needs root)")


def host_cgroups_cpu() -> dict[tuple[str, str], float]:
    """CPU seconds so far of the lab hosts' cgroups: (host, part) -> s, part "" for the
    whole host, else "init.scope", "user.slice" or "system.slice" inside it."""
    roots = [root for root in (CGROUP_FS, CGROUP_FS / "unified")
             if (root / "cgroup.controllers").exists() or (root / "cgroup.procs").exists()]
    usage: dict[tuple[str, str], float] = {}
    for root in roots:
        for host in root.glob("pvlab-*"):
            for part, folder in [("", host), *((p.name, p) for p in host.glob("payload/*"))]:
                try:
                    stat = (folder / "cpu.stat").read_text()
                except OSError:
                    continue
                for line in stat.splitlines():
                    if line.startswith("usage_usec "):
                        usage[(host.name.removeprefix("pvlab-"), part)] = int(line.split()[1]) / 1e6
    return usage


def host_kind(host: str) -> str:
    """The kind of a lab host from its name (100001-srv01 -> srv)."""
    return host.rsplit("-", 1)[-1].rstrip("0123456789") or host


def report_hosts(busy: float, before: dict[tuple[str, str], float],
                 after: dict[tuple[str, str], float]) -> None:
    used = {key: after[key] - before.get(key, 0.0) for key in after}
    kinds = sorted({host_kind(host) for host, _part in used})
    hosts_total = 0.0
    for kind in kinds:
        parts = collections.Counter[str]()
        count = 0
        for (host, part), cpu in used.items():
            if host_kind(host) == kind:
                parts[part] += cpu
                count += part == ""
        hosts_total += parts[""]
        inside = ", ".join(f"{name} {parts[name]:.1f}" for name in
                           ("init.scope", "user.slice", "system.slice"))
        print(f"  lab hosts {kind} ({count}): {parts['']:.1f} CPU s ({inside})")
    print(f"  lab hosts together {hosts_total:.1f} CPU s; the rest of the busy time "
          f"(the controller's side) {busy - hosts_total:.1f} CPU s")
    sys.stdout.flush()


def report(label: str, seconds: float, lost: int, busy: float, records: list[Record]) -> None:
    by_comm: collections.Counter[str] = collections.Counter()
    count: collections.Counter[str] = collections.Counter()
    for record in records:
        by_comm[record.comm] += record.cpu_s
        count[record.comm] += 1
    total = sum(by_comm.values())
    print(f"{label}: {seconds:.1f} s, not verified {lost}; cores busy {busy:.0f} CPU s, "
          f"ended processes {len(records)} with {total:.1f} CPU s")
    for comm, cpu in by_comm.most_common(15):
        print(f"  {cpu:6.1f} CPU s  {count[comm]:5d}  {comm}")
    playbook = sorted((r for r in records if r.comm == "ansible-playboo"),
                      key=lambda r: -r.cpu_s)
    workers = playbook[LONG_LIVED:]
    if workers:
        print(f"  ansible-playbook: long-lived {[round(r.cpu_s, 1) for r in playbook[:LONG_LIVED]]}"
              f" CPU s; {len(workers)} workers {sum(r.cpu_s for r in workers):.1f} CPU s, "
              f"{sum(r.minor_faults for r in workers) // len(workers)} minor faults each")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switch-platform", default="cisco_ios",
                        choices=["cisco_ios", "aruba_aoss"])
    parser.add_argument("--frozen-heap-off", type=int, default=0, metavar="N",
                        help="N more pairs of re-runs: frozen heap as shipped, then off")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    bench = Bench(home, 4, 6, 12, REPO / "playbooks", args.switch_platform)
    school = bench.lab_up(1)[0]
    shipped, off = dict(bench.env), {**bench.env, "PYTHONPATH": str(FROZEN_HEAP_OFF)}
    runs = [("first", shipped), ("re-run", shipped)]
    for n in range(1, args.frozen_heap_off + 1):
        runs += [(f"re-run {n}, frozen heap", shipped), (f"re-run {n}, heap not frozen", off)]
    try:
        for label, env in runs:
            bench.env = env
            measure(bench, school, label, home / f"{label}.acct")
    finally:
        bench.env = shipped
        bench.provision("lab", "down")
        shutil.rmtree(home, ignore_errors=True)  # the accounting files: read above


def measure(bench: Bench, school: str, label: str, path: Path) -> None:
    """One `provision school` under process accounting; its report."""
    path.touch(mode=0o600)
    busy, cgroups = busy_seconds(), host_cgroups_cpu()
    accounting(path)
    started = time.monotonic()
    try:
        out = bench.provision("--json", "school", "--id", school, "--yes")
    finally:
        accounting(None)
    seconds = time.monotonic() - started
    hosts = json.loads(out)[0]["hosts"]
    lost = sum(h["status"] not in ("verified", "skipped") for h in hosts)
    busy = busy_seconds() - busy
    report(label, seconds, lost, busy, read_records(path))
    report_hosts(busy, cgroups, host_cgroups_cpu())


if __name__ == "__main__":
    main()
