"""Ansible terminal plugin for HPE Aruba AOS-S (ProCurve, ArubaOS-Switch 16.x).

Loaded by `ansible.netcommon.network_cli` for `ansible_network_os: aruba_aoss` from the
folder `provisioner.ansible` hands to Ansible (ANSIBLE_TERMINAL_PLUGINS). What it knows
of the switch (HPE ArubaOS-Switch 16.11 Basic Operation Guide; captured 2530 sessions):
the prompts `HOST#` (manager level, where a manager login lands), `HOST(config)#`,
`HOST(vlan-10)#`, `HOST(eth-5)#`; the "Press any key to continue" after the login
banner; paging, switched off per session with `no page`; VT100 codes around prompts
and pager lines; and the switch's refusals ("Invalid input: X", "Incomplete input:",
"Ambiguous input:", "Module not present for port or invalid port: X", "... too long.
Allowed length is N characters.").
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleConnectionFailure
from ansible_collections.ansible.netcommon.plugins.plugin_utils.terminal_base import (
    TerminalBase,
)

# The switch's own refusals, each a line of its output.
ERRORS = (
    rb"Invalid input: [^\r\n]*",
    rb"Incomplete input: [^\r\n]*",
    rb"Ambiguous input: [^\r\n]*",
    rb"Module not present for port or invalid port: [^\r\n]*",
    rb"String [^\r\n]* too long\. Allowed length is [^\r\n]*",
    rb"VLAN \d+ not found\.",
    rb"The Default VLAN cannot be deleted\.",
    rb"Maximum number of VLANs \(\d+\) has been reached\.",
    rb"[^\r\n]* is not emulated by the lab switch\.",
)


class TerminalModule(TerminalBase):
    """AOS-S prompts, refusals and session set-up."""

    terminal_stdout_re = [
        re.compile(rb"[\r\n]?[\w+\-.:/\[\]]+(?:\([\w\-]+\))?# ?$"),
        # The legend after login waits for a key before the first prompt.
        re.compile(rb"Press any key to continue$"),
    ]
    terminal_stderr_re = [re.compile(pattern) for pattern in ERRORS]
    terminal_config_prompt = re.compile(r"^.+\([\w\-]+\)# ?$")
    # VT100 codes AOS-S writes around prompts and the pager line (erase line, cursor).
    ansi_re = [*TerminalBase.ansi_re, re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")]

    def on_open_shell(self) -> None:
        """Answer "Press any key to continue", then switch paging off for this session."""
        try:
            self._exec_cli_command(b"")
            self._exec_cli_command(b"no page")
        except AnsibleConnectionFailure as exc:
            raise AnsibleConnectionFailure(f"unable to set up the AOS-S session: {exc}") from exc
