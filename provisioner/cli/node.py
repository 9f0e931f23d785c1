"""`provision node run`: this machine as an execution node (docs/scale-out.md)."""

from __future__ import annotations

import click

from provisioner.cli.base import Context, cli, fail, pass_ctx
from provisioner.errors import ProvisionerError


@cli.group("node")
def node_group() -> None:
    """Execution nodes: provisioning and health polls near the schools (docs/scale-out.md)."""


@node_group.command("run")
@click.option("--name", required=True, help="This node's name (its broker user and queue).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Jobs run at once (schools provisioned, polls).")
@pass_ctx
def node_run_cmd(obj: Context, name: str, concurrency: int) -> None:
    """Be execution node NAME until stopped: run the jobs of its queue.

    Reads the broker settings (broker_config), whose user must be NAME. Provisioning
    jobs run at most once (a repeat delivery is refused and recorded); health polls
    are answered to the controller, which judges and stores. Stop it with SIGTERM
    (systemd: examples/systemd/provisioner-node@.service).

    Example: provision node run --name node-nord
    """
    from provisioner.nodes.config import load_broker_config
    from provisioner.nodes.node import serve_node

    try:
        config = load_broker_config(obj.app.settings.broker_config)
        obj.progress(f"execution node {name}: waiting for jobs from {config.url}")
        serve_node(config, name, concurrency)
    except ProvisionerError as exc:
        fail(exc)
