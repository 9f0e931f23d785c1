"""The README's command reference is `--help` of every command, kept in step here.

After changing a command's help: `UPDATE_README=1 .venv/bin/pytest tests/test_readme.py`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from provisioner.cli import cli

README = Path(__file__).parent.parent / "README.md"
START, END = "<!-- reference:start -->", "<!-- reference:end -->"


def _help(path: list[str]) -> str:
    ctx = click.Context(cli, info_name="provision", terminal_width=100, max_content_width=100,
                        help_option_names=["-h", "--help"])
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
        ctx = click.Context(command, info_name=name, parent=ctx, terminal_width=100,
                            max_content_width=100)
    return command.get_help(ctx)


def _paths(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    paths: list[list[str]] = []
    for name in sorted(group.commands):
        command = group.commands[name]
        paths.append([*prefix, name])
        if isinstance(command, click.Group):
            paths += _paths(command, (*prefix, name))
    return paths


def reference() -> str:
    parts = [f"### provision\n\n```\n{_help([])}\n```\n"]
    parts += [f"### provision {' '.join(p)}\n\n```\n{_help(p)}\n```\n" for p in _paths()]
    return "\n".join(parts)


def test_readme_reference_matches_help() -> None:
    text = README.read_text(encoding="utf-8")
    current = text.split(START)[1].split(END)[0].strip()
    wanted = reference().strip()
    if os.environ.get("UPDATE_README") and current != wanted:
        README.write_text(text.replace(current, wanted) if current else
                          text.replace(START + "\n", START + "\n" + wanted + "\n"),
                          encoding="utf-8")
        return
    assert current == wanted, "README reference is stale: UPDATE_README=1 pytest " \
                              "tests/test_readme.py"


def test_every_command_in_readme_reference() -> None:
    text = README.read_text(encoding="utf-8")
    for path in _paths():
        assert re.search(rf"^### provision {' '.join(path)}$", text, re.M), path
