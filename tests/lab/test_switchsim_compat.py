"""The simulated switch's CLI dialogue, driven line by line without SSH (fast, pure)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("fake_switches", reason="the lab extras (fake-switches) are not installed")

from provisioner.platforms.cisco_ios.simulator import (
    INVALID_INPUT,
    CompatCiscoCore,
    StartupConfig,
)

PASSWORD = "not-a-real-secret-1"  # a test value, not the lab's


class Screen:
    """A terminal that keeps what the switch writes."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def add_any_key_handler(self, callback: object, *params: object) -> None:
        pass

    def remove_any_key_handler(self) -> None:
        pass


Send = Callable[[str], str]


def _cli(core: CompatCiscoCore) -> Send:
    screen = Screen()
    session = core.launch("test", screen)

    def send(line: str) -> str:
        screen.text = ""
        session.receive(line)
        return screen.text

    return send


def _enabled(tmp_path: Path) -> tuple[CompatCiscoCore, Send]:
    core = CompatCiscoCore("sw01", PASSWORD, StartupConfig(tmp_path / "sw01.cfg"))
    send = _cli(core)
    send("enable")
    assert send(PASSWORD).endswith("sw01#")
    return core, send


@pytest.mark.parametrize("attempt", ["", "wrong", PASSWORD.upper()])
def test_enable_refuses_wrong_and_empty_passwords(tmp_path: Path, attempt: str) -> None:
    send = _cli(CompatCiscoCore("sw01", PASSWORD, StartupConfig(tmp_path / "sw01.cfg")))
    assert send("enable") == "Password: "
    reply = send(attempt)
    assert "% Access denied" in reply
    assert reply.endswith("sw01>")


def test_user_exec_accepts_what_tools_send_before_enable(tmp_path: Path) -> None:
    send = _cli(CompatCiscoCore("sw01", PASSWORD, StartupConfig(tmp_path / "sw01.cfg")))
    assert send("terminal length 0") == "sw01>"
    assert send("terminal width 511") == "sw01>"
    assert send("show privilege").startswith("Current privilege level is 1")


def test_enabled_mode_reports_privilege_15(tmp_path: Path) -> None:
    _, send = _enabled(tmp_path)
    assert send("show privilege").startswith("Current privilege level is 15")


def test_end_leaves_config_mode_from_a_sub_mode(tmp_path: Path) -> None:
    _, send = _enabled(tmp_path)
    send("configure terminal")
    assert send("vlan 110").endswith("sw01(config-vlan)#")
    send("name Verwaltung")
    assert send("end") == "sw01#"
    assert "110  Verwaltung" in send("show vlan brief")


def test_copy_run_start_saves_and_a_restart_restores(tmp_path: Path) -> None:
    _, send = _enabled(tmp_path)
    for line in (
        "configure terminal",
        "vlan 110",
        "name Verwaltung",
        "interface Fa0/5",
        "switchport access vlan 110",
        "end",
    ):
        send(line)
    assert send("copy running-config startup-config") == "Destination filename [startup-config]? "
    assert "[OK]" in send("")
    saved = (tmp_path / "sw01.cfg").read_text()
    assert "vlan 110\n name Verwaltung\n" in saved
    assert "interface FastEthernet0/5\n switchport access vlan 110\n" in saved

    rebooted = CompatCiscoCore("sw01", PASSWORD, StartupConfig(tmp_path / "sw01.cfg"))
    assert rebooted.restore_startup_config() > 0
    send = _cli(rebooted)
    send("enable")
    send(PASSWORD)
    assert "110  Verwaltung                       active    Fa0/5" in send("show vlan brief")
    assert "switchport access vlan 110" in send("show running-config interface Fa0/5")


def test_write_memory_and_show_startup_config(tmp_path: Path) -> None:
    _, send = _enabled(tmp_path)
    assert "startup-config is not present" in send("show startup-config")
    assert "[OK]" in send("write memory")
    shown = send("show startup-config")
    assert shown.startswith("Using ")
    assert "hostname sw01" in shown
    send("write erase")
    assert "startup-config is not present" in send("show startup-config")
    assert not (tmp_path / "sw01.cfg").exists()


def test_section_filter_keeps_matching_blocks(tmp_path: Path) -> None:
    _, send = _enabled(tmp_path)
    for line in ("configure terminal", "vlan 120", "name Lehrer", "end"):
        send(line)
    shown = send("show running-config | section vlan 120")
    assert shown.startswith("vlan 120\n name Lehrer\n")
    assert "interface" not in shown


@pytest.mark.parametrize("line", ["bogus", "show bogus", "copy nothing", "vlan abc"])
def test_unknown_or_broken_commands_get_the_ios_error_and_the_session_lives(
    tmp_path: Path, line: str
) -> None:
    _, send = _enabled(tmp_path)
    reply = send(line)
    assert INVALID_INPUT in reply
    assert reply.endswith("sw01#")


def test_exit_ends_the_session(tmp_path: Path) -> None:
    core = CompatCiscoCore("sw01", PASSWORD, StartupConfig(tmp_path / "sw01.cfg"))
    session = core.launch("test", Screen())
    assert session.receive("exit") is False


def test_a_command_that_crashes_the_fake_keeps_the_session_in_its_mode(tmp_path: Path) -> None:
    _, send = _enabled(tmp_path)
    send("configure terminal")
    reply = send("vlan abc")  # the stock code raises ValueError here
    assert INVALID_INPUT in reply
    assert reply.endswith("sw01(config)#")


def _configure(send: Send, *lines: str) -> str:
    out = send("configure terminal")
    for line in lines:
        out += send(line)
    return out + send("end")


def test_global_settings_show_in_running_config_and_survive_a_save(tmp_path: Path) -> None:
    _core, send = _enabled(tmp_path)
    out = _configure(send, "ip default-gateway 10.1.0.1", "ntp server 10.0.0.123",
                     "snmp-server view all iso included",
                     "snmp-server group ro v3 priv read all",
                     "snmp-server location Raum 1", "snmp-server contact IT <it@x.invalid>")
    assert INVALID_INPUT not in out
    running = send("show running-config")
    tail = running[running.index("ip default-gateway"):]
    assert tail.splitlines()[:8] == [
        "ip default-gateway 10.1.0.1", "!", "snmp-server contact IT <it@x.invalid>",
        "snmp-server group ro v3 priv read all", "snmp-server location Raum 1",
        "snmp-server view all iso included", "ntp server 10.0.0.123", "!"]
    send("write memory")
    restarted = CompatCiscoCore("sw01", PASSWORD, StartupConfig(tmp_path / "sw01.cfg"))
    restarted.restore_startup_config()
    again = _cli(restarted)
    again("enable")
    again(PASSWORD)
    assert "ntp server 10.0.0.123" in again("show running-config")
    _configure(send, "no ntp server 10.0.0.123")
    assert "ntp server" not in send("show running-config")


def test_snmp_users_are_listed_but_never_in_the_configuration(tmp_path: Path) -> None:
    _core, send = _enabled(tmp_path)
    assert send("show snmp user mon").strip() == "sw01#"
    _configure(send, "snmp-server user mon ro v3 auth sha authpass1 priv aes 128 privpass1")
    users = send("show snmp user mon")
    assert "User name: mon" in users
    assert "Authentication Protocol: SHA\nPrivacy Protocol: AES128\nGroup-name: ro" in users
    running = send("show running-config")
    assert "snmp-server user" not in running
    assert "authpass1" not in running + users
    _configure(send, "no snmp-server user mon ro v3")
    assert "User name" not in send("show snmp user")


def test_show_vlan_lists_no_trunk_port(tmp_path: Path) -> None:
    _core, send = _enabled(tmp_path)
    _configure(send, "vlan 30", "name Schueler", "exit", "interface FastEthernet0/1",
               "switchport mode trunk", "exit", "interface FastEthernet0/2",
               "switchport access vlan 30", "switchport mode access", "exit")
    brief = send("show vlan brief")
    assert "Fa0/1," not in brief and "Fa0/1\n" not in brief
    assert re_line(brief, "30") == "30   Schueler                         active    Fa0/2"
    assert "Fa0/3, Fa0/4" in send("show vlan")


def re_line(text: str, vid: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(vid + " "))


def test_unknown_global_commands_are_refused(tmp_path: Path) -> None:
    _core, send = _enabled(tmp_path)
    assert INVALID_INPUT in _configure(send, "snmp-server bogus")
    assert INVALID_INPUT in _configure(send, "ntp peer")


def test_vtp_transparent_shows_in_running_config_and_survives_a_save(tmp_path: Path) -> None:
    _core, send = _enabled(tmp_path)
    assert "vtp mode" not in send("show running-config")  # server, the default, not shown
    assert INVALID_INPUT not in _configure(send, "vtp mode transparent")
    assert "vtp mode transparent" in send("show running-config")
    assert INVALID_INPUT in _configure(send, "vtp mode bogus")
    send("write memory")
    restarted = CompatCiscoCore("sw01", PASSWORD, StartupConfig(tmp_path / "sw01.cfg"))
    restarted.restore_startup_config()
    again = _cli(restarted)
    again("enable")
    again(PASSWORD)
    assert "vtp mode transparent" in again("show running-config")
