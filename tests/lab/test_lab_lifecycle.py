"""The lab's lifecycle: runtime fallback, `up` twice, and leftovers of a crashed lab.

Runs as one sequence on one lab (the tests build on each other, in file order).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.config import Settings, load_settings
from provisioner.lab import hosts
from provisioner.lab.credentials import LabCredentials, ensure_credentials
from provisioner.lab.manager import find_leftovers, lab_down, lab_up
from provisioner.lab.state import LabState, ProcessRef, is_alive
from provisioner.lab.topology import LabSpec

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (namespaces, mounts)"),
]

SPEC = LabSpec(("100002",), servers=1, switches=0, aps=1, recorded_aps=0, wlan_aps=0)


def lab_settings(lab_dir: Path) -> Settings:
    """Test settings: a private lab dir, the cache the tool itself would use (the
    settings' cache_dir: PROVISIONER_CACHE_DIR or the user's cache folder)."""
    cache = load_settings(env=os.environ).cache_dir
    return Settings(db=lab_dir / "db", inventories=lab_dir / "inventories", cache_dir=cache,
                    lab_dir=lab_dir, playbooks=lab_dir / "playbooks")


class Run:
    """The lab under test and every process any of its incarnations started."""

    def __init__(self, settings: Settings, credentials: LabCredentials, state: LabState) -> None:
        self.settings = settings
        self.credentials = credentials
        self.state = state
        self.all_processes: list[ProcessRef] = list(state.processes)
        self.messages: list[str] = []

    def up(self, runtime: str) -> LabState:
        self.state = lab_up(SPEC, self.settings, self.credentials, self.messages.append,
                            runtime=runtime)
        self.all_processes += self.state.processes
        return self.state


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    settings = lab_settings(tmp_path_factory.mktemp("lab"))
    credentials = ensure_credentials(settings.lab_dir / "credentials")
    messages: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        # An nspawn that cannot start a container: "auto" must fall back per host.
        patch.setattr(hosts, "nspawn_command",
                      lambda *_: ["sh", "-c", "echo no containers here >&2; exit 1"])
        state = lab_up(SPEC, settings, credentials, messages.append)
    lab = Run(settings, credentials, state)
    lab.messages += messages
    try:
        yield lab
    finally:
        lab_down(settings, lambda _: None)


def _ssh(lab: Run, address: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(lab.credentials.ssh_key), "-o", "IdentitiesOnly=yes",
         "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
         "-o", f"UserKnownHostsFile={lab.credentials.known_hosts}", "-o", "ConnectTimeout=10",
         f"deploy@{address}", command],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_a_host_whose_nspawn_fails_comes_up_in_the_chroot_runtime(run: Run) -> None:
    assert {h.runtime for h in run.state.hosts.values()} == {"chroot"}
    assert any("trying the chroot runtime" in m for m in run.messages)
    server = run.state.hosts["100002-srv01"]
    done = _ssh(run, server.address, "sudo -n true && ps -o comm= -p 1 && hostname")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["sh", "100002-srv01"]


def test_up_twice_returns_the_running_lab(run: Run) -> None:
    before = {h.name: h.host_key for h in run.state.hosts.values()}
    again = run.up("auto")
    assert {h.name: h.host_key for h in again.hosts.values()} == before
    assert "reusing it" in run.messages[-1]


def test_the_next_up_clears_a_crashed_lab(run: Run) -> None:
    old = [p for p in run.state.processes if p.role in hosts.RUNTIMES]
    (run.settings.lab_dir / "state.json").unlink()  # as if `up` had died unrecorded
    state = run.up("chroot")
    assert "removing the previous lab first" in run.messages
    assert not [p for p in old if is_alive(p)]
    assert set(state.hosts) == {"100002-srv01", "100002-ap01"}
    done = _ssh(run, state.hosts["100002-ap01"].address, "hostname")
    assert done.stdout.strip() == "100002-ap01", done.stderr


def test_down_clears_a_crashed_lab_by_its_names(run: Run) -> None:
    (run.settings.lab_dir / "state.json").unlink()
    summary = lab_down(run.settings, lambda _: None)
    assert not summary.had_state
    assert summary.netns_removed == 2
    assert summary.mounts_removed == 2
    assert find_leftovers(run.settings.lab_dir).empty
    assert not [p for p in run.all_processes if is_alive(p)]
    assert summary.processes_killed >= 4  # sshd + snmpd + init of each host, at least
