"""Where a wave's playbook runs: the engine's one seam to Ansible.

The engine hands each wave to a `PlaybookRunner` and gets the per-host recap back; it
never starts Ansible itself. `LocalRunner` runs ansible-playbook on this machine (what
a single controller does); `provisioner.nodes.provision.NodeRunner` sends the same job
to the school's execution node. Which one a school gets is decided once, in the
composition root (`provisioner.app.App.runners`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from provisioner.ansible import PlaybookJob, PlaybookOutcome, ProgressCallback, run_playbook
from provisioner.models import Device
from provisioner.provision.preflight import Preflight, run_preflight
from provisioner.provision.verify import Verified, verify_devices
from provisioner.snmp import SnmpBackend


@dataclass(frozen=True)
class JobKey:
    """Which wave of which run a job is: the identity a node refuses to run twice.

    Attributes:
        school_id: the school (its lock is taken where Ansible runs).
        run_id: the recorded run.
        wave: the wave's number in the run, from 1.
    """

    school_id: str
    run_id: int
    wave: int

    @property
    def name(self) -> str:
        """A stable name for logs, folders and broker messages."""
        return f"school-{self.school_id}-run-{self.run_id}-wave-{self.wave}"


class PlaybookRunner(Protocol):
    """Where a school's work runs: its preflight, its waves' playbooks (each host's recap
    back, failures as data) and its verification.

    Attributes:
        slices_side_by_side: whether it may run two jobs of one wave at once (the
            engine's `slices`); False runs each wave as one playbook.
    """

    slices_side_by_side: bool

    def preflight(self, devices: Sequence[Device], snmp: SnmpBackend,
                  known_hosts: Path) -> Preflight:
        """Check every device before the play (see `preflight.run_preflight`)."""
        ...

    def run(self, job: PlaybookJob, key: JobKey, progress: ProgressCallback | None,
            cancelled: Callable[[], bool]) -> PlaybookOutcome:
        """Run `job`; `progress` gets each host's running recap, `cancelled` is polled."""
        ...

    def verify(self, devices: Sequence[Device], snmp: SnmpBackend,
               known_hosts: Path, school: Sequence[Device] = ()) -> Verified:
        """Read the provisioned devices back (see `verify.verify_devices`; `school`:
        every device of the school, for WLAN controllers and their APs)."""
        ...


class LocalRunner:
    """Everything on this machine: ansible-playbook through ansible-runner, the checks
    from here."""

    slices_side_by_side = True  # each job in a run folder and containment of its own

    def preflight(self, devices: Sequence[Device], snmp: SnmpBackend,
                  known_hosts: Path) -> Preflight:
        """Preflight from this machine."""
        return run_preflight(devices, snmp, known_hosts=known_hosts)

    def verify(self, devices: Sequence[Device], snmp: SnmpBackend,
               known_hosts: Path, school: Sequence[Device] = ()) -> Verified:
        """Verification from this machine."""
        return verify_devices(devices, snmp, known_hosts, school=school)

    def run(self, job: PlaybookJob, key: JobKey, progress: ProgressCallback | None,
            cancelled: Callable[[], bool]) -> PlaybookOutcome:
        """Run the wave here (see `provisioner.ansible.run_playbook`)."""
        del key  # one process, one school lock: nothing to tell runs apart by here
        return run_playbook(job, progress, cancelled)


#: Which runner a school's runs use: school id -> runner.
RunnerChoice = Callable[[str], PlaybookRunner]


def local_runners(_school_id: str) -> PlaybookRunner:
    """Every school on this machine (a controller without execution nodes)."""
    return LocalRunner()
