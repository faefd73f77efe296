"""Money in integer minor units: currency exponents, Stripe's minimum charges, formatting.

The one place that knows how many decimals a currency has and what Stripe will charge at least.
"""
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import format_currency

# Stripe's zero-decimal currencies: amounts are sent in whole units.
ZERO_DECIMAL_CURRENCIES = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)

# Stripe's minimum charge per currency, in minor units.
MINIMUM_CHARGE = {
    "USD": 50, "EUR": 50, "AUD": 50, "BRL": 50, "CAD": 50, "CHF": 50, "INR": 50, "NZD": 50, "SGD": 50,
    "GBP": 30, "JPY": 50, "HKD": 400, "DKK": 250, "NOK": 300, "SEK": 300, "MXN": 1000, "THB": 1000,
    "CZK": 1500, "HUF": 17500, "AED": 200, "MYR": 200, "PLN": 200, "RON": 200, "BGN": 100,
}
MAXIMUM_CHARGE = 99_999_999  # eight digits, Stripe's limit for most currencies

SUPPORTED_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "INR", "SGD")


def exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def to_major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-exponent(currency))


def to_minor(major: Decimal | str | int, currency: str) -> int:
    """Convert a major-unit amount typed by a person ("99.90") to minor units (9990)."""
    value = Decimal(str(major)).scaleb(exponent(currency))
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def minimum_charge(currency: str) -> int:
    """The smallest non-zero amount Stripe charges; unknown currencies get a 50-unit floor."""
    return MINIMUM_CHARGE.get(currency.upper(), 50)


def percent_of(amount: int, percent: Decimal | int | str) -> int:
    """`percent` % of `amount` minor units, rounded once, half up (3490 × 15% → 524)."""
    exact = Decimal(amount) * Decimal(str(percent)) / Decimal(100)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def share_out(total: int, weights: list[int]) -> list[int]:
    """`total` minor units split in proportion to `weights`, exactly (largest remainder): the
    parts sum to `total`; ties go to the earlier weight. All-zero weights share equally."""
    if not weights:
        return []
    if sum(weights) <= 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    parts = [total * weight // whole for weight in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in remainders[:total - sum(parts)]:
        parts[i] += 1
    return parts


def format_money(amount: int, currency: str, locale: str = "en_US", free_label: str | None = None) -> str:
    """`9900, "USD"` → "$99.00"; `12000, "JPY"` → "¥12,000"; 0 → `free_label` when given."""
    if amount == 0 and free_label is not None:
        return free_label
    return _formatted(amount, currency.upper(), locale)


@lru_cache(maxsize=4096)
def _formatted(amount: int, currency: str, locale: str) -> str:
    # Babel knows each currency's display precision and each locale's pattern, but resolving
    # the locale and applying its pattern costs ~50 µs a call; a page shows the same few
    # prices over and over. Bounded: a few hundred kB at most whatever amounts come along.
    return format_currency(to_major(amount, currency), currency, locale=locale)
