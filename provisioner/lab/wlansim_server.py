"""The WLAN controller simulator process: every lab school's virtual controller over HTTPS.

Started by the lab as `python -m provisioner.lab.wlansim_server --config FILE`. Each
controller listens on its own address and port 4343 inside its namespace (sockets made
there, served from this one process), presents its own self-signed certificate (the
lab pins it) and answers the calls of `provisioner.lab.wlansim` (which names the vendor
documents followed and what is not emulated). Every request is logged, as a web server
logs it (request line and status, never a body), to the API log in the lab folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from provisioner.lab.netns_socket import tcp_listener
from provisioner.lab.wlansim import (
    BAD_API,
    BAD_PARAMS,
    OK,
    RADIOS,
    ApiError,
    ControllerState,
    Faults,
    SimAp,
)

log = logging.getLogger("provisioner.lab.wlansim")
_MAX_BODY = 1024 * 1024
_CLIENT_TIMEOUT_S = 30


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A CLI table as Instant prints one: padded columns, a dashed underline per header."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return [line(headers), line(["-" * len(h) for h in headers]), *(line(r) for r in cells)]


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name


def running_config(state: ControllerState) -> str:
    """`show running-config`: the cluster's basics and the WLAN parts."""
    lines = ["version 8.10.0.6-8.10.0.6", "virtual-controller-country DE",
             f"name {state.name}", f"virtual-controller-ip {state.address}", "",
             "allow-rest-api", ""]
    lines += [f"allowed-ap {ap.mac}" for ap in state.aps] + [""]
    for name, server in state.servers.items():
        lines += [f"wlan auth-server {_quoted(name)}", f" ip {server['ip']}",
                  f" port {server['port']}", " acctport 1813", f" key {server['key']}", ""]
    for index, (name, p) in enumerate(state.profiles.items()):
        lines += [f"wlan ssid-profile {_quoted(name)}", f" {p['state']}", f" index {index}",
                  f" type {p['type']}", f" essid {_quoted(p.get('essid', name))}"]
        if "wpa-passphrase" in p:
            lines.append(f" wpa-passphrase {p['wpa-passphrase']}")
        lines += [f" opmode {p['opmode']}", f" vlan {p['vlan']}"]
        if p.get("auth-server"):
            lines.append(f" auth-server {_quoted(p['auth-server'])}")
        lines += [f" captive-portal {p['captive-portal']}", " dtim-period 1", ""]
    return "\n".join(lines)


def show_aps(state: ControllerState) -> str:
    """`show aps`: the member APs that are up; the first one is the master (`*`)."""
    members = state.members()
    rows = [[ap.name, ap.address + ("*" if n == 0 else ""), "access", "disable",
             sum(state.clients(ap, s, r) for s in state.enabled() for r in (0, 1)),
             ap.model, "--", "N/A", "-", ap.serial, "36+", "6"]
            for n, ap in enumerate(members)]
    title = f"{len(members)} Access Points"
    return "\n".join([title, "-" * len(title), *_table(
        ["Name", "IP Address", "Mode", "Spectrum", "Clients", "Type", "IPv6 Address",
         "Mesh Role", "Zone", "Serial #", "radio0 Channel", "radio1 Channel"], rows)])


def _bssid(ap: SimAp, index: int) -> str:
    octets = ap.mac.split(":")
    return ":".join([*octets[:5], f"{(int(octets[5], 16) + index) % 256:02x}"])


def show_bss_table(state: ControllerState) -> str:
    """`show ap bss-table`: per member AP, enabled SSID and radio one BSS with its clients."""
    rows, total = [], 0
    for ap in state.members():
        for index, ssid in enumerate(state.enabled()):
            for radio, (band, channel) in enumerate(RADIOS):
                clients = state.clients(ap, ssid, radio)
                total += clients
                rows.append([_bssid(ap, index * 16 + radio), ssid, "?/?", ap.address, band,
                             channel, "ap", clients, ap.name, 0, "1d:2h:3m:4s", "T"])
    table = _table(["bss", "ess", "port", "ip", "band/ht-mode/bandwidth",
                    "ch/EIRP/max-EIRP", "type", "cur-cl", "ap name", "in-t(s)", "tot-t",
                    "flags"], rows)
    return "\n".join(["Aruba AP BSS Table", "------------------", *table, "",
                      f"Num APs:{len(rows)}", f"Num Associations:{total}"])


_SHOW = {"show running-config": running_config, "show aps": show_aps,
         "show ap bss-table": show_bss_table}


def show_command(state: ControllerState, query: dict[str, str]) -> dict[str, Any]:
    """`GET /rest/show-cmd`: a supported command's CLI text in the JSON envelope."""
    state.check_session(query.get("sid", ""))
    command = " ".join(query.get("cmd", "").split())
    addresses = {state.address, *(ap.address for ap in state.members())}
    if query.get("iap_ip_addr") not in addresses:
        raise ApiError(BAD_PARAMS, f"iap_ip_addr {query.get('iap_ip_addr')!r} is not "
                       "an AP of this cluster")
    if command not in _SHOW:
        raise ApiError(BAD_API, f"Invalid API: unsupported command {command!r}")
    with state.lock:
        text = _SHOW[command](state)
    return {"Status": "Success", "Status-code": OK, "CLI Command executed": command,
            "IAP IP address": query["iap_ip_addr"],
            "Command output": f"cli output: \n\nCOMMAND={command}\n{text}\n"}


class FaultsFile:
    """The lab's faults file, read again whenever it changed (checked at every call)."""

    def __init__(self, path: str, states: dict[str, ControllerState]) -> None:
        self.path = Path(path) if path else None
        self.states = states
        self.seen: int | None = None
        self.lock = threading.Lock()

    def refresh(self) -> None:
        """Apply the file's faults to the controllers if it changed since last time."""
        if self.path is None:
            return
        try:
            stamp: int | None = self.path.stat().st_mtime_ns
        except OSError:
            stamp = None
        with self.lock:
            if stamp == self.seen:
                return
            self.seen = stamp
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8")) if stamp else {}
            except (OSError, ValueError) as exc:
                log.error("faults file %s not read (%s); faults unchanged", self.path, exc)
                return
            for name, state in self.states.items():
                mine = raw.get(name) if isinstance(raw, dict) else None
                mine = mine if isinstance(mine, dict) else {}
                state.faults = Faults(bool(mine.get("reject_login")),
                                      bool(mine.get("unknown_ap")),
                                      frozenset(str(a) for a in mine.get("aps_down") or ()))


@dataclass
class Served:
    """What one controller's server needs: its state, the faults file, the API log."""

    state: ControllerState
    faults: FaultsFile
    log_file: Path
    log_lock: threading.Lock


class Handler(BaseHTTPRequestHandler):
    """The REST routes; `server.served` says which controller this is."""

    protocol_version = "HTTP/1.1"  # keep-alive: one TLS handshake per session
    server_version = "provisioner-lab-instant"
    timeout = _CLIENT_TIMEOUT_S

    def _served(self) -> Served:
        served: Served = self.server.served  # type: ignore[attr-defined]
        return served

    def _reply(self, status: int, answer: dict[str, Any]) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise ApiError(BAD_PARAMS, "request too large")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise ApiError(3, "Invalid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(3, "Invalid JSON: an object is expected")
        return body

    def _route(self, method: str) -> None:
        served = self._served()
        served.faults.refresh()
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        state = served.state
        try:
            if method == "GET" and url.path == "/rest/show-cmd":
                answer = show_command(state, query)
            elif method == "POST" and url.path == "/rest/login":
                answer = state.login(self._body())
            elif method == "POST" and url.path == "/rest/logout":
                answer = state.logout(self._body())
            elif method == "POST" and url.path.startswith("/rest/"):
                body = self._body()
                state.check_session(query.get("sid", ""))
                answer = state.configure(url.path.removeprefix("/rest/"), body)
            else:
                self._reply(404, {"Status": "Failed", "Status-code": BAD_API,
                                  "Error message": "Invalid API"})
                return
        except ApiError as exc:
            answer = {"Status": "Failed", "Status-code": exc.code, "Error message": str(exc)}
        self._reply(200, answer)

    def do_GET(self) -> None:
        """GET: the monitoring API."""
        self._route("GET")

    def do_POST(self) -> None:
        """POST: login, logout and the configuration APIs."""
        self._route("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """One access-log line per request: time, controller, client, request line, status."""
        served = self._served()
        line = (f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {served.state.name} "
                f"{self.client_address[0]} {format % args}\n")
        with served.log_lock, served.log_file.open("a", encoding="utf-8") as handle:
            handle.write(line)


class TlsServer(ThreadingHTTPServer):
    """An HTTPS server on a ready-made listening socket; TLS is set up per connection in
    its own thread, so a slow handshake holds up no one else."""

    daemon_threads = True

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, served: Served) -> None:
        super().__init__(sock.getsockname()[:2], Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.context = context
        self.served = served

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Wrap the connection in TLS, then answer its requests."""
        request.settimeout(_CLIENT_TIMEOUT_S)
        try:
            wrapped = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.info("%s: TLS handshake with %s failed: %s", self.served.state.name,
                     client_address[0], exc)
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()


def _listener(spec: dict[str, Any]) -> socket.socket:
    if spec.get("netns"):
        sock = tcp_listener(spec["netns"], spec["address"], int(spec["port"]))
    else:  # tests: the machine's own loopback
        sock = socket.create_server((spec["address"], int(spec["port"])), backlog=64)
    sock.setblocking(True)
    return sock


def _ap(raw: dict[str, Any]) -> SimAp:
    return SimAp(raw["name"], raw["address"], raw["serial"], raw["mac"])


def serve(config: dict[str, Any]) -> list[TlsServer]:
    """Start every controller of the config in threads; return their servers (bound).

    Raises:
        OSError: a socket could not be bound; KeyError/ValueError: a bad config.
    """
    password = Path(config["password_file"]).read_text(encoding="utf-8").strip()
    states: dict[str, ControllerState] = {}
    servers = []
    log_lock = threading.Lock()
    for spec in config["controllers"]:
        state = ControllerState(spec["name"], spec["address"], config["user"], password,
                                tuple(_ap(a) for a in spec["aps"]), _ap(spec["stranger"]),
                                spec.get("state_file", ""))
        state.load()
        states[state.name] = state
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(spec["cert_file"], spec["key_file"])
        served = Served(state, FaultsFile(config.get("faults_file", ""), states),
                        Path(config["log_file"]), log_lock)
        servers.append(TlsServer(_listener(spec), context, served))
    for server in servers:
        threading.Thread(target=server.serve_forever, name=server.served.state.name,
                         daemon=True).start()
    return servers


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: serve the config's controllers until SIGTERM."""
    parser = argparse.ArgumentParser(prog="wlansim_server")
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        config = json.loads(Path(args.config).read_text(encoding="utf-8"))
        servers = serve(config)
    except (OSError, KeyError, ValueError, ssl.SSLError) as exc:
        print(f"WLAN controller simulator failed: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    log.info("%d controllers listening", len(servers))
    Path(config["ready_file"]).write_text("ready\n", encoding="utf-8")
    stop.wait()
    for server in servers:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
