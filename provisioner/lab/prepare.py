"""`lab prepare`: build (or find) what every lab is made from, and start nothing.

A lab needs its Debian base root filesystem with its local package repository (built
with debootstrap from the machine's Debian mirror: the only step that needs the
network) and the SNMP responder's recordings with their index. Both are kept in the
settings' cache folder. The test suite runs in a network namespace with no way out,
so the README's test command prepares them first, outside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provisioner.lab.rootfs import BaseImage, base_state, ensure_base, image_paths
from provisioner.lab.snmpdata import (
    DEFAULT_RECORDINGS,
    SnmpData,
    ensure_snmp_data,
    is_ready,
    set_path,
)
from provisioner.lab.syscmd import require_root

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PreparedLab:
    """What a lab is made from, ready in the cache.

    Attributes:
        base: the base root filesystem and the local package repository.
        snmp: the default set of SNMP recordings with snmpsim's index.
        base_s, snmp_s: seconds it took to find or build each (the cold path's cost).
    """

    base: BaseImage
    snmp: SnmpData
    base_s: float = 0.0
    snmp_s: float = 0.0


def prepare_lab(cache_dir: Path, progress: Progress) -> PreparedLab:
    """Build or find the lab's base and its default SNMP data in `cache_dir`.

    Says for each whether it was cached or is being built, before doing it.

    Raises:
        EnvironmentProblemError: not root, a build tool missing, no Debian mirror.
        LabError: a build step failed (the message names it).
    """
    require_root()
    image = image_paths(cache_dir)
    progress(f"the lab's base root filesystem: {base_state(cache_dir)} "
             f"({image.tarball.parent})")
    started = time.monotonic()
    base = ensure_base(cache_dir, progress)
    base_s = time.monotonic() - started
    snmp_state = "cached" if is_ready(cache_dir, DEFAULT_RECORDINGS) else "building"
    progress(f"the lab's SNMP recordings and their index: {snmp_state} "
             f"({set_path(cache_dir, DEFAULT_RECORDINGS)})")
    started = time.monotonic()
    snmp = ensure_snmp_data(cache_dir, DEFAULT_RECORDINGS)
    return PreparedLab(base, snmp, base_s, time.monotonic() - started)
