"""The traffic light (Ampel) of a plan item, and the rule in words for the report.

The rule is written into every report, so the committee can check any colour by hand.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

# Below this share done, an item whose plan year has ended is red.
RED_BELOW_PERCENT = Decimal(80)
# Spending more than this share over budget makes a green item yellow.
OVERSPEND_PERCENT = Decimal(10)


class Status(StrEnum):
    """Traffic-light status, worst last."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def rank(self) -> int:
        """0 green, 1 yellow, 2 red: the worse, the higher."""
        return _RANK[self]


_RANK = {Status.GREEN: 0, Status.YELLOW: 1, Status.RED: 2}


def item_status(year: int, percent_done: Decimal, budget: Decimal, spent: Decimal,
                as_of: dt.date) -> Status:
    """The Ampel of one plan item as of a date.

    Green: done, or its plan year has not begun. Yellow: its plan year is running, or
    it has ended with at least 80 % done, or a green item spent over 110 % of its
    budget. Red: its plan year has ended with less than 80 % done.
    """
    if percent_done >= 100 or as_of < dt.date(year, 1, 1):
        status = Status.GREEN
    elif as_of <= dt.date(year, 12, 31) or percent_done >= RED_BELOW_PERCENT:
        status = Status.YELLOW
    else:
        status = Status.RED
    over = budget > 0 and spent > budget * (1 + OVERSPEND_PERCENT / 100)
    return Status.YELLOW if status is Status.GREEN and over else status


def worst(statuses: list[Status]) -> Status:
    """The worst of several statuses (green when there are none)."""
    return max(statuses, key=_RANK.__getitem__, default=Status.GREEN)


RULE = {
    "de": [
        "Grün: vollständig umgesetzt, oder das Planjahr hat noch nicht begonnen.",
        "Gelb: das Planjahr läuft; oder es ist abgelaufen und mindestens 80 % sind umgesetzt; "
        "oder eine sonst grüne Maßnahme hat mehr als 110 % ihres Budgets ausgegeben.",
        "Rot: das Planjahr ist abgelaufen und weniger als 80 % sind umgesetzt.",
        "Eine Schule trägt die schlechteste Farbe ihrer Maßnahmen. Umsetzungsgrad: bei "
        "Servern, Switches und Access Points verifizierte Geräte je geplanter Anzahl (Geräte "
        "füllen die Planjahre der Reihe nach), sonst der zuletzt erfasste Fortschritt; "
        "Summen gewichten jede Maßnahme mit ihrem Budget.",
    ],
    "en": [
        "Green: done, or the plan year has not begun.",
        "Yellow: the plan year is running; or it has ended with at least 80 % done; or an "
        "otherwise green item has spent more than 110 % of its budget.",
        "Red: the plan year has ended with less than 80 % done.",
        "A school takes the worst colour of its items. Share done: for servers, switches and "
        "access points, verified devices per planned quantity (devices fill the plan years "
        "in order), otherwise the progress last recorded; totals weight each item by its "
        "budget.",
    ],
}
