"""The lab's AOS-S switch over SSH: Twisted conch around the pure shell and terminal.

`provisioner.lab.switchsim` serves these beside the IOS switches in one reactor: one
SSH factory per switch (its own host key, password login of the lab's switch user,
a shell session per login), the switch's state shared by its sessions, and what
`write memory` saves kept in a JSON file so a restarted simulator comes back with
it, as a switch reboots into its startup configuration. The CLI itself and the HPE
documents it follows are in `cli.py`, `shell.py` and `terminal.py`.

Twisted was chosen over paramiko's server: the IOS switches already run in a Twisted
reactor (fake-switches), so one process serves every lab switch and the host key
reload on SIGHUP (`switchsim_runner`) works for both kinds alike.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from twisted.conch import avatar
from twisted.conch.interfaces import IConchUser, ISession
from twisted.conch.ssh import factory, keys, session
from twisted.cred import checkers, portal
from twisted.internet import protocol
from twisted.python import components
from zope.interface import implementer

from provisioner.platforms.aruba_aoss.cli import Switch
from provisioner.platforms.aruba_aoss.config import SwitchConfig, Vlan
from provisioner.platforms.aruba_aoss.shell import Shell
from provisioner.platforms.aruba_aoss.terminal import Terminal


def load_saved(path: Path) -> SwitchConfig | None:
    """The configuration `write memory` saved to `path`, or None (never saved, or unreadable:
    the switch then boots with its factory configuration, as after `erase startup-config`)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        vlans = {int(k): Vlan(v["vid"], v["name"], set(v["untagged"]), set(v["tagged"]),
                              v["address"]) for k, v in raw.pop("vlans").items()}
        raw["sntp_servers"] = {int(k): v for k, v in raw["sntp_servers"].items()}
        raw["port_names"] = {int(k): v for k, v in raw["port_names"].items()}
        raw["snmpv3_users"] = {k: tuple(v) for k, v in raw["snmpv3_users"].items()}
        return SwitchConfig(vlans=vlans, **raw)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _plain(value: Any) -> Any:
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def save_to(path: Path, config: SwitchConfig) -> None:
    """Keep the saved configuration in `path` (atomically; the passphrases are not kept:
    the simulator never stores them, only each user's protocols)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(_plain(dataclasses.asdict(config)), indent=1), encoding="utf-8")
    os.replace(tmp, path)


def boot(name: str, startup_file: Path) -> Switch:
    """The switch as it comes up: its saved configuration, else the factory one."""
    saved = load_saved(startup_file) or SwitchConfig.factory(name)
    return Switch(saved.copy(), saved, on_save=lambda config: save_to(startup_file, config))


class _Protocol(protocol.Protocol):
    """Bytes of one SSH shell channel to and from the session's terminal."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self.terminal: Terminal | None = None

    def connectionMade(self) -> None:
        transport: Any = self.transport
        self.terminal = Terminal(Shell(self.switch),
                                 lambda text: transport.write(text.encode("utf-8")),
                                 transport.loseConnection)
        self.terminal.start()

    def dataReceived(self, data: bytes) -> None:
        if self.terminal is not None:
            self.terminal.feed(data.decode("utf-8", "replace"))


class _User(avatar.ConchUser):
    """A logged-in manager: one shell session per channel."""

    def __init__(self, switch: Switch) -> None:
        super().__init__()
        self.switch = switch
        self.channelLookup[b"session"] = session.SSHSession


@implementer(ISession)
class _Session:
    """The shell of one channel (no command execution, no subsystems: a CLI only)."""

    def __init__(self, user: _User) -> None:
        self.user = user

    def getPty(self, term: bytes, window: Any, modes: Any) -> None:
        """Any terminal is accepted (the switch assumes 80x24)."""

    def openShell(self, transport: Any) -> None:
        """Start the switch's CLI on the channel."""
        proto = _Protocol(self.user.switch)
        proto.makeConnection(transport)
        transport.makeConnection(session.wrapProtocol(proto))

    def execCommand(self, proto: Any, command: bytes) -> None:
        """Refused: AOS-S runs no commands outside its CLI."""
        raise OSError("the switch offers a CLI only")

    def windowChanged(self, size: Any) -> None:
        """Ignored."""

    def eofReceived(self) -> None:
        """Ignored."""

    def closed(self) -> None:
        """Nothing to clean up."""


@implementer(portal.IRealm)
class _Realm:
    def __init__(self, switch: Switch) -> None:
        self.switch = switch

    def requestAvatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> Any:
        if IConchUser not in interfaces:
            raise NotImplementedError("only SSH logins")
        user = _User(self.switch)
        return IConchUser, user, lambda: None


def ssh_factory(switch: Switch, username: str, password: str,
                host_key: keys.Key) -> factory.SSHFactory:
    """An SSH server factory for one AOS-S switch: password login, one host key, its CLI."""
    ssh: Any = factory.SSHFactory()
    realm: Any = _Realm(switch)  # zope declares the interface; mypy cannot see it
    ssh.portal = portal.Portal(realm)
    ssh.portal.registerChecker(
        checkers.InMemoryUsernamePasswordDatabaseDontUse(**{username: password.encode("utf-8")}))
    key_type = host_key.sshType()
    ssh.publicKeys = {key_type: host_key.public()}
    ssh.privateKeys = {key_type: host_key}
    return ssh


# conch finds a user's session through this adapter.
components.registerAdapter(_Session, _User, ISession)
