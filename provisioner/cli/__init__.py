"""The `provision` command: parse, call the library, render. Only this package imports click.

One module per command group; importing them registers their commands on `cli`.
"""

from __future__ import annotations

from provisioner.cli import (
    audit,
    export,
    health,
    inventory,
    lab,
    node,
    plan,
    platforms,
    provision,
    schools,
    wlan,
)
from provisioner.cli.base import cli

__all__ = [
    "audit", "cli", "export", "health", "inventory", "lab", "main", "node", "plan",
    "platforms", "provision", "schools", "wlan",
]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="provision")
