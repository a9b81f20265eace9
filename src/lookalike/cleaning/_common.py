"""Private machinery shared by the single-column parsers (not public API).

* :func:`as_series` checks the argument and :func:`factorize` reduces a column to
  its distinct raw values (type-aware: ``True`` and ``1`` stay distinct) plus a
  row -> unique code array; parsers work on the uniques and :func:`to_rows` /
  :func:`status_rows` map the per-unique results back to the rows.
* :func:`kinds` classifies the uniques (text, number, bool, date-like, other).
* :func:`clean_text` is the common text normalisation (NFKC, apostrophes, minus
  sign, zero-width and bidirectional marks, whitespace) and :data:`MISSING_TOKENS` the common
  "no value" spellings, compared after :func:`token_key`.
"""

from __future__ import annotations

import numbers as _num
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lookalike.cleaning import _fast
from lookalike.cleaning._base import STATUS_DTYPE, STATUSES
from lookalike.errors import ParameterError

# Status codes (positions in STATUS_DTYPE) for per-unique int8 arrays.
S_CLEAN, S_FIXED, S_AMBIGUOUS, S_CODE, S_MISSING, S_INVALID = range(len(STATUSES))

# Kinds of raw values.
K_STR, K_NUM, K_BOOL, K_DATE, K_OTHER = range(5)

#: "No value" spellings, compared after :func:`token_key` (lower case, accents and
#: surrounding punctuation removed, inner spaces collapsed). Parsers for which one
#: of these is a real value (``none`` in preferences, ``unknown`` in gender)
#: check their own vocabulary first.
MISSING_TOKENS: frozenset[str] = frozenset(
    {
        "", "na", "n/a", "n.a.", "n.a", "#n/a", "#na", "nan", "null", "none", "nil", "nothing",
        "-", "--", "---", "?", "??", "???", ".", "..", "...", "_", "x/x",
        "not available", "not applicable", "no disponible", "no aplica", "no data",
        "unknown", "desconocido", "desconocida", "missing", "blank", "(blank)", "empty", "(empty)",
        "sin dato", "sin datos", "s/d", "s.d.", "sd", "n/d", "n.d.", "nd", "n.c.", "n/c", "no consta",
        "nao disponivel", "desconhecido", "inconnu", "non disponible", "nicht verfugbar", "unbekannt",
        "sconosciuto", "non disponibile", "#value!", "#ref!", "#div/0!", "#null!", "#num!", "#name?",
    }
)

# One translation table: apostrophe look-alikes -> "'", minus look-alikes -> "-", zero-width and
# bidirectional marks -> "" (CLDR writes Arabic and Hebrew amounts with U+200F/U+061C around the sign).
CLEAN_TRANSLATION = _TRANSLATE = str.maketrans(
    {**{ch: "'" for ch in "\u2019\u2018\u02bc\u02b9\u2032`\u00b4"},
     **{ch: "-" for ch in "\u2212\ufe63\uff0d"},
     **{ch: None for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u061c\u202a\u202b\u202c\u202d"
                            "\u202e\u2066\u2067\u2068\u2069"}}
)
_SPACES = re.compile(r"\s+")
_COMBINING = re.compile("[\u0300-\u036f]")


@dataclass(frozen=True)
class Uniques:
    """A column reduced to its distinct raw values.

    codes:  row -> position in ``values`` (intp), ``-1`` for null cells.
    values: object array of the distinct raw values (first occurrence of each).
    counts: number of rows holding each unique value.
    index:  the input index (outputs are aligned with it).
    name:   the input name.
    kind:   :func:`kinds` of ``values`` when known (see :func:`kinds_of`).
    text:   ``values`` as an Arrow string array when all are text and factorizing built it (the
            fast path of near-unique text columns: later passes need not touch the cells again).
    numbers: float64 of each value that is a number (kind K_NUM; :func:`to_float`), NaN for the
            others, when factorizing read them (see :func:`numbers_of`).
    """

    codes: np.ndarray
    values: np.ndarray
    counts: np.ndarray
    index: pd.Index
    name: object
    kind: np.ndarray | None = None  # :func:`kinds` of ``values`` when factorizing already knew it
    text: pa.Array | None = None  # ``values`` as an Arrow string array, when factorizing made one
    numbers: np.ndarray | None = None  # :func:`numbers_of` the values, when factorizing read them


def as_series(s: object, *, arg: str = "s") -> pd.Series:
    """Return ``s`` as a Series, or raise ``ParameterError`` if it is not one column."""
    if isinstance(s, pd.Series):
        return s
    if isinstance(s, pd.DataFrame):
        raise ParameterError(f"{arg} must be one column (a pandas Series), got a DataFrame with {s.shape[1]} columns; pass df[column]")
    if isinstance(s, (pd.Index, pd.api.extensions.ExtensionArray, list, tuple)) or (isinstance(s, np.ndarray) and s.ndim == 1):
        return pd.Series(s, dtype=object if isinstance(s, (list, tuple)) else None)
    raise ParameterError(f"{arg} must be a pandas Series (one column), got {type(s).__name__}")


def _factorize_by_key(s: pd.Series, raw: np.ndarray, keys: np.ndarray, valid: np.ndarray) -> Uniques:
    """Factorize ``raw`` (the cells of ``s``) on ``keys`` (hashable where ``valid``; other rows are
    nulls); keep the first raw value of each key."""
    codes = np.full(raw.size, -1, dtype=np.intp)
    codes[valid] = pd.factorize(keys[valid], use_na_sentinel=True)[0]
    valid = codes >= 0
    pos = np.flatnonzero(valid)
    values = raw[pos[first_positions(codes[pos])]]  # pd.factorize numbers keys by first appearance
    counts = np.bincount(codes[valid], minlength=values.size)
    return Uniques(codes, values, counts, s.index, s.name)


def _hashable_key(v: object) -> object:
    try:
        hash(v)
    except TypeError:
        return (type(v).__name__, repr(v))
    return v


def factorize(s: pd.Series) -> Uniques:
    """Distinct raw values of ``s`` with a row -> unique code array (nulls get ``-1``).

    Booleans are kept apart from the numbers that compare equal to them (``True``
    vs ``1``); unhashable cells (lists, dicts from parquet) are keyed by their repr.
    The kinds of the distinct values come along (:func:`kinds_of`).
    """
    if isinstance(s.dtype, pd.StringDtype):  # text and missing values only
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        codes = np.asarray(codes, dtype=np.intp)
        values = np.asarray(uniq, dtype=object)
        counts = np.bincount(codes[codes >= 0], minlength=values.size)
        return Uniques(codes, values, counts, s.index, s.name, np.full(values.size, K_STR, dtype=np.int8))
    raw = s.to_numpy(dtype=object) if s.dtype == object else None
    if raw is not None and _fast.enabled() and len(raw) > _SAMPLE and _near_unique(raw[:_SAMPLE]):
        # most cells distinct (ids, amounts): hashing them as scattered Python objects costs more
        # than reading each once into Arrow or float64 and hashing those
        head = raw[:_SAMPLE]
        if pd.api.types.infer_dtype(head, skipna=True) == "string":
            u = _factorize_text(s, raw)
        else:  # amounts: floats are the costly objects (ints and texts repeat, floats are new each)
            u = _factorize_split(s, raw) if sum(type(v) is float for v in head) > head.size // 2 else None
        if u is not None:
            return u
    try:
        # one hash pass over the cells as they are (cheaper than typing every cell first); the
        # types are looked at on the distinct values only
        codes, uniq = pd.factorize(raw if raw is not None else s, use_na_sentinel=True)
    except TypeError:  # unhashable cells
        keys = s.map(_hashable_key).to_numpy(dtype=object)
        return _factorize_by_key(s, s.to_numpy(dtype=object), keys, ~s.isna().to_numpy())
    codes = np.asarray(codes, dtype=np.intp)
    values = np.asarray(uniq, dtype=object)
    kind, plain = _kinds(values)
    numbers = _numbers(values, kind, plain)
    if raw is not None and values.size:
        zero_one = _zero_one_like(values, kind, plain, numbers)
        if zero_one.any():
            # True == 1 == 1.0 hash alike. A boolean cell hides behind a 0/1-like value (or an odd
            # non-text object): only the rows of those values are typed
            hiding = zero_one | ((kind != K_STR) & ~plain)
            rows = np.flatnonzero(hiding[codes] & (codes >= 0))
            is_bool = np.zeros(raw.size, dtype=bool)
            cells = raw if rows.size == raw.size else raw[rows]  # a 0/1 flag column: every row
            is_bool[rows] = np.fromiter(map(_BOOL_TYPES.__contains__, map(type, cells)), dtype=bool, count=rows.size)
            if is_bool.any():
                return _factorize_by_key(s, raw, codes.astype(np.int64) * 2 + is_bool, codes >= 0)
    counts = np.bincount(codes[codes >= 0], minlength=values.size)
    return Uniques(codes, values, counts, s.index, s.name, kind, numbers=numbers)


_SAMPLE = 2048


def _near_unique(head: np.ndarray) -> bool:
    """Most of the column's first cells are distinct."""
    return pd.unique(head).size > head.size // 2


def _factorize_text(s: pd.Series, raw: np.ndarray) -> Uniques | None:
    """:func:`factorize` of a column of text and None through one Arrow string array (None when
    a cell is anything else). The cells are read once: hashing them as Python objects scattered
    in memory costs more than copying their bytes. The distinct texts come back as new ``str``
    objects side by side in memory (equal to the first raw value; a ``str`` subclass cell comes
    back as ``str``), so the parsers' passes over them are quick, and the Arrow array comes along."""
    try:
        arr = pa.array(raw, pa.string(), from_pandas=False)
    except (pa.ArrowException, UnicodeError):  # a non-text cell, a lone surrogate
        return None
    enc = arr.dictionary_encode()  # indices numbered by first appearance, as pd.factorize
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.intp)
    values = _fast.to_objects(enc.dictionary)
    counts = np.bincount(codes[codes >= 0], minlength=values.size)
    return Uniques(codes, values, counts, s.index, s.name, np.full(values.size, K_STR, dtype=np.int8),
                   enc.dictionary)


def _factorize_split(s: pd.Series, raw: np.ndarray) -> Uniques | None:
    """:func:`factorize` of a column of text, plain numbers and None, the numbers hashed as float64
    (1 and 1.0, 0.0 and -0.0 meet as they do as objects) and the texts apart. Codes follow first
    appearance and each unique is its first raw value, as ``pd.factorize`` gives them. None when
    other cells (booleans, dates, huge ints, ...) need the general path."""
    tcodes, types = pd.factorize(np.fromiter(map(type, raw), dtype=object, count=raw.size))
    text_t = np.array([issubclass(t, str) for t in types])
    num_t = np.array([t in _PLAIN_NUMBERS for t in types])
    if not (text_t | num_t | np.array([t is type(None) for t in types])).all():
        return None
    num_rows, text_rows = np.flatnonzero(num_t[tcodes]), np.flatnonzero(text_t[tcodes])
    f = to_float(raw[num_rows])
    with np.errstate(invalid="ignore"):
        if (np.abs(f) > _MAX_EXACT_INT).any():  # floats stop telling big ints apart
            return None
    ncodes, _ = pd.factorize(f, use_na_sentinel=True)
    tcodes2, _ = pd.factorize(raw[text_rows], use_na_sentinel=True)
    valid = ncodes >= 0
    num_rows, ncodes = num_rows[valid], ncodes[valid]
    # the first row of each distinct number and text; in row order they are the uniques
    nfirst, tfirst = num_rows[first_positions(ncodes)], text_rows[first_positions(tcodes2)]
    head = np.zeros(raw.size, dtype=bool)
    head[nfirst] = True
    head[tfirst] = True
    heads = np.flatnonzero(head)
    rank = np.cumsum(head) - 1
    codes = np.full(raw.size, -1, dtype=np.intp)
    codes[num_rows] = rank[nfirst][ncodes]
    codes[text_rows] = rank[tfirst][tcodes2]
    counts = np.bincount(codes[codes >= 0], minlength=heads.size)
    kind = np.where(text_t[tcodes[heads]], K_STR, K_NUM).astype(np.int8)
    numbers = np.full(heads.size, np.nan)
    numbers[rank[nfirst]] = f[valid][first_positions(ncodes)]
    return Uniques(codes, raw[heads], counts, s.index, s.name, kind, numbers=numbers)


_MAX_EXACT_INT = 2.0**53
_BOOL_TYPES = frozenset({bool, np.bool_})  # neither can be subclassed: the exact type tells
#: Number types whose float64 equals 0 or 1 exactly when the number does.
_PLAIN_NUMBERS = frozenset({int, float, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                            np.uint64, np.float16, np.float32, np.float64})


def first_positions(codes: np.ndarray) -> np.ndarray:
    """Position of the first occurrence of each code, for codes numbered by first appearance
    (as ``pd.factorize`` numbers them) without missing ones: where the running maximum grows."""
    if codes.size == 0:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1))


def _zero_one_like(values: np.ndarray, kind: np.ndarray, plain: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """Which values are booleans or non-complex numbers equal to 0 or 1 (``kind``, ``plain``: from
    :func:`_kinds`; ``numbers``: from :func:`_numbers`)."""
    out = kind == K_BOOL
    out[plain] = (numbers[plain] == 0) | (numbers[plain] == 1)
    other = np.flatnonzero(~plain & (kind != K_STR) & ~out)
    out[other] = [  # other number types (Fraction, Decimal, ...): compared as they are, few
        isinstance(v, _num.Number) and not isinstance(v, complex) and _equals_zero_or_one(v) for v in values[other]
    ]
    return out


def _numbers(values: np.ndarray, kind: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """:func:`to_float` of the values that are numbers (kind K_NUM), NaN for the others."""
    out = np.full(values.size, np.nan)
    out[plain] = to_float(values[plain])
    odd = np.flatnonzero((kind == K_NUM) & ~plain)  # Decimal, Fraction, ...: few
    out[odd] = to_float(values[odd])
    return out


def numbers_of(u: Uniques) -> np.ndarray:
    """float64 of each unique value that is a number (kind K_NUM), NaN for the others."""
    if u.numbers is not None:
        return u.numbers
    kind = kinds_of(u)
    out = np.full(u.values.size, np.nan)
    out[kind == K_NUM] = to_float(u.values[kind == K_NUM])
    return out


def _equals_zero_or_one(v: object) -> bool:
    try:
        return v in (0, 1)
    except ArithmeticError:  # Decimal("sNaN") refuses to be compared
        return False


def _kind_of(t: type) -> int:
    if issubclass(t, str):
        return K_STR
    if issubclass(t, (bool, np.bool_)):
        return K_BOOL
    if issubclass(t, (datetime, date, np.datetime64, pd.Timestamp)):
        return K_DATE
    if issubclass(t, (_num.Real, Decimal)):  # Decimal (parquet decimal128, SQL NUMERIC) is no numbers.Real
        return K_NUM
    return K_OTHER


def kinds(values: np.ndarray) -> np.ndarray:
    """Kind of each raw value: K_STR, K_NUM, K_BOOL, K_DATE or K_OTHER (int8 array).

    A kind depends on the type alone, so it is decided once per distinct type.
    """
    return _kinds(values)[0]


def _kinds(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`kinds` of ``values`` and which of them are numbers of a :data:`_PLAIN_NUMBERS` type."""
    if values.size == 0 or pd.api.types.infer_dtype(values, skipna=False) == "string":  # a C-level look
        return np.full(values.size, K_STR, dtype=np.int8), np.zeros(values.size, dtype=bool)
    # fromiter: np.array(list of types) would inspect every type object as a possible sequence
    codes, distinct = pd.factorize(np.fromiter(map(type, values), dtype=object, count=values.size))
    kind = np.array([_kind_of(t) for t in distinct], dtype=np.int8)[codes]
    plain = np.array([t in _PLAIN_NUMBERS for t in distinct], dtype=bool)[codes]
    return kind, plain


def kinds_of(u: Uniques) -> np.ndarray:
    """:func:`kinds` of the unique values (known from factorizing, or computed)."""
    return u.kind if u.kind is not None else kinds(u.values)


def to_float(values: np.ndarray) -> np.ndarray:
    """Real numbers to float64; values too large for a float become ``inf`` (sign kept)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (OverflowError, TypeError, ValueError):
        out = np.empty(values.size, dtype=np.float64)
        for i, v in enumerate(values):  # rare path: huge Python ints / odd number types
            try:
                out[i] = float(v)
            except OverflowError:
                out[i] = np.inf if v > 0 else -np.inf
            except (TypeError, ValueError):
                out[i] = np.nan
        return out


def text_series(values: np.ndarray) -> pd.Series:
    """Object-dtype Series of str (Python ``re`` engine, so back-references work)."""
    return pd.Series(values, dtype=object)


def clean_text(t: pd.Series) -> pd.Series:
    """NFKC, one kind of apostrophe and minus, no zero-width characters, single spaces, stripped."""
    if t.empty:
        return t
    out = _fast.split_apply(t.to_numpy(dtype=object), lambda a: _fast.to_objects(_fast.clean_ascii(a)), _clean_text_py)
    return pd.Series(out, index=t.index, name=t.name, dtype=object)


def _clean_text_py(values: np.ndarray) -> np.ndarray:
    t = text_series(values).str.translate(_TRANSLATE).str.normalize("NFKC")
    return t.str.replace(_SPACES, " ", regex=True).str.strip().to_numpy(dtype=object)


def strip_accents(t: pd.Series) -> pd.Series:
    """Remove diacritics (NFKD, drop combining marks)."""
    if t.empty:
        return t
    return t.str.normalize("NFKD").str.replace(_COMBINING, "", regex=True)


def token_key(t: pd.Series, *, cleaned: bool = False) -> pd.Series:
    """Lower case, no accents, single spaces: the form compared with token sets.

    ``cleaned=True`` skips :func:`clean_text` for text that already went through it.
    """
    if t.empty:
        return t

    def fast(a):
        return _fast.to_objects(pc.ascii_lower(a if cleaned else _fast.clean_ascii(a)))

    def slow(values: np.ndarray) -> np.ndarray:
        v = text_series(values if cleaned else _clean_text_py(values))
        return strip_accents(v).str.lower().to_numpy(dtype=object)

    return pd.Series(_fast.split_apply(t.to_numpy(dtype=object), fast, slow), index=t.index, name=t.name, dtype=object)


def is_missing_token(t: pd.Series, exclude: Iterable[str] = (), *, cleaned: bool = False) -> np.ndarray:
    """Boolean array: the text is one of :data:`MISSING_TOKENS` (minus ``exclude``)."""
    tokens = MISSING_TOKENS.difference(exclude)
    if t.empty:
        return np.zeros(0, dtype=bool)

    def fast(a):
        key = pc.ascii_lower(a if cleaned else _fast.clean_ascii(a))
        return _fast.to_bool(pc.is_in(key, value_set=_token_array(tokens)))

    def slow(values: np.ndarray) -> np.ndarray:
        return token_key(text_series(values), cleaned=cleaned).isin(tokens).to_numpy(dtype=bool)

    return _fast.split_apply(t.to_numpy(dtype=object), fast, slow, dtype=bool)


@lru_cache(maxsize=16)
def _token_array(tokens: frozenset[str]) -> pa.Array:
    return pa.array(sorted(tokens), pa.string())


def to_rows(u: Uniques, per_unique: np.ndarray, fill: object) -> np.ndarray:
    """Map a per-unique array back to the rows; null cells get ``fill``."""
    ext = np.empty(per_unique.size + 1, dtype=per_unique.dtype)
    ext[:-1] = per_unique
    ext[-1] = fill
    return ext[u.codes]  # code -1 picks the fill slot


def status_rows(u: Uniques, per_unique: np.ndarray) -> pd.Series:
    """Per-unique int8 status codes -> categorical status Series aligned with the input."""
    codes = to_rows(u, per_unique.astype(np.int8), S_MISSING)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=STATUS_DTYPE), index=u.index, name=u.name)


def count_by(keys: np.ndarray, counts: np.ndarray, mask: np.ndarray | None = None) -> dict[str, int]:
    """Rows per key (``keys`` per unique, ``counts`` rows per unique), biggest first."""
    if mask is not None:
        keys, counts = keys[mask], counts[mask]
    if keys.size == 0:
        return {}
    if pd.api.types.infer_dtype(keys, skipna=False) == "string":  # texts already: their str() is themselves
        codes, uniq = pd.factorize(keys)
        uniq = np.asarray(uniq, dtype=object)
    else:
        codes, uniq = pd.factorize(np.array([str(k) for k in keys], dtype=object))
    sums = np.bincount(codes, weights=counts, minlength=len(uniq)).astype(np.int64)
    order = np.argsort(-sums, kind="stable")
    return {str(uniq[i]): int(sums[i]) for i in order}
