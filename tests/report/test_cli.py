"""`provision export` and `provision plan progress` through the CLI."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import Invoke
from tests.report.conftest import build_database, today


@pytest.fixture
def db(cli_env: Path) -> Path:
    return build_database(cli_env / "report.db")


def test_export_writes_the_file_and_keeps_a_snapshot(invoke: Invoke, db: Path,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "ausschuss.xlsx"
    result = invoke("export", "--format", "xlsx", "-o", str(out), db=db)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK"
    assert result.output.startswith(f"wrote {out} (xlsx, ")
    assert f"\n20 schools as of {today():%d.%m.%Y}: " in result.output
    assert result.output.endswith("paid out; snapshot 1 kept for --since\n")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT format, scope, as_of FROM export_snapshots").fetchall() == \
        [("xlsx", "all", today().isoformat())]
    assert conn.execute("SELECT command, outcome, user FROM audit_log").fetchall()[-1] == \
        ("export --format xlsx -o ausschuss.xlsx", "ok", "anna")


def test_several_formats_from_one_report(invoke: Invoke, db: Path, tmp_path: Path) -> None:
    result = invoke("export", "--format", "pdf", "--format", "csv", "-o",
                    str(tmp_path / "sitzung.pdf"), db=db)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sitzung.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "sitzung.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT format FROM export_snapshots").fetchall() == [("pdf,csv",)]
    as_json = json.loads(invoke("--json", "export", "--format", "html", "-o",
                                str(tmp_path / "x.html"), db=db).output)
    assert as_json["files"] == {"html": str(tmp_path / "x.html")}
    assert as_json["snapshot_id"] == 2 and as_json["summary"]["schools"] == 20
    refused = invoke("export", "--format", "json", "--format", "csv", db=db)
    assert refused.exit_code == 2
    assert "several formats need -o NAME" in refused.output


def test_text_formats_go_to_stdout(invoke: Invoke, db: Path) -> None:
    result = invoke("export", "--format", "json", "--lang", "en", "--school", "100002", db=db)
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["lang"] == "en" and [s["school_id"] for s in data["schools"]] == ["100002"]
    csv_out = invoke("export", "--format", "csv", "--lang", "en", "--year", "2022", db=db)
    header = csv_out.output.lstrip("\ufeff").splitlines()[0]
    assert header.startswith("School no.,School,Measure,Year,")


def test_since_last_shows_what_changed(invoke: Invoke, db: Path) -> None:
    assert invoke("export", "--format", "json", db=db).exit_code == 0
    done = invoke("plan", "progress", "--school", "100003", "--measure", "Verkabelung",
                  "--year", "2020", "--done", "100%", "--note", "Abnahme 01.09.", db=db)
    assert done.exit_code == 0, done.output
    assert done.output == "recorded: 100003 Verkabelung 2020: 100% (Abnahme 01.09.)\n"
    html = invoke("export", "--format", "html", "--since", "last", db=db).output
    assert "Seit dem letzten Bericht" in html
    assert "<li>+1 Schulen mit Verkabelung vollständig umgesetzt (1 → 2)</li>" in html
    assert "<li>abgeflossen seitdem: 0,00 €</li>" in html
    # The next comparison is with the HTML export just made: nothing changed since.
    result = invoke("export", "--format", "json", "--since", "last", db=db)
    changes = json.loads(result.output)["changes"]
    assert changes["snapshot_id"] == 2
    assert changes["schools_done"]["cabling"] == {"before": 2, "now": 2}
    assert changes["spent_since_eur"] == "0.00" and changes["turned_red"] == []


def test_the_first_export_since_last_is_made_and_says_there_is_nothing_to_compare(
        invoke: Invoke, db: Path, tmp_path: Path) -> None:
    # A monthly job with --since last gets its first report too.
    out = tmp_path / "erster.json"
    result = invoke("export", "--format", "json", "-o", str(out), "--since", "last", db=db)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_bytes())["changes"] is None
    assert result.stderr == ("Note: no earlier export to compare with: this is the first, so "
                             "the report shows no changes; the next '--since last' compares "
                             "with it\n")
    assert result.stdout.endswith("paid out; snapshot 1 kept for --since\n")
    second = invoke("export", "--format", "json", "--since", "last", db=db)
    assert second.exit_code == 0 and second.stderr == ""
    assert json.loads(second.stdout)["changes"]["snapshot_id"] == 1


def test_the_first_report_since_last_tells_the_committee_there_is_nothing_to_compare(
        invoke: Invoke, db: Path, tmp_path: Path) -> None:
    result = invoke("export", "--format", "html", "--format", "xlsx", "--format", "pdf",
                    "-o", str(tmp_path / "erster"), "--since", "last", db=db)
    assert result.exit_code == 0, result.output
    said = "Erster Bericht: es gibt noch keinen früheren zum Vergleich"
    assert said in (tmp_path / "erster.html").read_text(encoding="utf-8")
    book = openpyxl.load_workbook(tmp_path / "erster.xlsx")
    assert any(said in str(cell) for sheet in book.worksheets
               for row in sheet.iter_rows(values_only=True) for cell in row if cell)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    pdf = subprocess.run(["pdftotext", str(tmp_path / "erster.pdf"), "-"], capture_output=True,
                         text=True, check=True).stdout
    assert said in " ".join(pdf.split())


def test_since_names_a_day_and_finds_turned_red(invoke: Invoke, db: Path) -> None:
    # An export made on a day when 100001 was green (its snapshot, as stored then).
    conn = sqlite3.connect(db)
    figures = {"version": 1, "as_of": "2025-06-30", "scope": "all", "schools": {
        "100001": {"name": "GGS Am Lindenplatz", "status": "green", "spent_eur": "1000.00",
                   "approved_eur": "0.00", "verified": 0, "done": []}}}
    conn.execute("INSERT INTO export_snapshots (created_at, created_by, as_of, format, scope, "
                 "figures) VALUES ('2025-06-30T10:00:00+00:00', 'anna', '2025-06-30', 'pdf', "
                 "'all', ?)", (json.dumps(figures),))
    conn.commit()
    result = invoke("export", "--format", "json", "--since", "2025-07-01", db=db)
    changes = json.loads(result.output)["changes"]
    assert [c["school_id"] for c in changes["turned_red"]] == ["100001"]
    assert changes["verified_since"] == 5
    assert changes["spent_since_eur"] == "154797.30"
    assert len(changes["new_schools"]) == 19


@pytest.mark.parametrize(("args", "status", "message"), [
    (["--format", "pdf"], 2, "pdf is a binary format: give a file with -o FILE.pdf"),
    (["--format", "csv", "--since", "2025-01-01"], 4, "no export was made on or before 01.01.2025"),
    (["--format", "csv", "--since", "yesterday"], 2, "--since 'yesterday' is neither 'last'"),
    (["--format", "csv", "--as-of", "2999-01-01"], 2, "--as-of 2999-01-01 lies in the future"),
    (["--format", "csv", "--school", "999999"], 4, "unknown school '999999'"),
    (["--format", "csv", "--as-of", "31.12.2024"], 4, "no plan version was in force on 31.12.2024"),
])
def test_export_refuses_clearly_and_keeps_no_snapshot(invoke: Invoke, db: Path,
                                                      args: list[str], status: int,
                                                      message: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("provisioner.cli.export._stdout_is_terminal", lambda: True)
    result = invoke("export", *args, db=db)
    assert result.exit_code == status, result.output
    assert message in result.output
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM export_snapshots").fetchone() == (0,)


def test_unwritable_output_keeps_no_snapshot(invoke: Invoke, db: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke("export", "--format", "csv", "-o", str(blocker / "report.csv"), db=db)
    assert result.exit_code == 1
    assert f"cannot write {blocker / 'report.csv'}" in result.output
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM export_snapshots").fetchone() == (0,)


@pytest.mark.parametrize(("args", "message"), [
    (["--measure", "switches", "--year", "2020", "--done", "2"],
     "switches are counted from the devices' rollout state"),
    (["--measure", "cabling", "--year", "2020", "--done", "3"],
     "has no quantity in the plan: give the share done as a percentage"),
    (["--measure", "Endgeräte", "--year", "2020", "--done", "31"],
     "--done 31 is more than the planned quantity 30"),
    (["--measure", "cabling", "--year", "2020", "--done", "101%"], "more than 100%"),
    (["--measure", "cabling", "--year", "2020", "--done", "viel"], "neither a count"),
    (["--measure", "cabling", "--year", "2023", "--done", "5%"], "has no cabling for school"),
    (["--measure", "beamer", "--year", "2020", "--done", "5%"], "unknown measure 'beamer'"),
])
def test_plan_progress_refuses_clearly(invoke: Invoke, db: Path, args: list[str],
                                       message: str) -> None:
    result = invoke("plan", "progress", "--school", "100001", *args, db=db)
    assert result.exit_code in (2, 4), result.output
    assert message in result.output
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM plan_progress").fetchone() == (2,)


def test_plan_progress_is_audited_and_shown(invoke: Invoke, db: Path) -> None:
    result = invoke("plan", "progress", "--school", "100001", "--measure", "displays",
                    "--year", "2021", "--done", "3", db=db)
    assert result.exit_code == 0
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT command, outcome FROM audit_log").fetchall()[-1] == \
        ("plan progress 100001 displays 2021 3", "ok")
    shown = invoke("school", "show", "100001", db=db).output
    assert "Progress recorded" in shown
    assert "2021  Präsentationstechnik  3" in shown
    data = json.loads(invoke("export", "--format", "json", "--school", "100001", db=db).output)
    row = next(i for i in data["items"] if (i["measure"], i["year"]) == ("displays", 2021))
    assert (row["provisioned"], row["percent_done"], row["source"]) == (3, "75.0", "recorded")


def test_export_without_a_plan_says_what_to_do(invoke: Invoke) -> None:
    result = invoke("export", "--format", "csv")
    assert result.exit_code == 4
    assert "no plan imported yet: import one with 'provision plan import FILE'" in result.output
