"""Start and stop one Debian test host: overlay root, per-host files, a runtime.

Each host runs from an overlay (lower = the shared base, upper + work per host under
the lab dir) inside its device's network namespace, in a cgroup of its own.

Runtimes:
- "nspawn" (preferred): systemd-nspawn boots systemd as PID 1, so services behave
  as on a real server (`ansible_service_mgr == "systemd"`).
- "chroot" (fallback): unshare (mount, pid, uts, ipc) + chroot with a tiny shell
  init that runs `sshd -D` and `snmpd -f` and reaps zombies. Playbooks then need
  `service` with `use: sysvinit`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioner.errors import LabError
from provisioner.lab.credentials import DEPLOY_USER, SNMP_USER, LabCredentials, read_secret
from provisioner.lab.rootfs import REPO_MOUNT, BaseImage
from provisioner.lab.state import ProcessRef, is_alive, process_ref
from provisioner.lab.syscmd import run
from provisioner.lab.topology import LabDevice

RUNTIMES = ("nspawn", "chroot")
READY_TIMEOUT = 60.0
STOP_GRACE = 3.0
SNMP_SYSTEM_USER = "Debian-snmp"
CGROUP_FS = Path("/sys/fs/cgroup")

# Capabilities the fallback runtime takes away (as systemd-nspawn does): a test host
# must not load modules, reboot or set the shared clock of the machine.
DROPPED_CAPS = ("sys_module", "sys_boot", "sys_time", "sys_rawio", "mac_admin",
                "mac_override", "syslog", "wake_alarm", "block_suspend")

# Runs inside the new namespaces, before chroot: the mounts a root fs needs.
CHROOT_SETUP = r"""set -eu
R=$1; REPO=$2; NAME=$3; shift 3
mount -t proc proc "$R/proc"
mount -t sysfs -o ro sysfs "$R/sys"
mount -t tmpfs -o mode=0755,size=8m tmpfs "$R/dev"
for n in null zero full random urandom tty; do
  touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"
done
mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
mount -t tmpfs -o mode=0755 tmpfs "$R/run"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mount --bind -o ro "$REPO" "$R/srv/localrepo"
hostname "$NAME"
exec "$@"
"""

# PID 1 of the fallback: dash's `wait` reaps any child (also re-parented orphans).
CHROOT_INIT = r"""trap 'kill -TERM $pids 2>/dev/null; exit 0' TERM INT
mkdir -p -m 0755 /run/sshd
/usr/sbin/snmpd -f -Lo -u Debian-snmp -g Debian-snmp -I -smux,mteTrigger,mteTriggerConf \
  -p /run/snmpd.pid &
pids=$!
/usr/sbin/sshd -D -e &
pids="$pids $!"
while :; do wait; sleep 1; done
"""

# Joins the cgroups named as arguments, then execs the runtime: so the runtime is in
# its own cgroup from its first instruction (no window where it shares one).
CGROUP_WRAPPER = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1"; shift; ' \
                 'n=$((n - 1)); done; exec "$@"'


@dataclass(frozen=True)
class HostPaths:
    """Where one host's files live under the lab dir."""

    root: Path
    upper: Path
    work: Path
    log: Path


@dataclass(frozen=True)
class StartedHost:
    """A host that is up: sshd listens on 22, snmpd on udp 161.

    Attributes:
        device: the device it realises.
        runtime: "nspawn" or "chroot".
        process: the runtime process (systemd-nspawn or unshare).
        host_key: its public host key line, for pinning.
        cgroup: its cgroup name.
        seconds: how long it took to come up.
    """

    device: LabDevice
    runtime: str
    process: ProcessRef
    host_key: str
    cgroup: str
    seconds: float


def host_paths(lab_dir: Path, device: LabDevice) -> HostPaths:
    """The per-host dirs of a device (nothing is created)."""
    base = lab_dir / "hosts" / device.name
    return HostPaths(root=base / "root", upper=base / "upper", work=base / "work",
                     log=lab_dir / "logs" / f"{device.name}.log")


def mount_overlay(image: BaseImage, paths: HostPaths) -> None:
    """Mount the host's overlay root: shared lower, private upper.

    `volatile` skips syncs: a test host's disk need not survive a machine crash, and
    dpkg inside hosts runs several times faster without them.

    Raises:
        LabError: the paths hold ',' or ':' (overlay options cannot carry them) or mount failed.
    """
    for path in (image.root, paths.upper, paths.work):
        if "," in str(path) or ":" in str(path):
            raise LabError(f"{path}: overlay paths cannot contain ',' or ':'; "
                           "choose another lab or cache dir")
    for path in (paths.root, paths.upper, paths.work):
        path.mkdir(parents=True, exist_ok=True)
    paths.log.parent.mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={image.root},upperdir={paths.upper},workdir={paths.work},volatile"
    run(["mount", "-t", "overlay", "overlay", "-o", options, paths.root],
        step=f"mount the root of {paths.root.parent.name}")


def _ids(root: Path, user: str) -> tuple[int, int]:
    """uid and gid of a user of the host's own /etc/passwd (not the machine's)."""
    for line in (root / "etc/passwd").read_text(encoding="utf-8").splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise LabError(f"user {user} missing in the base root fs; "
                   "delete the lab cache to rebuild the base")


def _write(path: Path, text: str, mode: int, owner: tuple[int, int] = (0, 0)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chown(path, *owner)
    os.chmod(path, mode)


def new_host_key() -> tuple[str, str]:
    """A fresh ed25519 host key: (OpenSSH private key text, public line)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public


def write_host_key(root: Path, name: str) -> str:
    """Give a host a fresh ed25519 host key (sshd reads it at its next start or SIGHUP).

    Returns:
        The public key line ("ssh-ed25519 AAAA..."), for pinning.
    """
    private, public = new_host_key()
    _write(root / "etc/ssh/ssh_host_ed25519_key", private, 0o600)
    _write(root / "etc/ssh/ssh_host_ed25519_key.pub", f"{public} root@{name}\n", 0o644)
    return public


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        return int(stat.rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def sshd_listeners(cgroup: str) -> list[int]:
    """Pids of the listening sshd of a host (not its per-connection children), found in
    the host's cgroup: the process to SIGHUP so that sshd reads its host key again."""
    pids = sorted({pid for root in cgroup_roots() if (root / cgroup).is_dir()
                   for pid in _cgroup_pids(root / cgroup)})
    return [pid for pid in pids if _comm(pid) == "sshd" and _comm(_parent(pid)) != "sshd"]


def write_host_files(root: Path, device: LabDevice, credentials: LabCredentials) -> str:
    """Write the host's own files through its mounted overlay (they land in the upper dir).

    Returns:
        The host's public host key line ("ssh-ed25519 AAAA..."), for pinning.
    """
    _write(root / "etc/hostname", device.name + "\n", 0o644)
    _write(root / "etc/hosts",
           f"127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
           f"{device.address} {device.name}\n", 0o644)
    public = write_host_key(root, device.name)
    deploy = _ids(root, DEPLOY_USER)
    authorized = credentials.ssh_public_key.read_text(encoding="utf-8")
    _write(root / "home" / DEPLOY_USER / ".ssh/authorized_keys", authorized, 0o600, deploy)
    base_conf = (root / "etc/snmp/snmpd.conf").read_text(encoding="utf-8")
    _write(root / "etc/snmp/snmpd.conf",
           f"{base_conf}sysName {device.name}\nrouser {SNMP_USER} priv\n", 0o600)
    # snmpd turns createUser into a localized usmUser line at start and rewrites the
    # file as its own user: hence owner Debian-snmp, mode 600.
    auth, priv = read_secret(credentials.snmp_auth), read_secret(credentials.snmp_priv)
    _write(root / "var/lib/snmp/snmpd.conf",
           f'createUser {SNMP_USER} SHA "{auth}" AES "{priv}"\n', 0o600,
           _ids(root, SNMP_SYSTEM_USER))
    return public


def cgroup_roots() -> list[Path]:
    """The cgroup hierarchies a host's cgroup is made in (v2 alone, or hybrid)."""
    if (CGROUP_FS / "cgroup.controllers").exists():
        return [CGROUP_FS]
    hybrid = [CGROUP_FS / "unified", CGROUP_FS / "systemd"]
    return [root for root in hybrid if (root / "cgroup.procs").exists()]


def make_cgroup(name: str) -> list[Path]:
    """Create the host's cgroup in each hierarchy; returns their cgroup.procs files.

    Raises:
        LabError: no writable cgroup hierarchy exists.
    """
    roots = cgroup_roots()
    if not roots:
        raise LabError(f"no cgroup hierarchy under {CGROUP_FS}; mount cgroup2 there")
    procs = []
    for root in roots:
        (root / name).mkdir(exist_ok=True)
        procs.append(root / name / "cgroup.procs")
    return procs


def nspawn_command(device: LabDevice, paths: HostPaths, repo: Path) -> list[str]:
    """The systemd-nspawn command line of a host.

    `--register=no --keep-unit`: there is no systemd/D-Bus on the machine to register
    with; the cgroup is ours (made beforehand). CAP_NET_ADMIN: the host's firewall
    (nftables) is the playbooks' to set, and the namespace is the host's own.
    """
    return ["systemd-nspawn", "-q", "-D", str(paths.root), "-M", device.name, "-b",
            "--register=no", "--keep-unit", f"--network-namespace-path=/run/netns/{device.netns}",
            "--capability=CAP_NET_ADMIN",
            "--resolv-conf=off", "--timezone=off", "--link-journal=no",
            f"--bind-ro={repo}:{REPO_MOUNT}"]


def chroot_command(device: LabDevice, paths: HostPaths, repo: Path) -> list[str]:
    """The fallback runtime's command line: namespaces, mounts, capabilities, chroot."""
    drop = ",".join(f"-{cap}" for cap in DROPPED_CAPS)
    return ["ip", "netns", "exec", device.netns,
            "unshare", "--mount", "--pid", "--uts", "--ipc", "--fork", "--kill-child",
            "/bin/sh", "-c", CHROOT_SETUP, "setup", str(paths.root), str(repo), device.name,
            "setpriv", f"--bounding-set={drop}", "--",
            "chroot", str(paths.root), "/bin/sh", "-c", CHROOT_INIT]


def reap(pid: int) -> None:
    """Collect the exit status of a runtime this process started (no zombie is left)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def spawn(command: list[str], cgroup_procs: list[Path], log: Path) -> int:
    """Start a runtime detached (own session), in its cgroup, output to `log`; returns its pid.

    posix_spawn rather than Popen: the hosts deliberately outlive the call that started
    them, and a forgotten Popen object warns about its still-running child.
    """
    argv = ["/bin/sh", "-c", CGROUP_WRAPPER, "sh", str(len(cgroup_procs)),
            *map(str, cgroup_procs), *command]
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    try:
        return os.posix_spawn(argv[0], argv, dict(os.environ), file_actions=actions, setsid=True)
    except OSError as exc:
        raise LabError(f"cannot start {command[0]} ({exc}); check the lab's tools") from exc


def children(pid: int) -> list[int]:
    """Direct children of a process (empty if it is gone)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="utf-8")
    except OSError:
        return []
    return [int(p) for p in text.split()]


def parse_listening(proc_net_text: str, port: int, tcp: bool) -> bool:
    """Whether /proc/net/{tcp,udp} text shows a socket bound to `port` (TCP: listening)."""
    for line in proc_net_text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4:
            continue
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and (not tcp or fields[3] == "0A"):
            return True
    return False


def _leader(runtime_pid: int) -> int | None:
    """The host's PID 1 as the machine sees it: the runtime's child."""
    kids = children(runtime_pid)
    return kids[0] if kids else None


def daemons_ready(leader: int) -> bool:
    """Whether sshd listens on tcp 22 and snmpd on udp 161 in the leader's namespace.

    Read from /proc/LEADER/net: no packet is sent to check.
    """
    try:
        tcp = Path(f"/proc/{leader}/net/tcp").read_text(encoding="utf-8")
        udp = Path(f"/proc/{leader}/net/udp").read_text(encoding="utf-8")
    except OSError:
        return False
    return parse_listening(tcp, 22, tcp=True) and parse_listening(udp, 161, tcp=False)


def wait_ready(ref: ProcessRef, timeout: float = READY_TIMEOUT) -> None:
    """Wait until a host's sshd and snmpd listen.

    Raises:
        LabError: the runtime exited or the daemons did not come up in time.
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    while time.monotonic() < deadline:
        if not is_alive(ref):
            raise LabError(f"host {ref.device}: {ref.role} exited during start; "
                           f"see logs/{ref.device}.log in the lab dir")
        leader = _leader(ref.pid)
        if leader is not None and daemons_ready(leader):
            return
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)
    raise LabError(f"host {ref.device}: sshd/snmpd not up after {timeout:.0f} s; "
                   f"see logs/{ref.device}.log in the lab dir")


def start_runtime(runtime: str, device: LabDevice, paths: HostPaths, image: BaseImage,
                  cgroup_procs: list[Path]) -> ProcessRef:
    """Launch a host's runtime process (it comes up in the background).

    Raises:
        LabError: unknown runtime or the process died at once.
    """
    if runtime == "nspawn":
        command = nspawn_command(device, paths, image.repo)
    elif runtime == "chroot":
        command = chroot_command(device, paths, image.repo)
    else:
        raise LabError(f"unknown lab runtime {runtime!r}; use one of {', '.join(RUNTIMES)}")
    pid = spawn(command, cgroup_procs, paths.log)
    return process_ref(pid, runtime, device.name)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_gone(ref: ProcessRef, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(ref):
            reap(ref.pid)
            return True
        time.sleep(0.05)
    reap(ref.pid)
    return not is_alive(ref)


def stop_runtime(ref: ProcessRef, cgroup: str) -> None:
    """Stop a host: ask nicely, then kill its PID 1, then its whole cgroup.

    nspawn: SIGTERM makes it shut the container's systemd down; after STOP_GRACE the
    container's leader is SIGKILLed (which ends nspawn cleanly). nspawn itself is never
    SIGKILLed alone: that would orphan the container. chroot: the init gets SIGTERM,
    then SIGKILL (which ends its whole pid namespace).
    """
    if is_alive(ref):
        leader = _leader(ref.pid)
        if ref.role == "nspawn":
            _signal(ref.pid, signal.SIGTERM)
        elif leader is not None:
            _signal(leader, signal.SIGTERM)
        if not _wait_gone(ref, STOP_GRACE):
            leader = _leader(ref.pid)
            if leader is not None:
                _signal(leader, signal.SIGKILL)
            _wait_gone(ref, STOP_GRACE)
    kill_cgroup(cgroup)
    reap(ref.pid)


def _cgroup_pids(group: Path) -> list[int]:
    pids: list[int] = []
    for procs in group.rglob("cgroup.procs"):
        try:
            pids += [int(p) for p in procs.read_text(encoding="utf-8").split()]
        except OSError:
            continue
    return pids


def kill_cgroup(name: str, timeout: float = 5.0) -> int:
    """SIGKILL every process left in a cgroup (all hierarchies); returns how many there were.

    Raises:
        LabError: processes survive (e.g. stuck in the kernel).
    """
    groups = [root / name for root in cgroup_roots() if (root / name).is_dir()]
    pids = sorted({pid for g in groups for pid in _cgroup_pids(g)})
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(_cgroup_pids(g) for g in groups):
        if time.monotonic() > deadline:
            raise LabError(f"processes in cgroup {name} survive SIGKILL; "
                           "wait a moment and run 'provision lab down' again")
        time.sleep(0.05)
    return len(pids)


def remove_cgroup(name: str) -> bool:
    """Remove a (process-free) cgroup tree in every hierarchy; returns whether one existed."""
    found = False
    for root in cgroup_roots():
        group = root / name
        if not group.is_dir():
            continue
        found = True
        for sub in sorted(group.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if sub.is_dir():
                sub.rmdir()
        group.rmdir()
    return found


def list_cgroups(prefix: str) -> list[str]:
    """Names of cgroups directly under each hierarchy's root that start with `prefix`."""
    names = {p.name for root in cgroup_roots() for p in root.glob(f"{prefix}*") if p.is_dir()}
    return sorted(names)


def terminate(ref: ProcessRef) -> None:
    """SIGTERM a (non-host) process, SIGKILL it if it is still there after STOP_GRACE."""
    if not is_alive(ref):
        return
    _signal(ref.pid, signal.SIGTERM)
    if not _wait_gone(ref, STOP_GRACE):
        _signal(ref.pid, signal.SIGKILL)
        _wait_gone(ref, STOP_GRACE)
