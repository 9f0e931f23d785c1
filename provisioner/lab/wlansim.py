"""The lab's Aruba Instant virtual controller: its state and the API calls the tool uses.

Follows the Aruba Instant 8.x REST API Guide (HPE; the 8.11.1.x edition, 2023) for the
calls, their JSON and status codes, and the Aruba Instant 8.x CLI Reference Guide for
the text of the `show` commands (their column layout as Instant 8.10-8.12 prints it).
Emulated, statefully, per controller:

- `POST /rest/login` / `POST /rest/logout`: sessions (15 minutes idle, as on Instant);
- `GET /rest/show-cmd` with `show running-config` (WLAN parts: `allowed-ap`, `wlan
  auth-server` and `wlan ssid-profile` blocks, secrets shown encrypted), `show aps`
  (the member APs that are up, with serial numbers) and `show ap bss-table` (one BSS
  per AP, enabled SSID and radio, with its current clients);
- `POST /rest/ssid` (`ssid-profile` create/modify/delete) and `POST /rest/auth-server`
  (`auth-server` create/modify/delete), validated as Instant does (a PSK of 8-63
  characters for a PSK opmode, an existing RADIUS server for 802.1X, VLAN 1-4094).

Lab faults (`provision lab fault`, read from the faults file at each call): the login
rejected, an AP down (gone from `show aps` and the BSS table, still `allowed-ap`), and
an AP the inventory does not know joining the cluster.

Not emulated: any other API or `show` command (answered with status code 2, "invalid
API"), the web UI, real radios and clients (client counts are fixed numbers per AP,
SSID and radio while the SSID exists), RF/ARM, zones, cluster elections and master
failover, configuration sync delays (changes apply at once), `commit apply`, SNMP of the
controller, and any TLS options beyond one certificate per controller.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SESSION_IDLE_S = 15 * 60
OPMODES = {"opensystem": "", "wpa2-aes": "radius", "wpa3-aes-ccm-128": "radius",
           "wpa2-psk-aes": "psk", "wpa3-sae-aes": "psk"}
TYPES = ("employee", "guest", "voice")
PORTALS = ("disable", "internal", "external")
# Status codes of the guide: 0 ok, 1 invalid session, 2 invalid API, 4 invalid
# parameters, 5 missing parameters, 6 configuration module error.
OK, BAD_SESSION, BAD_API, BAD_PARAMS, MISSING, CONFIG_ERROR = 0, 1, 2, 4, 5, 6
_NESTED = ("essid", "vlan", "auth-server")  # {"action": "create", "value": ...}
_PLAIN = ("opmode", "type", "captive-portal", "wpa-passphrase", "enable", "disable")
RADIOS = (("2.4GHz/HE/20MHz", "6/15.0/28.2"), ("5GHz/HE/40MHz", "36+/27.6/27.6"))


@dataclass(frozen=True)
class SimAp:
    """An Instant AP of the cluster: its name, address, serial number and MAC."""

    name: str
    address: str
    serial: str
    mac: str
    model: str = "515(indoor)"


class ApiError(Exception):
    """A call the controller refuses: its status code and message."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass
class Faults:
    """The lab faults in effect for one controller."""

    reject_login: bool = False
    unknown_ap: bool = False
    aps_down: frozenset[str] = frozenset()


def _value(raw: object, key: str) -> str:
    """A nested `{"action": "create", "value": V}` setting's value."""
    if not isinstance(raw, dict) or raw.get("action") != "create" or "value" not in raw:
        raise ApiError(BAD_PARAMS, f"{key} must be {{\"action\": \"create\", \"value\": ...}}")
    return str(raw["value"])


@dataclass
class ControllerState:
    """One virtual controller: configuration (persisted), sessions, its APs.

    Attributes:
        name: its name (the cluster name, `name` in the running config).
        address: the virtual controller IP.
        user, password: the management account.
        aps: the member APs (all registered as `allowed-ap`).
        stranger: an AP the inventory does not know, joining with the `unknown-ap` fault.
        state_file: where the configuration is kept ("" keeps it in memory only).
        key: the controller's own key: secrets are shown and kept encrypted with it.
    """

    name: str
    address: str
    user: str
    password: str
    aps: tuple[SimAp, ...]
    stranger: SimAp
    state_file: str = ""
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    servers: dict[str, dict[str, str]] = field(default_factory=dict)
    sessions: dict[str, float] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> None:
        """Read the persisted configuration, if any (a restart keeps it, as flash does)."""
        if not self.state_file or not Path(self.state_file).is_file():
            return
        saved = json.loads(Path(self.state_file).read_text(encoding="utf-8"))
        self.key = bytes.fromhex(saved["key"])
        self.profiles, self.servers = saved["profiles"], saved["servers"]

    def _save(self) -> None:
        if not self.state_file:
            return
        path = Path(self.state_file)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps({"key": self.key.hex(), "profiles": self.profiles,
                                   "servers": self.servers}), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)

    def encrypt(self, secret: str) -> str:
        """A secret as the running config shows it: never the secret itself."""
        return hmac.new(self.key, secret.encode(), hashlib.sha256).hexdigest()[:48]

    # --- sessions -------------------------------------------------------------------
    def login(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /rest/login`: a session id, or `Status: Failed` (as Instant answers)."""
        good = (hmac.compare_digest(str(body.get("user", "")), self.user)
                and hmac.compare_digest(str(body.get("passwd", "")), self.password))
        if self.faults.reject_login or not good:
            return {"Status": "Failed", "Error message": "Invalid credentials"}
        sid = secrets.token_urlsafe(24)
        with self.lock:
            self.sessions[sid] = time.monotonic()
        return {"Status": "Success", "sid": sid}

    def logout(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /rest/logout`: the session ends."""
        with self.lock:
            self.sessions.pop(str(body.get("sid", "")), None)
        return {"Status": "Success", "message": "Logged out"}

    def check_session(self, sid: str) -> None:
        """Raise `ApiError(1)` for an unknown or idle session; refresh a live one."""
        now = time.monotonic()
        with self.lock:
            seen = self.sessions.get(sid)
            if seen is None or now - seen > SESSION_IDLE_S:
                self.sessions.pop(sid, None)
                raise ApiError(BAD_SESSION, "Invalid session id")
            self.sessions[sid] = now

    # --- configuration --------------------------------------------------------------
    def configure(self, api: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /rest/ssid` or `POST /rest/auth-server`."""
        handlers = {"ssid": ("ssid-profile", self._ssid),
                    "auth-server": ("auth-server", self._auth_server)}
        if api not in handlers:
            raise ApiError(BAD_API, f"Invalid API: {api}")
        key, handler = handlers[api]
        data = body.get(key)
        if not isinstance(data, dict):
            raise ApiError(MISSING, f"missing {key!r} object")
        with self.lock:
            message = handler(data)
            self._save()
        return {"Status": "Success", "Status-code": OK, "message": message}

    def _ssid(self, data: dict[str, Any]) -> str:
        name = str(data.get("ssid-profile") or "")
        action = data.get("action")
        if not name or action not in ("create", "delete"):
            raise ApiError(MISSING, "ssid-profile and action (create or delete) are required")
        if action == "delete":
            if self.profiles.pop(name, None) is None:
                raise ApiError(CONFIG_ERROR, f"Profile {name} not found")
            return f"ssid-profile {name} deleted"
        unknown = set(data) - {"action", "ssid-profile", *_NESTED, *_PLAIN}
        if unknown:
            raise ApiError(BAD_PARAMS, f"unknown parameter(s) {', '.join(sorted(unknown))}")
        profile = dict(self.profiles.get(name, {"type": "employee", "opmode": "opensystem",
                                                "captive-portal": "disable", "vlan": "1"}))
        profile.update(self._ssid_settings(data, profile))
        self._validate(name, profile)
        self.profiles[name] = profile
        return f"ssid-profile {name} configured"

    def _ssid_settings(self, data: dict[str, Any], old: dict[str, str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for key in _NESTED:
            if key in data:
                found[key] = _value(data[key], key)
        for key in ("opmode", "type", "captive-portal"):
            if key in data:
                found[key] = str(data[key])
        if "wpa-passphrase" in data:
            psk = str(data["wpa-passphrase"])
            if not 8 <= len(psk) <= 63:
                raise ApiError(CONFIG_ERROR, "wpa-passphrase must be 8 to 63 characters")
            found["wpa-passphrase"] = self.encrypt(psk)
        if data.get("disable") == "yes":
            found["state"] = "disable"
        elif data.get("enable") == "yes" or "state" not in old:
            found["state"] = "enable"
        return found

    def _validate(self, name: str, profile: dict[str, str]) -> None:
        opmode = profile.get("opmode", "")
        if opmode not in OPMODES:
            raise ApiError(CONFIG_ERROR, f"invalid opmode {opmode!r}")
        if profile.get("type") not in TYPES or profile.get("captive-portal") not in PORTALS:
            raise ApiError(BAD_PARAMS, f"{name}: invalid type or captive-portal")
        if not profile.get("vlan", "").isdigit() or not 1 <= int(profile["vlan"]) <= 4094:
            raise ApiError(CONFIG_ERROR, f"{name}: invalid vlan {profile.get('vlan')!r}")
        if OPMODES[opmode] == "psk" and "wpa-passphrase" not in profile:
            raise ApiError(CONFIG_ERROR, f"{name}: opmode {opmode} needs a wpa-passphrase")
        if OPMODES[opmode] == "radius":
            server = profile.get("auth-server", "")
            if server not in self.servers:
                raise ApiError(CONFIG_ERROR, f"{name}: auth-server {server!r} does not exist")

    def _auth_server(self, data: dict[str, Any]) -> str:
        name = str(data.get("name") or "")
        action = data.get("action")
        if not name or action not in ("create", "delete"):
            raise ApiError(MISSING, "name and action (create or delete) are required")
        if action == "delete":
            used = [p for p, s in self.profiles.items() if s.get("auth-server") == name]
            if used:
                raise ApiError(CONFIG_ERROR, f"auth-server {name} is used by {used[0]}")
            if self.servers.pop(name, None) is None:
                raise ApiError(CONFIG_ERROR, f"auth-server {name} not found")
            return f"auth-server {name} deleted"
        unknown = set(data) - {"action", "name", "ip", "port", "key"}
        if unknown:
            raise ApiError(BAD_PARAMS, f"unknown parameter(s) {', '.join(sorted(unknown))}")
        server = dict(self.servers.get(name, {"port": "1812"}))
        server.update({k: str(data[k]) for k in ("ip", "port") if k in data})
        if "key" in data:
            server["key"] = self.encrypt(str(data["key"]))
        if "ip" not in server or "key" not in server or not server["port"].isdigit():
            raise ApiError(CONFIG_ERROR, f"auth-server {name} needs ip, port and key")
        self.servers[name] = server
        return f"auth-server {name} configured"

    # --- monitoring -----------------------------------------------------------------
    def members(self) -> list[SimAp]:
        """The APs in the cluster now: the registered ones that are up, and the stranger."""
        up = [ap for ap in self.aps if ap.name not in self.faults.aps_down]
        return up + ([self.stranger] if self.faults.unknown_ap else [])

    def clients(self, ap: SimAp, ssid: str, radio: int) -> int:
        """A fixed client count per AP, SSID and radio (0-6), the same on every call."""
        return zlib.crc32(f"{ap.serial}/{ssid}/{radio}".encode()) % 7

    def enabled(self) -> list[str]:
        """The enabled SSID profiles' network names, in creation order."""
        return [p.get("essid", n) for n, p in self.profiles.items()
                if p.get("state") == "enable"]
