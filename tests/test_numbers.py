"""The one parser of typed numbers, shared by imports and forms: what it accepts and refuses."""

from decimal import Decimal

import pytest

from portal.numbers import parse_decimal, parse_money


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1234.56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234\u202f567,8", "1234567.8"),
        ("1,234.56", "1234.56"),
        ("1,234,567", "1234567"),
        ("26 750 000,00", "26750000.00"),
        ("0,15", "0.15"),
        (12.5, "12.5"),
        (3, "3"),
    ],
)
def test_it_reads_the_notations_people_type(text, expected):
    assert parse_money(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text, message",
    [
        ("250,000", "ambigu"),  # a quarter of a million, or 250 with three decimals?
        ("12.500", "plus de 2 décimales"),
        ("1.234,56", "n'est pas un nombre"),
        ("12 34", "n'est pas un nombre"),
        ("1e5", "n'est pas un nombre"),
        ("NaN", "n'est pas un nombre"),
        ("douze", "n'est pas un nombre"),
        (True, "n'est pas un nombre"),
    ],
)
def test_it_refuses_what_it_would_have_to_guess(text, message):
    with pytest.raises(ValueError, match=message):
        parse_money(text)


@pytest.mark.parametrize("text", ["1.000", "1,000", "12.0", "2,5"])
def test_whole_numbers_refuse_decimals_and_ambiguous_grouping(text):
    with pytest.raises(ValueError):
        parse_decimal(text, places=0)


def test_spreadsheet_floats_that_are_whole_are_whole_numbers():
    assert parse_decimal(12.0, places=0) == 12
