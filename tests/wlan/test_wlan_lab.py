"""SSIDs through the WLAN controller on the lab: real HTTPS simulator, real Ansible runs.

One small lab school: a core switch, the school's Aruba Instant virtual controller and
four Instant APs inside it (the lab's default). The tests run in file order and build on each other:
a controller that is down and one that refuses the login each fail naming it; then
provision, verify, re-run (0 changed), --check (the controller's configuration the same
before and after), an unknown AP named, an AP down, health through the controller, and
no secret anywhere (the controller's API traffic log included).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.config import load_settings
from provisioner.inventory import load_inventories
from provisioner.lab import wlan_lab
from provisioner.lab.credentials import read_secret
from provisioner.provision import engine
from provisioner.wlan.instant_api import ControllerAccess, InstantSession
from tests.labkit import CliLab, lab_up

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]

PLAN = Path(__file__).parent.parent / "data" / "cli" / "plan-v1.csv"
SCHOOL = "100001"
VC, SWITCH = f"{SCHOOL}-vc01", f"{SCHOOL}-sw01"
APS = [f"{SCHOOL}-iap0{n}" for n in (1, 2, 3, 4)]
SSIDS = ("Lehrkraefte", "Schueler", "Gaeste", "Geraete")


class Lab(CliLab):
    """The lab of one school whose APs are configured through its controller."""

    def access(self) -> ControllerAccess:
        address = next(d.address for d in load_inventories(self.inventories, SCHOOL).devices
                       if d.name == VC)
        return ControllerAccess(VC, address, wlan_lab.WLAN_USER, self.creds.wlan_password,
                                self.creds.wlan_certs / f"{VC}.pem", wlan_lab.PORT)

    def controller_config(self) -> str:
        """The controller's running configuration, read over its API."""
        with InstantSession(self.access()) as session:
            return session.show("show running-config")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab_up(Lab(tmp_path_factory.mktemp("wlan-lab")), PLAN, "--schools", "1", "--servers",
                "0", "--switches", "1", "--aps", "0", "--recorded-aps", "0",
                "--wlan-aps", "4") as the_lab:
        yield the_lab


def _fault(lab: Lab, device: str, action: str) -> None:
    result = lab.run("lab", "fault", device, action)
    assert result.exit_code == 0, result.output
    time.sleep(0.02)  # the simulator notices the faults file by its new mtime


def test_a_controller_that_is_down_is_named_and_holds_back_its_aps(lab: Lab) -> None:
    _fault(lab, VC, "stop")
    try:
        result, hosts = lab.provision("--limit", "wlan_controllers,access_points")
    finally:
        _fault(lab, VC, "start")
    assert result.exit_code != 0, result.output  # preflight held back every host
    # No answer is `unreachable` (as a host silent on port 22), never `blocked`.
    assert hosts[VC]["status"] == "unreachable"
    assert str(hosts[VC]["message"]).startswith(f"{VC}: ")
    # No answer at all ("did not answer within 5 s") or no route ("does not answer").
    assert re.search(r"port 4343 d(id|oes) not answer", str(hosts[VC]["message"]))
    for ap in APS:
        assert hosts[ap]["status"] == "unreachable"
        assert f"its controller {VC} is not ready: {VC}: " in str(hosts[ap]["message"])


def test_wrong_credentials_fail_the_controller_naming_it(lab: Lab) -> None:
    _fault(lab, VC, "reject-login")
    try:
        result, hosts = lab.provision("--limit", "wlan_controllers")
    finally:
        _fault(lab, VC, "clear")
    assert result.exit_code == 7, result.output
    assert hosts[VC]["status"] == "failed"
    assert hosts[VC]["failed_task"] == "Apply the school's SSID profiles through the " \
                                       "controller's REST API"
    assert str(hosts[VC]["message"]).startswith(
        f"{VC}: the controller refused the login of user 'admin' (Invalid credentials)")


def test_provision_the_ssids_through_the_controller_and_verify(lab: Lab) -> None:
    assert " ssid-profile" not in lab.controller_config()
    result, hosts = lab.provision()
    assert result.exit_code == 0, result.output
    assert {n: h["status"] for n, h in hosts.items()} == {
        n: "verified" for n in (SWITCH, VC, *APS)}
    assert int(hosts[VC]["changed"]) == 1  # type: ignore[call-overload]
    config = lab.controller_config()
    for ssid in SSIDS:
        assert f"wlan ssid-profile {ssid}\n" in config
    assert "wlan auth-server radius1\n" in config
    shown = lab.run("school", "show", SCHOOL)
    assert all(any(line.split()[:1] == [n] and "verified" in line.split()
                   for line in shown.output.splitlines()) for n in (VC, *APS)), shown.output
    # What the controller carries now, read live through its API.
    carried = lab.run("wlan", "--school", SCHOOL)
    assert carried.exit_code == 0, carried.output
    first = carried.output.splitlines()[0]
    assert first.startswith(f"{VC} (aruba_instant, ") and "; 4 of 4 APs up, " in first, first
    assert ("SSIDs Lehrkraefte (VLAN 20, wpa2-aes), Schueler (VLAN 30, wpa2-aes), Gaeste "
            "(VLAN 50, opensystem), Geraete (VLAN 60, wpa2-psk-aes);") in first
    assert carried.output.splitlines()[1].split() == ["ap", "state", "clients", *SSIDS]


def test_a_second_run_changes_nothing(lab: Lab) -> None:
    result, hosts = lab.provision()
    assert result.exit_code == 0, result.output
    assert {n: h["changed"] for n, h in hosts.items()} == {n: 0 for n in (SWITCH, VC, *APS)}


def _printed(lab: Lab, run_id: int) -> str:
    """What Ansible printed in a run, from its stored events."""
    folder = lab.db.with_name(lab.db.stem + "-runs") / f"run-{run_id}"
    events = (json.loads(p.read_text())
              for p in folder.glob("wave-*/artifacts/*/job_events/*.json"))
    return "\n".join(str(e.get("stdout", "")) for e in sorted(events,
                                                            key=lambda e: e["counter"]))


def test_check_mode_shows_the_drift_and_changes_nothing_on_the_controller(lab: Lab) -> None:
    with InstantSession(lab.access()) as session:  # drift: a VLAN changed by hand
        session.configure("ssid", {"ssid-profile": {
            "action": "create", "ssid-profile": "Schueler",
            "vlan": {"action": "create", "value": "31"}}})
    before = lab.controller_config()
    result, hosts = lab.provision("--check", "--limit", "wlan_controllers")
    assert result.exit_code == 0, result.output
    assert hosts[VC]["status"] == "checked" and hosts[VC]["changed"] == 1
    assert lab.controller_config() == before  # nothing changed on the controller
    [run] = [r for r in json.loads(lab.run("--json", "runs", "--school", SCHOOL).output)
             if r["mode"] == "check"][:1]
    printed = _printed(lab, run["run_id"])
    # The --diff, as Ansible prints it: the profile's block as the controller has it and as
    # the school's profile wants it.
    assert "--- before: controller (running-config)" in printed, printed
    assert re.search(r"\n- vlan 31\r?\n\+ vlan 30\r?\n", printed), printed
    result, hosts = lab.provision("--limit", "wlan_controllers")  # and back
    assert hosts[VC]["changed"] == 1
    assert " vlan 30\n" in lab.controller_config().split("wlan ssid-profile Schueler")[1]


def test_an_unknown_ap_is_named_and_a_down_ap_fails(lab: Lab) -> None:
    _fault(lab, VC, "unknown-ap")
    _fault(lab, APS[1], "stop")
    try:
        result = lab.run("school", "--id", SCHOOL, "--yes", "--limit",
                         "wlan_controllers,access_points")
    finally:
        _fault(lab, APS[1], "start")
    assert result.exit_code == 7, result.output
    assert (f"{VC} warning: AP {SCHOOL}-fremd (serial " in result.output
            and "is in its cluster but not in the inventory" in result.output), result.output
    assert (f"{APS[1]} failed: {APS[1]}: down: its controller {VC} knows it but it is not "
            "in the cluster") in result.output
    result, hosts = lab.provision("--limit", "wlan_controllers,access_points")
    assert {n: h["status"] for n, h in hosts.items()} == {n: "verified" for n in (VC, *APS)}
    assert "not in the inventory" in str(hosts[VC]["warnings"])  # a warning, not a failure
    _fault(lab, VC, "clear")


def test_health_per_ap_through_the_controller_and_a_silent_controller(lab: Lab) -> None:
    result = lab.run("--json", "health", "--school", SCHOOL)
    assert result.exit_code == 0, result.output
    devices = {d["device"]: d for d in json.loads(result.output)["devices"]}
    for ap in APS:
        assert devices[ap]["state"] == "ok", devices[ap]
        clients = devices[ap]["summary"]["clients"]
        assert set(clients) == {f"{s} {band}" for s in SSIDS for band in ("2.4 GHz", "5 GHz")}
        assert devices[ap]["wlan_clients"] == sum(clients.values())
    _fault(lab, VC, "stop")
    try:
        result = lab.run("health", "--school", SCHOOL)
    finally:
        _fault(lab, VC, "start")
    assert result.exit_code == 11, result.output
    assert (f"{SCHOOL} CONTROLLER DOWN: controller {VC} does not answer; 4 AP(s) behind it "
            "unreachable (controller)") in result.output
    assert not any(line.startswith(APS[0]) for line in result.output.splitlines())


def test_no_secret_in_database_runs_api_log_or_output(lab: Lab) -> None:
    secrets = {name: read_secret(getattr(lab.creds, name))
               for name in ("wlan_password", "wlan_psk", "radius_secret", "switch_password",
                            "snmp_auth", "snmp_priv")}
    settings = load_settings({"db": lab.db, "inventories": lab.inventories},
                             env={**os.environ, **lab.env})
    api_log = wlan_lab.api_log(lab.lab_dir)
    assert api_log.stat().st_size > 0  # the controller's API traffic was logged
    places = [lab.db, api_log, *engine.runs_root(settings).rglob("*"),
              *wlan_lab.sim_dir(lab.lab_dir).glob("state/*.json")]
    checked = 0
    for path in places:
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            checked += 1
            for what, value in secrets.items():
                assert value.encode() not in data, f"{what} found in {path}"
    assert checked > 10
    text = "\n".join(lab.outputs)
    for what, value in secrets.items():
        assert value not in text, f"{what} found in the command output"
