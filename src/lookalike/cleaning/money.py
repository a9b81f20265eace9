"""Money amounts: ``parse_money``.

Rules (the contract's money convention, section 1):

* Real ints/floats are CLEAN (``inf`` is INVALID, NaN is MISSING); booleans,
  dates and other objects are INVALID.
* Text is normalised first (NFKC, so NBSP U+00A0, narrow NBSP U+202F and thin
  spaces become spaces; ’ ‘ ` ´ become ``'``; U+2212 becomes ``-``). Missing
  tokens ("", "N/A", "null", "-", "not available", "no disponible", ...) are MISSING.
* Currency symbols and codes are formatting: one may appear before or after the
  number, with or without a space ("$2,464.06", "2.464,06 €", "R$ 1.234,56",
  "USD 12", "12 kr", "Fr. 12.50", "12 zł", "12 euros"). ISO 4217 codes are
  recognised in upper case, the common ones (USD, EUR, GBP, MXN, COP, CLP, ARS,
  BRL, CHF, ...) also in lower case. Each is reported under a canonical name
  (ISO code; ``$``, ``¥`` and ``kr`` stay as they are, as they name several
  currencies) in ``notes["currencies"]`` = {currency: rows}; a symbol before and
  a different one after the number is INVALID.
* Negatives: "-12.50", "(12.50)", "12.50-", "-$12.50", "$-12.50"; at most one
  sign indicator, "+" is accepted before the number.
* Separators, by the shared rule in ``_numeric``: a separator that repeats or is
  followed by the other kind groups thousands; the last ``.``/``,`` is the
  decimal separator when followed by anything but exactly three digits; spaces
  and apostrophes group thousands; a single separator followed by exactly three
  digits ("2.464", "1,250") is read with the column's decimal separator (the one
  its unambiguous values show, by rows; ``.`` when they show nothing) and is
  AMBIGUOUS. Scientific notation ("1e3") is accepted. Other parsed texts are FIXED.
* Anything else (words, two numbers, "inf", overflow) is INVALID with NaN.

notes: ``currencies`` ({currency: rows}), ``mixed_currencies`` (bool: more than one
distinct currency; a bare ``$``/``¥``/``kr`` is not counted apart from a code of
its family, e.g. "$" with "MXN"), ``decimal_separator`` ("." or ",").
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lookalike.cleaning import _common as c
from lookalike.cleaning import _numeric as nm
from lookalike.cleaning._base import ColumnParse

__all__ = ["parse_money"]

# ISO 4217 active codes (upper case only in the text).
_ISO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHE CHF CHW CLF CLP CNH CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR "
    "FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES "
    "KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK "
    "MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD "
    "SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX "
    "USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL RMB NIS"
).split()
_ISO_ALIAS = {"RMB": "CNY", "NIS": "ILS", "CNH": "CNY"}
# Codes also accepted in lower/mixed case.
_COMMON = (
    "USD EUR GBP MXN COP CLP ARS BRL CHF PEN UYU PYG BOB VES CRC GTQ DOP JPY CNY CAD AUD NZD SEK NOK DKK "
    "PLN CZK HUF RON TRY INR ZAR RUB"
).split()
# Symbols and words (case-insensitive) -> canonical name.
_SYMBOLS: dict[str, str] = {
    "us$": "USD", "u$s": "USD", "u$": "USD", "usd$": "USD", "r$": "BRL", "ca$": "CAD", "c$": "CAD",
    "a$": "AUD", "au$": "AUD", "nz$": "NZD", "hk$": "HKD", "s$": "SGD", "mx$": "MXN", "col$": "COP",
    "clp$": "CLP", "ar$": "ARS", "rd$": "DOP", "$u": "UYU", "$": "$", "€": "EUR", "£": "GBP", "¥": "¥",
    "元": "CNY", "円": "JPY", "₹": "INR", "₽": "RUB", "₩": "KRW", "₺": "TRY", "₪": "ILS", "₫": "VND",
    "₱": "PHP", "₦": "NGN", "₴": "UAH", "₲": "PYG", "₡": "CRC", "฿": "THB", "₸": "KZT", "₼": "AZN",
    "₾": "GEL", "₨": "INR", "rs.": "INR", "rs": "INR", "zł": "PLN", "zl": "PLN", "kč": "CZK", "ft": "HUF",
    "kr.": "kr", "kr": "kr", "sfr.": "CHF", "fr.": "CHF", "s/.": "PEN", "s/": "PEN", "lei": "RON",
    "euros": "EUR", "euro": "EUR", "eur.": "EUR", "dollars": "$", "dollar": "$", "dólares": "$",
    "dolares": "$", "dólar": "$", "dolar": "$", "pesos": "$", "peso": "$", "reais": "BRL",
    "pounds": "GBP", "libras": "GBP", "yen": "JPY", "yenes": "JPY", "soles": "PEN",
}
# A generic symbol is not "another currency" next to a code of its family.
_FAMILY: dict[str, frozenset[str]] = {
    "$": frozenset("USD MXN COP CLP ARS CAD AUD NZD HKD SGD UYU DOP".split()),
    "¥": frozenset({"JPY", "CNY"}),
    "kr": frozenset({"SEK", "NOK", "DKK", "ISK"}),
}


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# No look-ahead after a code: in the numeric pattern a currency is always followed by a space,
# sign, digit, ")" or the end, never a letter ("USDA 12" fails either way). Without look-arounds
# the same pattern runs in RE2 (the Arrow fast path).
_CURRENCY = (
    rf"(?-i:{_alternation(_ISO)})|(?i:{_alternation(_COMMON)})"
    rf"|(?i:{_alternation(list(_SYMBOLS))})"
)
_PATTERN = nm.numeric_pattern(prefix=_CURRENCY, suffix=_CURRENCY)
_UPPER_ALIAS = {k: v for k, v in _ISO_ALIAS.items()}


def _canonical(tokens: np.ndarray) -> np.ndarray:
    """Raw currency tokens -> canonical names (None stays None)."""
    out = np.full(tokens.size, None, dtype=object)
    has = tokens != None  # noqa: E711 - elementwise on object arrays
    if has.any():
        codes, distinct = pd.factorize(tokens[has])
        out[has] = np.array([_canonical_one(t) for t in distinct], dtype=object)[codes]  # distinct tokens only
    return out


def _canonical_one(tok: str) -> str:
    up = tok.upper()
    if up in _COMMON or (tok == up and up in _ISO):
        return _UPPER_ALIAS.get(up, up)
    return _SYMBOLS.get(tok.lower(), tok)


def _mixed(currencies: dict[str, int]) -> bool:
    distinct = set(currencies)
    for generic, family in _FAMILY.items():
        if generic in distinct and distinct & family:
            distinct.discard(generic)
    return len(distinct) > 1


def parse_money(s: pd.Series) -> ColumnParse:
    """Parse a raw money column to float amounts (see the module docstring for the rules).

    >>> r = parse_money(pd.Series(["$2,464.06", "1.234,56 €", 12.5, "N/A"]))
    >>> r.values.tolist()[:3], r.notes["mixed_currencies"]
    ([2464.06, 1234.56, 12.5], True)
    """
    sc = nm.scan_column(s, _PATTERN)
    u, values, status, is_str, nt, decimal = sc.u, sc.values, sc.status, sc.is_str, sc.nt, sc.decimal
    v, ambiguous, missing = sc.number, sc.ambiguous, sc.missing
    pre, suf = _canonical(nt.pre), _canonical(nt.suf)
    clash = (pre != None) & (suf != None) & (pre != suf)  # noqa: E711 - elementwise on object arrays
    cur = np.where(pre != None, pre, suf)  # noqa: E711
    ok = nt.matched & np.isfinite(v) & ~clash & ~missing
    st = np.where(ok, np.where(ambiguous, c.S_AMBIGUOUS, c.S_FIXED), c.S_INVALID)
    st = np.where(missing, c.S_MISSING, st)
    values[is_str] = np.where(ok, v, np.nan)
    status[is_str] = st

    str_counts = u.counts[is_str]
    currencies = c.count_by(cur, str_counts, ok & (cur != None))  # noqa: E711
    notes: dict[str, object] = {
        "currencies": currencies,
        "mixed_currencies": _mixed(currencies),
        "decimal_separator": decimal,
    }
    out = pd.Series(c.to_rows(u, values, np.nan), index=u.index, name=u.name, dtype="float64")
    return ColumnParse(out, c.status_rows(u, status), notes)
