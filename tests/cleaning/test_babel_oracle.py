"""An independent oracle: numbers, money, percentages and dates rendered by Babel (CLDR)
in several locales must parse back to the rendered values.

Each test renders a column of ~200 random values with a fixed seed, as an export
from that locale would hold them, and parses the whole column (so the column
conventions - decimal separator, day/month order - are inferred as in real use).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import babel.dates as babel_dates
import babel.numbers as babel_numbers
from babel import Locale

from lookalike.cleaning._base import INVALID, MISSING
from lookalike.cleaning.dates import parse_date
from lookalike.cleaning.money import parse_money
from lookalike.cleaning.numbers import parse_number
from lookalike.cleaning.percent import parse_percent

N = 200
LOCALES = ["es_ES", "en_US", "de_DE", "fr_FR", "pt_BR", "en_GB"]
CURRENCY = {"es_ES": "EUR", "en_US": "USD", "de_DE": "EUR", "fr_FR": "EUR", "pt_BR": "BRL", "en_GB": "GBP",
            "de_CH": "CHF", "es_MX": "MXN", "es_CO": "COP", "it_IT": "EUR", "ja_JP": "JPY", "sv_SE": "SEK"}


def _rng(*key: str) -> np.random.Generator:
    return np.random.default_rng([sum(map(ord, k)) for k in key])


def _decimals(rng: np.random.Generator, n: int, places: int, max_exp: int = 7) -> list[Decimal]:
    """Random magnitudes from 0.01 to 10**max_exp, with exactly `places` decimal places."""
    mags = 10 ** rng.uniform(-2, max_exp, n)
    return [Decimal(f"{m:.{places}f}") for m in mags]


def _assert_parsed(r, expected: list[float], texts: list[str]) -> None:
    bad = r.status.isin([INVALID, MISSING]).to_numpy()
    assert not bad.any(), [t for t, b in zip(texts, bad) if b][:5]
    np.testing.assert_allclose(r.values.to_numpy(), expected, rtol=1e-9, atol=1e-9,
                               err_msg=f"first texts: {texts[:5]}")


@pytest.mark.parametrize("locale", [*LOCALES, "de_CH", "es_MX", "es_CO", "it_IT", "sv_SE"])
def test_money(locale: str) -> None:
    rng = _rng("money", locale)
    currency = CURRENCY[locale]
    # the currency's own digits as CLDR gives them (COP: 0 since Babel 2.19, 2 before): Babel rounds to
    # them, so values with more decimals would not be what the text says
    values = _decimals(rng, N, babel_numbers.get_currency_precision(currency))
    values = [-v if rng.random() < 0.1 else v for v in values]
    texts = [babel_numbers.format_currency(v, currency, locale=locale) for v in values]
    r = parse_money(pd.Series(texts))
    _assert_parsed(r, [float(v) for v in values], texts)
    assert r.notes["mixed_currencies"] is False, r.notes["currencies"]
    assert sum(r.notes["currencies"].values()) == N


@pytest.mark.parametrize("locale", ["en_US", "es_ES"])
def test_money_accounting_format(locale: str) -> None:
    rng = _rng("accounting", locale)
    values = [-v if rng.random() < 0.5 else v for v in _decimals(rng, N, 2)]
    texts = [babel_numbers.format_currency(v, CURRENCY[locale], locale=locale, format_type="accounting") for v in values]
    _assert_parsed(parse_money(pd.Series(texts)), [float(v) for v in values], texts)


@pytest.mark.parametrize("locale", LOCALES)
def test_money_without_fraction_digits(locale: str) -> None:
    """Whole amounts shown without decimals ("1.234 €"): ambiguous alone, settled by the column."""
    rng = _rng("whole", locale)
    values = [Decimal(int(v)) for v in _decimals(rng, N, 0, max_exp=6)]
    pattern = Locale.parse(locale).currency_formats["standard"].pattern.replace(".00", "")  # e.g. "#,##0 ¤"
    texts = [babel_numbers.format_currency(v, CURRENCY[locale], locale=locale, format=pattern, currency_digits=False)
             for v in values]
    assert any(babel_numbers.get_group_symbol(locale) in t for t in texts)
    anchor = babel_numbers.format_currency(Decimal("0.5"), CURRENCY[locale], locale=locale)  # e.g. "0,50 €"
    r = parse_money(pd.Series([*texts, anchor]))
    _assert_parsed(r, [*map(float, values), 0.5], texts)
    if babel_numbers.get_group_symbol(locale) in ".,":  # fr_FR groups with U+202F: never ambiguous
        assert (r.status == "ambiguous").any()


@pytest.mark.parametrize("locale", LOCALES)
def test_decimal_numbers(locale: str) -> None:
    """format_decimal shows 0-3 decimals: "2.464" / "12,345" are ambiguous and read by the column."""
    rng = _rng("decimal", locale)
    values = [v for places in (0, 1, 2, 3) for v in _decimals(rng, N // 4, places)]
    rng.shuffle(values)
    texts = [babel_numbers.format_decimal(v, locale=locale) for v in values]
    r = parse_number(pd.Series(texts))
    _assert_parsed(r, [float(v) for v in values], texts)
    decimal_symbol = babel_numbers.get_decimal_symbol(locale)
    assert r.notes["decimal_separator"] == decimal_symbol


@pytest.mark.parametrize("locale", LOCALES)
def test_percent(locale: str) -> None:
    rng = _rng("percent", locale)
    shares = [Decimal(int(k)) / Decimal(10000) for k in rng.integers(0, 10001, N)]
    texts = [babel_numbers.format_percent(v, locale=locale, decimal_quantization=False) for v in shares]
    r = parse_percent(pd.Series(texts))
    _assert_parsed(r, [float(v) for v in shares], texts)


def _random_dates(rng: np.random.Generator, n: int, start: str = "2000-01-01", end: str = "2060-12-31") -> list[dt.date]:
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    days = rng.integers(0, (hi - lo).days + 1, n)
    return [(lo + pd.Timedelta(days=int(d))).date() for d in days]


@pytest.mark.parametrize("fmt", ["short", "medium", "long"])
@pytest.mark.parametrize("locale", [*LOCALES, "it_IT", "es_MX"])
def test_dates(locale: str, fmt: str) -> None:
    rng = _rng("date", locale, fmt)
    dates = _random_dates(rng, N)  # 2000-2060: two-digit years pivot correctly
    texts = [babel_dates.format_date(d, format=fmt, locale=locale) for d in dates]
    r = parse_date(pd.Series(texts))
    assert not r.status.isin([INVALID, MISSING]).any(), [t for t, s in zip(texts, r.status) if s in (INVALID, MISSING)][:5]
    assert r.values.dt.date.tolist() == dates, texts[:5]
    if fmt == "short":
        pattern = str(babel_dates.get_date_format("short", locale=locale).pattern).lower()
        assert r.notes["order"] == ("MDY" if pattern.index("m") < pattern.index("d") else "DMY")


@pytest.mark.parametrize("locale", LOCALES)
def test_dates_full_format(locale: str) -> None:
    """With the weekday ("Saturday, December 17, 2022", "sábado, 17 de diciembre de 2022")."""
    rng = _rng("full", locale)
    dates = _random_dates(rng, N, "1950-01-01", "2200-12-31")
    texts = [babel_dates.format_date(d, format="full", locale=locale) for d in dates]
    r = parse_date(pd.Series(texts))
    assert r.values.dt.date.tolist() == dates, texts[:5]
