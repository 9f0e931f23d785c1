"""The lab's WLAN controllers: certificates, the simulator's config, AP identities, faults.

Each lab school with Instant APs gets one virtual controller (`<school>-vc01`, served by
`provisioner.lab.wlansim_server` inside its own namespace) and its APs (`<school>-iap01`,
...: they exist only inside their controller's simulation, without a namespace of
their own). The controller presents a self-signed certificate made here once per lab;
the lab pins a copy in its credentials (`credentials/wlan_certs/<name>.pem`), which the
inventory names as `controller_cert_file`, the way it pins SSH host keys.

Faults (`provision lab fault`) reach the running simulator through one JSON file it reads
again whenever it changed: per controller `reject_login`, `unknown_ap` and `aps_down`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import ipaddress
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provisioner.errors import LabError
from provisioner.lab.topology import DeviceKind, LabDevice
from provisioner.secrets import write_secret_file

SIM_MODULE = "provisioner.lab.wlansim_server"
PORT = 4343
WLAN_USER = "admin"
FOLDER = "wlan"  # below the lab's simulators folder
API_LOG = "api.log"
_ARUBA_OUI = "20:4c:03"  # one of Aruba's IEEE OUIs: lab APs look like Aruba hardware
_CERT_DAYS = 3650


def sim_dir(lab_dir: Path) -> Path:
    """The simulator's folder in the lab (config, certificates, state, logs)."""
    return lab_dir / "simulators" / FOLDER


def api_log(lab_dir: Path) -> Path:
    """The controllers' API traffic log: one line per request, as a web server logs it."""
    return sim_dir(lab_dir) / API_LOG


def ap_serial(name: str) -> str:
    """A lab Instant AP's serial number (10 characters, as Aruba's), from its name."""
    return "CNL" + hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:7].upper()


def ap_mac(name: str) -> str:
    """A lab Instant AP's MAC address (Aruba's OUI), from its name."""
    digest = hashlib.sha1(f"mac:{name}".encode(), usedforsecurity=False).hexdigest()
    return ":".join([_ARUBA_OUI, digest[0:2], digest[2:4], digest[4:6]])


def controller_of(device: LabDevice, devices: Sequence[LabDevice]) -> LabDevice | None:
    """The controller of a lab Instant AP (its school's), or None."""
    return next((d for d in devices if d.school_id == device.school_id
                 and d.kind is DeviceKind.WLAN_CONTROLLER), None)


def _make_certificate(device: LabDevice, cert: Path, key: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device.name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(private.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=_CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(device.address))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private, hashes.SHA256()))
    write_secret_file(key, private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode("ascii"))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def certificate(folder: Path, device: LabDevice) -> tuple[Path, Path]:
    """A controller's certificate and key files, made on first use and kept per lab."""
    cert, key = folder / f"{device.name}.pem", folder / f"{device.name}.key"
    if not (cert.is_file() and key.is_file()):
        _make_certificate(device, cert, key)
    return cert, key


def pin_certificates(pinned: Path, lab_dir: Path, controllers: Sequence[LabDevice]) -> None:
    """Copy each controller's certificate into the lab's pinned folder (what the
    inventory's `controller_cert_file` names)."""
    pinned.mkdir(mode=0o700, parents=True, exist_ok=True)
    for device in controllers:
        source = sim_dir(lab_dir) / "certs" / f"{device.name}.pem"
        if source.is_file():
            write_secret_file(pinned / f"{device.name}.pem", source.read_text(encoding="ascii"))


def _ap(device: LabDevice) -> dict[str, str]:
    return {"name": device.name, "address": device.address, "serial": ap_serial(device.name),
            "mac": ap_mac(device.name)}


def _stranger(controller: LabDevice) -> dict[str, str]:
    # Joins the cluster with the `unknown-ap` fault; its address is outside the lab's
    # device range (.250 of the school's /24), so no lab device has it.
    address = str(ipaddress.IPv4Address(int(ipaddress.IPv4Address(controller.address))
                                        & ~0xFF | 250))
    name = f"{controller.school_id}-fremd"
    return {"name": name, "address": address, "serial": ap_serial(name), "mac": ap_mac(name)}


def write_config(devices: Sequence[LabDevice], folder: Path, password_file: Path) -> Path:
    """Write the simulator's config for the lab's controllers and their APs; its path.

    Raises:
        LabError: the lab has no controllers.
    """
    controllers = [d for d in devices if d.kind is DeviceKind.WLAN_CONTROLLER]
    if not controllers:
        raise LabError("the lab has no WLAN controllers to simulate")
    (folder / "certs").mkdir(mode=0o700, parents=True, exist_ok=True)
    (folder / "state").mkdir(mode=0o700, exist_ok=True)
    specs: list[dict[str, Any]] = []
    for controller in controllers:
        cert, key = certificate(folder / "certs", controller)
        aps = [_ap(d) for d in devices if d.kind is DeviceKind.CONTROLLED_AP
               and d.school_id == controller.school_id]
        specs.append({"name": controller.name, "netns": controller.netns,
                      "address": controller.address, "port": PORT, "cert_file": str(cert),
                      "key_file": str(key),
                      "state_file": str(folder / "state" / f"{controller.name}.json"),
                      "aps": aps, "stranger": _stranger(controller)})
    config = {"ready_file": str(folder / "ready"), "log_file": str(folder / API_LOG),
              "faults_file": str(folder / "faults.json"), "user": WLAN_USER,
              "password_file": str(password_file), "controllers": specs}
    path = folder / "config.json"
    write_secret_file(path, json.dumps(config, indent=1))
    (folder / "ready").unlink(missing_ok=True)
    return path


@contextlib.contextmanager
def _faults(lab_dir: Path) -> Iterator[dict[str, Any]]:
    """The faults file's content to change, under a lock; written back atomically."""
    folder = sim_dir(lab_dir)
    if not (folder / "config.json").is_file():
        raise LabError("this lab has no WLAN controller simulator; rebuild it with "
                       "'provision lab down' and 'provision lab up'")
    fd = os.open(folder / "faults.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = folder / "faults.json"
        try:
            faults = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            faults = {}
        yield faults
        write_secret_file(path, json.dumps(faults, indent=1, sort_keys=True))
    finally:
        os.close(fd)


def set_controller_fault(lab_dir: Path, controller: str, fault: str, on: bool) -> None:
    """Switch a controller's `reject_login` or `unknown_ap` fault on or off."""
    with _faults(lab_dir) as faults:
        faults.setdefault(controller, {})[fault] = on


def set_ap_down(lab_dir: Path, controller: str, ap: str, down: bool) -> None:
    """Mark an AP of a controller down (gone from its cluster) or up again."""
    with _faults(lab_dir) as faults:
        mine = faults.setdefault(controller, {})
        down_now = set(mine.get("aps_down") or ())
        mine["aps_down"] = sorted(down_now | {ap} if down else down_now - {ap})


def clear_controller(lab_dir: Path, controller: str) -> None:
    """Drop a controller's login and unknown-AP faults (its APs' stops stay)."""
    with _faults(lab_dir) as faults:
        mine = faults.setdefault(controller, {})
        mine.pop("reject_login", None)
        mine.pop("unknown_ap", None)
