"""CSV files as people save them: every encoding and delimiter, and never mojibake."""

from __future__ import annotations

import codecs
from decimal import Decimal
from pathlib import Path

import pytest

from provisioner.errors import ConfigError, InvalidInputError
from provisioner.plan import read_plan
from provisioner.plan.encoding import mojibake_fix

HEADER = "Schulnummer;Schule;Schulform;Maßnahme;Jahr;Anzahl;Kosten (EUR);Ist-Kosten (EUR)"
ROWS = [
    "100001;GGS Am Mühlenbach;Grundschule;WLAN;2021;;5.360,00 €;",
    "100002;Realschule Am Weißdornweg;Realschule;Switches;2022;4;7.560,00;",
]
NAMES = ["GGS Am Mühlenbach", "Realschule Am Weißdornweg"]


def _write(tmp_path: Path, data: bytes, name: str = "plan.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _text(lines: list[str], delimiter: str = ";") -> str:
    return "\r\n".join(line.replace(";", delimiter) for line in lines) + "\r\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (_text([HEADER, *ROWS]).encode("utf-8"), "UTF-8"),
        (codecs.BOM_UTF8 + _text([HEADER, *ROWS]).encode("utf-8"), "UTF-8 with BOM"),
        (_text([HEADER, *ROWS]).encode("cp1252"), "Windows-1252"),
        (codecs.BOM_UTF16_LE + _text([HEADER, *ROWS]).encode("utf-16-le"), "UTF-16LE with BOM"),
        (codecs.BOM_UTF16_BE + _text([HEADER, *ROWS]).encode("utf-16-be"), "UTF-16BE with BOM"),
        (_text([HEADER, *ROWS]).encode("utf-16-le"), "UTF-16LE without BOM"),
    ],
)
def test_encodings_are_detected(tmp_path: Path, data: bytes, encoding: str) -> None:
    plan = read_plan(_write(tmp_path, data))
    assert [s.name for s in plan.schools] == NAMES
    assert plan.info.encoding == encoding
    assert [i.budget_eur for i in plan.items] == [Decimal("5360.00"), Decimal("7560.00")]


@pytest.mark.parametrize(("delimiter", "shown"), [(";", "';'"), (",", "','"), ("\t", "tab"),
                                                  ("|", "'|'")])
def test_delimiters_are_detected(tmp_path: Path, delimiter: str, shown: str) -> None:
    rows = [r.replace("5.360,00 €", '"5.360,00 €"').replace("7.560,00", '"7.560,00"')
            for r in ROWS] if delimiter == "," else ROWS
    plan = read_plan(_write(tmp_path, _text([HEADER, *rows], delimiter).encode("utf-8")))
    assert [s.name for s in plan.schools] == NAMES
    assert plan.detected == f"CSV, delimiter {shown}, encoding UTF-8"


def test_excel_sep_line(tmp_path: Path) -> None:
    data = _text(["sep=|", *[line.replace(";", "|") for line in [HEADER, *ROWS]]])
    plan = read_plan(_write(tmp_path, data.encode("utf-8")))
    assert plan.info.delimiter == "|"
    assert [i.school_id for i in plan.items] == ["100001", "100002"]


def test_stray_cp1252_byte_in_utf8_is_refused_with_its_cell(tmp_path: Path) -> None:
    # What happens when one cell is pasted from a Windows-1252 file into a UTF-8 one.
    data = _text([HEADER, ROWS[0]]).encode("utf-8") + _text([ROWS[1]]).encode("cp1252")
    with pytest.raises(InvalidInputError) as caught:
        read_plan(_write(tmp_path, data))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (3, "Schule")
    assert problem.message.startswith(
        "byte 0xDF is not UTF-8 ('Realschule Am Wei\ufffddornweg'; in Windows-1252 it is 'ß'), "
        "though the rest of the file is UTF-8: the file mixes two encodings; correct the cell, "
        "then save the file from Excel as 'CSV UTF-8 (durch Trennzeichen getrennt)'")
    assert "or pass --encoding NAME" in problem.message


def test_every_cell_of_a_mixed_file_is_named(tmp_path: Path) -> None:
    rows = [f"1000{n:02d};Schule Nr. {n} Straße;Grundschule;WLAN;2021;;1.000;" for n in range(30)]
    data = _text([HEADER, "100099;Schule Müller;Grundschule;WLAN;2021;;1.000;"]).encode("utf-8")
    data += _text(rows[:2]).encode("cp1252")
    with pytest.raises(InvalidInputError) as caught:
        read_plan(_write(tmp_path, data))
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "Schule"), (4, "Schule")]


def test_cp1252_file_with_utf8_bytes_is_refused(tmp_path: Path) -> None:
    # Mostly Windows-1252 (three umlauts), one cell pasted from a UTF-8 file.
    data = _text([HEADER, "100001;Grundschule Ölweg;Grundschule;WLAN;2021;;1.000;",
                  "100002;Förderschule Süd;Förderschule;WLAN;2021;;1.000;"]).encode("cp1252")
    data += _text(["100003;GGS Am Mühlenbach;Grundschule;WLAN;2021;;1.000;"]).encode("utf-8")
    with pytest.raises(InvalidInputError) as caught:
        read_plan(_write(tmp_path, data))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (4, "Schule")
    assert problem.message.startswith(
        "'GGS Am MÃ¼hlenbach' holds UTF-8 bytes in a file that is otherwise Windows-1252 "
        "(meant: 'GGS Am Mühlenbach'): the file mixes two encodings")


def test_garbled_text_in_a_valid_utf8_file_is_refused(tmp_path: Path) -> None:
    # Converted twice by some tool before: valid UTF-8 that says "MÃ¼hlenbach".
    data = _text([HEADER, ROWS[0].replace("Mühlenbach", "MÃ¼hlenbach"), ROWS[1]])
    with pytest.raises(InvalidInputError) as caught:
        read_plan(_write(tmp_path, data.encode("utf-8")))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (2, "Schule")
    assert problem.message.startswith("'GGS Am MÃ¼hlenbach' is garbled (meant: 'GGS Am "
                                      "Mühlenbach')")


def test_encoding_option_overrides(tmp_path: Path) -> None:
    data = _text([HEADER, *ROWS]).encode("iso8859-15")
    plan = read_plan(_write(tmp_path, data), encoding="ISO-8859-15")
    assert [s.name for s in plan.schools] == NAMES
    assert plan.info.encoding == "iso8859-15 (--encoding)"
    # Bytes invalid in the encoding named: every cell named, nothing read.
    with pytest.raises(InvalidInputError) as caught:
        read_plan(_write(tmp_path, _text([HEADER, *ROWS]).encode("cp1252")), encoding="utf-8")
    assert [(p.row, p.column) for p in caught.value.problems] == [
        (1, "Ma\ufffdnahme"), (2, "Schule"), (2, "Kosten (EUR)"), (3, "Schule")]
    assert caught.value.problems[1].message.startswith(
        "byte 0xFC is not valid utf-8 (--encoding) ('GGS Am M\ufffdhlenbach'): pass the "
        "file's real encoding with --encoding")


def test_wrong_encoding_option_is_refused(tmp_path: Path) -> None:
    # A UTF-8 file read as Windows-1252 on the user's word would store mojibake.
    path = _write(tmp_path, _text([HEADER, *ROWS]).encode("utf-8"))
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path, encoding="cp1252")
    (problem,) = caught.value.problems
    assert problem.row == 1
    assert problem.message.startswith(
        "read as cp1252 (--encoding), the file gives 'MaÃŸnahme', which is no plausible text: "
        "the file is not in cp1252; without --encoding it is read as UTF-8: save the file")


def test_garbled_header_is_named_with_its_meaning(tmp_path: Path) -> None:
    # Converted twice before it reached the file: valid UTF-8 that says "MaÃŸnahme".
    path = _write(tmp_path, _text([HEADER.replace("Maßnahme", "MaÃŸnahme"), *ROWS]).encode())
    with pytest.raises(InvalidInputError) as caught:
        read_plan(path)
    garbled, missing = caught.value.problems
    assert (garbled.row, garbled.column) == (1, "MaÃŸnahme")
    assert garbled.message == (
        "the header is garbled (meant: 'Maßnahme'): the file was read as UTF-8, "
        "which it is not; pass the right --encoding or let the tool detect it")
    assert missing.message.startswith("required column 'Maßnahme' is missing")


def test_unknown_encoding_option(tmp_path: Path) -> None:
    path = _write(tmp_path, _text([HEADER, *ROWS]).encode("utf-8"))
    with pytest.raises(ConfigError, match="unknown encoding 'klingon': name one Python knows"):
        read_plan(path, encoding="klingon")


def test_zero_bytes_are_refused(tmp_path: Path) -> None:
    data = _text([HEADER, *ROWS]).encode("utf-8") + b"\x00\x01\x02garbage"
    with pytest.raises(InvalidInputError) as caught:
        read_plan(_write(tmp_path, data))
    (problem,) = caught.value.problems
    assert problem.row == 4
    assert problem.message.startswith("the file holds zero bytes, so it is not CSV text")


@pytest.mark.parametrize(
    ("budget", "spent", "expected"),
    [
        ("5’360.00", "85’615.20", ("5360.00", "85615.20")),  # U+2019, Swiss tables
        ("5ʼ360,00", "85ʼ615,20", ("5360.00", "85615.20")),  # U+02BC
        ("5\u202f360,00 €", "85\u202f615,20", ("5360.00", "85615.20")),  # narrow no-break
        ("5\u00a0360,00", "1\u00a0085\u00a0615,20", ("5360.00", "1085615.20")),  # no-break
        ("5'360.00", "85'615.20", ("5360.00", "85615.20")),
    ],
)
def test_thousands_separators_in_csv(tmp_path: Path, budget: str, spent: str,
                                     expected: tuple[str, str]) -> None:
    line = f"100001;GGS Am Mühlenbach;Grundschule;Verkabelung;2021;;{budget};{spent}"
    (item,) = read_plan(_write(tmp_path, _text([HEADER, line]).encode("utf-8"))).items
    assert (item.budget_eur, item.spent_eur) == tuple(Decimal(e) for e in expected)


@pytest.mark.parametrize(("text", "meant"), [
    ("GGS Am MÃ¼hlenbach", "GGS Am Mühlenbach"),
    ("WeiÃŸdornweg", "Weißdornweg"),
    ("â‚¬ 5.000", "€ 5.000"),
    ("GGS Am Mühlenbach", None),
    ("Förderschule Süd", None),
    ("ÄÖÜ äöü ß", None),
])
def test_mojibake_fix(text: str, meant: str | None) -> None:
    assert mojibake_fix(text) == meant
