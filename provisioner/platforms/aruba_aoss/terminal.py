"""The terminal side of a simulated AOS-S session: keystrokes in, screen output out. No I/O.

As a 2530 on YA.16.11 behaves over SSH (Basic Operation Guide, "Using the CLI";
captured sessions): the copyright banner and restricted rights legend, then "Press any
key to continue" waiting for one key; typed characters echoed, Backspace erasing, Enter
running the line, Ctrl-C dropping it; output longer than the screen (24 lines, the
`terminal length` default) stops at "-- MORE --, next page: Space, next line: Enter,
quit: Control-C" until a key is pressed, unless the session said `no page`; the MORE
line is then erased with VT100 codes (ESC [2K), as the switch does; y/n questions take
one key, without Enter.
"""

from __future__ import annotations

from collections.abc import Callable

from provisioner.platforms.aruba_aoss.cli import Reply
from provisioner.platforms.aruba_aoss.config import DESCRIPTION, RELEASE
from provisioner.platforms.aruba_aoss.shell import Shell

MORE = "-- MORE --, next page: Space, next line: Enter, quit: Control-C"
ERASE_LINE = "\r\x1b[2K"
CTRL_C = "\x03"
BANNER = (
    f"{DESCRIPTION}", f"Software revision {RELEASE}", "",
    " (C) Copyright 2025 Hewlett Packard Enterprise Development LP", "",
    "                      RESTRICTED RIGHTS LEGEND",
    " Confidential computer software. Valid license from Hewlett Packard Enterprise",
    " Development LP required for possession, use or copying. Consistent with FAR",
    " 12.211 and 12.212, Commercial Computer Software, Computer Software",
    " Documentation, and Technical Data for Commercial Items are licensed to the",
    " U.S. Government under vendor's standard commercial license.", "",
)


class Terminal:
    """One session's keyboard and screen over a `Shell`.

    Args:
        shell: the session's command shell.
        write: sends text to the client (already with CR LF line ends).
        close: ends the session.
        screen_lines: lines per page while paging is on.
    """

    def __init__(self, shell: Shell, write: Callable[[str], None], close: Callable[[], None],
                 screen_lines: int = 24) -> None:
        self.shell = shell
        self._write = write
        self._close = close
        self._screen = screen_lines
        self._state = "banner"  # banner, line, more, question
        self._line = ""
        self._last = ""
        self._pending: list[str] = []  # lines held back by the pager
        self._after: Reply = Reply()  # what follows the paged lines
        self._closed = False

    def start(self) -> None:
        """Show the banner and wait for a key."""
        self._write("\r\n".join(BANNER) + "\r\nPress any key to continue")

    def feed(self, text: str) -> None:
        """Handle what the client typed (any number of characters)."""
        for char in text:
            if self._closed:
                return
            previous, self._last = self._last, char
            if self._state == "line" and char == "\n" and previous == "\r":
                continue  # CR LF is one Enter
            getattr(self, f"_key_{self._state}")(char)

    def _key_banner(self, char: str) -> None:
        self._state = "line"
        self._write("\r\n" + self.shell.prompt())

    def _key_line(self, char: str) -> None:
        if char in "\r\n":
            line, self._line = self._line, ""
            self._write("\r\n")
            self._show(self.shell.run(line))
        elif char in "\x7f\x08":
            if self._line:
                self._line = self._line[:-1]
                self._write("\x08 \x08")
        elif char == CTRL_C:
            self._line = ""
            self._write("\r\n" + self.shell.prompt())
        elif char.isprintable():
            self._line += char
            self._write(char)

    def _key_question(self, char: str) -> None:
        question = self._after.question
        assert question is not None
        self._write((char if char.isprintable() else "") + "\r\n")
        self._show(question.answer(char))

    def _key_more(self, char: str) -> None:
        self._write(ERASE_LINE)
        if char == " ":
            self._page(self._screen - 1)
        elif char in "\r\n":
            self._page(1)
        else:  # q, Ctrl-C and any other key end the listing
            self._pending = []
            self._page(0)

    def _show(self, reply: Reply) -> None:
        lines = [part for line in reply.lines for part in line.split("\n")]
        self._pending, self._after = lines, reply
        self._page(self._screen - 1 if self.shell.paging else len(lines))

    def _page(self, count: int) -> None:
        shown, self._pending = self._pending[:count], self._pending[count:]
        if shown:
            self._write("\r\n".join(shown) + "\r\n")
        if self._pending and self.shell.paging:
            self._state = "more"
            self._write(MORE)
            return
        self._finish(self._after)

    def _finish(self, reply: Reply) -> None:
        if reply.close:
            self._closed = True
            self._close()
        elif reply.question is not None:
            self._state = "question"
            self._write(reply.question.text)
        else:
            self._state = "line"
            self._write(self.shell.prompt())
