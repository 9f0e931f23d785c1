"""Checks before any change: addresses, the lab, credentials, reachability, host keys, SNMP.

Order matters: addresses are checked against the management networks before any
packet is sent; then per host, credentials (our side), TCP port 22, the presented
SSH host key against the pinned one, and an SNMP GET of sysDescr. A host that
fails one is blocked (the others go on); an SNMP agent that does not answer is a
warning, not a block: SNMP is what the play configures, so before the first run it
cannot answer yet.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from provisioner.devices.ssh import (
    HostKey,
    changed_key_error,
    fetch_host_key,
    known_hosts_name,
    parse_host_key,
    unknown_key_error,
    without_host,
)
from provisioner.errors import ConfigError, DeviceError, InvalidInputError, LabError, Problem
from provisioner.inventory.reach import address_problem, snmp_target
from provisioner.lab.state import load_state
from provisioner.models import Device, Role
from provisioner.platforms import Capability, platform_for
from provisioner.results import AggregatedResult, DeviceResult, FailureKind
from provisioner.snmp import SYS_DESCR, SnmpBackend
from provisioner.wlan.instant_api import handshake
from provisioner.wlan.readback import answers_snmp, controller_access, controller_name

LOOKUP_FILE = re.compile(r"lookup\(\s*['\"](?:ansible\.builtin\.)?file['\"]\s*,\s*['\"]([^'\"]+)")
_KNOWN_HOSTS_OPT = re.compile(r"UserKnownHostsFile=(\S+)")
# Host vars that name a file the run reads a secret or a key from.
_FILE_VARS = ("ansible_ssh_private_key_file", "ansible_private_key_file", "snmp_auth_file",
              "snmp_priv_file")
_SECRET_VARS = ("ansible_password", "ansible_become_password", "ansible_ssh_pass")


@dataclass(frozen=True)
class HostCheck:
    """What preflight found on a host that passed (or the warnings of one that did not)."""

    address: str
    fingerprint: str = ""
    warnings: tuple[str, ...] = ()


Preflight = AggregatedResult[HostCheck]


def is_managed(device: Device) -> bool:
    """Whether the tool manages the device over SSH (inventory `managed: false` says not)."""
    value = device.vars.get("managed", True)
    return device.managed and str(value).strip().lower() not in ("false", "no", "0", "off")


def check_addresses(devices: Sequence[Device], networks: Sequence[str], source: str) -> None:
    """Refuse the run if any address lies outside the management networks (no packet sent).

    The check is `reach.address_problem`, the one health uses too.

    Raises:
        InvalidInputError: naming every such host and address.
    """
    nets = [ipaddress.ip_network(n, strict=False) for n in networks]
    problems = [Problem(source, problem) for device in devices
                if (problem := address_problem(device, nets))]
    if problems:
        raise InvalidInputError(source, problems)


def check_lab(devices: Sequence[Device], lab_dir: Path, school_id: str) -> None:
    """Refuse an inventory the lab wrote (`lab: true`) while the lab is down.

    Raises:
        LabError: the lab is not running.
    """
    if not any(str(d.vars.get("lab", "")).lower() == "true" for d in devices):
        return
    if load_state(lab_dir) is None:
        raise LabError(f"school {school_id}'s inventory was written by the lab (lab: true), "
                       f"but no lab is running in {lab_dir}: start it with 'provision lab up'")


def known_hosts_file(device: Device, fallback: Path) -> Path:
    """The pinned known_hosts file Ansible checks this host's key against."""
    explicit = device.vars.get("ansible_ssh_known_hosts_file")
    if explicit:
        return Path(str(explicit)).expanduser()
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_ssh_args"):
        match = _KNOWN_HOSTS_OPT.search(" ".join(shlex.split(str(device.vars.get(var, "")))))
        if match:
            return Path(match.group(1)).expanduser()
    return fallback


def school_known_hosts(devices: Sequence[Device]) -> Path:
    """The school's pinned file: the one its hosts' SSH options name, else ~/.ssh/known_hosts."""
    default = Path("~/.ssh/known_hosts").expanduser()
    for device in devices:
        found = known_hosts_file(device, default)
        if found != default:
            return found
    return default


def pinned_keys(known_hosts: Path, host: str, port: int = 22) -> list[HostKey]:
    """The keys pinned for `host` in a known_hosts file (none if the file is missing)."""
    try:
        text = known_hosts.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    others = set(without_host(text, known_hosts_name(host, port)))
    keys = []
    for line in text.splitlines():
        fields = line.split()
        if line in others or len(fields) < 3 or fields[0].startswith("@"):
            continue
        keys.append(parse_host_key(" ".join(fields[1:3])))
    return keys


def missing_credentials(device: Device) -> list[str]:
    """Files the host's credentials are referenced by that do not exist or cannot be read."""
    paths = [Path(str(device.vars[v])).expanduser() for v in _FILE_VARS if device.vars.get(v)]
    for var in _SECRET_VARS:
        paths += [Path(p).expanduser() for p in LOOKUP_FILE.findall(str(device.vars.get(var, "")))]
    missing = []
    for path in paths:
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            missing.append(f"{path} ({exc.strerror})")
    return missing


def _port(device: Device) -> int:
    return int(str(device.vars.get("ansible_port") or 22))


def check_host_key(device: Device, known_hosts: Path, timeout: float) -> str:
    """The presented key's fingerprint, if it is the pinned one.

    Raises:
        HostKeyUnknownError, HostKeyChangedError: not pinned / another key is pinned.
        ConnectionFailedError, DeviceTimeoutError: no SSH handshake.
    """
    port = _port(device)
    pinned = pinned_keys(known_hosts, device.address, port)
    if not pinned:
        raise unknown_key_error(device.address, known_hosts, device.name)
    presented = fetch_host_key(device.address, port, timeout=timeout,
                               key_types=list(dict.fromkeys(k.key_type for k in pinned)))
    if presented.fingerprint not in {k.fingerprint for k in pinned}:
        raise changed_key_error(device.address, presented.fingerprint, pinned[0].fingerprint,
                                known_hosts, device.name)
    return presented.fingerprint


def platform_problem(device: Device) -> str:
    """Why the tool cannot provision the device's platform ("" when it can)."""
    platform = platform_for(device)
    if platform is None:
        return (f"platform {device.platform!r} is not one the tool knows: fix the inventory's "
                "platform ('provision platforms' lists them) or set managed: false")
    if Capability.PROVISION not in platform.capabilities():
        return (f"platform {platform.name} cannot be provisioned by the tool (only: "
                f"{', '.join(sorted(platform.capabilities())) or 'nothing'}); "
                "set managed: false for it")
    return ""


class _TimedResult:
    """`result(kind, message, fp="")`: one device's check result, timed from creation."""

    def __init__(self, device: Device) -> None:
        self._device, self._started = device, time.perf_counter()

    def __call__(self, kind: FailureKind | None, message: str,
                 fp: str = "") -> DeviceResult[HostCheck]:
        elapsed = (time.perf_counter() - self._started) * 1000
        return DeviceResult(self._device.name, HostCheck(self._device.address, fp), kind,
                            message, elapsed)


def check_host(device: Device, known_hosts: Path, timeout: float) -> DeviceResult[HostCheck]:
    """The platform, credentials, TCP reachability and the host key of one managed host."""
    result = _TimedResult(device)
    unsupported = platform_problem(device)
    if unsupported:
        return result(FailureKind.CONFIG, unsupported)
    missing = missing_credentials(device)
    if missing:
        return result(FailureKind.CONFIG, f"credential file(s) missing or unreadable: "
                      f"{', '.join(missing)}; fix the path in the inventory")
    port = _port(device)
    try:
        socket.create_connection((device.address, port), timeout=timeout).close()
    except OSError as exc:
        return result(FailureKind.UNREACHABLE, f"{device.address} port {port} does not "
                      f"answer ({exc.strerror or exc}): check the device is up and cabled")
    try:
        fp = check_host_key(device, known_hosts, timeout)
    except DeviceError as exc:
        return result(exc.kind, str(exc))
    return result(None, "ready", fp)


def check_controller(device: Device, timeout: float) -> DeviceResult[HostCheck]:
    """A WLAN controller: its settings and credential files, and a TLS handshake on its
    API port against the pinned certificate (no login: the play logs in)."""
    result = _TimedResult(device)
    unsupported = platform_problem(device)
    if unsupported:
        return result(FailureKind.CONFIG, unsupported)
    try:
        access = controller_access(device, timeout)
    except ConfigError as exc:
        return result(FailureKind.CONFIG, str(exc))
    try:
        with access.password_file.open("rb"):
            pass
    except OSError as exc:
        return result(FailureKind.CONFIG, f"{device.name}: credential file "
                      f"{access.password_file} missing or unreadable ({exc.strerror}); "
                      "fix controller_password_file in the inventory")
    try:
        return result(None, "ready", handshake(access))
    except DeviceError as exc:  # a changed certificate blocks it as a changed host key
        return result(exc.kind, str(exc))


def check_device(device: Device, known_hosts: Path, timeout: float) -> DeviceResult[HostCheck]:
    """The checks a device's kind needs: a WLAN controller's API, nothing for an AP
    configured through its controller (it is read back there), SSH for the rest."""
    if device.role is Role.WLAN_CONTROLLER:
        return check_controller(device, timeout)
    if controller_name(device):
        return DeviceResult(device.name, HostCheck(device.address), None,
                            f"configured through its controller {controller_name(device)}")
    return check_host(device, known_hosts, timeout)


def follow_controllers(results: Preflight, devices: Sequence[Device],
                       school: Sequence[Device], timeout: float = 5.0) -> Preflight:
    """Hold back the APs whose WLAN controller failed preflight (with its failure kind:
    a controller that does not answer leaves them unreachable, a changed certificate
    blocked): nothing can configure them.

    A controller of the run has its own result; one outside the run (e.g. `--limit
    access_points`) is checked here, once.
    """
    by_name = {d.name: d for d in [*school, *devices]}
    extra: dict[str, DeviceResult[HostCheck]] = {}
    for device in devices:
        name = controller_name(device)
        if not name or device.role is Role.WLAN_CONTROLLER:
            continue
        if name in results.results:
            verdict = results[name]
        elif name in by_name:
            verdict = extra.get(name) or extra.setdefault(
                name, check_controller(by_name[name], timeout))
        else:
            verdict = DeviceResult(name, None, FailureKind.CONFIG,
                                   f"{name} is not in the school's inventory")
        if not verdict.ok:
            results.add(DeviceResult(device.name, HostCheck(device.address), verdict.failure,
                                     f"{device.name}: its controller {name} is not ready: "
                                     f"{verdict.message}", verdict.elapsed_ms))
    return results


def snmp_warnings(devices: Sequence[Device], snmp: SnmpBackend) -> dict[str, str]:
    """Host -> warning for every host whose SNMP settings are incomplete or whose agent
    does not answer a sysDescr GET (targets from `reach.snmp_target`); hosts whose
    inventory says `snmp: false` are not asked."""
    targets, warnings = {}, {}
    for device in (d for d in devices if answers_snmp(d)):
        try:
            targets[device.name] = snmp_target(device, device.vars)
        except ConfigError as exc:
            warnings[device.name] = f"no SNMP settings to check it with: {exc}"
    for reply in snmp.get_many(list(targets.values()), [SYS_DESCR], timeout=2.0, retries=1):
        if not reply.ok:
            version = "SNMPv3" if targets[reply.target].user else "SNMPv2c"
            warnings[reply.target] = f"{version} does not answer yet ({reply.error})"
    return warnings


def run_preflight(devices: Sequence[Device], snmp: SnmpBackend, *, known_hosts: Path,
                  timeout: float = 5.0, workers: int = 16,
                  checker: Callable[[Device, Path, float], DeviceResult[HostCheck]] = check_device,
                  ) -> Preflight:
    """Check every device (addresses must have passed `check_addresses` first).

    Args:
        devices: the run's devices.
        snmp: the SNMP poller for the sysDescr check.
        known_hosts: the school's pinned file, for hosts whose vars name none.
        timeout: seconds per connection attempt.
        workers: hosts checked in parallel.
        checker: the per-host check (tests substitute one that records calls).

    Returns:
        Per device: ok with its warnings, skipped (not managed), or why it is blocked.
    """
    outcome: Preflight = AggregatedResult("preflight")
    managed = [d for d in devices if is_managed(d)]
    for device in devices:
        if not is_managed(device):
            outcome.add(DeviceResult(device.name, HostCheck(device.address), FailureKind.SKIPPED,
                                     "not managed over SSH (managed: false); SNMP only"))
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(managed) or 1))) as pool:
        results = list(pool.map(
            lambda d: checker(d, known_hosts_file(d, known_hosts), timeout), managed))
    warnings = snmp_warnings([d for d, r in zip(managed, results, strict=True) if r.ok], snmp)
    for result in results:
        if result.ok and result.device in warnings and result.data is not None:
            data = HostCheck(result.data.address, result.data.fingerprint,
                             (warnings[result.device],))
            outcome.add(DeviceResult(result.device, data, None, result.message,
                                     result.elapsed_ms))
        else:
            outcome.add(result)
    return outcome


def blocked_summary(results: Mapping[str, DeviceResult[HostCheck]]) -> str:
    """One line naming the blocked hosts."""
    return ", ".join(f"{name} ({r.failure})" for name, r in results.items())
