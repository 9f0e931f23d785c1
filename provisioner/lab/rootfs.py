"""The lab hosts' shared base root filesystem and their hermetic package repository.

Built once with debootstrap, prepared (deploy user, no host keys, snmpd for SNMPv3,
no docs), packed as a zstd tarball in `<cache_dir>/lab/` under a key that hashes
everything that shapes it, and unpacked once into a read-only lower dir that every
host's overlay shares. The packages playbooks install (hostapd, chrony, ...) are
downloaded at the same time into a local repository the hosts use as their ONLY apt
source, so installing inside a host needs no network.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from provisioner.containment import kill_until_gone
from provisioner.errors import EnvironmentProblemError, LabError
from provisioner.files import locked
from provisioner.lab.syscmd import mounts_below, require_tools, run, unmount_below

Progress = Callable[[str], None]

SUITE = "bookworm"
BASE_PACKAGES = (
    "openssh-server", "snmpd", "python3", "python3-apt", "sudo", "iproute2",
    "systemd", "systemd-sysv", "dbus", "libpam-systemd",
)
# What the lab's playbooks install on servers and Linux APs; their dependencies that
# are not in the base come along.
REPO_PACKAGES = ("hostapd", "chrony", "nftables", "unattended-upgrades", "rsyslog",
                 "dnsmasq", "less", "vim-tiny", "lsof", "tcpdump", "iw", "logrotate",
                 "wireless-regdb")
REPO_MOUNT = "/srv/localrepo"
REPO_SOURCE = f"deb [trusted=yes] file:{REPO_MOUNT} ./"
# Bump when the scripts below change in a way the text hash would not show.
PREP_VERSION = 1

PREPARE_SCRIPT = r"""set -eu
useradd --create-home --shell /bin/bash deploy
# '*' = no password (key-only login), unlike '!' which marks the account locked.
usermod -p '*' deploy
printf 'deploy ALL=(ALL) NOPASSWD:ALL\n' > /etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy
install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh
# Every host gets its own host key at start; shared keys would make pinning pointless.
rm -f /etc/ssh/ssh_host_*
cat > /etc/ssh/sshd_config.d/lab.conf <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UseDNS no
EOF
# Debian's default listens on 127.0.0.1 with a restricted view.
cat > /etc/snmp/snmpd.conf <<'EOF'
agentaddress udp:161
view all included .1
sysLocation provisioner lab
sysContact school-it@lab.invalid
sysServices 72
EOF
cat > /etc/dpkg/dpkg.cfg.d/01-lab-nodoc <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
find /usr/share/doc -mindepth 1 ! -name copyright ! -type d -delete
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
# Consoles, timers and hardware units only slow the boot of a container down.
systemctl mask -q getty@tty1.service console-getty.service apt-daily.timer \
  apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
  dpkg-db-backup.timer systemd-pstore.service
install -d /srv/localrepo
"""

FINISH_SCRIPT = rf"""set -eu
rm -f /etc/apt/sources.list.d/*
echo '{REPO_SOURCE}' > /etc/apt/sources.list
rm -rf /var/lib/apt/lists/*
apt-get -q -o APT::Update::Error-Mode=any update
apt-get clean
rm -rf /var/cache/apt/*.bin /var/log/apt/* /var/log/*.log /tmp/* /var/tmp/*
: > /etc/resolv.conf
: > /etc/machine-id
"""


@dataclass(frozen=True)
class BaseImage:
    """A ready base: the shared lower dir and the local package repository.

    Attributes:
        key: the cache key (hash of package lists and scripts).
        root: the unpacked root filesystem, never written to once ready.
        repo: the flat apt repository (debs + Packages).
        tarball: the cached tarball `root` was made from.
    """

    key: str
    root: Path
    repo: Path
    tarball: Path


def base_key() -> str:
    """The cache key: changes whenever a package list or a preparation script does."""
    material = json.dumps({
        "suite": SUITE, "base": BASE_PACKAGES, "repo": REPO_PACKAGES,
        "prepare": PREPARE_SCRIPT, "finish": FINISH_SCRIPT, "version": PREP_VERSION,
    }, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def parse_mirror(deb822_text: str, one_line_text: str, suite: str = SUITE) -> str | None:
    """The Debian mirror URI serving `suite` from deb822 or one-line apt sources.

    Args:
        deb822_text: contents of /etc/apt/sources.list.d/debian.sources (may be "").
        one_line_text: contents of /etc/apt/sources.list (may be "").
        suite: the release to find a mirror for.
    """
    for stanza in re.split(r"\n\s*\n", deb822_text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if ":" in line and not line.lstrip().startswith("#"):
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        wanted = ("deb" in fields.get("types", "").split()
                  and suite in fields.get("suites", "").split()
                  and fields.get("enabled", "yes").lower() != "no")
        if wanted and fields.get("uris"):
            return fields["uris"].split()[0]
    for line in one_line_text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
            return words[1]
    return None


def read_mirror(etc: Path = Path("/etc/apt")) -> str:
    """The machine's own Debian mirror, from its apt sources.

    Raises:
        EnvironmentProblemError: no source for bookworm is configured.
    """
    def text(path: Path) -> str:
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    mirror = parse_mirror(text(etc / "sources.list.d" / "debian.sources"),
                          text(etc / "sources.list"))
    if mirror is None:
        raise EnvironmentProblemError(
            f"no Debian {SUITE} mirror found in {etc}/sources.list(.d); "
            f"add one (e.g. 'deb http://deb.debian.org/debian {SUITE} main')"
        )
    return mirror


@contextmanager
def _cache_lock(lab_cache: Path) -> Iterator[None]:
    """Serialise base builds: two `lab up` at once must not build into the same dir."""
    lab_cache.mkdir(parents=True, exist_ok=True)
    with locked(lab_cache / ".lock"):
        yield


def image_paths(cache_dir: Path) -> BaseImage:
    """Where the base of the current key lives (ready or not)."""
    lab_cache = cache_dir / "lab"
    key = base_key()
    return BaseImage(key=key, root=lab_cache / f"base-{key}" / "root",
                     repo=lab_cache / f"repo-{key}",
                     tarball=lab_cache / f"base-{key}.tar.zst")


def _ready_marker(image: BaseImage) -> Path:
    return image.root.parent / ".ready"


def base_state(cache_dir: Path) -> str:
    """What `ensure_base` would do now: "cached", "unpacking (...)" or "building (...)"."""
    image = image_paths(cache_dir)
    if not (image.repo / "Packages").is_file():
        return "building (not in the cache)"
    if _ready_marker(image).is_file():
        return "cached"
    if image.tarball.is_file():
        return "unpacking (its packed copy is cached)"
    return "building (not in the cache)"


def ensure_base(cache_dir: Path, progress: Progress) -> BaseImage:
    """Return a ready base, building or unpacking it only if needed.

    Warm (unpacked base present): instant. Tarball and repo cached: unpack (seconds).
    Otherwise a full build (debootstrap, about a minute or two).

    Raises:
        EnvironmentProblemError: debootstrap, tar or zstd missing, or no mirror.
        LabError: the build failed (message says which step).
    """
    image = image_paths(cache_dir)
    with _cache_lock(image.tarball.parent):
        repo_ok = (image.repo / "Packages").is_file()
        if _ready_marker(image).is_file() and repo_ok:
            return image
        if image.tarball.is_file() and repo_ok:
            progress(f"unpacking the cached base {image.tarball.name}")
            _unpack(image)
        else:
            progress(f"building the base root filesystem ({SUITE}, takes a minute or two)")
            _build(image, progress)
        _ready_marker(image).touch()
    return image


def _unpack(image: BaseImage) -> None:
    require_tools(["tar", "zstd"])
    staging = image.root.parent / "unpacking"
    _remove_tree(staging)
    staging.mkdir(parents=True)
    run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-I", "zstd -d -T0",
         "-xf", image.tarball, "-C", staging], step=f"unpack {image.tarball.name}", timeout=600)
    _remove_tree(image.root)
    staging.rename(image.root)


def _build(image: BaseImage, progress: Progress) -> None:
    require_tools(["debootstrap", "chroot", "tar", "zstd", "dpkg-scanpackages", "mount"])
    mirror = read_mirror()
    build = image.tarball.parent / f"build-{image.key}"
    unmount_below(build, "clean a failed base build")
    _remove_tree(build)
    build.mkdir(parents=True)
    try:
        _build_in(build / "root", image, mirror, progress)
    finally:
        # debootstrap mounts /proc and /sys in the target and leaves them if it fails.
        unmount_below(build, "clean the base build")
    _remove_tree(image.root)
    image.root.parent.mkdir(parents=True, exist_ok=True)
    (build / "root").rename(image.root)
    _remove_tree(build)


def _build_in(root: Path, image: BaseImage, mirror: str, progress: Progress) -> None:
    progress(f"debootstrap {SUITE} from {mirror}")
    run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
         SUITE, root, mirror], step="debootstrap the base", timeout=1800)
    _settle(root, "debootstrap the base")
    _chroot_script(root, PREPARE_SCRIPT, "prepare the base")
    progress("downloading the local package repository: " + ", ".join(REPO_PACKAGES))
    _build_repo(root, image.repo)
    with _bind_repo(image.repo, root):
        _chroot_script(root, FINISH_SCRIPT, "point the base at the local repository")
    _settle(root, "pack the base")
    progress(f"packing the base into {image.tarball.name}")
    tmp = image.tarball.with_name(image.tarball.name + ".tmp")
    # --one-file-system: whatever might still be mounted below is never packed.
    run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--one-file-system",
         "-I", "zstd -3 -T0", "-cf", tmp, "-C", root, "."], step="pack the base", timeout=900)
    tmp.rename(image.tarball)


def _rooted_in(root: Path) -> set[int]:
    """Processes whose root directory is `root` or below (started inside the build)."""
    inside = str(root.resolve())
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                where = os.readlink(f"/proc/{entry.name}/root")
                if where == inside or where.startswith(inside + "/"):
                    found.add(int(entry.name))
    return found


def _settle(root: Path, step: str) -> None:
    """After programs ran inside the build: end any still running there (a daemon a
    package's script started) and unmount what is left mounted below it (debootstrap
    leaves /proc mounted when its unmount fails: a cold build once packed the
    machine's /proc and failed), lazily, so that a busy mount cannot stop the build.

    Raises:
        LabError: an unmount failed.
    """
    kill_until_gone(lambda: _rooted_in(root))
    for point in mounts_below(root):
        run(["umount", "--lazy", point], step=f"{step}: unmount {point}")


def _chroot_script(root: Path, script: str, step: str) -> None:
    run(["chroot", root, "/bin/sh", "-s"], step=step, input_text=script, timeout=900)


def _build_repo(root: Path, repo: Path) -> None:
    """Download what REPO_PACKAGES need beyond the base, as the base itself resolves it."""
    archives = root / "var/cache/apt/archives"
    run(["chroot", root, "apt-get", "clean"], step="clean the apt cache")
    run(["chroot", root, "apt-get", "-q", "-y", "--download-only", "install", *REPO_PACKAGES],
        step="download the local repository's packages", timeout=900)
    staging = repo.with_name(repo.name + ".tmp")
    _remove_tree(staging)
    staging.mkdir(parents=True)
    debs = sorted(archives.glob("*.deb"))
    if not debs:
        raise LabError("no package was downloaded for the local repository; "
                       "check the apt sources of the machine")
    for deb in debs:
        shutil.move(deb, staging / deb.name)
    packages = run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"],
                   step="index the local repository", cwd=staging)
    (staging / "Packages").write_text(packages, encoding="utf-8")
    _remove_tree(repo)
    staging.rename(repo)


@contextmanager
def _bind_repo(repo: Path, root: Path) -> Iterator[None]:
    target = root / REPO_MOUNT.lstrip("/")
    target.mkdir(parents=True, exist_ok=True)
    run(["mount", "--bind", "-o", "ro", repo, target], step="bind the local repository")
    try:
        yield
    finally:
        run(["umount", target], step="unbind the local repository")


def _remove_tree(path: Path) -> None:
    """Delete a build dir, refusing if anything is still mounted below it."""
    if not path.exists():
        return
    busy = mounts_below(path)
    if busy:
        raise LabError(f"{busy[0]} is still mounted; unmount it, then run again")
    shutil.rmtree(path)
