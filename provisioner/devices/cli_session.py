"""CLI sessions to switches over SSH, with pinned host keys.

The only module that imports netmiko. Which netmiko driver, which refusals and which
save command a switch has comes from its platform's `CliDialect` (Cisco IOS unless
told). Host keys are checked strictly against a pinned known_hosts file that is never
written to; netmiko's and paramiko's errors leave this module as the `DeviceError`
family.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import ConfigInvalidException, NetmikoBaseException, ReadTimeout

from provisioner.devices.dialect import IOS, CliDialect
from provisioner.devices.ssh import TRANSPORT_ERRORS, ssh_failure
from provisioner.errors import (
    AuthenticationFailedError,
    CommandFailedError,
    ConnectionFailedError,
    DeviceError,
    DeviceTimeoutError,
    HostKeyUnknownError,
    InvalidVlanError,
)

# What IOS prints when it refuses a command.
IOS_ERROR = IOS.error
# A `show vlan brief` row: id, name, status (ports follow, possibly on more lines).
_VLAN_ROW = re.compile(r"^(\d{1,4})\s+(.+?)\s+(active|suspended|act/\S+|sus/\S+)(?:\s|$)")
# IOS VLAN names: up to 32 printable ASCII characters; spaces would need quoting.
_VLAN_NAME = re.compile(r"^[!-~]{1,32}$")
_RESERVED_VLANS = range(1002, 1006)  # the FDDI/Token Ring defaults IOS will not rename
# Everything netmiko or the SSH transport below it raises for a device problem.
_SESSION_ERRORS: tuple[type[BaseException], ...] = (NetmikoBaseException, *TRANSPORT_ERRORS)


def parse_vlan_brief(text: str) -> dict[int, str]:
    """VLAN id -> name from the output of `show vlan brief` (or `show vlan`'s first table).

    Rows of the later tables of `show vlan` (type, SAID, MTU ...) have no status
    column and are skipped.
    """
    vlans: dict[int, str] = {}
    for line in text.splitlines():
        match = _VLAN_ROW.match(line)
        if match and 1 <= int(match.group(1)) <= 4094:
            vlans[int(match.group(1))] = match.group(2)
    return vlans


def check_vlan(vid: int, name: str) -> None:
    """Reject a VLAN id or name IOS would refuse.

    Raises:
        InvalidVlanError: the id is outside 1..4094 or reserved, or the name is not 1-32
            printable ASCII characters without spaces (write "Schueler", not "Schüler").
    """
    if not 1 <= vid <= 4094 or vid in _RESERVED_VLANS:
        raise InvalidVlanError(
            vid, name, f"VLAN id {vid} is not configurable on IOS: use 1-1001 or 1006-4094 "
            "in the school's network profile"
        )
    if not _VLAN_NAME.match(name):
        raise InvalidVlanError(
            vid, name, f"VLAN name {name!r} (VLAN {vid}) is not 1-32 printable ASCII "
            "characters without spaces: write it like 'Schueler' or 'Gaeste-BYOD'"
        )


class SwitchSession:
    """An SSH CLI session to a switch, in privileged (IOS) or manager (AOS-S) mode.

    Use as a context manager; every method raises a `DeviceError` subclass on failure::

        with SwitchSession("10.213.1.12", username="admin", password=pw,
                           known_hosts=creds.known_hosts) as switch:
            if switch.ensure_vlan(110, "Verwaltung"):
                switch.save()
    """

    def __init__(
        self,
        host: str,
        *,
        username: str,
        password: str,
        known_hosts: Path,
        enable_secret: str | None = None,
        port: int = 22,
        timeout: float = 10.0,
        dialect: CliDialect = IOS,
    ) -> None:
        """Prepare a session; nothing connects before `__enter__`.

        Args:
            host: the switch address.
            username: the login.
            password: the login password.
            known_hosts: the pinned host keys; the switch's key must be in it.
            enable_secret: the enable password, if it differs from the login password.
            port: the SSH port.
            timeout: seconds for connecting, authenticating and each command.
            dialect: the switch's CLI (its platform's), Cisco IOS unless told.
        """
        self.host = host
        self.username = username
        self.known_hosts = known_hosts
        self.port = port
        self.timeout = timeout
        self.dialect = dialect
        self._password = password
        self._enable_secret = enable_secret if enable_secret is not None else password
        self._conn: BaseConnection | None = None

    def __repr__(self) -> str:
        return f"SwitchSession({self.host!r}, username={self.username!r})"

    def __enter__(self) -> SwitchSession:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _translate(self, exc: BaseException) -> DeviceError:
        if isinstance(exc, ReadTimeout):
            return DeviceTimeoutError(
                self.host,
                f"no prompt within {self.timeout:.0f} s: the switch is slow or "
                "the command waits for input; retry with a longer timeout",
            )
        if isinstance(exc, ConfigInvalidException):
            return CommandFailedError(self.host, f"the switch refused the configuration: {exc}")
        return ssh_failure(
            exc,
            host=self.host,
            port=self.port,
            username=self.username,
            known_hosts=self.known_hosts,
        )

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except _SESSION_ERRORS as exc:
            raise self._translate(exc) from exc

    def open(self) -> None:
        """Connect, log in and enter privileged EXEC mode (called by `__enter__`).

        Raises:
            HostKeyChangedError: the switch presents another key than the pinned one.
            HostKeyUnknownError: no key is pinned for the switch (or no pinned file).
            AuthenticationFailedError: the login or the enable password was rejected.
            DeviceTimeoutError, ConnectionFailedError: the switch cannot be reached.
        """
        if not self.known_hosts.is_file():
            raise HostKeyUnknownError(
                self.host,
                f"pinned host key file {self.known_hosts} does not exist: pin the switch's "
                f"key with 'provision trust {self.host}' (the lab writes the file with "
                "'provision lab up')",
            )
        with self._translated():
            self._conn = ConnectHandler(
                device_type=self.dialect.device_type,
                host=self.host,
                port=self.port,
                username=self.username,
                password=self._password,
                secret=self._enable_secret,
                # Strict: only keys from the pinned file, unknown hosts refused, nothing saved.
                ssh_strict=True,
                system_host_keys=False,
                alt_host_keys=True,
                alt_key_file=str(self.known_hosts),
                use_keys=False,
                allow_agent=False,
                conn_timeout=self.timeout,
                auth_timeout=self.timeout,
                banner_timeout=self.timeout,
                read_timeout_override=self.timeout,
                fast_cli=True,
            )
        if self.dialect.enable:
            self._enable()

    def _enable(self) -> None:
        try:
            with self._translated():
                self._session().enable()
        except ValueError as exc:
            # netmiko's way of saying the enable password was not accepted.
            self.close()
            raise AuthenticationFailedError(
                self.host, "the enable password was rejected: check the switch's enable secret"
            ) from exc
        except DeviceError:
            self.close()
            raise

    def close(self) -> None:
        """Log out; safe to call twice."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.disconnect()

    def _session(self) -> BaseConnection:
        if self._conn is None:
            raise ConnectionFailedError(
                self.host, "the session is not open: use 'with SwitchSession(...)'"
            )
        return self._conn

    def run(self, command: str) -> str:
        """Run one EXEC command and return its output.

        Raises:
            CommandFailedError: IOS refused the command.
        """
        with self._translated():
            output = str(self._session().send_command(command))
        refused = self.dialect.error.search(output)
        if refused:
            raise CommandFailedError(
                self.host, f"{command!r} was refused ({refused.group(0).strip()}): check it "
                f"for {self.dialect.name}"
            )
        return output

    def configure(self, commands: Sequence[str]) -> str:
        """Apply configuration commands (config mode is entered and left); the transcript.

        Raises:
            CommandFailedError: IOS refused one of the commands.
        """
        with self._translated():
            output = self._session().send_config_set(
                list(commands), error_pattern=self.dialect.error.pattern
            )
        return str(output)

    def vlans(self) -> dict[int, str]:
        """The switch's VLANs: id -> name."""
        return parse_vlan_brief(self.run("show vlan brief"))

    def ensure_vlan(self, vid: int, name: str) -> bool:
        """Make VLAN `vid` exist with `name`; whether that changed anything.

        Raises:
            InvalidVlanError: the id or name is one IOS would refuse (see `check_vlan`).
            CommandFailedError: the switch refused it or does not show it afterwards.
        """
        check_vlan(vid, name)
        if self.vlans().get(vid) == name:
            return False
        self.configure([f"vlan {vid}", f"name {name}"])
        if self.vlans().get(vid) != name:
            raise CommandFailedError(
                self.host,
                f"VLAN {vid} is not named {name!r} after configuring it; "
                "check 'show vlan brief' on the switch (VTP client mode?)",
            )
        return True

    def save(self) -> None:
        """Save the running configuration to the startup configuration (`write memory`).

        Raises:
            CommandFailedError: the switch did not confirm the save, or refused it.
        """
        with self._translated():
            output = str(self._session().save_config(cmd=self.dialect.save_command))
        confirmation = self.dialect.save_confirmation
        if (confirmation and confirmation not in output) or self.dialect.error.search(output):
            last = output.strip().splitlines()[-1:] or ["no output"]
            raise CommandFailedError(
                self.host,
                f"saving the configuration was not confirmed ({last[0]}); "
                "check the switch's flash/NVRAM and retry",
            )
