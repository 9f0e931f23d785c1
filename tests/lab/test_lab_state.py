"""The lab's state file and the parsing that finds a lab's parts (no root needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.errors import LabError
from provisioner.lab.manager import known_hosts_text, pin_host_keys
from provisioner.lab.state import (
    HostRecord,
    LabState,
    ProcessRef,
    StateJournal,
    is_alive,
    load_state,
    parse_start_ticks,
    process_ref,
    state_from_json,
    state_to_json,
)
from provisioner.lab.topology import LabSpec, plan_lab


def _state() -> LabState:
    spec = LabSpec(("100001", "100002"), servers=1, switches=1, aps=1, recorded_aps=1)
    devices = plan_lab(spec)
    return LabState(
        spec=spec, devices=devices, runtime="auto", base="/c/lab/base-x/root",
        repo="/c/lab/repo-x", bridge="pvlab0",
        netns=[d.netns for d in devices], veths=[d.veth_host for d in devices],
        mounts=["/l/hosts/100001-srv01/root"], cgroups=["pvlab-100001-srv01"],
        processes=[ProcessRef(pid=42, start_ticks=1234, role="nspawn", device="100001-srv01")],
        hosts={"100001-srv01": HostRecord("100001-srv01", "10.213.1.10", "nspawn",
                                          "/l/hosts/100001-srv01/root", "pvlab-100001-srv01",
                                          "ssh-ed25519 AAAAkey")},
        host_keys={"10.213.1.10": "ssh-ed25519 AAAAkey"}, complete=True,
        notes=["simulators not available yet"],
    )


def test_state_round_trips_through_json() -> None:
    state = _state()
    assert state_from_json(state_to_json(state)) == state


def test_state_json_is_versioned_and_readable() -> None:
    raw = json.loads(state_to_json(_state()))
    assert raw["version"] == 1
    assert raw["devices"][0]["role"] == "server"
    assert raw["devices"][0]["kind"] == "debian_host"
    assert raw["spec"]["school_ids"] == ["100001", "100002"]


def test_state_of_another_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version 1"):
        state_from_json('{"version": 99}')


def test_journal_writes_each_change_at_once(tmp_path: Path) -> None:
    journal = StateJournal(tmp_path, _state())
    journal.record(lambda s: s.netns.append("pvlab-extra"))
    loaded = load_state(tmp_path)
    assert loaded is not None
    assert loaded.netns[-1] == "pvlab-extra"
    assert (tmp_path / "state.json").stat().st_mode & 0o777 == 0o600


def test_missing_state_is_none_and_damaged_state_is_a_lab_error(tmp_path: Path) -> None:
    assert load_state(tmp_path) is None
    (tmp_path / "state.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(LabError, match=r"damaged.*lab down"):
        load_state(tmp_path)


def test_start_ticks_survive_odd_command_names() -> None:
    line = "123 (a) b (c)) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 100 5"
    assert parse_start_ticks(line) == 98765


def test_a_live_process_is_known_and_a_reused_pid_is_not() -> None:
    me = process_ref(__import__("os").getpid(), "test")
    assert is_alive(me)
    assert not is_alive(ProcessRef(me.pid, me.start_ticks + 1, "test"))
    assert not is_alive(ProcessRef(2**22 + 7, 1, "test"))


def test_known_hosts_lines_are_pinned_plain_and_sorted() -> None:
    text = known_hosts_text({"10.213.1.11": "ssh-ed25519 BBBB root@ap01",
                             "10.213.1.10": "ssh-ed25519 AAAA"})
    assert text == "10.213.1.10 ssh-ed25519 AAAA\n10.213.1.11 ssh-ed25519 BBBB\n"


def test_known_hosts_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    pin_host_keys(path, {"10.213.1.10": "ssh-ed25519 AAAA"})
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text(encoding="utf-8") == "10.213.1.10 ssh-ed25519 AAAA\n"


def test_a_bad_host_key_line_is_a_lab_error() -> None:
    with pytest.raises(LabError, match=r"10.213.1.10"):
        known_hosts_text({"10.213.1.10": "garbage"})


def test_without_root_the_lab_says_to_use_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.errors import EnvironmentProblemError
    from provisioner.lab import manager, syscmd

    monkeypatch.setattr(syscmd.os, "geteuid", lambda: 1000)
    with pytest.raises(EnvironmentProblemError, match=r"needs root.*sudo"):
        manager.check_environment("auto")


def test_missing_tools_name_their_debian_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.errors import EnvironmentProblemError
    from provisioner.lab import syscmd

    monkeypatch.setattr(syscmd.shutil, "which", lambda tool: None)
    with pytest.raises(EnvironmentProblemError,
                       match="apt-get install debootstrap systemd-container"):
        syscmd.require_tools(["debootstrap", "systemd-nspawn"])


def test_an_unknown_runtime_is_refused() -> None:
    from provisioner.lab import manager

    with pytest.raises(LabError, match="auto, nspawn, chroot"):
        manager.check_environment("docker")


def test_a_failing_command_carries_its_stderr() -> None:
    from provisioner.lab.syscmd import run

    with pytest.raises(LabError, match="probe: 'sh' exited 3: boom"):
        run(["sh", "-c", "echo boom >&2; exit 3"], step="probe")


def test_simulators_of_a_crashed_lab_are_found_by_their_config() -> None:
    from provisioner.lab.manager import is_lab_process

    lab = Path("/srv/lab")
    sim = ["/venv/bin/python", "-m", "provisioner.lab.switchsim", "--config",
           "/srv/lab/simulators/switches.json"]
    assert is_lab_process(sim, lab)
    assert not is_lab_process(sim, Path("/srv/la"))  # a prefix of the path is not the dir
    assert not is_lab_process(["vim", "/srv/lab/state.json"], lab)
    assert not is_lab_process(["python", "-m", "provisioner.lab.switchsim"], lab)
