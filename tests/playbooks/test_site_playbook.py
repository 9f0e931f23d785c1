"""The site playbook on the lab with plain `ansible-playbook`: right, idempotent, check-safe.

One lab school (a server, a switch, a Linux AP and a recorded SNMP-only AP). The first
run must succeed with host key checking on; the devices are then read back
independently (SNMPv3 with the lab's credentials, the switch's CLI over SSH); a second
run must change nothing and a `--check --diff` run must change nothing either.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.devices.cli_session import SwitchSession
from provisioner.lab.credentials import (
    DEPLOY_USER,
    SNMP_USER,
    SWITCH_USER,
    LabCredentials,
    read_secret,
)

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "playbooks" / "site.yml"
SCHOOL = "100001"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                   re.MULTILINE)


@dataclass
class Lab:
    home: Path

    @property
    def lab_dir(self) -> Path:
        return self.home / "data" / "provisioner" / "lab"

    @property
    def inventory(self) -> Path:
        return self.lab_dir / "inventories" / SCHOOL

    @property
    def creds(self) -> LabCredentials:
        return LabCredentials(self.lab_dir / "credentials")

    def cli(self, *args: str) -> str:
        env = {"XDG_DATA_HOME": str(self.home / "data"), "XDG_CONFIG_HOME": str(self.home / "cfg"),
               "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))}
        result = CliRunner(env=env).invoke(cli, ["--db", str(self.home / "state.db"), *args],
                                           catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def ssh(self, address: str, command: str) -> str:
        """Run a command on a lab host as the deploy user, the host key checked."""
        result = subprocess.run(
            ["ssh", "-i", str(self.creds.ssh_key), "-o", "BatchMode=yes",
             "-o", f"UserKnownHostsFile={self.creds.known_hosts}",
             "-o", "StrictHostKeyChecking=yes", f"{DEPLOY_USER}@{address}", command],
            capture_output=True, text=True, timeout=60, check=False)
        return result.stdout

    def playbook(self, *args: str, known_hosts: Path | None = None
                 ) -> subprocess.CompletedProcess[str]:
        """ansible-playbook as the engine runs it: host keys pinned, checking on."""
        run_home = self.home / "run-home"
        (run_home / ".ssh").mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(known_hosts or self.creds.known_hosts, run_home / ".ssh" / "known_hosts")
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME": str(run_home), "ANSIBLE_HOST_KEY_CHECKING": "True",
               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "False",
               "ANSIBLE_PIPELINING": "True",
               "ANSIBLE_SSH_CONTROL_PATH_DIR": str(run_home / "cp"),
               "ANSIBLE_PERSISTENT_CONTROL_PATH_DIR": str(run_home / "pc"),
               # The project's plugins, as plain ansible-playbook finds them from playbooks/.
               "ANSIBLE_CONFIG": str(SITE.parent / "ansible.cfg")}
        return subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(self.inventory),
             str(SITE), *args], env=env, capture_output=True, text=True, timeout=900, check=False)


def recap(output: str) -> dict[str, tuple[int, int, int, int]]:
    """Per host (ok, changed, unreachable, failed) from the PLAY RECAP."""
    return {m.group(1): tuple(int(m.group(i)) for i in range(2, 6))  # type: ignore[misc]
            for m in RECAP.finditer(output)}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    the_lab = Lab(tmp_path_factory.mktemp("site-playbook"))
    try:
        the_lab.cli("lab", "up", "--schools", "1", "--servers", "1", "--switches", "1",
                    "--aps", "1", "--recorded-aps", "1", "--wlan-aps", "0")
        yield the_lab
    finally:
        the_lab.cli("lab", "down")


@pytest.fixture(scope="module")
def first_run(lab: Lab) -> subprocess.CompletedProcess[str]:
    return lab.playbook()


def snmpget(lab: Lab, address: str, *oids: str, auth_file: Path | None = None) -> str:
    """snmpget -v3 authPriv with the lab's user; passphrases go through a 0600 file."""
    conf = lab.home / "snmp.conf"
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"defSecurityName {SNMP_USER}\ndefSecurityLevel authPriv\n"
                     f"defAuthType SHA\ndefPrivType AES\n"
                     f"defAuthPassphrase {read_secret(auth_file or lab.creds.snmp_auth)}\n"
                     f"defPrivPassphrase {read_secret(lab.creds.snmp_priv)}\n")
    env = {**os.environ, "SNMPCONFPATH": str(lab.home), "MIBS": ""}
    result = subprocess.run(["snmpget", "-v3", "-On", "-Oqv", "-t", "3", "-r", "2",
                             address, *oids], env=env, capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_first_run_succeeds_with_host_keys_checked(first_run: subprocess.CompletedProcess[str]
                                                   ) -> None:
    assert first_run.returncode == 0, first_run.stdout[-4000:] + first_run.stderr[-2000:]
    hosts = recap(first_run.stdout)
    assert set(hosts) == {f"{SCHOOL}-srv01", f"{SCHOOL}-sw01", f"{SCHOOL}-ap01", f"{SCHOOL}-wap01"}
    for host, (_ok, _changed, unreachable, failed) in hosts.items():
        assert (unreachable, failed) == (0, 0), host
    assert hosts[f"{SCHOOL}-srv01"][1] > 0
    assert f"{SCHOOL}-wap01: skipped, not managed over SSH" in first_run.stdout
    assert "[WARNING]: 100001-ap01: no radio present: hostapd" in first_run.stderr


def test_secrets_never_reach_the_output(lab: Lab,
                                        first_run: subprocess.CompletedProcess[str]) -> None:
    output = first_run.stdout + first_run.stderr
    for path in (lab.creds.snmp_auth, lab.creds.snmp_priv, lab.creds.switch_password,
                 lab.creds.radius_secret, lab.creds.wlan_psk):
        assert read_secret(path) not in output, path.name


def test_server_answers_snmpv3_with_its_room_and_watches_its_services(
        lab: Lab, first_run: subprocess.CompletedProcess[str]) -> None:
    # sysLocation, then prNames 1-3 (UCD-SNMP-MIB prTable) in snmpd.conf's order.
    out = snmpget(lab, "10.213.1.10", ".1.3.6.1.2.1.1.6.0", ".1.3.6.1.4.1.2021.2.1.2.1",
                  ".1.3.6.1.4.1.2021.2.1.2.2", ".1.3.6.1.4.1.2021.2.1.2.3",
                  ".1.3.6.1.4.1.2021.2.1.100.2")
    lines = [line.strip().strip('"') for line in out.splitlines()]
    assert lines[0] == "Serverraum 0"
    assert lines[1:4] == ["sshd", "chronyd", "snmpd"]
    assert lines[4] == "0", "prErrorFlag of chronyd: chrony must be running"


def test_switch_has_the_profiles_vlans_and_trunks(
        lab: Lab, first_run: subprocess.CompletedProcess[str]) -> None:
    with SwitchSession("10.213.1.11", username=SWITCH_USER,
                       password=read_secret(lab.creds.switch_password),
                       known_hosts=lab.creds.known_hosts) as switch:
        vlans = switch.vlans()
        running = switch.run("show running-config")
    assert {vid: vlans.get(vid) for vid in (10, 20, 30, 40, 50, 60, 99)} == {
        10: "Verwaltung", 20: "Lehrer", 30: "Schueler", 40: "Server", 50: "Gaeste",
        60: "Geraete", 99: "Management"}
    assert "interface FastEthernet0/21\n switchport trunk native vlan 99\n" \
           " switchport trunk allowed vlan 20,30,50,60,99\n switchport mode trunk" in running
    assert " switchport access vlan 30\n switchport mode access" in running
    assert "ntp server 10.213.0.1" in running
    assert "snmp-server location Verteiler 1" in running


def test_server_is_hardened_and_dhcp_is_written_but_not_served(
        lab: Lab, first_run: subprocess.CompletedProcess[str]) -> None:
    sshd = lab.ssh("10.213.1.10", "sudo /usr/sbin/sshd -T")
    assert "permitrootlogin no" in sshd and "passwordauthentication no" in sshd
    assert f"allowusers {DEPLOY_USER}" in sshd
    rules = lab.ssh("10.213.1.10", "sudo nft list table inet provisioner")
    assert "ip saddr @separated ip daddr @administration counter" in rules
    assert "10.1.10.0/24" in rules
    dhcp = lab.ssh("10.213.1.10", "cat /etc/dnsmasq.d/school.conf; systemctl is-active dnsmasq")
    ap_mac = lab.ssh("10.213.1.12", "cat /sys/class/net/eth0/address 2>/dev/null; "
                     "ip -o link show dev eth0").split("link/ether ")[1].split()[0]
    assert f"dhcp-host={ap_mac},{SCHOOL}-ap01,10.213.1.12" in dhcp
    assert "dhcp-range=set:vlan30,10.1.32.100,10.1.47.249,255.255.240.0,12h" in dhcp
    # Written but not served: Debian's package start may have failed (no school VLAN
    # here) or never happened; either way no DHCP server runs in the lab.
    assert dhcp.splitlines()[-1] in ("inactive", "failed")
    # ... and the run says so as a warning, not a debug message nobody reads.
    assert (f"[WARNING]: {SCHOOL}-srv01: dnsmasq not started: no address of this server is "
            "in the school's subnets") in first_run.stderr, first_run.stderr[-2000:]


def test_a_run_that_leaves_the_aps_out_keeps_their_reservations(
        lab: Lab, first_run: subprocess.CompletedProcess[str]) -> None:
    before = lab.ssh("10.213.1.10", "cat /etc/dnsmasq.d/school.conf")
    assert f",{SCHOOL}-ap01,10.213.1.12" in before
    # The servers alone read no MAC from any AP: what the server holds stays.
    servers = lab.playbook("--limit", "servers")
    assert servers.returncode == 0, servers.stdout[-4000:]
    assert lab.ssh("10.213.1.10", "cat /etc/dnsmasq.d/school.conf") == before
    assert {host: counts[1] for host, counts in recap(servers.stdout).items()} == {
        f"{SCHOOL}-srv01": 0}


def test_a_mac_another_ap_claims_stays_with_the_ap_the_server_holds_it_for(
        lab: Lab, first_run: subprocess.CompletedProcess[str]) -> None:
    # The recorded AP (not managed, but in access_points) is given ap01's MAC in the
    # inventory: a MAC two APs claim. The server holds it for ap01, so ap01 keeps its
    # reservation (before, both lost theirs), and the run says why wap01 has none.
    before = lab.ssh("10.213.1.10", "cat /etc/dnsmasq.d/school.conf")
    line = next(text for text in before.splitlines()
                if text.startswith("dhcp-host=") and f",{SCHOOL}-ap01," in text)
    mac = line.removeprefix("dhcp-host=").split(",")[0]
    host_vars = lab.inventory / "host_vars"
    host_vars.mkdir(exist_ok=True)
    claim = host_vars / f"{SCHOOL}-wap01.yml"
    claim.write_text(f"mac: '{mac}'\n")
    try:
        run = lab.playbook()
        assert run.returncode == 0, run.stdout[-4000:]
        assert lab.ssh("10.213.1.10", "cat /etc/dnsmasq.d/school.conf") == before
        assert (f"[WARNING]: {SCHOOL}-srv01: no DHCP reservation for {SCHOOL}-wap01: its MAC "
                f"{mac} is claimed by {SCHOOL}-ap01 too") in run.stderr
    finally:
        claim.unlink()


def test_a_forged_mac_from_an_ap_changes_no_reservation(
        lab: Lab, first_run: subprocess.CompletedProcess[str]) -> None:
    # The AP answers the MAC read with its management address on a link whose MAC ends
    # in a line break (a forged line for dnsmasq's file): the servers' role must not
    # take it, and must keep the reservation it holds.
    before = lab.ssh("10.213.1.10", "cat /etc/dnsmasq.d/school.conf")
    forged = json.dumps([{"ifname": "eth0", "address": "02:00:00:00:00:01\n",
                          "addr_info": [{"family": "inet", "local": "10.213.1.12",
                                         "prefixlen": 16}]}])
    fake_ip = "#!/bin/sh\ncat /usr/local/share/forged-ip.json\n"
    install = " && ".join(
        f"echo {base64.b64encode(text.encode()).decode()} | base64 -d | sudo tee {path} >/dev/null"
        for text, path in ((forged, "/usr/local/share/forged-ip.json"),
                           (fake_ip, "/usr/local/sbin/ip")))
    lab.ssh("10.213.1.12", install + " && sudo chmod 755 /usr/local/sbin/ip && echo done")
    try:
        assert "02:00:00:00:00:01" in lab.ssh("10.213.1.12", "sudo ip -json address show")
        run = lab.playbook()
        assert run.returncode == 0, run.stdout[-4000:]
        assert lab.ssh("10.213.1.10", "cat /etc/dnsmasq.d/school.conf") == before
        assert "02:00:00:00:00:01" not in run.stdout
    finally:
        lab.ssh("10.213.1.12", "sudo rm -f /usr/local/sbin/ip /usr/local/share/forged-ip.json")


def test_access_point_carries_the_ssids_without_a_radio(
        lab: Lab, first_run: subprocess.CompletedProcess[str]) -> None:
    conf = lab.ssh("10.213.1.12", "sudo grep -E '^(ssid|bridge|wpa_key_mgmt)=' "
                   "/etc/hostapd/hostapd.conf; systemctl is-active hostapd")
    lines = conf.splitlines()
    assert [line for line in lines if line.startswith("ssid=")] == [
        "ssid=Lehrkraefte", "ssid=Schueler", "ssid=Gaeste", "ssid=Geraete"]
    assert [line for line in lines if line.startswith("bridge=")] == [
        "bridge=br20", "bridge=br30", "bridge=br50", "bridge=br60"]
    assert "wpa_key_mgmt=WPA-EAP WPA-EAP-SHA256" in lines
    assert lines[-1] == "inactive"


def test_second_run_changes_nothing(lab: Lab, first_run: subprocess.CompletedProcess[str]) -> None:
    second = lab.playbook()
    assert second.returncode == 0, second.stdout[-4000:]
    hosts = recap(second.stdout)
    assert len(hosts) == 4
    assert {host: counts[1] for host, counts in hosts.items()} == dict.fromkeys(hosts, 0)


def test_check_mode_changes_nothing(lab: Lab, first_run: subprocess.CompletedProcess[str]) -> None:
    check = lab.playbook("--check", "--diff")
    assert check.returncode == 0, check.stdout[-4000:]
    hosts = recap(check.stdout)
    assert {host: counts[1] for host, counts in hosts.items()} == dict.fromkeys(hosts, 0)
    # The roles' reports do not claim what check mode did not do.
    assert "hostapd configuration would be written (check mode)" in check.stderr
    assert "written and checked" not in check.stderr
    # Diffs of the templates that hold secrets are never shown (no_log).
    for path in (lab.creds.snmp_auth, lab.creds.snmp_priv, lab.creds.radius_secret,
                 lab.creds.wlan_psk):
        assert read_secret(path) not in check.stdout + check.stderr, path.name


def test_a_changed_switch_key_is_refused(lab: Lab, first_run: subprocess.CompletedProcess[str]
                                         ) -> None:
    # Another key of the same type under the switch's name: as if the switch was replaced.
    pinned = lab.creds.known_hosts.read_text(encoding="utf-8").splitlines()
    key_type = next(line.split()[1] for line in pinned if line.startswith("10.213.1.11 "))
    key = lab.home / "other_key"
    keygen_type = {"ssh-rsa": "rsa", "ssh-ed25519": "ed25519"}.get(key_type, "ecdsa")
    subprocess.run(["ssh-keygen", "-q", "-t", keygen_type, "-N", "", "-f", str(key)], check=True)
    other = key.with_name("other_key.pub").read_text(encoding="utf-8").split()[:2]
    forged = lab.home / "forged_known_hosts"
    lines = [f"10.213.1.11 {' '.join(other)}" if line.startswith("10.213.1.11 ") else line
             for line in pinned]
    forged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused = lab.playbook("--limit", "switches", known_hosts=forged)
    assert refused.returncode != 0
    assert recap(refused.stdout)[f"{SCHOOL}-sw01"][2:] in ((1, 0), (0, 1))
    said = (refused.stdout + refused.stderr).lower()
    assert "host key" in said or "known_hosts" in said, said[-3000:]


def test_a_user_changed_on_the_host_is_created_again(
        lab: Lab, first_run: subprocess.CompletedProcess[str]) -> None:
    # Someone makes the SNMPv3 user anew by hand with other passphrases: the role's
    # marker still holds its digest, but the keys snmpd keeps are not the tool's.
    lab.ssh("10.213.1.10", "sudo systemctl stop snmpd && "
            f"sudo sed -i '/^usmUser .* \"{SNMP_USER}\" /d' /var/lib/snmp/snmpd.conf && "
            f"echo 'createUser {SNMP_USER} SHA \"someone-elses-1\" AES \"someone-elses-2\"' "
            "| sudo tee -a /var/lib/snmp/snmpd.conf >/dev/null && "
            # Started, snmpd makes the user; stopped, it writes the usmUser line.
            "sudo systemctl start snmpd && sudo systemctl stop snmpd && "
            "sudo systemctl start snmpd")
    # snmpd holds the hand-made user as a usmUser line, as the tool's own would be.
    counts = lab.ssh("10.213.1.10", "sudo awk '/^usmUser/ {u++} /^createUser/ {c++} "
                                    "END {print u+0, c+0}' /var/lib/snmp/snmpd.conf")
    assert counts.split() == ["1", "0"], counts
    with pytest.raises(AssertionError):
        snmpget(lab, "10.213.1.10", ".1.3.6.1.2.1.1.6.0")
    run = lab.playbook("--limit", f"{SCHOOL}-srv01")
    assert run.returncode == 0, run.stdout[-4000:]
    assert recap(run.stdout)[f"{SCHOOL}-srv01"][1] > 0, run.stdout[-4000:]
    assert snmpget(lab, "10.213.1.10", ".1.3.6.1.2.1.1.6.0").strip().strip('"') == "Serverraum 0"


def test_a_changed_snmpv3_passphrase_recreates_the_user(
        lab: Lab, first_run: subprocess.CompletedProcess[str]) -> None:
    # Another authentication passphrase for the server alone: the module must stop
    # snmpd, replace the user and leave it to the start task; the old one must stop working.
    new_auth = lab.home / "snmp_auth_new"
    fd = os.open(new_auth, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("rotated-auth-passphrase-7\n")
    original = lab.creds.snmp_auth
    try:
        rotated = lab.playbook("--limit", f"{SCHOOL}-srv01", "-e", f"snmp_auth_file={new_auth}")
        assert rotated.returncode == 0, rotated.stdout[-4000:]
        assert recap(rotated.stdout)[f"{SCHOOL}-srv01"][1] > 0
        assert "rotated-auth-passphrase-7" not in rotated.stdout + rotated.stderr
        again = lab.playbook("--limit", f"{SCHOOL}-srv01", "-e", f"snmp_auth_file={new_auth}")
        assert recap(again.stdout)[f"{SCHOOL}-srv01"][1] == 0, again.stdout[-4000:]
        assert snmpget(lab, "10.213.1.10", ".1.3.6.1.2.1.1.6.0", auth_file=new_auth
                       ).strip().strip('"') == "Serverraum 0"
        with pytest.raises(AssertionError):
            snmpget(lab, "10.213.1.10", ".1.3.6.1.2.1.1.6.0", auth_file=original)
    finally:
        back = lab.playbook("--limit", f"{SCHOOL}-srv01")
        assert back.returncode == 0, back.stdout[-4000:]
    assert snmpget(lab, "10.213.1.10", ".1.3.6.1.2.1.1.6.0").strip().strip('"') == "Serverraum 0"
