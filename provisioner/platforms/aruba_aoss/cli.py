"""The command interpreter of a simulated AOS-S switch: contexts, commands, answers. No I/O.

Follows the HPE ArubaOS-Switch 16.11 guides for the 2530/2930F:
- Basic Operation Guide: login at the manager level (`HOST#`), `configure [terminal]`
  (`HOST(config)#`), the VLAN and interface contexts (`HOST(vlan-10)#`,
  `HOST(eth-5)#`) left with `exit`/`end`, global commands accepted in any context,
  abbreviated keywords, `write memory`, `show running-config` / `show config`, `logout`
  asking "Do you want to log out [y/n]?" and, with unsaved changes, whether to save;
- Advanced Traffic Management Guide: `vlan N [name|untagged|tagged]`, `no untagged`,
  `no tagged`, `ip address A.B.C.D M.M.M.M|/NN|dhcp-bootp`, `no vlan N`, a port
  untagged in one VLAN only, DEFAULT_VLAN (VLAN 1) holding the ports no other VLAN has;
- Management and Configuration Guide: `hostname`, `ip default-gateway`, `timesync sntp`,
  `sntp unicast`, `sntp server priority N ADDR`, `snmp-server contact|location`,
  `snmpv3 enable` with its initialisation dialog, `snmpv3 user NAME auth sha P priv aes
  P`, `snmpv3 group G user NAME sec-model ver3`.
Messages as a 2530-24G-PoEP on YA.16.11.0026 prints them (captured): "Invalid input:
X", "Incomplete input: X", "Module not present for port or invalid port: X",
"String X... too long. Allowed length is 32 characters."; output layouts of
`show vlans`, `show vlans N`, `show system`, `show version` from the same captures.
The layout of `show snmpv3 user` and the two sentences of `show config status` are the
simulator's own (no capture was at hand; the guide names the command and its two
answers, saved or not).

Not emulated: operator level and `enable` passwords, the menu interface, `interface`
settings beyond `name`/`enable`/`disable`, trunks (LACP), spanning tree, ACLs, routing,
IPv6, `show interfaces`, link state (every port reports Up), the SNMP agent (the lab's
snmpsim answers SNMP), `snmp-server community`, the `initial` SNMPv3 user's passwords
(`snmpv3 enable` creates it without asking), `include-credentials`, `reload`,
`erase startup-config`, `copy`, the web and REST interfaces.
"""

from __future__ import annotations

import hashlib
import ipaddress
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from provisioner.platforms.aruba_aoss.config import (
    DEFAULT_VID,
    NAME_MAX,
    PORTS,
    RELEASE,
    ROM,
    SNMPV3_GROUPS,
    SwitchConfig,
    Vlan,
)


class CliError(Exception):
    """A command the switch refuses; the message is the switch's own."""


@dataclass
class Question:
    """A question answered by one key press (no Enter), as AOS-S asks them."""

    text: str
    answer: Callable[[str], Reply]


@dataclass
class Reply:
    """What a command prints, and what happens next."""

    lines: list[str] = field(default_factory=list)
    question: Question | None = None
    close: bool = False


class Switch:
    """The switch's state, shared by every session: running and saved configuration.

    Args:
        config: the running configuration to start with.
        saved: the startup configuration (None: never saved, the factory's applies).
        on_save: called with the saved configuration on `write memory` (the simulator
            keeps it in a file, so it survives a restart).
    """

    def __init__(self, config: SwitchConfig, saved: SwitchConfig | None = None,
                 on_save: Callable[[SwitchConfig], None] | None = None) -> None:
        self.running = config
        self.startup = saved
        self._on_save = on_save

    @property
    def unsaved(self) -> bool:
        """Whether the running configuration differs from the startup configuration."""
        return self.startup is None or self.startup.lines() != self.running.lines()

    def save(self) -> None:
        """`write memory`."""
        self.startup = self.running.copy()
        if self._on_save is not None:
            self._on_save(self.startup)


def words(line: str) -> list[str]:
    """A command line split into words; quotes group a name with spaces.

    Raises:
        CliError: an unbalanced quote.
    """
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise CliError(f"Invalid input: {line.strip()}") from exc


def keyword(word: str, choices: Sequence[str]) -> str:
    """The keyword `word` abbreviates (`sh` -> `show`).

    Raises:
        CliError: no keyword, or more than one, starts with it.
    """
    if word.lower() in choices:
        return word.lower()
    found = [c for c in choices if c.startswith(word.lower())]
    if len(found) == 1:
        return found[0]
    raise CliError(f"{'Ambiguous' if found else 'Invalid'} input: {word}")


def need(args: Sequence[str], count: int, line: str) -> None:
    """Refuse a command with fewer than `count` arguments."""
    if len(args) < count:
        raise CliError(f"Incomplete input: {line.strip()}")


def parse_ports(text: str) -> set[int]:
    """A port list `1-12,21,25-28` of this switch.

    Raises:
        CliError: a port this switch does not have (the switch's message).
    """
    found: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise CliError(f"Module not present for port or invalid port: {part}") from None
        if low not in PORTS or high not in PORTS or high < low:
            raise CliError(f"Module not present for port or invalid port: {part}")
        found |= set(range(low, high + 1))
    return found


def checked_name(text: str) -> str:
    """A VLAN, host or port name no longer than AOS-S takes."""
    if len(text) > NAME_MAX:
        raise CliError(f"String {text[:29]}... too long. Allowed length is {NAME_MAX}\n"
                       " characters.")
    return text


def address(args: Sequence[str]) -> str:
    """`A.B.C.D M.M.M.M`, `A.B.C.D/NN` or `dhcp-bootp` as the running config keeps it."""
    if args[0] == "dhcp-bootp":
        return "dhcp-bootp"
    text = args[0] if "/" in args[0] or len(args) < 2 else f"{args[0]}/{args[1]}"
    try:
        interface = ipaddress.IPv4Interface(text)
    except ValueError:
        raise CliError(f"Invalid input: {' '.join(args)}") from None
    return f"{interface.ip} {interface.netmask}"


def host_address(text: str) -> str:
    """An IPv4 address (a server, a gateway)."""
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise CliError(f"Invalid input: {text}") from None


def vlan_id(text: str) -> int:
    """A VLAN id 1-4094."""
    if not text.isdigit() or not 1 <= int(text) <= 4094:
        raise CliError(f"Invalid input: {text}")
    return int(text)


def stable_hex(text: str, length: int) -> str:
    """Stable hex digits derived from a name (MAC addresses, serial numbers)."""
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:length]


def system_lines(config: SwitchConfig) -> list[str]:
    """`show system` as a 2530 on 16.11 prints it (the parts the simulator knows)."""
    mac = stable_hex(config.hostname, 12)
    return ["", " Status and Counters - General System Information", "",
            f"  System Name        : {config.hostname}",
            f"  System Contact     : {config.contact}",
            f"  System Location    : {config.location}", "",
            "  MAC Age Time (sec) : 300", "",
            "  Time Zone          : 0",
            "  Daylight Time Rule : None", "",
            f"  Software revision  : {RELEASE:<20} Base MAC Addr      : {mac[:6]}-{mac[6:]}",
            f"  ROM Version        : {ROM:<20} Serial Number      : "
            f"CN{stable_hex('serial' + config.hostname, 8).upper()}", "",
            "  Up Time            : 19 hours             Memory   - Total   : 67,108,864",
            "  CPU Util (%)       : 3                               Free    : 37,836,892", ""]


def version_lines() -> list[str]:
    """`show version` as a 2530 on 16.11 prints it."""
    return ["Image stamp:    /ws/swbuildm/rel_beluru_qaoff/code/build/lakes"
            "(swbuildm_rel_beluru_qaoff_rel_beluru)",
            "                Jun 17 2025 02:34:30", f"                {RELEASE}",
            "                444", "Boot Image:     Primary", "",
            f"Boot ROM Version:    {ROM}"]


def vlans_lines(config: SwitchConfig) -> list[str]:
    """`show vlans`."""
    out = [" Status and Counters - VLAN Information", "",
           "  Maximum VLANs to support : 256", "  Primary VLAN : DEFAULT_VLAN",
           "  Management VLAN :", "",
           "  VLAN ID Name                             | Status     Voice Jumbo",
           "  ------- -------------------------------- + ---------- ----- -----"]
    out += [f"  {v.vid:<7} {v.name:<32} | Port-based No    No"
            for v in sorted(config.vlans.values(), key=lambda v: v.vid)]
    return [*out, ""]


def vlan_detail_lines(vlan: Vlan) -> list[str]:
    """`show vlans N`: the VLAN and its member ports with their mode."""
    out = [f" Status and Counters - VLAN Information - VLAN {vlan.vid}", "",
           f"  VLAN ID : {vlan.vid}", f"  Name : {vlan.name}", "  Status : Port-based",
           "  Voice : No", "  Jumbo : No", "",
           "  Port Information Mode     Unknown VLAN Status",
           "  ---------------- -------- ------------ ----------"]
    members = {p: "Untagged" for p in vlan.untagged} | {p: "Tagged" for p in vlan.tagged}
    out += [f"  {port:<16} {mode:<8} Learn        Up" for port, mode in sorted(members.items())]
    return [*out, "", "  Overridden Port VLAN configuration", "", "  Port  Mode",
            "  ----- ------------", ""]


def snmpv3_user_lines(config: SwitchConfig) -> list[str]:
    """`show snmpv3 user`: names and protocols, never keys."""
    out = [" Status and Counters - SNMPv3 Global Configuration Information", "",
           " User Name                        Auth. Protocol Privacy Protocol",
           " -------------------------------- -------------- ----------------"]
    out += [f" {user:<32} {auth:<14} {priv}"
            for user, (auth, priv) in sorted(config.snmpv3_users.items())]
    return [*out, ""]


def snmpv3_user(config: SwitchConfig, args: Sequence[str], line: str) -> None:
    """`snmpv3 user NAME [auth md5|sha PASS [priv des|aes PASS]]` (passwords not kept)."""
    need(args, 1, line)
    name, rest = args[0], [a.lower() for a in args[1:]]
    auth, priv = "None", "None"
    if rest:
        need(rest, 3, line)
        if rest[0] != "auth" or rest[1] not in ("md5", "sha"):
            raise CliError(f"Invalid input: {args[1] if rest[0] != 'auth' else args[2]}")
        auth = rest[1].upper()
        if len(rest) > 3:
            need(rest, 6, line)
            if rest[3] != "priv" or rest[4] not in ("des", "aes"):
                raise CliError(f"Invalid input: {args[4] if rest[3] != 'priv' else args[5]}")
            priv = "CFB AES-128" if rest[4] == "aes" else "CBC DES"
    config.snmpv3_users[checked_name(name)] = (auth, priv)


def snmpv3_group(config: SwitchConfig, args: Sequence[str], line: str) -> None:
    """`snmpv3 group GROUP user NAME sec-model ver3`."""
    need(args, 5, line)
    group = SNMPV3_GROUPS.get(args[0].lower())
    if group is None:
        raise CliError(f"Invalid input: {args[0]}")
    if args[1].lower() != "user" or args[3].lower() != "sec-model" or args[4] != "ver3":
        raise CliError(f"Invalid input: {' '.join(args[1:])}")
    config.snmpv3_groups[args[2]] = group


def new_vlan(config: SwitchConfig, vid: int) -> Vlan:
    """The VLAN `vid`, made (named `VLAN<vid>`) when it does not exist yet."""
    if vid not in config.vlans:
        if len(config.vlans) >= 256:
            raise CliError("Maximum number of VLANs (256) has been reached.")
        config.vlans[vid] = Vlan(vid, f"VLAN{vid}")
    return config.vlans[vid]


def port_arg(config: SwitchConfig, vid: int, args: Sequence[str], line: str) -> set[int]:
    """The port list argument of `untagged`/`tagged` in a VLAN."""
    need(args, 1, line)
    if vid not in config.vlans:
        raise CliError(f"VLAN {vid} not found.")
    return parse_ports(args[0])


def not_default(vid: int) -> None:
    """Refuse to delete DEFAULT_VLAN."""
    if vid == DEFAULT_VID:
        raise CliError("The Default VLAN cannot be deleted.")
