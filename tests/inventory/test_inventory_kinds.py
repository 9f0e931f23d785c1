"""Every kind of inventory Ansible accepts, read as Ansible reads it (tests/data/inventories/).

Each case asserts the exact devices, the exact problems and the exact warnings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.inventory import InventoryReport, check_inventory, load_inventories

CASES = Path(__file__).parent.parent / "data" / "inventories"

# (name, role, platform, address, serial, room, uplink host, uplink port, managed)
Row = tuple[str, str, str, str, str, str, str, str, bool]


def report_of(case: str) -> InventoryReport:
    root = CASES / case
    return check_inventory(load_inventories(root), [], {"100001", "100002"}, str(root))


def rows(report: InventoryReport) -> list[Row]:
    return sorted((d.name, d.role.value, d.platform, d.address, d.serial, d.room, d.uplink_host,
                   d.uplink_port, d.managed) for d in report.devices)


def texts(problems: list, case: str) -> list[str]:
    return [str(p).replace(str(CASES / case) + "/", "") for p in problems]


def test_nested_children_three_levels_deep() -> None:
    report = report_of("nested-children")
    assert rows(report) == [
        ("t1-ap01", "access_point", "aruba_instant", "10.31.0.100", "", "", "t1-sw02", "Gi1/0/21",
         True),
        ("t1-ap02", "access_point", "aruba_instant", "10.31.0.101", "", "", "t1-sw02", "Gi1/0/22",
         False),
        ("t1-ap03", "access_point", "unifi", "10.31.0.102", "", "", "t1-sw03", "21", True),
        ("t1-srv01", "server", "debian", "10.31.0.10", "", "", "t1-sw01", "Gi1/0/1", True),
        ("t1-sw01", "switch", "cisco_ios", "10.31.0.20", "", "", "", "", True),
        ("t1-sw02", "switch", "cisco_ios", "10.31.0.21", "", "", "t1-sw01", "Gi1/0/47", True),
        ("t1-sw03", "switch", "cisco_ios", "10.31.0.22", "", "", "t1-sw01", "", True),
    ]
    assert (report.problems, report.warnings) == ([], [])


def test_group_vars_inline_in_files_in_folders_and_host_vars() -> None:
    report = report_of("group-vars")
    assert rows(report) == [
        # platform from group_vars/access_points.yml, room from the child group's file,
        # host_vars/t2-ap01/main.yml wins over the group
        ("t2-ap01", "access_point", "ubiquiti_unifi", "10.32.0.100", "", "Altbau 1.04a", "t2-sw02",
         "A24", True),
        ("t2-ap02", "access_point", "unifi", "10.32.0.101", "", "Altbau", "t2-sw02", "A24", True),
        # platform and room from the group's `vars:` in hosts.yml
        ("t2-srv01", "server", "debian", "10.32.0.10", "", "Serverraum", "t2-sw01", "", True),
        # host_vars/t2-sw01.yml: its own platform and serial, `uplink:` empty (the core)
        ("t2-sw01", "switch", "aruba_aoss", "10.32.0.20", "CN12AB34", "", "", "", True),
        # group_vars/switches/ is a folder of two files
        ("t2-sw02", "switch", "hp_procurve", "10.32.0.21", "", "", "t2-sw01", "A1", True),
    ]
    assert (report.problems, report.warnings) == ([], [])


def test_ranges_with_steps_and_letters_name_is_the_address() -> None:
    report = report_of("ranges")
    assert [(name, address, uplink) for name, _r, _p, address, _s, _room, uplink, _port, _m
            in rows(report)] == [
        ("ap01.t3.example", "ap01.t3.example", "sw-a.t3.example"),
        ("ap04.t3.example", "ap04.t3.example", "sw-a.t3.example"),
        ("ap07.t3.example", "ap07.t3.example", "sw-a.t3.example"),
        ("srv1.t3.example", "srv1.t3.example", "sw-core.t3.example"),
        ("sw-a.t3.example", "sw-a.t3.example", "sw-core.t3.example"),
        ("sw-b.t3.example", "sw-b.t3.example", "sw-core.t3.example"),
        ("sw-c.t3.example", "sw-c.t3.example", "sw-core.t3.example"),
        ("sw-core.t3.example", "sw-core.t3.example", ""),
    ]
    assert (report.problems, report.warnings) == ([], [])


def test_groups_at_the_top_level_without_all() -> None:
    report = report_of("top-level")
    assert [(r[0], r[1], r[2]) for r in rows(report)] == [
        ("t4-ap01", "access_point", "unifi"), ("t4-ap02", "access_point", "unifi"),
        ("t4-srv01", "server", "debian"), ("t4-sw01", "switch", "cisco_ios"),
    ]
    assert report.ok


def test_ini_hosts_file_with_children_vars_and_a_range() -> None:
    report = report_of("ini")
    assert rows(report) == [
        ("t5-ap01", "access_point", "ubiquiti_unifi", "t5-ap01", "", "", "t5-sw02", "", False),
        ("t5-ap02", "access_point", "ubiquiti_unifi", "t5-ap02", "", "", "t5-sw02", "", False),
        ("t5-srv01", "server", "debian", "10.35.0.10", "", "", "t5-sw01", "", True),
        ("t5-sw01", "switch", "hp_procurve", "10.35.0.20", "", "", "", "", True),
        # INI keeps 000123 as text (Python literal rules), but makes 1.10 the float 1.1
        ("t5-sw02", "switch", "hp_procurve", "10.35.0.21", "000123", "1.10", "t5-sw01", "",
         True),
    ]
    assert report.problems == []
    assert texts(report.warnings, "ini") == [
        "100001/hosts: host 't5-sw02': room 1.10 is read by Ansible as the number 1.1; quote "
        "it ('1.10') so Ansible keeps the text; stored as '1.10'",
    ]


def test_hosts_yaml_extension() -> None:
    assert [r[0] for r in rows(report_of("hosts-yaml"))] == ["t6-srv01", "t6-sw01"]


def test_host_in_two_role_groups_is_a_problem_naming_file_and_host() -> None:
    report = report_of("two-roles")
    assert [r[0] for r in rows(report)] == ["t7-srv01"]
    assert texts(report.problems, "two-roles") == [
        "100001/hosts.yml: host 't7-sw01' is in switches and access_points (directly or "
        "through child groups); a device has one role: keep it in one of them",
    ]


def test_host_in_no_role_group_is_a_problem() -> None:
    report = report_of("no-role")
    assert [r[0] for r in rows(report)] == ["t8-sw01"]
    assert texts(report.problems, "no-role") == [
        f"100001/hosts.yml: host {name!r} is in none of the groups servers, switches, "
        "access_points, wlan_controllers (directly or through child groups); add it to the one "
        "that says what it is"
        for name in ("t8-display01", "t8-printer")
    ]


def test_jinja2_values_are_rendered_with_the_hosts_vars() -> None:
    report = report_of("jinja")
    assert rows(report) == [
        ("t9-ap01", "access_point", "aruba_instant", "10.39.0.101", "", "Haus B 01", "t9-sw01",
         "", True),
        ("t9-sw01", "switch", "cisco_ios", "10.39.0.20", "", "Haus B Keller", "", "", True),
    ]
    assert report.ok


def test_jinja2_that_ansible_cannot_render_is_a_problem() -> None:
    report = report_of("jinja-undefined")
    assert [r[0] for r in rows(report)] == ["t10-sw01"]
    assert texts(report.problems, "jinja-undefined") == [
        "100001/hosts.yml: host 't10-ap01' has ansible_host '{{ ap_net }}.100' that Ansible "
        "cannot render ('ap_net' is undefined); fix the expression or define the variables "
        "it uses",
    ]


def test_numbers_yaml_made_of_text_are_kept_as_written_and_warned() -> None:
    report = report_of("yaml-numbers")
    assert [(r[0], r[4], r[5], r[7]) for r in rows(report)] == [
        ("t11-ap01", "1_000", "2.0", ""),
        ("t11-sw01", "000123", "1.10", ""),
        ("t11-sw02", "0x1F", "12", "1.10"),
    ]
    assert report.ok  # warnings only: exit 0
    assert texts(report.warnings, "yaml-numbers") == [
        "100001/hosts.yml: host 't11-ap01': serial_number 1_000 is read by Ansible as the number "
        "1000; quote it ('1_000') so Ansible keeps the text; stored as '1_000'",
        "100001/hosts.yml: host 't11-sw01': serial_number 000123 is read by Ansible as the "
        "number 83; quote it ('000123') so Ansible keeps the text; stored as '000123'",
        "100001/hosts.yml: host 't11-sw01': room 1.10 is read by Ansible as the number 1.1; "
        "quote it ('1.10') so Ansible keeps the text; stored as '1.10'",
        "100001/hosts.yml: host 't11-sw02': uplink port 1.10 is read by Ansible as the number "
        "1.1; quote it ('1.10') so Ansible keeps the text; stored as '1.10'",
        "100001/hosts.yml: host 't11-sw02': serial_number 0x1F is read by Ansible as the number "
        "31; quote it ('0x1F') so Ansible keeps the text; stored as '0x1F'",
    ]


def test_the_same_address_in_two_schools() -> None:
    report = report_of("duplicate-address")
    assert texts(report.problems, "duplicate-address") == [
        "100002/hosts.yml: host 't12b-sw01' uses address 10.42.0.20 already used by host "
        "'t12a-sw01' of school 100001; each address must be unique across all schools",
    ]


def test_uplink_to_a_host_of_another_school() -> None:
    report = report_of("unknown-uplink")
    assert texts(report.problems, "unknown-uplink") == [
        "100001/hosts.yml: host 't13a-sw02' has uplink 't13b-sw01', which is not a host of "
        "school 100001's inventory; name the switch it hangs off",
    ]


def test_uplink_cycle_and_uplink_to_an_access_point() -> None:
    report = report_of("uplink-cycle")
    assert texts(report.problems, "uplink-cycle") == [
        "100001/hosts.yml: host 't14-ap02' has uplink 't14-ap01', which is an access point, not "
        "a switch; name the switch it hangs off",
        "100001/hosts.yml: uplinks form a cycle: t14-sw02 -> t14-sw03 -> t14-sw04 -> t14-sw02; "
        "the school's core switch has no uplink, every other device names the switch it hangs "
        "off",
    ]


def test_a_file_ansible_cannot_parse_is_a_problem_naming_it() -> None:
    report = report_of("unparsable")
    assert [r[0] for r in rows(report)] == ["t15-sw01"]
    assert texts(report.problems, "unparsable") == [
        "100001/neubau.yml: Ansible cannot read it as an inventory (YAML parsing failed: While "
        "parsing a flow mapping did not find expected ',' or '}'. (line 5)); fix it, or move it "
        "out of the school's folder (Ansible reads every file in it)",
    ]


def test_a_broken_group_vars_file_refuses_the_school() -> None:
    report = report_of("bad-group-vars")
    assert report.devices == []
    assert texts(report.problems, "bad-group-vars") == [
        "100001/group_vars/switches.yml, row 3: Ansible cannot read it (YAML parsing failed: "
        "While parsing a flow sequence did not find expected ',' or ']'.); fix it",
    ]


def test_ansibles_own_warnings_are_captured_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    report = report_of("group-name-warning")
    assert [r[0] for r in rows(report)] == ["t17-ap01", "t17-sw01"]
    assert report.problems == []
    assert texts(report.warnings, "group-name-warning") == [
        "100001: Ansible: Invalid characters were found in group "
        "names but not replaced, use -vvvv to see details",
    ]
    assert capsys.readouterr() == ("", "")


def test_an_ap_mac_the_servers_cannot_reserve_is_warned() -> None:
    # Unquoted, a MAC of digits only is a base-60 number to YAML; a short one is a typo.
    report = report_of("ap-macs")
    assert [r[0] for r in rows(report)] == ["t12-ap01", "t12-ap02", "t12-ap03", "t12-ap04",
                                            "t12-ap05"]
    assert report.ok  # warnings only: the APs are still checked over SNMP
    assert texts(report.warnings, "ap-macs") == [
        "100001/hosts.yml: host 't12-ap01': its inventory `mac` is the number 41135085296, not "
        "text; quote the MAC in the inventory ('52:54:00:12:34:56'); the servers keep the "
        "reservation they hold for it, or make none",
        "100001/hosts.yml: host 't12-ap02': its inventory `mac` '02:fc:00:00:01' is not a "
        "unicast MAC address (six hex pairs with ':'); fix it; the servers keep the "
        "reservation they hold for it, or make none",
        # ap03's MAC again, in another case: a MAC belongs to one device.
        "100001/hosts.yml: host 't12-ap05' has mac 02:fc:00:00:01:0c that host 't12-ap03' "
        "of school 100001 has too; a MAC belongs to one device: fix the wrong one (each "
        "keeps the reservation the servers hold for it, or gets none)",
    ]
