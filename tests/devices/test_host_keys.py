"""Fetching a presented host key and pinning it (a local paramiko SSH server, no lab)."""

from __future__ import annotations

import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from provisioner.devices.ssh import (
    HostKey,
    fetch_host_key,
    host_key_of,
    parse_host_key,
    pin_host_key,
    pinned_client,
    without_host,
)
from provisioner.errors import ConfigError, ConnectionFailedError

OTHER = ("10.213.9.9 ssh-ed25519 "
         "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")


def _key_pair(tmp_path: Path, name: str) -> tuple[Path, str]:
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path, " ".join(path.with_suffix(".pub").read_text().split()[:2])  # no comment


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, paramiko.PKey]]:
    """An SSH server on loopback that completes the key exchange and nothing more."""
    key = paramiko.ECDSAKey.generate()
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        transport = paramiko.Transport(conn)
        transport.add_server_key(key)
        try:
            transport.start_server(server=paramiko.ServerInterface())
            done.wait(10)
        # The client hangs up as soon as it has the key: a reset is its goodbye.
        except (paramiko.SSHException, EOFError, OSError):
            pass
        finally:
            transport.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], key
    done.set()
    thread.join(10)
    listener.close()


def test_fetch_reads_the_presented_key_with_the_fingerprint_ssh_keygen_prints(
        server: tuple[int, paramiko.PKey], tmp_path: Path) -> None:
    port, key = server
    fetched = fetch_host_key("127.0.0.1", port, timeout=5)
    assert fetched == host_key_of(key)
    pub = tmp_path / "k.pub"
    pub.write_text(f"{fetched.line}\n")
    listed = subprocess.run(["ssh-keygen", "-lf", str(pub)], check=True, capture_output=True,
                            text=True).stdout.split()
    assert listed[1] == fetched.fingerprint
    assert fetched.key_type == "ecdsa-sha2-nistp256"


def test_fetch_from_a_closed_port_is_a_connection_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionFailedError, match=f"127.0.0.1: cannot connect to port {port}"):
        fetch_host_key("127.0.0.1", port, timeout=2)


def test_pin_replaces_only_that_hosts_keys_and_keeps_the_rest(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    _, old = _key_pair(tmp_path, "old")
    _, new = _key_pair(tmp_path, "new")
    known.write_text(f"# pinned by hand\n{OTHER}\n10.213.1.12,sw01 {old}\n"
                     f"[10.213.1.12]:2222 {old}\n")
    known.chmod(0o644)
    pin_host_key(known, "10.213.1.12", new)
    lines = known.read_text().splitlines()
    assert lines == ["# pinned by hand", OTHER, f"sw01 {old}", f"[10.213.1.12]:2222 {old}",
                     f"10.213.1.12 {new}"]
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    # What was pinned is what a strict client now trusts (and only that).
    trusted = pinned_client("10.213.1.12", known).get_host_keys().lookup("10.213.1.12")
    assert trusted is not None
    assert [f"{k.get_name()} {k.get_base64()}" for k in trusted.values()] == [new]


def test_pin_replaces_a_hashed_entry_and_names_other_ports_in_brackets(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    _, old = _key_pair(tmp_path, "old")
    hashed = paramiko.HostKeys.hash_host("[10.213.1.12]:2222")
    known.write_text(f"{hashed} {old}\n")
    key = parse_host_key(old)
    pin_host_key(known, "10.213.1.12", key, port=2222)
    assert known.read_text() == f"[10.213.1.12]:2222 {key.line}\n"


def test_pin_creates_a_missing_file_0600(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    _, new = _key_pair(tmp_path, "new")
    pin_host_key(known, "10.213.1.10", parse_host_key(new))
    assert known.read_text() == f"10.213.1.10 {new}\n"
    assert stat.S_IMODE(known.stat().st_mode) == 0o600


def test_a_bad_key_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"{OTHER}\n")
    with pytest.raises(ConfigError, match="is not an OpenSSH public key"):
        pin_host_key(known, "10.213.1.10", "ssh-ed25519 not-base64!")
    with pytest.raises(ConfigError, match="is not an OpenSSH public key"):
        pin_host_key(known, "10.213.1.10", HostKey("ssh-ed25519", "%%%", "SHA256:x"))
    assert known.read_text() == f"{OTHER}\n"


def test_markers_and_comments_are_never_touched() -> None:
    text = "@revoked 10.213.1.12 ssh-ed25519 AAAA\n\n# 10.213.1.12\n10.213.1.12 ssh-rsa AAAB\n"
    assert without_host(text, "10.213.1.12") == [
        "@revoked 10.213.1.12 ssh-ed25519 AAAA", "", "# 10.213.1.12"]
