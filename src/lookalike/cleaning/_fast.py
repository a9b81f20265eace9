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
from dataclasses import dataclass
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


def _text_array(values: np.ndarray) -> pa.StringArray | None:
    """``values`` as an Arrow string array, or None when a cell is not text (or missing)."""
    try:
        arr = pa.array(values, pa.string(), from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return None if arr.null_count else arr


def ascii_part(values: np.ndarray) -> tuple[np.ndarray, pa.Array] | None:
    """(mask of the ASCII texts, those texts as an Arrow array), or None to use the slow path.

    ``values`` is an object array of ``str``; anything else (a non-text cell, the fast path
    disabled, nothing ASCII) returns None.
    """
    if not _ENABLED or values.size == 0:
        return None
    arr = _text_array(values)
    if arr is None:
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
    arr = _contiguous(arr)
    x = pc.replace_substring(arr, "`", "'") if apostrophes and _rows_with(arr, _BACKTICK).any() else arr
    needs = _rows_with(arr, _WS_BUT_SPACE_BYTES) | _rows_with_double_space(arr)  # a run to collapse: rare
    if needs.any():
        x = _replace_rows(x, needs, lambda part: pc.replace_substring_regex(part, WS + "+", " "))
    return pc.utf8_trim(x, " ")


def _replace_rows(arr: pa.Array, rows: np.ndarray, fn: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``arr`` with the texts at ``rows`` (a mask) replaced by ``fn`` of them (run on those texts only)."""
    mask = pa.array(rows)
    return pc.replace_with_mask(arr, mask, fn(arr.filter(mask)))


def with_bytes(values: np.ndarray, table: np.ndarray) -> np.ndarray | None:
    """Which texts (object array of ``str``) hold a byte of ``table`` (see :func:`byte_table`), or
    None when the fast path is off or a cell is not text."""
    if not _ENABLED:
        return None
    arr = _text_array(values) if values.size else None
    return None if arr is None else _rows_with(arr, table)


def only_bytes(arr: pa.Array, table: np.ndarray) -> np.ndarray:
    """Which texts are non-empty and made only of the bytes in ``table`` (see :func:`byte_table`)."""
    arr = _contiguous(arr)
    offsets, _ = _buffers(arr)
    return ~_rows_with(arr, ~table) & (np.diff(offsets) > 0)


def byte_table(chars: str, *, non_ascii: bool = False) -> np.ndarray:
    """A 256-entry lookup of the ASCII ``chars`` (and every byte of a non-ASCII character when
    ``non_ascii``), for :func:`only_bytes` and :func:`with_bytes`."""
    table = _byte_table(chars)
    table[0x80:] = non_ascii
    return table


def _byte_table(chars: str) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[[ord(ch) for ch in chars]] = True
    return table


_BACKTICK = _byte_table("`")
_WS_BYTES = _byte_table("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ")  # WS
_WS_BUT_SPACE_BYTES = _byte_table("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f")  # _WS_BUT_SPACE


def _contiguous(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _rows_with(arr: pa.Array, table: np.ndarray) -> np.ndarray:
    """Which texts hold a byte of ``table`` (a 256-entry lookup; ASCII bytes only)."""
    offsets, data = _buffers(arr)
    hit = np.flatnonzero(table[data[offsets[0] : offsets[-1]]]) + offsets[0]
    out = np.zeros(len(arr), dtype=bool)
    if hit.size:
        out[np.searchsorted(offsets, hit, side="right") - 1] = True
    return out


def _rows_with_double_space(arr: pa.Array) -> np.ndarray:
    """Which texts hold two spaces in a row."""
    offsets, data = _buffers(arr)
    body = data[offsets[0] : offsets[-1]] == 32
    pair = np.flatnonzero(body[:-1] & body[1:]) + offsets[0]
    out = np.zeros(len(arr), dtype=bool)
    if pair.size:
        row = np.searchsorted(offsets, pair, side="right") - 1
        same = pair + 1 < offsets[row + 1]  # the second space in the same text
        out[row[same]] = True
    return out


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


@dataclass(frozen=True)
class Shapes:
    """Texts matched by a digit-blind pattern once per distinct *digit shape* (:func:`match_shapes`).

    ``codes`` maps each text to its shape (the last slot: no match); ``text``/``span`` hold each
    group's text in the shape and its byte span (``-1``: absent). Every text of a shape has the
    shape's bytes but for which ASCII digit it holds, so a group without digits has the shape's
    text, and a group with digits is cut from each text at the shape's byte span.
    """

    arr: pa.Array
    codes: np.ndarray
    text: dict[str, np.ndarray]
    span: dict[str, np.ndarray]
    cut: dict[str, bool]

    def rows(self, per_shape: np.ndarray) -> np.ndarray:
        """A per-shape array (``len(shapes) + 1``, last: no match) mapped to the texts."""
        return per_shape[self.codes]

    def arrow(self, group: str) -> pa.Array:
        """The group's text in every text as an Arrow array (null where absent)."""
        if not self.cut[group]:
            return pa.array(self.rows(self.text[group]), pa.string())
        start, stop = self.span[group][self.codes].T
        return _slice(self.arr, start, stop)

    def objects(self, group: str) -> np.ndarray:
        """The group's text in every text as an object array (None where absent)."""
        if not self.cut[group]:
            return self.rows(self.text[group])
        return to_objects(self.arrow(group))


def match_shapes(values: np.ndarray, pattern: re.Pattern[str]) -> Shapes | None:
    """Run ``pattern`` (Python's ``re``: ``search``) once per distinct digit shape of ``values``.

    Texts differing only in which of the digits 1-9 they hold match a digit-blind pattern
    (:func:`digit_blind`) the same way: the shape writes them as 1 (the bytes are mapped with
    numpy: ASCII digits never occur inside a multi-byte UTF-8 character). Returns None when the
    fast path is off, ``pattern`` is not digit-blind or a cell is not text.
    """
    groups = list(pattern.groupindex)
    if not _ENABLED or not digit_blind(pattern.pattern) or values.size == 0:
        return None
    arr = _text_array(values)
    if arr is None:
        return None
    offsets, data = _buffers(arr)
    body = data[offsets[0] : offsets[-1]]
    shaped = np.where((body >= 0x32) & (body <= 0x39), np.uint8(0x31), body)  # "2"-"9" -> "1"
    shapes = pa.Array.from_buffers(pa.string(), len(arr), [None, pa.py_buffer((offsets - offsets[0]).astype(np.int32)),
                                                           pa.py_buffer(shaped)])
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
                a, b = m.span(g)
                text[g][i] = value
                span[g][i] = (len(shape[:a].encode()), len(shape[:b].encode())) if not shape.isascii() else (a, b)
                cut[g] |= "1" in value or "0" in value
    codes = np.where(codes >= 0, codes, k)
    return Shapes(arr, codes, text, span, cut)


def extract(values: np.ndarray, pattern: re.Pattern[str]) -> dict[str, np.ndarray] | None:
    """``Series.str.extract(pattern)`` of the texts in ``values``: {group: object array, None where absent}.

    The pattern runs once per digit shape (:func:`match_shapes`). Returns None when the fast
    path is off, ``pattern`` is not digit-blind or a cell is not text.
    """
    shapes = match_shapes(values, pattern)
    if shapes is None:
        return None
    return {g: shapes.objects(g) for g in pattern.groupindex}


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (int64, one more than texts) and bytes (uint8) of an Arrow string array."""
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, dtype=np.uint8)
    return offsets, data


def _slice(arr: pa.Array, start: np.ndarray, stop: np.ndarray) -> pa.Array:
    """Each text cut to the bytes ``start:stop`` (per text; ``start < 0``: null), as an Arrow array."""
    offsets, data = _buffers(arr)
    present = start >= 0
    lengths = np.where(present, stop - start, 0)
    out_offsets = np.zeros(len(arr) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_offsets[1:])
    first = offsets[:-1] + np.where(present, start, 0)
    take = np.repeat(first - out_offsets[:-1], lengths) + np.arange(out_offsets[-1])
    validity = None if present.all() else pa.array(present).buffers()[1]
    return pa.Array.from_buffers(pa.string(), len(arr), [validity, pa.py_buffer(out_offsets.astype(np.int32)),
                                                         pa.py_buffer(data[take])],
                                 null_count=int(len(arr) - present.sum()))


def without_spaces(arr: pa.Array) -> pa.Array:
    """ASCII text with every whitespace character removed."""
    arr = _contiguous(arr)
    spaced = _rows_with(arr, _WS_BYTES)
    if not spaced.any():
        return arr
    return _replace_rows(arr, spaced, lambda part: pc.replace_substring_regex(part, WS + "+", ""))
