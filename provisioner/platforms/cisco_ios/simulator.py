"""Fixes to fake-switches' Cisco IOS CLI so real tools (netmiko, Ansible cisco.ios) work.

fake-switches 1.5.0 lacks `end`, `show privilege`, `show startup-config`, `vtp mode`
and a working `copy running-config startup-config` (it crashes the session); it accepts
an empty enable password, answers unknown commands in a non-IOS way and lets any
command that raises drop the SSH session. The subclasses here keep its model of
VLANs and ports and fix only the dialogue around it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fake_switches.cisco.cisco_core import Cisco2960_48TT_L_SwitchCore, CiscoShellSession
from fake_switches.cisco.command_processor.config import ConfigCommandProcessor
from fake_switches.cisco.command_processor.config_interface import (
    ConfigInterfaceCommandProcessor,
)
from fake_switches.cisco.command_processor.config_vlan import ConfigVlanCommandProcessor
from fake_switches.cisco.command_processor.config_vrf import ConfigVRFCommandProcessor
from fake_switches.cisco.command_processor.default import DefaultCommandProcessor
from fake_switches.cisco.command_processor.enabled import EnabledCommandProcessor
from fake_switches.cisco.command_processor.piping import PipingProcessor
from fake_switches.switch_configuration import SwitchConfiguration
from fake_switches.terminal import LoggingTerminalController, NoopTerminalController

INVALID_INPUT = "% Invalid input detected at '^' marker."
NVRAM_BYTES = 524288  # what a 2960's `show startup-config` reports as capacity
# `show` subcommands the stock processor implements; it prints nothing for others.
_STOCK_SHOWS = ("running-config", "vlan", "etherchannel", "ip", "version")


class StartupConfig:
    """The saved configuration of one switch, kept in a file so it survives a restart."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lines: list[str] | None = None
        if path is not None and path.is_file():
            self.lines = path.read_text(encoding="utf-8").splitlines()

    def save(self, lines: Sequence[str]) -> None:
        """Replace the saved configuration (atomically on disk)."""
        self.lines = list(lines)
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def erase(self) -> None:
        """Forget the saved configuration (`write erase`)."""
        self.lines = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class _Capture(NoopTerminalController):
    """A terminal that keeps what is written, to turn `show run` into saved lines."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)


class GlobalConfig:
    """Global settings the fake does not model: default gateway, NTP, SNMP.

    Rendered into `show running-config` where a Catalyst puts them (after the
    interfaces, before `end`). SNMPv3 users are kept apart, as IOS does: they never
    appear in the running configuration and their passphrases are not kept at all
    (the simulator does not answer SNMP itself; snmpsim does, from a recording).
    """

    def __init__(self) -> None:
        self.default_gateway: str | None = None
        self.vtp_mode: str | None = None  # shown when not the default (server), as IOS does
        self.ntp_servers: list[str] = []
        self.snmp: dict[str, str] = {}  # "view NAME", "group NAME", "location", ... -> line
        self.snmp_users: dict[str, dict[str, str]] = {}

    def running_lines(self) -> list[str]:
        """The lines of `show running-config` these settings make, in IOS order."""
        lines = [f"vtp mode {self.vtp_mode}", "!"] if self.vtp_mode else []
        if self.default_gateway:
            lines += [f"ip default-gateway {self.default_gateway}", "!"]
        lines += [self.snmp[key] for key in sorted(self.snmp)]
        lines += [f"ntp server {server}" for server in self.ntp_servers]
        return lines

    def set_snmp(self, args: Sequence[str]) -> bool:
        """`snmp-server ...`; False when IOS would refuse the line."""
        if not args:
            return False
        kind = args[0]
        if kind == "user" and len(args) >= 4 and args[3] == "v3":
            self.snmp_users[args[1]] = _snmp_user(args)
        elif kind in ("view", "group") and len(args) >= 3:
            self.snmp[f"{kind} {args[1]}"] = "snmp-server " + " ".join(args)
        elif kind in ("location", "contact") and len(args) >= 2:
            self.snmp[kind] = "snmp-server " + " ".join(args)
        else:
            return False
        return True

    def unset_snmp(self, args: Sequence[str]) -> None:
        """`no snmp-server ...`."""
        if args and args[0] == "user" and len(args) >= 2:
            self.snmp_users.pop(args[1], None)
        elif args and args[0] in ("view", "group") and len(args) >= 2:
            self.snmp.pop(f"{args[0]} {args[1]}", None)
        elif args:
            self.snmp.pop(args[0], None)


def _snmp_user(args: Sequence[str]) -> dict[str, str]:
    """`user NAME GROUP v3 [auth sha X [priv aes 128 Y]]` -> group and protocols only."""
    words = list(args)
    auth = words[words.index("auth") + 1].upper() if "auth" in words else ""
    priv = ""
    if "priv" in words:
        at = words.index("priv")
        priv = words[at + 1].upper()
        if priv == "AES" and len(words) > at + 2 and words[at + 2].isdigit():
            priv += words[at + 2]
    return {"group": words[2], "auth": auth or "None", "priv": priv or "None"}


class _Section:
    """`| section REGEX`: top-level lines matching REGEX with their indented children."""

    def __init__(self, pattern: str) -> None:
        self.regex = re.compile(pattern)
        self.inside = False

    def pipe(self, data: str) -> str | bool:
        kept = []
        for line in data.splitlines(keepends=True):
            if line.strip() and not line[0].isspace():
                self.inside = self.regex.search(line) is not None
            if self.inside:
                kept.append(line)
        return "".join(kept) or False


class CompatPipingProcessor(PipingProcessor):
    """Adds `| section` to the stock `| include` and `| begin`."""

    def do_section(self, *args: str) -> _Section:
        """Start a section filter."""
        return _Section(" ".join(args))


class CompatConfigProcessor(ConfigCommandProcessor):
    """Global config mode with `end` (from any sub-mode), default gateway, NTP and SNMP."""

    def __init__(self, settings: GlobalConfig, **processors: Any) -> None:
        super().__init__(**processors)
        self.settings = settings

    def do_end(self) -> None:
        """Leave configuration mode; sub-modes pass `end` up to here."""
        self.is_done = True

    def do_ip(self, cmd: str, *args: str) -> None:
        """`ip default-gateway ADDR`; `ip vrf`/`ip route` go to the stock code."""
        if "default-gateway".startswith(cmd) and len(cmd) >= 3 and len(args) == 1:
            self.settings.default_gateway = args[0]
        else:
            super().do_ip(cmd, *args)

    def do_no_ip(self, cmd: str, *args: str) -> None:
        """`no ip default-gateway`; the rest as the stock code does it."""
        if "default-gateway".startswith(cmd) and len(cmd) >= 3:
            self.settings.default_gateway = None
        else:
            super().do_no_ip(cmd, *args)

    def do_vtp(self, *args: str) -> None:
        """`vtp mode transparent|server|client|off` (the fake keeps VLANs either way)."""
        if len(args) == 2 and args[0] == "mode" and args[1] in ("transparent", "client",
                                                                 "server", "off"):
            self.settings.vtp_mode = None if args[1] == "server" else args[1]
        else:
            self.write_line(INVALID_INPUT)

    def do_ntp(self, *args: str) -> None:
        """`ntp server ADDR`."""
        if len(args) == 2 and args[0] == "server":
            if args[1] not in self.settings.ntp_servers:
                self.settings.ntp_servers.append(args[1])
        else:
            self.write_line(INVALID_INPUT)

    def do_no_ntp(self, *args: str) -> None:
        """`no ntp server ADDR`."""
        if len(args) == 2 and args[0] == "server" and args[1] in self.settings.ntp_servers:
            self.settings.ntp_servers.remove(args[1])

    def do_snmp_server(self, *args: str) -> None:
        """`snmp-server view|group|user|location|contact ...`."""
        if not self.settings.set_snmp(args):
            self.write_line(INVALID_INPUT)

    def do_no_snmp_server(self, *args: str) -> None:
        """`no snmp-server ...`."""
        self.settings.unset_snmp(args)


class CompatEnabledProcessor(EnabledCommandProcessor):
    """Privileged EXEC mode with `show privilege`, startup-config and saving."""

    terminal_controller: Any  # set by the stock init()

    def __init__(self, config: CompatConfigProcessor, startup: StartupConfig) -> None:
        super().__init__(config)
        self.startup = startup
        self.settings = config.settings

    def do_end(self) -> None:
        """`end` outside config mode does nothing (tools send it to be sure)."""

    def do_show(self, *args: str) -> None:
        """`show ...`: the stock subcommands plus privilege and startup-config."""
        if args and "privilege".startswith(args[0]) and len(args[0]) >= 4:
            self.write_line("Current privilege level is 15")
        elif args and "startup-config".startswith(args[0]) and len(args[0]) >= 3:
            self._show_startup()
        elif len(args) == 2 and "vlan".startswith(args[0]) and "brief".startswith(args[1]):
            self._show_vlan(brief=True)
        elif len(args) == 1 and "vlan".startswith(args[0]):
            self._show_vlan(brief=False)
        elif len(args) >= 2 and args[0] == "snmp" and "user".startswith(args[1]):
            self._show_snmp_users(args[2] if len(args) > 2 else None)
        elif args and any(show.startswith(args[0]) for show in _STOCK_SHOWS):
            super().do_show(*args)
        else:
            # Real IOS refuses what it does not know; silence would hide typos in tests.
            self.write_line(INVALID_INPUT)

    def _show_startup(self) -> None:
        if self.startup.lines is None:
            self.write_line("startup-config is not present")
            return
        size = len("\n".join(self.startup.lines)) + 1
        self.write_line(f"Using {size} out of {NVRAM_BYTES} bytes")
        for line in self.startup.lines:
            self.write_line(line)

    def _show_vlan(self, brief: bool) -> None:
        """`show vlan [brief]` as IOS prints it: trunk ports are no VLAN's members.

        The stock fake lists a trunk under VLAN 1 (its access VLAN is unset); a real
        switch shows trunks in `show interfaces trunk` only.
        """
        capture = _Capture()
        terminal: Any = self.terminal_controller
        self.terminal_controller = capture
        trunks = [port for port in self.switch_configuration.get_physical_ports()
                  if port.mode == "trunk"]
        saved = [(port, port.access_vlan) for port in trunks]
        try:
            # A trunk's access VLAN set to one no VLAN has keeps it out of every list.
            for port in trunks:
                port.access_vlan = -1
            EnabledCommandProcessor.do_show(self, "vlan", *(["brief"] if brief else []))
        finally:
            for port, vlan in saved:
                port.access_vlan = vlan
            self.terminal_controller = terminal
        self.write("".join(capture.parts))

    def _show_snmp_users(self, name: str | None) -> None:
        """As IOS prints `show snmp user [NAME]` (the engine ID is the switch's own)."""
        for user, info in sorted(self.settings.snmp_users.items()):
            if name is not None and user != name:
                continue
            self.write_line(f"User name: {user}")
            engine = "800000090300" + _engine_suffix(self.switch_configuration.name)
            self.write_line(f"Engine ID: {engine}")
            self.write_line("storage-type: nonvolatile\t active")
            self.write_line(f"Authentication Protocol: {info['auth']}")
            self.write_line(f"Privacy Protocol: {info['priv']}")
            self.write_line(f"Group-name: {info['group']}")
            self.write_line("")

    def show_run(self) -> None:
        """`show running-config`: the stock text plus the global settings before `end`."""
        capture = _Capture()
        terminal: Any = self.terminal_controller
        self.terminal_controller = capture
        try:
            EnabledCommandProcessor.show_run(self)
        finally:
            self.terminal_controller = terminal
        lines = "".join(capture.parts).splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith("version ")), 0)
        body = lines[start:]
        end = len(body) - 1 - body[::-1].index("end") if "end" in body else len(body)
        body[end:end] = self.settings.running_lines() + (["!"] if self.settings.running_lines()
                                                          else [])
        self.write_line("Building configuration...")
        self.write_line("")
        self.write_line(f"Current configuration : {len(chr(10).join(body)) + 1} bytes")
        for line in body:
            self.write_line(line)

    def do_copy(self, source: str = "", destination: str = "", *rest: str) -> None:
        """`copy running-config startup-config`; other copies go to the stock (tftp) code."""
        if source.startswith("run") and destination.startswith("start"):
            self.write("Destination filename [startup-config]? ")
            self.continue_to(self._continue_copy)
        elif source and ":" in destination:
            super().do_copy(source, destination)
        else:
            self.write_line(INVALID_INPUT)

    def _continue_copy(self, _answer: str) -> None:
        self._save()

    def do_write(self, *args: str) -> None:
        """`write [memory]` saves, `write erase` forgets the startup-config."""
        if args and "erase".startswith(args[0]):
            self.startup.erase()
            self.write_line("Erasing the nvram filesystem will remove all configuration files!")
            self.write_line("[OK]")
        elif not args or "memory".startswith(args[0]):
            self._save()
        else:
            self.write_line(INVALID_INPUT)

    def _save(self) -> None:
        self.write_line("Building configuration...")
        self.startup.save(self.running_config())
        self.switch_configuration.commit()
        self.write_line("[OK]")

    def running_config(self) -> list[str]:
        """The running configuration as `show running-config` prints it, without header."""
        capture = _Capture()
        terminal: Any = self.terminal_controller
        self.terminal_controller = capture
        try:
            # The same renderer as `show run`, so the saved text never drifts from it.
            self.show_run()
        finally:
            self.terminal_controller = terminal
        lines = "".join(capture.parts).splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith("version ")), 0)
        return lines[start:]


class CompatDefaultProcessor(DefaultCommandProcessor):
    """User EXEC mode: a real enable password check and what tools send before `enable`."""

    def __init__(self, enabled: CompatEnabledProcessor, enable_password: str) -> None:
        super().__init__(enabled)
        self._enable_password = enable_password.encode("utf-8")

    def continue_enabling(self, line: str) -> None:
        """Check the enable password (the stock code compared str with bytes, or took "")."""
        self.replace_input = False
        if line and hmac.compare_digest(line.encode("utf-8"), self._enable_password):
            self.move_to(self.enabled_processor)
        else:
            self.write_line("% Access denied")
            self.write_line("")

    def do_terminal(self, *args: str) -> None:
        """`terminal length 0` / `terminal width N`: accepted, the fake never pages."""

    def do_show(self, *args: str) -> None:
        """Only `show privilege` exists before `enable`."""
        if args and "privilege".startswith(args[0]) and len(args[0]) >= 4:
            self.write_line("Current privilege level is 1")
        else:
            self.write_line(INVALID_INPUT)

    def do_exit(self) -> None:
        """Log out."""
        self.is_done = True


class CompatShellSession(CiscoShellSession):
    """Answers unknown commands like IOS and survives commands that crash the fake."""

    def receive(self, line: str) -> bool:
        """Process one line; a failing command gets an IOS error instead of a hang-up."""
        try:
            return bool(super().receive(line))
        except Exception:
            self.command_processor.logger.exception("command failed in the simulator")
            self.handle_unknown_command(line)
            self.command_processor.show_prompt()
            return True

    def handle_unknown_command(self, line: str) -> None:
        """Write the IOS error (tools look for '% Invalid input')."""
        self.command_processor.terminal_controller.write(f"{INVALID_INPUT}\n")


class CompatCiscoCore(Cisco2960_48TT_L_SwitchCore):
    """A Cisco 2960-48TT-L whose CLI goes through the compatibility processors above."""

    def __init__(self, name: str, enable_password: str, startup: StartupConfig) -> None:
        conf = SwitchConfiguration(
            "127.0.0.1",
            name=name,
            privileged_passwords=[],  # unused: CompatDefaultProcessor checks the password
            ports=Cisco2960_48TT_L_SwitchCore.get_default_ports(),
        )
        # Set before the stock init, which builds the first command processor.
        self.settings = GlobalConfig()
        super().__init__(conf)
        self._enable_password = enable_password
        self.startup = startup

    def new_command_processor(self) -> CompatEnabledProcessor:
        """The privileged EXEC processor with its config sub-modes."""
        config = CompatConfigProcessor(
            self.settings,
            config_vlan=ConfigVlanCommandProcessor(),
            config_vrf=ConfigVRFCommandProcessor(),
            config_interface=ConfigInterfaceCommandProcessor(),
        )
        return CompatEnabledProcessor(config, self.startup)

    def launch(self, protocol: str, terminal_controller: Any) -> CompatShellSession:
        """Start a CLI session in user EXEC mode (called per SSH login)."""
        self.last_connection_id += 1
        self.logger = logging.getLogger(
            f"fake_switches.cisco.{self.switch_configuration.name}."
            f"{self.last_connection_id}.{protocol}"
        )
        processor = CompatDefaultProcessor(self.new_command_processor(), self._enable_password)
        processor.init(
            self.switch_configuration,
            LoggingTerminalController(self.logger, terminal_controller),
            self.logger,
            CompatPipingProcessor(self.logger),
        )
        return CompatShellSession(processor)

    def restore_startup_config(self) -> int:
        """Apply the saved configuration to the fresh running one, as a reload would.

        Returns:
            The number of lines applied (0 if nothing was saved).
        """
        lines = self.startup.lines or []
        if not lines:
            return 0
        logger = logging.getLogger(f"fake_switches.cisco.{self.switch_configuration.name}.boot")
        processor = self.new_command_processor()
        processor.init(
            self.switch_configuration, NoopTerminalController(), logger, PipingProcessor(logger)
        )
        processor.process_command("configure terminal")
        for line in lines:
            config = processor.sub_processor
            if line[:1] not in (" ", "!") and config is not None and config.sub_processor:
                # A top-level line ends an interface/vlan block, as on IOS; else the
                # block's own processor would take `ntp ...` or `ip ...` for itself.
                processor.process_command("exit")
            # Lines the fake cannot model (version, hostname) are skipped, as IOS
            # would skip unknown ones at boot.
            processor.process_command(line)
        return len(lines)


def _engine_suffix(name: str) -> str:
    """A stable per-switch tail for the SNMP engine ID (IOS derives it from a MAC)."""
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:12].upper()
