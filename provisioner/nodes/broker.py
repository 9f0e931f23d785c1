"""The broker, through Celery 5 and kombu on RabbitMQ: the only module importing them.

Jobs go to a node as Celery tasks on the node's own queue; a node's replies (status
lines, events, poll results) go back through its reply exchange into a durable queue
per job, which the controller reads (`topology` has the names and permissions). Every
message is persistent and every queue durable, so a broker restart loses none;
publishing waits for the broker's confirmation and retries over reconnects, so a
message may come twice (the readers drop repeats: `seq` for provisioning, the device
for health).

Celery is imported by nothing else and only when a school names an execution node.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from celery import Celery
from kombu import Connection, Consumer, Exchange, Producer, Queue

from provisioner.errors import ProvisionerError
from provisioner.nodes.config import BrokerConfig
from provisioner.nodes.topology import jobs_queue, reply_exchange, reply_queue
from provisioner.secrets import read_secret

_RETRY_PAUSE_S = 1.0


class BrokerError(ProvisionerError):
    """The broker cannot be reached or refused us (names the broker and what to check)."""


def _ssl(config: BrokerConfig) -> dict[str, Any]:
    return {"ca_certs": str(config.ca_file), "cert_reqs": ssl.CERT_REQUIRED,
            "server_hostname": config.host}


def connection(config: BrokerConfig) -> Connection:
    """A new (not yet open) connection to the broker as the configured user."""
    parts = urlsplit(config.url)
    password = read_secret(config.password_file, f"broker user {config.user}")
    return Connection(hostname=parts.hostname, port=parts.port or 5671, userid=config.user,
                      password=password, virtual_host=(parts.path[1:] or "/"),
                      ssl=_ssl(config), transport="pyamqp", heartbeat=10, connect_timeout=5,
                      transport_options={"confirm_publish": True})


def _errors(conn: Connection) -> tuple[type[BaseException], ...]:
    return (*conn.connection_errors, *conn.channel_errors, OSError)


def _discard(conn: Connection) -> None:
    """Close a connection that may be half open or broken, whatever state it is in.

    `release()` says goodbye to the broker and can fail part-way when the broker went
    away; `collect()` then closes the socket without a word, so none is left to the
    garbage collector (an unclosed TLS socket per broker restart otherwise).
    """
    with contextlib.suppress(Exception):
        conn.release()
    with contextlib.suppress(Exception):
        conn.collect()


def _job_queue(node: str) -> Queue:
    return Queue(jobs_queue(node), exchange=Exchange(""), routing_key=jobs_queue(node),
                 durable=True, no_declare=True)


def _reply_exchange(node: str) -> Exchange:
    return Exchange(reply_exchange(node), type="direct", durable=True)


def declare_node(config: BrokerConfig, node: str, job: str | None = None) -> None:
    """Declare a node's job queue and reply exchange, and a job's reply queue (controller).

    Raises:
        BrokerError: the broker cannot be reached or refused it.
    """
    conn = connection(config)
    try:
        with conn:
            channel = conn.channel()
            Queue(jobs_queue(node), durable=True, channel=channel).declare()
            _reply_exchange(node).bind(channel).declare()
            if job is not None:
                Queue(reply_queue(node, job), _reply_exchange(node), routing_key=job,
                      durable=True, channel=channel).declare()
    except _errors(conn) as exc:
        raise BrokerError(f"broker {config.url} (as {config.user}): {exc}; check that it runs "
                          f"and the settings in {config.source or 'the broker settings'}") from exc


def delete_replies(config: BrokerConfig, node: str, job: str) -> None:
    """Remove a finished job's reply queue (what is left in it is a repeat)."""
    conn = connection(config)
    with contextlib.suppress(*_errors(conn)), conn:
        Queue(reply_queue(node, job), channel=conn.channel()).delete()


def _celery(config: BrokerConfig, name: str) -> Celery:
    parts = urlsplit(config.url)
    password = quote(read_secret(config.password_file, f"broker user {config.user}"), safe="")
    app = Celery(name, set_as_current=False)
    app.conf.update(
        broker_url=(f"pyamqp://{quote(config.user, safe='')}:{password}@{parts.hostname}:"
                    f"{parts.port or 5671}/{quote(parts.path[1:] or '/', safe='')}"),
        broker_use_ssl=_ssl(config), broker_heartbeat=10,
        broker_connection_retry_on_startup=True, broker_connection_max_retries=None,
        broker_transport_options={"confirm_publish": True},
        task_serializer="json", accept_content=["json"], task_ignore_result=True,
        worker_enable_remote_control=False, worker_send_task_events=False,
        worker_prefetch_multiplier=1, worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app


def send_job(config: BrokerConfig, node: str, task: str, job: str,
             payload: Mapping[str, Any]) -> None:
    """Put one job on the node's queue (a Celery task named `task`, id `job`).

    Raises:
        BrokerError: the broker cannot be reached or refused it.
    """
    app = _celery(config, "provisioner-controller")
    try:
        with app.connection_for_write() as conn:
            app.send_task(task, args=[dict(payload)], task_id=job, connection=conn,
                          queue=_job_queue(node), routing_key=jobs_queue(node), declare=[],
                          retry=True, retry_policy={"max_retries": 3})
    except Exception as exc:  # Celery wraps kombu's and amqp's errors in its own
        raise BrokerError(f"broker {config.url}: job {job} for node {node} not sent ({exc}); "
                          "check that the broker runs") from exc
    finally:
        app.close()


class ReplyReader:
    """A job's replies, in arrival order, over reconnects (controller side).

    Each message is acknowledged as soon as it is handed over: the reader's caller
    keeps what it got, and a repeat (a reply published twice) is its to drop.
    """

    def __init__(self, config: BrokerConfig, node: str, job: str) -> None:
        self._config, self._node, self._job = config, node, job
        self._conn: Connection | None = None
        self._got: deque[dict[str, Any]] = deque()

    def _open(self) -> Connection:
        if self._conn is None:
            # Kept before it is used, so that a failure part-way (connected, but the
            # queue refused) is closed by `_drop` like any other.
            self._conn = conn = connection(self._config)
            conn.connect()
            queue = Queue(reply_queue(self._node, self._job), _reply_exchange(self._node),
                          routing_key=self._job, durable=True)
            consumer = Consumer(conn.channel(), queues=[queue], callbacks=[self._on],
                                accept=["json"], prefetch_count=200)
            consumer.consume()
        return self._conn

    def _on(self, body: Any, message: Any) -> None:
        if isinstance(body, dict):
            self._got.append(body)
        message.ack()

    def get(self, timeout: float) -> dict[str, Any] | None:
        """The next reply, or None when none came within `timeout` seconds (also when the
        broker could not be reached meanwhile: the caller's clock decides)."""
        deadline = time.monotonic() + timeout
        while not self._got and time.monotonic() < deadline:
            wait = max(0.05, min(1.0, deadline - time.monotonic()))
            try:
                self._open().drain_events(timeout=wait)
            except TimeoutError:
                continue
            except Exception:  # the broker went away: reconnect on the next turn
                self._drop()
                time.sleep(min(_RETRY_PAUSE_S, max(0.0, deadline - time.monotonic())))
        return self._got.popleft() if self._got else None

    def _drop(self) -> None:
        if self._conn is not None:
            _discard(self._conn)
            self._conn = None

    def close(self) -> None:
        """Close the connection."""
        self._drop()


class ReplyWriter:
    """Publishes a job's replies to the node's reply exchange (node side), confirmed by
    the broker, retried over reconnects until a deadline."""

    def __init__(self, config: BrokerConfig, node: str, job: str) -> None:
        self._config, self._node, self._job = config, node, job
        self._conn: Connection | None = None
        self._producer: Producer | None = None

    def _open(self) -> Producer:
        if self._producer is None:
            self._conn = conn = connection(self._config)  # kept first: see ReplyReader._open
            conn.connect()
            self._producer = Producer(conn.channel(), exchange=Exchange(
                reply_exchange(self._node), type="direct", durable=True, no_declare=True))
        return self._producer

    def publish(self, body: Mapping[str, Any], give_up_after_s: float) -> bool:
        """Publish one reply; False when the broker took none of it in time."""
        deadline = time.monotonic() + give_up_after_s
        while True:
            try:
                self._open().publish(dict(body), routing_key=self._job, serializer="json",
                                     delivery_mode=2, declare=[])
                return True
            except Exception:  # the broker went away or refused: reconnect and retry
                self.close()
                if time.monotonic() >= deadline:
                    return False
                time.sleep(_RETRY_PAUSE_S)

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            _discard(self._conn)
        self._conn, self._producer = None, None


def serve(config: BrokerConfig, node: str, tasks: Mapping[str, Callable[[dict[str, Any]], None]],
          *, late_ack: frozenset[str], concurrency: int = 8) -> None:
    """Run the node's Celery worker on its own queue until it is stopped (SIGTERM).

    Args:
        tasks: task name -> handler of its payload.
        late_ack: tasks acknowledged after they ran (at-least-once: a health poll);
            the others are acknowledged before they start (a provisioning job, which
            the node itself refuses to run twice).
        concurrency: jobs run at once (threads of this process).
    """
    wait_for_queue(config, node)
    app = _celery(config, f"provisioner-node-{node}")
    app.conf.update(task_queues=[_job_queue(node)], task_default_queue=jobs_queue(node),
                    task_create_missing_queues=False)
    for name, handler in tasks.items():
        app.task(name=name, acks_late=name in late_ack, reject_on_worker_lost=False)(handler)
    worker = app.Worker(pool="threads", concurrency=concurrency, without_gossip=True,
                        without_mingle=True, without_heartbeat=True, loglevel="WARNING",
                        quiet=True, hostname=f"{node}@{socket.gethostname()}")
    worker.start()


def wait_for_queue(config: BrokerConfig, node: str, pause_s: float = 5.0) -> None:
    """Wait until the node's job queue exists (the controller declares it: a node may
    declare nothing); consuming a missing queue would end the worker."""
    while True:
        conn = connection(config)
        try:
            with conn:
                Queue(jobs_queue(node), channel=conn.channel()).queue_declare(passive=True)
                return
        except Exception:  # not there yet, or the broker not reachable yet
            time.sleep(pause_s)


def hostname_of(url: str) -> str:
    """The host part of a broker URL (for messages)."""
    return urlsplit(url).hostname or url
