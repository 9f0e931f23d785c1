"""The config files handed from `start_simulators` to the simulator processes.

A plain JSON contract between the lab manager's process and the simulators it
starts, kept free of Twisted and snmpsim so the manager never imports them. The
files hold paths to secrets, never the secrets themselves.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from provisioner.errors import LabError
from provisioner.secrets import write_secret_file


@dataclass(frozen=True)
class SwitchSpec:
    """One simulated switch: where it listens and what it is."""

    name: str
    netns: str
    address: str
    host_key: str  # path of its OpenSSH private host key
    startup_config: str  # path where `write memory` keeps its configuration
    port: int = 22
    platform: str = "cisco_ios"  # which switch OS it simulates (provisioner/platforms/)


@dataclass(frozen=True)
class SwitchSimConfig:
    """Everything one switch simulator process serves."""

    ready_file: str
    username: str
    password_file: str
    switches: tuple[SwitchSpec, ...]


@dataclass(frozen=True)
class SnmpEndpoint:
    """One UDP endpoint, bound inside a device's namespace."""

    netns: str
    address: str
    port: int = 161


@dataclass(frozen=True)
class SnmpSimConfig:
    """Everything one snmpsim responder process serves.

    Attributes:
        ready_file: written once every endpoint is bound and the data is indexed.
        data_dir: the recordings; the community / v3 context is the path inside it.
        cache_dir: snmpsim's index files; owned by `process_user`.
        variation_dir: the variation modules snmpsim loads.
        user: the SNMPv3 user name.
        auth_file: file holding the SHA authentication passphrase.
        priv_file: file holding the AES-128 privacy passphrase.
        process_user: the account the responder drops to once its sockets are bound.
        process_group: that account's group.
        endpoints: where it listens.
        boots_file: JSON {address: epoch seconds} of lab reboots, read by the
            `labuptime` variation (readable by `process_user`); "" for none.
    """

    ready_file: str
    data_dir: str
    cache_dir: str
    variation_dir: str
    user: str
    auth_file: str
    priv_file: str
    process_user: str
    process_group: str
    endpoints: tuple[SnmpEndpoint, ...]
    boots_file: str = ""


def write_config(path: Path, config: SwitchSimConfig | SnmpSimConfig) -> None:
    """Write a simulator config file (0600: it names the secret files)."""
    write_secret_file(path, json.dumps(asdict(config), indent=1))


def _unreadable(path: Path, why: object) -> LabError:
    return LabError(f"simulator config {path} {why}; run 'provision lab up' again")


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _unreadable(path, f"cannot be read ({exc})") from exc
    if not isinstance(raw, dict):
        raise _unreadable(path, "is not a JSON object")
    return raw


def read_switch_config(path: Path) -> SwitchSimConfig:
    """Read a switch simulator config file.

    Raises:
        LabError: the file is missing or malformed.
    """
    raw = _read(path)
    try:
        switches = tuple(SwitchSpec(**item) for item in raw.pop("switches"))
        return SwitchSimConfig(switches=switches, **raw)
    except (KeyError, TypeError) as exc:
        raise _unreadable(path, f"is malformed ({exc})") from exc


def read_snmp_config(path: Path) -> SnmpSimConfig:
    """Read an SNMP responder config file.

    Raises:
        LabError: the file is missing or malformed.
    """
    raw = _read(path)
    try:
        endpoints = tuple(SnmpEndpoint(**item) for item in raw.pop("endpoints"))
        return SnmpSimConfig(endpoints=endpoints, **raw)
    except (KeyError, TypeError) as exc:
        raise _unreadable(path, f"is malformed ({exc})") from exc
