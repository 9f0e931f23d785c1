"""Start and stop the lab's simulated devices: IOS switches (SSH + SNMP) and recorded APs (SNMP).

One switch simulator process serves every `IOS_SWITCH` over SSH; one snmpsim
responder process serves every `IOS_SWITCH` and `RECORDED_AP` over SNMP. Both
run detached (the lab outlives `provision lab up`), bind inside each device's
network namespace and signal readiness with a marker file in the lab dir.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import json
import os
import pwd
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioner.errors import LabError
from provisioner.files import write_atomic
from provisioner.lab import wlan_lab
from provisioner.lab.credentials import SNMP_USER, SWITCH_USER, LabCredentials
from provisioner.lab.simconfig import (
    HostileConfig,
    SnmpEndpoint,
    SnmpSimConfig,
    SwitchSimConfig,
    SwitchSpec,
    read_snmp_config,
    write_config,
)
from provisioner.lab.snmpdata import DEFAULT_RECORDINGS, ensure_snmp_data, snmp_cache
from provisioner.lab.topology import DeviceKind, LabDevice
from provisioner.secrets import write_secret_file

PROCESS_USER = "nobody"
PROCESS_GROUP = "nogroup"
SWITCH_MODULE = "provisioner.lab.switchsim_runner"  # switchsim + host key reload on SIGHUP
_OLD_SWITCH_MODULE = "provisioner.lab.switchsim"  # what labs started before it ran
SNMP_MODULE = "provisioner.lab.snmpsim_runner"
HOSTILE_MODULE = "provisioner.lab.hostile"  # `lab fault DEVICE hostile`
HOSTILE_PORT, HOSTILE_OTHER_PORT = 10161, 10162  # inside the device's namespace
WLAN_MODULE = wlan_lab.SIM_MODULE
SNMP_KINDS = (DeviceKind.IOS_SWITCH, DeviceKind.AOSS_SWITCH, DeviceKind.RECORDED_AP,
              DeviceKind.RECORDED)
_POLL_SECONDS = 0.05
_TAIL_LINES = 3


@dataclass(frozen=True)
class SimulatorSet:
    """The running simulator processes of a lab.

    Attributes:
        pids: the simulator processes, for `stop_simulators`.
        host_keys: switch address -> its SSH host key line ("ssh-ed25519 AAAA..."),
            for the lab's pinned known_hosts.
    """

    pids: tuple[int, ...]
    host_keys: dict[str, str]


@dataclass(frozen=True)
class _Started:
    pid: int
    what: str
    ready_file: Path
    log_file: Path


def _describe(kind: str, devices: Sequence[LabDevice]) -> str:
    names = ", ".join(d.name for d in devices[:3])
    more = f" and {len(devices) - 3} more" if len(devices) > 3 else ""
    return f"{kind} for {names}{more}"


def key_type(device: LabDevice) -> str:
    """The host key type a simulated switch presents: AOS-S makes ECDSA keys (`crypto key
    generate ssh ecdsa 256`, no ed25519 in 16.x), the IOS simulator ed25519."""
    return "ecdsa" if device.kind is DeviceKind.AOSS_SWITCH else "ed25519"


def _new_private_key(kind: str) -> str:
    key = (ec.generate_private_key(ec.SECP256R1()) if kind == "ecdsa"
           else Ed25519PrivateKey.generate())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption()).decode("ascii")


def host_key(key_file: Path, kind: str = "ed25519") -> str:
    """The public host key line of a switch, made on first use (kept per lab).

    Args:
        key_file: where the private key is kept.
        kind: `ed25519` or `ecdsa` (NIST P-256), for a key made now.

    Returns:
        "ssh-ed25519 AAAA..." (or "ecdsa-sha2-nistp256 AAAA...") without comment.
    """
    if not key_file.exists():
        private = _new_private_key(kind).encode("ascii")
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private)
    key = serialization.load_ssh_private_key(key_file.read_bytes(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return public.decode("ascii")


def _spawn(module: str, config: Path, log_file: Path) -> int:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.setdefault("HOME", "/root")  # snmpsim reads $HOME at import
    argv = [sys.executable, "-m", module, "--config", str(config)]
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_file), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    # A session of its own: a Ctrl-C on `provision lab up` must not reach the lab.
    try:
        return os.posix_spawn(sys.executable, argv, env, file_actions=actions, setsid=True)
    except OSError as exc:
        raise LabError(
            f"cannot start {module} ({exc}); check the Python at {sys.executable}"
        ) from exc


def _start_switches(
    switches: Sequence[LabDevice], sim_dir: Path, creds: LabCredentials, host_keys: dict[str, str]
) -> _Started:
    for sub in ("hostkeys", "startup"):
        (sim_dir / sub).mkdir(mode=0o700, exist_ok=True)
    specs = []
    for device in switches:
        key_file = sim_dir / "hostkeys" / f"{device.name}_ed25519"
        host_keys[device.address] = host_key(key_file, key_type(device))
        specs.append(
            SwitchSpec(
                name=device.name,
                netns=device.netns,
                address=device.address,
                host_key=str(key_file),
                startup_config=str(sim_dir / "startup" / f"{device.name}.cfg"),
                platform=device.platform,
            )
        )
    ready = sim_dir / "switchsim.ready"
    ready.unlink(missing_ok=True)
    config_file = sim_dir / "switchsim.json"
    write_config(
        config_file,
        SwitchSimConfig(
            ready_file=str(ready),
            username=SWITCH_USER,
            password_file=str(creds.switch_password),
            switches=tuple(specs),
        ),
    )
    log_file = sim_dir / "switchsim.log"
    pid = _spawn(SWITCH_MODULE, config_file, log_file)
    return _Started(pid, _describe("the switch simulator", switches), ready, log_file)


def _process_account() -> tuple[int, int]:
    try:
        return pwd.getpwnam(PROCESS_USER).pw_uid, grp.getgrnam(PROCESS_GROUP).gr_gid
    except KeyError as exc:
        raise LabError(
            f"the SNMP responder needs the account {PROCESS_USER}:{PROCESS_GROUP} to drop "
            "root to, and it does not exist; add it (Debian has both by default)"
        ) from exc


def _recording(device: LabDevice) -> str:
    if not device.recording:
        raise LabError(
            f"{device.name} is an SNMP-recorded device without a recording; "
            "fix the lab topology and run 'provision lab up' again"
        )
    return device.recording


def boots_file(cache_dir: Path, lab_dir: Path) -> Path:
    """Where a lab's reboot times of recorded devices live: beside the SNMP data sets in
    the cache (the responder reads it as `nobody`, from its set's folder), named by the
    lab dir so labs never share one."""
    digest = hashlib.sha256(str(lab_dir.resolve()).encode()).hexdigest()[:16]
    return snmp_cache(cache_dir) / "boots" / f"{digest}.json"


def write_boots(path: Path, boots: dict[str, float]) -> None:
    """Replace a boots file atomically (0644: addresses and times, nothing secret).

    Raises:
        LabError: the file cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o755)  # whatever the umask: the responder reads it as `nobody`
        write_atomic(path, json.dumps(boots, sort_keys=True), 0o644)
    except OSError as exc:
        raise LabError(f"cannot write the lab's reboot times to {path} ({exc}); "
                       "check that the folder is writable") from exc


def _start_snmp(
    devices: Sequence[LabDevice], sim_dir: Path, creds: LabCredentials, cache_dir: Path
) -> _Started:
    _process_account()  # fails early, naming the account, if it does not exist
    data = ensure_snmp_data(cache_dir, {*DEFAULT_RECORDINGS, *(_recording(d) for d in devices)})
    boots = boots_file(cache_dir, sim_dir.parent)
    ready = sim_dir / "snmpsim.ready"
    ready.unlink(missing_ok=True)
    config_file = sim_dir / "snmpsim.json"
    write_config(
        config_file,
        SnmpSimConfig(
            ready_file=str(ready),
            data_dir=data.data_dir,
            cache_dir=data.index_dir,
            variation_dir=data.variation_dir,
            user=SNMP_USER,
            auth_file=str(creds.snmp_auth),
            priv_file=str(creds.snmp_priv),
            process_user=PROCESS_USER,
            process_group=PROCESS_GROUP,
            endpoints=tuple(SnmpEndpoint(netns=d.netns, address=d.address) for d in devices),
            boots_file=str(boots),
            workdir=str(data.root),
        ),
    )
    log_file = sim_dir / "snmpsim.log"
    pid = _spawn(SNMP_MODULE, config_file, log_file)
    return _Started(pid, _describe("the SNMP responder", devices), ready, log_file)


def _start_wlan(devices: Sequence[LabDevice], lab_dir: Path,
                creds: LabCredentials) -> _Started:
    """The WLAN controller simulator for every controller (and its APs) of the lab."""
    folder = wlan_lab.sim_dir(lab_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    config_file = wlan_lab.write_config(devices, folder, creds.wlan_password)
    log_file = folder / "wlansim.log"
    pid = _spawn(WLAN_MODULE, config_file, log_file)
    controllers = [d for d in devices if d.kind is DeviceKind.WLAN_CONTROLLER]
    wlan_lab.pin_certificates(creds.wlan_certs, lab_dir, controllers)
    return _Started(pid, _describe("the WLAN controller simulator", controllers),
                    folder / "ready", log_file)


def _log_tail(log_file: Path) -> str:
    try:
        with log_file.open("rb") as handle:
            handle.seek(max(0, log_file.stat().st_size - 4096))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-_TAIL_LINES:])[-600:] or "(empty log)"


def _exited(pid: int) -> bool:
    """Whether the process is gone (reaping it if it is our child)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == pid
    except ChildProcessError:
        pass  # not our child (a later `lab down`): look at /proc instead
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"


def _wait_ready(started: Sequence[_Started], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(started)
    while pending:
        for item in list(pending):
            if item.ready_file.exists():
                pending.remove(item)
            elif _exited(item.pid):
                raise LabError(
                    f"{item.what} exited while starting: {_log_tail(item.log_file)}; "
                    f"see {item.log_file}, fix it and run 'provision lab up' again"
                )
        if pending and time.monotonic() > deadline:
            item = pending[0]
            raise LabError(
                f"{item.what} was not ready after {timeout:.0f} s: {_log_tail(item.log_file)}; "
                f"see {item.log_file} and run 'provision lab up' again"
            )
        if pending:
            time.sleep(_POLL_SECONDS)


def start_simulators(
    devices: Sequence[LabDevice],
    lab_dir: Path,
    credentials: LabCredentials,
    *,
    cache_dir: Path,
    timeout: float = 60.0,
) -> SimulatorSet:
    """Start the simulators of the lab's switches, recorded APs and WLAN controllers; return
    once they answer.

    Devices of other kinds are ignored. Needs root (namespaces) and the devices'
    namespaces in place. Host keys and saved switch configs persist in the lab dir.

    Args:
        devices: the lab's devices (all kinds).
        lab_dir: the lab's state dir; simulator files go to `lab_dir/simulators`.
        credentials: the lab's credentials (switch password, SNMPv3 passphrases).
        cache_dir: the settings' cache folder; the SNMP data is kept in it
            (provisioner/lab/snmpdata.py).
        timeout: seconds to wait for the simulators to be ready.

    Returns:
        The processes and the switches' public host keys.

    Raises:
        LabError: a simulator did not come up (the message carries its log's tail).
    """
    switches = [d for d in devices if d.kind.simulated_switch]
    snmp = [d for d in devices if d.kind in SNMP_KINDS]
    wlan = any(d.kind is DeviceKind.WLAN_CONTROLLER for d in devices)
    if not snmp and not wlan:
        return SimulatorSet(pids=(), host_keys={})
    sim_dir = lab_dir / "simulators"
    sim_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    host_keys: dict[str, str] = {}
    started: list[_Started] = []
    try:
        if switches:
            started.append(_start_switches(switches, sim_dir, credentials, host_keys))
        if wlan:
            started.append(_start_wlan(devices, lab_dir, credentials))
        started.append(_start_snmp(snmp, sim_dir, credentials, cache_dir))
        _wait_ready(started, timeout)
    except BaseException:
        # Our own children, not reaped yet: their pids cannot have been reused, and one
        # spawned a moment ago may not show its command line yet.
        stop_simulators([item.pid for item in started], own_children=True)
        raise
    return SimulatorSet(pids=tuple(item.pid for item in started), host_keys=host_keys)


def start_hostile(lab_dir: Path, device: LabDevice, impersonate: str,
                  timeout: float = 20.0) -> int:
    """Start the hostile SNMP responder of a device (provisioner.lab.hostile), bound in
    its namespace on `HOSTILE_PORT` and `HOSTILE_OTHER_PORT`; return its pid once bound.

    Raises:
        LabError: it did not come up (the message carries its log's tail); it is
            stopped then.
    """
    sim_dir = lab_dir / "simulators"
    sim_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ready = sim_dir / f"hostile-{device.name}.ready"
    ready.unlink(missing_ok=True)
    config = sim_dir / f"hostile-{device.name}.json"
    write_config(config, HostileConfig(
        ready_file=str(ready), name=device.name, netns=device.netns, address=device.address,
        port=HOSTILE_PORT, other_port=HOSTILE_OTHER_PORT, impersonate=impersonate,
        process_user=PROCESS_USER, process_group=PROCESS_GROUP))
    log_file = sim_dir / f"hostile-{device.name}.log"
    pid = _spawn(HOSTILE_MODULE, config, log_file)
    try:
        _wait_ready([_Started(pid, f"the hostile responder of {device.name}", ready,
                              log_file)], timeout)
    except BaseException:
        stop_simulators([pid])
        raise
    return pid


def rekey_switch(lab_dir: Path, device: LabDevice) -> str:
    """Replace a simulated switch's host key file with a fresh ed25519 key.

    The running simulator presents it after a SIGHUP (see `switchsim_runner`).

    Returns:
        The new public key line ("ssh-ed25519 AAAA...").

    Raises:
        LabError: the switch has no key file (it is not a switch of this lab).
    """
    key_file = lab_dir / "simulators" / "hostkeys" / f"{device.name}_ed25519"
    if not key_file.is_file():
        raise LabError(f"{device.name} has no host key file {key_file}; "
                       "rebuild the lab with 'provision lab down' and 'provision lab up'")
    write_secret_file(key_file, _new_private_key(key_type(device)))
    return host_key(key_file)


def runs_module(pid: int, module: str) -> bool:
    """Whether pid runs `python -m module` (pids get reused after a reboot)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return module.encode() in argv


def _is_simulator(pid: int) -> bool:
    """Whether pid still runs one of our simulators (pids get reused after a reboot)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    ours = (SWITCH_MODULE, _OLD_SWITCH_MODULE, SNMP_MODULE, HOSTILE_MODULE, WLAN_MODULE)
    return any(arg.decode(errors="replace") in ours for arg in argv)


def _signal_all(pids: Sequence[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _wait_gone(pids: Sequence[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if not _exited(pid)]
        if alive:
            time.sleep(_POLL_SECONDS)
    return alive


def stop_simulators(pids: Sequence[int], *, grace: float = 5.0,
                    own_children: bool = False) -> None:
    """Stop simulator processes: SIGTERM, wait up to `grace` s, then SIGKILL.

    Pids that no longer run a simulator (gone, or reused by another program) are
    left alone, so calling this twice or after a reboot is safe; `own_children`:
    the pids are this process's unreaped children, stopped without that check.
    """
    ours = list(pids) if own_children else [pid for pid in pids if _is_simulator(pid)]
    for pid in set(pids) - set(ours):
        _exited(pid)  # reaps a child of ours that already ended (a zombie has no cmdline)
    _signal_all(ours, signal.SIGTERM)
    left = _wait_gone(ours, grace)
    if left:
        _signal_all(left, signal.SIGKILL)
        _wait_gone(left, 2.0)


def remove_simulator_files(lab_dir: Path) -> None:
    """Forget the simulators' state: host keys, saved switch configs, logs.

    For `provision lab down`, after `stop_simulators`: the next lab then starts
    with factory-fresh switches and new host keys. The SNMP data in the cache stays; the
    lab's reboot times beside it go.
    """
    config = lab_dir / "simulators" / "snmpsim.json"
    if config.is_file():
        with contextlib.suppress(LabError):
            boots = read_snmp_config(config).boots_file
            if boots:
                Path(boots).unlink(missing_ok=True)
    shutil.rmtree(lab_dir / "simulators", ignore_errors=True)
