"""Rendering for people: tables and money. The only module importing rich.

On a terminal tables get lines and colour; piped or captured, they are plain
aligned columns, so `grep`, `cut` and tests see stable text.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from provisioner.lines import printable

PLAIN_WIDTH = 200


def eur(amount: Decimal | None) -> str:
    """Money the way a German committee reads it: 949.500,00 €."""
    if amount is None:
        return ""
    text = f"{amount:,.2f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".") + " €"


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str | None = None,
    tty: bool = False, right: Sequence[int] = (),
) -> str:
    """A table as text; `right` lists the columns to align right (numbers, money)."""
    table = Table(title=title, box=box.SIMPLE_HEAD if tty else None, show_edge=tty,
                  pad_edge=False, title_justify="left")
    for n, header in enumerate(headers):
        # Headers may be a device's words too (a controller's SSID names).
        table.add_column(cell_text(header), justify="right" if n in right else "left",
                         no_wrap=not tty, overflow="fold")
    for row in rows:
        table.add_row(*(cell_text(cell) for cell in row))
    buffer = io.StringIO()
    # Piped, nothing may be squeezed out: a long error in one cell must not crop the
    # device name in another, so the plain width is whatever the widest row needs.
    needed = sum(max([len(h), *(len(str(r[n] or "")) for r in rows)]) + 2
                 for n, h in enumerate(headers))
    console = Console(file=buffer, width=None if tty else max(PLAIN_WIDTH, needed + 2),
                      force_terminal=tty,
                      color_system="auto" if tty else None, highlight=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def cell_text(cell: object) -> Text:
    """One table cell as literal text: never read as rich markup (a device named "[/]"
    would end the whole table with a MarkupError, "[bold]..." would restyle it), its
    control characters as blanks, its line breaks kept."""
    text = "" if cell is None else str(cell)
    return Text("\n".join(printable(line) for line in text.split("\n")))


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """Machine-readable output: dataclasses as objects, money as exact decimal strings."""
    return json.dumps(_plain(value), ensure_ascii=False, indent=2) + "\n"


class LiveBoard:
    """A table redrawn in place on a terminal (stderr), one row per key: live progress.

    Use as a context manager; `update(key, cells)` adds or replaces a row. Only for
    terminals: callers print plain lines when the output is not one.
    """

    def __init__(self, headers: Sequence[str], *, title: str | None = None) -> None:
        from rich.live import Live

        self._headers = list(headers)
        self._title = title
        self._rows: dict[str, list[str]] = {}
        self._live = Live(self._render(), console=Console(stderr=True),
                          refresh_per_second=4, transient=True)

    def _render(self) -> Table:
        table = Table(*self._headers, title=self._title, box=box.SIMPLE_HEAD,
                      title_justify="left")
        for row in self._rows.values():
            table.add_row(*(cell_text(cell) for cell in row))
        return table

    def update(self, key: str, cells: Sequence[object]) -> None:
        """Add or replace the row `key` and redraw."""
        self._rows[key] = ["" if c is None else str(c) for c in cells]
        self._live.update(self._render())

    def __enter__(self) -> LiveBoard:
        self._live.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._live.stop()


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr for the block; yields `update(done, total)`.

    Only for a terminal: callers print plain lines (or nothing) otherwise. `update` may
    be called from another thread (the poller's).
    """
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
