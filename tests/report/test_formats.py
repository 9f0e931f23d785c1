"""Every format read back with its own reader; figures agree across formats and the database."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
import subprocess
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import jsonschema
import openpyxl
import pytest
from PIL import Image, ImageStat

from provisioner.db import Store
from provisioner.report import FORMATS, Scope, export_report
from tests.report.conftest import build_database, today

SCHEMA = Path(__file__).parent.parent.parent / "docs" / "report-schema.json"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Path]]]:
    """The test database and one export per format, written the way the CLI writes them."""
    folder = tmp_path_factory.mktemp("export")
    db = build_database(folder / "state.db")
    store = Store.open(db)
    outcome = export_report(store, Scope(as_of=today()), FORMATS, user="anna",
                            output=folder / "report")
    store.close()
    files = outcome.files
    assert files == {fmt: folder / f"report.{fmt}" for fmt in FORMATS}
    yield db, files


def _db_totals(db: Path) -> dict[str, Decimal]:
    conn = sqlite3.connect(db)
    budget, approved, spent = conn.execute(
        "SELECT SUM(budget_cents), SUM(CASE WHEN funding_status IN ('approved', 'paid') THEN "
        "budget_cents ELSE 0 END), SUM(COALESCE(spent_cents, 0)) FROM plan_items").fetchone()
    conn.close()
    return {"budget": Decimal(budget) / 100, "approved": Decimal(approved) / 100,
            "spent": Decimal(spent) / 100}


def _german(text: str) -> Decimal:
    return Decimal(text.replace(".", "").replace(",", ".")) if text else Decimal(0)


def _csv_totals(path: Path) -> tuple[dict[str, Decimal], list[dict[str, str]]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "German Excel needs the BOM to read UTF-8"
    # The detail table ends at the first empty line (the device sections follow).
    detail = raw.decode("utf-8-sig").split("\r\n\r\n")[0]
    rows = list(csv.DictReader(io.StringIO(detail, newline=""), dialect="excel",
                               delimiter=";"))
    totals = {key: sum((_german(r[col]) for r in rows), Decimal(0))
              for key, col in (("budget", "Budget geplant"), ("approved", "bewilligt"),
                               ("spent", "abgeflossen"))}
    return totals, rows


def test_csv_in_the_german_excel_dialect(exported: tuple[Path, dict[str, Path]]) -> None:
    db, files = exported
    raw = files["csv"].read_bytes()
    assert b"\r\n" in raw and raw.count(b";") > 100
    totals, rows = _csv_totals(files["csv"])
    assert totals == _db_totals(db)
    assert len(rows) == 215
    first = rows[0]
    assert first["Schulnummer"] == "100001" and first["Maßnahme"] == "Verkabelung"
    assert first["umgesetzt"] == "100,0" and first["Ampel"] == "grün"
    assert first["Förderstatus"] == "ausgezahlt"


def test_json_follows_its_schema(exported: tuple[Path, dict[str, Path]]) -> None:
    db, files = exported
    data = json.loads(files["json"].read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())
    assert data["schema_version"] == schema["properties"]["schema_version"]["const"]
    totals = _db_totals(db)
    assert Decimal(data["summary"]["budget_eur"]) == totals["budget"]
    assert Decimal(data["summary"]["approved_eur"]) == totals["approved"]
    assert Decimal(data["summary"]["spent_eur"]) == totals["spent"]
    assert sum(Decimal(i["spent_eur"]) for i in data["items"]) == totals["spent"]
    # A school-level figure that is not a plain sum: exact to the cent, as a string.
    assert re.fullmatch(r"\d+\.\d\d", data["schools"][0]["spent_eur"])


def test_json_rejects_a_broken_document_against_the_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema_version": "1.0"}, schema)


def test_xlsx_figures_sheets_and_charts(exported: tuple[Path, dict[str, Path]]) -> None:
    db, files = exported
    book = openpyxl.load_workbook(files["xlsx"])
    assert book.sheetnames == ["Übersicht", "Schulen", "Maßnahmen", "Budget", "Geräte",
                               "Geräte mit Handlungsbedarf", "Nicht im Plan"]
    summary = {row[0]: row[1] for row in book["Übersicht"].iter_rows(values_only=True)
               if row and isinstance(row[0], str)}
    totals = _db_totals(db)
    assert round(summary["Budget geplant"], 2) == float(totals["budget"])
    assert round(summary["bewilligt"], 2) == float(totals["approved"])
    assert round(summary["abgeflossen"], 2) == float(totals["spent"])
    assert summary["Schulen"] == 20
    measures = book["Maßnahmen"]
    assert measures.freeze_panes == "A2"
    assert measures.auto_filter.ref == "A1:N216"
    header = [c.value for c in measures[1]]
    spent_col = header.index("abgeflossen") + 1
    assert round(sum(measures.cell(r, spent_col).value or 0 for r in range(2, 217)), 2) == \
        float(totals["spent"])
    assert "€" in measures.cell(2, spent_col).number_format
    schools = book["Schulen"]
    assert schools.freeze_panes == "A2" and schools.auto_filter.ref
    assert schools.conditional_formatting, "status cells are coloured"
    assert book["Geräte"]["C1"].value == "Geräte gesamt"
    with zipfile.ZipFile(files["xlsx"]) as archive:
        charts = [n for n in archive.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        assert len(charts) == 4  # plan vs actual, budget (summary), progress, budget sheet
        kinds = "".join(archive.read(n).decode() for n in charts)
    assert kinds.count("<c:barChart>") == 4
    assert "Übersicht" in kinds and "Schulen" in kinds


def test_html_is_self_contained_with_figures(exported: tuple[Path, dict[str, Path]]) -> None:
    db, files = exported
    html = files["html"].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "<script" not in html and "url(http" not in html
    assert html.count("<svg") == 3
    totals = _db_totals(db)
    for amount in totals.values():
        german = f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
        assert f"{german} €" in html
    assert f"Stand: <strong>{today():%d.%m.%Y}</strong>" in html
    assert "Ampelregel" in html and "Rot: das Planjahr ist abgelaufen" in html


def _not_blank(png: Path) -> float:
    image = Image.open(png).convert("L")
    return ImageStat.Stat(image).stddev[0]


def test_pdf_pages_render_and_are_not_blank(exported: tuple[Path, dict[str, Path]],
                                            tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed (apt-get install poppler-utils)")
    _, files = exported
    assert files["pdf"].read_bytes().startswith(b"%PDF-")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(files["pdf"]), str(tmp_path / "page")],
                   check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 4
    for page in pages:
        assert _not_blank(page) > 5, f"{page.name} looks blank"
    blank = tmp_path / "blank.png"
    Image.new("L", (100, 100), 255).save(blank)
    assert _not_blank(blank) == 0


def test_html_screenshot_in_headless_chromium(exported: tuple[Path, dict[str, Path]],
                                              tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    _, files = exported
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                    "--window-size=1280,2400", f"--screenshot={shot}",
                    files["html"].as_uri()], check=True, capture_output=True, timeout=120)
    assert _not_blank(shot) > 5


def test_every_format_agrees_on_the_totals(exported: tuple[Path, dict[str, Path]]) -> None:
    db, files = exported
    totals = _db_totals(db)
    data = json.loads(files["json"].read_text(encoding="utf-8"))
    csv_totals, _ = _csv_totals(files["csv"])
    book = openpyxl.load_workbook(files["xlsx"])
    budget = {row[0]: row for row in book["Budget"].iter_rows(min_row=2, max_row=4,
                                                               values_only=True)}
    for key, column in (("budget", 1), ("approved", 2), ("spent", 3)):
        assert Decimal(data["summary"][f"{key}_eur"]) == totals[key] == csv_totals[key]
        assert round(sum(row[column] for row in budget.values()), 2) == float(totals[key])
    text = files["pdf"].read_bytes()
    assert len(text) > 10_000


ODD_NAME = 'St. #1 [Nord] *a* _b_ $c$ "d" \\e <f> @g // h'


def test_names_with_markup_characters_print_literally(tmp_path: Path) -> None:
    db = build_database(tmp_path / "state.db")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE schools SET name = ? WHERE school_id = '100001'", (ODD_NAME,))
    conn.commit()
    conn.close()
    store = Store.open(db)
    outcome = export_report(store, Scope(as_of=today(), school_ids=("100001",)), ["pdf", "html"],
                            user="anna", output=tmp_path / "odd")
    store.close()
    html = outcome.data["html"].decode()
    assert "St. #1 [Nord] *a* _b_ $c$ &#34;d&#34; \\e &lt;f&gt; @g // h" in html
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    text = subprocess.run(["pdftotext", str(outcome.files["pdf"]), "-"],
                          capture_output=True, text=True, check=True).stdout
    # The table cell wraps the long name onto a second line.
    assert " ".join(ODD_NAME.split()) in " ".join(text.split())


def test_example_report_is_made_from_the_example_plan() -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    example = Path(__file__).parent.parent.parent / "examples" / "report-musterstadt.pdf"
    text = subprocess.run(["pdftotext", str(example), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Stand: 30.06.2022" in text and "plan-musterstadt.csv" in text
    # The example plan's whole budget, as `provision plan show` sums it.
    assert "8.516.352,00 €" in text
