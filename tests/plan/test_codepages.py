"""CSV plans in legacy 8-bit code pages: read right, or refused naming the code pages;
never stored as mojibake."""

from __future__ import annotations

import json
import random
import re
import sqlite3
from pathlib import Path

import pytest

from provisioner.errors import ExitStatus, InvalidInputError
from provisioner.plan import read_plan
from provisioner.plan.codepages import CANDIDATES, Undecided, detect, judge
from tests.conftest import Invoke
from tests.plan.books import HEADER as WORKBOOK_HEADER
from tests.plan.books import Sheet, openpyxl_book

CODEC_OF = {label: codec for codec, label in CANDIDATES}
ASCII_HEADER = "school_id;school_name;school_type;measure;year;quantity;budget_eur;funding"
GERMAN_HEADER = "Schulnummer;Schule;Schulform;Maßnahme;Jahr;Anzahl;Kosten (EUR);Förderprogramm"
NAMES = ["GGS Am Mühlenbach", "Realschule Am Weißdornweg", "Förderschule Süd",
         "Käthe-Kollwitz-Berufskolleg", "Ökumenische Grundschule", "Überruhr-Schule"]
# What UTF-8 or an 8-bit code page read as another one makes of German text: UTF-8 read
# as Windows-1252 (Ã¼, â‚¬), Mac Roman as Windows-1252 (MŸhlenbach, Ma§nahme, FŠhre),
# DOS 850 as Windows-1252 (F”rder, „ for ä), Windows-1252 as Mac Roman (M¸hlenbach,
# Weiﬂ, ‰ for ä) or as DOS (box drawing, ³ for ü); C1 control characters.
MOJIBAKE = re.compile("Ã|â‚¬|Ÿ|Š|š|§|¸|ﬂ|‰|ƒ|÷|‹|†|³|”|„|á|Å|Ž|™|[\u2500-\u259f\u0080-\u009f]")
SHORT_TO_CODEC = {"mac_roman", "cp850", "cp437", "iso8859_15", "cp858", "cp1252", "latin_1",
                  "cp1250"}


def _plan_text(header: str, names: list[str], eol: str, euro: bool = False) -> str:
    amount = "5.360,00 €" if euro else "5.360,00"
    rows = [f"{100001 + n};{name};Grundschule;WLAN;2021;;{amount};DigitalPakt Schule"
            for n, name in enumerate(names)]
    return eol.join([header, *rows]) + eol


def _same_text(data: bytes, label: str, text: str) -> bool:
    return data.decode(CODEC_OF[label]) == text


@pytest.mark.parametrize("eol", ["\r", "\n", "\r\n"], ids=["CR", "LF", "CRLF"])
@pytest.mark.parametrize("header", [ASCII_HEADER, GERMAN_HEADER], ids=["ascii", "german"])
@pytest.mark.parametrize(("codec", "label"), [
    ("mac_roman", "Mac Roman"), ("cp850", "DOS code page 850"),
    ("cp437", "DOS code page 850"),  # German text is the same in 437 and 850
    ("iso8859_15", "ISO-8859-15"), ("cp858", "DOS code page 858"),
])
def test_code_pages_are_read_right(tmp_path: Path, codec: str, label: str, header: str,
                                   eol: str) -> None:
    euro = codec in ("iso8859_15", "cp858")  # the € tells them from 1252 and 850
    text = _plan_text(header, NAMES, eol, euro=euro)
    path = tmp_path / "plan.csv"
    path.write_bytes(text.encode(codec))
    plan = read_plan(path)
    assert [s.name for s in plan.schools] == NAMES
    assert plan.info.encoding == label
    assert f"read as {label}, the code page that gives plausible text" in plan.notices[0].message


@pytest.mark.parametrize("eol", ["\r", "\n", "\r\n"], ids=["CR", "LF", "CRLF"])
@pytest.mark.parametrize("codec", sorted(SHORT_TO_CODEC))
@pytest.mark.parametrize("name", NAMES)
def test_a_short_file_with_one_umlaut_is_read_right_or_refused(
        tmp_path: Path, codec: str, name: str, eol: str) -> None:
    text = _plan_text(ASCII_HEADER, [name, "KGS St. Marien"], eol)
    path = tmp_path / "plan.csv"
    path.write_bytes(text.encode(codec))
    try:
        plan = read_plan(path)
    except InvalidInputError as caught:
        (problem,) = caught.problems
        assert "reads as plausible text in more than one code page" in problem.message
        right = [label for label in CODEC_OF if _same_text(path.read_bytes(), label, text)]
        assert any(f"{label} (--encoding" in problem.message for label in right)
        return
    assert plan.schools[0].name == name
    assert _same_text(path.read_bytes(), plan.info.encoding or "", text)


def plan_label(codec: str) -> str:
    return dict(CANDIDATES)[codec]


def test_the_euro_sign_tells_iso_8859_15_from_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    for codec, label in (("iso8859_15", "ISO-8859-15"), ("cp1252", "Windows-1252")):
        path.write_bytes(_plan_text(ASCII_HEADER, ["KGS St. Marien"], "\n", euro=True)
                         .encode(codec))
        assert read_plan(path).info.encoding == label


def test_central_european_names_are_read_or_refused_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_bytes(_plan_text(GERMAN_HEADER, ["Szkoła Podstawowa Łódź"], "\r\n")
                     .encode("cp1250"))
    assert read_plan(path).schools[0].name == "Szkoła Podstawowa Łódź"
    path.write_bytes(_plan_text(GERMAN_HEADER, ["Dvořák-Schule"], "\r\n").encode("cp1250"))
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    (problem,) = caught.value.problems
    assert problem.row == 2
    assert problem.message.startswith(
        "the file is not UTF-8, and it reads as plausible text in more than one code page, so "
        "the tool does not guess: Windows-1252 (--encoding cp1252) gives 'Dvoøák-Schule'; "
        "Windows-1250 (--encoding cp1250) gives 'Dvořák-Schule': save the file from Excel as "
        "'CSV UTF-8 (durch Trennzeichen getrennt)'")
    # Named, it is read.
    assert read_plan(path, encoding="cp1250").schools[0].name == "Dvořák-Schule"


def test_a_code_page_the_tool_does_not_know_is_refused(tmp_path: Path) -> None:
    # Greek (Windows-1253) is garbage in every candidate.
    path = tmp_path / "plan.csv"
    path.write_bytes(_plan_text(ASCII_HEADER, ["Γυμνάσιο Αθηνών"], "\n").encode("cp1253"))
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    (problem,) = caught.value.problems
    assert problem.message.startswith("the file is not UTF-8, and no code page tried reads it "
                                      "as plausible text (the closest, ")


def test_a_forced_code_page_that_garbles_the_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_bytes(_plan_text(GERMAN_HEADER, NAMES, "\r").encode("mac_roman"))
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path, encoding="cp1252")
    (problem,) = caught.value.problems
    assert problem.message.startswith(
        "read as cp1252 (--encoding), the file gives 'Ma§nahme', which is no plausible text: "
        "the file is not in cp1252; without --encoding it is read as Mac Roman")
    assert read_plan(path, encoding="mac-roman").schools[0].name == NAMES[0]


def test_dos_end_of_file_mark_and_excel_sep_line_with_cr(tmp_path: Path) -> None:
    text = "sep=;\r" + _plan_text(GERMAN_HEADER, NAMES, "\r")
    path = tmp_path / "plan.csv"
    path.write_bytes(text.encode("cp850") + b"\x1a")
    plan = read_plan(path)
    assert [s.name for s in plan.schools] == NAMES
    assert plan.info.delimiter == ";"


def test_a_stray_mac_byte_in_utf8_is_named_with_its_meaning(tmp_path: Path) -> None:
    data = _plan_text(ASCII_HEADER, ["Förderschule Süd", "GGS Am Mühlenbach"], "\n").encode()
    data = data.replace("Mühlenbach".encode(), "Mühlenbach".encode("mac_roman"))
    path = tmp_path / "plan.csv"
    path.write_bytes(data)
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    (problem,) = caught.value.problems
    assert "byte 0x9F is not UTF-8 ('GGS Am M\ufffdhlenbach'; in Mac Roman it is 'ü')" \
        in problem.message


def test_random_german_plans_are_never_misread() -> None:
    """Plans of 1-4 rows from German school names, in every candidate code page and a few
    more that write German letters: each is read right or refused, never misread."""
    rng = random.Random(14)
    names = [*NAMES, "STÄDTISCHES GYMNASIUM", "GRUNDSCHULE ÜBERRUHR", "Grundschule „Am Park“",
             "Schule – Nord", "Lycée Français", "Kid´s Schule", "Präsentationstechnik"]
    codecs = [c for c, _ in CANDIDATES] + ["latin_1", "cp1257", "mac_latin2", "cp865",
                                            "iso8859_13", "mac_iceland"]
    outcomes = {"right": 0, "refused": 0}
    for _ in range(1500):
        text = _plan_text(rng.choice([ASCII_HEADER, GERMAN_HEADER]),
                          rng.sample(names, rng.randint(1, 4)), rng.choice(["\r", "\n", "\r\n"]),
                          euro=rng.random() < 0.3)
        try:
            data = text.encode(rng.choice(codecs))
        except UnicodeEncodeError:
            continue
        try:
            reading = detect(data)
        except Undecided:
            outcomes["refused"] += 1
            continue
        assert data.decode(reading.codec) == text, reading.label
        outcomes["right"] += 1
    assert outcomes["refused"] < outcomes["right"] / 20


@pytest.mark.parametrize(("word", "verdict"), [
    ("Mühlenbach", (0, 0)), ("MŸhlenbach", (1, 0)), ("Ma§nahme", (1, 0)),
    ("Weiádornweg", (0, 1)), ("FÜrderschule", (1, 0)), ("šBERRUHR", (1, 0)),
    ("5.360,00€", (0, 0)), ("Ä", (0, 1)), ("€rztehaus", (1, 0)), ("m²", (0, 0)),
    ("Kid´s", (0, 0)), ("5’360", (0, 0)), ("¤", (1, 0)), ("╔═", (2, 0)), ("…kumenisch", (1, 0)),
    ("§ 5", (0, 0)), ("§", (1, 0)), ("F—rderschule", (1, 0)), ("2020–2022", (0, 0)),
])
def test_judge(word: str, verdict: tuple[int, int]) -> None:
    assert judge(word) == verdict


# -- end to end: nothing garbled in the database or in what the CLI shows ----------------

def _stored_text(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT school_id, name, school_type FROM schools").fetchall()
        rows += conn.execute("SELECT funding, funding_status FROM plan_items").fetchall()
    return json.dumps(rows, ensure_ascii=False)


@pytest.mark.parametrize("eol", ["\r", "\r\n"], ids=["CR", "CRLF"])
@pytest.mark.parametrize("codec", ["mac_roman", "cp850", "cp437", "iso8859_15"])
def test_nothing_garbled_is_stored_or_shown(invoke: Invoke, cli_env: Path, tmp_path: Path,
                                             codec: str, eol: str) -> None:
    for header in (ASCII_HEADER, GERMAN_HEADER):
        path = tmp_path / f"plan-{codec}.csv"
        path.write_bytes(_plan_text(header, NAMES, eol, euro=codec == "iso8859_15")
                         .encode(codec))
        db = cli_env / f"{codec}-{len(header)}.db"
        result = invoke("--json", "plan", "import", str(path), db=db)
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["read_as"]["encoding"] == plan_label(
            "cp850" if codec == "cp437" else codec)
        shown = [json.loads(invoke("--json", *command, db=db).output)
                 for command in (("plan", "show"), ("schools",))]
        for text in (_stored_text(db), json.dumps(shown, ensure_ascii=False)):
            assert all(name in text for name in NAMES), text
            assert not MOJIBAKE.search(text), text


def test_the_issue_s_mac_file_imports_right(invoke: Invoke, cli_env: Path,
                                             tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_bytes(_plan_text(ASCII_HEADER, ["GGS Am Mühlenbach"], "\r").encode("mac_roman"))
    result = invoke("plan", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "read as CSV, delimiter ';', encoding Mac Roman" in result.output
    assert "'GGS Am MŸhlenbach'" not in _stored_text(cli_env / "state.db")
    assert "GGS Am Mühlenbach" in _stored_text(cli_env / "state.db")


def test_an_undecidable_file_writes_nothing(invoke: Invoke, cli_env: Path,
                                            tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_bytes(_plan_text(GERMAN_HEADER, ["Dvořák-Schule"], "\n").encode("cp1250"))
    result = invoke("plan", "import", str(path))
    assert result.exit_code == ExitStatus.INVALID_INPUT
    assert "Windows-1250 (--encoding cp1250) gives 'Dvořák-Schule'" in result.stderr
    assert "CSV UTF-8" in result.stderr
    assert _stored_text(cli_env / "state.db") == "[]"


def test_workbooks_are_unaffected(invoke: Invoke, cli_env: Path, tmp_path: Path) -> None:
    rows = [WORKBOOK_HEADER, [100001, "GGS Am Mühlenbach", "Grundschule", "WLAN", 2021, None,
                              "5.360,00 €", "DigitalPakt Schule", "bewilligt", None],
            [100002, "Schule „Am Park“ – Nord", "Grundschule", "WLAN", 2021, None, 1000,
             "DigitalPakt Schule", "bewilligt", None]]
    path = openpyxl_book(tmp_path / "plan.xlsx", [Sheet("Plan", rows)])
    result = invoke("--json", "plan", "import", str(path))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["read_as"]["encoding"] is None
    assert "Schule „Am Park“ – Nord" in _stored_text(cli_env / "state.db")
