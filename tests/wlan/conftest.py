"""A real Instant controller simulator on loopback (HTTPS, its own certificate)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.lab import wlan_lab
from provisioner.lab.topology import DeviceKind, LabDevice
from provisioner.lab.wlansim_server import TlsServer, serve
from provisioner.models import Role
from provisioner.wlan.instant_api import ControllerAccess

PASSWORD = "Controller-Passwort-1"
PSK = "Geraete-PSK-streng-geheim"
RADIUS_KEY = "Radius-Schluessel-geheim"
APS = [("100001-iap01", "127.0.0.21"), ("100001-iap02", "127.0.0.22"),
       ("100001-iap03", "127.0.0.23")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Controller:
    """One simulated controller and what a client needs to reach it."""

    folder: Path
    access: ControllerAccess
    server: TlsServer
    config: dict[str, Any]

    @property
    def log(self) -> Path:
        return self.folder / wlan_lab.API_LOG

    @property
    def faults(self) -> Path:
        return self.folder / "faults.json"

    @property
    def state(self) -> Any:
        return self.server.served.state


def controller_device(address: str = "127.0.0.1") -> LabDevice:
    return LabDevice(0, "100001", "100001-vc01", Role.WLAN_CONTROLLER,
                     DeviceKind.WLAN_CONTROLLER, "aruba_instant", address)


def start(folder: Path, port: int | None = None) -> Controller:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "password").write_text(PASSWORD + "\n")
    (folder / "psk").write_text(PSK + "\n")
    (folder / "radius").write_text(RADIUS_KEY + "\n")
    device = controller_device()
    cert, key = wlan_lab.certificate(folder, device)
    port = port or free_port()
    aps = [{"name": n, "address": a, "serial": wlan_lab.ap_serial(n), "mac": wlan_lab.ap_mac(n)}
           for n, a in APS]
    config = {"ready_file": str(folder / "ready"), "log_file": str(folder / wlan_lab.API_LOG),
              "faults_file": str(folder / "faults.json"), "user": "admin",
              "password_file": str(folder / "password"),
              "controllers": [{"name": device.name, "netns": "", "address": "127.0.0.1",
                               "port": port, "cert_file": str(cert), "key_file": str(key),
                               "state_file": str(folder / "state.json"), "aps": aps,
                               "stranger": {"name": "100001-fremd", "address": "127.0.0.99",
                                            "serial": "CNX0FREMD0", "mac": "00:0b:86:00:00:99"}}]}
    (server,) = serve(config)
    access = ControllerAccess(device.name, "127.0.0.1", "admin", folder / "password", cert, port,
                              timeout=5.0)
    return Controller(folder, access, server, config)


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    found = start(tmp_path / "vc")
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()
