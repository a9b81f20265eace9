"""Plain numbers, ages and booleans: ``parse_number``, ``parse_age``, ``parse_bool``.

``parse_number`` rules:

* Real ints/floats are CLEAN when finite and acceptable; NaN is MISSING; ``inf``,
  booleans, dates and other objects are INVALID.
* Text is normalised (NFKC, apostrophes, unicode minus, spaces); missing tokens
  ("", "N/A", "null", "-", "unknown", "no disponible", ...) are MISSING.
* One unit word from ``units`` may follow the number, case-insensitively, with or
  without a space and with an optional trailing dot ("35 years", "35años", "12 Months").
* Separators follow the money rule (module ``_numeric``): repeated separators or
  two kinds group thousands, the last ``.``/``,`` not followed by exactly three
  digits is decimal, spaces/apostrophes group thousands, and a lone separator
  followed by three digits ("2.464") is read with the column's decimal separator
  and is AMBIGUOUS. Negatives "-5", "(5)", "5-"; scientific "1e3". Other parsed
  texts are FIXED.
* ``integer=True`` requires a whole number no larger in magnitude than 2**53 (above
  it a float64 no longer holds every whole number, and "1e308 orders" is not a
  count); ``lo``/``hi`` are inclusive bounds. Values failing either are INVALID
  (NaN) and counted in ``notes["out_of_range"]``.

``parse_age`` = ``parse_number(integer=True, lo=1, hi=120)`` (so 0 < age <= 120)
with the units years/year/yrs/yr/y/años/año/anos/ans/jahre (and a few more).

``parse_bool`` rules: ``True``/``False`` and the numbers 0/1 are CLEAN; the texts
true/false, yes/no, y/n, t/f, sí/si/no, verdadero/falso, 1/0 (also "1.0"), x
(a ticked box), on/off, sim/não, oui/non, ja/nein, vero/falso are FIXED
(case-insensitive, accents ignored); missing tokens (including "unknown",
"desconocido") and empty cells are MISSING (NA); anything else is INVALID (NA).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from lookalike.cleaning import _common as c
from lookalike.cleaning import _numeric as nm
from lookalike.cleaning._base import ColumnParse
from lookalike.errors import ParameterError

__all__ = ["AGE_UNITS", "parse_age", "parse_bool", "parse_number"]

AGE_UNITS: tuple[str, ...] = (
    "years old", "year old", "years", "year", "yrs", "yr", "y.o.", "yo", "y", "años", "año", "anos", "ano",
    "ans", "jahre", "jahren", "anni", "anos de idade", "a",
)

#: Largest magnitude at which float64 still holds every whole number (2**53).
_MAX_EXACT_INT = float(2**53)
_TRUE = frozenset({"true", "yes", "y", "t", "si", "verdadero", "x", "1", "1.0", "on", "sim", "oui", "ja", "vero", "v"})
_FALSE = frozenset({"false", "no", "n", "f", "falso", "0", "0.0", "off", "nao", "non", "nein"})


def _check_bound(name: str, v: float | None) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a number or None, got {v!r}")
    try:
        f = float(v)
    except OverflowError:
        f = math.inf if v > 0 else -math.inf
    if math.isnan(f):
        raise ParameterError(f"{name} must be a number or None, got {v!r}")
    return f


def _unit_pattern(units: Iterable[str]) -> str | None:
    if isinstance(units, str):
        raise ParameterError(f"units must be a sequence of unit words such as ('years',), not the string {units!r}")
    try:
        words = list(units)
    except TypeError:
        raise ParameterError(f"units must be a sequence of strings, got {type(units).__name__}") from None
    if not all(isinstance(w, str) and w.strip() for w in words):
        raise ParameterError(f"units must be non-empty strings, got {words!r}")
    if not words:
        return None
    alts = "|".join(re.escape(w.strip()) for w in sorted(words, key=len, reverse=True))
    return rf"(?i:{alts})\.?"


def parse_number(
    s: pd.Series,
    *,
    integer: bool = False,
    lo: float | None = None,
    hi: float | None = None,
    units: Iterable[str] = (),
) -> ColumnParse:
    """Parse a raw numeric column to float64 (see the module docstring for the rules).

    notes: ``decimal_separator`` ("." or ","), ``units`` ({unit as written, lower case: rows}),
    ``out_of_range`` (rows rejected by ``integer``/``lo``/``hi``).

    >>> parse_number(pd.Series(["35 years", 41, "N/A"]), integer=True, units=("years",)).values.tolist()
    [35.0, 41.0, nan]
    """
    lo_f, hi_f = _check_bound("lo", lo), _check_bound("hi", hi)
    if lo_f is not None and hi_f is not None and lo_f > hi_f:
        raise ParameterError(f"lo must be <= hi, got lo={lo}, hi={hi}")
    sc = nm.scan_column(s, nm.numeric_pattern(suffix=_unit_pattern(units)))
    u, values, status, is_str, nt, decimal = sc.u, sc.values, sc.status, sc.is_str, sc.nt, sc.decimal
    n, v, ambiguous, missing = u.values.size, sc.number, sc.ambiguous, sc.missing
    ok = nt.matched & np.isfinite(v) & ~missing
    values[is_str] = np.where(ok, v, np.nan)
    status[is_str] = np.where(missing, c.S_MISSING, np.where(ok, np.where(ambiguous, c.S_AMBIGUOUS, c.S_FIXED), c.S_INVALID))

    has_value = ~np.isnan(values)
    bad = np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore"):
        if integer:
            bad |= has_value & ((np.floor(values) != values) | (np.abs(values) > _MAX_EXACT_INT))
        if lo_f is not None:
            bad |= has_value & (values < lo_f)
        if hi_f is not None:
            bad |= has_value & (values > hi_f)
    values[bad] = np.nan
    status[bad] = c.S_INVALID

    unit_words = np.array([None if w is None else w.lower().rstrip(".") for w in nt.suf], dtype=object)
    notes: dict[str, object] = {
        "decimal_separator": decimal,
        "units": c.count_by(unit_words, u.counts[is_str], ok & (unit_words != None)),  # noqa: E711
        "out_of_range": int(u.counts[bad].sum()),
    }
    out = pd.Series(c.to_rows(u, values, np.nan), index=u.index, name=u.name, dtype="float64")
    return ColumnParse(out, c.status_rows(u, status), notes)


def parse_age(s: pd.Series) -> ColumnParse:
    """Parse ages in whole years, 0 < age <= 120 ("35", "35 years", "35 años", 35.0).

    >>> parse_age(pd.Series(["35 years", "35 años", "0", "N/A"])).values.tolist()
    [35.0, 35.0, nan, nan]
    """
    return parse_number(s, integer=True, lo=1, hi=120, units=AGE_UNITS)


def parse_bool(s: pd.Series) -> ColumnParse:
    """Parse flags to the nullable ``boolean`` dtype (see the module docstring for the rules).

    notes: ``unrecognised`` ({raw text: rows} of INVALID texts).

    >>> parse_bool(pd.Series(["yes", 0, "Sí", "unknown"])).values.tolist()
    [True, False, True, <NA>]
    """
    s = c.as_series(s)
    u = c.factorize(s)
    kind = c.kinds_of(u)
    n = u.values.size
    truth = np.zeros(n, dtype=bool)
    known = np.zeros(n, dtype=bool)
    status = np.full(n, c.S_INVALID, dtype=np.int8)

    is_bool = kind == c.K_BOOL
    truth[is_bool] = np.asarray(u.values[is_bool], dtype=bool)
    known[is_bool] = True
    status[is_bool] = c.S_CLEAN

    is_num = kind == c.K_NUM
    f = c.numbers_of(u)[is_num]
    zero_one = (f == 0) | (f == 1)
    truth[is_num] = f == 1
    known[is_num] = zero_one
    status[is_num] = np.where(zero_one, c.S_CLEAN, np.where(np.isnan(f), c.S_MISSING, c.S_INVALID))

    is_str = kind == c.K_STR
    raw = c.text_series(u.values[is_str])
    key = c.token_key(raw).str.strip(" .")
    is_true = key.isin(_TRUE).to_numpy(dtype=bool)
    is_false = key.isin(_FALSE).to_numpy(dtype=bool)
    missing = c.is_missing_token(raw) & ~is_true & ~is_false
    truth[is_str] = is_true
    known[is_str] = is_true | is_false
    status[is_str] = np.where(is_true | is_false, c.S_FIXED, np.where(missing, c.S_MISSING, c.S_INVALID))

    rows_truth = c.to_rows(u, truth, False)
    rows_known = c.to_rows(u, known, False)
    values = pd.Series(pd.arrays.BooleanArray(rows_truth, ~rows_known), index=u.index, name=u.name)
    invalid_text = is_str.copy()
    invalid_text[is_str] = ~(is_true | is_false | missing)
    notes: dict[str, object] = {
        "unrecognised": c.count_by(u.values, u.counts, invalid_text),
    }
    return ColumnParse(values, c.status_rows(u, status), notes)
