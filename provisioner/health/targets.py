"""Who to poll and how: synced devices + their inventory's SNMP settings -> SNMP targets.

The target and the address check are `provisioner.inventory.reach`'s, the same that
preflight and the read-back after a play use (its module doc lists the SNMP settings).
Health reads two more inventory variables:

| variable | meaning | default |
|---|---|---|
| `snmp` | `false`: not polled over SNMP (e.g. read through its WLAN controller) | `true` |
| `snmp_sys_name` | the sysName the device should report | the inventory host name |
| `snmp_location` | the sysLocation it should report (checked only when set) | |

A device whose address is outside `management_networks`, or whose settings are
incomplete, gets a per-device config failure naming host and address; no packet is
sent to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from provisioner.errors import ConfigError
from provisioner.inventory.ansible_inventory import answers_snmp
from provisioner.inventory.reach import Network, address_problem, snmp_target
from provisioner.models import Device, Role
from provisioner.snmp import SnmpTarget

__all__ = ["Network", "PlannedDevice", "address_problem", "plan_device", "snmp_target",
           "watched_ports"]


@dataclass(frozen=True)
class PlannedDevice:
    """One device of a health run, before polling.

    Attributes:
        device: the synced device (with its uplink).
        target: how to poll it; None when it must not or cannot be polled.
        problem: why not (a one-line config failure), "" when it can.
        skipped: not polled because the inventory says so (`snmp: false`): a device
            not read by choice, not one the check failed to read.
        expected_name: the sysName it should report.
        expected_location: the sysLocation it should report (None: not checked).
        ports: its watched ports: port name -> (device behind it, that device's role).
    """

    device: Device
    target: SnmpTarget | None
    problem: str = ""
    skipped: bool = False
    expected_name: str | None = None
    expected_location: str | None = None
    ports: dict[str, tuple[str, Role]] = field(default_factory=dict)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def watched_ports(devices: Sequence[Device]) -> dict[str, dict[str, tuple[str, Role]]]:
    """Per switch, the ports devices hang off (their `uplink.port`): port -> (device, role)."""
    ports: dict[str, dict[str, tuple[str, Role]]] = {}
    for device in devices:
        if device.uplink_host and device.uplink_port:
            ports.setdefault(device.uplink_host, {})[device.uplink_port] = (device.name,
                                                                             device.role)
    return ports


def plan_device(device: Device, hostvars: Mapping[str, object] | None,
                networks: Sequence[Network],
                ports: Mapping[str, tuple[str, Role]], *,
                build_target: bool = True) -> PlannedDevice:
    """One device's target, or the config failure that keeps it from being polled.

    With `build_target` False (an execution node polls it, with the secrets it holds)
    only the address and inventory are checked here, and the target stays None.
    """
    vars_ = hostvars or {}
    problem = address_problem(device, networks)
    if not problem and hostvars is None:
        problem = (f"{device.name}: not in its school's inventory any more; run "
                   "'provision inventory sync'")
    target: SnmpTarget | None = None
    try:
        polled = answers_snmp(vars_)
    except ValueError:
        polled, raw = False, vars_.get("snmp")
        # Templates are not rendered here, as for the other SNMP settings (reach.py).
        if "{{" in str(raw):
            unread = f"{device.name}: snmp is a template ({raw}); write true or false"
        else:
            unread = (f"{device.name}: has snmp {raw!r}, which is not true or false; fix its "
                      "inventory")
        problem = problem or unread
    skipped = not problem and not polled
    if skipped:
        problem = (f"{device.name}: does not answer SNMP (inventory snmp: false); "
                   "not polled")
    elif not problem and build_target:
        try:
            target = snmp_target(device, vars_)
        except ConfigError as exc:
            problem = str(exc)
    return PlannedDevice(device, target, problem, skipped,
                         expected_name=_text(vars_.get("snmp_sys_name")) or device.name,
                         expected_location=_text(vars_.get("snmp_location")) or None,
                         ports=dict(ports))
