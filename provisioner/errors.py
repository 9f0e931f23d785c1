"""The error tree and the exit statuses of the `provision` command.

Every error the library raises on purpose is a `ProvisionerError`; its message
says what is wrong and what to do next. The CLI maps each class to one exit
status here, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import ClassVar

from provisioner.outcome import FailureKind


class ExitStatus(IntEnum):
    """Exit statuses of `provision`; documented in the README."""

    OK = 0
    ERROR = 1  # an unexpected failure
    USAGE = 2  # bad arguments (click's own code)
    INVALID_INPUT = 3  # a plan file or inventory that does not validate
    NOT_FOUND = 4  # an unknown school, file or device
    DATABASE = 5  # the state database cannot be opened or migrated
    ENVIRONMENT = 6  # missing root rights, system packages or lab parts
    DEVICES_FAILED = 7  # the command ran, but one or more devices failed
    PREFLIGHT_BLOCKED = 8  # checks before any change stopped every host; nothing changed
    ALREADY_RUNNING = 9  # the same kind of run holds its lock (for this school)
    HEALTH_WARNING = 10  # health: devices answered, some with warnings
    HEALTH_CRITICAL = 11  # health: critical devices, unreachable devices or a dead site
    HEALTH_UNKNOWN = 12  # health: none critical, but some devices unknown or stale (not read)


class ProvisionerError(Exception):
    """Root of every error the library raises on purpose."""

    exit_status: ExitStatus = ExitStatus.ERROR


class ConfigError(ProvisionerError):
    """A setting or config file is wrong."""

    exit_status = ExitStatus.USAGE


class DatabaseError(ProvisionerError):
    """The state database cannot be opened, migrated or written."""

    exit_status = ExitStatus.DATABASE


class NotFoundError(ProvisionerError):
    """A named thing (school, file, device) does not exist."""

    exit_status = ExitStatus.NOT_FOUND


class UnknownSchoolError(NotFoundError):
    """A school id that is neither in the plan nor in the inventories."""

    def __init__(self, school_id: str) -> None:
        self.school_id = school_id
        super().__init__(
            f"unknown school {school_id!r}: list the known ones with 'provision schools' "
            "or import a plan that contains it with 'provision plan import FILE'"
        )


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file, located as precisely as known."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


class InvalidInputError(ProvisionerError):
    """An input file (plan, inventory) has problems; all of them are carried."""

    exit_status = ExitStatus.INVALID_INPUT

    def __init__(self, path: Path | str, problems: list[Problem]) -> None:
        self.path = Path(path)
        self.problems = problems
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"{self.path}: {count} {noun} found, nothing was written; fix "
            f"{'it' if count == 1 else 'them'} and run again"
        )


class EnvironmentProblemError(ProvisionerError):
    """The machine lacks something the command needs (root, a package, a tool)."""

    exit_status = ExitStatus.ENVIRONMENT


class LabError(ProvisionerError):
    """The built-in lab could not be built, started, inspected or removed."""

    exit_status = ExitStatus.ENVIRONMENT


class DeviceError(ProvisionerError):
    """Root of failures talking to one device; carried as data per device.

    Each class carries the `FailureKind` a per-device result records for it (`kind`),
    so no caller maps errors to kinds by class name or message text.
    """

    kind: ClassVar[FailureKind] = FailureKind.FAILED

    def __init__(self, host: str, message: str) -> None:
        self.host = host
        super().__init__(f"{host}: {message}")


class ConnectionFailedError(DeviceError):
    """The device cannot be reached (refused, no route, timeout)."""

    kind = FailureKind.UNREACHABLE


class AuthenticationFailedError(DeviceError):
    """The device rejected the credentials."""

    kind = FailureKind.AUTH


class HostKeyMismatchError(DeviceError):
    """The device's SSH host key cannot be trusted: not pinned, or not the pinned one."""

    kind = FailureKind.HOST_KEY_UNKNOWN


class HostKeyUnknownError(HostKeyMismatchError):
    """No host key is pinned for the device (it was never trusted, or the file is missing)."""


class HostKeyChangedError(HostKeyMismatchError):
    """The device presented another host key than the pinned one (replaced, or a machine
    in the middle); both SHA256 fingerprints are carried."""

    kind = FailureKind.HOST_KEY_CHANGED

    def __init__(self, host: str, message: str, *, presented: str, pinned: str) -> None:
        self.presented = presented
        self.pinned = pinned
        super().__init__(host, message)


class InvalidVlanError(ProvisionerError):
    """A VLAN id or name that a switch would refuse (from a network profile or a caller)."""

    exit_status = ExitStatus.INVALID_INPUT

    def __init__(self, vid: int, name: str, message: str) -> None:
        self.vid = vid
        self.name = name
        super().__init__(message)


class AlreadyRunningError(ProvisionerError):
    """Another run of the same kind holds the lock; this one did not start."""

    exit_status = ExitStatus.ALREADY_RUNNING


class DeviceTimeoutError(DeviceError):
    """The device did not answer in time."""

    kind = FailureKind.TIMEOUT


class CommandFailedError(DeviceError):
    """The device refused or failed a command."""

    kind = FailureKind.FAILED


class SnmpDecodeError(ProvisionerError):
    """An SNMP datagram that is not a well-formed message (RFC 3416/3412, X.690 BER).

    Raised by every decoding path of the `fast` backend and nothing else escapes it:
    the poller drops such a datagram, counts it against the device it came from and
    goes on; it never ends a poll.
    """


class SnmpRefusedError(SnmpDecodeError):
    """A well-formed SNMP message that must not be believed: not authenticated at the
    level asked, a digest that does not verify, outside the time window, or not an
    answer to what was asked (RFC 3412 section 7.2, RFC 3414 section 3.2)."""
