from __future__ import annotations

import pytest

from provisioner.models import MEASURE_GERMAN, FundingStatus, Measure
from provisioner.plan.columns import (
    COLUMNS,
    FUNDING_STATUS_GERMAN,
    fold,
    funding_status_for,
    header_field,
    header_score,
    is_total_label,
    match_header,
    measure_for,
)


def test_fold_ignores_case_spacing_punctuation_and_umlaut_spelling() -> None:
    assert fold("Maßnahme") == fold("Massnahme") == fold(" MASSNAHME ")
    assert fold("Förderstatus") == fold("Foerderstatus") == fold("Forderstatus")
    assert fold("Ist-Kosten (EUR)") == fold("ist kosten eur")


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Schulnummer", "school_id"), ("school_id", "school_id"), ("Schul-Nr.", "school_id"),
        ("Schule", "school_name"), ("Schulname", "school_name"), ("SCHOOL_NAME", "school_name"),
        ("Schulform", "school_type"), ("school_type", "school_type"),
        ("Maßnahme", "measure"), ("Massnahme", "measure"), ("measure", "measure"),
        ("Jahr", "year"), ("Haushaltsjahr", "year"), ("year", "year"),
        ("Anzahl", "quantity"), ("Menge", "quantity"), ("quantity", "quantity"),
        ("Kosten (EUR)", "budget_eur"), ("Kosten", "budget_eur"), ("Budget", "budget_eur"),
        ("Betrag", "budget_eur"), ("Kosten in €", "budget_eur"), ("Betrag in Euro", "budget_eur"),
        ("budget_eur", "budget_eur"), ("  kosten  (eur) ", "budget_eur"),
        ("Förderprogramm", "funding"), ("Foerderprogramm", "funding"), ("funding", "funding"),
        ("Förderstatus", "funding_status"), ("funding_status", "funding_status"),
        ("Ist-Kosten (EUR)", "spent_eur"), ("Ist-Kosten", "spent_eur"), ("Ist", "spent_eur"),
        ("spent_eur", "spent_eur"), ("Ist (€)", "spent_eur"),
        ("Bemerkung", None), ("Status", None), ("", None), ("EUR", None),
    ],
)
def test_header_field(header: str, field: str | None) -> None:
    assert header_field(header) == field


def test_every_documented_header_is_accepted() -> None:
    for column in COLUMNS:
        for name in column.accepted:
            assert header_field(name) == column.field, name


def test_header_score_counts_distinct_known_columns() -> None:
    assert header_score(["Schulnummer", "Schule", "Maßnahme", None, 2021]) == 3
    assert header_score(["Kosten", "Budget", "Medienentwicklungsplan"]) == 1


def test_match_header_reports_unknown_and_repeated_columns() -> None:
    match = match_header(["Schulnummer", " Schule ", "Bemerkung", "Kosten", "Budget", ""])
    assert match.index == {"school_id": 0, "school_name": 1, "budget_eur": 3}
    assert match.names["school_name"] == "Schule"
    assert match.unknown == ((2, "Bemerkung"),)
    assert match.repeated == (("budget_eur", "Kosten", "Budget"),)
    assert match.missing == ("measure", "year")


@pytest.mark.parametrize(
    ("text", "measure"),
    [
        ("Verkabelung", Measure.CABLING), ("Netzwerkverkabelung", Measure.CABLING),
        ("cabling", Measure.CABLING), ("WLAN", Measure.WLAN), ("W-LAN", Measure.WLAN),
        ("Server", Measure.SERVERS), ("servers", Measure.SERVERS),
        ("Switches", Measure.SWITCHES), ("switch", Measure.SWITCHES),
        ("Access Points", Measure.ACCESS_POINTS), ("Access-Points", Measure.ACCESS_POINTS),
        ("access_points", Measure.ACCESS_POINTS),
        ("Präsentationstechnik", Measure.DISPLAYS), ("Praesentationstechnik", Measure.DISPLAYS),
        ("Anzeige- und Interaktionsgeräte", Measure.DISPLAYS), ("displays", Measure.DISPLAYS),
        ("Endgeräte", Measure.END_DEVICES), ("Mobile Endgeräte", Measure.END_DEVICES),
        ("end_devices", Measure.END_DEVICES),
        ("Beamer", None), ("Netzwerk", None), ("", None),
    ],
)
def test_measure_for(text: str, measure: Measure | None) -> None:
    assert measure_for(text) is measure


def test_every_measure_by_its_english_and_german_name() -> None:
    for measure in Measure:
        assert measure_for(measure.value) is measure
        assert measure_for(MEASURE_GERMAN[measure]) is measure


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("geplant", FundingStatus.PLANNED), ("planned", FundingStatus.PLANNED),
        ("beantragt", FundingStatus.APPLIED), ("Beantragt", FundingStatus.APPLIED),
        ("bewilligt", FundingStatus.APPROVED), ("approved", FundingStatus.APPROVED),
        ("abgelehnt", FundingStatus.REJECTED), ("rejected", FundingStatus.REJECTED),
        ("ausgezahlt", FundingStatus.PAID), ("abgerechnet", FundingStatus.PAID),
        ("paid", FundingStatus.PAID), ("Eigenmittel", FundingStatus.NOT_FUNDED),
        ("not_funded", FundingStatus.NOT_FUNDED), ("nicht gefördert", FundingStatus.NOT_FUNDED),
        ("vielleicht", None),
    ],
)
def test_funding_status_for(text: str, status: FundingStatus | None) -> None:
    assert funding_status_for(text) is status


def test_every_funding_status_by_its_english_and_german_name() -> None:
    for status in FundingStatus:
        assert funding_status_for(status.value) is status
        assert funding_status_for(FUNDING_STATUS_GERMAN[status]) is status


@pytest.mark.parametrize(
    ("text", "total"),
    [
        ("Summe", True), ("Summe:", True), ("SUMME 2021", True), ("Gesamt", True),
        ("Gesamtsumme", True), ("Total", True), ("insgesamt", True), ("Zwischensumme", True),
        ("Gesamtschule Nord", False), ("Willy-Brandt-Gesamtschule", False),
        ("Summerhill-Schule", False), ("100001", False),
    ],
)
def test_is_total_label(text: str, total: bool) -> None:
    assert is_total_label(text) is total
