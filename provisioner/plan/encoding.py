"""A CSV file's text encoding, detected per file so that no mojibake is ever stored.

The rules (docs/plan-format.md, "Files"):

- a byte-order mark decides: UTF-8 with BOM (Excel's "CSV UTF-8"), UTF-16 LE/BE
  (Excel's "Unicode-Text");
- UTF-16 without a BOM is recognised by its zero bytes;
- a file that is valid UTF-8 is UTF-8;
- a file that is mostly UTF-8 with stray bytes of an 8-bit code page, or mostly
  Windows-1252 with UTF-8 sequences (one cell typed in another program), would be
  read wrong either way: it is refused, naming every cell concerned;
- otherwise the 8-bit code page whose reading is plausible German office text
  (`codepages`: Windows-1252, ISO-8859-15, Mac Roman, DOS 850/858/437 ...); when
  none is, or two read the file differently and equally well, the file is refused
  naming them;
- `--encoding NAME` overrides the detection; bytes invalid in it are refused, and so
  is an 8-bit code page that reads the file as implausible text (`MŸhlenbach`).

A DOS end-of-file mark (0x1A, Ctrl-Z) at the very end is dropped.

Text that was already garbled before it reached the file (UTF-8 read once as
Windows-1252: `MÃ¼hlenbach`) is recognised by `mojibake_fix`, for every text cell
of every format.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass

from provisioner.plan.codepages import (
    Reading,
    Undecided,
    byte_meanings,
    detect,
    line_of,
    read_as,
)

_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|"
                            rb"[\xf0-\xf4][\x80-\xbf]{3}")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
# What UTF-8 lead and continuation bytes look like when decoded as Windows-1252.
_CP1252_CONTINUATION = "\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_MOJIBAKE = re.compile(f"[\u00c2-\u00f4][{_CP1252_CONTINUATION}]{{1,3}}")


@dataclass(frozen=True)
class Decoded:
    """A file's text and how it was decoded.

    Attributes:
        text: the text; with `mixed` set, undecodable bytes are kept as lone
            surrogates (Python's `surrogateescape`) so the caller can locate them.
        encoding: the encoding in words, for the import summary.
        mixed: None, or what the file mixes (`utf-8`: UTF-8 with stray bytes of
            another encoding; `cp1252`: Windows-1252 with UTF-8 sequences; or, for
            the encoding given with --encoding, in which some bytes are invalid, its
            label).
        note: for an 8-bit code page other than Windows-1252 found by detection, what
            it was told by, for the import's notes.
    """

    text: str
    encoding: str
    mixed: str | None = None
    note: str | None = None


class EncodingError(ValueError):
    """The bytes are not text in any encoding tried; `line` is where it fails."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def lookup(name: str) -> str:
    """The canonical codec name for an --encoding value (`latin-1` -> `iso8859-1`).

    Raises:
        LookupError: Python knows no such encoding.
    """
    return codecs.lookup(name).name


def decode(data: bytes, forced: str | None = None) -> Decoded:
    """Decode a CSV file's bytes by the module's rules.

    Args:
        data: the whole file.
        forced: an encoding name given by the user (--encoding), or None to detect.

    Raises:
        EncodingError: the file holds zero bytes but is no UTF-16; or is not UTF-8 and
            no 8-bit code page, or more than one, reads it plausibly; or the forced
            8-bit code page reads it implausibly.
    """
    data = data.removesuffix(b"\x1a")  # DOS tools end text files with Ctrl-Z
    if forced is not None:
        return _forced(data, forced)
    if data.startswith(codecs.BOM_UTF8):
        return _utf8(data[len(codecs.BOM_UTF8):], "UTF-8 with BOM")
    for bom, codec, label in ((codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16LE with BOM"),
                              (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16BE with BOM")):
        if data.startswith(bom):
            return _strict(data[len(bom):], codec, label)
    if b"\x00" in data:
        return _utf16_without_bom(data)
    return _utf8(data, "UTF-8")


def _strict(data: bytes, codec: str, label: str) -> Decoded:
    try:
        return Decoded(data.decode(codec), label)
    except UnicodeDecodeError as exc:
        raise EncodingError(f"the file is damaged {label} text ({exc.reason})",
                            line_of(data, exc.start)) from exc


def _forced(data: bytes, name: str) -> Decoded:
    codec = lookup(name)
    label = f"{codec} (--encoding)"
    if codec in ("utf-8", "utf-16") and data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE,
                                                         codecs.BOM_UTF16_BE)):
        codec = "utf-8-sig" if codec == "utf-8" else codec
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        pass
    else:
        _check_forced(data, codec, label)
        return Decoded(text, label)
    try:
        return Decoded(data.decode(codec, "surrogateescape"), label, mixed=label)
    except UnicodeDecodeError as exc:  # multi-byte codecs (UTF-16) cannot escape
        raise EncodingError(f"the file is not valid {codec} text ({exc.reason})",
                            line_of(data, exc.start)) from exc


def _utf16_without_bom(data: bytes) -> Decoded:
    """UTF-16 saved without a byte-order mark, told by where the zero bytes are."""
    sample = data[:4096]
    odd_zeros, even_zeros = sample[1::2].count(0), sample[0::2].count(0)
    half = len(sample) // 4
    if odd_zeros > half and even_zeros == 0:
        return _strict(data, "utf-16-le", "UTF-16LE without BOM")
    if even_zeros > half and odd_zeros == 0:
        return _strict(data, "utf-16-be", "UTF-16BE without BOM")
    raise EncodingError("the file holds zero bytes, so it is not CSV text",
                        line_of(data, data.index(b"\x00")))


def _utf8(data: bytes, label: str) -> Decoded:
    try:
        return Decoded(data.decode("utf-8"), label)
    except UnicodeDecodeError:
        pass
    sequences = len(_UTF8_SEQUENCE.findall(data))
    stray = len(_HIGH_BYTE.findall(_UTF8_SEQUENCE.sub(b"", data)))
    if label == "UTF-8" and sequences == 0:
        return _legacy(data)
    if label == "UTF-8" and stray > sequences:
        return _cp1252_with_utf8(data)
    # Mostly UTF-8: the stray bytes are the error, kept as surrogates to be located.
    return Decoded(data.decode("utf-8", "surrogateescape"), label, mixed="utf-8")


def _cp1252_with_utf8(data: bytes) -> Decoded:
    """Mostly Windows-1252 with UTF-8 sequences: its cells in UTF-8 are to be named."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"byte 0x{data[exc.start]:02X} is neither UTF-8 nor Windows-1252",
            line_of(data, exc.start)) from exc
    return Decoded(text, "Windows-1252", mixed="cp1252")


def _legacy(data: bytes) -> Decoded:
    """A file in an 8-bit code page, read as the one that gives plausible text."""
    try:
        reading = detect(data)
    except Undecided as exc:
        raise _undecided(exc.readings) from exc
    note = None
    if reading.codec != "cp1252":
        word, line = reading.example()
        note = (f"the file is not UTF-8; read as {reading.label}, the code page that gives "
                f"plausible text (line {line}: {word!r}); if that is wrong, pass "
                "--encoding NAME")
    return Decoded(data.decode(reading.codec), reading.label, note=note)


def _undecided(readings: list[Reading]) -> EncodingError:
    first = readings[0]
    if len(readings) == 1:
        word, line = first.example()
        return EncodingError(
            f"the file is not UTF-8, and no code page tried reads it as plausible text "
            f"(the closest, {first.label}, gives {word!r}): its encoding is not one the tool "
            "recognises", line)
    _, line = first.example(readings[1])
    shown = "; ".join(f"{r.label} (--encoding {r.codec}) gives "
                      f"{r.example(readings[1] if r is first else first)[0]!r}"
                      for r in readings)
    return EncodingError(
        f"the file is not UTF-8, and it reads as plausible text in more than one code page, "
        f"so the tool does not guess: {shown}", line)


def _check_forced(data: bytes, codec: str, label: str) -> None:
    """Refuse an 8-bit code page named with --encoding that gives implausible text."""
    if codec.startswith("utf") or len(bytes(range(256)).decode(codec, "replace")) != 256:
        return  # not an 8-bit code page: UTF-16 text is checked by its own rules
    reading = read_as(data, codec, label)
    if reading is None or reading.implausible == 0:
        return
    word, line = reading.example()
    hint = ""
    with contextlib.suppress(EncodingError):
        detected = decode(data)
        hint = f"; without --encoding it is read as {detected.encoding}" \
            if detected.mixed is None else ""
    raise EncodingError(f"read as {codec} (--encoding), the file gives {word!r}, which is no "
                        f"plausible text: the file is not in {codec}{hint}", line)


def stray_bytes(text: str) -> list[int]:
    """The undecodable bytes kept in `text` as surrogates (see `Decoded.text`)."""
    return [ord(ch) - 0xDC00 for ch in text if "\udc80" <= ch <= "\udcff"]


def byte_meaning(byte: int) -> str:
    """What a stray byte would be in the code pages where it is a German letter or €,
    in words (`in Windows-1252 it is 'ß'`; `in Mac Roman it is 'ü'`), or ''."""
    return " or ".join(f"in {label} it is {char!r}" for label, char in byte_meanings(byte))


def mojibake_fix(text: str) -> str | None:
    """The text as meant, if it is UTF-8 that was decoded as Windows-1252 before.

    Returns:
        The repaired text (`MÃ¼hlenbach` -> `Mühlenbach`), or None when the text
        shows no such garbling.
    """
    if not _MOJIBAKE.search(text):
        return None
    repaired = _MOJIBAKE.sub(_repair, text)
    return repaired if repaired != text else None


def _repair(match: re.Match[str]) -> str:
    try:
        return match.group().encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return match.group()
