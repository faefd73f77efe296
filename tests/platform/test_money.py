"""Money: formatting with Babel, minor units, rounding and Stripe's minimums."""
import pytest

from services import money


@pytest.mark.parametrize("amount, currency, expected", [
    (9900, "USD", "$99.00"), (1999, "EUR", "€19.99"), (12000, "JPY", "¥12,000"), (5, "USD", "$0.05"),
    (123456789, "USD", "$1,234,567.89"),
])
def test_format_money_uses_the_currency_exponent(amount, currency, expected):
    assert money.format_money(amount, currency) == expected


def test_zero_is_free_only_when_asked():
    assert money.format_money(0, "USD", free_label="Free") == "Free"
    assert money.format_money(0, "USD") == "$0.00"


def test_locale_changes_the_pattern():
    assert money.format_money(1999, "EUR", locale="de_DE") == "19,99\xa0€"


def test_percent_rounds_half_up_once():
    assert money.percent_of(3490, 15) == 524  # 523.5 → 524
    assert money.percent_of(3, 50) == 2  # 1.5 → 2
    assert money.percent_of(9900, "12.5") == 1238  # 1237.5 → 1238


def test_conversions_between_major_and_minor_units():
    assert money.to_minor("99.9", "USD") == 9990
    assert money.to_minor("12000", "JPY") == 12000
    assert str(money.to_major(12000, "JPY")) == "12000"


def test_minimum_charge_table():
    assert money.minimum_charge("usd") == 50
    assert money.minimum_charge("GBP") == 30
    assert money.minimum_charge("JPY") == 50
    assert money.minimum_charge("HKD") == 400
