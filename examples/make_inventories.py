"""Write the example inventories of Musterstadt from its plan: `inventories/<school_id>/`.

Run from the repository root: `.venv/bin/python examples/make_inventories.py`.
The devices follow the plan's quantities, except that rollout is still under way at
a few schools (fewer devices than planned), as in any real city.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from provisioner.inventory import network_profile, write_school_inventory
from provisioner.models import ROLE_MEASURE, Device, Role
from provisioner.plan import read_plan
from provisioner.platforms import find_platform

ROOT = Path(__file__).resolve().parent.parent
# Schools where part of the plan is not installed yet: role -> devices still missing.
BEHIND = {"100009": {Role.ACCESS_POINT: 20}, "100017": {Role.SWITCH: 6, Role.ACCESS_POINT: 30},
          "100020": {Role.ACCESS_POINT: 12}}
SWITCH_PLATFORMS = ("cisco_ios", "hp_procurve", "cisco_ios", "lancom")
AP_PLATFORMS = ("lancom", "aruba_instant", "unifi")
PREFIX = {Role.SERVER: "srv", Role.SWITCH: "sw", Role.ACCESS_POINT: "ap",
          Role.WLAN_CONTROLLER: "vc"}
FIRST_HOST = {Role.SERVER: 10, Role.SWITCH: 20, Role.ACCESS_POINT: 100,
              Role.WLAN_CONTROLLER: 5}
ROOMS = {Role.SERVER: "Serverraum", Role.SWITCH: "Verteiler", Role.ACCESS_POINT: "Raum",
         Role.WLAN_CONTROLLER: "Serverraum"}
# Aruba Instant APs are configured through their cluster's virtual controller: one per
# school, reached at its own address (the virtual controller IP).
CONTROLLED = "aruba_instant"


def platform(role: Role, school_no: int) -> str:
    if role is Role.SERVER:
        return "debian"
    table = SWITCH_PLATFORMS if role is Role.SWITCH else AP_PLATFORMS
    return table[school_no % len(table)]


def port_name(platform_name: str, port: int) -> str:
    """An interface name as the switch's own CLI writes it."""
    if platform_name == "cisco_ios":
        return f"GigabitEthernet1/0/{port}"
    if platform_name == "lancom":
        return f"LAN-{port}"
    return str(port)  # HPE ProCurve numbers its ports


def uplinks(school_id: str, devices: list[Device]) -> dict[str, tuple[str, str]]:
    """Device name -> (upstream switch, its port): sw01 is the core and has none.

    Access switches hang off the core's ports 25 and up; APs off the access switches'
    AP ports (21-24, then 25 and up), round robin; servers and the WLAN controller off the
    first access switch's ports 1 and up (the core's when there is no access switch).
    """
    switches = [d for d in devices if d.role is Role.SWITCH]
    if not switches:
        return {}
    core, access = switches[0], switches[1:] or switches[:1]
    links = {sw.name: (core.name, port_name(core.platform, 24 + n))
             for n, sw in enumerate(switches[1:], start=1)}
    aps = [d for d in devices if d.role is Role.ACCESS_POINT]
    for n, ap in enumerate(aps):
        switch = access[n % len(access)]
        links[ap.name] = (switch.name, port_name(switch.platform, 21 + n // len(access)))
    servers = [d for d in devices if d.role in (Role.SERVER, Role.WLAN_CONTROLLER)]
    for n, server in enumerate(servers, start=1):
        links[server.name] = (access[0].name, port_name(access[0].platform, n))
    return links


def devices_of(school_id: str, school_no: int, planned: Counter[Role]) -> list[Device]:
    devices = []
    for role in Role:
        count = planned[role] - BEHIND.get(school_id, {}).get(role, 0)
        for n in range(1, count + 1):
            devices.append(Device(
                school_id, f"{school_id}-{PREFIX[role]}{n:02d}", role, platform(role, school_no),
                f"10.{school_no}.0.{FIRST_HOST[role] + n - 1}",
                serial=f"MS{school_id}{PREFIX[role].upper()}{n:03d}",
                room=f"{ROOMS[role]} {n if role is not Role.SERVER else ''}".strip(),
                # LANCOM has no platform in the tool yet: watched over SNMP only.
                managed=find_platform(platform(role, school_no)) is not None,
            ))
    devices += controller_of(school_id, school_no, devices)
    links = uplinks(school_id, devices)
    return [replace(d, uplink_host=links[d.name][0], uplink_port=links[d.name][1])
            if d.name in links else d for d in devices]


def controller_of(school_id: str, school_no: int, devices: list[Device]) -> list[Device]:
    """The school's WLAN controller when its APs are Instant APs (they then name it)."""
    aps = [d for d in devices if d.role is Role.ACCESS_POINT and d.platform == CONTROLLED]
    if not aps:
        return []
    name = f"{school_id}-vc01"
    for ap in aps:
        ap.vars["controller"] = name
    return [Device(school_id, name, Role.WLAN_CONTROLLER, CONTROLLED,
                   f"10.{school_no}.0.{FIRST_HOST[Role.WLAN_CONTROLLER]}",
                   serial=f"MS{school_id}VC001", room=ROOMS[Role.WLAN_CONTROLLER],
                   vars={"controller_cert_file": f"/etc/provisioner/pinned/{name}.pem"})]


def group_vars(school_no: int) -> dict[str, dict[str, object]]:
    # Secrets by reference only: paths on the controller, never the secrets themselves.
    return {
        "all": {**network_profile(school_no), "snmp_version": 3, "snmp_user": "monitoring",
                "snmp_auth_protocol": "SHA", "snmp_priv_protocol": "AES",
                "snmp_auth_file": "/etc/provisioner/secrets/snmp_auth",
                "snmp_priv_file": "/etc/provisioner/secrets/snmp_priv",
                "radius_secret_file": "/etc/provisioner/secrets/radius_secret",
                "wlan_psk_file": "/etc/provisioner/secrets/wlan_psk"},
        "servers": {"ansible_user": "deploy", "ansible_become": True,
                    "ansible_ssh_private_key_file": "/etc/provisioner/secrets/deploy_ed25519"},
        "switches": {"ansible_connection": "ansible.netcommon.network_cli",
                     "ansible_user": "provisioner"},
        "access_points": {"ansible_user": "provisioner"},
        # Reached over its REST API from the control node; its certificate is pinned per
        # controller (host var controller_cert_file).
        "wlan_controllers": {"ansible_connection": "local",
                             "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                             "controller_user": "admin",
                             "controller_password_file":
                                 "/etc/provisioner/secrets/wlan_controller_password"},
    }


def main() -> None:
    plan = read_plan(ROOT / "examples" / "plan-musterstadt.csv")
    measure_role = {measure: role for role, measure in ROLE_MEASURE.items()}
    planned: dict[str, Counter[Role]] = {s.school_id: Counter() for s in plan.schools}
    for item in plan.items:
        if item.measure in measure_role and item.quantity:
            planned[item.school_id][measure_role[item.measure]] += item.quantity
    for school_no, school in enumerate(plan.schools, start=1):
        write_school_inventory(ROOT / "inventories", school.school_id,
                               devices_of(school.school_id, school_no, planned[school.school_id]),
                               group_vars(school_no))


if __name__ == "__main__":
    main()
