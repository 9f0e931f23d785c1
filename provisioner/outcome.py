"""The outcome vocabulary: every status word the tool stores, shows or compares, in one place.

What happened to a device is said in a few vocabularies, each an enum here and nowhere
else (their values are the words stored in the database and printed in `--json`):

- `FailureKind`: why a device gave no usable answer (SNMP, SSH, Ansible, lab);
- `RecapStatus`: Ansible's verdict on one host after a play (its PLAY RECAP), and
  `RunnerStatus`, ansible-runner's on the whole playbook run;
- `HostStatus`: one host's part in one provisioning run (`host_results.status`), and
  `Phase`, how far it got;
- `DeviceState`: where a device stands in the rollout (`devices.state`), what
  `school show`, the health check and the committee report believe;
- `RunStatus`: how a provisioning run or a health check run ended (`runs.status`,
  `health_runs.status`);
- `HealthState`: a device's state after a health check (`health_samples.state`).

And the mappings between them, each written once: `host_status_for` (why a step
failed -> the host's status), `device_state_after` (the host's status in a run -> the
device's rollout state). The README's provisioning section prints the second as a
table ("what the run found -> what the device's state becomes").

This module imports nothing of the tool, so every other module (errors included) may
import it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum


class FailureKind(StrEnum):
    """Why a device gave no (usable) answer; kept distinct because each asks other action."""

    UNREACHABLE = "unreachable"  # refused, no route, nothing answers
    TIMEOUT = "timeout"  # it was asked and did not answer in time
    AUTH = "auth"  # credentials rejected (SSH login, SNMPv3 user/passphrase)
    HOST_KEY_UNKNOWN = "host_key_unknown"  # no pinned SSH host key for it
    HOST_KEY_CHANGED = "host_key_changed"  # presented key differs from the pinned one
    CONFIG = "config"  # our side: missing credentials, bad inventory value
    PROTOCOL = "protocol"  # it answered, but not what the protocol promises
    FAILED = "failed"  # a task or command on it failed
    UPSTREAM = "upstream"  # not asked / not answering because its uplink is down
    STALE = "stale"  # the run's deadline passed before it answered
    SKIPPED = "skipped"  # deliberately not handled (e.g. not managed over SSH)
    INTERRUPTED = "interrupted"  # the run was stopped before this device finished


class RecapStatus(StrEnum):
    """Ansible's verdict on one host after a play, from its PLAY RECAP counts."""

    OK = "ok"  # no task failed (changed or not)
    FAILED = "failed"  # a task failed (not ignored, not rescued)
    UNREACHABLE = "unreachable"  # Ansible could not connect, or lost the connection


class RunnerStatus(StrEnum):
    """ansible-runner's status of a playbook run (its own words); all but RUNNING end one."""

    RUNNING = "running"  # the status handler's call after the `command` file is written
    SUCCESSFUL = "successful"
    FAILED = "failed"  # a host failed or was unreachable (ansible-playbook exited non-zero)
    CANCELED = "canceled"  # stopped through the cancel callback
    TIMEOUT = "timeout"
    ERROR = "error"  # ansible-playbook could not run
    # Not ansible-runner's: the execution node running the play stopped answering
    # (provisioner/nodes/provision.py); nothing more is known of its hosts.
    LOST = "lost"


class HostStatus(StrEnum):
    """One host's part in one provisioning run, as recorded in `host_results.status`."""

    PENDING = "pending"  # passed preflight, its play has not started
    SKIPPED = "skipped"  # not managed over SSH (`managed: false`): SNMP only
    BLOCKED = "blocked"  # needs a person first: host key, credentials (nothing was sent)
    RUNNING = "running"  # its play is running
    PROVISIONED = "provisioned"  # the play succeeded; not read back yet
    VERIFIED = "verified"  # the play succeeded and the device itself confirms it
    CHECKED = "checked"  # --check: compared with what the play would do, nothing changed
    FAILED = "failed"  # a task failed, or the read-back found differences
    UNREACHABLE = "unreachable"  # it did not answer (in preflight, the play or read-back)
    INTERRUPTED = "interrupted"  # the run stopped before this host finished


class Phase(StrEnum):
    """How far a host got in a provisioning run (`host_results.phase`)."""

    PREFLIGHT = "preflight"  # checks before any change
    PLAY = "play"  # the site playbook
    VERIFY = "verify"  # the read-back from the device
    DONE = "done"  # verified


class DeviceState(StrEnum):
    """Where a device stands in the rollout (`devices.state`): what the record believes.

    Only a run that verified a device makes it `verified`; every way a device drops
    out of a later run takes that away until a run verifies it again.
    """

    PLANNED = "planned"  # never provisioned by the tool (or SNMP only)
    PROVISIONED = "provisioned"  # the play succeeded; not (yet) read back
    VERIFIED = "verified"  # provisioned and confirmed by the device itself
    FAILED = "failed"  # the play or the read-back failed on it
    UNREACHABLE = "unreachable"  # the last run could not reach it
    BLOCKED = "blocked"  # the last run refused it: host key, credentials (see the reason)
    INTERRUPTED = "interrupted"  # the last run stopped while working on it

    @property
    def needs_attention(self) -> bool:
        """A person has to act before the tool can vouch for the device again."""
        return self in _ATTENTION


_ATTENTION = frozenset({DeviceState.FAILED, DeviceState.UNREACHABLE, DeviceState.BLOCKED,
                        DeviceState.INTERRUPTED})


class RunStatus(StrEnum):
    """How a run ended (`runs.status` for provisioning, `health_runs.status` for health)."""

    RUNNING = "running"  # still going, or its process died unnoticed so far
    OK = "ok"  # provisioning: every host verified, checked or skipped
    FAILED = "failed"  # provisioning: some hosts failed, were unreachable or blocked
    BLOCKED = "blocked"  # provisioning: preflight stopped every host; nothing changed
    INTERRUPTED = "interrupted"  # stopped (Ctrl-C, SIGTERM, kill -9, an error)
    LOST = "lost"  # provisioning: its execution node stopped answering mid-run; never re-run
    DONE = "done"  # health: finished; the verdicts are in its samples and exit status


class HealthState(StrEnum):
    """The state of one device after a health check; each comes with its reason.

    ok: answered, every rule passed. warning: answered, something needs a look.
    critical: answered, something is broken (a service down, a radio off, a disk full).
    unreachable: did not answer (itself, or because its upstream does not).
    stale: the run's deadline passed before it answered: not checked this time.
    unknown: could not be judged (our configuration, credentials refused, garbage answers).
    """

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNREACHABLE = "unreachable"
    STALE = "stale"
    UNKNOWN = "unknown"

    @property
    def severity(self) -> int:
        """Order for "the worst of": ok < warning < stale < unknown < unreachable < critical.

        Not read (stale, unknown) ranks above warning, as in the exit status for cron
        (`HealthReport.exit_status`): a device the check could not vouch for is worse
        than one it read and found something on. Unknown ranks above stale: a refused
        credential or garbled answers stay until someone fixes them; a device past the
        run's deadline is usually read by the next run."""
        return _SEVERITY[self]


_SEVERITY = {HealthState.OK: 0, HealthState.WARNING: 1, HealthState.STALE: 2,
             HealthState.UNKNOWN: 3, HealthState.UNREACHABLE: 4, HealthState.CRITICAL: 5}


@dataclass(frozen=True)
class Counts:
    """Task counts of one host in a play, as `ansible-playbook`'s PLAY RECAP gives them
    (ok includes changed); shared by the live recap and the recorded host result."""

    ok: int = 0
    changed: int = 0
    unreachable: int = 0
    failed: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    @property
    def status(self) -> RecapStatus:
        """Ansible's verdict: unreachable, failed, or ok (no task failed)."""
        if self.unreachable:
            return RecapStatus.UNREACHABLE
        return RecapStatus.FAILED if self.failed else RecapStatus.OK

    def plus(self, **more: int) -> Counts:
        """These counts with `more` added (e.g. `plus(ok=1, changed=1)`)."""
        return replace(self, **{name: getattr(self, name) + n for name, n in more.items()})


#: The count names in PLAY RECAP order.
COUNT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Counts))
#: Ansible's `playbook_on_stats` event keys -> `Counts` fields (Ansible calls
#: unreachable "dark" and failed "failures" there).
STATS_KEYS: dict[str, str] = {"ok": "ok", "changed": "changed", "dark": "unreachable",
                              "failures": "failed", "skipped": "skipped",
                              "rescued": "rescued", "ignored": "ignored"}

#: How a provisioning run may end (`RunLog.finish`).
RUN_ENDINGS: frozenset[RunStatus] = frozenset({RunStatus.OK, RunStatus.FAILED,
                                               RunStatus.BLOCKED, RunStatus.INTERRUPTED,
                                               RunStatus.LOST})
#: Host statuses after which `--resume` leaves a host alone: verified, skipped (not
#: managed over SSH), checked (--check compared, nothing to finish).
DONE: frozenset[HostStatus] = frozenset({HostStatus.VERIFIED, HostStatus.SKIPPED,
                                         HostStatus.CHECKED})
#: Host statuses that count against `--max-fail-percent`.
FAILING: frozenset[HostStatus] = frozenset({HostStatus.FAILED, HostStatus.UNREACHABLE})
#: Host statuses a stopped run turns into `interrupted` (the others are final).
UNFINISHED: frozenset[HostStatus] = frozenset({HostStatus.PENDING, HostStatus.RUNNING})

# Why a step could not do its work -> the host's status. A person must act first on
# a key, credentials or a login (blocked); silence is unreachable; the rest failed.
_STATUS_FOR_FAILURE: dict[FailureKind, HostStatus] = {
    FailureKind.UNREACHABLE: HostStatus.UNREACHABLE,
    FailureKind.TIMEOUT: HostStatus.UNREACHABLE,
    FailureKind.UPSTREAM: HostStatus.UNREACHABLE,
    FailureKind.STALE: HostStatus.UNREACHABLE,
    FailureKind.AUTH: HostStatus.BLOCKED,
    FailureKind.HOST_KEY_UNKNOWN: HostStatus.BLOCKED,
    FailureKind.HOST_KEY_CHANGED: HostStatus.BLOCKED,
    FailureKind.CONFIG: HostStatus.BLOCKED,
    FailureKind.PROTOCOL: HostStatus.FAILED,
    FailureKind.FAILED: HostStatus.FAILED,
    FailureKind.SKIPPED: HostStatus.SKIPPED,
    FailureKind.INTERRUPTED: HostStatus.INTERRUPTED,
}


def host_status_for(failure: FailureKind | None, *, success: HostStatus) -> HostStatus:
    """A host's status after a step (preflight, read-back) that found `failure`.

    Args:
        failure: why the step could not do its work on the host; None: it could.
        success: the status when it could (pending after preflight, verified after
            the read-back).
    """
    return success if failure is None else _STATUS_FOR_FAILURE[failure]


# The one mapping from what a run found on a host to the device's rollout state.
# None: the device keeps the state it had (the run did not learn anything new of it).
_DEVICE_STATE: dict[HostStatus, DeviceState | None] = {
    HostStatus.PENDING: None,  # not started (yet): untouched
    HostStatus.RUNNING: None,  # transient; a stopped run turns it into interrupted
    HostStatus.SKIPPED: None,  # SNMP only: not the tool's to provision
    HostStatus.CHECKED: None,  # --check changed nothing
    HostStatus.BLOCKED: DeviceState.BLOCKED,
    HostStatus.UNREACHABLE: DeviceState.UNREACHABLE,
    HostStatus.FAILED: DeviceState.FAILED,
    HostStatus.PROVISIONED: DeviceState.PROVISIONED,
    HostStatus.VERIFIED: DeviceState.VERIFIED,
    HostStatus.INTERRUPTED: DeviceState.INTERRUPTED,
}
# In check mode only what reaching and trusting the device found is news: a task that
# fails in check mode, or a stopped check, says nothing about the device's setup.
_CHECK_MODE_NEWS = frozenset({HostStatus.BLOCKED, HostStatus.UNREACHABLE})


def device_state_after(status: HostStatus, *, check: bool = False) -> DeviceState | None:
    """The device's rollout state once a run recorded `status` for it; None: unchanged.

    Args:
        status: the host's status in the run.
        check: the run was a --check run (it changed nothing).
    """
    if check and status not in _CHECK_MODE_NEWS:
        return None
    return _DEVICE_STATE[status]


def state_table() -> list[tuple[HostStatus, DeviceState | None, DeviceState | None]]:
    """(host status, device state after an apply run, after a --check run) for every
    host status: the table the README prints."""
    return [(s, device_state_after(s), device_state_after(s, check=True)) for s in HostStatus]
