"""A run speaks of the devices the record knows: provisioning syncs the school first, a
school outside the plan is provisioned with a warning, and an inventory problem stops
the run before it starts. Real engine, real SQLite; port 22 answers nowhere (refused)."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path
from typing import Any

import pytest

from provisioner.config import Settings
from provisioner.db import Store
from provisioner.errors import InvalidInputError
from provisioner.health.run import HealthOptions, plan_run
from provisioner.inventory import service
from provisioner.inventory.profile import network_profile
from provisioner.inventory.writer import write_school_inventory
from provisioner.models import Device, Role
from provisioner.outcome import DeviceState, HostStatus, RunStatus
from provisioner.overview import school_detail
from provisioner.plan.service import import_plan
from provisioner.provision import engine
from provisioner.provision.locks import Cancellation
from provisioner.report import Scope, build_report
from provisioner.snmp import SnmpReply

PLAN = "Schulnummer;Schule;Schulform;Maßnahme;Jahr;Anzahl;Kosten (EUR)\n" \
       "100002;Gymnasium Am Wall;Gymnasium;Switches;2026;2;3.200,00\n"


class _QuietSnmp:
    def get_many(self, targets: list[Any], *_args: Any, **_kwargs: Any) -> list[SnmpReply]:
        assert targets == [], "no device passed preflight: no SNMP packet may be sent"
        return []

    def close(self) -> None:
        """Nothing to release."""


def _settings(tmp_path: Path) -> Settings:
    (tmp_path / "playbooks").mkdir(exist_ok=True)
    (tmp_path / "playbooks" / "site.yml").write_text("[]\n")
    return Settings(db=tmp_path / "state.db", inventories=tmp_path / "inventories",
                    cache_dir=tmp_path / "cache", lab_dir=tmp_path / "lab",
                    playbooks=tmp_path / "playbooks", management_networks=("10.213.0.0/16",))


def _school(tmp_path: Path, school_id: str, addresses: list[str]) -> None:
    devices = [Device(school_id, f"{school_id}-{kind}01", role, platform, address)
               for (kind, role, platform), address in zip(
                   (("srv", Role.SERVER, "debian"), ("sw", Role.SWITCH, "cisco_ios")),
                   addresses, strict=False)]
    write_school_inventory(tmp_path / "inventories", school_id, devices,
                           {"all": network_profile(int(school_id[-1]))})


@pytest.fixture
def refused(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every TCP connection is refused at once (no device answers port 22)."""
    attempts: list[object] = []

    def refuse(address: object, *_args: Any, **_kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def _provision(tmp_path: Path, store: Store, school_id: str) -> engine.SchoolResult:
    return engine.provision_school(_settings(tmp_path), store, _QuietSnmp(), school_id,  # type: ignore[arg-type]
                                   engine.Options(), user="anna", progress=lambda p: None)


def test_a_never_synced_school_is_synced_so_record_health_and_report_see_its_devices(
        tmp_path: Path, refused: list[object]) -> None:
    _school(tmp_path, "100001", ["10.213.1.10", "10.213.1.20"])
    (tmp_path / "plan.csv").write_text(PLAN, encoding="utf-8")
    store = Store.open(tmp_path / "state.db")
    import_plan(store, tmp_path / "plan.csv", user="anna")
    assert store.devices() == []  # never synced
    result = _provision(tmp_path, store, "100001")
    assert result.status is RunStatus.BLOCKED
    assert {h.host: h.status for h in result.hosts} == {
        "100001-srv01": HostStatus.UNREACHABLE, "100001-sw01": HostStatus.UNREACHABLE}
    assert len(refused) == 2
    # The school is not in the plan in force (which names 100002 only): said, not refused.
    assert any("school 100001 is not in the plan in force" in w for w in result.warnings)
    detail = school_detail(store, "100001")
    assert not detail.in_plan
    assert {(d.name, d.state) for d in detail.devices} == {
        ("100001-srv01", DeviceState.UNREACHABLE), ("100001-sw01", DeviceState.UNREACHABLE)}
    assert all("port 22 does not answer" in d.state_detail for d in detail.devices)
    planned = plan_run(store, _settings(tmp_path), HealthOptions(school_ids=("100001",)))
    assert sorted(p.device.name for p in planned) == ["100001-srv01", "100001-sw01"]
    report = build_report(store, Scope(as_of=dt.datetime.now(dt.UTC).date()),
                          generated_at="2026-01-01T00:00:00+00:00")
    [unplanned] = report.unplanned
    assert (unplanned.school_id, [(d.device, d.state) for d in unplanned.lines]) == (
        "100001", [("100001-srv01", DeviceState.UNREACHABLE),
                   ("100001-sw01", DeviceState.UNREACHABLE)])
    store.close()


def test_an_inventory_problem_stops_the_run_before_it_starts_naming_the_device(
        tmp_path: Path, refused: list[object]) -> None:
    _school(tmp_path, "100001", ["10.213.1.10"])
    _school(tmp_path, "100002", ["10.213.1.10"])  # the same address as 100001-srv01
    store = Store.open(tmp_path / "state.db")
    with pytest.raises(InvalidInputError) as caught:
        _provision(tmp_path, store, "100002")
    assert any("host '100002-srv01' uses address 10.213.1.10 already used by host "
               "'100001-srv01'" in str(p) for p in caught.value.problems)
    assert refused == [] and store.runs.list() == [] and store.devices() == []
    store.close()


def test_several_schools_are_synced_with_one_read_and_one_problem_stops_only_its_school(
        tmp_path: Path, refused: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    _school(tmp_path, "100001", ["10.213.1.10", "10.213.1.20"])
    _school(tmp_path, "100002", ["10.213.1.10"])  # the address of 100001-srv01
    _school(tmp_path, "100003", ["10.213.3.10"])
    reads: list[object] = []
    real = service.load_inventories
    monkeypatch.setattr(service, "load_inventories", lambda *a: reads.append(a) or real(*a))
    results = engine.provision_schools(
        _settings(tmp_path), ["100001", "100002", "100003"], engine.Options(), user="anna",
        snmp=_QuietSnmp, progress=lambda p: None, cancel=Cancellation())  # type: ignore[arg-type]
    assert len(reads) == 1  # every inventory read once for all three schools
    first, second, third = results
    assert isinstance(second, InvalidInputError)
    assert any("'100002-srv01' uses address 10.213.1.10" in str(p) for p in second.problems)
    assert isinstance(first, engine.SchoolResult) and isinstance(third, engine.SchoolResult)
    assert first.status is third.status is RunStatus.BLOCKED  # port 22 refused everywhere
    store = Store.open(tmp_path / "state.db")
    assert sorted({d.school_id for d in store.devices()}) == ["100001", "100003"]
    store.close()
