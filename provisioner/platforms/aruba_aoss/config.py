"""The configuration of a simulated AOS-S switch and how `show running-config` prints it.

State only, no I/O and no CLI: `cli.py` changes it, the simulator keeps it in memory
and saves it with `write memory`. The printed form follows a 2530-24G-PoEP (J9773A) on
YA.16.11.0026 as captured over SSH (the lines `; J9773A Configuration Editor; Created
on release #...`, `hostname "..."`, VLAN blocks of three-space-indented lines ending in
`exit`, `no untagged` on DEFAULT_VLAN, port lists as ranges `1-12,21,25-28`); the
order of the global lines follows the ArubaOS-Switch 16.11 Management and
Configuration Guide's examples.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from provisioner.platforms.port_lists import format_ports

MODEL = "J9773A"
DESCRIPTION = "HP J9773A 2530-24G-PoEP Switch"
RELEASE = "YA.16.11.0026"
ROM = "YA.15.20"
PORTS = tuple(range(1, 29))  # 24 x 1G PoE+ and 4 SFP
NAME_MAX = 32  # VLAN, host and port names
DEFAULT_VID = 1
SNMPV3_GROUPS = {"managerpriv": "ManagerPriv", "managerauth": "ManagerAuth",
                 "operatorauth": "OperatorAuth", "operatornoauth": "OperatorNoAuth",
                 "commanderauth": "CommanderAuth", "commanderpriv": "CommanderPriv"}


def quoted(text: str) -> str:
    """A name as the running configuration quotes it."""
    return f'"{text}"'


@dataclass
class Vlan:
    """One VLAN: its name, member ports and address."""

    vid: int
    name: str
    untagged: set[int] = field(default_factory=set)
    tagged: set[int] = field(default_factory=set)
    address: str = ""  # "A.B.C.D M.M.M.M", "dhcp-bootp" or "" (no ip address)

    def lines(self) -> list[str]:
        """The VLAN's block in the running configuration."""
        out = [f"vlan {self.vid}", f"   name {quoted(self.name)}"]
        if self.vid == DEFAULT_VID and set(PORTS) - self.untagged:
            out.append(f"   no untagged {format_ports(set(PORTS) - self.untagged)}")
        if self.untagged:
            out.append(f"   untagged {format_ports(self.untagged)}")
        if self.tagged:
            out.append(f"   tagged {format_ports(self.tagged)}")
        out.append(f"   ip address {self.address}" if self.address else "   no ip address")
        out.append("   exit")
        return out


@dataclass
class SwitchConfig:
    """Everything `show running-config` shows of the simulated switch."""

    hostname: str
    vlans: dict[int, Vlan] = field(default_factory=dict)
    default_gateway: str = ""
    contact: str = ""
    location: str = ""
    timesync: str = ""
    sntp_unicast: bool = False
    sntp_servers: dict[int, str] = field(default_factory=dict)  # priority -> address
    port_names: dict[int, str] = field(default_factory=dict)
    snmpv3_enabled: bool = False
    snmpv3_users: dict[str, tuple[str, str]] = field(default_factory=dict)  # auth, priv
    snmpv3_groups: dict[str, str] = field(default_factory=dict)  # user -> group

    @classmethod
    def factory(cls, hostname: str) -> SwitchConfig:
        """A switch as shipped: every port untagged in DEFAULT_VLAN, which asks DHCP."""
        return cls(hostname, {DEFAULT_VID: Vlan(DEFAULT_VID, "DEFAULT_VLAN", set(PORTS),
                                                address="dhcp-bootp")})

    def copy(self) -> SwitchConfig:
        """An independent copy (the startup configuration)."""
        return copy.deepcopy(self)

    def lines(self) -> list[str]:
        """The configuration lines, in the order AOS-S prints them."""
        out = [f"hostname {quoted(self.hostname)}"]
        if self.timesync:
            out.append(f"timesync {self.timesync}")
        if self.sntp_unicast:
            out.append("sntp unicast")
        out += [f"sntp server priority {p} {a}" for p, a in sorted(self.sntp_servers.items())]
        if self.default_gateway:
            out.append(f"ip default-gateway {self.default_gateway}")
        for port, name in sorted(self.port_names.items()):
            out += [f"interface {port}", f"   name {quoted(name)}", "   exit"]
        if self.contact:
            out.append(f"snmp-server contact {quoted(self.contact)}")
        if self.location:
            out.append(f"snmp-server location {quoted(self.location)}")
        for vid in sorted(self.vlans):
            out += self.vlans[vid].lines()
        if self.snmpv3_enabled:
            out.append("snmpv3 enable")
        for user in sorted(self.snmpv3_users):
            out.append(f"snmpv3 user {quoted(user)}")  # keys only with include-credentials
        out += [f"snmpv3 group {group} user {quoted(user)} sec-model ver3"
                for user, group in sorted(self.snmpv3_groups.items())]
        return out

    def header(self) -> list[str]:
        """The editor lines that open `show running-config` and `show config`."""
        return [f"; {MODEL} Configuration Editor; Created on release #{RELEASE}",
                "; Ver #14:41.44.00.04.19.02.13.98.82.34.61.18.28.f3.84.9c.63.ff.37.27:05"]

    def set_untagged(self, vid: int, ports: set[int]) -> None:
        """Make ports untagged members of VLAN `vid`: a port is untagged in one VLAN only,
        so they leave the VLAN they were untagged in (and stop being tagged in `vid`)."""
        for vlan in self.vlans.values():
            if vlan.vid != vid:
                vlan.untagged -= ports
        self.vlans[vid].untagged |= ports
        self.vlans[vid].tagged -= ports

    def set_tagged(self, vid: int, ports: set[int]) -> None:
        """Make ports tagged members of VLAN `vid` (no longer untagged in it)."""
        self.vlans[vid].tagged |= ports
        self.vlans[vid].untagged -= ports

    def drop_untagged(self, vid: int, ports: set[int]) -> None:
        """`no untagged`: the ports leave the VLAN; one left in no VLAN at all goes back
        to DEFAULT_VLAN (a port must belong to a VLAN)."""
        self.vlans[vid].untagged -= ports
        self._orphans_to_default(ports)

    def drop_tagged(self, vid: int, ports: set[int]) -> None:
        """`no tagged`: the ports stop carrying the VLAN (back to DEFAULT_VLAN if none left)."""
        self.vlans[vid].tagged -= ports
        self._orphans_to_default(ports)

    def delete_vlan(self, vid: int) -> None:
        """`no vlan N`: its untagged ports go back to DEFAULT_VLAN."""
        gone = self.vlans.pop(vid)
        self._orphans_to_default(gone.untagged | gone.tagged)

    def _orphans_to_default(self, ports: set[int]) -> None:
        members = set().union(*(v.untagged | v.tagged for v in self.vlans.values()))
        self.vlans[DEFAULT_VID].untagged |= ports - members
