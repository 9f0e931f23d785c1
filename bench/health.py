"""Benchmark: polling the full switch profile of N devices, side by side in one run.

N devices answer from real net-snmp `snmpd` agents on loopback addresses 127.64.x.y
(several snmpd processes, each listening on up to `--per-agent` addresses given on its
command line). The namespace gets 24 extra interfaces (veth pairs), so each agent's
ifTable/ifXTable has 25 rows, like an access switch. Every poller asks every device
for the same data: the system scalars, then the IF-MIB columns of the switch profile
(provisioner.health.profiles.interfaces).

Pollers, one after the other against the same agents:
  ours-fast     provisioner's default backend (`make_backend()`: its own SNMPv2c codec
                on one socket), GETBULK on all columns at once
  ours-ezsnmp   the same poll through the ezsnmp backend (threads)
  ours-pysnmp   the pure-Python reference backend (pysnmp 7, asyncio)
  netsnmp-cli   net-snmp's `snmpget` + `snmpbulkwalk` (ifEntry, ifXEntry) per device,
                16 in parallel: how LibreNMS polls
  ezsnmp-plain  ezsnmp used directly with 16 threads: a session per device, get +
                bulk_walk of ifEntry and ifXEntry

Prints wall time, devices/s and the poller's CPU ms per device (getrusage: own
process for in-process pollers, reaped children for the CLI; the agents are not
counted), the agents' CPU, and the ratios against netsnmp-cli. Bounded: every agent is
stopped at the end, and an alarm ends the run after `--max-seconds`. Traffic goes only
to 127.0.0.0/8. Needs root (veth pairs): run it in a sandbox of its own:

    bash scripts/isolated.sh bench-health .venv/bin/python bench/health.py --devices 1000
    bash scripts/isolated.sh bench-health .venv/bin/python bench/health.py --devices 1000 --v3
    bash scripts/isolated.sh bench-health .venv/bin/python bench/health.py --devices 10000 \\
        --pollers ours-fast,netsnmp-cli,ezsnmp-plain
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from provisioner.health.profiles.interfaces import INTERFACES
from provisioner.snmp import IDENTITY_REQUEST, PollRequest, SnmpTarget, SnmpV3User, make_backend
from provisioner.snmp.agent import SnmpdAgent

PORT = 1161
COMMUNITY = "public"
USER, AUTH, PRIV = "pvtest", "auth-pass-123", "priv-pass-456"  # the agents' (SnmpdAgent)


@dataclass(frozen=True)
class Security:
    """v2c, or SNMPv3 authPriv SHA/AES (`user` set: secret files for our poller)."""

    user: SnmpV3User | None = None

    def cli(self) -> list[str]:
        if self.user is None:
            return ["-v2c", "-c", COMMUNITY]
        return ["-v3", "-l", "authPriv", "-u", USER, "-a", "SHA", "-A", AUTH, "-x", "AES",
                "-X", PRIV]

    def ezsnmp(self) -> dict[str, object]:
        if self.user is None:
            return {"version": 2, "community": COMMUNITY}
        return {"version": 3, "security_level": "authPriv", "security_username": USER,
                "auth_protocol": "SHA", "auth_passphrase": AUTH, "privacy_protocol": "AES",
                "privacy_passphrase": PRIV}

    def target(self, name: str, address: str) -> SnmpTarget:
        if self.user is None:
            return SnmpTarget(name, address, PORT, community=COMMUNITY)
        return SnmpTarget(name, address, PORT, user=self.user)
#: The full switch profile's SNMP part: system scalars + every IF-MIB column it reads.
SWITCH = PollRequest(gets=IDENTITY_REQUEST.gets, walks=INTERFACES.walks)
IF_ENTRY, IFX_ENTRY = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
POLLERS = ("ours-fast", "ours-ezsnmp", "ours-pysnmp", "netsnmp-cli", "ezsnmp-plain")


@dataclass
class Outcome:
    """What one poller did."""

    name: str
    devices: int
    ok: int
    wall_s: float
    cpu_s: float
    agent_cpu_s: float

    @property
    def cpu_ms_per_device(self) -> float:
        return self.cpu_s * 1000 / self.devices


def addresses(count: int) -> list[str]:
    """`count` loopback addresses 127.64.0.1, 127.64.0.2, ... (never outside 127/8)."""
    base = ipaddress.IPv4Address("127.64.0.1")
    out = [str(base + i) for i in range(count)]
    assert all(ipaddress.IPv4Address(a) in ipaddress.IPv4Network("127.0.0.0/8") for a in out)
    return out


@contextmanager
def switch_ports(pairs: int) -> Iterator[None]:
    """Add `pairs` veth pairs (2 interfaces each) to this namespace for the agents'
    ifTable; removed again at the end."""
    names = [f"pvb{i}" for i in range(pairs)]
    try:
        for name in names:
            subprocess.run(["ip", "link", "add", f"{name}a", "type", "veth", "peer", "name",
                            f"{name}b"], check=True, capture_output=True)
        yield
    finally:
        for name in names:
            subprocess.run(["ip", "link", "del", f"{name}a"], check=False, capture_output=True)


@contextmanager
def agents(workdir: Path, targets: Sequence[str], per_agent: int) -> Iterator[list[int]]:
    """snmpd processes serving `targets` (each `per_agent` addresses); yields their PIDs."""
    started: list[SnmpdAgent] = []
    try:
        for n, first in enumerate(range(0, len(targets), per_agent)):
            chunk = [f"{a}:{PORT}" for a in targets[first:first + per_agent]]
            agent = SnmpdAgent(workdir / f"agent{n}", chunk, community=COMMUNITY)
            agent.start(wait_s=60)
            started.append(agent)
        yield [a.process.pid for a in started if a.process is not None]
    finally:
        for agent in started:
            agent.stop()


def agent_cpu(pids: Sequence[int]) -> float:
    """CPU seconds (user+system) the agents used so far, from /proc/PID/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def cpu_now(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, poll: Callable[[], int], devices: int, pids: Sequence[int],
            children: bool = False) -> Outcome:
    """Run one poller; CPU is this process's (or its reaped children's)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    cpu0, agent0, wall0 = cpu_now(who), agent_cpu(pids), time.perf_counter()
    ok = poll()
    wall = time.perf_counter() - wall0
    return Outcome(name, devices, ok, wall, cpu_now(who) - cpu0, agent_cpu(pids) - agent0)


def poll_ours(backend_name: str, targets: Sequence[str], concurrency: int,
              security: Security) -> int:
    devices = [security.target(f"sw{i}", a) for i, a in enumerate(targets)]
    backend = make_backend(backend_name)
    try:
        results = backend.poll(devices, SWITCH, timeout=2.0, retries=1,
                               concurrency=concurrency)
    finally:
        backend.close()
    return sum(1 for r in results if r.ok and r.data is not None
               and len(r.data.tables[INTERFACES.walks[0]]) > 1)


def _cli_device(address: str, security: Security) -> bool:
    target = f"{address}:{PORT}"
    common = [*security.cli(), "-On", "-t", "2", "-r", "1"]
    ok = subprocess.run(["snmpget", *common, target, *SWITCH.gets],
                        capture_output=True, check=False).returncode == 0
    for entry in (IF_ENTRY, IFX_ENTRY):
        walk = subprocess.run(["snmpbulkwalk", *common, "-Cr25", target, entry],
                              capture_output=True, check=False)
        ok = ok and walk.returncode == 0 and walk.stdout.count(b"\n") > 1
    return ok


def poll_cli(targets: Sequence[str], parallel: int, security: Security) -> int:
    with ThreadPoolExecutor(parallel) as pool:
        return sum(pool.map(lambda a: _cli_device(a, security), targets))


def poll_ezsnmp_plain(targets: Sequence[str], threads: int, security: Security) -> int:
    from ezsnmp import Session  # the baseline uses the library directly, on purpose

    def one(address: str) -> bool:
        try:
            session = Session(hostname=address, port_number=PORT, timeout=2, retries=1,
                              print_oids_numerically=True, set_max_repeaters_to_num="25",
                              **security.ezsnmp())
            plain = Session(hostname=address, port_number=PORT, timeout=2, retries=1,
                            print_oids_numerically=True, **security.ezsnmp())
            plain.get(list(SWITCH.gets))
            rows = len(session.bulk_walk(IF_ENTRY)) + len(session.bulk_walk(IFX_ENTRY))
        except Exception:  # a failed device counts as not ok, like the others'
            return False
        return rows > 2

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(one, targets))


def run(pollers: Sequence[str], targets: Sequence[str], pids: Sequence[int],
        concurrency: int, security: Security) -> list[Outcome]:
    plans: dict[str, tuple[Callable[[], int], bool]] = {
        "ours-fast": (lambda: poll_ours("fast", targets, concurrency, security), False),
        "ours-ezsnmp": (lambda: poll_ours("ezsnmp", targets, concurrency, security), False),
        "ours-pysnmp": (lambda: poll_ours("pysnmp", targets, concurrency, security), False),
        "netsnmp-cli": (lambda: poll_cli(targets, 16, security), True),
        "ezsnmp-plain": (lambda: poll_ezsnmp_plain(targets, 16, security), False),
    }
    outcomes = []
    for name in pollers:
        poll, children = plans[name]
        outcome = measure(name, poll, len(targets), pids, children)
        print(f"  {name}: {outcome.ok}/{outcome.devices} ok in {outcome.wall_s:.1f} s",
              flush=True)
        outcomes.append(outcome)
    return outcomes


def report(outcomes: Sequence[Outcome]) -> None:
    ref = next((o for o in outcomes if o.name == "netsnmp-cli"), None)
    print(f"\n{'poller':14} {'ok':>7} {'wall s':>8} {'dev/s':>8} {'CPU ms/dev':>11} "
          f"{'agent ms/dev':>13} {'CPU vs cli':>11} {'wall vs cli':>12}")
    for o in outcomes:
        cpu_ratio = f"{o.cpu_s / ref.cpu_s:.3f}" if ref and ref.cpu_s else "-"
        wall_ratio = f"{o.wall_s / ref.wall_s:.3f}" if ref and ref.wall_s else "-"
        print(f"{o.name:14} {o.ok:>7} {o.wall_s:>8.1f} {o.devices / o.wall_s:>8.0f} "
              f"{o.cpu_ms_per_device:>11.2f} {o.agent_cpu_s * 1000 / o.devices:>13.2f} "
              f"{cpu_ratio:>11} {wall_ratio:>12}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--per-agent", type=int, default=1000,
                        help="addresses per snmpd process")
    parser.add_argument("--pollers", default=",".join(POLLERS),
                        help=f"comma-separated, in order (of {', '.join(POLLERS)})")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="devices in flight for our poller")
    parser.add_argument("--ports", type=int, default=12, help="veth pairs (2 ifs each)")
    parser.add_argument("--max-seconds", type=int, default=1800)
    parser.add_argument("--v3", action="store_true", help="SNMPv3 authPriv (SHA/AES), not v2c")
    args = parser.parse_args(argv)
    pollers = [p for p in args.pollers.split(",") if p]
    unknown = set(pollers) - set(POLLERS)
    if unknown or os.geteuid() != 0:
        print(f"error: unknown poller(s) {sorted(unknown)}" if unknown else
              "error: needs root (veth pairs); run it in scripts/isolated.sh", file=sys.stderr)
        return 2
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("bench")))
    signal.alarm(args.max_seconds)
    workdir = Path(tempfile.mkdtemp(prefix="pv-bench-health-"))
    targets = addresses(args.devices)
    security = Security()
    if args.v3:
        (workdir / "auth").write_text(AUTH)
        (workdir / "priv").write_text(PRIV)
        security = Security(SnmpV3User(USER, workdir / "auth", workdir / "priv"))
    version = "v3 authPriv" if args.v3 else "v2c"
    print(f"SNMP{version}: {args.devices} devices on "
          f"{-(-args.devices // args.per_agent)} snmpd agents, "
          f"{2 * args.ports + 1} interfaces each, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    try:
        with switch_ports(args.ports), agents(workdir, targets, args.per_agent) as pids:
            report(run(pollers, targets, pids, args.concurrency, security))
    finally:
        signal.alarm(0)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"threads left: {threading.active_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
