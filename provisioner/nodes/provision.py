"""The controller's side of provisioning on an execution node: `NodeRunner`.

A wave is transmitted (ansible-runner's streaming protocol), sent as one job to the
school's node, and its worker stream, arriving as replies, is fed in order to
ansible-runner's processor with the same event handling as a local run. The outcome
is `lost` when the node stays silent for a whole lease after it took the job, and
also when it does not take the job within the lease (it then refuses the job when it
comes: never run); either way the engine records the run as `lost` and starts nothing
more. A refused repeat delivery is recorded through `record`.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from provisioner.ansible import PlaybookJob, PlaybookOutcome, ProgressCallback, process, transmit
from provisioner.models import Device
from provisioner.nodes import broker
from provisioner.nodes.checks import PREFLIGHT, VERIFY, check_on_node
from provisioner.nodes.config import BrokerConfig
from provisioner.nodes.node import CANCEL_TASK, PLAY_TASK
from provisioner.nodes.topology import ReplyKind
from provisioner.outcome import RunnerStatus
from provisioner.provision.preflight import Preflight
from provisioner.provision.runner import JobKey
from provisioner.provision.verify import Verified
from provisioner.snmp import SnmpBackend

#: Called with (node, job, reason, detail) for each refusal a node reports.
Recorder = Callable[[str, str, str, str], None]
# A job waits this much longer than the lease for the node to take it: the node
# refuses it after one lease, so the two never both act on it.
_TAKE_GRACE = 1.25


@dataclass
class _Feed:
    """What the reply reader found, for the runner to judge the outcome by."""

    accepted: bool = False
    done: bool = False
    lost: str = ""
    refused: str = ""
    lines: dict[int, str] = field(default_factory=dict)


class NodeRunner:
    """Runs waves on execution node `node` (a `PlaybookRunner`).

    Args:
        config: the controller's broker settings.
        node: the execution node's name.
        record: told of each refusal the node reports (the audit log).
    """

    # The node takes the school's lock for each job it runs: one job of a wave at a time.
    slices_side_by_side = False

    def __init__(self, config: BrokerConfig, node: str, record: Recorder) -> None:
        self.config, self.node, self.record = config, node, record

    def preflight(self, devices: Sequence[Device], snmp: SnmpBackend,
                  known_hosts: Path) -> Preflight:
        """Preflight on the node (only it reaches the school).

        Raises:
            BrokerError: the job could not be sent.
        """
        del snmp, known_hosts  # the node uses its own poller and its pinned files
        return check_on_node(self.config, self.node, PREFLIGHT, devices)

    def verify(self, devices: Sequence[Device], snmp: SnmpBackend,
               known_hosts: Path, school: Sequence[Device] = ()) -> Verified:
        """Verification on the node (of the devices sent: a WLAN controller's APs are
        told known or not by the devices of the run alone).

        Raises:
            BrokerError: the job could not be sent.
        """
        del snmp, known_hosts, school
        return check_on_node(self.config, self.node, VERIFY, devices)

    def run(self, job: PlaybookJob, key: JobKey, progress: ProgressCallback | None,
            cancelled: Callable[[], bool]) -> PlaybookOutcome:
        """Run the wave on the node; per-host failure is data, a lost node is `lost`.

        Raises:
            BrokerError: the broker cannot be reached to send the job (nothing ran).
        """
        stage = job.run_dir.with_name(job.run_dir.name + "-transmit")
        try:
            stream = transmit(job, stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        broker.declare_node(self.config, self.node, key.name)
        now = time.time()
        broker.send_job(self.config, self.node, PLAY_TASK, key.name, {
            "job": key.name, "school": key.school_id, "run": key.run_id, "wave": key.wave,
            "sent_at": now, "not_after": now + self.config.lease_s,
            "stream": base64.b64encode(stream).decode(), "playbook": job.playbook.name,
            "check": job.check, "forks": job.forks, "strategy": job.strategy or ""})
        read_fd, write_fd = os.pipe()
        feed = _Feed()
        feeder = threading.Thread(target=self._feed, args=(key.name, write_fd, feed, cancelled),
                                  name=f"feed-{key.name}", daemon=True)
        feeder.start()
        with os.fdopen(read_fd, "rb") as stream_in:
            outcome = process(stream_in, job, progress)
            _drain(stream_in)
        feeder.join()
        broker.delete_replies(self.config, self.node, key.name)
        return self._judge(outcome, feed)

    def _judge(self, outcome: PlaybookOutcome, feed: _Feed) -> PlaybookOutcome:
        if feed.lost:
            outcome.status, outcome.detail = RunnerStatus.LOST, feed.lost
        elif feed.refused:
            outcome.status, outcome.detail = RunnerStatus.ERROR, feed.refused
        return outcome

    def _feed(self, job: str, write_fd: int, feed: _Feed, cancelled: Callable[[], bool]) -> None:
        """Write the node's stream lines, in order, into the processor's pipe."""
        reader = broker.ReplyReader(self.config, self.node, job)
        with os.fdopen(write_fd, "wb") as pipe:
            try:
                self._follow(job, reader, pipe, feed, cancelled)
            finally:
                reader.close()

    def _follow(self, job: str, reader: broker.ReplyReader, pipe: IO[bytes], feed: _Feed,
                cancelled: Callable[[], bool]) -> None:
        heard, next_line, cancel_sent = time.monotonic(), 0, False
        while not feed.done:
            if cancelled() and not cancel_sent:
                broker.send_job(self.config, self.node, CANCEL_TASK, f"cancel-{job}",
                                {"job": job})
                cancel_sent = True
            reply = reader.get(timeout=1.0)
            silent = time.monotonic() - heard
            if reply is None:
                limit = self.config.lease_s * (1 if feed.accepted else _TAKE_GRACE)
                if silent > limit:
                    feed.lost = self._lost_message(feed.accepted, silent)
                    return
                continue
            heard = time.monotonic()
            if self._handle(job, reply, feed):
                return
            while next_line in feed.lines:
                pipe.write(feed.lines.pop(next_line).encode())
                pipe.flush()
                next_line += 1

    def _lost_message(self, accepted: bool, silent: float) -> str:
        if accepted:
            return (f"execution node {self.node} went silent mid-run ({silent:.0f} s, lease "
                    f"{self.config.lease_s:.0f} s): the run is lost; what it changed is "
                    "unknown. Check the node, then --resume")
        return (f"execution node {self.node} did not take the job within "
                f"{silent:.0f} s (is it running?); it will refuse the job when it comes, "
                "so nothing ran. Start the node, then --resume")

    def _handle(self, job: str, reply: dict[str, Any], feed: _Feed) -> bool:
        """Take one reply; True when nothing more is to come for this job."""
        kind = reply.get("kind")
        if kind == ReplyKind.ACCEPTED:
            feed.accepted = True
        elif kind == ReplyKind.LINE and isinstance(reply.get("n"), int):
            feed.lines.setdefault(int(reply["n"]), str(reply.get("line", "")))
        elif kind == ReplyKind.DONE:
            feed.done = True  # the lines before it were published (and confirmed) first
        elif kind == ReplyKind.REFUSED:
            reason, detail = str(reply.get("reason", "")), str(reply.get("detail", ""))
            self.record(self.node, job, reason, detail)
            if reason != "duplicate" and not feed.accepted:
                feed.refused = f"execution node {self.node} refused the job: {detail}"
                return True
        return False


def _drain(stream: IO[bytes]) -> None:
    """Read the pipe to its end, so the feeder never blocks on a full pipe."""
    with contextlib.suppress(OSError):
        while stream.read(65536):
            pass

