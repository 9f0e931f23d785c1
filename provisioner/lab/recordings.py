"""The snmpsim-data recordings the lab's SNMP devices answer from, unpacked once.

snmpsim-data ships its recordings bz2-compressed; snmpsim reads only plain
`.snmprec` files. They are unpacked once into a shared cache, keyed by the
snmpsim-data version and this module's own rewrite version. While unpacking,
sysUpTime and the interface octet counters get snmpsim's `numeric` variation so
they move like a live device's instead of standing still.
"""

from __future__ import annotations

import bz2
import importlib.metadata
import importlib.util
import os
import zlib
from collections.abc import Iterable
from pathlib import Path

from provisioner.errors import LabError

_REWRITE_VERSION = 1  # bump when _vary() changes, so old caches are not reused
_SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
# ifInOctets, ifOutOctets (32-bit) and ifHCInOctets, ifHCOutOctets (64-bit)
_OCTET_COLUMNS = {
    "1.3.6.1.2.1.2.2.1.10.": "in",
    "1.3.6.1.2.1.2.2.1.16.": "out",
    "1.3.6.1.2.1.31.1.1.1.6.": "in",
    "1.3.6.1.2.1.31.1.1.1.10.": "out",
}
_COUNTER_TAGS = {"65", "70"}  # Counter32, Counter64


def _package_dir(package: str, distribution: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise LabError(
            f"{distribution} is not installed; install the lab extras "
            "with 'pip install provisioner[lab]'"
        )
    return Path(spec.origin).parent


def source_dir() -> Path:
    """Where snmpsim-data keeps its compressed recordings.

    Raises:
        LabError: snmpsim-data is not installed.
    """
    return _package_dir("snmpsim_data", "snmpsim-data") / "data"


def prepare_variations(cache: Path) -> Path:
    """A variation modules dir holding only snmpsim's `numeric` module; return it.

    snmpsim loads every module in its variation dir, and the redis and sql ones
    log a failure each time for want of a server; only `numeric` is used here.

    Raises:
        LabError: snmpsim is not installed, or the cache is not writable.
    """
    source = _package_dir("snmpsim", "snmpsim") / "variation" / "numeric.py"
    target_dir = cache / f"variation-{importlib.metadata.version('snmpsim')}"
    target = target_dir / "numeric.py"
    if target.is_file():
        return target_dir
    try:
        _make_dirs(cache, target_dir)
        tmp = target.with_name(f".numeric.{os.getpid()}.tmp")
        tmp.write_bytes(source.read_bytes())
        tmp.chmod(0o644)
        os.replace(tmp, target)
    except OSError as exc:
        raise LabError(
            f"cannot copy snmpsim's numeric variation into {cache} ({exc}); "
            "check that the directory is writable"
        ) from exc
    return target_dir


def data_dir(cache: Path) -> Path:
    """The unpacked recordings for the installed snmpsim-data, under `cache`."""
    version = importlib.metadata.version("snmpsim-data")
    return cache / f"data-{version}-r{_REWRITE_VERSION}"


def _octet_rate(direction: str, if_index: str) -> int:
    # Deterministic per interface, so the 32- and 64-bit counters of one
    # interface agree and a restarted lab shows the same traffic.
    return 2_000 + zlib.crc32(f"{direction}.{if_index}".encode()) % 200_000


def _vary(line: str) -> str:
    """Give one recording line the `numeric` variation if it is uptime or an octet counter."""
    parts = line.split("|", 2)
    if len(parts) != 3 or ":" in parts[1]:
        return line
    oid, tag, value = parts
    if oid == _SYS_UPTIME and tag == "67" and value.isdigit():
        # TimeTicks are 1/100 s: count on from the recorded uptime.
        return f"{oid}|67:numeric|initial={value},rate=100,wrap=1"
    if tag in _COUNTER_TAGS and value.isdigit() and int(value) > 0:
        for prefix, direction in _OCTET_COLUMNS.items():
            if oid.startswith(prefix):
                rate = _octet_rate(direction, oid[len(prefix) :])
                return f"{oid}|{tag}:numeric|initial={value},rate={rate},wrap=1"
    return line


def _make_dirs(root: Path, leaf: Path) -> None:
    # Explicit modes, whatever the umask: the responder reads these as `nobody`.
    for directory in [*reversed(leaf.relative_to(root).parents), leaf.relative_to(root)]:
        path = root / directory
        path.mkdir(exist_ok=True)
        path.chmod(0o755)


def _unpack(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with bz2.open(source, "rt", encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as dst:
        for line in src:
            dst.write(_vary(line.rstrip("\n")) + "\n")
    tmp.chmod(0o644)
    # snmpsim rebuilds an index that is not strictly newer (in whole seconds) than
    # its data file; dating the data back to its source keeps a built index valid.
    source_stat = source.stat()
    os.utime(tmp, ns=(source_stat.st_atime_ns, source_stat.st_mtime_ns))
    # Atomic, so a lab starting at the same time never reads a half-written file.
    os.replace(tmp, target)


def prepare_recordings(recordings: Iterable[str], cache: Path) -> Path:
    """Unpack the named recordings into the cache, once, and return the data dir.

    Args:
        recordings: recording paths like `network/switch/cisco-c3750`.
        cache: the cache root; the recordings land in a versioned dir below it.

    Returns:
        The dir to give snmpsim as `--data-dir`.

    Raises:
        LabError: a recording does not exist in snmpsim-data, or the cache is not writable.
    """
    target_root = data_dir(cache)
    sources = source_dir()
    for name in sorted(set(recordings)):
        source = sources / f"{name}.snmprec.bz2"
        target = target_root / f"{name}.snmprec"
        if target.is_file():
            continue
        if not source.is_file():
            raise LabError(
                f"recording {name!r} is not in snmpsim-data ({source} missing); "
                "reinstall the lab extras with 'pip install provisioner[lab]'"
            )
        try:
            _make_dirs(cache, target.parent)
            _unpack(source, target)
        except OSError as exc:
            raise LabError(
                f"cannot unpack recording {name!r} into {cache} ({exc}); "
                "check that the directory is writable"
            ) from exc
    return target_root
