"""SSH with pinned host keys: a reachability probe and paramiko's errors in project terms.

The only module that imports paramiko. Host keys are checked strictly against a
pinned known_hosts file: an unknown host is refused like a changed key, and the
file is never written to.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import paramiko

from provisioner.errors import (
    AuthenticationFailedError,
    ConnectionFailedError,
    DeviceError,
    DeviceTimeoutError,
    HostKeyMismatchError,
)

# Errors of the SSH transport a caller above paramiko (e.g. netmiko) may see.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (paramiko.SSHException, OSError, EOFError)
# What paramiko's RejectPolicy says about a host missing from known_hosts (it has
# no exception class of its own); a unit test holds this to the installed paramiko.
UNKNOWN_HOST_TEXT = "not found in known_hosts"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and the ones it was raised from or during, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _host_key_error(exc: BaseException, host: str, known_hosts: Path) -> DeviceError | None:
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyMismatchError(
            host,
            f"host key does not match the pinned one in {known_hosts}: "
            f"if the device was replaced on purpose, remove its line with "
            f"'ssh-keygen -R {host} -f {known_hosts}' and pin the new key "
            "(the lab re-pins with 'provision lab up'); otherwise do not connect, "
            "someone may be in the middle",
        )
    if isinstance(exc, paramiko.SSHException) and UNKNOWN_HOST_TEXT in str(exc):
        return HostKeyMismatchError(
            host,
            f"host key is not pinned in {known_hosts}: add the device's key "
            "to that file (the lab pins its devices with 'provision lab up') and retry",
        )
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


def _missing_pins(host: str, known_hosts: Path) -> HostKeyMismatchError:
    return HostKeyMismatchError(
        host,
        f"pinned host key file {known_hosts} does not exist, so no host key can be "
        "checked: create it with the devices' keys (the lab writes it with 'provision lab up')",
    )


def pinned_client(host: str, known_hosts: Path) -> paramiko.SSHClient:
    """An SSH client that trusts only the keys pinned in known_hosts and never saves any.

    Raises:
        HostKeyMismatchError: the pinned file is missing or unreadable.
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
        HostKeyMismatchError: the key differs from the pinned one, or none is pinned.
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
