"""How one network OS's CLI behaves, for `cli_session.SwitchSession` (no netmiko here).

A platform (provisioner/platforms/) declares its dialect; the session reads it to pick
netmiko's driver and to recognise the OS's refusals, so one session class serves every
CLI-managed switch platform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CliDialect:
    """One network OS's CLI as a session sees it.

    Attributes:
        name: the OS, for messages ("Cisco IOS", "HPE Aruba AOS-S").
        device_type: netmiko's driver name (`cisco_ios`, `hp_procurve`).
        error: what the OS prints when it refuses a command (matched per line).
        enable: whether the login lands below privileged mode and `enable` is needed.
        save_command: the command that writes the running to the startup configuration.
        save_confirmation: text the OS prints after a successful save ("" when it prints
            nothing and only an error would say otherwise).
    """

    name: str
    device_type: str
    error: re.Pattern[str]
    enable: bool = True
    save_command: str = "write memory"
    save_confirmation: str = ""


IOS = CliDialect(
    "Cisco IOS", "cisco_ios",
    re.compile(r"^% ?(Invalid input|Incomplete command|Ambiguous command|Unknown command).*$",
               re.MULTILINE),
    enable=True, save_confirmation="[OK]")
