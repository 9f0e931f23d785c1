"""The SNMP responder process: snmpsim answering every lab device inside its own namespace.

Started by `start_simulators` as `python -m provisioner.lab.snmpsim_runner --config FILE`.
It runs snmpsim 1.2.2's own command responder with three adjustments made here:

- each `--agent-udpv4-endpoint` socket is created and bound inside the device's
  network namespace (snmpsim would bind in ours, where the address does not exist),
  and handed to its asyncio UDP transport ready-made;
- the SNMPv3 passphrases reach snmpsim through this process's own `sys.argv`,
  never the real command line (`ps` shows that to every user);
- the ready marker is written once everything is indexed and bound, right before
  snmpsim drops root for good;
- it works from its data set's folder, given relative paths (provisioner/lab/snmpdata.py
  says why).

`python -m provisioner.lab.snmpsim_runner --index DATA_DIR INDEX_DIR` only builds
snmpsim's index of a data set, the way the responder will look it up;
`python -m provisioner.lab.snmpsim_runner --responder ARGS...` runs snmpsim's responder
with its own ARGS, after the same imports (`provisioner.snmp.agent.SnmpsimAgent`).

As root snmpsim insists on dropping to an unprivileged account; the Python and the
project's venv may sit in a directory that account cannot read (under /root, or a
clone in a `mktemp -d` folder), so every module it would import lazily after the
drop is imported first, and every USM cipher is run once (it imports its backend on
first use).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snmpsim import confdir, daemon, datafile
from snmpsim import endpoints as snmpsim_endpoints
from snmpsim.commands import responder
from snmpsim.error import SnmpsimError

from provisioner.errors import LabError
from provisioner.lab.credentials import read_secret
from provisioner.lab.netns_socket import udp_socket
from provisioner.lab.simconfig import SnmpEndpoint, SnmpSimConfig, read_snmp_config
from provisioner.lab.topology import NETNS_PREFIX
from provisioner.snmp.pysnmp_backend import warm_up_usm

# Imported lazily after the privilege drop, each found missing by serving v1, v2c
# and v3 GET/GETNEXT/GETBULK/SET and refused requests as `nobody`: the dbm backend
# of snmpsim's index (whichever this Python has) and the codec its records use.
_PRELOAD = ("dbm", "dbm.gnu", "dbm.ndbm", "dbm.dumb", "encodings.latin_1")


def _preload_modules() -> None:
    for name in _PRELOAD:
        # Not every Python is built with every dbm backend; snmpsim uses what exists.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    # pysnmp's ciphers reach cryptography's OpenSSL backend only on first use, which
    # imports a dozen modules: without this every authPriv request failed after the
    # drop (ModuleNotFoundError) and no device answered.
    warm_up_usm()


def _bind_in_namespaces(endpoints: Sequence[SnmpEndpoint]) -> None:
    """Make snmpsim open each endpoint with a socket bound inside its device's namespace."""
    where = {f"{e.address}:{e.port}": e for e in endpoints}
    # The transport class snmpsim itself uses (pysnmp's asyncio UDP transport).
    transport_class = snmpsim_endpoints.udp.UdpTransport

    def add_endpoint(_self: Any, addr: str) -> tuple[Any, str]:
        endpoint = where[addr]
        try:
            sock = udp_socket(endpoint.netns, endpoint.address, endpoint.port)
        except OSError as exc:
            raise LabError(
                f"{endpoint.netns}: cannot bind UDP {addr} ({exc}); "
                "check the device's namespace with 'ip netns list'"
            ) from exc
        return transport_class().open_server_mode(sock=sock), addr

    snmpsim_endpoints.IPv4TransportEndpoints._addEndpoint = add_endpoint


def _mark_ready_before_final_drop(ready_file: Path) -> None:
    """Write the ready marker when snmpsim enters its final privilege drop (then it serves)."""
    base: Any = daemon.PrivilegesOf

    class ReadyThenDrop(base):
        def __init__(self, uname: str, gname: str, final: bool = False) -> None:
            super().__init__(uname, gname, final)
            self._mark_ready = final

        def __enter__(self) -> None:
            if self._mark_ready:
                # Written while still root: the lab dir may be out of the account's reach.
                tmp = ready_file.with_name(ready_file.name + ".tmp")
                tmp.write_text(f"{os.getpid()}\n", encoding="utf-8")
                os.replace(tmp, ready_file)
            super().__enter__()

    daemon.PrivilegesOf = ReadyThenDrop


def _checked(secret: str, what: str) -> str:
    # snmpsim splits its options at every "=" and needs 8+ characters.
    if len(secret) < 8 or "=" in secret or any(ch.isspace() for ch in secret):
        raise LabError(
            f"the SNMPv3 {what} passphrase must be 8+ characters without '=' or spaces; "
            "fix the credential file and run 'provision lab up' again"
        )
    return secret


def responder_argv(config: SnmpSimConfig, auth: str, priv: str) -> list[str]:
    """snmpsim's command line for this config (one engine serving every endpoint)."""
    argv = [
        "snmpsim-command-responder",
        f"--process-user={config.process_user}",
        f"--process-group={config.process_group}",
        f"--cache-dir={config.cache_dir}",
        f"--variation-modules-dir={config.variation_dir}",
        # "info" would log the passphrases and every request.
        "--log-level=error",
        "--logging-method=stderr",
        # The engine block: everything after it belongs to this engine.
        "--v3-engine-id=auto",
        f"--v3-user={config.user}",
        f"--v3-auth-key={_checked(auth, 'authentication')}",
        "--v3-auth-proto=SHA",
        f"--v3-priv-key={_checked(priv, 'privacy')}",
        "--v3-priv-proto=AES",
        f"--data-dir={config.data_dir}",
    ]
    argv += [f"--agent-udpv4-endpoint={e.address}:{e.port}" for e in config.endpoints]
    return argv


def serve(config: SnmpSimConfig) -> int:
    """Run snmpsim's responder for the config until SIGTERM; its exit status.

    Raises:
        LabError: a passphrase cannot be read or is unusable.
        OSError: the working directory cannot be entered.
    """
    auth = read_secret(Path(config.auth_file))
    priv = read_secret(Path(config.priv_file))
    argv = responder_argv(config, auth, priv)
    boots = config.boots_file
    if config.workdir:
        # The data's paths are relative to it: after the drop to `nobody` they are
        # reached from here, not through the (often private) folders above.
        os.chdir(config.workdir)
        boots = os.path.relpath(boots, config.workdir) if boots else ""
    _preload_modules()
    _bind_in_namespaces(config.endpoints)
    _mark_ready_before_final_drop(Path(config.ready_file))
    # For the `labuptime` variation: snmpsim numbers its transport domains in the
    # order of the endpoints on its command line; the variation maps them back.
    os.environ["PROVISIONER_LAB_BOOTS"] = boots
    os.environ["PROVISIONER_LAB_ENDPOINTS"] = ",".join(e.address for e in config.endpoints)
    os.environ["PROVISIONER_LAB_NAMES"] = ",".join(e.netns.removeprefix(NETNS_PREFIX)
                                                   for e in config.endpoints)
    # snmpsim parses sys.argv itself; replacing it here does not change what
    # /proc/PID/cmdline (and so `ps`) shows.
    sys.argv = argv
    return int(responder.main() or 0)


def build_index(data_dir: str, index_dir: str) -> int:
    """Index every recording under `data_dir` into `index_dir` the way the responder
    will look it up (both relative to the working directory); how many were indexed.

    Raises:
        snmpsim's SnmpsimError: a recording cannot be parsed or indexed.
    """
    confdir.cache = index_dir
    count = 0
    for full_path, text_parser, _context in datafile.get_data_files(data_dir):
        datafile.DataFile(full_path, text_parser, {}).index_text()
        count += 1
    return count


def respond(responder_args: Sequence[str]) -> int:
    """snmpsim's responder with its own command-line arguments, after the imports it
    would make lazily once it has dropped root; its exit status."""
    _preload_modules()
    sys.argv = ["snmpsim-command-responder", *responder_args]
    return int(responder.main() or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the responder process; its log is stderr (a file the caller picks).

    With `--index DATA INDEX` instead it only indexes the recordings (see snmpdata.py);
    with `--responder ARGS...` it runs snmpsim's responder with ARGS (see `respond`).
    """
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["--responder"]:
        return respond(given[1:])
    parser = argparse.ArgumentParser(prog="python -m provisioner.lab.snmpsim_runner")
    task = parser.add_mutually_exclusive_group(required=True)
    task.add_argument("--config", type=Path, help="config file written by start_simulators")
    task.add_argument("--index", nargs=2, metavar=("DATA_DIR", "INDEX_DIR"),
                      help="index the recordings in DATA_DIR into INDEX_DIR and exit")
    args = parser.parse_args(given)
    try:
        if args.index:
            return 0 if build_index(*args.index) else 1
        return serve(read_snmp_config(args.config))
    except (LabError, OSError, SnmpsimError) as exc:
        print(f"SNMP responder failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
