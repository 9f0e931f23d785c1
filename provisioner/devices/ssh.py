"""SSH with pinned host keys: a reachability probe, host key fetching and pinning, and
paramiko's errors in project terms.

The only module that imports paramiko. Host keys are checked strictly against a
pinned known_hosts file (OpenSSH format, `sshd(8)` "SSH_KNOWN_HOSTS FILE FORMAT"):
a host with no pinned key is refused as *unknown*, one presenting another key as
*changed*; connecting never writes the file, only `pin_host_key` does.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import paramiko

from provisioner.errors import (
    AuthenticationFailedError,
    ConfigError,
    ConnectionFailedError,
    DeviceError,
    DeviceTimeoutError,
    HostKeyChangedError,
    HostKeyUnknownError,
)
from provisioner.secrets import write_secret_file

# Errors of the SSH transport a caller above paramiko (e.g. netmiko) may see.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (paramiko.SSHException, OSError, EOFError)
# What paramiko's RejectPolicy says about a host missing from known_hosts (it has
# no exception class of its own); a unit test holds this to the installed paramiko.
UNKNOWN_HOST_TEXT = "not found in known_hosts"


class HostKey(NamedTuple):
    """A public SSH host key as a device presents it.

    Attributes:
        key_type: the OpenSSH key type, e.g. "ssh-ed25519".
        base64: the key blob, base64 as in known_hosts and `.pub` files.
        fingerprint: "SHA256:..." as `ssh-keygen -lf` prints it.
    """

    key_type: str
    base64: str
    fingerprint: str

    @property
    def line(self) -> str:
        """"<key_type> <base64>", the key part of a known_hosts line."""
        return f"{self.key_type} {self.base64}"


def fingerprint(blob: bytes) -> str:
    """The OpenSSH SHA256 fingerprint of a public key blob ("SHA256:" + unpadded base64)."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii")
    return "SHA256:" + digest.rstrip("=")


def host_key_of(key: paramiko.PKey) -> HostKey:
    """A paramiko key as a `HostKey`."""
    blob = key.asbytes()
    return HostKey(key.get_name(), base64.b64encode(blob).decode("ascii"), fingerprint(blob))


def parse_host_key(line: str) -> HostKey:
    """A `HostKey` from "<type> <base64> [comment]" (a `.pub` file or known_hosts key part).

    Raises:
        ConfigError: the text is not an OpenSSH public key.
    """
    fields = line.split()
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except (IndexError, ValueError) as exc:
        raise ConfigError(f"{line[:40]!r} is not an OpenSSH public key "
                          "('<type> <base64>', as in a .pub file)") from exc
    return HostKey(fields[0], fields[1], fingerprint(blob))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and the ones it was raised from or during, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def changed_key_error(host: str, presented: str, pinned: str,
                      known_hosts: Path, name: str | None = None) -> HostKeyChangedError:
    """The error for a device presenting another key than the pinned one (fingerprints);
    `name`, the device's inventory name, is what the `trust` hint names (else `host`)."""
    return HostKeyChangedError(
        host,
        f"host key changed: it presents {presented} but {pinned} is pinned in "
        f"{known_hosts}; if the device was replaced or re-installed on purpose, verify "
        f"the new fingerprint with whoever set it up and re-pin it with "
        f"'provision trust {name or host}'; otherwise do not connect: someone may be in "
        "the middle",
        presented=presented, pinned=pinned,
    )


def unknown_key_error(host: str, known_hosts: Path,
                      name: str | None = None) -> HostKeyUnknownError:
    """The error for a device without a pinned host key (`name` as above)."""
    return HostKeyUnknownError(
        host,
        f"no host key is pinned for it in {known_hosts}: check the fingerprint it "
        f"presents and pin it with 'provision trust {name or host}'",
    )


def _host_key_error(exc: BaseException, host: str, known_hosts: Path) -> DeviceError | None:
    if isinstance(exc, paramiko.BadHostKeyException):
        return changed_key_error(host, host_key_of(exc.key).fingerprint,
                                 host_key_of(exc.expected_key).fingerprint, known_hosts)
    if isinstance(exc, paramiko.SSHException) and UNKNOWN_HOST_TEXT in str(exc):
        return unknown_key_error(host, known_hosts)
    return None


def _other_error(exc: BaseException, host: str, port: int, username: str) -> DeviceError | None:
    if isinstance(exc, paramiko.AuthenticationException):
        return AuthenticationFailedError(
            host,
            f"login as {username!r} was rejected: check the user name and the "
            "password or key file for this device",
        )
    if isinstance(exc, TimeoutError):
        return DeviceTimeoutError(
            host, f"no answer on port {port} in time: check that the device is up and reachable"
        )
    if isinstance(exc, (OSError, EOFError)):
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return ConnectionFailedError(
            host,
            f"cannot connect to port {port} ({reason or type(exc).__name__}): "
            "check the address and that SSH is enabled on the device",
        )
    return None


def ssh_failure(
    exc: BaseException, *, host: str, port: int, username: str, known_hosts: Path
) -> DeviceError:
    """Translate an SSH failure (paramiko's, or one raised from it) into a `DeviceError`.

    The whole chain (`__cause__`/`__context__`) is searched, as libraries over
    paramiko re-raise its errors as their own; host key problems win over the rest.

    Args:
        exc: the exception caught.
        host: the device address, for the message.
        port: the SSH port, for the message.
        username: the login tried, for the message.
        known_hosts: the pinned file, for the message.

    Returns:
        The error to raise (`raise ssh_failure(...) from exc`).
    """
    chain = list(_chain(exc))
    for item in chain:
        if (error := _host_key_error(item, host, known_hosts)) is not None:
            return error
    for item in chain:
        if (error := _other_error(item, host, port, username)) is not None:
            return error
    return ConnectionFailedError(
        host, f"SSH session on port {port} failed ({exc}): check that SSH is enabled and retry"
    )


def _missing_pins(host: str, known_hosts: Path) -> HostKeyUnknownError:
    return HostKeyUnknownError(
        host,
        f"pinned host key file {known_hosts} does not exist, so no host key can be "
        f"checked: pin the device's key with 'provision trust {host}' "
        "(the lab writes the file with 'provision lab up')",
    )


def pinned_client(host: str, known_hosts: Path) -> paramiko.SSHClient:
    """An SSH client that trusts only the keys pinned in known_hosts and never saves any.

    Raises:
        HostKeyUnknownError: the pinned file is missing or unreadable.
    """
    client = paramiko.SSHClient()
    try:
        # Loaded as plain host keys (not via load_host_keys): the client then has
        # no file name to save back to.
        client.get_host_keys().load(str(known_hosts))
    except OSError as exc:
        raise _missing_pins(host, known_hosts) from exc
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return client


def _first_line(client: paramiko.SSHClient, command: str, timeout: float) -> str:
    _stdin, stdout, _stderr = client.exec_command(command, timeout=timeout)
    return str(stdout.readline()).strip()


def probe_ssh(
    address: str,
    *,
    username: str,
    known_hosts: Path,
    key_file: Path | None = None,
    password: str | None = None,
    port: int = 22,
    timeout: float = 5.0,
    command: str | None = None,
) -> str:
    """Log in over SSH with strict host key checking and report what answered.

    Args:
        address: the device address.
        username: the login.
        known_hosts: the pinned host keys; the device's key must be in it.
        key_file: a private key to log in with (servers), or None.
        password: a password to log in with (switches), or None.
        port: the SSH port.
        timeout: seconds for connecting, the banner, authentication and the command.
        command: a harmless command to run (e.g. `uname -sr`); None only logs in.

    Returns:
        The first line the command printed, or without a command the server's
        SSH version string (e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3").

    Raises:
        HostKeyChangedError: the key differs from the pinned one (both fingerprints named).
        HostKeyUnknownError: no key is pinned for the device.
        AuthenticationFailedError: the login was rejected.
        DeviceTimeoutError: the device did not answer in time.
        ConnectionFailedError: the device could not be reached or the session failed.
    """
    client = pinned_client(address, known_hosts)
    try:
        client.connect(
            address,
            port=port,
            username=username,
            password=password,
            key_filename=str(key_file) if key_file else None,
            look_for_keys=False,  # only the credentials given, never ~/.ssh or an agent
            allow_agent=False,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
        )
        if command is not None:
            return _first_line(client, command, timeout)
        transport = client.get_transport()
        return transport.remote_version if transport is not None else ""
    except TRANSPORT_ERRORS as exc:
        raise ssh_failure(
            exc, host=address, port=port, username=username, known_hosts=known_hosts
        ) from exc
    finally:
        client.close()


def _connect_error(exc: BaseException, host: str, port: int) -> DeviceError:
    for item in _chain(exc):
        if (error := _other_error(item, host, port, "")) is not None:
            return error
    return ConnectionFailedError(
        host, f"no SSH handshake on port {port} ({exc}): check that SSH is enabled and retry"
    )


def fetch_host_key(address: str, port: int = 22, *, timeout: float = 5.0,
                   key_types: Sequence[str] | None = None) -> HostKey:
    """The host key a device presents, read in the SSH handshake without logging in.

    Nothing is checked against or written to any known_hosts file: this is how a key
    is looked at before it is trusted (`provision trust`).

    Args:
        address: the device address.
        port: the SSH port.
        timeout: seconds for connecting and the key exchange.
        key_types: the host key types to accept, in order of preference (e.g.
            ["ssh-ed25519"]); None takes paramiko's default order, as a first
            connection would.

    Returns:
        The presented key with its SHA256 fingerprint.

    Raises:
        DeviceTimeoutError: the device did not answer in time.
        ConnectionFailedError: it cannot be reached or speaks no SSH.
    """
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            transport = paramiko.Transport(sock)
            try:
                if key_types:
                    transport.get_security_options().key_types = tuple(key_types)
                transport.start_client(timeout=timeout)
                return host_key_of(transport.get_remote_server_key())
            finally:
                transport.close()
    except TRANSPORT_ERRORS as exc:
        raise _connect_error(exc, address, port) from exc


def known_hosts_name(host: str, port: int = 22) -> str:
    """How OpenSSH names a host in known_hosts: `host`, or `[host]:port` off port 22."""
    return host if port == 22 else f"[{host}]:{port}"


def _names_match(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):  # HashKnownHosts: |1|salt|HMAC-SHA1(salt, name)
        return paramiko.HostKeys.hash_host(name, pattern.split("|")[2]) == pattern
    return pattern == name


def without_host(text: str, name: str) -> list[str]:
    """The lines of a known_hosts text, with `name` dropped from every entry.

    An entry naming only `name` goes; one naming others too keeps the others.
    Comments, blank lines, markers (@revoked, @cert-authority) and other hosts stay.
    """
    kept = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            kept.append(line)
            continue
        marker = [fields.pop(0)] if fields[0].startswith("@") and len(fields) > 1 else []
        names = fields[0].split(",")
        others = [n for n in names if not _names_match(n, name)]
        if len(others) == len(names) or marker:
            kept.append(line)  # not this host, or a CA/revocation line: never touched
        elif others:
            kept.append(" ".join([",".join(others), *fields[1:]]))
    return kept


@contextlib.contextmanager
def _pin_lock(known_hosts: Path) -> Iterator[None]:
    """Serialise pinning: two `trust` runs must not lose each other's line."""
    fd = os.open(known_hosts.with_name(f".{known_hosts.name}.lock"),
                 os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def pin_host_key(known_hosts: Path, host: str, key: HostKey | str, *, port: int = 22) -> None:
    """Pin `key` as the only trusted host key of `host` in the known_hosts file.

    Every earlier key of the host (plain or hashed entries) is replaced; other lines
    stay as they are. The file is rewritten atomically with mode 0600, created if
    missing (its folder must exist).

    Args:
        known_hosts: the pinned file.
        host: the address or name the tool connects to.
        key: the key to trust: a `HostKey`, or "<type> <base64>" as in a .pub file.
        port: the SSH port (entries off port 22 are named `[host]:port`).

    Raises:
        ConfigError: the key is not an OpenSSH public key, or the file cannot be
            read or written.
    """
    pinned = parse_host_key(key) if isinstance(key, str) else key
    parse_host_key(pinned.line)  # a HostKey built by hand must hold a real blob too
    name = known_hosts_name(host, port)
    with _pin_lock(known_hosts):
        try:
            text = known_hosts.read_text(encoding="utf-8") if known_hosts.exists() else ""
        except OSError as exc:
            raise ConfigError(f"cannot read pinned host keys {known_hosts} ({exc.strerror}); "
                              "check its permissions") from exc
        lines = [*without_host(text, name), f"{name} {pinned.line}"]
        write_secret_file(known_hosts, "".join(line + "\n" for line in lines))
