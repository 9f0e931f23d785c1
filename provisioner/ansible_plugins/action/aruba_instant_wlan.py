"""Ansible action `aruba_instant_wlan`: a school's SSIDs on an Aruba Instant virtual controller.

An action plugin, so it runs in Ansible's own process on the control node and talks to
the controller's REST API over HTTPS (provisioner/wlan/instant_api.py names the vendor
document followed); no module is copied anywhere and no connection to the controller
host is opened by Ansible itself. HPE's own collection (`arubanetworks.aruba_instant`)
is not on PyPI.

Options (all from the inventory; secrets only as file paths, read here):

| option | meaning |
|---|---|
| `controller` | its inventory name (messages name it) |
| `host`, `port` | its address and HTTPS port (4343) |
| `user`, `password_file` | the management account; the password's file |
| `cert_file` | the pinned TLS certificate the controller must present |
| `network` | the school's `school_network` profile (its `ssids`, `radius_servers`) |
| `psk_file`, `radius_secret_file` | the PSK's and the RADIUS secret's files |
| `update_secrets` | `on_create` (default) or `always` (send secrets every run) |
| `timeout` | seconds per request (10) |

It changes only the RADIUS server and SSID profiles the profile names (idempotent: a
second run changes nothing), supports check mode (reads, compares, sends nothing) and
`--diff` (running-config blocks, secrets named by their file). Its result holds no
secret: they are in no argument, no diff and no message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.plugins.action import ActionBase

from provisioner.errors import ProvisionerError
from provisioner.secrets import read_secret
from provisioner.wlan.apply import UPDATE_SECRETS, Secrets, diff, plan, send
from provisioner.wlan.instant_api import DEFAULT_PORT, ControllerAccess, InstantSession
from provisioner.wlan.instant_cli import parse_running_config
from provisioner.wlan.profile import ProfileError, WlanProfile, wlan_profile

_REQUIRED = ("host", "user", "password_file", "cert_file", "network")
_OPTIONS = frozenset({*_REQUIRED, "controller", "port", "psk_file", "radius_secret_file",
                      "update_secrets", "timeout"})


def _secrets(args: dict[str, Any], profile: WlanProfile, name: str) -> Secrets:
    psk_file, radius_file = args.get("psk_file"), args.get("radius_secret_file")
    for needed, value, option in ((profile.needs_psk, psk_file, "psk_file"),
                                  (profile.needs_radius, radius_file, "radius_secret_file")):
        if needed and not value:
            raise ProfileError(f"an SSID needs {option} (the inventory's "
                               f"{'wlan_psk_file' if option == 'psk_file' else option})")
    return Secrets(
        read_secret(Path(str(psk_file)), f"{name} WLAN PSK") if profile.needs_psk else None,
        read_secret(Path(str(radius_file)), f"{name} RADIUS secret")
        if profile.needs_radius else None,
        str(psk_file or ""), str(radius_file or ""))


def _access(args: dict[str, Any], name: str) -> ControllerAccess:
    return ControllerAccess(name, str(args["host"]), str(args["user"]),
                            Path(str(args["password_file"])), Path(str(args["cert_file"])),
                            int(args.get("port") or DEFAULT_PORT),
                            float(args.get("timeout") or 10.0))


class ActionModule(ActionBase):
    """Apply the school's SSID profiles through the controller's REST API."""

    TRANSFERS_FILES = False
    _VALID_ARGS = _OPTIONS
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Compare, then change what differs (nothing in check mode)."""
        result: dict[str, Any] = super().run(tmp, task_vars)
        args = dict(self._task.args)
        name = str(args.get("controller") or (task_vars or {}).get("inventory_hostname", ""))
        missing = [key for key in _REQUIRED if not args.get(key)]
        if missing:
            return {**result, "failed": True,
                    "msg": f"{name}: missing option(s) {', '.join(missing)}"}
        update = str(args.get("update_secrets") or "on_create")
        if update not in UPDATE_SECRETS:
            return {**result, "failed": True, "msg": f"{name}: update_secrets is {update!r}; "
                    "use on_create or always"}
        try:
            return {**result, **self._apply(args, name, update)}
        except (ProvisionerError, ProfileError, ValueError) as exc:
            message = str(exc)
            if not message.startswith(f"{name}:"):
                message = f"{name}: {message}"
            return {**result, "failed": True, "changed": False, "msg": message}

    def _apply(self, args: dict[str, Any], name: str, update: str) -> dict[str, Any]:
        profile = wlan_profile(args["network"])
        secrets = _secrets(args, profile, name)
        check = bool(self._task.check_mode)
        with InstantSession(_access(args, name)) as session:
            config = parse_running_config(session.show("show running-config"))
            wanted = plan(profile, config, secrets, update)
            if wanted.changes and not check:
                send(session, wanted.changes)
        done = ", ".join(f"{c.action} {c.api} {c.name}" for c in wanted.changes)
        verb = "would " if check else ""
        message = f"{name}: {verb}{done}" if done else f"{name}: all SSID profiles as in profile"
        if wanted.untouched:
            message += f"; left alone: {', '.join(wanted.untouched)}"
        found: dict[str, Any] = {"changed": bool(wanted.changes), "msg": message,
                                 "changes": [{"api": c.api, "name": c.name,
                                              "action": c.action} for c in wanted.changes],
                                 "untouched": list(wanted.untouched)}
        if self._task.diff and wanted.changes:
            found["diff"] = diff(wanted.changes)
        return found
