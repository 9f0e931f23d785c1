"""`provision plan import` as users run it: the summary, --json, --sheet, --encoding,
refusals that write nothing, the audit log, and the handed case files."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from provisioner.app import build_app
from provisioner.db import Store
from provisioner.errors import ExitStatus
from tests.conftest import DATA, Invoke
from tests.plan.books import Sheet, encrypt, openpyxl_book
from tests.plan.test_workbooks import office_workbook, plan_rows

PLANS = DATA / "plans"
# shared/ lies beside the repository, here and in CI; the handed files are read from it.
CASES = Path(__file__).resolve().parents[3] / "shared" / "cases" / "plan"
needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="shared/cases is not beside the repo")


def _versions(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM plan_versions").fetchone()[0])


def test_summary_names_what_was_read(invoke: Invoke) -> None:
    result = invoke("plan", "import", str(PLANS / "german-semicolon-cp1252.csv"))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "german-semicolon-cp1252.csv: 3 plan items of 2 schools",
        "first plan: 3 items",
        "read as CSV, delimiter ';', encoding Windows-1252",
        "imported as plan version 1",
    ]


def test_one_item_of_one_school_is_said_in_the_singular(invoke: Invoke, tmp_path: Path) -> None:
    source = (PLANS / "german-semicolon-cp1252.csv").read_bytes().splitlines(keepends=True)
    one = tmp_path / "one.csv"
    one.write_bytes(b"".join(source[:2]))  # the header and the first item
    result = invoke("plan", "import", str(one))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == ["one.csv: 1 plan item of 1 school",
                                              "first plan: 1 item"]


def test_summary_names_the_sheet_and_notices(invoke: Invoke, tmp_path: Path) -> None:
    path = openpyxl_book(tmp_path / "plan.xlsx", office_workbook())
    result = invoke("plan", "import", str(path), "--sheet", "Plan alt", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2:] == [
        "read as XLSX, sheet 'Plan alt'",
        "note: plan.xlsx: sheet 'Plan alt' is hidden; read because --sheet names it",
        "dry run: nothing written",
    ]


def test_json_summary(invoke: Invoke, tmp_path: Path) -> None:
    path = openpyxl_book(tmp_path / "plan.xlsx", office_workbook())
    result = invoke("--json", "plan", "import", str(path))
    data = json.loads(result.output)
    assert data["read_as"] == {"format": "XLSX", "sheet": "Tabelle2", "encoding": None,
                               "delimiter": None}
    assert (data["items"], data["schools"], data["version"]["version_id"]) == (3, 2, 1)
    csv_result = invoke("plan", "import", str(PLANS / "german-tab-utf16.txt"), "--json",
                        "--dry-run")
    assert json.loads(csv_result.output)["read_as"] == {
        "format": "CSV", "sheet": None, "encoding": "UTF-16LE with BOM", "delimiter": "\t"}


def test_refused_file_prints_problems_as_json(invoke: Invoke, cli_env: Path) -> None:
    invoke("plan", "import", str(PLANS / "german-semicolon-utf8.csv"))
    result = invoke("--json", "plan", "import", str(PLANS / "broken.csv"))
    assert result.exit_code == ExitStatus.INVALID_INPUT
    data = json.loads(result.stdout)
    assert data["exit_status"] == 3
    assert data["error"].startswith("broken.csv: 19 problems found, nothing was written")
    assert data["problems"][0] == {
        "file": "broken.csv", "row": 3, "column": "Maßnahme",
        "message": "unknown measure 'Beamer': use one of Verkabelung, WLAN, Server, Switches, "
                   "Access Points, Präsentationstechnik, Endgeräte"}
    assert len(data["problems"]) == 19
    assert _versions(cli_env / "state.db") == 1


def test_password_protected_workbook_writes_nothing(invoke: Invoke, cli_env: Path) -> None:
    plain = openpyxl_book(cli_env / "plain.xlsx", [Sheet("Plan", plan_rows())])
    path = encrypt(plain, cli_env / "plan.xlsx")
    result = invoke("plan", "import", str(path))
    assert result.exit_code == ExitStatus.INVALID_INPUT
    assert "the workbook is password-protected (encrypted)" in result.stderr
    assert _versions(cli_env / "state.db") == 0


def test_option_errors(invoke: Invoke, tmp_path: Path) -> None:
    path = openpyxl_book(tmp_path / "plan.xlsx", office_workbook())
    result = invoke("plan", "import", str(path), "--sheet", "Nope")
    assert result.exit_code == ExitStatus.USAGE
    assert result.stderr.splitlines() == [
        "Error: plan.xlsx has no sheet 'Nope'; its sheets are 'Plan alt' (hidden), 'Übersicht', "
        "'Tabelle2': pass one of them with --sheet"]
    result = invoke("plan", "import", str(PLANS / "german-semicolon-utf8.csv"),
                    "--encoding", "nope")
    assert result.exit_code == ExitStatus.USAGE
    assert "unknown encoding 'nope'" in result.stderr


def test_audit_records_any_exception(invoke: Invoke, cli_env: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("provisioner.cli.plan.import_plan", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        invoke("plan", "import", str(PLANS / "german-semicolon-utf8.csv"))
    (entry,) = Store.open(cli_env / "state.db").audit_entries()
    assert (entry.command, entry.outcome, entry.detail) == (
        "plan import german-semicolon-utf8.csv", "failed", "RuntimeError")


def test_audited_records_an_interruption(tmp_path: Path) -> None:
    app = build_app({"db": tmp_path / "state.db"}, env={"USER": "anna", "SUDO_USER": "anna"})
    with pytest.raises(KeyboardInterrupt), app.audited("plan import x.csv"):
        raise KeyboardInterrupt
    (entry,) = app.store.audit_entries()
    assert (entry.outcome, entry.detail, entry.user) == ("failed", "KeyboardInterrupt", "anna")
    app.close()


@needs_cases
def test_handed_case_apostrophes(invoke: Invoke, cli_env: Path) -> None:
    result = invoke("plan", "import", str(CASES / "04-csv-swiss-apostrophe.csv"))
    assert result.exit_code == 0, result.output
    items = Store.open(cli_env / "state.db").plan_items()
    amounts = {(i.measure.value, i.budget_eur, i.spent_eur) for i in items}
    assert ("access_points", Decimal("5360.00"), None) in amounts
    assert ("cabling", Decimal("84600.00"), Decimal("85615.20")) in amounts


@needs_cases
def test_handed_case_mixed_encoding(invoke: Invoke, cli_env: Path) -> None:
    result = invoke("plan", "import", str(CASES / "07b-csv-mixed-utf8-cp1252-noeuro.csv"))
    assert result.exit_code == ExitStatus.INVALID_INPUT
    assert "row 4, column 'school_name': byte 0xDF is not UTF-8" in result.stderr
    assert _versions(cli_env / "state.db") == 0
    assert "MÃ¼" not in result.output


@needs_cases
def test_handed_case_password(invoke: Invoke, cli_env: Path) -> None:
    result = invoke("plan", "import", str(CASES / "12-xlsx-password-protected.xlsx"))
    assert result.exit_code == ExitStatus.INVALID_INPUT
    assert "password-protected" in result.stderr and "Excel 97-2003" not in result.stderr
    assert _versions(cli_env / "state.db") == 0


@needs_cases
def test_handed_case_year_as_date(invoke: Invoke, cli_env: Path) -> None:
    result = invoke("plan", "import", str(CASES / "14-xlsx-year-as-date.xlsx"))
    assert result.exit_code == 0, result.output
    years = sorted({i.year for i in Store.open(cli_env / "state.db").plan_items()})
    assert years == [2021, 2022]


@needs_cases
def test_handed_case_summary_first_sheet(invoke: Invoke, cli_env: Path) -> None:
    result = invoke("plan", "import", str(CASES / "16-xlsx-summary-first-sheet.xlsx"))
    assert result.exit_code == 0, result.output
    assert "read as XLSX, sheet 'Tabelle2'" in result.output
    budgets = sorted(i.budget_eur for i in Store.open(cli_env / "state.db").plan_items())
    assert budgets == [Decimal("5360.00"), Decimal("21920.00"), Decimal("84600.00")]


def _html_as_xls(folder: Path) -> Path:
    path = folder / "plan.xls"
    path.write_bytes(b"<html><body><table><tr><td>Schulnummer</td></tr></table></body></html>")
    return path


def _mixed_csv(folder: Path) -> Path:
    path = folder / "plan.csv"
    path.write_bytes((PLANS / "german-semicolon-utf8.csv").read_bytes() + "100009;Stra\xdfe;"
                     "Grundschule;WLAN;2021;;1.000;;;\r\n".encode("cp1252"))
    return path


def _wrong_total(folder: Path) -> Path:
    path = folder / "plan.csv"
    path.write_bytes((PLANS / "german-semicolon-utf8.csv").read_bytes()
                     + b";;;Summe;;;1,00;;;\r\n")
    return path


def _merged_amount(folder: Path) -> Path:
    rows = plan_rows()
    rows[3][6] = None
    return openpyxl_book(folder / "plan.xlsx", [Sheet("Plan", rows, merges=[(2, 6, 3, 6)])])


@pytest.mark.parametrize(("make", "expected"), [
    (_html_as_xls, "the file is a web page (HTML)"),
    (_mixed_csv, "byte 0xDF is not UTF-8"),
    (_wrong_total, "total row 'Summe': 1,00 is not the sum of rows 2–4"),
    (_merged_amount, "this cell is merged over rows 3–4"),
])
def test_refused_files_write_nothing(invoke: Invoke, cli_env: Path,
                                     make: Callable[[Path], Path], expected: str) -> None:
    assert invoke("plan", "import", str(PLANS / "german-semicolon-utf8.csv")).exit_code == 0
    before = Store.open(cli_env / "state.db").plan_items()
    folder = cli_env / "files"
    folder.mkdir()
    path = make(folder)
    result = invoke("plan", "import", str(path))
    assert result.exit_code == ExitStatus.INVALID_INPUT, result.output
    assert expected in result.stderr
    assert "nothing was written" in result.stderr
    assert _versions(cli_env / "state.db") == 1
    assert Store.open(cli_env / "state.db").plan_items() == before
