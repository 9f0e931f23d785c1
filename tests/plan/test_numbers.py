from __future__ import annotations

from decimal import Decimal

import pytest

from provisioner.plan.numbers import NumberFormatError, is_blank, parse_decimal, to_decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # German
        ("949.500,00", "949500.00"),
        ("949.500 €", "949500"),
        ("949.500,00 €", "949500.00"),
        ("€ 12.000", "12000"),
        ("12.000,-", "12000"),
        ("12.000,--", "12000"),
        ("1.200", "1200"),
        ("1.200,5", "1200.5"),
        ("1.200.000", "1200000"),
        ("1.200.000,99", "1200000.99"),
        ("1200,5", "1200.5"),
        ("0,50", "0.50"),
        ("0,500", "0.500"),  # a lone 0 does not start a thousands group
        ("1 200 000", "1200000"),
        ("1\u00a0200,00\u00a0€", "1200.00"),
        ("1'200", "1200"),
        ("5’360.00", "5360.00"),  # typographic apostrophe U+2019 (Swiss tables)
        ("85’615,20", "85615.20"),
        ("1ʼ200ʼ000", "1200000"),  # modifier letter apostrophe U+02BC
        ("5\u202f360,00", "5360.00"),  # narrow no-break space U+202F
        ("5\u2009360,00", "5360.00"),  # thin space U+2009
        ("12000 EUR", "12000"),
        ("12000 Euro", "12000"),
        ("EUR 12000", "12000"),
        # English
        ("12,000.50", "12000.50"),
        ("12,000", "12000"),
        ("1,200,000", "1200000"),
        ("1.5", "1.5"),
        ("1200.50", "1200.50"),
        ("1234.567", "1234.567"),  # four digits before: cannot be a thousands group
        (".5", "0.5"),
        # plain and signed
        ("12000", "12000"),
        ("0", "0"),
        ("  42  ", "42"),
        ("-5,00", "-5.00"),
        ("−1.200", "-1200"),
        ("- 3", "-3"),
    ],
)
def test_parse_decimal(text: str, expected: str) -> None:
    assert parse_decimal(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    ["abc", "12a", "1.2.3", "1,2,3", "1.200,000.5", "12,000.000,5", "1 2", "€", "-",
     "1.20.000", "1..200", "12.000,00,00", "2020/21", "1e5", "0x10", "½", "١٢"],
)
def test_parse_decimal_rejects(text: str) -> None:
    with pytest.raises(NumberFormatError):
        parse_decimal(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("-", None),
        ("–", None),
        (12000, Decimal(12000)),
        (12000.5, Decimal("12000.5")),
        (0.1, Decimal("0.1")),  # the shortest form, not 0.1000000000000000055...
        ("949.500,00", Decimal("949500.00")),
        ("8", Decimal(8)),
    ],
)
def test_to_decimal(value: str | int | float | None, expected: Decimal | None) -> None:
    assert to_decimal(value) == expected


@pytest.mark.parametrize("value", [True, float("nan"), float("inf"), "zwölf"])
def test_to_decimal_rejects(value: str | float | bool) -> None:
    with pytest.raises(NumberFormatError):
        to_decimal(value)


def test_is_blank() -> None:
    assert is_blank(None) and is_blank(" ") and is_blank("—")
    assert not is_blank(0) and not is_blank("0") and not is_blank(False)


@pytest.mark.parametrize("text", ["1.234,50", "1.234,50 €", "0,5", "999,99", "1.234.567,8",
                                  "12,3 €", "0,05"])
def test_fast_path_agrees_with_the_rules(text: str) -> None:
    assert to_decimal(text) == parse_decimal(text)


@pytest.mark.parametrize("text", ["5’36", "1’20.000", "1ʼ2"])
def test_apostrophes_must_group_by_three(text: str) -> None:
    with pytest.raises(NumberFormatError):
        parse_decimal(text)
