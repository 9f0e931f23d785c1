"""Which legacy 8-bit code page a CSV file that is not UTF-8 is written in.

The programs a German school office meets write these (docs/plan-format.md, "Files"):

- Windows-1252: Excel on Windows, "CSV (Trennzeichen-getrennt)"; also Excel for Mac's
  "CSV (Windows)". ISO-8859-1 files read the same (it is Windows-1252 without the
  bytes 0x80-0x9F).
- ISO-8859-15: Unix tools and LibreOffice's "Westeuropa (ISO-8859-15)" (€ at 0xA4).
- Mac Roman: Excel for Mac's "CSV (Macintosh)" (old Mac Excel ends lines with CR only).
- DOS code pages 850, 858 (850 with €) and 437: Excel's "CSV (MS-DOS)" on a German
  Windows, and DOS-era school administration tools.
- Windows-1250, ISO-8859-2, DOS 852 (Polish, Czech ... names) and Windows-1254 (Turkish).

Every one of them gives *some* text for any byte, so the choice is by plausibility:
each candidate decodes the file's words that hold non-ASCII bytes, and each reading is
judged by what German office text looks like (`judge`). A reading with an implausible
character (`MŸhlenbach`: an upper-case letter inside a lower-case word; `Ma§nahme`: a
symbol between letters; `¤`, box-drawing characters, controls) is out. Of the rest, the
one with the fewest letters outside German's ä ö ü Ä Ö Ü ß wins (`Weißdornweg` in DOS
850 over `Weiádornweg` in Windows-1252). Two different readings that tie are not
guessed between: the file is refused naming both. Code pages that read the file the
same are one reading, named by the first of them in `CANDIDATES`.

Measured on German plan files in each of these code pages (tests/plan/test_codepages.py):
charset-normalizer 3.5 (even limited to these candidates) and chardet 7.7 misread short
files (one umlaut read as `M³hlenbach` by charset-normalizer; a lone DOS `ß` as `á` and
ISO-8859-15's `€` as `§` by chardet, at confidence 0.05), and ftfy's badness heuristic
scores every 8-bit misreading 0 (it looks for UTF-8 mojibake only), so none of them
decides here.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# (Python codec, name shown to the user), in order of preference for the name.
CANDIDATES: tuple[tuple[str, str], ...] = (
    ("cp1252", "Windows-1252"),
    ("iso8859_15", "ISO-8859-15"),
    ("mac_roman", "Mac Roman"),
    ("cp850", "DOS code page 850"),
    ("cp858", "DOS code page 858"),
    ("cp437", "DOS code page 437"),
    ("cp1250", "Windows-1250"),
    ("iso8859_2", "ISO-8859-2"),
    ("cp852", "DOS code page 852"),
    ("cp1254", "Windows-1254"),
)
LABELS = dict(CANDIDATES)
GERMAN_LETTERS = frozenset("äöüÄÖÜß")
# A run of bytes between separators (space, CSV delimiters, quotes) holding a byte >= 0x80,
# with a number after a space ("§ 5").
_WORD = re.compile(rb"[^\s;,|\"]*[\x80-\xff][^\s;,|\"]*(?: [0-9])?")
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_APOSTROPHES = frozenset("’´ʼ")  # in a word ("Kid´s": people type ´) or number ("5’360")
_SPACING = frozenset("–‐‑‒−\u00a0\u2007\u2009\u202f\u00ad")  # dashes, spaces, soft hyphen
_CURRENCY = frozenset("€£¥¢")  # never touching a letter, never inside a number
_AFTER_WORD = frozenset("™®©²³¹…")  # may end a word ("m²", "Board®"), never precede a letter
_NUMERIC = frozenset("½¼¾‰")  # stand by numbers ("1½", "5‰"), never touch a letter
_APART = frozenset("—°×·•±„“”‚‘«»")  # never between two letters ("Nord — Süd")
# A closing quote after a word comes with an opening one somewhere in the file
# ("„Am Park“", "‚Sonne‘", "“Park”"); alone it is more likely a misread letter ("Zo‘").
_OPENERS = {"“": "„“", "‘": "‚‘", "”": "„“"}
_NOT_LETTERS = frozenset("ƒ")  # the florin sign is a "letter" in Unicode


@dataclass(frozen=True)
class Reading:
    """What one code page makes of the file's words that hold non-ASCII bytes.

    Attributes:
        codec: the Python codec, e.g. `mac_roman`.
        label: its name for the user, e.g. `Mac Roman`.
        words: the decoded words, one per distinct word of the file, in file order.
        lines: the line each word first appears on.
        bad: per word, its implausible characters (see `judge`).
        foreign: letters other than ä ö ü Ä Ö Ü ß, in all words.
    """

    codec: str
    label: str
    words: tuple[str, ...]
    lines: tuple[int, ...]
    bad: tuple[int, ...]
    foreign: int

    @property
    def implausible(self) -> int:
        """Implausible characters in all words."""
        return sum(self.bad)

    def example(self, other: Reading | None = None) -> tuple[str, int]:
        """A word to show the user and its line: the first implausible one; else the
        first that reads differently in `other`; else the first."""
        if not self.words:
            return "", 1
        index = next((i for i, bad in enumerate(self.bad) if bad), None)
        if index is None and other is not None:
            index = next((i for i, (a, b) in enumerate(zip(self.words, other.words,
                                                               strict=True)) if a != b), None)
        index = index or 0
        return self.words[index], self.lines[index]


class Undecided(ValueError):
    """No code page gives plausible text, or two give different plausible text.

    Attributes:
        readings: the readings in question, best first.
    """

    def __init__(self, readings: list[Reading]) -> None:
        super().__init__(", ".join(r.label for r in readings))
        self.readings = readings


def detect(data: bytes) -> Reading:
    """The code page that reads the file's text plausibly (see the module doc).

    Args:
        data: a file that is not UTF-8 text (it holds bytes >= 0x80).

    Returns:
        The winning reading; decode the whole file with its `codec`.

    Raises:
        Undecided: no candidate reads plausibly (`readings` holds the least bad one),
            or several read differently and equally well (`readings` holds them).
    """
    words = _distinct_words(data)
    readings: dict[tuple[str, ...], Reading] = {}
    for codec, label in CANDIDATES:
        reading = _read(codec, label, words)
        if reading is not None:
            readings.setdefault(reading.words, reading)  # same text: the first name
    plausible = [r for r in readings.values() if r.implausible == 0]
    if not plausible:
        raise Undecided([min(readings.values(), key=lambda r: (r.implausible, r.foreign))])
    fewest = min(r.foreign for r in plausible)
    best = [r for r in plausible if r.foreign == fewest]
    if len(best) > 1:
        raise Undecided(best)
    return best[0]


def read_as(data: bytes, codec: str, label: str) -> Reading | None:
    """How one code page reads the file (None: some byte is undefined in it)."""
    return _read(codec, label, _distinct_words(data))


def _distinct_words(data: bytes) -> dict[bytes, int]:
    """Each distinct word holding a byte >= 0x80, with the line it first appears on."""
    first: dict[bytes, int] = {}
    ends: list[int] | None = None
    for match in _WORD.finditer(data):
        if match.group() not in first:
            ends = ends if ends is not None else _line_ends(data)
            first[match.group()] = bisect.bisect_right(ends, match.start()) + 1
    return first


def _line_ends(data: bytes) -> list[int]:
    return [match.end() for match in _LINE_BREAK.finditer(data)]


def line_of(data: bytes, offset: int) -> int:
    """The line (1-based) of a byte offset; CR LF, LF and CR alone each end a line."""
    return len(_LINE_BREAK.findall(data, 0, offset)) + 1


def _read(codec: str, label: str, words: dict[bytes, int]) -> Reading | None:
    """One code page's reading, or None if some byte is undefined in it."""
    try:
        decoded = [raw.decode(codec) for raw in words]
    except UnicodeDecodeError:
        return None
    opening = _opening_quotes(decoded)
    judged = [judge(word, opening) for word in decoded]
    return Reading(codec, label, tuple(decoded), tuple(words.values()),
                   tuple(bad for bad, _ in judged), sum(alien for _, alien in judged))


def _opening_quotes(words: list[str]) -> set[str]:
    """The quotes that open a quotation somewhere in these words (before a letter, not
    after one): `„` and `‚` (German), `“` and `‘` (English)."""
    found: set[str] = set()
    for word in words:
        for index, char in enumerate(word):
            if char in "„“‚‘" and not word[index - 1:index].isalpha() \
                    and word[index + 1:index + 2].isalpha():
                found.add(char)
    return found


def judge(word: str, opening: set[str] | frozenset[str] = frozenset("„“‚‘")) -> tuple[int, int]:
    """(implausible characters, letters other than German's) in one word.

    Args:
        word: text between spaces or CSV delimiters, e.g. `Mühlenbach`, `5.360,00€`.
        opening: the opening quotes found anywhere in the same reading of the file.
    """
    implausible = foreign = 0
    for index, char in enumerate(word):
        if char.isascii():
            continue
        before = word[index - 1] if index else ""
        after = word[index + 1:index + 2]
        if _is_letter(char):
            if not _case_fits(char, before, after, index):
                implausible += 1
            elif char not in GERMAN_LETTERS or not (before.isalpha() or after.isalpha()):
                foreign += 1  # a lone letter counts too: no German word is "Ä" alone
        elif not _mark_fits(char, before, word[index + 1:]) or (
                before.isalpha() and char in _OPENERS and not opening & set(_OPENERS[char])):
            implausible += 1
    return implausible, foreign


def _is_letter(char: str) -> bool:
    """A Latin letter (the only letters these code pages give German office text)."""
    latin = "\u00c0" <= char <= "\u024f" or "\u1e00" <= char <= "\u1eff"
    return latin and char.isalpha() and char not in _NOT_LETTERS


def _case_fits(char: str, before: str, after: str, index: int) -> bool:
    """Whether a non-ASCII letter's case fits its neighbours' in the word."""
    if char.isupper():
        if before.isalpha() and before.islower():
            return False  # "MŸhlenbach"
        # "FÜrderschule": upper case inside a word, before lower case
        return not (index and before.isalpha() and after.isalpha() and after.islower())
    return not (after.isalpha() and after.isupper())  # "šBERRUHR", "ãAm"


def _mark_fits(char: str, before: str, rest: str) -> bool:
    """Whether a non-letter fits between `before` and the `rest` of its word."""
    after = rest[:1]
    if char in _SPACING:
        return True
    if char in _APOSTROPHES:
        return before.isalpha() or after.isalpha() or (before.isdigit() and after.isdigit())
    if char in _CURRENCY:
        return not (before.isalpha() or after.isalpha() or (before.isdigit() and after.isdigit()))
    if char in _NUMERIC:
        return not before.isalpha() and not after.isalpha()
    if char in _AFTER_WORD:
        return not after.isalpha()
    if char in _APART:
        return not (before.isalpha() and after.isalpha())
    if char == "§":  # "§ 5", "§§": before a number
        return not before.isalpha() and (after == "§" or rest.lstrip(" ")[:1].isdigit())
    if char == "µ":  # "5 µm"
        return not before.isalpha()
    return False  # ¤, box drawing, controls, maths, Greek, ligatures ...


def byte_meanings(byte: int) -> list[tuple[str, str]]:
    """What a single stray byte is in the code pages where it is a German letter or €.

    Returns:
        (code page name, character) pairs, e.g. `[("Mac Roman", "ü")]` for 0x9F; empty
        when it is no such character in any candidate.
    """
    meanings: dict[str, str] = {}
    for codec, label in CANDIDATES:
        try:
            char = bytes([byte]).decode(codec)
        except UnicodeDecodeError:
            continue
        if char in GERMAN_LETTERS or char == "€":
            meanings.setdefault(char, label)
    return [(label, char) for char, label in meanings.items()]
