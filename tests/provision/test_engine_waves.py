"""Waves, max-fail and cancellation of a run, with a fake PlaybookRunner (no root, no lab).

The engine's only way to Ansible is its runner; here it is a fake that answers each
wave with the recaps a test scripts, so the run's bookkeeping is tested on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from provisioner.ansible import HostRecap, PlaybookJob, PlaybookOutcome, ProgressCallback
from provisioner.config import Settings
from provisioner.db import Store
from provisioner.errors import EnvironmentProblemError
from provisioner.models import Device, HostRun, Role
from provisioner.outcome import Counts
from provisioner.provision import engine
from provisioner.provision.locks import KIND, Cancellation
from provisioner.provision.options import slices
from provisioner.provision.runner import JobKey
from provisioner.results import AggregatedResult, DeviceResult


@dataclass
class FakeRunner:
    """Answers each wave: hosts named in `fail` fail their first task, the rest are ok.

    `cancel_in_wave`: during that wave, ask the run to stop and answer as ansible-runner
    does for a cancelled run (status `canceled`, the hosts it had started on ok).
    """

    fail: set[str] = field(default_factory=set)
    unreachable: set[str] = field(default_factory=set)
    silent: set[str] = field(default_factory=set)
    cancel_in_wave: int | None = None
    cancel: Cancellation | None = None
    cannot_start: str = ""  # a job whose hosts include this one raises, as run_playbook can
    slices_side_by_side: bool = True  # as LocalRunner
    calls: list[tuple[JobKey, tuple[str, ...]]] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)

    def run(self, job: PlaybookJob, key: JobKey, progress: ProgressCallback | None,
            cancelled: Callable[[], bool]) -> PlaybookOutcome:
        self.calls.append((key, job.limit))
        self.folders.append(job.run_dir.name)
        if self.cannot_start in job.limit:
            raise EnvironmentProblemError(f"ansible-runner could not start {job.run_dir}")
        status = "successful"
        if key.wave == self.cancel_in_wave and self.cancel is not None:
            self.cancel.cancel("SIGTERM")
            status = "canceled"
        hosts = {}
        for name in job.limit:
            if name in self.silent:
                continue
            recap = HostRecap(name, task="Configure", counts=Counts(ok=3))
            if name in self.fail:
                recap.counts = recap.counts.plus(failed=1)
                recap.failed_task, recap.message = "Configure", "% Invalid input"
                status = "failed"
            if name in self.unreachable:
                recap.counts = recap.counts.plus(unreachable=1)
                recap.failed_task = "Gathering Facts"
                recap.message = "ssh: connect to host: No route to host"
                status = "failed"
            if progress is not None:
                progress(recap)
            hosts[name] = recap
        return PlaybookOutcome(status, 0 if status == "successful" else 2, hosts,
                               job.run_dir / "artifacts")


def _devices() -> list[Device]:
    def device(name: str, role: Role, n: int) -> Device:
        return Device("100001", f"100001-{name}", role, "debian", f"10.213.1.{n}")

    return [device("srv01", Role.SERVER, 10), device("srv02", Role.SERVER, 11),
            *(device(f"sw0{i}", Role.SWITCH, 20 + i) for i in range(1, 5)),
            device("ap01", Role.ACCESS_POINT, 30), device("ap02", Role.ACCESS_POINT, 31)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "playbooks").mkdir()
    return Settings(db=tmp_path / "state.db", inventories=tmp_path / "inventories",
                    cache_dir=tmp_path / "cache", lab_dir=tmp_path / "lab",
                    playbooks=tmp_path / "playbooks")


def _run(settings: Settings, runner: FakeRunner, options: engine.Options,
         cancel: Cancellation | None = None,
         devices: list[Device] | None = None) -> tuple[engine._Run, Store]:
    store = Store.open(settings.db)
    devices = devices or _devices()
    run_id = store.runs.start(kind=KIND, school_id="100001", user="anna",
                              arguments=options.as_arguments(), playbook_commit="",
                              pid=1, pid_started=None, artifacts="")
    run_dir = settings.db.parent / f"run-{run_id}"
    run_dir.mkdir()
    run = engine._Run(settings, store, None, "100001", options, devices,  # type: ignore[arg-type]
                      settings.db.parent / "known_hosts", run_id, run_dir,
                      cancel or Cancellation(), lambda _p: None, runner)
    run.save(*(HostRun(d.name, d.role.value, "pending", "preflight") for d in devices))
    return run, store


def _statuses(run: engine._Run) -> dict[str, str]:
    return {name: host.status for name, host in run.hosts.items()}


def test_servers_first_then_waves_of_batch_each_a_job_of_its_own(settings: Settings) -> None:
    runner = FakeRunner()
    run, _store = _run(settings, runner, engine.Options(check=True, batch=2))
    engine._play(run, run.devices)
    assert [(key.wave, limit) for key, limit in runner.calls] == [
        (1, ("100001-srv01", "100001-srv02")),
        (2, ("100001-sw01", "100001-sw02")),
        (3, ("100001-sw03", "100001-sw04")),
        (4, ("100001-ap01", "100001-ap02")),
    ]
    assert {key.run_id for key, _ in runner.calls} == {run.run_id}
    assert {key.school_id for key, _ in runner.calls} == {"100001"}
    assert set(_statuses(run).values()) == {"checked"}
    assert engine._final_status(run) == "ok"


def test_without_batch_every_host_is_one_wave_in_two_slices_side_by_side(
        settings: Settings) -> None:
    runner = FakeRunner()
    run, _store = _run(settings, runner, engine.Options(check=True))
    said: list[str] = []
    run.progress = lambda p: said.append(p.message)
    engine._play(run, run.devices)
    assert ("wave 1 as 2 playbooks side by side: 2 servers and 2 APs; 4 switches") in said
    jobs = dict(zip(runner.folders, (set(limit) for _key, limit in runner.calls), strict=True))
    assert jobs == {
        "wave-1-hosts": {"100001-srv01", "100001-srv02", "100001-ap01", "100001-ap02"},
        "wave-1-network": {f"100001-sw0{i}" for i in range(1, 5)},
    }
    assert {key.wave for key, _ in runner.calls} == {1}
    assert set(_statuses(run).values()) == {"checked"}


@pytest.mark.parametrize(("options", "runner"), [
    (engine.Options(check=True, plays_in_order=True), FakeRunner()),
    # an execution node runs one job of a school at a time
    (engine.Options(check=True), FakeRunner(slices_side_by_side=False)),
])
def test_in_order_or_on_a_one_job_runner_a_wave_is_one_playbook(
        settings: Settings, options: engine.Options, runner: FakeRunner) -> None:
    run, _store = _run(settings, runner, options)
    engine._play(run, run.devices)
    assert runner.folders == ["wave-1"]
    assert len(runner.calls[0][1]) == len(run.devices)


@dataclass
class ReadBackRunner(FakeRunner):
    """The servers' and APs' slice ends only once the switches have been read back (or
    after 20 s): what was read back before it ended is in `read_back_during_hosts`."""

    read_back: list[str] = field(default_factory=list)
    read_back_during_hosts: list[str] = field(default_factory=list)
    switches_read: threading.Event = field(default_factory=threading.Event)
    cannot_read: str = ""  # reading back a part with this host raises

    def run(self, job: PlaybookJob, key: JobKey, progress: ProgressCallback | None,
            cancelled: Callable[[], bool]) -> PlaybookOutcome:
        if job.run_dir.name.endswith("-hosts"):
            self.switches_read.wait(20)
            self.read_back_during_hosts = list(self.read_back)
        return super().run(job, key, progress, cancelled)

    def verify(self, devices: Sequence[Device], snmp: object, known_hosts: Path,
               school: Sequence[Device] = ()) -> AggregatedResult[list[str]]:
        if any(d.name == self.cannot_read for d in devices):
            self.switches_read.set()
            raise EnvironmentProblemError("the read-back could not start")
        self.read_back += [d.name for d in devices]
        if any(d.role is Role.SWITCH for d in devices):
            self.switches_read.set()
        return AggregatedResult.of("verify", (DeviceResult(d.name, []) for d in devices))


def test_a_slice_is_read_back_as_soon_as_it_ends_while_the_other_goes_on(
        settings: Settings) -> None:
    # The switches' slice ends first: they are verified while the servers' slice runs.
    runner = ReadBackRunner()
    run, _store = _run(settings, runner, engine.Options())
    engine._play(run, run.devices)
    assert runner.read_back_during_hosts == [f"100001-sw0{i}" for i in range(1, 5)]
    assert sorted(runner.read_back) == sorted(d.name for d in run.devices)
    assert set(_statuses(run).values()) == {"verified"}


@dataclass
class NetworkLastRunner(ReadBackRunner):
    """The switches' and controllers' slice ends only once the servers have been read
    back (or after 20 s): what was read back before it ended is in `read_back_during_network`."""

    read_back_during_network: list[str] = field(default_factory=list)
    servers_read: threading.Event = field(default_factory=threading.Event)

    def run(self, job: PlaybookJob, key: JobKey, progress: ProgressCallback | None,
            cancelled: Callable[[], bool]) -> PlaybookOutcome:
        if job.run_dir.name.endswith("-network"):
            self.servers_read.wait(20)
            self.read_back_during_network = list(self.read_back)
        return FakeRunner.run(self, job, key, progress, cancelled)

    def verify(self, devices: Sequence[Device], snmp: object, known_hosts: Path,
               school: Sequence[Device] = ()) -> AggregatedResult[list[str]]:
        result = super().verify(devices, snmp, known_hosts, school)
        if any(d.role is Role.SERVER for d in devices):
            self.servers_read.set()
        return result


def test_an_ap_waits_for_the_read_back_of_its_controllers_slice(settings: Settings) -> None:
    # The Instant AP plays with the servers, but is read back through its controller,
    # which the other slice configures: it is read back only once that slice has ended.
    controller = Device("100001", "100001-vc01", Role.WLAN_CONTROLLER, "aruba_instant",
                        "10.213.1.40")
    iap = Device("100001", "100001-iap01", Role.ACCESS_POINT, "aruba_instant", "10.213.1.41",
                 vars={"controller": "100001-vc01"})
    runner = NetworkLastRunner()
    run, _store = _run(settings, runner, engine.Options(),
                       devices=[*_devices(), controller, iap])
    engine._play(run, run.devices)
    assert "100001-srv01" in runner.read_back_during_network
    assert "100001-iap01" not in runner.read_back_during_network
    assert runner.read_back.index("100001-iap01") > runner.read_back.index("100001-vc01")
    assert set(_statuses(run).values()) == {"verified"}


def test_a_failed_read_back_of_one_slice_keeps_the_others_outcome(settings: Settings) -> None:
    runner = ReadBackRunner(cannot_read="100001-sw01")
    run, store = _run(settings, runner, engine.Options())
    with pytest.raises(EnvironmentProblemError, match="read-back could not start"):
        engine._play(run, run.devices)
    recorded = {h.host: h.status for h in store.runs.hosts(run.run_id)}
    assert recorded["100001-srv01"] == recorded["100001-ap02"] == "verified"
    assert recorded["100001-sw01"] == "provisioned"


def test_a_slice_that_cannot_start_fails_the_run_but_the_other_slice_is_recorded(
        settings: Settings) -> None:
    runner = FakeRunner(cannot_start="100001-sw01")
    run, store = _run(settings, runner, engine.Options(check=True))
    with pytest.raises(EnvironmentProblemError, match="could not start"):
        engine._play(run, run.devices)
    recorded = {h.host: h.status for h in store.runs.hosts(run.run_id)}
    assert recorded["100001-srv01"] == recorded["100001-ap02"] == "checked"
    assert recorded["100001-sw01"] == "running"  # closed as interrupted with the run


def test_slices_keep_servers_with_aps_and_a_wave_of_one_kind_whole() -> None:
    devices = _devices()
    hosts, network = slices(devices)
    assert {d.role for d in hosts} == {Role.SERVER, Role.ACCESS_POINT}
    assert {d.role for d in network} == {Role.SWITCH}
    switches = [d for d in devices if d.role is Role.SWITCH]
    assert slices(switches) == [switches]
    assert slices(devices, in_order=True) == [devices]
    assert slices([]) == []


def test_aps_through_a_controller_go_with_the_network_slice_when_there_is_one() -> None:
    devices = _devices()
    instant = [Device("100001", f"100001-iap0{n}", Role.ACCESS_POINT, "aruba_instant",
                      f"10.213.1.{60 + n}", vars={"controller": "100001-vc01"})
               for n in (1, 2)]
    hosts, network = slices([*devices, *instant])
    assert instant[0] in network and instant[1] in network
    assert not any(d in hosts for d in instant)
    assert {d.role for d in hosts} == {Role.SERVER, Role.ACCESS_POINT}
    # No switch or controller in the wave: no playbook run only to sort them.
    no_network = [d for d in devices if d.role is not Role.SWITCH]
    assert slices([*no_network, *instant]) == [[*no_network, *instant]]


def test_max_fail_stops_starting_waves_and_says_why(settings: Settings) -> None:
    runner = FakeRunner(fail={"100001-srv01"})
    run, store = _run(settings, runner, engine.Options(check=True, batch=2,
                                                       max_fail_percent=40))
    engine._play(run, run.devices)
    assert len(runner.calls) == 1  # 1 of 2 failed: 50% > 40%, nothing more started
    hosts = {h.host: h for h in store.runs.hosts(run.run_id)}
    assert hosts["100001-srv01"].status == "failed"
    assert hosts["100001-srv01"].failed_task == "Configure"
    assert hosts["100001-srv02"].status == "checked"
    for name in ("100001-sw01", "100001-ap02"):
        assert hosts[name].status == "pending"
        assert "more than 40% of the hosts failed" in hosts[name].message
    assert engine._final_status(run) == "failed"


def test_max_fail_below_the_threshold_goes_on(settings: Settings) -> None:
    runner = FakeRunner(unreachable={"100001-sw01"})
    run, _store = _run(settings, runner, engine.Options(check=True, batch=2,
                                                        max_fail_percent=40))
    engine._play(run, run.devices)
    # After wave 2: 1 of 4 played hosts unreachable (25%): waves 3 and 4 still start.
    assert len(runner.calls) == 4
    assert _statuses(run)["100001-sw01"] == "unreachable"


def test_cancel_during_a_wave_interrupts_it_and_starts_no_other(settings: Settings) -> None:
    cancel = Cancellation()
    runner = FakeRunner(cancel_in_wave=2, cancel=cancel)
    run, store = _run(settings, runner, engine.Options(check=True, batch=2), cancel)
    engine._play(run, run.devices)
    assert [key.wave for key, _ in runner.calls] == [1, 2]
    statuses = _statuses(run)
    assert statuses["100001-srv01"] == "checked"
    # ok so far, but the play was cut short: not done
    assert statuses["100001-sw01"] == statuses["100001-sw02"] == "interrupted"
    assert run.hosts["100001-sw03"].message == "stopped before it started"
    assert engine._final_status(run) == "interrupted"
    store.runs.finish(run.run_id, "interrupted")
    left = {h.host: h.status for h in store.runs.hosts(run.run_id)}
    assert left["100001-ap01"] == "interrupted"  # pending hosts close with the run


def test_a_host_the_runner_reports_nothing_for_failed(settings: Settings) -> None:
    runner = FakeRunner(silent={"100001-srv02"})
    run, _store = _run(settings, runner, engine.Options(check=True, limit=()))
    engine._play(run, run.devices)
    assert run.hosts["100001-srv02"].status == "failed"
    assert run.hosts["100001-srv02"].message == "Ansible reported nothing for this host"
