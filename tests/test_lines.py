"""Device text made fit for one line (provisioner/lines.py) and for a table
(provisioner/terminal.py): pure logic."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from provisioner.ansible import HostRecap
from provisioner.cli.base import echo, echo_rendered
from provisioner.lines import LINE_MAX, joined_lines, one_line, printable
from provisioner.provision.engine import _play_warnings
from provisioner.terminal import render_table

CLI = Path(__file__).resolve().parents[1] / "provisioner" / "cli"


def test_one_line_is_the_first_line_without_control_characters() -> None:
    assert one_line("\n  \x1b]0;owned\x07 switch said no \nsecond") == " ]0;owned  switch said no"
    assert one_line("x" * (LINE_MAX + 50)) == "x" * LINE_MAX
    assert one_line("") == "" and one_line(None) == "None"
    assert printable("a\tb\x1b[2Jc\u200bd") == "a b [2Jc d"


def test_joined_lines_keeps_each_line_once_one_per_line() -> None:
    assert joined_lines("SNMP silent", "", "a; b\n\x1b[31mred", "SNMP silent") \
        == "SNMP silent\na; b\n [31mred"
    assert joined_lines() == ""


def test_the_record_says_how_many_reports_it_left_out() -> None:
    recap = HostRecap("srv01", warnings=["dnsmasq not started"], warnings_left_out=3)
    assert _play_warnings(recap, 17) == ["dnsmasq not started",
                                         "3 more: provision run show 17 --output"]
    assert _play_warnings(None, 17) == []


def test_a_table_never_reads_a_devices_text_as_markup() -> None:
    # "[/]" made rich raise MarkupError, ending the whole table; "[bold]" restyled it.
    text = render_table(["device", "sysName"], [["ap01", "[/]"], ["ap02", "[bold]x\x1b[2J"],
                                                ["ap03", None]])
    assert text.splitlines() == ["device  sysName", "ap01    [/]", "ap02    [bold]x [2J",
                                 "ap03"]
    # A header may be a device's word too (a WLAN controller's SSID names).
    assert render_table(["ap", "[/]\x1b[2J"], [["ap01", 3]]).splitlines() == [
        "ap    [/] [2J", "ap01  3"]


def test_the_commands_print_text_for_people_only_through_one_sanitising_echo(
        capsys: pytest.CaptureFixture[str]) -> None:
    # A device's answer reaches the terminal in many commands (task errors, health
    # reasons, AP names on a controller): one function makes every line printable.
    echo("ap01 \x1b]0;owned\x07 says\n\x1b[2Jsecond line", err=True)
    echo_rendered('{"name": "ap01\\u001b"}')
    out, err = capsys.readouterr()
    assert err == "ap01  ]0;owned  says\n [2Jsecond line\n"
    assert out == '{"name": "ap01\\u001b"}\n'
    calls = {path.name: ast.unparse(node) for path in sorted(CLI.glob("*.py"))
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Attribute) and node.attr in ("echo", "secho")
             and isinstance(node.value, ast.Name) and node.value.id == "click"}
    assert set(calls) == {"base.py"}, f"click.echo outside cli/base.py: {calls}"
