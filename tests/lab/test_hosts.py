"""The lab's Debian hosts against their real daemons: sshd, sudo, snmpd, apt.

One lab (a server and a Linux AP) is shared by the whole module: starting it takes
about a second once the base image is cached (the first run on a machine builds it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioner.config import Settings, load_settings
from provisioner.lab.credentials import LabCredentials, ensure_credentials, read_secret
from provisioner.lab.manager import find_leftovers, lab_down, lab_up
from provisioner.lab.state import LabState
from provisioner.lab.topology import LabSpec

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (namespaces, mounts)"),
    pytest.mark.skipif(shutil.which("snmpget") is None,
                       reason="snmpget missing: apt-get install snmp"),
]

SPEC = LabSpec(("100001",), servers=1, switches=0, aps=1, recorded_aps=0, wlan_aps=0)
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"


@dataclass(frozen=True)
class Lab:
    settings: Settings
    credentials: LabCredentials
    state: LabState

    def address(self, name: str) -> str:
        return self.state.hosts[name].address


def lab_settings(lab_dir: Path) -> Settings:
    """Test settings: a private lab dir, the cache the tool itself would use (the
    settings' cache_dir: PROVISIONER_CACHE_DIR or the user's cache folder)."""
    cache = load_settings(env=os.environ).cache_dir
    return Settings(db=lab_dir / "db", inventories=lab_dir / "inventories", cache_dir=cache,
                    lab_dir=lab_dir, playbooks=lab_dir / "playbooks")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    settings = lab_settings(tmp_path_factory.mktemp("lab"))
    credentials = ensure_credentials(settings.lab_dir / "credentials")
    messages: list[str] = []
    state = lab_up(SPEC, settings, credentials, messages.append)
    try:
        yield Lab(settings, credentials, state)
    finally:
        lab_down(settings, messages.append)


def ssh(lab: Lab, address: str, command: str, known_hosts: Path | None = None,
        ) -> subprocess.CompletedProcess[str]:
    """Run a command as deploy on a host, checking its host key against the pinned file."""
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(lab.credentials.ssh_key), "-o", "IdentitiesOnly=yes",
         "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
         "-o", f"UserKnownHostsFile={known_hosts or lab.credentials.known_hosts}",
         "-o", "ConnectTimeout=10", f"deploy@{address}", command],
        capture_output=True, text=True, timeout=180, check=False,
    )


def snmpget(lab: Lab, tmp_path: Path, address: str, *oids: str,
            auth_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    """SNMPv3 authPriv GET; passphrases go through a 0600 snmp.conf, never the command line."""
    conf = tmp_path / "snmp.conf"
    auth = read_secret(auth_file or lab.credentials.snmp_auth)
    priv = read_secret(lab.credentials.snmp_priv)
    conf.write_text(f"defAuthPassphrase {auth}\ndefPrivPassphrase {priv}\n", encoding="utf-8")
    conf.chmod(0o600)
    return subprocess.run(
        ["snmpget", "-v3", "-l", "authPriv", "-u", "provisioner", "-a", "SHA", "-x", "AES",
         "-t", "2", "-r", "1", "-On", address, *oids],
        capture_output=True, text=True, timeout=30, check=False,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SNMPCONFPATH": str(tmp_path)},
    )


def test_every_host_is_up_and_pinned(lab: Lab) -> None:
    assert set(lab.state.hosts) == {"100001-srv01", "100001-ap01"}
    pinned = lab.credentials.known_hosts.read_text(encoding="utf-8").splitlines()
    assert sorted(pinned) == sorted(
        f"{h.address} {h.host_key}" for h in lab.state.hosts.values())
    assert len({h.host_key for h in lab.state.hosts.values()}) == 2  # a fresh key each


def test_deploy_logs_in_with_the_pinned_key_and_has_sudo(lab: Lab) -> None:
    done = ssh(lab, lab.address("100001-srv01"), "sudo -n true && hostname")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "100001-srv01"


def test_an_unpinned_host_key_is_refused(lab: Lab, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("", encoding="utf-8")
    done = ssh(lab, lab.address("100001-srv01"), "true", known_hosts=empty)
    assert done.returncode == 255
    assert "Host key verification failed" in done.stderr


def test_hosts_run_systemd_and_have_no_route_out(lab: Lab) -> None:
    done = ssh(lab, lab.address("100001-ap01"),
               "ps -o comm= -p 1; ip route; cat /etc/resolv.conf")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "systemd"
    assert lines[1:] == ["10.213.0.0/16 dev eth0 proto kernel scope link src 10.213.1.11 "]


def test_snmpv3_authpriv_answers_with_the_hosts_own_name(lab: Lab, tmp_path: Path) -> None:
    done = snmpget(lab, tmp_path, lab.address("100001-ap01"), SYS_DESCR, SYS_NAME)
    assert done.returncode == 0, done.stderr
    assert f".{SYS_DESCR} = STRING: \"Linux 100001-ap01" in done.stdout
    assert f".{SYS_NAME} = STRING: \"100001-ap01\"" in done.stdout


def test_snmpv3_with_a_wrong_passphrase_gets_nothing(lab: Lab, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-passphrase\n", encoding="utf-8")
    done = snmpget(lab, tmp_path, lab.address("100001-srv01"), SYS_NAME, auth_file=wrong)
    assert done.returncode != 0
    assert "STRING" not in done.stdout


def test_apt_installs_from_the_local_repository_without_network(lab: Lab) -> None:
    done = ssh(lab, lab.address("100001-srv01"),
               "grep -rh '^deb' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null;"
               " sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -q hostapd"
               " >/tmp/apt.log 2>&1 || tail -5 /tmp/apt.log;"
               " dpkg-query -W -f='${Status}\\n' hostapd")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["deb [trusted=yes] file:/srv/localrepo ./",
                                        "install ok installed"]


def test_down_leaves_nothing_behind(lab: Lab) -> None:
    summary = lab_down(lab.settings, lambda _: None)
    assert summary.hosts_stopped == 2
    assert find_leftovers(lab.settings.lab_dir).empty
    assert not (lab.settings.lab_dir / "state.json").exists()
    assert not (lab.settings.lab_dir / "hosts").exists()
    roots = [h.root for h in lab.state.hosts.values()]
    assert not any(Path(r).exists() for r in roots)
    pids = [p.pid for p in lab.state.processes]
    assert not [pid for pid in pids if _running(pid)]


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
