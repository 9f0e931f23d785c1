"""Ansible cliconf plugin for HPE Aruba AOS-S (ProCurve, ArubaOS-Switch 16.x).

Loaded by `ansible.netcommon.network_cli` for `ansible_network_os: aruba_aoss` from the
folder `provisioner.ansible` hands to Ansible (ANSIBLE_CLICONF_PLUGINS). It gives
`ansible.netcommon.cli_config` and `cli_command` what the Aruba collections would:

- `get_config`: `show running-config` (or `show config`, the startup configuration)
  without the header the switch prints before it;
- `get_diff`: the candidate's lines missing from the running configuration, by
  Ansible's NetworkConfig with AOS-S's three-space indentation, so a second run sends
  nothing; then `no tagged` for each port the candidate places (a port in any of its
  VLAN blocks) that the running configuration has tagged in a VLAN where the candidate
  does not (`stray_tagged`): the profile owns its ports' VLANs, as `switchport trunk
  allowed vlan` makes it on IOS. Ports the candidate does not name are left alone;
- `edit_config`: `configure terminal`, the lines, `end`, in one session; a refused line
  fails the task with the switch's own message and the line it refused; commands that
  open a one-key dialog (`snmpv3 enable`, HPE ArubaOS-Switch 16.11 Management and
  Configuration Guide) are answered "n" to each question, without Enter;
- `get`: one command (`show ...`, `write memory`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.ansible.netcommon.plugins.module_utils.network.common.config import (
    NetworkConfig,
    dumps,
)
from ansible_collections.ansible.netcommon.plugins.module_utils.network.common.utils import (
    to_list,
)
from ansible_collections.ansible.netcommon.plugins.plugin_utils.cliconf_base import CliconfBase

from provisioner.platforms.port_lists import format_ports, ports_of

DOCUMENTATION = """
author: provisioner
name: aruba_aoss
short_description: HPE Aruba AOS-S (ArubaOS-Switch 16.x) over the CLI
description:
- Configuration and commands for HPE Aruba AOS-S switches through network_cli.
version_added: 1.0.0
"""

INDENT = 3  # AOS-S indents a context's lines by three spaces
# Commands that ask one-key questions before they finish: (questions, answers).
DIALOGS = {
    "snmpv3 enable": ([r"create a user that uses SHA\? \[y/n\] ?$",
                       r"'snmp restrict-access'\)\? \[y/n\] ?$"], ["n", "n"]),
}
_HEADER = re.compile(r"^(Running configuration:|Startup configuration: \d+|;.*)$")
_ERROR_LINE = re.compile(
    r"(Invalid input: .*|Incomplete input: .*|Ambiguous input: .*|Module not present for "
    r"port or invalid port: .*|String .* too long\. Allowed length is.*|VLAN \d+ not found\."
    r"|The Default VLAN cannot be deleted\.|Maximum number of VLANs.*|.* is not emulated .*)")


_VLAN_LINE = re.compile(r"^vlan (\d+)$")
_MEMBER_LINE = re.compile(r"^\s+(untagged|tagged) ([\d,-]+)$")


def vlan_members(text: str) -> dict[int, dict[str, set[int]]]:
    """VLAN id -> its "untagged" and "tagged" ports, from a configuration's VLAN blocks
    (`no untagged` lines and everything else are not read)."""
    blocks: dict[int, dict[str, set[int]]] = {}
    current: dict[str, set[int]] | None = None
    for line in config_body(text).splitlines():
        found = _VLAN_LINE.match(line)
        if found:
            current = blocks.setdefault(int(found.group(1)), {"untagged": set(), "tagged": set()})
            continue
        member = _MEMBER_LINE.match(line)
        if current is not None and member:
            current[member.group(1)] |= ports_of(member.group(2))
        elif not line.startswith(" "):
            current = None
    return blocks


def stray_tagged(candidate: str, running: str) -> list[str]:
    """Commands that take the candidate's ports out of VLANs they are tagged in on the
    switch but not in the candidate: `vlan N`, `no tagged PORTS` per such VLAN, in VLAN
    order. A port the candidate makes untagged in that VLAN is left to that line."""
    want, have = vlan_members(candidate), vlan_members(running)
    placed = set().union(*(block["untagged"] | block["tagged"] for block in want.values()))
    commands: list[str] = []
    for vid in sorted(have):
        wanted = want.get(vid, {"untagged": set(), "tagged": set()})
        stray = (have[vid]["tagged"] & placed) - wanted["tagged"] - wanted["untagged"]
        if stray:
            commands += [f"vlan {vid}", f"no tagged {format_ports(stray)}"]
    return commands


def config_body(text: str) -> str:
    """A configuration as shown, without the header lines the switch prints first."""
    lines = [line.rstrip() for line in to_text(text).splitlines()]
    return "\n".join(line for line in lines if line and not _HEADER.match(line))


def refusal(error: Exception, command: str) -> str:
    """The switch's own message from a failed exchange, and the command it refused.

    network_cli hands over the whole exchange (the echo, the message, the prompt), as
    bytes or as their repr; only the switch's line is kept.
    """
    text = to_text(error).replace("\\r", "\r").replace("\\n", "\n")
    found = _ERROR_LINE.search(text)
    said = found.group(1).strip() if found else (text.strip().splitlines() or ["no message"])[-1]
    return f"{said} (the switch refused: {command})"


class Cliconf(CliconfBase):
    """AOS-S for cli_config and cli_command."""

    def get_device_info(self) -> dict[str, str]:
        """What `show version` says (network_os, version)."""
        reply = to_text(self.get(command="show version"))
        info: dict[str, str] = {"network_os": "aruba_aoss"}
        found = re.search(r"^\s+([A-Z]{2}\.\d{2}\.\d{2}\.\d{4})\s*$", reply, re.M)
        if found:
            info["network_os_version"] = found.group(1)
        return info

    def get_config(self, source: str = "running", flags: Any = None,
                   format: Any = None) -> str:
        """The running (or startup) configuration, without its header."""
        if source not in ("running", "startup"):
            raise ValueError(f"fetching configuration from {source} is not supported")
        command = "show running-config" if source == "running" else "show config"
        return config_body(self.send_command(command))

    def get_diff(self, candidate: str | None = None, running: str | None = None,
                 diff_match: str = "line", diff_ignore_lines: Any = None, path: Any = None,
                 diff_replace: str = "line") -> dict[str, Any]:
        """The candidate's lines the running configuration lacks, as commands."""
        if candidate is None:
            raise ValueError("candidate configuration is required to generate diff")
        want = NetworkConfig(indent=INDENT, contents=config_body(candidate))
        stray: list[str] = []
        if running and diff_match != "none":
            have = NetworkConfig(indent=INDENT, contents=config_body(running),
                                 ignore_lines=diff_ignore_lines)
            objects = want.difference(have, path=path, match=diff_match, replace=diff_replace)
            stray = stray_tagged(candidate, running)
        else:
            objects = want.items
        commands = [dumps(objects, "commands")] if objects else []
        return {"config_diff": "\n".join(commands + stray), "banner_diff": {}}

    def edit_config(self, candidate: Any = None, commit: bool = True, replace: Any = None,
                    comment: Any = None) -> dict[str, list[str]]:
        """Send the lines in configuration context; the first refusal fails the task."""
        if not commit:
            raise ValueError("check mode is not supported by edit_config: use get_diff")
        requests: list[str] = []
        responses: list[str] = []
        self.send_command("configure terminal")
        try:
            for line in to_list(candidate):
                command = line["command"] if isinstance(line, dict) else line
                if not command.strip() or command.strip() == "end":
                    continue
                responses.append(self._send_config_line(command.strip()))
                requests.append(command.strip())
        finally:
            self.send_command("end")
        return {"request": requests, "response": responses}

    def _send_config_line(self, command: str) -> str:
        questions, answers = DIALOGS.get(command, (None, None))
        try:
            return self.send_command(command=command, prompt=questions, answer=answers,
                                     newline=False, check_all=bool(questions))
        except AnsibleConnectionFailure as exc:
            # `from None`: Ansible would append the raw exchange to the message.
            raise AnsibleConnectionFailure(refusal(exc, command)) from None

    def get(self, command: str | None = None, prompt: Any = None, answer: Any = None,
            sendonly: bool = False, newline: bool = True, output: Any = None,
            check_all: bool = False) -> Any:
        """Run one command and return its output."""
        if not command:
            raise ValueError("must provide value of command to execute")
        if output:
            raise ValueError(f"'output' value {output} is not supported for get")
        try:
            return self.send_command(command=command, prompt=prompt, answer=answer,
                                     sendonly=sendonly, newline=newline, check_all=check_all)
        except AnsibleConnectionFailure as exc:
            # `from None`: Ansible would append the raw exchange to the message.
            raise AnsibleConnectionFailure(refusal(exc, command)) from None

    def run_commands(self, commands: Any = None, check_rc: bool = True) -> list[Any]:
        """Several commands, their outputs in order."""
        if commands is None:
            raise ValueError("'commands' value is required")
        responses = []
        for command in to_list(commands):
            request = command if isinstance(command, dict) else {"command": command}
            try:
                responses.append(self.get(**request))
            except AnsibleConnectionFailure as exc:
                if check_rc:
                    raise
                responses.append(to_text(exc))
        return responses

    def get_device_operations(self) -> dict[str, bool]:
        """What cli_config may ask of this plugin."""
        return {"supports_diff_replace": True, "supports_commit": False,
                "supports_rollback": False, "supports_defaults": False,
                "supports_onbox_diff": False, "supports_commit_comment": False,
                "supports_multiline_delimiter": False, "supports_diff_match": True,
                "supports_diff_ignore_lines": True, "supports_generate_diff": True,
                "supports_replace": False}

    def get_option_values(self) -> dict[str, list[str]]:
        """The values cli_config's options may take."""
        return {"format": ["text"], "diff_match": ["line", "strict", "exact", "none"],
                "diff_replace": ["line", "block"], "output": []}

    def get_capabilities(self) -> str:
        """The plugin's capabilities as JSON."""
        result = super().get_capabilities()
        result["rpc"] += ["get_diff", "run_commands"]
        result["device_operations"] = self.get_device_operations()
        result.update(self.get_option_values())
        return json.dumps(result)
