"""Debian (school servers): what the `school_server` role configures over SSH.

- Ansible: plain `ssh` with the deploy account and sudo; the `school_server` role.
- Read-back: the net-snmp agent the role configures, over SNMPv3 as the inventory's user
  (sysLocation is the inventory's room, UCD-SNMP-MIB's prTable reports sshd and snmpd
  running): `provisioner.provision.verify`.
- Health: the net-snmp profile (enterprise 8072/2021 or a sysDescr "Linux ..."):
  system, IF-MIB, HOST-RESOURCES-MIB, UCD-SNMP-MIB.
- Lab: a Debian 12 root filesystem per host under systemd-nspawn, real sshd and snmpd.
"""

from __future__ import annotations

from provisioner.health.profiles.base import Profile
from provisioner.health.profiles.common import ROLE_EXTRAS, Matcher, by_enterprise
from provisioner.health.profiles.interfaces import INTERFACES
from provisioner.health.profiles.server import HOST_RESOURCES
from provisioner.health.profiles.system import SYSTEM
from provisioner.platforms.base import (
    AnsibleAccess,
    LabSimulator,
    Platform,
    PlatformKind,
    ReadBack,
)


def _net_snmp(oid: str, descr: str) -> bool:
    return by_enterprise(8072, 2021)(oid, descr) or descr.startswith(("Linux ", "FreeBSD "))


NET_SNMP_MATCH: Matcher = _net_snmp
NET_SNMP = Profile("net-snmp", None, (SYSTEM, INTERFACES, HOST_RESOURCES), NET_SNMP_MATCH,
                   ROLE_EXTRAS)
# How the lab stands up a Linux device: its own root filesystem, real daemons.
DEBIAN_HOST = LabSimulator("debian_host", "a Debian 12 root filesystem under "
                           "systemd-nspawn (chroot as fallback): real sshd and snmpd")


class Debian(Platform):
    """Debian servers in the school (DHCP, DNS, time, firewall)."""

    name = "debian"
    title = "Debian (school server)"
    kind = PlatformKind.SERVER
    ansible = AnsibleAccess(connection="ssh", role="school_server")
    read_back = ReadBack("snmp", ("SNMPv3 GET sysLocation, UCD-SNMP-MIB prTable",),
                         snmp_agent=True)
    health = (NET_SNMP,)
    lab = DEBIAN_HOST


PLATFORM = Debian()
