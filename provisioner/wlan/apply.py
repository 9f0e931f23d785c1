"""Bringing a controller's SSID profiles and RADIUS servers to the school's profile.

Compare first, then change only what differs: the running configuration is read once
(`show running-config`), each RADIUS server and SSID profile of the school's profile
is compared setting by setting, and only a missing or different one is sent (one
Configuration API call each, RADIUS servers first: SSIDs refer to them). Profiles and
servers the school's profile does not name are never touched, only listed.

Secrets (the PSK, the RADIUS shared secret) cannot be compared: the controller shows
them encrypted with a key of its own. As Ansible's `user` module does with
`update_password`, they are sent when an object is created (or lacks one), and with
`update_secrets="always"` on every run (which then always reports a change); rotating
a PSK is that explicit run. A diff names a secret's source file, never its value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.wlan.instant_api import InstantSession
from provisioner.wlan.instant_cli import RunningConfig
from provisioner.wlan.profile import AuthServer, SsidProfile, WlanProfile

UPDATE_SECRETS = ("on_create", "always")


@dataclass(frozen=True)
class Secrets:
    """The secrets a profile needs (read from their files by the caller), and where from.

    Attributes:
        psk: the pre-shared key, or None when no SSID needs one.
        radius_key: the RADIUS shared secret, or None when no SSID uses RADIUS.
        psk_source: the PSK's file, for diffs.
        radius_source: the RADIUS secret's file, for diffs.
    """

    psk: str | None = None
    radius_key: str | None = None
    psk_source: str = ""
    radius_source: str = ""


@dataclass(frozen=True)
class Change:
    """One object to create or change on the controller.

    Attributes:
        api: the Configuration API (`auth-server` or `ssid`).
        name: the object's name.
        action: `create` (it is not there) or `modify`.
        before: its settings now (secrets as "set"), empty when created.
        after: its settings then (secrets named by their source file).
        body: the API call's body; it may hold a secret: never logged or returned.
    """

    api: str
    name: str
    action: str
    before: Mapping[str, str]
    after: Mapping[str, str]
    body: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Plan:
    """The changes a run makes, and the objects on the controller it leaves alone."""

    changes: tuple[Change, ...]
    untouched: tuple[str, ...]


def _nested(value: str) -> dict[str, str]:
    # Sub-settings the API can also remove come as {"action", "value"} objects.
    return {"action": "create", "value": value}


def _ssid_body(ssid: SsidProfile, psk: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": "create", "ssid-profile": ssid.name, "essid": _nested(ssid.essid),
        "opmode": ssid.opmode, "vlan": _nested(str(ssid.vlan)), "type": ssid.type,
        "captive-portal": ssid.captive_portal, "enable": "yes"}
    if ssid.auth_servers:
        body["auth-server"] = _nested(ssid.auth_servers[0])
    if psk is not None:
        body["wpa-passphrase"] = psk
    return {"ssid-profile": body}


def _differs(want: Mapping[str, str], have: Mapping[str, str]) -> bool:
    return any(have.get(key) != value for key, value in want.items())


def _server_change(server: AuthServer, have: Mapping[str, str] | None, secrets: Secrets,
                   always: bool) -> Change | None:
    want = server.settings()
    send_key = have is None or have.get("key") != "set" or always
    if have is not None and not send_key and not _differs(want, have):
        return None
    body: dict[str, Any] = {"action": "create", "name": server.name, "ip": server.ip,
                            "port": str(server.port)}
    after = dict(want)
    if send_key:
        body["key"] = secrets.radius_key
        after["key"] = f"(secret from {secrets.radius_source})"
    # In the order of `after`, so a diff shows only what differs.
    before = {k: (have or {})[k] for k in (*want, "key") if k in (have or {})}
    return Change("auth-server", server.name, "create" if have is None else "modify", before,
                  after, {"auth-server": body})


def _ssid_change(ssid: SsidProfile, have: Mapping[str, str] | None, secrets: Secrets,
                 always: bool) -> Change | None:
    want = ssid.settings()
    send_psk = ssid.psk and (have is None or have.get("wpa-passphrase") != "set" or always)
    if have is not None and not send_psk and not _differs(want, have):
        return None
    after = dict(want)
    if send_psk or (have or {}).get("wpa-passphrase") == "set":
        after["wpa-passphrase"] = f"(secret from {secrets.psk_source})" if send_psk else "set"
    keys = ("disable", *want, "wpa-passphrase")
    before = {k: (have or {})[k] for k in keys if k in (have or {})}
    return Change("ssid", ssid.name, "create" if have is None else "modify", before, after,
                  _ssid_body(ssid, secrets.psk if send_psk else None))


def plan(profile: WlanProfile, config: RunningConfig, secrets: Secrets,
         update_secrets: str = "on_create") -> Plan:
    """What to send to bring `config` to `profile` (nothing when it is there already).

    Raises:
        ValueError: `update_secrets` is not one of `UPDATE_SECRETS`, or a secret the
            profile needs is missing from `secrets`.
    """
    if update_secrets not in UPDATE_SECRETS:
        raise ValueError(f"update_secrets is {update_secrets!r}; use on_create or always")
    if profile.needs_psk and not secrets.psk:
        raise ValueError("an SSID needs the pre-shared key: give wlan_psk_file")
    if profile.needs_radius and not secrets.radius_key:
        raise ValueError("an SSID authenticates against RADIUS: give radius_secret_file")
    always = update_secrets == "always"
    changes = [c for s in profile.auth_servers
               if (c := _server_change(s, config.auth_servers.get(s.name), secrets, always))]
    changes += [c for s in profile.ssids
                if (c := _ssid_change(s, config.ssid_profiles.get(s.name), secrets, always))]
    ours = {s.name for s in profile.ssids} | {s.name for s in profile.auth_servers}
    untouched = [f"ssid-profile {n}" for n in config.ssid_profiles if n not in ours]
    untouched += [f"auth-server {n}" for n in config.auth_servers if n not in ours]
    return Plan(tuple(changes), tuple(untouched))


def send(session: InstantSession, changes: tuple[Change, ...]) -> list[str]:
    """Make the changes, in order; the controller's message for each.

    Raises:
        DeviceError: the controller refused one (the ones before it are made).
    """
    return [session.configure(change.api, dict(change.body)) for change in changes]


def _block(kind: str, name: str, settings: Mapping[str, str]) -> list[str]:
    head = f"wlan {kind} {name}"
    return [head, *(f" {k} {v}".rstrip() for k, v in settings.items())] if settings else []


def diff(changes: tuple[Change, ...]) -> dict[str, str]:
    """Ansible's diff of the changes: before/after as running-config blocks, no secrets."""
    kinds = {"ssid": "ssid-profile", "auth-server": "auth-server"}
    before: list[str] = []
    after: list[str] = []
    for change in changes:
        before += _block(kinds[change.api], change.name, change.before)
        after += _block(kinds[change.api], change.name, change.after)
    return {"before": "\n".join(before) + ("\n" if before else ""),
            "after": "\n".join(after) + ("\n" if after else ""),
            "before_header": "controller (running-config)",
            "after_header": "school WLAN profile"}
