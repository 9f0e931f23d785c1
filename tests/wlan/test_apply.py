"""The school's WLAN profile as SSID profiles, planned and applied against the simulator."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from provisioner.inventory.profile import network_profile
from provisioner.wlan.apply import Secrets, diff, plan, send
from provisioner.wlan.instant_api import InstantSession
from provisioner.wlan.instant_cli import RunningConfig, parse_running_config
from provisioner.wlan.profile import ProfileError, wlan_profile
from tests.wlan.conftest import PSK, RADIUS_KEY, Controller

NETWORK: dict[str, Any] = network_profile(1)["school_network"]
SECRETS = Secrets(PSK, RADIUS_KEY, "/etc/provisioner/secrets/wlan_psk",
                  "/etc/provisioner/secrets/radius_secret")


def _config(controller: Controller) -> RunningConfig:
    with InstantSession(controller.access) as session:
        return parse_running_config(session.show("show running-config"))


def _apply(controller: Controller, network: dict[str, Any], update: str = "on_create") -> int:
    with InstantSession(controller.access) as session:
        wanted = plan(wlan_profile(network), parse_running_config(
            session.show("show running-config")), SECRETS, update)
        send(session, wanted.changes)
    return len(wanted.changes)


def test_the_reference_profile_one_ssid_per_vlan() -> None:
    profile = wlan_profile(NETWORK)
    assert [(s.name, s.opmode, s.vlan, s.type, s.auth_servers, s.psk, s.captive_portal)
            for s in profile.ssids] == [
        ("Lehrkraefte", "wpa2-aes", 20, "employee", ("radius1",), False, "disable"),
        ("Schueler", "wpa2-aes", 30, "employee", ("radius1",), False, "disable"),
        ("Gaeste", "opensystem", 50, "guest", (), False, "internal"),
        ("Geraete", "wpa2-psk-aes", 60, "employee", (), True, "disable")]
    assert [(a.name, a.ip, a.port) for a in profile.auth_servers] == [
        ("radius1", "10.0.0.18", 1812)]


@pytest.mark.parametrize(("change", "message"), [
    ({"ssids": []}, "lists no ssids"),
    ({"ssids": [{"name": "X", "vlan": 5000, "security": "wpa2-psk"}]}, "1 to 4094"),
    ({"ssids": [{"name": "X", "vlan": 5, "security": "wep"}]}, "security 'wep'"),
    ({"ssids": [{"name": "X" * 33, "vlan": 5, "security": "wpa2-psk"}]}, "32 bytes"),
    ({"radius_servers": []}, "no radius_servers"),
    ({"ssids": [{"name": "A", "vlan": 5, "security": "wpa2-psk"}] * 2}, "listed twice"),
])
def test_a_profile_the_controller_cannot_take_is_named(change: dict[str, Any],
                                                       message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        wlan_profile({**NETWORK, **change})


def test_first_run_creates_second_changes_nothing(controller: Controller) -> None:
    assert _apply(controller, NETWORK) == 5  # the RADIUS server and four SSIDs
    assert _apply(controller, NETWORK) == 0
    config = _config(controller)
    assert config.ssid_profiles["Lehrkraefte"]["auth-server"] == "radius1"
    assert config.ssid_profiles["Geraete"]["wpa-passphrase"] == "set"
    assert config.ssid_profiles["Gaeste"]["captive-portal"] == "internal"


def test_a_changed_vlan_is_one_change_and_keeps_the_psk(controller: Controller) -> None:
    _apply(controller, NETWORK)
    changed = copy.deepcopy(NETWORK)
    changed["ssids"][3]["vlan"] = 61
    wanted = plan(wlan_profile(changed), _config(controller), SECRETS)
    assert [(c.api, c.name, c.action) for c in wanted.changes] == [("ssid", "Geraete",
                                                                    "modify")]
    assert "wpa-passphrase" not in wanted.changes[0].body["ssid-profile"]  # kept on the device
    assert _apply(controller, changed) == 1
    assert _config(controller).ssid_profiles["Geraete"]["vlan"] == "61"


def test_update_secrets_always_sends_them_again(controller: Controller) -> None:
    _apply(controller, NETWORK)
    assert _apply(controller, NETWORK, "always") == 2  # the RADIUS server and the PSK SSID


def test_other_profiles_are_left_alone_and_named(controller: Controller) -> None:
    with InstantSession(controller.access) as session:
        session.configure("ssid", {"ssid-profile": {"action": "create", "ssid-profile": "Mensa",
                                                    "essid": {"action": "create",
                                                              "value": "Mensa"}}})
    _apply(controller, NETWORK)
    wanted = plan(wlan_profile(NETWORK), _config(controller), SECRETS)
    assert wanted.changes == () and wanted.untouched == ("ssid-profile Mensa",)
    assert "Mensa" in _config(controller).ssid_profiles


def test_the_diff_names_the_secret_files_never_the_secrets() -> None:
    wanted = plan(wlan_profile(NETWORK), RunningConfig(), SECRETS)
    shown = diff(wanted.changes)
    assert shown["before"] == ""
    assert "wlan ssid-profile Geraete" in shown["after"]
    assert "wpa-passphrase (secret from /etc/provisioner/secrets/wlan_psk)" in shown["after"]
    assert " key (secret from /etc/provisioner/secrets/radius_secret)" in shown["after"]
    assert PSK not in repr(wanted) and PSK not in str(shown) and RADIUS_KEY not in str(shown)


def test_a_needed_secret_must_be_given() -> None:
    with pytest.raises(ValueError, match="wlan_psk_file"):
        plan(wlan_profile(NETWORK), RunningConfig(), Secrets(None, RADIUS_KEY))
