"""One login's command shell on a simulated AOS-S switch: contexts and command dispatch.

`Shell.run(line)` takes one command line and answers a `Reply` (lines to print, a
one-key question, or the end of the session); `cli.py` holds the commands' rules and
the manuals they follow. Paging and the one-key answers are the terminal's part
(`terminal.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from provisioner.platforms.aruba_aoss import cli
from provisioner.platforms.aruba_aoss.cli import CliError, Question, Reply, Switch, need
from provisioner.platforms.aruba_aoss.undo import WORDS, undo

Handler = Callable[[list[str], str], Reply | None]
EXEC = ("configure", "end", "enable", "exit", "logout", "no", "page", "show", "terminal",
        "write")
CONFIG = (*EXEC, "hostname", "interface", "ip", "snmp-server", "snmpv3", "sntp",
          "timesync", "vlan")
VLAN = ("end", "exit", "ip", "name", "no", "tagged", "untagged")
ETH = ("disable", "enable", "end", "exit", "name", "no")
SHOWS = ("config", "running-config", "snmpv3", "system", "version", "vlans")
SAME = "Running configuration is same as the startup configuration."
CHANGED = "Running configuration has been changed and needs to be saved."


class Shell:
    """The command shell of one SSH session (its context and paging are its own)."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self.context = "exec"  # exec, config, vlan, eth
        self.index = 0  # the VLAN id or port of a vlan/eth context
        self.paging = True

    @property
    def config(self) -> cli.SwitchConfig:
        """The running configuration."""
        return self.switch.running

    def prompt(self) -> str:
        """The prompt for the current context (`HOST#`, `HOST(vlan-10)#` ...)."""
        name = self.config.hostname[:32]
        suffix = {"exec": "", "config": "(config)", "vlan": f"(vlan-{self.index})",
                  "eth": f"(eth-{self.index})"}[self.context]
        return f"{name}{suffix}# "

    def run(self, line: str) -> Reply:
        """Run one command line; the switch's refusal is printed, never raised."""
        try:
            args = cli.words(line)
            if not args:
                return Reply()
            return self._dispatch(args, line)
        except CliError as exc:
            return Reply(str(exc).split("\n"))

    def _dispatch(self, args: list[str], line: str) -> Reply:
        if self.context in ("vlan", "eth"):
            local = VLAN if self.context == "vlan" else ETH
            if any(k.startswith(args[0].lower()) for k in local):
                word = cli.keyword(args[0], local)
                handled = getattr(self, f"_{self.context}_{word}")(args[1:], line)
                if handled is not None:
                    return handled
        choices = EXEC if self.context == "exec" else CONFIG
        word = cli.keyword(args[0], choices)
        handler: Handler = getattr(self, "_" + word.replace("-", "_"))
        reply = handler(args[1:], line)
        return reply if reply is not None else Reply()

    # --- any context ---------------------------------------------------------------

    def _show(self, args: list[str], line: str) -> Reply:
        need(args, 1, line)
        what = cli.keyword(args[0], SHOWS)
        if what == "running-config":
            return Reply(["Running configuration:", "", *self.config.header(),
                          *self.config.lines(), ""])
        if what == "config" and len(args) > 1:
            cli.keyword(args[1], ("status",))
            return Reply([CHANGED if self.switch.unsaved else SAME])
        if what == "config":
            saved = self.switch.startup or cli.SwitchConfig.factory(self.config.hostname)
            return Reply(["Startup configuration: 1", "", *saved.header(), *saved.lines(), ""])
        if what == "vlans":
            return self._show_vlans(args[1:])
        if what == "snmpv3":
            need(args, 2, line)
            cli.keyword(args[1], ("user",))
            return Reply(cli.snmpv3_user_lines(self.config))
        return Reply(cli.system_lines(self.config) if what == "system" else cli.version_lines())

    def _show_vlans(self, args: Sequence[str]) -> Reply:
        if not args:
            return Reply(cli.vlans_lines(self.config))
        vid = cli.vlan_id(args[0])
        if vid not in self.config.vlans:
            raise CliError(f"VLAN {vid} not found.")
        return Reply(cli.vlan_detail_lines(self.config.vlans[vid]))

    def _write(self, args: list[str], line: str) -> Reply:
        need(args, 1, line)
        cli.keyword(args[0], ("memory",))
        self.switch.save()
        return Reply()

    def _configure(self, args: list[str], line: str) -> Reply:
        if args:
            cli.keyword(args[0], ("terminal",))
        self.context, self.index = "config", 0
        return Reply()

    def _end(self, args: list[str], line: str) -> Reply:
        self.context, self.index = "exec", 0
        return Reply()

    def _enable(self, args: list[str], line: str) -> Reply:
        return Reply()  # the manager level is the highest: nothing to enter

    def _page(self, args: list[str], line: str) -> Reply:
        self.paging = True
        return Reply()

    def _terminal(self, args: list[str], line: str) -> Reply:
        need(args, 2, line)
        cli.keyword(args[0], ("length", "width"))
        if not args[1].isdigit():
            raise CliError(f"Invalid input: {args[1]}")
        return Reply()

    def _exit(self, args: list[str], line: str) -> Reply:
        if self.context in ("vlan", "eth"):
            self.context, self.index = "config", 0
            return Reply()
        if self.context == "config":
            self.context = "exec"
            return Reply()
        return self._logout(args, line)

    def _logout(self, args: list[str], line: str) -> Reply:
        return Reply(question=Question("Do you want to log out [y/n]? ", self._log_out))

    def _log_out(self, key: str) -> Reply:
        if key.lower() != "y":
            return Reply()
        if not self.switch.unsaved:
            return Reply(close=True)
        return Reply(question=Question("Do you want to save current configuration [y/n/^C]? ",
                                       self._save_and_close))

    def _save_and_close(self, key: str) -> Reply:
        if key == "\x03":
            return Reply()
        if key.lower() == "y":
            self.switch.save()
        return Reply(close=True)

    def _no(self, args: list[str], line: str) -> Reply | None:
        need(args, 1, line)
        if cli.keyword(args[0], ("page",) if self.context == "exec" else ("page", *WORDS)) \
                == "page":
            self.paging = False
            return Reply()
        undo(self.config, args, line)
        return Reply()

    # --- config context -----------------------------------------------------------

    def _hostname(self, args: list[str], line: str) -> Reply:
        need(args, 1, line)
        self.config.hostname = cli.checked_name(args[0])
        return Reply()

    def _vlan(self, args: list[str], line: str) -> Reply:
        need(args, 1, line)
        vid = cli.vlan_id(args[0])
        existed = vid in self.config.vlans
        cli.new_vlan(self.config, vid)
        if len(args) == 1:
            self.context, self.index = "vlan", vid
            return Reply()
        try:  # `vlan N name X` and the like: a refused setting makes no VLAN either
            word = cli.keyword(args[1], ("name", "tagged", "untagged"))
            getattr(self, f"_vlan_{word}")(args[2:], line, vid)
        except CliError:
            if not existed:
                self.config.vlans.pop(vid)
            raise
        return Reply()

    def _interface(self, args: list[str], line: str) -> Reply:
        need(args, 1, line)
        ports = cli.parse_ports(args[0])
        if len(ports) != 1:
            raise CliError(f"Invalid input: {args[0]}")
        self.context, self.index = "eth", ports.pop()
        return Reply()

    def _ip(self, args: list[str], line: str) -> Reply:
        need(args, 2, line)
        cli.keyword(args[0], ("default-gateway",))
        self.config.default_gateway = cli.host_address(args[1])
        return Reply()

    def _timesync(self, args: list[str], line: str) -> Reply:
        need(args, 1, line)
        self.config.timesync = cli.keyword(args[0], ("sntp", "timep", "ntp"))
        return Reply()

    def _sntp(self, args: list[str], line: str) -> Reply:
        need(args, 1, line)
        word = cli.keyword(args[0], ("unicast", "server"))
        if word == "unicast":
            self.config.sntp_unicast = True
            return Reply()
        need(args, 4, line)
        cli.keyword(args[1], ("priority",))
        if not args[2].isdigit() or not 1 <= int(args[2]) <= 3:
            raise CliError(f"Invalid input: {args[2]}")
        self.config.sntp_servers[int(args[2])] = cli.host_address(args[3])
        return Reply()

    def _snmp_server(self, args: list[str], line: str) -> Reply:
        need(args, 2, line)
        word = cli.keyword(args[0], ("contact", "location"))
        setattr(self.config, word, " ".join(args[1:])[:255])
        return Reply()

    def _snmpv3(self, args: list[str], line: str) -> Reply:
        need(args, 1, line)
        word = cli.keyword(args[0], ("enable", "group", "user"))
        if word == "user":
            cli.snmpv3_user(self.config, args[1:], line)
        elif word == "group":
            cli.snmpv3_group(self.config, args[1:], line)
        elif not self.config.snmpv3_enabled:
            return self._snmpv3_initialise()
        return Reply()

    def _snmpv3_initialise(self) -> Reply:
        """The dialog `snmpv3 enable` opens the first time (Management and Configuration
        Guide, "SNMPv3 enable"): it makes the user `initial` and asks two questions."""
        self.config.snmpv3_enabled = True
        self.config.snmpv3_users.setdefault("initial", ("MD5", "CBC DES"))
        restrict = Question("Would you like to restrict SNMPv1 and SNMPv2c messages to have "
                            "read only\n access (you can set this later by the command "
                            "'snmp restrict-access')? [y/n] ", lambda key: Reply())

        def sha_user(key: str) -> Reply:
            return Reply(["", "User creation is done.  SNMPv3 is now functional."],
                         question=restrict)

        return Reply(["SNMPv3 Initialization process.", "Creating user 'initial'",
                      "Authentication Protocol: MD5", "Privacy protocol is DES",
                      "User 'initial' has been created"],
                     question=Question("Would you like to create a user that uses SHA? [y/n] ",
                                       sha_user))

    # --- vlan context ---------------------------------------------------------------

    def _vlan_name(self, args: list[str], line: str, vid: int = 0) -> Reply:
        need(args, 1, line)
        self.config.vlans[vid or self.index].name = cli.checked_name(" ".join(args))
        return Reply()

    def _vlan_untagged(self, args: list[str], line: str, vid: int = 0) -> Reply:
        vid = vid or self.index
        self.config.set_untagged(vid, cli.port_arg(self.config, vid, args, line))
        return Reply()

    def _vlan_tagged(self, args: list[str], line: str, vid: int = 0) -> Reply:
        vid = vid or self.index
        self.config.set_tagged(vid, cli.port_arg(self.config, vid, args, line))
        return Reply()

    def _vlan_ip(self, args: list[str], line: str) -> Reply | None:
        if not args or not "address".startswith(args[0].lower()):
            return None  # `ip default-gateway` and the like: the global command
        need(args, 2, line)
        self.config.vlans[self.index].address = cli.address(args[1:])
        return Reply()

    def _vlan_no(self, args: list[str], line: str) -> Reply | None:
        if not args or not any(k.startswith(args[0].lower()) for k in ("untagged", "tagged",
                                                                          "ip")):
            return None
        word = cli.keyword(args[0], ("untagged", "tagged", "ip"))
        if word == "ip":
            self.config.vlans[self.index].address = ""
        elif word == "untagged":
            self.config.drop_untagged(self.index, cli.port_arg(self.config, self.index,
                                                              args[1:], line))
        else:
            self.config.drop_tagged(self.index, cli.port_arg(self.config, self.index,
                                                            args[1:], line))
        return Reply()

    def _vlan_exit(self, args: list[str], line: str) -> Reply:
        return self._exit(args, line)

    def _vlan_end(self, args: list[str], line: str) -> Reply:
        return self._end(args, line)

    # --- interface context ----------------------------------------------------------

    def _eth_name(self, args: list[str], line: str) -> Reply:
        need(args, 1, line)
        self.config.port_names[self.index] = cli.checked_name(" ".join(args))
        return Reply()

    def _eth_no(self, args: list[str], line: str) -> Reply | None:
        if not args or not "name".startswith(args[0].lower()):
            return None
        self.config.port_names.pop(self.index, None)
        return Reply()

    def _eth_enable(self, args: list[str], line: str) -> Reply:
        return Reply()  # ports are always enabled in the simulation

    def _eth_disable(self, args: list[str], line: str) -> Reply:
        raise CliError("Disabling ports is not emulated by the lab switch.")

    def _eth_exit(self, args: list[str], line: str) -> Reply:
        return self._exit(args, line)

    def _eth_end(self, args: list[str], line: str) -> Reply:
        return self._end(args, line)
