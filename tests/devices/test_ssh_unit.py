"""Pure tests of how SSH failures become project errors (no network)."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest

from provisioner.devices.ssh import UNKNOWN_HOST_TEXT, host_key_of, pinned_client, ssh_failure
from provisioner.errors import (
    AuthenticationFailedError,
    ConnectionFailedError,
    DeviceTimeoutError,
    HostKeyChangedError,
    HostKeyMismatchError,
    HostKeyUnknownError,
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


def test_changed_host_key_names_both_fingerprints_and_how_to_re_pin() -> None:
    got, expected = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    error = _translate(paramiko.BadHostKeyException("10.213.1.12", got, expected))
    assert type(error) is HostKeyChangedError
    assert isinstance(error, HostKeyMismatchError)  # the common base still catches both
    presented, pinned = host_key_of(got).fingerprint, host_key_of(expected).fingerprint
    assert presented != pinned
    assert (error.presented, error.pinned) == (presented, pinned)
    assert str(error) == (
        f"10.213.1.12: host key changed: it presents {presented} but {pinned} is pinned in "
        f"{PINS}; if the device was replaced or re-installed on purpose, verify the new "
        "fingerprint with whoever set it up and re-pin it with 'provision trust 10.213.1.12'; "
        "otherwise do not connect: someone may be in the middle")


def test_unknown_host_is_its_own_error_saying_how_to_pin() -> None:
    error = _translate(paramiko.SSHException(f"Server '10.213.1.12' {UNKNOWN_HOST_TEXT}"))
    assert type(error) is HostKeyUnknownError
    assert str(error) == (f"10.213.1.12: no host key is pinned for it in {PINS}: check the "
                          "fingerprint it presents and pin it with "
                          "'provision trust 10.213.1.12'")


def test_host_key_problem_is_found_below_a_wrapping_library_error() -> None:
    # netmiko raises its own error inside its except block: paramiko's is the context.
    outer = paramiko.SSHException("A paramiko SSHException occurred during connection creation")
    outer.__context__ = paramiko.SSHException(f"Server '10.213.1.12' {UNKNOWN_HOST_TEXT}")
    assert isinstance(_translate(outer), HostKeyUnknownError)


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
    with pytest.raises(HostKeyUnknownError,
                       match=r"does not exist.*'provision trust 10\.213\.1\.12'"):
        pinned_client("10.213.1.12", tmp_path / "missing")
