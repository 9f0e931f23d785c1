"""Linux access points running hostapd: what the `access_point` role configures over SSH.

- Ansible: plain `ssh` with the deploy account and sudo; the `access_point` role.
- Read-back: the net-snmp agent as for servers (`provisioner.provision.verify`), and
  over SSH with the pinned host key: every SSID of the profile has an `ssid=` line in
  hostapd's configuration (only those lines leave the device; the files hold the PSK
  and the RADIUS secret).
- Health: the net-snmp profile (shared with Debian servers).
- Lab: a Debian 12 host like the servers (no radio: hostapd's configuration is written
  and checked, the service stays off).
"""

from __future__ import annotations

from pathlib import Path

from provisioner.devices.ssh import probe_ssh
from provisioner.models import Device
from provisioner.platforms.base import (
    AnsibleAccess,
    Platform,
    PlatformKind,
    ReadBack,
    profile_of,
)
from provisioner.platforms.debian import DEBIAN_HOST, NET_SNMP

# One line with every SSID of every hostapd config file (probe_ssh returns one line).
# The files hold the PSK and RADIUS secret too (mode 0600, root): sudo, and only the
# ssid= lines ever leave the device.
SSID_COMMAND = ("sudo -n grep -rhs '^ssid=' /etc/hostapd | cut -d= -f2- | sort -u "
                "| paste -sd '|' -")


def verify_ap_ssids(device: Device, known_hosts: Path, timeout: float = 10.0) -> list[str]:
    """The profile's SSIDs missing from an access point's hostapd configuration.

    Raises:
        DeviceError: the access point cannot be reached or refuses the login.
    """
    key = device.vars.get("ansible_ssh_private_key_file")
    line = probe_ssh(device.address, username=str(device.vars.get("ansible_user", "")),
                     known_hosts=known_hosts, key_file=Path(str(key)) if key else None,
                     timeout=timeout, command=SSID_COMMAND)
    have = set(filter(None, line.split("|")))
    want = [s["name"] for s in profile_of(device).get("ssids", [])]
    return [f"SSID {name!r} missing from hostapd configuration" for name in want
            if name not in have]


class LinuxHostapd(Platform):
    """Linux access points with hostapd."""

    name = "linux_hostapd"
    title = "Linux access point (hostapd)"
    kind = PlatformKind.ACCESS_POINT
    ansible = AnsibleAccess(connection="ssh", role="access_point")
    read_back = ReadBack("ssh", ("SNMPv3 as for servers", "hostapd ssid= lines over SSH"),
                         snmp_agent=True)
    health = (NET_SNMP,)
    lab = DEBIAN_HOST

    def verify(self, device: Device, known_hosts: Path) -> list[str]:
        """The profile's SSIDs in hostapd's configuration (the SNMP part runs apart)."""
        return verify_ap_ssids(device, known_hosts)


PLATFORM = LinuxHostapd()
