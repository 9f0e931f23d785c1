"""A CLI session to a switch as its inventory describes it (login, secret, dialect).

Shared by the switch platforms' read-back. netmiko is imported with the session
module on the first call only: the registry stays cheap to import for health runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.devices.dialect import CliDialect
from provisioner.errors import ProvisionerError
from provisioner.models import Device
from provisioner.provision.preflight import LOOKUP_FILE
from provisioner.secrets import read_secret

if TYPE_CHECKING:
    from provisioner.devices.cli_session import SwitchSession


def password_file(device: Device) -> Path:
    """The file the switch's `ansible_password` looks its secret up in.

    Raises:
        ProvisionerError: the variable names no file lookup.
    """
    found = LOOKUP_FILE.findall(str(device.vars.get("ansible_password") or ""))
    if not found:
        raise ProvisionerError("the switch's ansible_password names no secret file "
                               "(lookup('ansible.builtin.file', PATH)); refer to one")
    return Path(found[0])


def session_for(device: Device, known_hosts: Path, dialect: CliDialect,
                timeout: float = 15.0) -> SwitchSession:
    """An unopened session to the switch (use it as a context manager).

    Raises:
        ProvisionerError: the password's file cannot be named or read.
    """
    from provisioner.devices.cli_session import SwitchSession

    password = read_secret(password_file(device), f"{device.name} switch password")
    return SwitchSession(device.address, username=str(device.vars.get("ansible_user", "")),
                         password=password, known_hosts=known_hosts, timeout=timeout,
                         dialect=dialect)
