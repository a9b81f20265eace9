"""Money amounts: ``parse_money``.

Rules (the contract's money convention, section 1):

* Real numbers - ints, floats and ``Decimal`` (parquet decimal128, SQL NUMERIC) - are CLEAN
  (``inf`` is INVALID, NaN is MISSING); booleans, dates and other objects are INVALID.
* Text is normalised first (NFKC, so NBSP U+00A0, narrow NBSP U+202F and thin
  spaces become spaces; ’ ‘ ` ´ become ``'``; U+2212 becomes ``-``; bidirectional marks
  go). Missing tokens ("", "N/A", "null", "-", "not available", "no disponible", ...) are MISSING.
* Annotations around an amount are removed and counted (``notes["annotations"]``): before it
  "approx.", "aprox.", "ca.", "circa", "about", "env.", "etwa", "~", "≈"; after it (one or
  more, also in parentheses) a footnote mark ("*", "**", "†"), tax wording ("HT", "TTC",
  "HTVA", "TVAC", "+ VAT", "plus VAT", "excl. VAT", "incl. VAT", "VAT incl.", "IVA incl.",
  "IVA incluido", "+ IVA", "c/IVA", "s/IVA", "inkl. MwSt.", "zzgl. MwSt.", "incl. GST", ...)
  and "net", "netto", "gross", "brutto", "approx."; and the Swiss and Nordic "no cents"
  dash right after the digits ("12.-", "12,–", "CHF 12.--", "12:-"), which was read as a
  minus sign. Net and gross wording is counted in ``notes["tax_basis"]``; a column with
  both is flagged ``notes["mixed_tax_basis"]`` (its amounts are not on one basis).
* Currency symbols, codes and names are formatting: one may appear before or after the
  number, with or without a space ("$2,464.06", "2.464,06 €", "R$ 1.234,56", "USD 12",
  "12 kr", "Fr. 12.50", "руб. 1 234,50", "1.234,50 грн", "12,50 zł", "درهم 1,234.00",
  "RM 12.50", "SGD$ 1,234.50", "12 dólares estadounidenses"). Which tokens are currencies
  is :mod:`lookalike.cleaning._currency`'s table: ISO 4217 codes (upper case; the common ones
  in any case), built-in symbols and words, and every symbol and name in CLDR (Babel's
  data). Each is reported under a name (its ISO code; a symbol that names several
  currencies - "$", "¥", "kr", "Rs" - as itself) in ``notes["currencies"]`` = {name: rows}.
  A symbol before and another after the number are one currency when they can name the
  same one ("$12 USD" is USD); otherwise ("€ 12 $") the value is INVALID, as is a word
  that is not a currency ("12 apples", "12K", "1,2 Mio. €").
* Negatives: "-12.50", "(12.50)", "12.50-", "-$12.50", "$-12.50"; at most one
  sign indicator, "+" is accepted before the number.
* Separators, by the shared rule in ``_numeric``: a separator that repeats or is
  followed by the other kind groups thousands; the last ``.``/``,`` is the
  decimal separator when followed by anything but exactly three digits; spaces
  and apostrophes group thousands; a single separator followed by exactly three
  digits ("2.464", "1,250") is read with the column's decimal separator (the one
  its unambiguous values show, by rows; ``.`` when they show nothing) and is
  AMBIGUOUS - unless its currency is counted in whole units (CLDR: JPY, KRW, CLP, COP, IDR,
  HUF, TWD, PYG, VND, ...), then the separator groups thousands ("¥1,234" is 1234, "Rp 12.500"
  and "CLP 25.990" are 12500 and 25990) and the value is FIXED. Scientific notation ("1e3") is
  accepted. Other parsed texts are FIXED.
* Anything else (words, two numbers, "inf", overflow) is INVALID with NaN.

notes: ``currencies`` ({name: rows}), ``mixed_currencies`` (bool: more than one distinct
currency; a symbol naming several is not counted apart from a code it may name, e.g. "$" with
"MXN"), ``decimal_separator`` ("." or ","), ``annotations`` ({annotation, lower case: rows}),
``tax_basis`` ({"net" | "gross": rows}), ``mixed_tax_basis`` (bool).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lookalike.cleaning import _common as c
from lookalike.cleaning import _currency as cur
from lookalike.cleaning import _fast
from lookalike.cleaning import _numeric as nm
from lookalike.cleaning._base import ColumnParse

__all__ = ["parse_money"]

# A currency token: no digit, sign or parenthesis; it does not start with a separator and ends
# with a letter, a symbol or (after a letter or "/": "Rs.", "руб.", "S/.") an abbreviation dot,
# so "$.99" is "$" and ".99". Which tokens are currencies is decided after the match (_currency).
_TOKEN = r"[^\s\d()+\-.,'](?:[^\d()+\-]*?[^\s\d()+\-.,'])?"
_PRE = rf"{_TOKEN}(?:(?<=[^\W\d_]|/)\.)?"
_SUF = rf"{_TOKEN}\.?"
_PATTERN = nm.numeric_pattern(prefix=_PRE, suffix=_SUF)

_TAX = r"(?:VAT|IVA|TVA|GST|HST|MwSt\.?|USt\.?|BTW|IGV|ITBIS|tax(?:es)?|impuestos?)"
_SUFFIX_NOTES = (
    r"\*+|†+|‡",
    r"\bapprox\.?|\baprox\.?|\bca\.",
    r"\bH\.?T\.?(?:V\.?A\.?)?(?!\w)|\bT\.?T\.?C\.?(?!\w)|\bTVAC\b|\bhors\s+taxes?\b|\btoutes\s+taxes\s+comprises\b",
    rf"(?:\+|\bplus\b|\bm[aá]s\b|\bexcl\.?|\bexc\.?|\bex\.?|\bexcluding\b|\bincl\.?|\binc\.?|\bincluding\b"
    rf"|\binkl\.?|\bexkl\.?|\bzzgl\.?|\bsin\b|\bcon\b|\bc/|\bs/|\bw/o\b|\bw/)\s*{_TAX}(?!\w)",
    rf"\b{_TAX}\s*(?:incl\.?|inc\.?|included|inclusive|inclu[ií]d[oa]|inkl\.?|excl\.?|exkl\.?|excluded"
    rf"|no\s+inclu[ií]d[oa]|not\s+included)(?!\w)",
    r"\b(?:net|netto|neto|gross|brutto|bruto)\b",
)
_SUFFIX_NOTE = "|".join(_SUFFIX_NOTES)
_PREFIX_NOTE = r"(?:\b(?:approx(?:imately)?\.?|aprox(?:imadamente)?\.?|ca\.|circa|about|around|env\.|environ|etwa)|~|≈)"
_ANNOTATED = re.compile(
    rf"(?i)^(?:(?P<apre>{_PREFIX_NOTE})\s*)?(?P<body>.*?)(?:(?<=[0-9])(?P<dash>[.,:][-–—]+))?(?P<tail>[^0-9]*?)"
    rf"(?P<asuf>(?:\s*(?:\((?:{_SUFFIX_NOTE})\)|{_SUFFIX_NOTE}))+)?$"
)
_MAX_ANNOTATED = 80
# every annotation has a letter (non-ASCII ones too: "K" matches the Kelvin sign without case) or
# one of these marks (dashes and daggers are non-ASCII)
_ANNOTATION_BYTES = _fast.byte_table("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz*~+-", non_ascii=True)
_NET = re.compile(r"(?i)\bH\.?T|hors|\+|plus|m[aá]s|ex|sin\b|s/|zzgl|w/o|net|neto")
_GROSS = re.compile(r"(?i)T\.?T\.?C|TVAC|toutes|incl|inc\b|inkl|inclu|con\b|c/|w/(?!o)|gross|brut")


def _strip_annotations(t: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Texts without their annotations, and each text's annotation (lower case, single spaces) or None.

    Only texts of at most :data:`_MAX_ANNOTATED` characters are looked at: an amount with its
    annotations is short, and the pattern's lazy parts would take quadratic time on a long text."""
    values = t.to_numpy(dtype=object)  # cleaned texts: all str
    labels = np.full(values.size, None, dtype=object)
    short = np.flatnonzero(np.fromiter(map(len, values), dtype=np.int64, count=values.size) <= _MAX_ANNOTATED)
    if not short.size:
        return t, labels
    maybe = _fast.with_bytes(values[short], _ANNOTATION_BYTES)
    if maybe is not None:  # texts without a letter or mark hold no annotation ("$1,340.83")
        short = short[maybe]
        if not short.size:
            return t, labels
    part = values[short]
    shapes = _fast.match_shapes(part, _ANNOTATED)
    if shapes is not None:
        if not any((shapes.span[g][:, 0] >= 0).any() for g in ("apre", "dash", "asuf")):
            return t, labels  # no annotation in any shape: the usual column
        groups = {g: shapes.objects(g) for g in _ANNOTATED.groupindex}
    else:
        m = c.text_series(part).str.extract(_ANNOTATED)
        groups = {g: np.where(pd.isna(col), None, col) for g, col in ((g, m[g].to_numpy(dtype=object)) for g in m)}
    found = {g: pd.Series(groups[g], dtype=object) for g in ("apre", "dash", "asuf")}
    has = (found["apre"].notna() | found["dash"].notna() | found["asuf"].notna()).to_numpy().copy()
    if not has.any():
        return t, labels
    body = (pd.Series(groups["body"], dtype=object).fillna("") + pd.Series(groups["tail"], dtype=object).fillna("")).str.strip()
    has &= (body != "").to_numpy()  # an annotation alone ("HT") stays as it was: not an amount
    label = (found["apre"].fillna("") + " " + found["dash"].fillna("") + " " + found["asuf"].fillna(""))
    label = label.str.replace(r"\s+", " ", regex=True).str.strip().str.lower()
    out = values.copy()
    out[short[has]] = body.to_numpy(dtype=object)[has]
    labels[short[has]] = label.to_numpy(dtype=object)[has]
    return pd.Series(out, index=t.index, dtype=object), labels


def _pairs(pre: np.ndarray, suf: np.ndarray) -> tuple[np.ndarray, list[tuple[object, object]]]:
    """Each text's (prefix, suffix) pair as a code into the list of distinct pairs."""
    pc_, pu = pd.factorize(pre, use_na_sentinel=True)
    sc_, su = pd.factorize(suf, use_na_sentinel=True)
    key = (pc_.astype(np.int64) + 1) * (len(su) + 1) + (sc_ + 1)
    distinct, codes = np.unique(key, return_inverse=True)
    pairs = [(pu[k // (len(su) + 1) - 1] if k // (len(su) + 1) else None,
              su[k % (len(su) + 1) - 1] if k % (len(su) + 1) else None) for k in distinct.tolist()]
    return codes, pairs


def _currency_pair(pre: object, suf: object) -> str | None:
    """The currency a prefix and a suffix name together; "" for none; None when not a currency."""
    a = cur.lookup(pre) if pre is not None else None
    b = cur.lookup(suf) if suf is not None else None
    if (pre is not None and a is None) or (suf is not None and b is None):
        return None
    if a is None or b is None:
        return (a or b).name if (a or b) is not None else ""
    common = a.codes & b.codes
    if not common:
        return None  # two currencies in one value
    return next(iter(common)) if len(common) == 1 else a.name


def _currencies(nt: nm.NumText) -> np.ndarray:
    """Per scanned text: its currency name, "" without one, None when an affix is not a currency."""
    codes, pairs = _pairs(nt.pre, nt.suf)
    names = np.array([_currency_pair(p, s) for p, s in pairs], dtype=object)  # distinct pairs only
    return names[codes]


def _whole_units(names: np.ndarray) -> np.ndarray:
    """Per text: its currency is counted in whole units (``_currency.whole_units``)."""
    has = (names != None) & (names != "")  # noqa: E711 - elementwise on object arrays
    out = np.zeros(names.size, dtype=bool)
    if has.any():
        codes, distinct = pd.factorize(names[has])
        out[has] = np.array([cur.whole_units(n) for n in distinct], dtype=bool)[codes]  # distinct names only
    return out


def _mixed(currencies: dict[str, int]) -> bool:
    distinct = set(currencies)
    if len(distinct) < 2:
        return False
    for name in list(distinct):  # a symbol naming several is not apart from a code it may name
        codes = cur.family(name)
        if len(codes) > 1 and distinct - {name} and any(cur.family(o) & codes for o in distinct - {name}):
            distinct.discard(name)
    return len(distinct) > 1


def _tax_basis(labels: np.ndarray, counts: np.ndarray) -> dict[str, int]:
    has = labels != None  # noqa: E711 - elementwise on object arrays
    out = {"net": 0, "gross": 0}
    if has.any():
        codes, distinct = pd.factorize(labels[has])
        rows = np.bincount(codes, weights=counts[has], minlength=len(distinct))
        for label, n in zip(distinct, rows):  # distinct annotations only
            if _GROSS.search(label):
                out["gross"] += int(n)
            elif _NET.search(label):
                out["net"] += int(n)
    return out


def parse_money(s: pd.Series) -> ColumnParse:
    """Parse a raw money column to float amounts (see the module docstring for the rules).

    >>> r = parse_money(pd.Series(["$2,464.06", "1.234,56 €", 12.5, "N/A", "руб. 1 234,50", "12.50 + VAT"]))
    >>> r.values.tolist()[:3], r.values.tolist()[4:], r.notes["mixed_currencies"]
    ([2464.06, 1234.56, 12.5], [1234.5, 12.5], True)
    """
    found: dict[str, np.ndarray] = {}

    def accept(nt: nm.NumText) -> np.ndarray:
        found["currency"] = _currencies(nt)  # the scan keeps each text's prefix and suffix: named once
        return found["currency"] != None  # noqa: E711 - elementwise

    sc = nm.scan_column(s, _PATTERN, prepare=_strip_annotations, accept=accept)
    u, values, status, is_str, nt, decimal = sc.u, sc.values, sc.status, sc.is_str, sc.nt, sc.decimal
    v, ambiguous, missing, labels = sc.number, sc.ambiguous, sc.missing, sc.prepared
    cur_name = found["currency"]
    # a currency counted in whole units groups thousands: "¥1,234" is 1234 and "Rp 12.500" 12500
    whole = ambiguous & _whole_units(cur_name)
    v = np.where(whole, np.where(np.abs(nt.value_dot) > np.abs(nt.value_com), nt.value_dot, nt.value_com), v)
    ambiguous = ambiguous & ~whole
    ok = nt.matched & np.isfinite(v) & ~missing
    st = np.where(ok, np.where(ambiguous, c.S_AMBIGUOUS, c.S_FIXED), c.S_INVALID)
    st = np.where(missing, c.S_MISSING, st)
    values[is_str] = np.where(ok, v, np.nan)
    status[is_str] = st

    str_counts = u.counts[is_str]
    currencies = c.count_by(cur_name, str_counts, ok & (cur_name != None) & (cur_name != ""))  # noqa: E711
    noted = ok & (labels != None)  # noqa: E711
    basis = _tax_basis(np.where(noted, labels, None), str_counts)
    notes: dict[str, object] = {
        "currencies": currencies,
        "mixed_currencies": _mixed(currencies),
        "decimal_separator": decimal,
        "annotations": c.count_by(labels, str_counts, noted),
        "tax_basis": basis,
        "mixed_tax_basis": bool(basis["net"] and basis["gross"]),
    }
    out = pd.Series(c.to_rows(u, values, np.nan), index=u.index, name=u.name, dtype="float64")
    return ColumnParse(out, c.status_rows(u, status), notes)
