"""Private: the Arrow fast path of the cleaning helpers (not public API).

Most distinct texts in an export are plain ASCII ("C000123", "$2,464.06", "2022-12-17").
On ASCII text Unicode normalisation (NFKC/NFKD) is the identity, lower/upper case are
the ASCII ones and Python's ``\\s`` is the class :data:`WS`, so the helpers in
``_common``, ``_numeric`` and the parsers can run on those texts with ``pyarrow.compute``
(C++ kernels, RE2 regular expressions) and give the same result as the Python string
methods. Texts with any non-ASCII character keep today's Python path, so accents,
exotic spaces and look-alike characters are handled by one implementation only.

Patterns given to :func:`extract` must mean the same in RE2 as in Python's ``re`` on
cleaned ASCII text (no back-references, no look-arounds; ``$`` never meets a newline
because cleaned text has none). The agreement tests (``tests/cleaning/test_fast_path.py``)
run every parser both ways on the synthetic export and on the fuzzers' inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


def clean_ascii(arr: pa.Array) -> pa.Array:
    """``_common.clean_text`` on ASCII text: backtick to apostrophe, whitespace runs to one space, stripped."""
    x = pc.replace_substring(arr, "`", "'")
    needs = pc.match_substring_regex(x, _WS_BUT_SPACE + "|  ")  # a run to collapse: rare, so only those rows
    if pc.any(needs).as_py():
        x = pc.if_else(needs, pc.replace_substring_regex(x, WS + "+", " "), x)
    return pc.utf8_trim(x, " ")


def extract(arr: pa.Array, pattern: str, groups: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``pattern`` searched in each text: (matched mask, {group: object array, None where absent}).

    Every group of the patterns used here is either absent or non-empty, so Arrow's empty
    string for a non-participating group means absent, as NaN does in ``Series.str.extract``.
    """
    m = pc.extract_regex(arr, pattern)
    hit = ~m.is_null().to_numpy(zero_copy_only=False)
    out: dict[str, np.ndarray] = {}
    for g in groups:
        col = to_objects(m.field(g))
        out[g] = np.where(hit & (col != ""), col, None)
    return hit, out
