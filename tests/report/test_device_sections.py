"""Devices one by one in every format: those needing attention, and schools not in the plan."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from provisioner.db import Store
from provisioner.outcome import DeviceState
from provisioner.report import FORMATS, Scope, build_report, export_report
from tests.report.conftest import AP3_REASON, PAST, UNPLANNED, at, today

REKEYED = "sw1: host key changed: it presents SHA256:new, SHA256:old is pinned"


def _block_sw1(store: Store) -> None:
    """What a run that found sw1's host key changed records (preflight blocked it)."""
    assert store.runs.set_device_state("sw1", DeviceState.BLOCKED, REKEYED)


def _export(store: Store, tmp_path: Path, lang: str) -> dict[str, Path]:
    outcome = export_report(store, Scope(as_of=today(), lang=lang), FORMATS, user="anna",
                            output=tmp_path / f"report-{lang}")
    return outcome.files


def _texts(files: dict[str, Path], tmp_path: Path) -> dict[str, str]:
    """Each format as text a person would read (the PDF through pdftotext)."""
    book = openpyxl.load_workbook(files["xlsx"])
    cells = [" ".join(str(c) for c in row if c is not None)
             for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]
    texts = {"json": files["json"].read_text(encoding="utf-8"),
             "csv": files["csv"].read_bytes().decode("utf-8-sig"),
             "html": files["html"].read_text(encoding="utf-8"), "xlsx": "\n".join(cells)}
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    texts["pdf"] = " ".join(subprocess.run(["pdftotext", str(files["pdf"]), "-"],
                                           capture_output=True, text=True, check=True
                                           ).stdout.split())
    return texts


def test_a_blocked_device_is_no_longer_verified_and_every_format_says_why(
        store: Store, tmp_path: Path) -> None:
    before = build_report(store, Scope(as_of=today()), generated_at=at(today().isoformat()))
    _block_sw1(store)
    after = build_report(store, Scope(as_of=today()), generated_at=at(today().isoformat()))
    assert after.summary.devices.verified == before.summary.devices.verified - 1
    [school] = [s for s in after.schools if s.school_id == "100001"]
    [then] = [s for s in before.schools if s.school_id == "100001"]
    assert school.devices.verified == then.devices.verified - 1
    assert [(d.device, d.state) for d in after.attention] == [
        ("ap3", DeviceState.FAILED), ("sw1", DeviceState.BLOCKED)]
    for lang, word in (("en", "blocked"), ("de", "blockiert")):
        texts = _texts(_export(store, tmp_path, lang), tmp_path)
        for fmt, text in texts.items():
            flat = " ".join(text.split())
            assert "sw1" in flat and REKEYED in flat, (lang, fmt)
            assert (word if fmt != "json" else '"blocked"') in flat, (lang, fmt)
            assert AP3_REASON.replace("'", "&#39;" if fmt == "html" else "'") in flat, (lang, fmt)


def test_the_state_as_of_a_past_day_is_the_state_then(store: Store) -> None:
    _block_sw1(store)  # today: sw1 blocked; on PAST it was verified
    report = build_report(store, Scope(as_of=dt.date.fromisoformat(PAST)),
                          generated_at=at(today().isoformat()))
    assert [d.device for d in report.attention] == ["ap3"]


def test_a_school_not_in_the_plan_is_its_own_section_in_every_format(
        store: Store, tmp_path: Path) -> None:
    report = build_report(store, Scope(as_of=today()), generated_at=at(today().isoformat()))
    [unplanned] = report.unplanned
    assert (unplanned.school_id, unplanned.devices.total, unplanned.devices.verified) == (
        UNPLANNED, 1, 1)
    assert [(d.device, d.state) for d in unplanned.lines] == [("z-sw1", DeviceState.VERIFIED)]
    assert UNPLANNED not in {s.school_id for s in report.schools}  # not in the plan's figures
    files = _export(store, tmp_path, "de")
    data = json.loads(files["json"].read_text(encoding="utf-8"))
    assert [(u["school_id"], [d["device"] for d in u["device_states"]])
            for u in data["not_in_plan"]] == [(UNPLANNED, ["z-sw1"])]
    sections = files["csv"].read_bytes().decode("utf-8-sig").split("\r\n\r\n")
    assert sections[-1].splitlines()[0] == "Nicht im Plan"
    rows = list(csv.DictReader(io.StringIO("\r\n".join(sections[-1].splitlines()[1:])),
                               delimiter=";"))
    assert [(r["Schulnummer"], r["Gerät"], r["Zustand"]) for r in rows] == [
        (UNPLANNED, "z-sw1", "verifiziert")]
    book = openpyxl.load_workbook(files["xlsx"])
    assert [c.value for c in book["Nicht im Plan"][2]][:5] == [
        UNPLANNED, "", "z-sw1", "Switch", "verifiziert"]
    texts = _texts(files, tmp_path)
    for fmt in ("html", "pdf"):
        assert "Nicht im Plan" in texts[fmt] and "z-sw1" in texts[fmt], fmt


def test_only_the_asked_schools_are_listed(store: Store) -> None:
    _block_sw1(store)
    report = build_report(store, Scope(as_of=today(), school_ids=("100002",)),
                          generated_at=at(today().isoformat()))
    assert report.attention == [] and report.unplanned == []
