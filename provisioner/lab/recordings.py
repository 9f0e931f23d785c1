"""The snmpsim-data recordings the lab's SNMP devices answer from, unpacked once.

snmpsim-data 1.0 ships most recordings bz2-compressed (`.snmprec.bz2`) and some plain
(`UPS/apc-7902b.snmprec`). A recording may be in any format snmpsim 1.2 serves
(`snmpsim.variation.RECORD_TYPES`: `.snmprec`, `.snmprec.bz2`, `.snmpwalk`
(net-snmp's `snmpwalk -On` output), `.sapwalk`, `.dump`, `.MVC`), each also
bz2-compressed. Every one is turned into a plain `.snmprec` once, in a folder
keyed by the snmpsim-data version and this module's own rewrite version: the walk
formats by snmpsim's own converter (`snmpsim-manage-records`, run as a command so
that the lab manager never imports snmpsim). While unpacking, the interface octet
counters get snmpsim's `numeric` variation and sysUpTime the lab's `labuptime`
variation, so they move like a live device's instead of standing still (and a
device's uptime restarts when the lab reboots it).
`provisioner.lab.snmpdata` builds the lab's sets of them, with snmpsim's index.

Also: which recordings are installed, what they are (sysDescr), and `--device`'s
`RECORDING:ROLE` parsed against them.
"""

from __future__ import annotations

import bz2
import contextlib
import difflib
import importlib.metadata
import importlib.util
import os
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import LabError
from provisioner.lab import syscmd
from provisioner.lab.topology import RecordedDevice
from provisioner.models import Role
from provisioner.platforms.aruba_aoss import snmp_recording as aoss_recording
from provisioner.platforms.cisco_ios.snmp_recording import (
    LAB_SWITCH_RECORDING,
    SOURCE_RECORDING,
    derive_switch_lines,
)

# Bump when _vary(), labuptime.py or a derived recording changes: old caches are not reused.
REWRITE_VERSION = 6
# The lab's own variation module (sysUpTime a lab "reboot" resets per device).
UPTIME_MODULE = Path(__file__).parent / "data" / "labuptime.py"
_SYS_DESCR = "1.3.6.1.2.1.1.1.0"
_SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
_SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
# The formats snmpsim serves, by file extension -> its record type (`--source-record-type`
# of snmpsim-manage-records); None: snmprec itself. Earlier ones win for the same name.
_FORMATS: dict[str, str | None] = {"snmprec": None, "snmpwalk": "snmpwalk",
                                   "sapwalk": "sapwalk", "dump": "dump", "MVC": "MVC"}
_EXTENSIONS = tuple(f".{ext}{bz}" for ext in _FORMATS for bz in ("", ".bz2"))
Derivation = Callable[[Iterable[str]], Iterable[str]]
# Recordings the lab derives from snmpsim-data's: name -> (source recording, derivation).
DERIVED: dict[str, tuple[str, Derivation]] = {
    LAB_SWITCH_RECORDING: (SOURCE_RECORDING, derive_switch_lines),
    aoss_recording.LAB_RECORDING: (aoss_recording.SOURCE_RECORDING,
                                   aoss_recording.derive_switch_lines),
}
# Records are in OID order: reading stops after the system group's sysName.
_SYS_NAME = "1.3.6.1.2.1.1.5.0"
_LAST_NEEDED = (1, 3, 6, 1, 2, 1, 1, 5, 0)
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
    """A variation modules dir holding only snmpsim's `numeric` and the lab's
    `labuptime` module; return it.

    snmpsim loads every module in its variation dir, and the redis and sql ones
    log a failure each time for want of a server; only these two are used here.

    Raises:
        LabError: snmpsim is not installed, or the cache is not writable.
    """
    sources = [_package_dir("snmpsim", "snmpsim") / "variation" / "numeric.py", UPTIME_MODULE]
    target_dir = variation_dir(cache)
    if all((target_dir / s.name).is_file() for s in sources):
        return target_dir
    try:
        _make_dirs(cache, target_dir)
        for source in sources:
            tmp = target_dir / f".{source.stem}.{os.getpid()}.tmp"
            tmp.write_bytes(source.read_bytes())
            tmp.chmod(0o644)
            os.replace(tmp, target_dir / source.name)
    except OSError as exc:
        raise LabError(
            f"cannot copy the SNMP variation modules into {cache} ({exc}); "
            "check that the directory is writable"
        ) from exc
    return target_dir


def variation_dir(cache: Path) -> Path:
    """The variation modules for the installed snmpsim, under `cache`."""
    version = importlib.metadata.version("snmpsim")
    return cache / f"variation-{version}-r{REWRITE_VERSION}"


def data_dir(cache: Path) -> Path:
    """The unpacked recordings for the installed snmpsim-data, under `cache`."""
    version = importlib.metadata.version("snmpsim-data")
    return cache / f"data-{version}-r{REWRITE_VERSION}"


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
        # TimeTicks are 1/100 s: count on from the recorded uptime, or from a lab reboot.
        return f"{oid}|67:labuptime|initial={value}"
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


def _source(name: str) -> Path | None:
    """The installed file of recording `name`, in whichever format it ships."""
    root = source_dir()
    return next((root / f"{name}{ext}" for ext in _EXTENSIONS
                 if (root / f"{name}{ext}").is_file()), None)


def _format(source: Path) -> tuple[str | None, bool]:
    """(snmpsim record type to convert from, or None for snmprec; bz2-compressed)."""
    name = source.name.removesuffix(".bz2")
    ext = next(e for e in _FORMATS if name.endswith(f".{e}"))
    return _FORMATS[ext], source.name.endswith(".bz2")


@contextlib.contextmanager
def _snmprec_lines(source: Path, errors: str = "strict") -> Iterator[Iterator[str]]:
    """A recording's lines in snmprec form (`OID|TAG|VALUE`), whatever its format.

    Args:
        source: the installed recording file.
        errors: how to decode bytes that are not UTF-8 (`strict`, `replace`).

    Raises:
        LabError: a walk-format recording that snmpsim's converter cannot read.
        OSError, ValueError: the file cannot be read or decompressed.
    """
    record_type, compressed = _format(source)
    if record_type is None:
        opener = bz2.open if compressed else open
        with opener(source, "rt", encoding="utf-8", errors=errors) as handle:
            yield (line.rstrip("\n") for line in handle)
        return
    with tempfile.TemporaryDirectory(prefix="pvlab-rec-") as scratch:
        plain = Path(scratch) / f"in.{record_type}"
        plain.write_bytes(bz2.decompress(source.read_bytes()) if compressed
                          else source.read_bytes())
        converted = Path(scratch) / "out.snmprec"
        syscmd.run([sys.executable, "-m", "snmpsim.commands.rec2rec", "--quiet",
                    "--sort-records", "--ignore-broken-records",
                    "--source-record-type", record_type, "--destination-record-type",
                    "snmprec", "--input-file", plain, "--output-file", converted],
                   step=f"convert recording {source.name} to snmprec")
        if not converted.is_file() or converted.stat().st_size == 0:
            raise LabError(f"recording {source}: snmpsim's converter found no record in it; "
                           f"check that it is {record_type} data")
        with converted.open(encoding="utf-8", errors=errors) as handle:
            yield (line.rstrip("\n") for line in handle)


def _unpack(source: Path, target: Path, derive: Derivation | None = None) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with _snmprec_lines(source) as src, tmp.open("w", encoding="utf-8") as dst:
        lines: Iterable[str] = src
        if derive is not None:
            lines = derive(lines)
        for line in lines:
            dst.write(_vary(line) + "\n")
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
    for name in sorted(set(recordings)):
        origin, derive = DERIVED.get(name, (name, None))
        target = target_root / f"{name}.snmprec"
        if target.is_file():
            continue
        source = _source(origin)
        if source is None:
            raise LabError(
                f"recording {name!r} is not in snmpsim-data (no {origin} with any of "
                f"{', '.join(_EXTENSIONS)} in {source_dir()}); "
                "reinstall the lab extras with 'pip install provisioner[lab]'"
            )
        try:
            _make_dirs(cache, target.parent)
            _unpack(source, target, derive)
        except OSError as exc:
            raise LabError(
                f"cannot unpack recording {name!r} into {cache} ({exc}); "
                "check that the directory is writable"
            ) from exc
    return target_root


@dataclass(frozen=True)
class RecordingInfo:
    """One installed snmpsim-data recording, as `provision lab recordings` lists it.

    Attributes:
        path: the recording path (`--device` and SNMP context), e.g. `network/wifi/aruba-7010`.
        sys_descr: its recorded sysDescr, first line (vendor, model, firmware), or "".
        sys_object_id: its recorded sysObjectID (the vendor's enterprise branch), or "".
        sys_name: its recorded sysName (what the device answers as its name), or "".
    """

    path: str
    sys_descr: str
    sys_object_id: str
    sys_name: str = ""


def installed_recordings() -> list[str]:
    """Paths of every recording snmpsim-data ships, sorted.

    Raises:
        LabError: snmpsim-data is not installed.
    """
    root = source_dir()
    names = {_without_extension(str(p.relative_to(root))) for p in root.rglob("*")
             if p.is_file() and p.name.endswith(_EXTENSIONS)}
    return sorted(names)


def _without_extension(path: str) -> str:
    """A recording path without its format's extension (`UPS/x.snmprec.bz2` -> `UPS/x`)."""
    for ext in sorted(_EXTENSIONS, key=len, reverse=True):
        if path.endswith(ext):
            return path[: -len(ext)]
    return path


def decode_value(tag: str, value: str) -> str:
    """A .snmprec value as text: tags ending in `x` are hex (snmpsim's encoding of
    non-printable strings); variation tags (`67:numeric`) keep their raw value."""
    if tag.endswith("x"):
        try:
            return bytes.fromhex(value).decode("utf-8", "replace")
        except ValueError:
            return value
    return value


def _oid_key(oid: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in oid.split("."))
    except ValueError:
        return ()  # a comment line ("#CISCO ...") sorts first: keep reading


def describe_recording(path: str) -> RecordingInfo:
    """sysDescr, sysObjectID and sysName of one installed recording (its first lines).

    Raises:
        LabError: snmpsim-data is not installed or the recording cannot be read.
    """
    found: dict[str, str] = {}
    origin = DERIVED[path][0] if path in DERIVED else path  # same system group as its source
    source = _source(origin)
    if source is None:
        raise LabError(f"recording {path!r} is not in snmpsim-data; list the installed ones "
                       "with 'provision lab recordings'")
    try:
        with _snmprec_lines(source, errors="replace") as handle:
            for line in handle:
                oid, _, rest = line.partition("|")
                if oid in (_SYS_DESCR, _SYS_OBJECT_ID, _SYS_NAME):
                    tag, _, value = rest.partition("|")
                    found[oid] = decode_value(tag, value)
                if len(found) == 3 or _oid_key(oid) > _LAST_NEEDED:
                    break
    except (OSError, EOFError, ValueError) as exc:
        raise LabError(f"recording {path!r} cannot be read ({exc}); "
                       "reinstall snmpsim-data") from exc
    descr = found.get(_SYS_DESCR, "").strip().splitlines()
    return RecordingInfo(path, descr[0].strip() if descr else "", found.get(_SYS_OBJECT_ID, ""),
                         found.get(_SYS_NAME, "").strip())


def check_recording(path: str) -> str:
    """An installed recording's path, normalised (`network/switch/x.snmprec.bz2` -> `.../x`).

    Raises:
        LabError: no such recording; the message suggests close names and the listing.
    """
    name = _without_extension(path.strip().strip("/"))
    installed = installed_recordings()
    if name in installed:
        return name
    close = difflib.get_close_matches(name, installed, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise LabError(f"no snmpsim-data recording {path!r}: {hint}list the {len(installed)} "
                   "installed ones with 'provision lab recordings'")


def parse_recorded_device(text: str) -> RecordedDevice:
    """`RECORDING:ROLE` (as `lab up --device` takes it) as a checked `RecordedDevice`.

    Raises:
        LabError: no role or an unknown one, or no such recording.
    """
    recording, sep, role = text.rpartition(":")
    roles = ", ".join(r.value for r in Role)
    if not sep or not recording:
        raise LabError(f"{text!r} names no role: write RECORDING:ROLE with ROLE one of {roles}, "
                       "e.g. network/switch/hpe-procurve-516733-b21:switch")
    try:
        kind = Role(role.strip())
    except ValueError as exc:
        raise LabError(f"unknown role {role!r} in {text!r}: use one of {roles}") from exc
    return RecordedDevice(check_recording(recording), kind)
