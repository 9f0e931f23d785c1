"""A plan file's rows as read: the hand-over from the reader to the checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provisioner.xlsx import Row


@dataclass(frozen=True)
class RawTable:
    """A plan file's rows as read, before their meaning is checked.

    Attributes:
        source: the file name, for messages.
        sha256: hex digest of the file's bytes.
        detected: what was read, in words (`CSV, ';', Windows-1252`).
        header_row: the header's row number as the spreadsheet shows it; None if
            no row in the first 20 names enough known columns.
        header: the header row's cells as text.
        rows: (row number, cells) of the rows below the header.
    """

    source: str
    sha256: str
    detected: str
    header_row: int | None
    header: tuple[str, ...]
    rows: Sequence[Row]
