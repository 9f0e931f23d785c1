"""The vocabulary of a plan file: column headers, measures and funding statuses.

Everything users type is compared after `fold`, which ignores case, spacing,
punctuation and how umlauts are spelt (`Maßnahme` = `Massnahme` = `MASSNAHME`,
`Förderstatus` = `Foerderstatus` = `Forderstatus`). The names here are the ones
docs/plan-format.md lists; add a synonym here and there together.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from provisioner.models import MEASURE_GERMAN, FundingStatus, Measure


def fold(text: str) -> str:
    """A comparison key: lower case, letters and digits only, umlauts as plain vowels."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    key = "".join(ch for ch in decomposed if ch.isalnum())
    # "ä" decomposes to "a" + a combining mark (dropped above); "ae" is how people
    # type it without a German keyboard, so both spellings meet at "a".
    return key.replace("ae", "a").replace("oe", "o").replace("ue", "u")


@dataclass(frozen=True)
class Column:
    """One column a plan file may have.

    Attributes:
        field: the English name, also accepted as header (`budget_eur`).
        german: the header German plans use (`Kosten (EUR)`).
        required: whether a plan without this column is rejected.
        aliases: further accepted headers.
        example: a value as it would appear in a German file.
        fmt: what the cells must hold, in words (for the documentation).
    """

    field: str
    german: str
    required: bool
    aliases: tuple[str, ...]
    example: str
    fmt: str

    @property
    def accepted(self) -> tuple[str, ...]:
        """Every header that means this column, German first."""
        return (self.german, self.field, *self.aliases)


SCHOOL_ID = "school_id"
SCHOOL_NAME = "school_name"
SCHOOL_TYPE = "school_type"
MEASURE = "measure"
YEAR = "year"
QUANTITY = "quantity"
BUDGET = "budget_eur"
FUNDING = "funding"
FUNDING_STATUS = "funding_status"
SPENT = "spent_eur"

COLUMNS: tuple[Column, ...] = (
    Column(SCHOOL_ID, "Schulnummer", True, ("Schulnr", "Schul-Nr."), "100001",
           "6 digits (NRW Schulnummer); spaces are ignored, leading zeros kept"),
    Column(SCHOOL_NAME, "Schule", True, ("Schulname", "Name der Schule"),
           "GGS Am Lindenplatz",
           "text; may be left empty in further rows of the same school"),
    Column(SCHOOL_TYPE, "Schulform", False, ("Schulart",), "Grundschule", "text"),
    Column(MEASURE, "Maßnahme", True, ("Massnahme",), "WLAN",
           "one of the measures below (German or English name)"),
    Column(YEAR, "Jahr", True, ("Haushaltsjahr",), "2021", "a year from 2000 to 2100"),
    Column(QUANTITY, "Anzahl", False, ("Menge", "Stückzahl"), "8",
           "a whole number, 0 or more; empty if it does not apply"),
    Column(BUDGET, "Kosten (EUR)", True, ("Kosten", "Budget", "Betrag"), "60.450,00 €",
           "an amount in euros, 0 or more (see the number rules)"),
    Column(FUNDING, "Förderprogramm", False, ("Finanzierung",), "DigitalPakt Schule",
           "text"),
    Column(FUNDING_STATUS, "Förderstatus", False, (), "bewilligt",
           "one of the funding statuses below; may be empty"),
    Column(SPENT, "Ist-Kosten (EUR)", False, ("Ist-Kosten", "Ist", "spent"), "58.912,40",
           "an amount in euros, 0 or more; empty until money was spent"),
)

COLUMN_BY_FIELD: dict[str, Column] = {column.field: column for column in COLUMNS}
REQUIRED_FIELDS: tuple[str, ...] = tuple(c.field for c in COLUMNS if c.required)

_HEADER_INDEX: dict[str, str] = {
    fold(name): column.field for column in COLUMNS for name in column.accepted
}
# A currency after an amount column's name: "Kosten (EUR)", "Kosten in €", "Ist Euro".
_CURRENCY_SUFFIX = re.compile(r"(?:in)?(?:euro|eur)?$")

# How many known columns a row needs to be taken for the header row (title rows
# above the table name at most one or two known words by accident).
MIN_HEADER_MATCHES = 3


def header_field(header: str) -> str | None:
    """The column a header cell names (`"Kosten (EUR)"` → `budget_eur`), or None."""
    key = fold(header)
    if not key:
        return None
    found = _HEADER_INDEX.get(key)
    if found is None:
        stripped = _CURRENCY_SUFFIX.sub("", key, count=1)
        found = _HEADER_INDEX.get(stripped) if stripped else None
    return found


def header_score(cells: Sequence[object]) -> int:
    """How many different known columns a row names (to find the header row)."""
    return len({header_field(c) for c in cells if isinstance(c, str)} - {None})


@dataclass(frozen=True)
class HeaderMatch:
    """What a header row says about the file's columns.

    Attributes:
        index: column position (0-based) of each known field.
        names: each known field's header as the file writes it.
        unknown: headers of columns the tool does not know, with their positions.
        repeated: (field, first header, later header) for columns named twice.
    """

    index: dict[str, int]
    names: dict[str, str]
    unknown: tuple[tuple[int, str], ...]
    repeated: tuple[tuple[str, str, str], ...]

    @property
    def missing(self) -> tuple[str, ...]:
        """Required fields no header names."""
        return tuple(f for f in REQUIRED_FIELDS if f not in self.index)


def match_header(header: Sequence[str]) -> HeaderMatch:
    """Map a header row's cells to known columns.

    Args:
        header: the header row's cells as text, in file order.
    """
    index: dict[str, int] = {}
    names: dict[str, str] = {}
    unknown: list[tuple[int, str]] = []
    repeated: list[tuple[str, str, str]] = []
    for position, text in enumerate(header):
        name = text.strip()
        field = header_field(name)
        if field is None:
            if name:
                unknown.append((position, name))
        elif field in index:
            repeated.append((field, names[field], name))
        else:
            index[field] = position
            names[field] = name
    return HeaderMatch(index, names, tuple(unknown), tuple(repeated))


# -- measures ------------------------------------------------------------------------

# Well-founded synonyms only: the names of the DigitalPakt Schule agreement
# (Verwaltungsvereinbarung § 3: "Anzeige- und Interaktionsgeräte", "schulgebundene
# mobile Endgeräte") and spellings seen in published MEPs.
MEASURE_SYNONYMS: dict[Measure, tuple[str, ...]] = {
    Measure.CABLING: ("Netzwerkverkabelung", "LAN-Verkabelung", "Strukturierte Verkabelung",
                      "Gebäudeverkabelung"),
    Measure.WLAN: ("WiFi", "W-LAN", "WLAN-Infrastruktur"),
    Measure.SERVERS: ("Schulserver",),
    Measure.SWITCHES: ("Switch", "Netzwerk-Switches"),
    Measure.ACCESS_POINTS: ("Access-Points", "Access Point", "AP", "APs",
                            "WLAN-Access-Points"),
    Measure.DISPLAYS: ("Präsentationsmedien", "Anzeige- und Interaktionsgeräte",
                       "Interaktive Displays", "Digitale Tafeln", "Displays", "Display"),
    Measure.END_DEVICES: ("Mobile Endgeräte", "Schulgebundene mobile Endgeräte",
                          "End devices"),
}

_MEASURE_INDEX: dict[str, Measure] = {
    fold(name): measure
    for measure in Measure
    for name in (measure.value, MEASURE_GERMAN[measure], *MEASURE_SYNONYMS[measure])
}


@lru_cache(maxsize=4096)
def measure_for(text: str) -> Measure | None:
    """The measure a cell names (`"Access-Points"` → ACCESS_POINTS), or None."""
    return _MEASURE_INDEX.get(fold(text))


def known_measures() -> str:
    """The German measure names, for messages."""
    return ", ".join(MEASURE_GERMAN[m] for m in Measure)


# -- funding statuses -------------------------------------------------------------------

FUNDING_STATUS_GERMAN: dict[FundingStatus, str] = {
    FundingStatus.PLANNED: "geplant",
    FundingStatus.APPLIED: "beantragt",
    FundingStatus.APPROVED: "bewilligt",
    FundingStatus.REJECTED: "abgelehnt",
    FundingStatus.PAID: "ausgezahlt",
    FundingStatus.NOT_FUNDED: "Eigenmittel",
}

FUNDING_STATUS_SYNONYMS: dict[FundingStatus, tuple[str, ...]] = {
    FundingStatus.PLANNED: ("in Planung",),
    FundingStatus.APPLIED: ("Antrag gestellt",),
    FundingStatus.APPROVED: ("genehmigt",),
    FundingStatus.REJECTED: (),
    FundingStatus.PAID: ("abgerechnet",),
    FundingStatus.NOT_FUNDED: ("not funded", "nicht gefördert", "ohne Förderung"),
}

_STATUS_INDEX: dict[str, FundingStatus] = {
    fold(name): status
    for status in FundingStatus
    for name in (status.value, FUNDING_STATUS_GERMAN[status], *FUNDING_STATUS_SYNONYMS[status])
}


@lru_cache(maxsize=1024)
def funding_status_for(text: str) -> FundingStatus | None:
    """The funding status a cell names (`"abgerechnet"` → PAID), or None."""
    return _STATUS_INDEX.get(fold(text))


def known_funding_statuses() -> str:
    """The German funding status names, for messages."""
    return ", ".join(FUNDING_STATUS_GERMAN[s] for s in FundingStatus)


# -- total rows -------------------------------------------------------------------------

# First words of sum lines people leave at the end of a table. Whole words only:
# "Gesamtschule Nord" is a school, "Gesamt" is a sum.
_TOTAL_WORDS = frozenset(
    {"summe", "summen", "gesamt", "gesamtsumme", "zwischensumme", "insgesamt", "total",
     "gesamtkosten", "gesamtbetrag"}
)
# The first word (letters only), one of the words above: one regex per cell, since
# every text cell of every row is looked at.
_TOTAL_START = re.compile(
    r"[\W\d_]*(?:" + "|".join(sorted(_TOTAL_WORDS, key=len, reverse=True)) + r")(?![^\W\d_])",
    re.IGNORECASE,
)


def is_total_label(text: str) -> bool:
    """Whether a cell reads like the label of a sum line (`Summe`, `Gesamt 2021:`)."""
    return _TOTAL_START.match(text) is not None
