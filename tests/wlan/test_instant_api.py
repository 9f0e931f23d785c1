"""The REST client against the controller simulator on loopback: real HTTPS, real TLS."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from provisioner.errors import (
    AuthenticationFailedError,
    CommandFailedError,
    ConnectionFailedError,
)
from provisioner.lab import wlan_lab
from provisioner.wlan.instant_api import (
    ControllerCertificateError,
    InstantSession,
    certificate_fingerprint,
    handshake,
)
from tests.wlan.conftest import PASSWORD, PSK, Controller, controller_device, free_port


def test_login_show_and_logout_end_the_session(controller: Controller) -> None:
    with InstantSession(controller.access) as session:
        output = session.show("show running-config")
        sid = session.sid
    assert "COMMAND=show running-config" in output and "name 100001-vc01" in output
    assert sid not in controller.state.sessions  # logged out
    lines = controller.log.read_text().splitlines()
    assert [line.split('"')[1].split("?")[0] for line in lines] == [
        "POST /rest/login HTTP/1.1", "GET /rest/show-cmd", "POST /rest/logout HTTP/1.1"]
    assert "cmd=show%20running-config" in lines[1]  # %20 for spaces, as the guide writes


def test_a_refused_login_names_the_controller_and_what_to_check(controller: Controller,
                                                                 tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("nicht-das-passwort\n")
    with pytest.raises(AuthenticationFailedError) as caught, \
            InstantSession(replace(controller.access, password_file=wrong)):
        pass
    message = str(caught.value)
    assert message.startswith("100001-vc01: the controller refused the login of user 'admin'")
    assert "controller_password_file" in message and "nicht-das-passwort" not in message


def test_the_reject_login_fault_refuses_the_right_password(controller: Controller) -> None:
    controller.faults.write_text(json.dumps({"100001-vc01": {"reject_login": True}}))
    with pytest.raises(AuthenticationFailedError, match="Invalid credentials"), \
            InstantSession(controller.access):
        pass
    time.sleep(0.01)  # a new mtime: the simulator reads the file again
    controller.faults.write_text(json.dumps({}))
    with InstantSession(controller.access) as session:
        assert session.sid


def test_a_certificate_other_than_the_pinned_one_is_refused(controller: Controller,
                                                            tmp_path: Path) -> None:
    other, _key = wlan_lab.certificate(tmp_path, controller_device())
    with pytest.raises(ControllerCertificateError) as caught, \
            InstantSession(replace(controller.access, cert_file=other)):
        pass
    assert "is not the one pinned in" in str(caught.value)
    assert not controller.log.exists()  # not one request got through
    pinned = controller.access.cert_file.read_text()
    assert handshake(controller.access) == certificate_fingerprint(pinned)


def test_a_controller_that_does_not_listen_does_not_answer(controller: Controller) -> None:
    with pytest.raises(ConnectionFailedError, match=r"127.0.0.1 port \d+ does not answer"), \
            InstantSession(replace(controller.access, port=free_port())):
        pass


def test_an_expired_session_and_a_refused_configuration_say_why(controller: Controller) -> None:
    with InstantSession(controller.access) as session:
        with pytest.raises(CommandFailedError, match="refused: wpa-passphrase must be 8 to 63"):
            session.configure("ssid", {"ssid-profile": {
                "action": "create", "ssid-profile": "X", "opmode": "wpa2-psk-aes",
                "wpa-passphrase": "kurz"}})
        session.sid = "abgelaufen"
        with pytest.raises(CommandFailedError, match="session ended"):
            session.show("show aps")


def test_secrets_travel_in_bodies_and_the_access_log_holds_none(controller: Controller) -> None:
    with InstantSession(controller.access) as session:
        session.configure("ssid", {"ssid-profile": {
            "action": "create", "ssid-profile": "Geraete", "opmode": "wpa2-psk-aes",
            "essid": {"action": "create", "value": "Geraete"}, "wpa-passphrase": PSK}})
        shown = session.show("show running-config")
    assert PSK not in shown  # the controller shows its own encryption of it
    assert " wpa-passphrase " in shown
    log = controller.log.read_text()
    assert PSK not in log and PASSWORD not in log
    assert PSK not in controller.folder.joinpath("state.json").read_text()
