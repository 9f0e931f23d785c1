"""TextFSM and ntc-templates: the only module that imports them (ruff TID251).

Platforms read their devices' CLI output with ntc-templates' parsers where one exists
(`parse_ntc`) and with a TextFSM template of their own where none does
(`parse_template`). Device output is untrusted: whatever TextFSM refuses leaves here as
`UnparsableOutputError`, which a platform's read-back turns into a problem line for
that one device.
"""

from __future__ import annotations

import io
from typing import Any

import textfsm
from ntc_templates.parse import parse_output


class UnparsableOutputError(ValueError):
    """A device's output did not fit the parser (the message says which and why)."""


def parse_template(template: str, text: str, what: str) -> list[dict[str, str]]:
    """Rows of `text` by a TextFSM template, as dicts keyed by the template's values.

    Args:
        template: the TextFSM template's text.
        text: the device's output.
        what: the command, for the error message.

    Raises:
        UnparsableOutputError: the template's state machine refused the output.
    """
    try:
        fsm = textfsm.TextFSM(io.StringIO(template))
        rows = fsm.ParseText(text)
    except (textfsm.TextFSMError, textfsm.TextFSMTemplateError) as exc:
        raise UnparsableOutputError(f"{what}: {exc}") from exc
    return [dict(zip(fsm.header, row, strict=True)) for row in rows]


def parse_ntc(platform: str, command: str, text: str) -> list[dict[str, Any]]:
    """Rows of a command's output by ntc-templates' parser for that platform and command.

    Args:
        platform: ntc-templates' platform (`cisco_ios`, `hp_procurve`).
        command: the command as typed (ntc-templates' index matches abbreviations).
        text: the device's output.

    Raises:
        UnparsableOutputError: no template for it, or the template refused the output.
    """
    try:
        rows = parse_output(platform=platform, command=command, data=text)
    except Exception as exc:  # ntc-templates raises its own and TextFSM's errors alike
        raise UnparsableOutputError(f"{command}: {exc}") from exc
    return [dict(row) for row in rows]
