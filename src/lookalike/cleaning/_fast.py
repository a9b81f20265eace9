"""Private: the Arrow fast path of the cleaning helpers (not public API).

Most distinct texts in an export are plain ASCII ("C000123", "$2,464.06", "2022-12-17").
On ASCII text Unicode normalisation (NFKC/NFKD) is the identity, lower/upper case are
the ASCII ones and Python's ``\\s`` is the class :data:`WS`, so the helpers in
``_common``, ``_numeric`` and the parsers can run on those texts with ``pyarrow.compute``
(C++ kernels, RE2 regular expressions) and give the same result as the Python string
methods. Texts with any non-ASCII character keep today's Python path, so accents,
exotic spaces and look-alike characters are handled by one implementation only.

Regular expressions keep Python's ``re`` as their engine: :func:`extract` runs a pattern once
per distinct *digit shape* of the texts instead of once per text. Only the whitespace class
:data:`WS` (on ASCII text) and the numeric separator checks (``_numeric``, written without
back-references or look-arounds so they mean the same in both) run in RE2. The agreement tests (``tests/cleaning/test_fast_path.py``) run every parser
both ways (:func:`disabled`) on the synthetic export and on the fuzzers' inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: What Python's ``\s`` matches among ASCII characters (also what ``str.strip()`` removes).
WS = r"[\t-\r\x1c-\x1f ]"
_WS_BUT_SPACE = r"[\t-\r\x1c-\x1f]"
_ENABLED = True


def enabled() -> bool:
    """True unless inside :func:`disabled` (the slow path, kept for the agreement tests)."""
    return _ENABLED


@contextmanager
def disabled() -> Iterator[None]:
    """Run the cleaning helpers on the Python path only (the reference the fast path must match)."""
    global _ENABLED
    before, _ENABLED = _ENABLED, False
    try:
        yield
    finally:
        _ENABLED = before


def ascii_part(values: np.ndarray) -> tuple[np.ndarray, pa.Array] | None:
    """(mask of the ASCII texts, those texts as an Arrow array), or None to use the slow path.

    ``values`` is an object array of ``str``; anything else (a non-text cell, the fast path
    disabled, nothing ASCII) returns None.
    """
    if not _ENABLED or values.size == 0:
        return None
    try:
        arr = pa.array(values, pa.string(), from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if arr.null_count:
        return None
    mask = pc.string_is_ascii(arr).to_numpy(zero_copy_only=False)
    if not mask.any():
        return None
    return mask, (arr if mask.all() else arr.filter(pa.array(mask)))


def split_apply(values: np.ndarray, fast: Callable[[pa.Array], np.ndarray],
                slow: Callable[[np.ndarray], np.ndarray], dtype: object = object) -> np.ndarray:
    """``fast`` on the ASCII texts, ``slow`` on the others, results in the order of ``values``."""
    part = ascii_part(values)
    if part is None:
        return slow(values)
    mask, arr = part
    done = fast(arr)
    if mask.all():
        return done
    out = np.empty(values.size, dtype=dtype)
    out[mask] = done
    out[~mask] = slow(values[~mask])
    return out


def to_objects(arr: pa.Array) -> np.ndarray:
    """An Arrow string array as an object array of ``str`` (nulls become None)."""
    return arr.to_numpy(zero_copy_only=False).astype(object, copy=False)


def to_bool(arr: pa.Array) -> np.ndarray:
    """An Arrow boolean array as numpy (nulls are False)."""
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False)


def clean_ascii(arr: pa.Array, *, apostrophes: bool = True) -> pa.Array:
    """``_common.clean_text`` on ASCII text: backtick to apostrophe, whitespace runs to one space, stripped.

    ``apostrophes=False`` keeps backticks (the free-text cleaner only tidies spaces).
    """
    x = pc.replace_substring(arr, "`", "'") if apostrophes else arr
    needs = pc.match_substring_regex(x, _WS_BUT_SPACE + "|  ")  # a run to collapse: rare, so only those rows
    if pc.any(needs).as_py():
        x = pc.if_else(needs, pc.replace_substring_regex(x, WS + "+", " "), x)
    return pc.utf8_trim(x, " ")


def digit_blind(pattern: str) -> bool:
    """True when ``pattern`` cannot tell the digits 1-9 apart: digits appear only in the
    character-class ranges ``0-9`` / ``1-9``, in ``{m,n}`` quantifiers and in group names."""
    return _digit_blind(pattern)


@lru_cache(maxsize=256)
def _digit_blind(pattern: str) -> bool:
    for name in re.findall(r"\(\?P=(\w+)\)", pattern):  # a back-reference must repeat a digit-free group
        body = re.search(rf"\(\?P<{name}>([^()]*)\)", pattern)
        if body is None or not re.fullmatch(r"\[[^\]\\0-9]*\][ ?]*", body.group(1)):
            return False
    rest = re.sub(r"\[[^\]]*\]", lambda m: m.group(0).replace("0-9", "").replace("1-9", ""), pattern)
    rest = re.sub(r"\{[0-9]+(?:,[0-9]*)?\}|\(\?P<\w+>", "", rest)  # quantifiers, group names
    return not re.search(r"[0-9]", rest)


def extract(values: np.ndarray, pattern: re.Pattern[str]) -> dict[str, np.ndarray] | None:
    """``Series.str.extract(pattern)`` of the texts in ``values``: {group: object array, None where absent}.

    Texts differing only in which of the digits 1-9 they hold match a digit-blind pattern
    (:func:`digit_blind`) the same way, so ``pattern`` (Python's ``re``, the reference engine)
    runs once per distinct *shape* (digits 1-9 written as 1; found with Arrow), and a group
    holding digits is cut from each text at the span its shape gave. Returns None when the
    fast path is off, ``pattern`` is not digit-blind or a cell is not text.
    """
    groups = list(pattern.groupindex)
    if not _ENABLED or not digit_blind(pattern.pattern) or values.size == 0:
        return None
    try:
        arr = pa.array(values, pa.string(), from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if arr.null_count:
        return None
    shapes = arr
    for digit in "23456789":
        shapes = pc.replace_substring(shapes, digit, "1")
    enc = shapes.dictionary_encode()
    codes = enc.indices.to_numpy(zero_copy_only=False)
    distinct = enc.dictionary.to_pylist()
    k = len(distinct)
    text = {g: np.full(k + 1, None, dtype=object) for g in groups}  # the last slot: no match
    span = {g: np.full((k + 1, 2), -1, dtype=np.int64) for g in groups}
    cut = dict.fromkeys(groups, False)
    for i, shape in enumerate(distinct):  # distinct shapes only
        m = pattern.search(shape)
        if m is None:
            continue
        for g in groups:
            value = m.group(g)
            if value is not None:
                text[g][i] = value
                span[g][i] = m.span(g)
                cut[g] |= "1" in value or "0" in value
    out: dict[str, np.ndarray] = {}
    for g in groups:
        if not cut[g]:  # no digit in this group: the shape's text is the text
            out[g] = text[g][codes]
            continue
        start, stop = span[g][codes].T
        out[g] = np.array([v[a:b] if a >= 0 else None for v, a, b in zip(values, start.tolist(), stop.tolist())],
                          dtype=object)
    return out


def without_spaces(arr: pa.Array) -> pa.Array:
    """ASCII text with every whitespace character removed."""
    spaced = pc.match_substring_regex(arr, WS)
    if not pc.any(spaced).as_py():
        return arr
    return pc.if_else(spaced, pc.replace_substring_regex(arr, WS + "+", ""), arr)
