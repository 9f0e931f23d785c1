"""`provision audit`: who ran which changing command when."""

from __future__ import annotations

import click

from provisioner.cli.base import Context, cli, echo_rendered, json_option, pass_ctx
from provisioner.terminal import to_json


@cli.command("audit")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="How many entries, newest first.")
@json_option
@pass_ctx
def audit_cmd(obj: Context, limit: int) -> None:
    """Show the audit log: who ran which changing command when, and how it ended.

    Example: provision audit --limit 20
    """
    entries = obj.app.store.audit_entries(limit)
    if obj.json_output:
        echo_rendered(to_json(entries), nl=False)
        return
    obj.table(["when", "who", "command", "outcome", "detail"],
              [[e.at, e.user, e.command, e.outcome, e.detail] for e in entries])
