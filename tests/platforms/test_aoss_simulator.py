"""The AOS-S simulator's CLI without a network, its output against a real switch's, and the
cliconf plugin's diff against what the simulator prints.

Real output: tests/data/platforms/aruba_aoss/ (a 2530-24G-PoEP on YA.16.11.0026, see its
README). The same parsers must read the real switch's output and the simulator's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from provisioner.platforms.aruba_aoss import (
    RUNNING_VLANS,
    port_problems,
    ports_of,
    switch_differences,
)
from provisioner.platforms.aruba_aoss.cli import Switch
from provisioner.platforms.aruba_aoss.config import SwitchConfig, format_ports
from provisioner.platforms.aruba_aoss.shell import Shell
from provisioner.platforms.aruba_aoss.simulator import boot
from provisioner.platforms.aruba_aoss.terminal import MORE, Terminal
from provisioner.platforms.parsing import parse_ntc, parse_template

DATA = Path(__file__).parent.parent / "data" / "platforms" / "aruba_aoss"
PLUGINS = Path(__file__).resolve().parents[2] / "provisioner" / "platforms" / "aruba_aoss" \
    / "ansible_plugins"


class Screen:
    """A session's terminal with what it wrote."""

    def __init__(self, switch: Switch | None = None) -> None:
        self.switch = switch or Switch(SwitchConfig.factory("sw1"))
        self.out: list[str] = []
        self.closed = False
        self.terminal = Terminal(Shell(self.switch), self.out.append, self._close)
        self.terminal.start()

    def _close(self) -> None:
        self.closed = True

    def type(self, text: str) -> str:
        start = len(self.out)
        self.terminal.feed(text)
        return "".join(self.out[start:]).replace("\r\n", "\n")

    def run(self, line: str) -> str:
        return self.type(line + "\r")


@pytest.fixture
def screen() -> Screen:
    screen = Screen()
    assert screen.type("\r").endswith("sw1# ")  # any key past the legend
    return screen


def test_login_shows_the_legend_and_waits_for_a_key() -> None:
    screen = Screen()
    shown = "".join(screen.out)
    assert shown.startswith("HP J9773A 2530-24G-PoEP Switch\r\nSoftware revision YA.16.11")
    assert shown.endswith("Press any key to continue")
    assert screen.type("x") == "\nsw1# "


def test_refusals_are_the_switchs_own(screen: Screen) -> None:
    assert "Invalid input: bogus\n" in screen.run("bogus")
    assert "Incomplete input: show\n" in screen.run("show")
    screen.run("configure terminal")
    assert "Module not present for port or invalid port: 52" in screen.run("vlan 10 untagged 52")
    assert 10 not in screen.switch.running.vlans  # a refused one-liner makes no VLAN
    long = "x" * 40
    assert (f"String {'x' * 29}... too long. Allowed length is 32\n characters."
            in screen.run(f"vlan 20 name {long}"))
    assert "Ambiguous input: s" in screen.run("s")


def test_contexts_prompts_and_global_commands_inside_a_context(screen: Screen) -> None:
    assert screen.run("conf t").endswith("sw1(config)# ")
    assert screen.run("vlan 10").endswith("sw1(vlan-10)# ")
    assert screen.run("ip default-gateway 10.0.0.1").endswith("sw1(vlan-10)# ")
    assert screen.run("interface 5").endswith("sw1(eth-5)# ")
    assert screen.run("exit").endswith("sw1(config)# ")
    assert screen.run("end").endswith("sw1# ")
    assert screen.switch.running.default_gateway == "10.0.0.1"


def test_a_port_is_untagged_in_one_vlan_and_default_vlan_keeps_the_rest(screen: Screen) -> None:
    for line in ("conf", "vlan 10", 'name "Verwaltung"', "untagged 1-12", "tagged 25-28",
                 "vlan 30", "untagged 5-6", "end"):
        screen.run(line)
    running = screen.run("show running-config")
    assert ("vlan 1\n   name \"DEFAULT_VLAN\"\n   no untagged 1-12\n   untagged 13-28\n"
            "   ip address dhcp-bootp\n   exit\n") in running
    assert "vlan 10\n   name \"Verwaltung\"\n   untagged 1-4,7-12\n   tagged 25-28\n" in running
    assert format_ports({1, 2, 3, 7, 9, 10}) == "1-3,7,9-10"


def test_paging_stops_at_more_until_a_key_and_no_page_turns_it_off(screen: Screen) -> None:
    screen.run("conf")
    for vid in range(10, 40):
        screen.run(f"vlan {vid} name V{vid}")
    screen.run("end")
    first = screen.run("show vlans")
    assert first.endswith(MORE) and first.count("\n") == 1 + 23  # the command, a page
    rest = screen.type(" ")
    assert rest.startswith("\r\x1b[2K") and "V39" in rest and rest.endswith("sw1# ")
    assert screen.run("show vlans").endswith(MORE)
    assert screen.type("q").endswith("sw1# ")  # the rest of the listing is dropped
    screen.run("no page")
    whole = screen.run("show vlans")
    assert MORE not in whole and "V39" in whole


def test_snmpv3_enable_asks_two_one_key_questions(screen: Screen) -> None:
    screen.run("conf")
    asked = screen.run("snmpv3 enable")
    assert asked.endswith("Would you like to create a user that uses SHA? [y/n] ")
    assert screen.type("n").endswith("'snmp restrict-access')? [y/n] ")
    assert screen.type("n").endswith("sw1(config)# ")
    assert screen.switch.running.snmpv3_enabled
    assert "initial                          MD5" in screen.run("show snmpv3 user")


def test_write_memory_saves_and_a_restart_boots_into_it(tmp_path: Path) -> None:
    screen = Screen(boot("sw1", tmp_path / "startup.json"))
    screen.type("\r")
    assert "same as the startup" in screen.run("show config status")  # factory, both
    screen.run('conf t')
    screen.run('snmpv3 user "u1" auth sha "secret12" priv aes "secret34"')
    screen.run("vlan 30 name Schueler")
    assert "needs to be saved" in screen.run("show config status")
    screen.run("write memory")
    assert "same as the startup" in screen.run("show config status")
    assert "secret" not in (tmp_path / "startup.json").read_text()  # passphrases never kept
    again = boot("sw1", tmp_path / "startup.json")
    assert again.running.vlans[30].name == "Schueler" and not again.unsaved
    assert again.running.snmpv3_users["u1"] == ("SHA", "CFB AES-128")


def test_logout_with_unsaved_changes_asks_to_save(screen: Screen) -> None:
    screen.run("conf")
    screen.run("vlan 30")
    screen.run("end")
    assert screen.run("logout").endswith("Do you want to log out [y/n]? ")
    assert screen.type("y").endswith("Do you want to save current configuration [y/n/^C]? ")
    screen.type("n")
    assert screen.closed and screen.switch.startup is None


@pytest.mark.parametrize("source", ["real", "simulator"])
def test_the_parsers_read_the_real_switch_and_the_simulator_alike(source: str) -> None:
    if source == "real":
        vlans = (DATA / "show_vlans_2530_YA.16.11.txt").read_text()
        running = (DATA / "show_running_config_2530_YA.16.11.txt").read_text()
        want_names = {1: "DEFAULT_VLAN", 10: "LAN", 30: "MGMT"}
        want_ports = {1: ("24-28", ""), 10: ("1-23", "24-28"), 30: ("", "24-28")}
    else:
        shell = Shell(Switch(SwitchConfig.factory("sw1")))
        for line in ("conf", "vlan 10 name LAN", "vlan 10 untagged 1-23", "vlan 10 tagged 24-28",
                     "vlan 30 name MGMT", "vlan 30 tagged 24-28"):
            shell.run(line)
        vlans = "\n".join(shell.run("show vlans").lines)
        running = "\n".join(shell.run("show running-config").lines)
        want_names = {1: "DEFAULT_VLAN", 10: "LAN", 30: "MGMT"}
        want_ports = {1: ("24-28", ""), 10: ("1-23", "24-28"), 30: ("", "24-28")}
    names = {int(r["vlan_id"]): r["vlan_name"] for r in parse_ntc("hp_procurve", "show vlans",
                                                                 vlans)}
    assert {vid: names[vid] for vid in want_names} == want_names
    blocks = {int(r["VLAN_ID"]): r for r in parse_template(RUNNING_VLANS, running, "run")}
    for vid, (untagged, tagged) in want_ports.items():
        assert ports_of(blocks[vid]["UNTAGGED"]) == ports_of(untagged), vid
        assert ports_of(blocks[vid]["TAGGED"]) == ports_of(tagged), vid


def test_verification_names_what_the_switch_lacks() -> None:
    profile = {"vlans": [{"id": 30, "name": "Schueler"}, {"id": 99, "name": "Management"}],
               "port_profiles": [{"name": "Klassenraum", "mode": "access", "vlan": 30},
                                 {"name": "Uplink", "mode": "trunk", "native_vlan": 99,
                                  "vlans": [30, 99]}],
               "access_ports": [{"profile": "Klassenraum", "first": 1, "last": 4}]}
    shell = Shell(Switch(SwitchConfig.factory("sw1")))
    for line in ("conf", "vlan 30 name Schueler", "vlan 30 untagged 1-3", "vlan 99 name Mgmt",
                 "vlan 99 untagged 25"):
        shell.run(line)
    found = switch_differences(profile, ["25", "26"], "\n".join(shell.run("show vlans").lines),
                               "\n".join(shell.run("show running-config").lines))
    assert found == [
        "VLAN 99 'Management' is named 'Mgmt'",
        "port 4 is untagged in VLAN 1; its profile Klassenraum wants untagged in VLAN 30",
        "port 25 is untagged in VLAN 99; its profile Uplink wants untagged in VLAN 99 and "
        "tagged in 30",
        "port 26 is untagged in VLAN 1; its profile Uplink wants untagged in VLAN 99 and "
        "tagged in 30"]
    # Whatever is not a VLAN table holds no VLAN: each is named missing, nothing raises.
    assert switch_differences(profile, [], "garbage\nmore", "")[:2] == [
        "VLAN 30 'Schueler' missing", "VLAN 99 'Management' missing"]


def test_a_room_port_that_is_neither_names_the_access_points_wish_too() -> None:
    # The switch cannot know which room port an AP hangs off: its message says both.
    profile = {"port_profiles": [{"name": "Klassenraum", "mode": "access", "vlan": 30},
                                 {"name": "AccessPoint", "mode": "trunk", "native_vlan": 99,
                                  "vlans": [20, 30, 99]}],
               "access_ports": [{"profile": "Klassenraum", "first": 1, "last": 2}]}
    blocks = {30: {"UNTAGGED": "2", "TAGGED": "1"}, 20: {"TAGGED": "1"}, 10: {"TAGGED": "1"},
              99: {"UNTAGGED": "1"}}
    assert port_problems(profile, [], blocks) == [
        "port 1 is untagged in VLAN 99 and tagged in 10,20,30; its profile Klassenraum wants "
        "untagged in VLAN 30 or, if an access point hangs off it, untagged in VLAN 99 and "
        "tagged in 20,30"]


def _plugin(kind: str) -> ModuleType:
    path = PLUGINS / kind / "aruba_aoss.py"
    spec = importlib.util.spec_from_file_location(f"aoss_{kind}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cliconf_diff_sends_only_what_the_switch_lacks() -> None:
    cliconf = _plugin("cliconf")
    candidate = ('hostname "sw1"\nvlan 30\n   name "Schueler"\n   untagged 1-12\n   exit\n'
                 "ip default-gateway 10.0.0.1\n")
    shell = Shell(Switch(SwitchConfig.factory("sw1")))
    plugin = cliconf.Cliconf.__new__(cliconf.Cliconf)
    first = plugin.get_diff(candidate, "\n".join(shell.run("show running-config").lines))
    assert first["config_diff"].splitlines() == [
        "vlan 30", 'name "Schueler"', "untagged 1-12", "exit", "ip default-gateway 10.0.0.1"]
    shell.run("conf")
    for line in first["config_diff"].splitlines():
        shell.run(line)
    running = "\n".join(shell.run("show running-config").lines)
    assert cliconf.config_body(running).startswith('hostname "sw1"')
    assert plugin.get_diff(candidate, running)["config_diff"] == ""
    refused = cliconf.refusal(Exception("untagged 52\r\nModule not present for port or "
                                        "invalid port: 52\r\nsw1(vlan-30)# "), "untagged 52")
    assert refused == ("Module not present for port or invalid port: 52 "
                       "(the switch refused: untagged 52)")
    as_repr = cliconf.refusal(Exception(repr(b"untagged 52\r\nModule not present for port or "
                                             b"invalid port: 52\r\nsw1(vlan-30)# ")), "untagged 52")
    assert as_repr == refused


def test_the_cliconf_diff_takes_the_profiles_ports_out_of_vlans_it_does_not_give_them(
        ) -> None:
    # Someone tagged the AP port 21 in the administration VLAN and room port 1 in a VLAN
    # of their own; port 5 is no port of the profile: it keeps what it has.
    cliconf = _plugin("cliconf")
    candidate = ('vlan 30\n   name "Schueler"\n   untagged 1-4\n   tagged 21\n   exit\n'
                 'vlan 99\n   name "Management"\n   untagged 21\n   exit\n')
    shell = Shell(Switch(SwitchConfig.factory("sw1")))
    for line in ("conf", "vlan 30 name Schueler", "vlan 30 untagged 1-4", "vlan 30 tagged 21",
                 "vlan 99 name Management", "vlan 99 untagged 21", "vlan 10 name Verwaltung",
                 "vlan 10 tagged 5,21", "vlan 77 name Privat", "vlan 77 tagged 1"):
        shell.run(line)
    plugin = cliconf.Cliconf.__new__(cliconf.Cliconf)
    diff = plugin.get_diff(candidate, "\n".join(shell.run("show running-config").lines))
    assert diff["config_diff"].splitlines() == ["vlan 10", "no tagged 21", "vlan 77",
                                                "no tagged 1"]
    for line in diff["config_diff"].splitlines():
        shell.run(line)
    running = "\n".join(shell.run("show running-config").lines)
    members = cliconf.vlan_members(running)
    assert (members[10]["tagged"], members[77]["tagged"]) == ({5}, set())
    assert members[30]["tagged"] == {21} and members[99]["untagged"] == {21}
    assert plugin.get_diff(candidate, running)["config_diff"] == ""
    # A port the candidate makes untagged in that VLAN is not also taken out of it.
    assert cliconf.stray_tagged("vlan 10\n   untagged 21\n   exit",
                                "vlan 10\n   tagged 21\n   exit") == []


def test_the_terminal_plugin_knows_the_prompts_and_refusals() -> None:
    terminal = _plugin("terminal").TerminalModule
    for prompt in (b"\r\nsw1# ", b"\r\nsw1(config)# ", b"\r\n100002-sw01(vlan-30)# ",
                   b"Press any key to continue"):
        assert any(r.search(prompt) for r in terminal.terminal_stdout_re), prompt
    assert not any(r.search(b"; J9773A Configuration Editor; Created on release #")
                   for r in terminal.terminal_stdout_re)
    for error in (b"Invalid input: bogus", b"Module not present for port or invalid port: 52"):
        assert any(r.search(error) for r in terminal.terminal_stderr_re), error
