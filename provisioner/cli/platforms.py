"""`provision platforms`: the capability matrix of the platform registry."""

from __future__ import annotations

from provisioner.cli.base import Context, cli, echo_rendered, json_option, pass_ctx
from provisioner.platforms import Capability, matrix
from provisioner.terminal import to_json


def _cell(text: str) -> str:
    """A capability the platform has: "yes", or how (the lab's "SNMP only")."""
    return "yes" if text in ("yes", "simulated") else text


def matrix_text(tty: bool = False) -> str:
    """The matrix as `provision platforms` prints it (the README shows the plain one)."""
    from provisioner.terminal import render_table

    headers = ["platform", "kind", *(c.value for c in Capability), "also known as"]
    rows = [[row.platform, row.kind, *(_cell(row.lab if c is Capability.LAB else "yes")
                                       if row.capabilities[c.value] else "-"
                                       for c in Capability), ", ".join(row.aliases)]
            for row in matrix()]
    return render_table(headers, rows, tty=tty)


@cli.command("platforms")
@json_option
@pass_ctx
def platforms_cmd(obj: Context) -> None:
    """List the device platforms the tool knows and what it can do with each.

    One row per platform (the inventory's `platform` value, or one of its aliases):
    whether the tool provisions it through Ansible, runs it in check mode, verifies it
    by reading it back, reads its health over SNMP, and simulates it in the lab.
    docs/platforms.md says how to add one.

    Example: provision platforms --json
    """
    if obj.json_output:
        echo_rendered(to_json(matrix()), nl=False)
        return
    echo_rendered(matrix_text(obj.tty), nl=False)
