"""Measure `lab up` and `lab down` of one school: 2 servers, 4 switches, 8 APs.

Warm (the default) uses the cached base image; `--cold` uses an empty cache folder of
its own, so the base is built from scratch (debootstrap), and removes it afterwards.
Needs root. Prints the seconds and a markdown table row for docs/benchmarks.md.

    sudo .venv/bin/python bench/lab_up.py            # warm, targets: up < 30 s
    sudo .venv/bin/python bench/lab_up.py --cold     # cold, target: up < 3 min
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from provisioner.config import Settings, load_settings
from provisioner.lab.credentials import ensure_credentials
from provisioner.lab.manager import lab_down, lab_up
from provisioner.lab.topology import LabSpec

SPEC = LabSpec(("100001",), servers=2, switches=4, aps=8, wlan_aps=0)
TARGETS = {"warm": 30.0, "cold": 180.0}


def _settings(cache_dir: Path, lab_dir: Path) -> Settings:
    return Settings(db=lab_dir / "bench.db", inventories=lab_dir / "inventories",
                    cache_dir=cache_dir, lab_dir=lab_dir, playbooks=lab_dir / "playbooks")


@contextmanager
def _empty_cache() -> Iterator[Path]:
    """An empty cache folder for a cold run (the shared one is never touched), removed after."""
    cache_dir = Path(tempfile.mkdtemp(prefix="provisioner-bench-cache-"))
    try:
        yield cache_dir
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)


def _progress(start: float) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"  {time.monotonic() - start:7.2f} s  {message}", file=sys.stderr, flush=True)

    return say


def measure(settings: Settings, runtime: str) -> tuple[float, float, int]:
    """One `lab up` and `lab down`; returns (up seconds, down seconds, hosts up)."""
    credentials = ensure_credentials(settings.lab_dir / "credentials")
    start = time.monotonic()
    state = lab_up(SPEC, settings, credentials, _progress(start), runtime=runtime)
    up = time.monotonic() - start
    start = time.monotonic()
    lab_down(settings, _progress(start))
    down = time.monotonic() - start
    return up, down, len(state.hosts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="build the base image from scratch")
    parser.add_argument("--runs", type=int, default=1, help="repetitions (warm only)")
    parser.add_argument("--runtime", default="auto", choices=["auto", "nspawn", "chroot"])
    parser.add_argument("--cache-dir", type=Path, default=load_settings().cache_dir,
                        help="the warm cache (default: the settings' cache_dir)")
    args = parser.parse_args()
    kind = "cold" if args.cold else "warm"
    lab_dir = Path(tempfile.mkdtemp(prefix="provisioner-bench-lab-"))
    settings = _settings(args.cache_dir, lab_dir)
    ups, downs, hosts = [], [], 0
    try:
        for _ in range(1 if args.cold else args.runs):
            if args.cold:
                with _empty_cache() as empty:
                    up, down, hosts = measure(replace(settings, cache_dir=empty), args.runtime)
            else:
                up, down, hosts = measure(settings, args.runtime)
            ups.append(up)
            downs.append(down)
    finally:
        lab_down(settings, lambda _: None)
        shutil.rmtree(lab_dir, ignore_errors=True)
    up, down = statistics.median(ups), statistics.median(downs)
    verdict = "ok" if up < TARGETS[kind] else f"over the {TARGETS[kind]:.0f} s target"
    print(f"lab up ({kind}): {up:.1f} s ({verdict}); lab down: {down:.1f} s; "
          f"{hosts} Debian hosts, runs: {len(ups)}")
    layout = f"1 school: {SPEC.servers} srv, {SPEC.switches} sw, {SPEC.aps} ap, " \
             f"{SPEC.recorded_aps} recorded ap"
    print(f"| {datetime.date.today()} | lab up {kind} ({layout}; {args.runtime}) "
          f"| {up:.1f} s | lab down {down:.1f} s | {os.cpu_count()} cores |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
