"""The record tells the truth, on the lab: real hosts, switch simulator, Ansible, SQLite.

Two lab schools, neither ever synced by hand; the plan names only the first. The tests
run in file order and build on each other, keeping Ansible runs few:

1. both schools provisioned side by side: each synced by its run, the second provisioned
   with a warning for being outside the plan; `school show`, health and the report
   know every device;
2. one run in which three devices drop out: the server re-keyed (blocked in preflight),
   the access point stopped mid-run (unreachable), the switch changed before the
   read-back (failed in verification). None stays verified anywhere: `school show`,
   its `--json`, every export format; the report's verified count drops by three;
3. `provision trust` and a new run: all verified again, the report's count back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from provisioner.db import Store
from provisioner.devices.cli_session import SwitchSession
from provisioner.devices.ssh import fetch_host_key
from provisioner.lab.credentials import SWITCH_USER, LabCredentials, read_secret
from provisioner.lab.faults import device_fault
from provisioner.outcome import DeviceState, HostStatus, Phase, RunStatus
from provisioner.provision import engine
from provisioner.snmp.pysnmp_backend import PysnmpBackend
from tests.labkit import CliLab, lab_up

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]

PLANNED, UNPLANNED = "100001", "100002"
SERVER, SWITCH, AP = (f"{PLANNED}-srv01", f"{PLANNED}-sw01", f"{PLANNED}-ap01")
PLAN = ("Schulnummer;Schule;Schulform;Maßnahme;Jahr;Anzahl;Kosten (EUR)\n"
        f"{PLANNED};Grundschule Am Park;Grundschule;Server;2026;1;7.000,00\n"
        f"{PLANNED};Grundschule Am Park;Grundschule;Switches;2026;1;1.600,00\n"
        f"{PLANNED};Grundschule Am Park;Grundschule;Access Points;2026;1;1.200,00\n")


class Lab(CliLab):
    """The lab of a planned and an unplanned school."""

    def switch(self) -> SwitchSession:
        creds = LabCredentials(self.lab_dir / "credentials")
        return SwitchSession(self.address(SWITCH), username=SWITCH_USER,
                             password=read_secret(creds.switch_password),
                             known_hosts=creds.known_hosts)

    def shown(self, school: str) -> dict[str, dict[str, object]]:
        """`school show --json`'s devices by name."""
        result = self.run("--json", "school", "show", school)
        assert result.exit_code == 0, result.output
        return {d["name"]: d for d in json.loads(result.stdout)["devices"]}

    def export(self, name: str) -> dict[str, Path]:
        """The report in every format (English), written as the CLI writes it."""
        folder = self.home / name
        result = self.run("export", "--lang", "en", "-o", str(folder / "report"),
                          *(arg for fmt in ("xlsx", "pdf", "html", "csv", "json")
                            for arg in ("--format", fmt)))
        assert result.exit_code == 0, result.output
        return {fmt: folder / f"report.{fmt}" for fmt in ("xlsx", "pdf", "html", "csv", "json")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    the_lab = Lab(tmp_path_factory.mktemp("record-lab"))
    (the_lab.home / "plan.csv").write_text(PLAN, encoding="utf-8")
    # never `inventory sync`: the runs must do it
    with lab_up(the_lab, the_lab.home / "plan.csv", "--schools", "2", "--servers", "1",
                "--switches", "1", "--wlan-aps", "0", "--aps", "1", "--recorded-aps", "0",
                sync=False):
        yield the_lab


def _verified(report: dict[str, object], school: str) -> int:
    schools = {s["school_id"]: s for s in report["schools"]}  # type: ignore[attr-defined]
    return int(schools[school]["devices"]["verified"])


def test_never_synced_schools_are_provisioned_and_known_to_show_health_and_report(
        lab: Lab) -> None:
    store = Store.open(lab.db)
    assert store.devices() == []  # nothing was synced
    store.close()
    result = lab.run("--json", "school", "--id", PLANNED, "--id", UNPLANNED, "--yes")
    assert result.exit_code == 0, result.output
    runs = {r["school_id"]: r for r in json.loads(result.stdout)}
    for school in (PLANNED, UNPLANNED):
        assert {h["status"] for h in runs[school]["hosts"]} == {"verified"}, runs[school]
    assert runs[PLANNED]["warnings"] == []
    assert any(f"school {UNPLANNED} is not in the plan in force" in w
               for w in runs[UNPLANNED]["warnings"])
    for school in (PLANNED, UNPLANNED):
        shown = lab.shown(school)
        assert len(shown) == 3 and {d["state"] for d in shown.values()} == {"verified"}
    unplanned = lab.run("school", "show", UNPLANNED)
    assert "not in the plan in force" in unplanned.output
    health = lab.run("--json", "health", "--school", PLANNED, "--timeout", "2")
    assert health.exit_code in (0, 10), health.output
    assert sorted(d["device"] for d in json.loads(health.stdout)["devices"]) == [
        AP, SERVER, SWITCH]
    report = json.loads(lab.export("first")["json"].read_text(encoding="utf-8"))
    assert _verified(report, PLANNED) == 3
    [outside] = report["not_in_plan"]
    assert outside["school_id"] == UNPLANNED and outside["devices"]["verified"] == 3
    assert sorted(d["state"] for d in outside["device_states"]) == ["verified"] * 3


def _drop_three(lab: Lab) -> engine.SchoolResult:
    """One run of school 100001 in which the server is re-keyed before it, the AP stops
    during the switch's play, and the switch loses VLAN 30 before the read-back."""
    device_fault(lab.lab_dir, SERVER, "rekey")
    done: list[str] = []

    def progress(event: engine.Progress) -> None:
        if (event.phase is Phase.PLAY and event.host == SWITCH and event.counts.ok >= 2
                and "stop" not in done):
            device_fault(lab.lab_dir, AP, "stop")
            done.append("stop")
        if event.phase is Phase.VERIFY and not event.host and "vlan" not in done:
            with lab.switch() as switch:
                switch.configure(["no vlan 30"])
            done.append("vlan")

    store, snmp = Store.open(lab.db), PysnmpBackend()
    try:
        return engine.provision_school(lab.settings(), store, snmp, PLANNED, engine.Options(),
                                       user="test", progress=progress)
    finally:
        snmp.close()
        store.close()


def _texts(files: dict[str, Path]) -> dict[str, str]:
    """Every format as the words a person reads, whitespace folded."""
    book = openpyxl.load_workbook(files["xlsx"])
    texts = {
        "xlsx": " ".join(str(c) for sheet in book.worksheets
                         for row in sheet.iter_rows(values_only=True) for c in row if c),
        "csv": files["csv"].read_bytes().decode("utf-8-sig"),
        "html": files["html"].read_text(encoding="utf-8").replace("&#39;", "'"),
        "json": files["json"].read_text(encoding="utf-8"),
    }
    if shutil.which("pdftotext") is not None:
        texts["pdf"] = subprocess.run(["pdftotext", str(files["pdf"]), "-"],
                                      capture_output=True, text=True, check=True).stdout
    return {fmt: " ".join(text.split()) for fmt, text in texts.items()}


def test_devices_that_drop_out_of_a_run_are_verified_nowhere(lab: Lab) -> None:
    result = _drop_three(lab)
    statuses = {h.host: h.status for h in result.hosts}
    assert statuses == {SERVER: HostStatus.BLOCKED, SWITCH: HostStatus.FAILED,
                        AP: HostStatus.UNREACHABLE}, [(h.host, h.message) for h in result.hosts]
    assert result.status is RunStatus.FAILED
    shown = lab.shown(PLANNED)
    assert {n: d["state"] for n, d in shown.items()} == {
        SERVER: "blocked", SWITCH: "failed", AP: "unreachable"}
    assert "host key" in str(shown[SERVER]["state_detail"])
    assert "VLAN 30" in str(shown[SWITCH]["state_detail"])
    assert shown[AP]["state_detail"]
    plain = lab.run("school", "show", PLANNED).output
    assert f"{SERVER} blocked since " in plain and "VLAN 30" in plain
    files = lab.export("dropped")
    report = json.loads(files["json"].read_text(encoding="utf-8"))
    assert _verified(report, PLANNED) == 0  # 3 before: each device that dropped out
    assert {d["device"]: d["state"] for d in report["attention"]} == {
        SERVER: "blocked", SWITCH: "failed", AP: "unreachable"}
    reason = str(shown[SERVER]["state_detail"])
    fingerprints = re.findall(r"SHA256:\S+", reason)
    assert len(fingerprints) == 2  # the presented key and the pinned one
    for fmt, text in _texts(files).items():
        for device, state in ((SERVER, "blocked"), (SWITCH, "failed"), (AP, "unreachable")):
            assert device in text and state in text, (fmt, device)
        # A PDF table row may break across pages (the footer then sits inside the
        # reason): there the reason's words are looked for, elsewhere the whole of it.
        parts = ["hostkeychanged", *fingerprints] if fmt == "pdf" else [reason]
        folded = "".join(text.split()) if fmt == "pdf" else text  # lines break anywhere
        assert all(part in folded for part in parts), fmt
        assert "VLAN 30" in text, fmt


def test_trust_and_a_new_run_verify_them_again(lab: Lab) -> None:
    device_fault(lab.lab_dir, AP, "start")
    new = fetch_host_key(lab.address(SERVER))
    trusted = lab.run("trust", SERVER, "--fingerprint", new.fingerprint)
    assert trusted.exit_code == 0, trusted.output
    again = lab.run("school", "--id", PLANNED, "--id", UNPLANNED, "--yes")
    assert again.exit_code == 0, again.output
    assert f"school {UNPLANNED}: warning: " in again.stderr
    assert f"school {UNPLANNED} is not in the plan in force" in again.stderr
    assert {d["state"] for d in lab.shown(PLANNED).values()} == {DeviceState.VERIFIED.value}
    report = json.loads(lab.export("again")["json"].read_text(encoding="utf-8"))
    assert _verified(report, PLANNED) == 3
    assert report["attention"] == []
