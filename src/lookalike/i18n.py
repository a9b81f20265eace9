"""Words and numbers for people, in Spanish or English: one catalogue per language and Babel formatting.

The catalogues are ``lookalike/locales/{es,en}.toml`` (one key per sentence or label, ``{name}``
placeholders); the web UI, the HTML report and the CLI all read them through :func:`translator`.
Numbers, money, shares and dates are written the way the reader's locale writes them, by Babel
(CLDR data): ``1,234.5`` in English, ``1.234,5`` in Spanish.

>>> t = translator("es")
>>> t("nav_audiences"), translator("en")("nav_audiences")
('Audiencias', 'Audiences')
>>> translator("en")("read_distributions", vip="$1,200", base="$300", ratio="4.0")
'VIPs spend a median of $1,200 against $300 for all customers (4.0× as much).'
>>> format_number(1234567.891, "es", 2), format_number(1234567.891, "en", 2)
('1.234.567,89', '1,234,567.89')
>>> format_percent(0.1234, "en"), format_percent(float("nan"), "en")
('12.3%', '–')
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import tomllib
from collections.abc import Callable
from decimal import Decimal
from importlib import resources

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.numbers import NumberPattern, format_currency, parse_pattern

from lookalike.config.settings import LANGUAGES
from lookalike.errors import ParameterError, ResultWarning

__all__ = [
    "LANGUAGES", "format_date", "format_interval", "format_money", "format_number", "format_percent",
    "format_points", "format_pvalue", "format_ratio", "has", "pick_language", "strings", "term", "translator",
    "warning_text",
]

#: Shown for a missing or non-finite number.
MISSING = "–"


def _check(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ParameterError(f"language {lang!r} is not available; use one of {', '.join(LANGUAGES)}")
    return lang


@functools.cache
def strings(lang: str) -> dict[str, str]:
    """All strings of one language (read once; the files are package data)."""
    text = resources.files("lookalike").joinpath("locales", f"{_check(lang)}.toml").read_text("utf-8")
    return tomllib.loads(text)


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)``: the string in ``lang`` (English, then the key itself, when missing)."""
    table, fallback = strings(lang), strings("en")

    def t(key: str, **values: object) -> str:
        text = table.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t


def has(lang: str, key: str) -> bool:
    """Whether the catalogue of ``lang`` holds ``key`` (no English fallback).

    >>> has("es", "nav_audiences"), has("es", "no_such_key")
    (True, False)
    """
    return key in strings(lang)


def term(lang: str, kind: str, value: object, default: str | None = None) -> str:
    """A word of the product for a value of the data model: ``{kind}_{value}`` in the catalogue
    (a job status, a role, a funnel step, a chart label), else ``default``, else the value as written.

    >>> term("es", "status", "failed"), term("es", "status", "brand-new")
    ('ha fallado', 'brand-new')
    """
    key = f"{kind}_{value}"
    table = strings(lang)
    if key in table:
        return table[key]
    return strings("en").get(key, str(value) if default is None else default)


def pick_language(session_lang: str | None, accept_language: str | None, default: str = "es") -> str:
    """The session's choice, else the first supported language of the browser, else ``default``.

    >>> pick_language(None, "en-GB,en;q=0.9,es;q=0.8")
    'en'
    >>> pick_language("es", "en")
    'es'
    """
    if session_lang in LANGUAGES:
        return session_lang
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default


# ------------------------------------------------------------------ numbers, money, shares, dates
def _finite(x: object) -> float | None:
    if x is None or isinstance(x, (bool, str, bytes)):
        return None
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


@functools.cache
def _pattern(kind: str, lang: str, decimals: int) -> NumberPattern:
    """The locale's own decimal or percent pattern with exactly ``decimals`` fraction digits."""
    locale = Locale.parse(_check(lang))
    base = (locale.decimal_formats if kind == "decimal" else locale.percent_formats)[None]
    pattern = parse_pattern(base.pattern)  # a copy: the locale's pattern object is shared
    pattern.frac_prec = (decimals, decimals)
    return pattern


def _apply(kind: str, x: float, lang: str, decimals: int) -> str:
    # Decimal(x) is the float's exact value, so halves round as Python's own formatting rounds them
    return _pattern(kind, lang, int(decimals)).apply(Decimal(x), Locale.parse(lang))


def format_number(x: object, lang: str = "en", decimals: int = 0, *, missing: str = MISSING) -> str:
    """``x`` with the locale's grouping and decimal separator and exactly ``decimals`` decimals.

    >>> format_number(2500, "es"), format_number(2500, "en"), format_number(None, "en", missing="")
    ('2.500', '2,500', '')
    """
    f = _finite(x)
    return missing if f is None else _apply("decimal", f, lang, decimals)


def format_percent(share: object, lang: str = "en", decimals: int = 1, *, missing: str = MISSING) -> str:
    """A share (0.123) as the locale writes a percentage: ``12.3%`` in English, ``12,3 %`` in Spanish."""
    f = _finite(share)
    return missing if f is None else _apply("percent", f, lang, decimals)


def format_money(x: object, lang: str = "en", currency: str | None = None, *, decimals: int | None = None,
                 missing: str = MISSING) -> str:
    """An amount: with ``currency`` (ISO code) in the locale's currency format and the currency's own
    digits; without, a number with ``decimals`` (2 by default) — an export's currency is often unknown.

    >>> format_money(1234.5, "es", "EUR"), format_money(1234.5, "en")
    ('1.234,50\\xa0€', '1,234.50')
    """
    f = _finite(x)
    if f is None:
        return missing
    if currency is None:
        return format_number(f, lang, 2 if decimals is None else decimals)
    if decimals is None:
        return format_currency(Decimal(f), currency, locale=_check(lang))
    locale = Locale.parse(_check(lang))
    pattern = parse_pattern(locale.currency_formats["standard"].pattern)
    pattern.frac_prec = (decimals, decimals)
    return pattern.apply(Decimal(f), locale, currency=currency, currency_digits=False)


def format_date(value: object, lang: str = "en", style: str = "medium", *, missing: str = MISSING) -> str:
    """A date as the locale writes it (``Mar 5, 2024``, ``5 mar 2024``); text is parsed as ISO first."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if hasattr(value, "date") and callable(value.date):  # datetime / pandas Timestamp
        value = value.date()
    if not isinstance(value, dt.date):
        return str(value)
    return _babel_date(value, style, locale=_check(lang))


def format_ratio(x: object, lang: str = "en", decimals: int = 1, *, missing: str = MISSING) -> str:
    """A multiple of a reference, as the locale writes it: ``4.7×`` in English, ``4,7×`` in Spanish.

    >>> format_ratio(4.71, "es"), format_ratio(None, "en")
    ('4,7×', '–')
    """
    f = _finite(x)
    return missing if f is None else _apply("decimal", f, lang, decimals) + "×"


def format_points(diff: object, lang: str = "en", decimals: int = 2, *, missing: str = MISSING) -> str:
    """A difference of two shares in percentage points, signed: ``+1.23 pp`` / ``+1,23 p. p.``.

    >>> format_points(0.0123, "en"), format_points(-0.004, "es")
    ('+1.23 pp', '-0,40 p. p.')
    """
    f = _finite(diff)
    if f is None:
        return missing
    return ("+" if f > 0 else "") + _apply("decimal", f * 100, lang, decimals) + translator(lang)("unit_pp")


def format_pvalue(p: object, lang: str = "en", *, missing: str = MISSING) -> str:
    """A p-value as people read it: three decimals, ``< 0.001`` below that (never ``0.004645``).

    >>> format_pvalue(0.004645, "en"), format_pvalue(0.00001, "es"), format_pvalue(0.31, "es")
    ('0.005', '< 0,001', '0,310')
    """
    f = _finite(p)
    if f is None:
        return missing
    return "< " + _apply("decimal", 0.001, lang, 3) if f < 0.001 else _apply("decimal", f, lang, 3)


def format_interval(low: object, high: object, fmt: Callable[[object], str], lang: str = "en") -> str:
    """An interval ``[low; high]`` in the locale's words (``from 1.2 to 3.4`` / ``de 1,2 a 3,4``).

    >>> format_interval(0.1, 0.25, lambda x: format_percent(x, "es"), "es")
    'de 10,0\xa0% a 25,0\xa0%'
    """
    if _finite(low) is None or _finite(high) is None:
        return MISSING
    return translator(lang)("interval", low=fmt(low), high=fmt(high))


def p_clause(p: object, lang: str = "en", *, missing: str = MISSING) -> str:
    """A p-value inside a sentence: ``p = 0.005``, ``p < 0.001`` (never ``p = < 0.001``).

    >>> p_clause(0.004645, "es"), p_clause(0.00001, "en")
    ('p = 0,005', 'p < 0.001')
    """
    text = format_pvalue(p, lang, missing=missing)
    return text if text == missing else ("p " if text.startswith("<") else "p = ") + text


def _param(name: str, value: object, lang: str) -> object:
    """One parameter of a warning in the reader's format (by name first, then by type)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if name == "p_value":
        return p_clause(value, lang)
    if name.endswith("_share") or name == "share":
        return format_percent(value, lang, 1)
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 10:
        return format_number(value, lang)
    return format_number(value, lang, 2)


def error_text(error: BaseException, lang: str = "en") -> str:
    """An error in the reader's language: the catalogue's ``err_{code}`` filled with its ``params`` when
    the error has a code the catalogue says, else its (English) message as written.

    >>> from lookalike.errors import InputError
    >>> error_text(InputError("the seed set is the whole base", code="seeds_whole_base", customers=3000), "es")
    'Todos los clientes (3.000) son clientes de partida, así que no queda nadie que encontrar: reduce las semillas.'
    >>> error_text(InputError("bad file"), "es")
    'bad file'
    """
    code = getattr(error, "code", "")
    key = f"err_{code}"
    if not code or not (has(lang, key) or has("en", key)):
        return str(error)
    params = {k: _param(k, v, lang) for k, v in (getattr(error, "params", None) or {}).items()}
    try:
        return translator(lang)(key, **params)
    except (KeyError, IndexError, ValueError):  # an error raised with other parameters: its own words
        return str(error)


def warning_text(warning: object, lang: str = "en") -> str:
    """A result's warning in the reader's language: the catalogue's ``warn_{code}`` filled with its
    parameters (numbers in the locale's format); a plain string, or a code without a sentence, as it is.

    >>> w = ResultWarning("too_few_candidates", "only 2140 customers qualify", candidates=2140, size=5000)
    >>> warning_text(w, "es")
    'Solo 2.140 clientes cumplen las condiciones tras las exclusiones y los filtros: la audiencia tiene 2.140 en lugar de 5.000.'
    """
    code = getattr(warning, "code", None)
    key = f"warn_{code}"
    if not code or not (has(lang, key) or has("en", key)):
        return str(warning)
    params = {k: _param(k, v, lang) for k, v in (getattr(warning, "params", None) or {}).items()}
    try:
        return translator(lang)(key, **params)
    except (KeyError, IndexError, ValueError):  # a warning recorded with other parameters: its own words
        return str(warning)
