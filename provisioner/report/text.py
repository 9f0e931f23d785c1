"""Words and number formats of the report in German (default) and English.

German as a German committee reads it: `1.234,56 €`, `87,5 %`, `30.11.2026`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from provisioner.errors import ConfigError
from provisioner.models import MEASURE_GERMAN, FundingStatus, Measure, Role
from provisioner.outcome import DeviceState
from provisioner.plan.columns import FUNDING_STATUS_GERMAN
from provisioner.report.status import Status

LANGUAGES = ("de", "en")

_LABELS: dict[str, tuple[str, str]] = {
    "title": ("Digitalisierung der Schulen: Sachstand", "School digitisation: progress report"),
    "subtitle": ("Bericht für den Schulausschuss", "Report to the school committee"),
    "as_of": ("Stand", "As of"),
    "generated": ("erstellt", "generated"),
    "plan_version": ("Planversion", "Plan version"),
    "scope": ("Umfang", "Scope"),
    "summary": ("Übersicht", "Summary"),
    "schools": ("Schulen", "Schools"),
    "school": ("Schule", "School"),
    "school_id": ("Schulnummer", "School no."),
    "school_type": ("Schulform", "Type"),
    "measures": ("Maßnahmen", "Measures"),
    "measure": ("Maßnahme", "Measure"),
    "year": ("Jahr", "Year"),
    "items": ("Maßnahmen", "Items"),
    "quantity": ("geplant (Anzahl)", "planned (qty)"),
    "provisioned": ("installiert", "provisioned"),
    "verified": ("verifiziert", "verified"),
    "percent_done": ("umgesetzt", "done"),
    "source": ("Quelle", "Source"),
    "budget": ("Budget geplant", "Budget planned"),
    "approved": ("bewilligt", "approved"),
    "spent": ("abgeflossen", "paid out"),
    "funding_status": ("Förderstatus", "Funding status"),
    "status": ("Ampel", "Status"),
    "budget_sheet": ("Budget", "Budget"),
    "devices": ("Geräte", "Devices"),
    "devices_total": ("Geräte gesamt", "Devices"),
    "healthy": ("in Ordnung", "healthy"),
    "warning": ("Warnung", "warning"),
    "critical": ("kritisch", "critical"),
    "unreachable": ("nicht erreichbar", "unreachable"),
    "stale": ("veraltet", "stale"),
    "unchecked": ("nicht geprüft", "not checked"),
    "dead_site": ("Standort ausgefallen", "dead site"),
    "dead_sites": ("ausgefallene Standorte", "dead sites"),
    "none": ("keine", "none"),
    "yes": ("ja", "yes"),
    "rule": ("Ampelregel", "Status rule"),
    "plan_vs_actual": ("Plan und Umsetzung je Jahr (Anzahl)", "Plan against actual per year (qty)"),
    "progress_per_school": ("Umsetzungsgrad je Schule", "Progress per school"),
    "progress_bands": ("Schulen nach Umsetzungsgrad", "Schools by share done"),
    "budget_per_year": ("Budget je Jahr", "Budget per year"),
    "planned": ("geplant", "planned"),
    "since": ("Seit dem letzten Bericht", "Since the last report"),
    "since_of": ("Vergleich mit dem Bericht vom", "Compared with the report of"),
    "first_report": ("Erster Bericht: es gibt noch keinen früheren zum Vergleich; der "
                     "nächste vergleicht mit diesem.",
                     "First report: there is no earlier one to compare with yet; the next "
                     "compares with this one."),
    "schools_with": ("Schulen mit", "schools with"),
    "fully_done": ("vollständig umgesetzt", "fully done"),
    "spent_since": ("abgeflossen seitdem", "paid out since"),
    "approved_since": ("bewilligt seitdem", "approved since"),
    "verified_since": ("Geräte verifiziert seitdem", "devices verified since"),
    "turned_red": ("neu auf Rot", "turned red"),
    "turned_green": ("neu auf Grün", "turned green"),
    "new_schools": ("neu im Bericht", "new in the report"),
    "src_devices": ("Geräte", "devices"),
    "src_recorded": ("erfasst", "recorded"),
    "src_none": ("nicht erfasst", "not recorded"),
    "all": ("alle Schulen", "all schools"),
    "page": ("Seite", "Page"),
    "attention": ("Geräte mit Handlungsbedarf", "Devices needing attention"),
    "attention_note": ("Geräte, für die der letzte Lauf nicht bürgen kann, mit Grund; sie "
                       "zählen nicht als verifiziert.",
                       "Devices the last run cannot vouch for, with the reason; they do not "
                       "count as verified."),
    "not_in_plan": ("Nicht im Plan", "Not in the plan"),
    "not_in_plan_note": ("Schulen mit Geräten, die der gültige Plan nicht enthält (z. B. "
                         "Hardware ersetzt, bevor der Plan fortgeschrieben wurde).",
                         "Schools with devices that the plan in force does not contain (e.g. "
                         "hardware replaced before the plan was updated)."),
    "device": ("Gerät", "Device"),
    "role": ("Rolle", "Role"),
    "state": ("Zustand", "State"),
    "state_since": ("seit", "since"),
    "reason": ("Grund", "Reason"),
    "no_name": ("(ohne Namen)", "(no name)"),
}
_STATES = {
    DeviceState.PLANNED: ("geplant", "planned"),
    DeviceState.PROVISIONED: ("installiert", "provisioned"),
    DeviceState.VERIFIED: ("verifiziert", "verified"),
    DeviceState.FAILED: ("fehlgeschlagen", "failed"),
    DeviceState.UNREACHABLE: ("nicht erreichbar", "unreachable"),
    DeviceState.BLOCKED: ("blockiert", "blocked"),
    DeviceState.INTERRUPTED: ("unterbrochen", "interrupted"),
}
_ROLES = {Role.SERVER: ("Server", "server"), Role.SWITCH: ("Switch", "switch"),
          Role.ACCESS_POINT: ("Access Point", "access point")}
_STATUS = {Status.GREEN: ("grün", "green"), Status.YELLOW: ("gelb", "yellow"),
           Status.RED: ("rot", "red")}
_MEASURE_EN = {m: m.value.replace("_", " ") for m in Measure}


class Text:
    """Labels and formats of one language."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ConfigError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
        self.lang = lang
        self._n = LANGUAGES.index(lang)

    def __getitem__(self, key: str) -> str:
        return _LABELS[key][self._n]

    def measure(self, measure: Measure) -> str:
        """A measure's name."""
        return MEASURE_GERMAN[measure] if self.lang == "de" else _MEASURE_EN[measure]

    def funding(self, value: str) -> str:
        """A funding status ("approved") as the plan's language names it ("bewilligt")."""
        if not value or self.lang != "de":
            return value.replace("_", " ")
        return FUNDING_STATUS_GERMAN[FundingStatus(value)]

    def status(self, status: Status) -> str:
        """A status colour's name."""
        return _STATUS[status][self._n]

    def state(self, state: DeviceState) -> str:
        """A device's rollout state ("blockiert")."""
        return _STATES[state][self._n]

    def role(self, role: Role) -> str:
        """A device's role ("Access Point")."""
        return _ROLES[role][self._n]

    def stamp(self, value: str | None) -> str:
        """A stored time as day and minute (30.11.2026 14:05 UTC), "" for none."""
        return f"{self.date(value)} {value[11:16]} UTC" if value else ""

    def number(self, value: Decimal | int, places: int = 0) -> str:
        """1.234,5 (de) or 1,234.5 (en)."""
        text = f"{value:,.{places}f}"
        if self.lang == "de":
            text = text.replace(",", "_").replace(".", ",").replace("_", ".")
        return text

    def money(self, value: Decimal) -> str:
        """1.234,56 € (de) or €1,234.56 (en)."""
        if self.lang == "de":
            return f"{self.number(value, 2)} €"
        sign = "-" if value < 0 else ""
        return f"{sign}€{self.number(abs(value), 2)}"

    def percent(self, value: Decimal) -> str:
        """87,5 % (de) or 87.5 % (en)."""
        return f"{self.number(value, 1)} %"

    def date(self, value: dt.date | str) -> str:
        """30.11.2026 (de) or 2026-11-30 (en); ISO timestamps are cut to their day."""
        day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return f"{day:%d.%m.%Y}" if self.lang == "de" else day.isoformat()

    def schools_done(self, measure: Measure, before: int, now: int) -> str:
        """"+12 Schulen mit WLAN vollständig umgesetzt (30 → 42)"."""
        return (f'{now - before:+d} {self["schools_with"]} {self.measure(measure)} '
                f'{self["fully_done"]} ({before} → {now})')

    def signed_money(self, value: Decimal) -> str:
        """Money with an explicit + for increases."""
        return ("+" if value > 0 else "") + self.money(value)
