"""Customer ids in canonical form: the one place every module gets them from.

The rule is the cleaner's (:func:`lookalike.cleaning.text.normalize_id`): text is NFKC-normalised,
loses look-alike characters and all whitespace and is upper-cased; whole numbers are written
without ``.0`` (``17.0`` -> ``"17"``). Three forms of the same rule:

* :func:`normalize_id` (the cleaner's own, re-exported): a Series in, a ``ColumnParse`` out;
  ids the cleaner reads as missing ("", "N/A", NaN) are ``None``.
* :func:`normalize_ids`: the same values as an object array, skipping the work when every id
  is already canonical (ids read back from a clean table or a stored audience).
* :func:`canonical_ids` (iterable -> ``pd.Index``) and :func:`canonical_id` (one value, the fast
  path of ``find_lookalikes``): for looking ids up. A value the cleaner reads as missing gets
  the same text treatment instead of ``None`` (it matches no customer, and an error can name it).

>>> canonical_id(" c 000 001 "), list(canonical_ids(["ｃ０００００１", 17.0]))
('C000001', ['C000001', '17'])
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal

import numpy as np
import pandas as pd

from lookalike.cleaning._common import CLEAN_TRANSLATION, MISSING_TOKENS
from lookalike.cleaning.text import normalize_id

__all__ = ["canonical_id", "canonical_ids", "normalize_id", "normalize_ids"]

_WS = re.compile(r"\s+")
# Already canonical without any work: printable ASCII without lower-case letters, spaces or the
# backtick (which the cleaner turns into an apostrophe).
_CANONICAL_ASCII = r"[!-_{-~]+"


def _canonical_text(value: object) -> str:
    """The rule applied to one value (also to values the cleaner reads as missing)."""
    if isinstance(value, (numbers.Real, Decimal)) and not isinstance(value, (bool, np.bool_)):
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            return str(int(value))  # from its digits: a float would change long ids
        try:
            f = float(value)
        except (OverflowError, ValueError):  # a huge Fraction, Decimal("sNaN"): written as text below
            f = math.inf
        if math.isfinite(f):  # as the cleaner writes number ids: whole numbers without ".0"
            return str(int(f)) if f.is_integer() else repr(f)
    text = unicodedata.normalize("NFKC", str(value).translate(CLEAN_TRANSLATION))
    return _WS.sub("", text).upper()


def canonical_id(value: object) -> str:
    """One id in canonical form; the same as ``canonical_ids([value])[0]`` (a test checks it).

    >>> canonical_id(" c000001\\u200b"), canonical_id(17.0)
    ('C000001', '17')
    """
    return _canonical_text(value)


def canonical_ids(values: Iterable[object]) -> pd.Index:
    """Many ids in canonical form, in order (ids the cleaner reads as missing get the same text rule)."""
    ser = pd.Series(list(values) if not isinstance(values, (pd.Series, pd.Index, np.ndarray)) else values,
                    dtype=object).reset_index(drop=True)
    norm = normalize_id(ser).values
    missing = norm.isna().to_numpy()
    if missing.any():
        # by their text: None and NaN are different values here (factorize would merge them)
        codes, uniques = pd.factorize(ser[missing].to_numpy().astype(str))
        texts = np.array([_canonical_text(u) for u in uniques], dtype=object)  # distinct missing values only
        norm = norm.astype(object)
        norm[missing] = texts[codes]
    return pd.Index(norm.to_numpy(dtype=object))


def normalize_ids(ids: Iterable[object]) -> np.ndarray:
    """:func:`normalize_id` values as an object array (``None`` for missing ids).

    When every id is already canonical text (printable ASCII, upper case, no spaces, none a
    missing token) it is returned as it is: the usual case for ids read back from a clean table.
    """
    s = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype=object)
    s = s.reset_index(drop=True)
    # text only (17.0 must become "17"), no missing value
    if pd.api.types.infer_dtype(s, skipna=False) in ("string", "empty") and s.notna().all():
        text = s.astype("string")
        if (bool(text.str.fullmatch(_CANONICAL_ASCII).all())
                and not bool(text.str.lower().isin(MISSING_TOKENS).any())):
            return text.to_numpy(dtype=object)
    return np.asarray(normalize_id(s).values, dtype=object)
