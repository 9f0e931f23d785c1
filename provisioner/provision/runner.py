"""Where a wave's playbook runs: the engine's one seam to Ansible.

The engine hands each wave to a `PlaybookRunner` and gets the per-host recap back; it
never starts Ansible itself. `LocalRunner` runs ansible-playbook on this machine (what
a single controller does); `provisioner.nodes.provision.NodeRunner` sends the same job
to the school's execution node. Which one a school gets is decided once, in the
composition root (`provisioner.app.App.runners`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from provisioner.ansible import PlaybookJob, PlaybookOutcome, ProgressCallback, run_playbook


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
    """Runs one wave's playbook and returns each host's recap (failures are data)."""

    def run(self, job: PlaybookJob, key: JobKey, progress: ProgressCallback | None,
            cancelled: Callable[[], bool]) -> PlaybookOutcome:
        """Run `job`; `progress` gets each host's running recap, `cancelled` is polled."""
        ...


class LocalRunner:
    """ansible-playbook on this machine, through ansible-runner."""

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
