"""What a platform is: one device OS, everything the tool does with it in one place.

NAPALM's `NetworkDriver` and nornir's connection plugins are the model: one class per
OS implementing one base, found through one registry (`provisioner.platforms`). A
platform declares how Ansible reaches it, which tasks render the school's profile for
it, how verification reads it back, its SNMP health profiles and its lab simulator.
What it can do (the capability matrix) follows from what it declares, never from a
flag of its own: a platform with no read-back cannot claim verification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from provisioner.devices.dialect import CliDialect
from provisioner.health.profiles.base import Profile
from provisioner.models import Device

# The shipped playbooks: a platform's tasks file is looked up in their roles.
PLAYBOOKS = Path(__file__).resolve().parent.parent.parent / "playbooks"


class PlatformKind(StrEnum):
    """What kind of device a platform runs on (its place in a school's network)."""

    SWITCH = "switch"
    ACCESS_POINT = "access_point"
    SERVER = "server"
    WLAN_CONTROLLER = "wlan_controller"


class Capability(StrEnum):
    """What the tool can do with a platform; the columns of `provision platforms`."""

    PROVISION = "provision"
    CHECK_MODE = "check mode"
    VERIFY = "verify"
    HEALTH = "health"
    LAB = "lab simulator"


@dataclass(frozen=True)
class AnsibleAccess:
    """How Ansible reaches and configures devices of a platform.

    Attributes:
        connection: `ansible_connection` (`ssh`, `ansible.netcommon.network_cli`,
            `ansible.netcommon.httpapi`).
        network_os: `ansible_network_os` for network connections ("" for `ssh`); the
            switch role picks the platform's tasks by it.
        role: the role in playbooks/roles/ that configures it.
        tasks: the role's tasks file for this platform (`main.yml` when the role is
            the platform's alone).
        plugins: Ansible plugin folders the project ships for it, by plugin type
            (`cliconf`, `terminal`, `httpapi`); handed to Ansible through
            ANSIBLE_<TYPE>_PLUGINS by `provisioner.ansible`.
        host_vars: inventory variables every host of the platform needs (connection,
            network OS, privilege escalation), whoever writes the inventory.
        check_mode: whether the tasks run in `--check --diff` without changing the
            device and show what they would change.
    """

    connection: str
    role: str
    network_os: str = ""
    tasks: str = "main.yml"
    plugins: Mapping[str, Path] = field(default_factory=dict)
    host_vars: Mapping[str, Any] = field(default_factory=dict)
    check_mode: bool = True

    def tasks_file(self, playbooks: Path = PLAYBOOKS) -> Path:
        """The tasks file in a playbooks folder."""
        return playbooks / "roles" / self.role / "tasks" / self.tasks


@dataclass(frozen=True)
class ReadBack:
    """How verification reads a provisioned device back (never through Ansible).

    Attributes:
        transport: what it reads over: `ssh-cli` (netmiko), `ssh` (a shell command),
            `snmp`, `https`.
        dialect: the CLI's dialect for `ssh-cli` (netmiko driver, refusals, saving).
        parsers: what parses each command's output, for people: "show vlans:
            ntc-templates hp_procurve_show_vlans".
        snmp_agent: the device runs the agent the tool's roles configure (net-snmp
            with the inventory's SNMPv3 user): sysLocation and the process table are
            compared too.
        snmp_user: the role configures the device's own agent with the inventory's
            SNMPv3 user (a switch): that it answers as that user is read back too.
    """

    transport: str
    parsers: tuple[str, ...] = ()
    dialect: CliDialect | None = None
    snmp_agent: bool = False
    snmp_user: bool = False


@dataclass(frozen=True)
class LabSimulator:
    """How the built-in lab stands a device of the platform up.

    Attributes:
        kind: the lab's device kind (`debian_host`, `ios_switch`, `aoss_switch`,
            `recorded`).
        what: one line for people: what answers (and the vendor document it follows).
        access_ports: the switch's access ports in order, as its CLI names them.
        uplink_ports: its uplink ports (other switches hang off these first).
        snmp_recording: the snmpsim recording its SNMP agent answers from ("" for
            a real agent).
    """

    kind: str
    what: str
    access_ports: tuple[str, ...] = ()
    uplink_ports: tuple[str, ...] = ()
    snmp_recording: str = ""


class Platform:
    """One device OS. Subclasses set the class attributes and override `read_back`.

    Attributes:
        name: the registry name and inventory `platform` value (`aruba_aoss`).
        title: for people ("HPE Aruba AOS-S (ProCurve, ArubaOS-Switch)").
        kind: what it runs on.
        aliases: other inventory `platform` values meaning the same OS.
        ansible: how Ansible configures it; None when the tool does not.
        read_back: how verification reads it back; None when it cannot.
        health: its SNMP health profiles, tried in registry order by sysObjectID and
            sysDescr (a profile may serve several platforms: one object, shared).
        lab: how the lab simulates it; None when the lab cannot.
        notes: what people should know (limits, what is not covered).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    kind: ClassVar[PlatformKind]
    aliases: ClassVar[tuple[str, ...]] = ()
    ansible: ClassVar[AnsibleAccess | None] = None
    read_back: ClassVar[ReadBack | None] = None
    health: ClassVar[tuple[Profile, ...]] = ()
    lab: ClassVar[LabSimulator | None] = None
    notes: ClassVar[str] = ""

    def capabilities(self) -> frozenset[Capability]:
        """What the tool can do with this platform, from what it declares (a test holds
        every declared tasks file, plugin folder and simulator to existing)."""
        found: set[Capability] = set()
        if self.ansible is not None:
            found.add(Capability.PROVISION)
            if self.ansible.check_mode:
                found.add(Capability.CHECK_MODE)
        if self.read_back is not None:
            found.add(Capability.VERIFY)
        if self.health:
            found.add(Capability.HEALTH)
        if self.lab is not None:
            found.add(Capability.LAB)
        return frozenset(found)

    def verify(self, device: Device, known_hosts: Path) -> list[str]:
        """Read the device back over its own interface; its differences to the profile.

        The SNMP agent checks (`ReadBack.snmp_agent`) run for many devices at once in
        `provisioner.provision.verify`; this is the per-device part.

        Raises:
            DeviceError: it cannot be reached or refuses the login.
            ProvisionerError: our side (a secret file) is wrong.
        """
        return []

    def __repr__(self) -> str:
        return f"<platform {self.name}>"


def profile_of(device: Device) -> dict[str, Any]:
    """The device's `school_network` profile from its inventory vars ({} without one)."""
    profile = device.vars.get("school_network")
    return profile if isinstance(profile, dict) else {}


def port_numbers(blocks: Sequence[Mapping[str, Any]], profiles: set[str]) -> set[int]:
    """Port numbers of the access-port blocks whose profile is one of `profiles`."""
    return {n for block in blocks if block.get("profile") in profiles
            for n in range(int(block["first"]), int(block["last"]) + 1)}
