"""The SNMP responder's files: recordings, snmpsim's index of them and the variation modules.

One folder per set of recordings under `<cache_dir>/snmpsim/`, named by a key that hashes
the set and everything that shapes the files (snmpsim and snmpsim-data versions, the
rewrite version, the lab's variation module, the Python). It is built once, into a
temporary folder, indexed by snmpsim itself, and renamed into place under a lock
(`provisioner.files.publish_dir`): concurrent `lab up`s build it once, a crashed build
leaves nothing a later one would use, and a finished folder is never written again
(its files are root's and read-only for the responder, so not even snmpsim can rebuild
an index in it while another lab reads it).

Reachable wherever the cache is: the responder drops root to `nobody` and the cache
usually sits under a home folder only its owner may enter (`/root/.cache`). The
responder therefore runs with the set's folder as its working directory and is given
paths relative to it; a lookup from the working directory never passes the folders
above it. snmpsim names an index file after its data file's path as given, so these
relative paths are also what keeps a built index valid wherever the folder lies.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import LabError
from provisioner.files import publish_dir
from provisioner.lab.recordings import (
    REWRITE_VERSION,
    UPTIME_MODULE,
    data_dir,
    prepare_recordings,
    prepare_variations,
    variation_dir,
)
from provisioner.lab.topology import AP_RECORDINGS, SWITCH_RECORDING

Progress = Callable[[str], None]

# What every lab's simulated switches and recorded APs answer from: `lab prepare`
# builds this set, and a lab with `--device` recordings gets the set with them added.
DEFAULT_RECORDINGS = (SWITCH_RECORDING, *AP_RECORDINGS)
INDEX_DIR = "index"
INDEX_MODULE = "provisioner.lab.snmpsim_runner"
_INDEX_TIMEOUT_S = 600


@dataclass(frozen=True)
class SnmpData:
    """A ready set: the folder and, relative to it, what the responder is given.

    Attributes:
        root: the set's folder (the responder's working directory).
        data_dir: the recordings (snmpsim's `--data-dir`), relative to `root`.
        index_dir: snmpsim's index of them (`--cache-dir`), relative to `root`.
        variation_dir: the variation modules (`--variation-modules-dir`), relative to `root`.
        recordings: the recordings in it.
    """

    root: Path
    data_dir: str
    index_dir: str
    variation_dir: str
    recordings: tuple[str, ...]


def snmp_cache(cache_dir: Path) -> Path:
    """The folder under the cache that holds every set (and the labs' boots files)."""
    return cache_dir / "snmpsim"


def _versions() -> dict[str, str]:
    return {"snmpsim": importlib.metadata.version("snmpsim"),
            "snmpsim-data": importlib.metadata.version("snmpsim-data")}


def data_key(recordings: Iterable[str]) -> str:
    """The set's key: changes with the recordings or anything that shapes its files."""
    material = json.dumps({
        "recordings": sorted(set(recordings)), "versions": _versions(),
        "rewrite": REWRITE_VERSION, "python": list(sys.version_info[:2]),
        "uptime": hashlib.sha256(UPTIME_MODULE.read_bytes()).hexdigest(),
    }, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _layout(root: Path, recordings: tuple[str, ...]) -> SnmpData:
    return SnmpData(root=root, data_dir=data_dir(root).name, index_dir=INDEX_DIR,
                    variation_dir=variation_dir(root).name, recordings=recordings)


def set_path(cache_dir: Path, recordings: Iterable[str]) -> Path:
    """Where the set of these recordings lives (ready or not)."""
    return snmp_cache(cache_dir) / f"set-{data_key(recordings)}"


def is_ready(cache_dir: Path, recordings: Iterable[str]) -> bool:
    """Whether the set of these recordings is built (a finished set is never changed)."""
    return set_path(cache_dir, recordings).is_dir()


def ensure_snmp_data(cache_dir: Path, recordings: Iterable[str]) -> SnmpData:
    """The set of these recordings, built first if it is not cached yet (a second or two).

    Args:
        cache_dir: the settings' cache folder.
        recordings: recording paths like `network/switch/cisco-c3750`.

    Raises:
        LabError: a recording is not in snmpsim-data, snmpsim could not index it, or the
            cache is not writable.
    """
    names = tuple(sorted(set(recordings)))
    root = set_path(cache_dir, names)
    try:
        _make_public_dir(snmp_cache(cache_dir))
        publish_dir(root, lambda staging: _build(staging, names))
    except OSError as exc:
        raise LabError(f"cannot build the lab's SNMP data in {root.parent} ({exc}); "
                       "check that the cache folder is writable") from exc
    return _layout(root, names)


def _make_public_dir(path: Path) -> None:
    # Explicit mode, whatever the umask: the responder (nobody) goes from its working
    # directory up into this folder to reach its lab's boots file.
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)


def _build(staging: Path, names: tuple[str, ...]) -> None:
    data = prepare_recordings(names, staging)
    prepare_variations(staging)
    (staging / INDEX_DIR).mkdir()
    _index(staging, data.name)
    (staging / "recordings.txt").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    for folder, dirs, files in os.walk(staging):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


def _index(staging: Path, data: str) -> None:
    """Have snmpsim index the recordings, in a process of its own (it works relative to
    its working directory, which a library must not change for its caller's threads)."""
    command = [sys.executable, "-m", INDEX_MODULE, "--index", data, INDEX_DIR]
    try:
        done = subprocess.run(command, cwd=staging, capture_output=True, text=True,
                              timeout=_INDEX_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"snmpsim could not index the lab's recordings ({exc}); "
                       "run 'provision lab prepare' again") from exc
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])[-600:] or "no message"
        raise LabError(f"snmpsim could not index the lab's recordings: {tail}; "
                       "reinstall the lab extras with 'pip install provisioner[lab]'")
