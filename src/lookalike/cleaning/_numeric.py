"""Private: the separator logic shared by numbers, money, percentages and recency.

A numeric text is ``[(] [sign] [prefix] [sign] NUMBER [-] [suffix] [-] [)]`` where
prefix/suffix are what the caller allows (currency, units, "%"). At most one sign
indicator (``-`` before, ``-`` after, or parentheses); ``+`` only before.

NUMBER is read both ways and :func:`resolve` picks the reading:

* decimal ``.`` reading: integer part plain, or grouped by *one* kind of ``,``,
  space or apostrophe in groups of three (Indian ``1,23,456`` also accepted),
  then optionally ``.`` and digits;
* decimal ``,`` reading: the same with ``.`` and ``,`` swapped;
* scientific notation (``1e3``, ``2.5E-2``) is read with ``.`` only.

A text valid in one reading only is unambiguous ("2,464.06", "1.234,56",
"1.144.000", "45,00", "25706.401475") and counts as evidence of the column's
decimal separator when it contains a ``.`` or ``,``. A text valid in both
readings with different values ("2.464", "1,250") is ambiguous: it is read with
the column's decimal separator (the majority of the evidence, in rows; ``.`` on
a tie or with no evidence). Texts valid in neither reading are invalid.
A first group starting with 0 never groups thousands ("0.500" is 0.5).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lookalike.cleaning import _common as c
from lookalike.cleaning import _fast

# Plain regular expressions (no back-references or look-arounds): the same text for Python's
# ``re`` and for RE2 in Arrow. A group of thousands repeats one kind of separator.
_SCI = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+"
_BODY = r"[0-9][0-9.,' ]*|[.,][0-9][0-9.,' ]*"
_DOT = (
    r"(?:[0-9]+|[1-9][0-9]{0,2}(?:(?:,[0-9]{3})+|(?:'[0-9]{3})+|(?: [0-9]{3})+)|[1-9][0-9]?(?:,[0-9]{2})+,[0-9]{3})"
    r"(?:\.[0-9]*)?|\.[0-9]+"
)
_COM = r"(?:[0-9]+|[1-9][0-9]{0,2}(?:(?:\.[0-9]{3})+|(?:'[0-9]{3})+|(?: [0-9]{3})+))(?:,[0-9]*)?|,[0-9]+"


def numeric_pattern(prefix: str | None = None, suffix: str | None = None) -> re.Pattern[str]:
    """Compile the outer pattern; ``prefix``/``suffix`` are regex alternations (groups ``pre``/``suf``)."""
    pre = rf"(?:(?P<pre>{prefix})\s*)?" if prefix else ""
    suf = rf"(?:\s*(?P<suf>{suffix}))?" if suffix else ""
    return re.compile(
        rf"^(?P<lp>\()?\s*(?P<s1>[-+])?\s*{pre}(?P<s2>[-+])?\s*(?P<num>{_SCI}|{_BODY})"
        rf"\s*(?P<s3>-)?{suf}\s*(?P<s4>-)?\s*(?P<rp>\))?$"
    )


@dataclass(frozen=True)
class NumText:
    """Both readings of each text (arrays aligned with the scanned texts)."""

    matched: np.ndarray    # the text has the numeric shape
    value_dot: np.ndarray  # value in the "." decimal reading (NaN when not valid)
    value_com: np.ndarray  # value in the "," decimal reading (NaN when not valid)
    ok_dot: np.ndarray
    ok_com: np.ndarray
    evidence: np.ndarray   # "." / "," when the text proves the decimal separator, else None
    pre: np.ndarray        # matched prefix text or None
    suf: np.ndarray        # matched suffix text or None


def _floats(t: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Number texts (object array) to float64 where ``ok``; NaN elsewhere, overflow to inf."""
    out = np.full(len(t), np.nan)
    if ok.any():
        with np.errstate(over="ignore", invalid="ignore"):
            out[ok] = np.asarray(t[ok], dtype=str).astype(np.float64)
    return out


def _fullmatch(num: pa.Array | pd.Series, pattern: str) -> np.ndarray:
    """Which texts ``pattern`` matches whole (null texts: False)."""
    if isinstance(num, pa.Array):
        return _fast.to_bool(pc.match_substring_regex(num, f"^(?:{pattern})$"))
    return num.str.fullmatch(pattern, na=False).to_numpy(dtype=bool)


def _replace(num: pa.Array | pd.Series, chars: str, by: str = "") -> pa.Array | pd.Series:
    """Every character of ``chars`` replaced by ``by``."""
    if isinstance(num, pa.Array):
        for ch in chars:
            num = pc.replace_substring(num, ch, by)
        return num
    return num.str.replace(f"[{re.escape(chars)}]", by, regex=True)


def _objects(num: pa.Array | pd.Series) -> np.ndarray:
    return _fast.to_objects(num) if isinstance(num, pa.Array) else num.to_numpy(dtype=object)


def _extract(t: pd.Series, pattern: re.Pattern[str]) -> dict[str, np.ndarray]:
    """The pattern's groups in each text: object arrays, None where a group is absent or no match."""
    values = t.to_numpy(dtype=object)
    out = _fast.extract(values, pattern)
    if out is None:
        m = c.text_series(values).str.extract(pattern)
        out = {g: np.where(pd.isna(col), None, col) for g, col in ((g, m[g].to_numpy(dtype=object)) for g in m)}
    return out


def scan(t: pd.Series, pattern: re.Pattern[str]) -> NumText:
    """Read cleaned texts (see ``_common.clean_text``) with ``pattern`` from :func:`numeric_pattern`."""
    n = len(t)
    if n == 0:
        e = np.zeros(0, dtype=bool)
        f = np.zeros(0)
        o = np.empty(0, dtype=object)
        return NumText(e, f, f, e, e, o, o, o)
    shapes = _fast.match_shapes(t.to_numpy(dtype=object), pattern)
    if shapes is not None:
        return _scan_shapes(shapes, n)
    m = _extract(t, pattern)
    has = {g: m[g] != None for g in m}  # noqa: E711 - elementwise on object arrays
    lp, rp = has["lp"], has["rp"]
    n_signs = has["s1"].astype(int) + has["s2"] + has["s3"] + has["s4"] + lp
    negative = (m["s1"] == "-") | (m["s2"] == "-") | has["s3"] | has["s4"] | lp
    matched = has["num"] & (lp == rp) & (n_signs <= 1)

    # the number's characters are ASCII ([0-9.,' ] or scientific notation): Arrow reads them all
    raw_num = np.where(matched, m["num"], None)
    num = (pc.utf8_trim(pa.array(raw_num, pa.string()), " ") if _fast.enabled()
           else pd.Series(raw_num, dtype=object).str.strip())
    sci = _fullmatch(num, _SCI)
    ok_dot = _fullmatch(num, _DOT) | sci
    ok_com = _fullmatch(num, _COM) & ~sci
    value_dot = _floats(_objects(_replace(num, ",' ")), ok_dot)
    value_com = _floats(_objects(_replace(_replace(num, ".' "), ",", ".")), ok_com)
    sign = np.where(negative, -1.0, 1.0)
    value_dot, value_com = value_dot * sign, value_com * sign

    has_sep = (_fullmatch(num, ".*[.,].*")) & ~sci
    evidence = np.full(n, None, dtype=object)
    evidence[has_sep & ok_dot & ~ok_com] = "."
    evidence[has_sep & ok_com & ~ok_dot] = ","
    pre = m.get("pre", np.full(n, None, dtype=object))
    suf = m.get("suf", np.full(n, None, dtype=object))
    return NumText(matched & (ok_dot | ok_com), value_dot, value_com, ok_dot, ok_com, evidence, pre, suf)


def _fullmatch_each(texts: np.ndarray, pattern: str) -> np.ndarray:
    """Which texts (object array, None: no) ``pattern`` matches whole, with Python's ``re``."""
    rx = re.compile(pattern)
    return np.array([v is not None and rx.fullmatch(v) is not None for v in texts], dtype=bool)


def _scan_shapes(sh: _fast.Shapes, n: int) -> NumText:
    """:func:`scan` with the pattern matched once per digit shape (the fast path).

    Which readings a number text allows depends on its shape only (the separator patterns
    tell ``0`` from ``1``-``9`` and nothing more), so they are decided per shape; the values
    are read from each text's own digits (Arrow cuts and casts them, as ``float()`` would).
    """
    has = {g: sh.span[g][:, 0] >= 0 for g in sh.span}  # per shape
    text = sh.text
    lp, rp = has["lp"], has["rp"]
    n_signs = has["s1"].astype(int) + has["s2"] + has["s3"] + has["s4"] + lp
    negative = (text["s1"] == "-") | (text["s2"] == "-") | has["s3"] | has["s4"] | lp
    matched = has["num"] & (lp == rp) & (n_signs <= 1)
    num = np.array([v.strip(" ") if ok else None for v, ok in zip(text["num"], matched)], dtype=object)
    sci = _fullmatch_each(num, _SCI)
    ok_dot = _fullmatch_each(num, _DOT) | sci
    ok_com = _fullmatch_each(num, _COM) & ~sci
    has_sep = _fullmatch_each(num, ".*[.,].*") & ~sci
    evidence = np.full(num.size, None, dtype=object)
    evidence[has_sep & ok_dot & ~ok_com] = "."
    evidence[has_sep & ok_com & ~ok_dot] = ","

    sign = sh.rows(np.where(negative, -1.0, 1.0))
    rows_dot, rows_com = sh.rows(ok_dot), sh.rows(ok_com)
    digits = pc.utf8_trim(sh.arrow("num"), " ") if (rows_dot | rows_com).any() else None

    def read(rows: np.ndarray, drop: str, comma: bool) -> np.ndarray:
        out = np.full(n, np.nan)
        if rows.any():
            part = _replace(digits.filter(pa.array(rows)), drop)
            out[rows] = pc.cast(_replace(part, ",", ".") if comma else part, pa.float64()).to_numpy(
                zero_copy_only=False)
        return out * sign

    o = np.full(n, None, dtype=object)
    return NumText(sh.rows(matched & (ok_dot | ok_com)), read(rows_dot, ",' ", False), read(rows_com, ".' ", True),
                   rows_dot, rows_com, sh.rows(evidence), sh.objects("pre") if "pre" in sh.text else o,
                   sh.objects("suf") if "suf" in sh.text else o)


def decimal_convention(nt: NumText, counts: np.ndarray) -> str:
    """The column's decimal separator: the majority of the evidence in rows, ``.`` by default."""
    n_dot = int(counts[nt.evidence == "."].sum())
    n_com = int(counts[nt.evidence == ","].sum())
    return "," if n_com > n_dot else "."


def resolve(nt: NumText, decimal: str) -> tuple[np.ndarray, np.ndarray]:
    """Values read with ``decimal`` where ambiguous, and the ambiguity mask."""
    both = nt.ok_dot & nt.ok_com
    with np.errstate(invalid="ignore"):
        ambiguous = both & (nt.value_dot != nt.value_com)
    preferred = nt.value_com if decimal == "," else nt.value_dot
    values = np.where(nt.ok_dot & ~nt.ok_com, nt.value_dot, np.where(nt.ok_com & ~nt.ok_dot, nt.value_com, preferred))
    values = np.where(nt.matched, values, np.nan)
    return values, ambiguous & nt.matched


@dataclass
class ColumnScan:
    """The shared first pass of the numeric parsers over a column's unique values.

    Real numbers are parsed and given their status (CLEAN; NaN → MISSING; ±inf → INVALID);
    text cells are cleaned and scanned with ``pattern`` and the column's decimal convention.
    Each parser then decides what the text cells mean (``values``/``status`` of text cells are
    left for it to fill).
    """

    u: c.Uniques
    values: np.ndarray       # per unique value; real numbers filled
    status: np.ndarray       # int8 per unique value; real numbers filled, text INVALID
    is_str: np.ndarray       # unique values that are text
    text: pd.Series          # cleaned text of those values
    missing: np.ndarray      # text that is a missing-value token
    nt: NumText
    decimal: str
    number: np.ndarray       # the number read from each text value (NaN if none)
    ambiguous: np.ndarray    # read by the column's convention
    prepared: object = None  # what ``prepare`` said about the texts (see :func:`scan_column`)


def scan_column(
    s: object,
    pattern: re.Pattern[str],
    *,
    prepare: Callable[[pd.Series], tuple[pd.Series, object]] | None = None,
    accept: Callable[[NumText], np.ndarray] | None = None,
) -> ColumnScan:
    """Factorize ``s``, parse its real numbers and scan its text values (see :class:`ColumnScan`).

    ``prepare(text)`` -> ``(text to scan, info)`` rewrites the cleaned texts before the scan (money
    strips annotations such as "HT"; ``info`` is kept as ``ColumnScan.prepared``); missing-value
    tokens are found before it. ``accept(nt)`` -> mask of the scanned texts whose prefix and suffix
    the parser knows: the others are not numbers and show no decimal convention.
    """
    s = c.as_series(s)
    u = c.factorize(s)
    kind = c.kinds_of(u)
    n = u.values.size
    values = np.full(n, np.nan)
    status = np.full(n, c.S_INVALID, dtype=np.int8)
    is_num = kind == c.K_NUM
    f = c.numbers_of(u)[is_num]
    values[is_num] = np.where(np.isfinite(f), f, np.nan)
    status[is_num] = np.where(np.isfinite(f), c.S_CLEAN, np.where(np.isnan(f), c.S_MISSING, c.S_INVALID))
    is_str = kind == c.K_STR
    t = c.clean_text(c.text_series(u.values[is_str]))
    missing = c.is_missing_token(t, cleaned=True)
    scanned, prepared = prepare(t) if prepare is not None else (t, None)
    nt = scan(scanned, pattern)
    if accept is not None:
        known = accept(nt)
        nt = replace(nt, matched=nt.matched & known, evidence=np.where(known, nt.evidence, None))
    decimal = decimal_convention(nt, u.counts[is_str])
    number, ambiguous = resolve(nt, decimal)
    return ColumnScan(u, values, status, is_str, t, missing, nt, decimal, number, ambiguous, prepared)
