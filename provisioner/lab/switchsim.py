"""The switch simulator process: every simulated IOS switch of a lab in one Twisted reactor.

Started by `start_simulators` as `python -m provisioner.lab.switchsim --config FILE`.
Each switch gets a listening socket made inside its own network namespace (so
it answers on its lab address, port 22), its own host key and its own
fake-switches core with the compatibility layer. State lives in memory; what
`write memory` saves is kept in a file and applied again at the next start.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fake_switches.transports.ssh_service import SSHDemoRealm
from twisted.conch.ssh import factory, keys
from twisted.cred import checkers, portal
from twisted.internet import reactor as _twisted_reactor
from twisted.logger import STDLibLogObserver, globalLogBeginner

from provisioner.errors import LabError
from provisioner.lab.credentials import read_secret
from provisioner.lab.netns_socket import tcp_listener
from provisioner.lab.simconfig import SwitchSimConfig, SwitchSpec, read_switch_config
from provisioner.platforms.cisco_ios.simulator import CompatCiscoCore, StartupConfig

log = logging.getLogger("provisioner.lab.switchsim")

# The SSH factories `serve` made, in the order of the config's switches (the runner
# gives them new host keys on SIGHUP).
FACTORIES: list[Any] = []
# Twisted types its reactor and factories through zope interfaces, which mypy
# cannot follow without the mypy-zope plugin: they are untyped here.
reactor: Any = _twisted_reactor


def ssh_factory(
    core: CompatCiscoCore, username: str, password: str, host_key: keys.Key
) -> factory.SSHFactory:
    """An SSH server factory for one switch: password login, one host key, the IOS shell."""
    ssh: Any = factory.SSHFactory()
    ssh.portal = portal.Portal(SSHDemoRealm(core))
    # Twisted calls this checker "DontUse" because it holds the password in plain
    # memory; the simulator holds it there anyway, for the enable check.
    ssh.portal.registerChecker(
        checkers.InMemoryUsernamePasswordDatabaseDontUse(**{username: password.encode("utf-8")})
    )
    key_type = host_key.sshType()
    ssh.publicKeys = {key_type: host_key.public()}
    ssh.privateKeys = {key_type: host_key}
    return ssh


def _factory(spec: SwitchSpec, username: str, password: str,
             host_key: keys.Key) -> tuple[factory.SSHFactory, str]:
    """The switch's SSH factory for its platform, and a note on what it restored."""
    if spec.platform == "aruba_aoss":
        from provisioner.platforms.aruba_aoss.simulator import boot
        from provisioner.platforms.aruba_aoss.simulator import ssh_factory as aoss_factory

        saved = Path(spec.startup_config).is_file()
        switch = boot(spec.name, Path(spec.startup_config))
        note = "saved configuration" if saved else "factory configuration"
        return aoss_factory(switch, username, password, host_key), note
    core = CompatCiscoCore(spec.name, password, StartupConfig(Path(spec.startup_config)))
    restored = core.restore_startup_config()
    return ssh_factory(core, username, password, host_key), f"{restored} startup-config lines"


def _serve_switch(spec: SwitchSpec, username: str, password: str) -> None:
    host_key = keys.Key.fromFile(spec.host_key)
    ssh, restored = _factory(spec, username, password, host_key)
    FACTORIES.append(ssh)
    try:
        sock = tcp_listener(spec.netns, spec.address, spec.port)
    except OSError as exc:
        raise LabError(
            f"{spec.name}: cannot listen on {spec.address}:{spec.port} in {spec.netns} "
            f"({exc}); check the device's namespace with 'ip netns list'"
        ) from exc
    try:
        # adoptStreamPort duplicates the descriptor; ours is closed right after.
        reactor.adoptStreamPort(sock.fileno(), socket.AF_INET, ssh)
    finally:
        sock.close()
    log.info("%s (%s) listening on %s:%d in %s (%s applied)", spec.name, spec.platform,
             spec.address, spec.port, spec.netns, restored)


def _write_ready(path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{os.getpid()}\n", encoding="utf-8")
    os.replace(tmp, path)


def serve(config: SwitchSimConfig) -> None:
    """Bind every switch, mark the process ready, and run until SIGTERM.

    Raises:
        LabError: the password cannot be read, or a switch cannot listen in its namespace.
        OSError, keys.BadKeyError: a host key or saved config cannot be read.
    """
    password = read_secret(Path(config.password_file))
    for spec in config.switches:
        _serve_switch(spec, config.username, password)
    _write_ready(Path(config.ready_file))
    log.info("%d switches ready", len(config.switches))
    # The reactor's own SIGTERM/SIGINT handlers stop it cleanly.
    reactor.run()


def _setup_logging() -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # fake-switches logs every received line at DEBUG and unknown lines at INFO;
    # either could carry a password typed at the wrong moment.
    logging.getLogger("fake_switches").setLevel(logging.WARNING)
    observer: Any = STDLibLogObserver()
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the simulator process; its log is stderr (a file the caller picks)."""
    parser = argparse.ArgumentParser(prog="python -m provisioner.lab.switchsim")
    parser.add_argument(
        "--config", type=Path, required=True, help="config file written by start_simulators"
    )
    args = parser.parse_args(argv)
    _setup_logging()
    try:
        serve(read_switch_config(args.config))
    except (LabError, OSError, keys.BadKeyError) as exc:
        log.error("switch simulator failed: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
