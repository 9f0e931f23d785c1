"""Pure logic of the lab's network, mounts, base image and hosts (no root needed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provisioner.lab import hosts, rootfs
from provisioner.lab.netns import (
    device_side_script,
    host_side_script,
    parse_links,
    parse_netns_list,
    teardown_script,
)
from provisioner.lab.rootfs import base_key, parse_mirror
from provisioner.lab.syscmd import parse_mounts_below
from provisioner.lab.topology import LabSpec, plan_lab

SERVER = plan_lab(LabSpec(("100001",), servers=1, switches=0, aps=0, recorded_aps=0))[0]


def test_only_the_labs_namespaces_are_found() -> None:
    text = "pvlab-100001-srv01 (id: 4)\npvdev-sw01 (id: 0)\nother\npvlab-100001-ap01\n"
    assert parse_netns_list(text) == ["pvlab-100001-srv01", "pvlab-100001-ap01"]


def test_only_the_labs_links_are_found() -> None:
    links = [{"ifname": n} for n in
             ("lo", "eth0", "pvlab0", "pvdev0", "pvl0h", "pvl12h", "pvl3d", "pvlx", "pvl1hh")]
    assert parse_links(json.dumps(links)) == ["pvlab0", "pvl0h", "pvl12h", "pvl3d"]
    assert parse_links("") == []


def test_device_network_scripts_make_eth0_with_no_route() -> None:
    host = host_side_script([SERVER])
    assert "netns add pvlab-100001-srv01\n" in host
    assert "link add pvl0h type veth peer name pvl0d netns pvlab-100001-srv01\n" in host
    assert "link set pvl0h master pvlab0 up\n" in host
    device = device_side_script(SERVER)
    assert "addr add 10.213.1.10/16 dev eth0" in device
    assert "route" not in device


def test_teardown_deletes_links_before_namespaces() -> None:
    script = teardown_script(["pvl0h", "pvlab0"], ["pvlab-a"], bridge=True).splitlines()
    assert script == ["link del pvl0h", "netns del pvlab-a", "link del pvlab0"]
    assert teardown_script([], [], bridge=False) == ""


def test_mounts_below_the_lab_dir_deepest_first_and_unescaped() -> None:
    info = "\n".join([
        "22 1 8:1 / / rw - ext4 /dev/vda rw",
        "90 22 0:50 / /srv/lab\\040x/hosts/a/root rw - overlay overlay rw",
        "91 90 0:51 / /srv/lab\\040x/hosts/a/root/proc rw - proc proc rw",
        "92 22 0:52 / /srv/lab\\040xy/other rw - tmpfs tmpfs rw",
    ])
    assert parse_mounts_below(info, Path("/srv/lab x")) == [
        "/srv/lab x/hosts/a/root/proc", "/srv/lab x/hosts/a/root"]


def test_mirror_from_deb822_sources() -> None:
    deb822 = ("Types: deb\n# comment: yes\nURIs: http://deb.debian.org/debian\n"
              "Suites: bookworm bookworm-updates\nComponents: main\n\n"
              "Types: deb\nURIs: http://security.debian.org/debian-security\n"
              "Suites: bookworm-security\n")
    assert parse_mirror(deb822, "") == "http://deb.debian.org/debian"


def test_mirror_from_one_line_sources() -> None:
    one_line = ("# deb http://old/debian bookworm main\n"
                "deb [arch=amd64 signed-by=/k.gpg] http://ftp.de.debian.org/debian bookworm main\n")
    assert parse_mirror("", one_line) == "http://ftp.de.debian.org/debian"
    assert parse_mirror("", "deb http://x/debian trixie main\n") is None


def test_base_key_is_a_short_hex_digest() -> None:
    key = base_key()
    assert len(key) == 16
    int(key, 16)


@pytest.mark.parametrize(("name", "change"), [
    ("BASE_PACKAGES", lambda v: (*v, "htop")),
    ("REPO_PACKAGES", lambda v: (*v, "isc-dhcp-server")),
    ("PREPARE_SCRIPT", lambda v: v + "echo one more step\n"),
    ("FINISH_SCRIPT", lambda v: v.replace("apt-get clean", "apt-get autoclean")),
    ("SUITE", lambda _: "trixie"),
    ("PREP_VERSION", lambda v: v + 1),
])
def test_base_key_changes_with_what_shapes_the_base(
        monkeypatch: pytest.MonkeyPatch, name: str, change: Callable[[Any], Any]) -> None:
    before = base_key()
    monkeypatch.setattr(rootfs, name, change(getattr(rootfs, name)))
    assert base_key() != before  # a cached base built from the old inputs is not reused


def test_base_key_stays_when_nothing_that_shapes_the_base_changes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = base_key()
    # Equal values in new objects, as after a re-import in another process.
    monkeypatch.setattr(rootfs, "BASE_PACKAGES", tuple(list(rootfs.BASE_PACKAGES)))
    monkeypatch.setattr(rootfs, "PREPARE_SCRIPT", "".join(rootfs.PREPARE_SCRIPT))
    assert base_key() == before


def test_listening_sockets_from_proc_net() -> None:
    tcp = ("  sl  local_address rem_address   st tx_queue rx_queue\n"
           "   0: 00000000:0016 00000000:0000 0A 00000000:00000000\n"
           "   1: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000\n")
    assert hosts.parse_listening(tcp, 22, tcp=True)
    assert not hosts.parse_listening(tcp, 8080, tcp=True)  # established, not listening
    udp = ("  sl  local_address rem_address   st\n"
           "  12: 00000000:00A1 00000000:0000 07 00000000:00000000\n")
    assert hosts.parse_listening(udp, 161, tcp=False)


def test_host_keys_are_fresh_openssh_ed25519() -> None:
    private_a, public_a = hosts.new_host_key()
    _, public_b = hosts.new_host_key()
    assert private_a.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert public_a.startswith("ssh-ed25519 AAAA")
    assert public_a != public_b


def test_runtime_command_lines() -> None:
    paths = hosts.host_paths(Path("/l"), SERVER)
    nspawn = hosts.nspawn_command(SERVER, paths, Path("/c/repo"))
    for flag in ("--register=no", "--keep-unit", "-b",
                 "--network-namespace-path=/run/netns/pvlab-100001-srv01",
                 "--bind-ro=/c/repo:/srv/localrepo"):
        assert flag in nspawn
    chroot = hosts.chroot_command(SERVER, paths, Path("/c/repo"))
    assert chroot[:4] == ["ip", "netns", "exec", "pvlab-100001-srv01"]
    assert any(a.startswith("--bounding-set=-sys_module") for a in chroot)
