"""`no ...` in the configuration context of a simulated AOS-S switch (see cli.py's sources)."""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.platforms.aruba_aoss import cli
from provisioner.platforms.aruba_aoss.cli import CliError, need
from provisioner.platforms.aruba_aoss.config import SwitchConfig

WORDS = ("ip", "snmp-server", "snmpv3", "sntp", "timesync", "vlan")


def undo(config: SwitchConfig, args: Sequence[str], line: str) -> None:
    """Undo one global setting (`no vlan 20`, `no snmpv3 user "x"` ...).

    Raises:
        CliError: the switch's refusal.
    """
    word = cli.keyword(args[0], WORDS)
    rest = list(args[1:])
    if word == "vlan":
        need(rest, 1, line)
        vid = cli.vlan_id(rest[0])
        cli.not_default(vid)
        if vid not in config.vlans:
            raise CliError(f"VLAN {vid} not found.")
        config.delete_vlan(vid)
    elif word == "ip":
        need(rest, 1, line)
        cli.keyword(rest[0], ("default-gateway",))
        config.default_gateway = ""
    elif word == "timesync":
        config.timesync = ""
    elif word == "sntp":
        _undo_sntp(config, rest, line)
    elif word == "snmp-server":
        need(rest, 1, line)
        setattr(config, cli.keyword(rest[0], ("contact", "location")), "")
    else:
        _undo_snmpv3(config, rest, line)


def _undo_sntp(config: SwitchConfig, rest: Sequence[str], line: str) -> None:
    need(rest, 1, line)
    if cli.keyword(rest[0], ("unicast", "server")) == "unicast":
        config.sntp_unicast = False
        return
    need(rest, 3, line)
    cli.keyword(rest[1], ("priority",))
    if not rest[2].isdigit() or int(rest[2]) not in config.sntp_servers:
        raise CliError(f"Invalid input: {rest[2]}")
    del config.sntp_servers[int(rest[2])]


def _undo_snmpv3(config: SwitchConfig, rest: Sequence[str], line: str) -> None:
    need(rest, 1, line)
    word = cli.keyword(rest[0], ("enable", "group", "user"))
    if word == "enable":
        config.snmpv3_enabled = False
        return
    need(rest, 2, line)
    if word == "user":
        if rest[1] not in config.snmpv3_users:
            raise CliError(f"Invalid input: {rest[1]}")
        del config.snmpv3_users[rest[1]]
        config.snmpv3_groups.pop(rest[1], None)
        return
    need(rest, 4, line)
    config.snmpv3_groups.pop(rest[3], None)
