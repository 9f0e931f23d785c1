"""Numbers as people type them into German (and English) spreadsheets.

The rules, documented for users in docs/plan-format.md:

- A currency sign or word before or after the number is ignored: `€ 12.000`,
  `949.500 €`, `12000 EUR`. So is the German "whole euros" ending `,-` / `,--`
  (`12.000,-`).
- Spaces (also no-break U+00A0, narrow no-break U+202F and thin U+2009 ones) and
  apostrophes (ASCII `'`, typographic `’` U+2019, modifier letter `ʼ` U+02BC, as
  Swiss and Liechtenstein tables write them) may group thousands: `1 200 000`,
  `1'200`, `5’360.00`. They must group by three, or the text is not a number.
- When both `.` and `,` occur, the last of them is the decimal separator and the
  other one groups thousands: `949.500,00` (German), `12,000.50` (English).
- When one separator occurs several times it groups thousands: `1.200.000`.
- When one separator occurs once, it groups thousands if exactly three digits
  follow it and one to three digits (not a lone `0`) precede it: `1.200` and `1,200`
  are 1200. Otherwise it is the decimal separator: `1.5`, `1200,5`, `0,500`.
  Why: the columns that hold numbers are euro amounts (two decimals at most) and
  counts (whole numbers), so three decimals never mean a fraction there, while
  `1.200` for 1200 is everyday German.
- A leading `-` or `−` makes a number negative; the checks reject negative
  amounts with their own message.
- A lone dash (`-`, `–`, `—`) or an empty cell is "no value".
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

from provisioner.plan.table import CellValue

_CURRENCY_BEFORE = re.compile(r"^(?:€|euro?)\s*", re.IGNORECASE)
_CURRENCY_AFTER = re.compile(r"\s*(?:€|euro?)$", re.IGNORECASE)
_WHOLE_EUROS = re.compile(r"[.,][-–—]{1,2}$")
_SPACED_GROUPS = re.compile(r"[0-9]{1,3}(?:[ '][0-9]{3})+(?:[.,][0-9]*)?")
_DIGITS_ONLY = re.compile(r"[0-9]+")
# 1.234,50 or 12,5 (optionally with " €"): what the rules make of it, without them.
_GERMAN_AMOUNT = re.compile(r"([1-9][0-9]{0,2}(?:\.[0-9]{3})*|0),([0-9]{1,2})(?: ?€)?")
# Spaces and apostrophes that group thousands, as the plain ones.
_NORMALISE = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2019": "'",
                            "\u02bc": "'"})
# A lone dash is how German tables say "nothing here".
DASHES = frozenset({"-", "–", "—"})
_MINUS = ("-", "−", "–")


class NumberFormatError(ValueError):
    """A text that is not a number by the rules above."""


def parse_decimal(text: str) -> Decimal:
    """Read a number written the German or the English way.

    Args:
        text: the cell text, e.g. `949.500,00 €`, `1.200`, `12,000.50`.

    Returns:
        The exact value.

    Raises:
        NumberFormatError: the text is not a number by the module's rules.
    """
    body = _strip_decoration(text)
    negative = body.startswith(_MINUS)
    if negative:
        body = body[1:].lstrip()
    if not body:
        raise NumberFormatError(text)
    if _SPACED_GROUPS.fullmatch(body):
        body = body.replace(" ", "").replace("'", "")
    value = Decimal(body) if _DIGITS_ONLY.fullmatch(body) else _separated(body, text)
    return -value if negative else value


def _strip_decoration(text: str) -> str:
    """Remove what is not part of the number: spaces, currency, a `,-` ending."""
    body = text.translate(_NORMALISE).strip()
    body = _CURRENCY_BEFORE.sub("", body)
    body = _CURRENCY_AFTER.sub("", body)
    return _WHOLE_EUROS.sub("", body).strip()


def _separated(body: str, original: str) -> Decimal:
    """Interpret a digit string containing `.` and/or `,` (see the module rules)."""
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        decimal_sep = "." if body.rfind(".") > body.rfind(",") else ","
        group_sep = "," if decimal_sep == "." else "."
        whole, _, fraction = body.partition(decimal_sep)
        if decimal_sep in fraction or not _is_grouped(whole, group_sep):
            raise NumberFormatError(original)
        return _assemble(whole.replace(group_sep, ""), fraction, original)
    sep = "." if dots else ","
    if body.count(sep) > 1:
        if not _is_grouped(body, sep):
            raise NumberFormatError(original)
        return _assemble(body.replace(sep, ""), "", original)
    whole, _, fraction = body.partition(sep)
    if len(fraction) == 3 and _is_grouped(body, sep):
        return _assemble(whole + fraction, "", original)
    return _assemble(whole or "0", fraction, original)


def _is_grouped(text: str, sep: str) -> bool:
    """Whether `text` is digits grouped by three with `sep`, e.g. `1.200.000`."""
    first, *rest = text.split(sep)
    if not rest or not 1 <= len(first) <= 3 or not first.isdigit() or first == "0":
        return False
    return all(len(group) == 3 and group.isdigit() for group in rest)


def _assemble(whole: str, fraction: str, original: str) -> Decimal:
    if not (whole.isascii() and whole.isdigit()):
        raise NumberFormatError(original)
    if fraction and not (fraction.isascii() and fraction.isdigit()):
        raise NumberFormatError(original)
    return Decimal(f"{whole}.{fraction}" if fraction else whole)


def is_blank(value: CellValue) -> bool:
    """Whether a cell counts as empty: nothing, spaces only, or a lone dash."""
    if value is None:
        return True
    if isinstance(value, str):
        stripped = value.strip()
        return not stripped or stripped in DASHES
    return False


def to_decimal(value: CellValue) -> Decimal | None:
    """A cell's value as a number; None for an empty cell.

    Args:
        value: text (parsed by `parse_decimal`) or a number from a spreadsheet cell.
            Floats are taken by their shortest decimal form, so 0.1 stays 0.1.

    Raises:
        NumberFormatError: the cell holds text that is not a number, a truth value,
            a date or time, or an infinite/undefined float.
    """
    if isinstance(value, (bool, dt.date, dt.time, dt.timedelta)):
        raise NumberFormatError(str(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NumberFormatError(repr(value))
        return Decimal(repr(value))
    if value is None or is_blank(value):
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return Decimal(text)  # the common case, without regular expressions
    german = _GERMAN_AMOUNT.fullmatch(text)
    if german:  # the next most common one: 1.234,50 €, straight to the value
        return Decimal(german.group(1).replace(".", "") + "." + german.group(2))
    return parse_decimal(text)
