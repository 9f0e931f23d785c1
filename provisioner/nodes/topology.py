"""Names on the broker and who may use them. Pure: no broker library here.

Per execution node N:

| thing | name | who |
|---|---|---|
| job queue (durable) | `node.N.jobs` | the controller publishes, N consumes |
| reply exchange (direct, durable) | `node.N.out` | N publishes its replies |
| one job's reply queue (durable) | `node.N.reply.<job>` | the controller consumes |

A job's reply queue is bound to `node.N.out` with the job's name as routing key.

The controller declares all of them; a node declares nothing. A node's broker user
may read its own job queue and write its own reply exchange, nothing else: it cannot
read another node's jobs, nor put a message into another node's replies.
"""

from __future__ import annotations

import re
from enum import StrEnum

from provisioner.errors import ConfigError

CONTROLLER_USER = "controller"


class ReplyKind(StrEnum):
    """What a node's reply to a job says (the `kind` of every message on `node.N.out`)."""

    ACCEPTED = "accepted"  # the node took the job (provisioning, health)
    LINE = "line"  # one line of ansible-runner's worker stream, numbered from 0
    ALIVE = "alive"  # still working on the job (every quarter lease)
    RESULTS = "results"  # a batch of per-device results (checks, health polls)
    DONE = "done"  # nothing more will come for this job
    REFUSED = "refused"  # the node did not run the job; `reason` says why
_NODE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")


def check_node_name(name: str) -> str:
    """`name` when it is a valid execution node name (lower-case letters, digits, `-`).

    Raises:
        ConfigError: it is not (names what is allowed).
    """
    if not _NODE_NAME.match(name) or name == CONTROLLER_USER:
        raise ConfigError(f"execution node name {name!r} is not valid; use 1-31 lower-case "
                          "letters, digits and '-', starting with a letter or digit "
                          f"(and not {CONTROLLER_USER!r})")
    return name


def jobs_queue(node: str) -> str:
    """The node's job queue."""
    return f"node.{node}.jobs"


def reply_exchange(node: str) -> str:
    """The exchange the node publishes its replies to."""
    return f"node.{node}.out"


def reply_queue(node: str, job: str) -> str:
    """The queue one job's replies are kept in until the controller has them."""
    return f"node.{node}.reply.{job}"


def node_permissions(node: str) -> tuple[str, str, str]:
    """The node's broker permissions (configure, write, read), as RabbitMQ regexes."""
    name = re.escape(check_node_name(node))
    return "^$", f"^node\\.{name}\\.out$", f"^node\\.{name}\\.jobs$"
