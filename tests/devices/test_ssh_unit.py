"""Pure tests of how SSH failures become project errors (no network)."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest

from provisioner.devices.ssh import UNKNOWN_HOST_TEXT, pinned_client, ssh_failure
from provisioner.errors import (
    AuthenticationFailedError,
    ConnectionFailedError,
    DeviceTimeoutError,
    HostKeyMismatchError,
)

PINS = Path("/lab/credentials/known_hosts")


def _translate(exc: BaseException) -> Exception:
    return ssh_failure(exc, host="10.213.1.12", port=22, username="admin", known_hosts=PINS)


class _QuietClient(paramiko.SSHClient):
    """A client without a transport: RejectPolicy only logs through it."""

    def _log(self, level: int, msg: str) -> None:
        pass


def test_rejectpolicy_still_words_unknown_hosts_as_expected() -> None:
    # ssh.py recognises an unpinned host by this text; fail here if paramiko changes it.
    with pytest.raises(paramiko.SSHException, match=UNKNOWN_HOST_TEXT):
        paramiko.RejectPolicy().missing_host_key(
            _QuietClient(), "10.213.1.12", paramiko.ECDSAKey.generate()
        )


def test_changed_host_key_is_a_mismatch_naming_the_file_and_the_fix() -> None:
    got, expected = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    error = _translate(paramiko.BadHostKeyException("10.213.1.12", got, expected))
    assert isinstance(error, HostKeyMismatchError)
    assert str(error).startswith(f"10.213.1.12: host key does not match the pinned one in {PINS}")
    assert f"ssh-keygen -R 10.213.1.12 -f {PINS}" in str(error)


def test_unknown_host_is_a_mismatch_too() -> None:
    error = _translate(paramiko.SSHException(f"Server '10.213.1.12' {UNKNOWN_HOST_TEXT}"))
    assert isinstance(error, HostKeyMismatchError)
    assert "is not pinned in" in str(error)


def test_host_key_problem_is_found_below_a_wrapping_library_error() -> None:
    # netmiko raises its own error inside its except block: paramiko's is the context.
    outer = paramiko.SSHException("A paramiko SSHException occurred during connection creation")
    outer.__context__ = paramiko.SSHException(f"Server '10.213.1.12' {UNKNOWN_HOST_TEXT}")
    assert isinstance(_translate(outer), HostKeyMismatchError)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (paramiko.AuthenticationException("Authentication failed."), AuthenticationFailedError),
        (TimeoutError("timed out"), DeviceTimeoutError),
        (ConnectionRefusedError(111, "Connection refused"), ConnectionFailedError),
        (EOFError(), ConnectionFailedError),
        (paramiko.SSHException("Error reading SSH protocol banner"), ConnectionFailedError),
    ],
)
def test_other_failures_map_to_their_error_class(exc: BaseException, expected: type) -> None:
    error = _translate(exc)
    assert type(error) is expected
    assert str(error).startswith("10.213.1.12: ")


def test_pinned_client_refuses_to_work_without_the_pinned_file(tmp_path: Path) -> None:
    with pytest.raises(HostKeyMismatchError, match="does not exist"):
        pinned_client("10.213.1.12", tmp_path / "missing")
