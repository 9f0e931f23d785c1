"""Device text made fit for one line of a record or a terminal.

What a device says (a failed task's stderr, a role's report that names an AP, a WLAN
controller's AP names) reaches the database, the summary and the admin's terminal.
Its control characters (escape sequences among them) become blanks there, so a hostile
device cannot rewrite the admin's screen, and each line is bounded. This module imports
nothing of the tool.
"""

from __future__ import annotations

LINE_MAX = 300  # characters kept of one line


def one_line(text: object, limit: int = LINE_MAX) -> str:
    """The first non-blank line of `text` (stripped), control characters as blanks, at
    most `limit` characters."""
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return printable(line[:limit])


def printable(text: str) -> str:
    """`text` with every non-printable character (control characters, escape sequences'
    ESC, line breaks) as a blank."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def joined_lines(*parts: str) -> str:
    """Every non-blank line of `parts`, each as `one_line` keeps it, one per line, each
    line once: how a host's warnings are stored (`HostRun.warnings`)."""
    lines = (one_line(line) for part in parts for line in str(part).splitlines())
    return "\n".join(dict.fromkeys(line for line in lines if line))
