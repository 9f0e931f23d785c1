"""The lab's Ansible inventories: one folder per lab school, secrets by reference."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from provisioner.errors import LabError
from provisioner.inventory.profile import network_profile
from provisioner.inventory.writer import write_school_inventory
from provisioner.lab import wlan_lab
from provisioner.lab.credentials import DEPLOY_USER, SNMP_USER, SWITCH_USER, LabCredentials
from provisioner.lab.recordings import describe_recording
from provisioner.lab.topology import (
    BRIDGE_ADDRESS,
    LAB_NETWORK,
    DeviceKind,
    LabDevice,
    Uplink,
    plan_uplinks,
)
from provisioner.models import Device, Role
from provisioner.platforms import find_platform

_ROOMS = {Role.SERVER: "Serverraum", Role.SWITCH: "Verteiler", Role.ACCESS_POINT: "Flur",
          Role.WLAN_CONTROLLER: "Serverraum"}


def _serial(device: LabDevice) -> str:
    if device.kind is DeviceKind.CONTROLLED_AP:
        return wlan_lab.ap_serial(device.name)  # the serial its controller lists
    return "LAB" + hashlib.sha1(device.name.encode(), usedforsecurity=False).hexdigest()[:9].upper()


def _wlan_vars(device: LabDevice, devices: Sequence[LabDevice],
               creds: LabCredentials) -> dict[str, Any]:
    """A controller's pinned certificate; an Instant AP's controller and MAC. Neither
    answers SNMP in the lab (their health comes from the controller's API)."""
    if device.kind is DeviceKind.WLAN_CONTROLLER:
        return {"controller_cert_file": str(creds.wlan_certs / f"{device.name}.pem"),
                "snmp": False}
    controller = wlan_lab.controller_of(device, devices)
    return {"controller": controller.name if controller else "",
            "mac": wlan_lab.ap_mac(device.name), "snmp": False}


def _host_vars(device: LabDevice, uplink: Uplink | None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if device.recording:
        # The context selects the recording; a path longer than SNMPv3's 32 octets is
        # asked for by its MD5 digest, so the path itself is written beside it.
        extra["snmp_context"] = device.snmp_context
        extra["snmp_recording"] = device.recording
    if device.kind in (DeviceKind.RECORDED_AP, DeviceKind.RECORDED):
        # Recorded devices answer SNMP only: never an Ansible target.
        extra["managed"] = False
        # One answers with its recording's sysName, which no run can change: the
        # inventory expects that name, as an office does for a device it cannot rename
        # (health's identity rule would warn on every check otherwise). The simulated
        # switches answer with their own names (the lab's variation of their recording).
        recorded_name = _recorded_sys_name(device.recording) if device.recording else ""
        if recorded_name and recorded_name != device.name:
            extra["snmp_sys_name"] = recorded_name
    if uplink is not None:
        # The switch port it hangs off; the core switch has none (health's dependency tree).
        extra["uplink"] = {"host": uplink.host, "port": uplink.port}
    return {**_platform_vars(device), **extra}


def _recorded_sys_name(recording: str) -> str:
    """The sysName a recording answers with; "" when it has none or cannot be read
    (then health compares with the inventory name, and says so when they differ)."""
    try:
        return describe_recording(recording).sys_name
    except LabError:
        return ""


def _platform_vars(device: LabDevice) -> dict[str, Any]:
    """What a simulated switch's platform needs in the inventory: how Ansible reaches it
    (per host: a school may mix platforms) and the simulated model's uplink ports."""
    platform = find_platform(device.platform)
    if not device.kind.simulated_switch or platform is None or platform.ansible is None:
        return {}
    found = dict(platform.ansible.host_vars)
    if platform.lab is not None:
        found["switch_uplink_ports"] = list(platform.lab.uplink_ports)
    return found


def _device(device: LabDevice, uplink: Uplink | None, devices: Sequence[LabDevice],
            creds: LabCredentials) -> Device:
    extra = _host_vars(device, uplink)
    if device.kind in (DeviceKind.WLAN_CONTROLLER, DeviceKind.CONTROLLED_AP):
        extra.update(_wlan_vars(device, devices, creds))
    return Device(device.school_id, device.name, device.role, device.platform, device.address,
                  _serial(device), f"{_ROOMS[device.role]} {device.index % 7}",
                  vars=extra)


def _ssh_args(creds: LabCredentials) -> str:
    return (f"-o UserKnownHostsFile={creds.known_hosts} -o StrictHostKeyChecking=yes "
            "-o ServerAliveInterval=10")


def snmp_vars(creds: LabCredentials) -> dict[str, Any]:
    """The SNMPv3 settings every lab device shares (group `all`), passphrases by file."""
    return {"snmp_version": 3, "snmp_user": SNMP_USER, "snmp_auth_protocol": "SHA",
            "snmp_auth_file": str(creds.snmp_auth), "snmp_priv_protocol": "AES",
            "snmp_priv_file": str(creds.snmp_priv)}


def lab_group_vars(creds: LabCredentials, school_no: int) -> dict[str, dict[str, Any]]:
    """Group variables of a lab school: network profile, connection and SNMP by reference."""
    secret = "{{ lookup('ansible.builtin.file', '%s') }}"
    linux = {"ansible_user": DEPLOY_USER, "ansible_ssh_private_key_file": str(creds.ssh_key),
             "ansible_ssh_common_args": _ssh_args(creds), "ansible_become": True,
             "ansible_python_interpreter": "/usr/bin/python3"}
    snmp = snmp_vars(creds)
    # The lab manages its devices over its bridge and has no central services: the
    # management VLAN is the lab network, NTP/DNS/RADIUS point at the bridge.
    profile = network_profile(school_no, management=LAB_NETWORK,
                              management_gateway=BRIDGE_ADDRESS, central=BRIDGE_ADDRESS)
    wlan = {"radius_secret_file": str(creds.radius_secret),
            "wlan_psk_file": str(creds.wlan_psk)}
    return {
        "all": {**profile, **snmp, **wlan, "lab": True},
        "servers": linux,
        "access_points": linux,
        # Connection and network OS per host, from each switch's platform.
        "switches": {
            "ansible_user": SWITCH_USER,
            "ansible_password": secret % creds.switch_password,
            "ansible_become_password": secret % creds.switch_password,
            # libssh ignores a pinned known_hosts file (playbooks/README.md): paramiko
            # checks strictly against $HOME/.ssh/known_hosts, which the run provides.
            "ansible_network_cli_ssh_type": "paramiko",
            "ansible_host_key_checking": True,
            "ansible_paramiko_record_host_keys": False,
            # The pinned file itself: preflight reads it, a run copies it to $HOME/.ssh.
            "ansible_ssh_known_hosts_file": str(creds.known_hosts),
        },
        # Reached over their REST API from the control node (an action plugin).
        "wlan_controllers": {
            "ansible_connection": "local",
            # A module on the control node runs with Ansible's own Python.
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "controller_user": wlan_lab.WLAN_USER,
            "controller_password_file": str(creds.wlan_password),
            "controller_port": wlan_lab.PORT,
        },
    }


def write_lab_inventories(devices: Sequence[LabDevice], creds: LabCredentials,
                          root: Path, nodes: Mapping[str, str] | None = None) -> list[Path]:
    """Write `<root>/<school_id>/` for every school of the lab; returns the folders.

    `nodes` (school id -> execution node) becomes each school's `execution_node`.
    """
    schools = list(dict.fromkeys(d.school_id for d in devices))
    uplinks = plan_uplinks(devices)
    folders = []
    for school_no, school_id in enumerate(schools, start=1):
        group_vars = lab_group_vars(creds, school_no)
        if nodes and school_id in nodes:
            group_vars["all"]["execution_node"] = nodes[school_id]
        folders.append(write_school_inventory(
            root, school_id, [_device(d, uplinks.get(d.name), devices, creds) for d in devices
                              if d.school_id == school_id], group_vars))
    return folders
