"""An execution node: `provision node run --name N` takes jobs from its queue and runs them.

Provisioning runs at most once. The node refuses a job, and says so in its journal
and to the controller, when it comes after its `not_after` (the controller has given
up on it), when the journal shows it started before (a second delivery: RabbitMQ
re-queues an unacknowledged message on a lost connection), or when the school's lock
is held here (another run of the school). Otherwise it takes the school's lock,
journals the start (fsync) and only then starts Ansible. While the job runs it sends
`alive` every quarter lease; when it cannot reach the broker for half a lease it stops
Ansible itself, so the controller, which calls a run `lost` after a whole lease of
silence, never sees a run go on that it has given up on.

Health polls are idempotent: acknowledged after they ran, so a poll re-queued by a
broker restart runs again and the controller stores each device once.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from provisioner.ansible import archive_size, lean_line, node_job, work
from provisioner.errors import ConfigError
from provisioner.nodes.broker import ReplyWriter
from provisioner.nodes.config import BrokerConfig
from provisioner.nodes.topology import ReplyKind, check_node_name
from provisioner.platforms import ansible_plugin_env

PLAY_TASK = "provisioner.play"
POLL_TASK = "provisioner.poll"
CANCEL_TASK = "provisioner.cancel"


class Journal:
    """The node's own record: one JSON line per job it started or refused (fsync'd)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "journal.jsonl"
        self._lock = threading.Lock()
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def entries(self) -> list[dict[str, Any]]:
        """Every line, oldest first."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def started(self, job: str) -> bool:
        """Whether this node started `job` before."""
        return any(e.get("job") == job and e.get("event") == "started" for e in self.entries())

    def note(self, job: str, event: str, detail: str = "") -> None:
        """Append one line and make it durable before returning."""
        line = json.dumps({"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                           "job": job, "event": event, "detail": detail})
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode() + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)


@contextmanager
def node_school_lock(state_dir: Path, school_id: str) -> Iterator[bool]:
    """Hold the school's lock on this node for the block; the block gets False (and holds
    nothing) when another job of the school holds it."""
    folder = state_dir / "locks"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / f"school-{school_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


class LineForwarder(io.RawIOBase):
    """The Worker's output stream: each complete line, made lean, becomes one reply.

    The artifacts archive (`{"zipfile": N}` and its base64 body) is dropped: it holds
    the node's own `command` file with its environment.
    """

    name = "<provisioner node stream>"

    def __init__(self, send: Callable[[dict[str, Any]], None]) -> None:
        super().__init__()
        self._send = send
        self._buffer = b""
        self._skip = 0
        self.lines = 0

    def writable(self) -> bool:
        """A stream to write to."""
        return True

    def write(self, data: Any) -> int:
        """Take bytes of the stream; forward whole lines."""
        self._buffer += bytes(data)
        while True:
            if self._skip:
                dropped = min(self._skip, len(self._buffer))
                self._buffer, self._skip = self._buffer[dropped:], self._skip - dropped
                if self._skip:
                    return len(data)
            end = self._buffer.find(b"\n")
            if end < 0:
                return len(data)
            line, self._buffer = self._buffer[:end + 1], self._buffer[end + 1:]
            self._line(line)

    def _line(self, line: bytes) -> None:
        size = archive_size(line)
        if size is not None:
            self._skip = size
            return
        lean = lean_line(line)
        if lean is not None:
            self._send({"kind": ReplyKind.LINE, "n": self.lines, "line": lean.decode()})
            self.lines += 1

    def flush(self) -> None:
        """Lines are sent as they complete."""


class Node:
    """One execution node's job handlers (called in the Celery worker's threads).

    Args:
        config: the node's broker settings (`user` is the node's name).
    """

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self.name = config.user
        self.journal = Journal(config.state_dir)
        self._cancels: dict[str, threading.Event] = {}
        self._guard = threading.Lock()

    def _refuse(self, writer: ReplyWriter, job: str, reason: str, detail: str) -> None:
        self.journal.note(job, "refused", f"{reason}: {detail}")
        writer.publish({"job": job, "kind": ReplyKind.REFUSED, "reason": reason, "node": self.name,
                        "detail": detail}, self.config.lease_s)

    def play(self, payload: dict[str, Any]) -> None:
        """Run one provisioning job at most once (see the module doc)."""
        job, school = str(payload["job"]), str(payload["school"])
        writer = ReplyWriter(self.config, self.name, job)
        try:
            if time.time() > float(payload["not_after"]):
                self._refuse(writer, job, "expired", f"job {job} came after its deadline; "
                             "the controller no longer waits for it: never run")
                return
            with self._guard:
                duplicate = self.journal.started(job)
                if not duplicate:
                    self._cancels[job] = threading.Event()
            if duplicate:
                self._refuse(writer, job, "duplicate", f"job {job} was delivered again; it "
                             f"started on node {self.name} before: not run a second time")
                return
            with node_school_lock(self.config.state_dir, school) as held:
                if not held:
                    self._refuse(writer, job, "busy", f"school {school} is being provisioned "
                                 f"on node {self.name} by another job")
                    return
                self.journal.note(job, "started")
                self._run(writer, job, payload)
        finally:
            self._cancels.pop(job, None)
            writer.close()

    def _run(self, writer: ReplyWriter, job: str, payload: dict[str, Any]) -> None:
        cancel = self._cancels[job]
        writer.publish({"job": job, "kind": ReplyKind.ACCEPTED, "node": self.name},
                       self.config.lease_s)
        run_dir = self.config.state_dir / "j" / hashlib.sha1(job.encode(),
                                                             usedforsecurity=False).hexdigest()[:8]
        shutil.rmtree(run_dir, ignore_errors=True)
        forward = LineForwarder(lambda body: self._send_line(writer, job, body, cancel))
        done = threading.Event()
        alive = threading.Thread(target=self._keep_alive, args=(job, cancel, done),
                                 name=f"alive-{job}", daemon=True)
        alive.start()
        status = "error"
        try:
            facts = self.config.state_dir / "facts" / str(payload["school"])
            status = work(base64.b64decode(payload["stream"]),
                          node_job(run_dir, str(payload["playbook"]),
                                   check=bool(payload.get("check")),
                                   forks=int(payload.get("forks", 25)),
                                   strategy=payload.get("strategy") or None, fact_cache=facts,
                                   plugin_env=ansible_plugin_env()),
                          forward, cancel.is_set)
        finally:
            done.set()
            alive.join(timeout=5)
            shutil.rmtree(run_dir, ignore_errors=True)
            self.journal.note(job, "finished", status)
            writer.publish({"job": job, "kind": ReplyKind.DONE, "lines": forward.lines,
                            "status": status}, self.config.lease_s)

    def _send_line(self, writer: ReplyWriter, job: str, body: dict[str, Any],
                   cancel: threading.Event) -> None:
        if not writer.publish({"job": job, **body}, self.config.lease_s / 2):
            cancel.set()  # the controller cannot hear us: it will call the run lost

    def _keep_alive(self, job: str, cancel: threading.Event, done: threading.Event) -> None:
        writer = ReplyWriter(self.config, self.name, job)
        beat = self.config.lease_s / 4
        try:
            while not done.wait(beat):
                alive = {"job": job, "kind": ReplyKind.ALIVE}
                if not writer.publish(alive, self.config.lease_s / 2):
                    cancel.set()  # half a lease unheard: stop Ansible before we are lost
        finally:
            writer.close()

    def cancel(self, payload: dict[str, Any]) -> None:
        """Stop a running job (the controller was asked to stop the run)."""
        event = self._cancels.get(str(payload["job"]))
        if event is not None:
            event.set()


def serve_node(config: BrokerConfig, name: str, concurrency: int = 8) -> None:
    """Be execution node `name` until stopped: take jobs from its queue and run them.

    Raises:
        ConfigError: the broker settings are another user's (a node connects as itself).
    """
    from provisioner.nodes import broker
    from provisioner.nodes.checks import CHECK_TASK, check_handler
    from provisioner.nodes.health import poll_handler

    if config.user != check_node_name(name):
        raise ConfigError(f"broker settings {config.source}: user is {config.user!r}, not the "
                          f"node's name {name!r}; each node connects as its own broker user")
    node = Node(config)
    broker.serve(config, name, {PLAY_TASK: node.play, CANCEL_TASK: node.cancel,
                                POLL_TASK: poll_handler(config),
                                CHECK_TASK: check_handler(config)},
                 late_ack=frozenset({POLL_TASK, CHECK_TASK}), concurrency=concurrency)
