"""Categories, ids and free text: ``load_vocabulary``, ``normalize_category``,
``normalize_id``, ``clean_text``.

``normalize_category`` rules (vocabulary = {canonical: [aliases]}):

* Every raw value and every canonical/alias is reduced to a *key*: NFKC, lower
  case, accents removed, punctuation, spaces and underscores removed
  (" Call-Center " -> "callcenter"). Non-text raw values are compared by ``str()``.
* The raw text equal to a canonical value exactly is CLEAN; a key equal to the
  key of a canonical value or alias is FIXED ("este", "NORTE ", "North", "Nte.").
* Otherwise, empty keys and missing tokens ("N/A", "null", "-", "unknown",
  "desconocido", ...; checked *after* the vocabulary, so "Unknown" can be a
  canonical gender) are MISSING with value ``unknown``.
* Otherwise a key of 3+ characters is matched to the closest key by
  ``difflib.get_close_matches(cutoff=fuzzy_cutoff)`` on the distinct keys
  (" nortee " , "Nrte", "oestee", "Centr0", "sportss"): FIXED, reported in
  ``notes["typos"]`` = {raw: canonical}. A spelling as close (within 0.01) to
  keys of two different canonical values ("Noreste": Norte or Oeste) is not guessed.
* Anything else gets value ``unknown``, status INVALID, and is counted in
  ``notes["unmatched"]`` = {raw: rows}.

``normalize_id``: text is NFKC-normalised, stripped, upper-cased and loses inner
whitespace ("c 000001 " -> "C000001"); ints (and whole floats, as Excel gives
them) become their decimal text; unchanged text is CLEAN, any change FIXED;
empty text and missing tokens are MISSING (None); ``inf``, booleans and other
objects are INVALID (None).

``clean_text`` (free text such as agents' notes): strip, collapse whitespace
(including NBSP and line breaks) to single spaces; empty text and missing tokens
become None (MISSING); unchanged text is CLEAN, changed text FIXED; non-text
values become their ``str()`` (FIXED).
"""

from __future__ import annotations

import difflib
import re
from decimal import Decimal
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lookalike.cleaning import _common as c
from lookalike.cleaning import _fast
from lookalike.cleaning._base import ColumnParse
from lookalike.config import load_toml
from lookalike.errors import InputError, ParameterError

__all__ = ["clean_text", "load_vocabulary", "normalize_category", "normalize_id"]

_NON_WORD = re.compile(r"[\W_]+")
_MISSING_KEYS = frozenset(_NON_WORD.sub("", t) for t in c.MISSING_TOKENS)
_MIN_FUZZY_LEN = 3
_TIE = 0.01  # two canonical values closer than this to a typo: no guess


def load_vocabulary(path: str | Path | None = None) -> dict[str, dict[str, list[str]]]:
    """Category vocabularies: {column: {canonical value: [aliases]}}.

    Reads ``path`` or the packaged ``lookalike/config/vocabulary.toml`` (columns
    region, fav_category, signup_channel, gender).

    >>> load_vocabulary()["region"]["Norte"][:2]
    ['North', 'Nte']
    """
    where = str(path) if path is not None else "vocabulary.toml"
    data = load_toml(path, "vocabulary.toml", "vocabulary")
    out: dict[str, dict[str, list[str]]] = {}
    for column, table in data.items():
        if not isinstance(table, dict) or not all(
            isinstance(v, list) and all(isinstance(a, str) for a in v) for v in table.values()
        ):
            raise InputError(f"vocabulary {where}: [{column}] must map each canonical value to a list of strings")
        out[column] = {str(k): list(v) for k, v in table.items()}
    return out


def _key(t: pd.Series) -> pd.Series:
    return c.token_key(t).str.replace(_NON_WORD, "", regex=True)


def _lookup(vocabulary: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Key -> canonical, rejecting vocabularies where one key means two values."""
    if not isinstance(vocabulary, Mapping) or not vocabulary:
        raise ParameterError(f"vocabulary must be a non-empty mapping {{canonical: [aliases]}}, got {type(vocabulary).__name__}")
    for name, al in vocabulary.items():
        if not isinstance(name, str) or isinstance(al, str) or not isinstance(al, Sequence) or not all(isinstance(a, str) for a in al):
            raise ParameterError(f"vocabulary entry {name!r} must map a string to a list of strings, got {al!r}")
    # the same vocabulary comes with every clean: its keys are worked out once (a copy is returned)
    return dict(_lookup_of(tuple((name, tuple(al)) for name, al in vocabulary.items()), _fast.enabled()))


@lru_cache(maxsize=32)
def _lookup_of(entries: tuple[tuple[str, tuple[str, ...]], ...], fast: bool) -> dict[str, str]:
    """:func:`_lookup` of the entries (``fast``: the fast path was on; each path works it out itself)."""
    canon, aliases = [], []
    for name, al in entries:
        canon.append(name)
        aliases.extend((a, name) for a in al)
    canon_keys = _key(c.text_series(np.array(canon, dtype=object))).tolist()
    alias_keys = _key(c.text_series(np.array([a for a, _ in aliases], dtype=object))).tolist()
    table: dict[str, str] = {}
    for k, name in zip(canon_keys, canon):
        if k in table and table[k] != name:
            raise ParameterError(f"vocabulary values {table[k]!r} and {name!r} are the same after normalisation ({k!r})")
        table[k] = name
    for k, (alias, name) in zip(alias_keys, aliases):
        if not k:
            continue
        if k in table and table[k] != name:
            raise ParameterError(f"vocabulary alias {alias!r} of {name!r} already means {table[k]!r}; remove one of them")
        table[k] = name
    return table


def _closest(key: str, candidates: list[str], table: dict[str, str], cutoff: float) -> str | None:
    """Canonical value of the closest candidate key, None if none is close or two values tie."""
    matches = difflib.get_close_matches(key, candidates, n=len(candidates), cutoff=cutoff)
    if not matches:
        return None
    best = table[matches[0]]
    top = difflib.SequenceMatcher(None, matches[0], key).ratio()
    for other in matches[1:]:
        if table[other] != best:
            if difflib.SequenceMatcher(None, other, key).ratio() > top - _TIE:
                return None  # "Noreste": as close to Norte as to Oeste - not guessed
            break
    return best


def normalize_category(
    s: pd.Series,
    vocabulary: Mapping[str, Sequence[str]],
    *,
    fuzzy_cutoff: float = 0.75,
    unknown: str = "Unknown",
) -> ColumnParse:
    """Map raw category spellings to canonical values (see the module docstring for the rules).

    notes: ``typos`` ({raw: canonical}), ``unmatched`` ({raw: rows}).

    >>> voc = load_vocabulary()["region"]
    >>> normalize_category(pd.Series(["Norte", "este", " nortee ", "Atlantis", None]), voc).values.tolist()
    ['Norte', 'Este', 'Norte', 'Unknown', 'Unknown']
    """
    if isinstance(fuzzy_cutoff, bool) or not isinstance(fuzzy_cutoff, (int, float)) or not 0 <= fuzzy_cutoff <= 1:
        raise ParameterError(f"fuzzy_cutoff must be a number from 0 to 1, got {fuzzy_cutoff!r}")
    if not isinstance(unknown, str):
        raise ParameterError(f"unknown must be a string, got {unknown!r}")
    table = _lookup(vocabulary)
    s = c.as_series(s)
    u = c.factorize(s)
    n = u.values.size
    raw = np.array([v if isinstance(v, str) else str(v) for v in u.values], dtype=object) if n else np.empty(0, dtype=object)
    t = c.text_series(raw)
    tk = c.token_key(t)
    key = tk.str.replace(_NON_WORD, "", regex=True)
    canonical = np.array([table.get(k) for k in key.to_numpy(dtype=object)], dtype=object)  # distinct spellings
    known = ~pd.isna(canonical)
    exact = known & (raw == canonical)
    missing = ~known & ((key == "") | key.isin(_MISSING_KEYS) | tk.isin(c.MISSING_TOKENS)).to_numpy(dtype=bool)

    typos: dict[str, str] = {}
    candidates = list(table)
    keys = key.to_numpy(dtype=object)
    closest: dict[str, str | None] = {}
    for i in np.flatnonzero(~known & ~missing):  # distinct unmatched spellings only
        k = keys[i]
        if len(k) < _MIN_FUZZY_LEN:
            continue
        if k not in closest:
            closest[k] = _closest(k, candidates, table, float(fuzzy_cutoff))
        if closest[k] is not None:
            canonical[i] = closest[k]
            typos[str(raw[i])] = closest[k]
    matched = ~pd.isna(canonical)
    status = np.where(exact, c.S_CLEAN, np.where(matched, c.S_FIXED, np.where(missing, c.S_MISSING, c.S_INVALID)))
    values = np.where(matched, canonical, unknown).astype(object)
    notes: dict[str, object] = {
        "typos": typos,
        "unmatched": c.count_by(raw, u.counts, ~matched & ~missing),
    }
    out = pd.Series(c.to_rows(u, values, unknown), index=u.index, name=u.name, dtype=object)
    return ColumnParse(out, c.status_rows(u, status.astype(np.int8)), notes)


def _number_text(v: object) -> str | None:
    """Decimal text of a number id (whole floats lose ".0"); None for inf/nan.

    A whole ``Decimal`` (SQL NUMERIC, parquet decimal128) is written from its digits, never
    through a float, which would change ids longer than 15 digits."""
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value():
        return str(int(v))
    f = float(v)  # type: ignore[arg-type]
    if not np.isfinite(f):
        return None
    return str(int(f)) if f.is_integer() else repr(f)


def normalize_id(s: pd.Series) -> ColumnParse:
    """Normalise customer ids to upper-case text without whitespace (see the module docstring).

    >>> normalize_id(pd.Series([" c000001", "C000002", 17, None])).values.tolist()
    ['C000001', 'C000002', '17', None]
    """
    s = c.as_series(s)
    u = c.factorize(s)
    kind = c.kinds_of(u)
    n = u.values.size
    values = np.full(n, None, dtype=object)
    status = np.full(n, c.S_INVALID, dtype=np.int8)

    is_num = np.flatnonzero(kind == c.K_NUM)
    for i in is_num:  # distinct numeric ids only
        try:
            txt = _number_text(u.values[i])
        except (OverflowError, TypeError, ValueError):
            txt = None
        values[i] = txt
        status[i] = c.S_FIXED if txt is not None else c.S_INVALID

    is_str = kind == c.K_STR
    texts = u.values[is_str]
    norm, missing, same = texts.copy(), np.zeros(texts.size, dtype=bool), np.ones(texts.size, dtype=bool)
    # already canonical (printable ASCII without lower case, spaces or backticks: the rule changes
    # nothing) is most ids; their missing tokens are the upper-case ones. The rest go the whole way
    done = np.zeros(texts.size, dtype=bool)
    if u.text is not None and is_str.all():  # the texts in Arrow already (near-unique ids)
        part = (np.ones(texts.size, dtype=bool), u.text)
    else:
        part = _fast.ascii_part(texts)
    if part is not None:
        ascii_rows, arr = np.flatnonzero(part[0]), part[1]
        canonical = _fast.only_bytes(arr, _CANONICAL_ID)
        done[ascii_rows[canonical]] = True
        kept = arr.filter(pa.array(canonical))
        missing[ascii_rows[canonical]] = _fast.to_bool(pc.is_in(kept, value_set=_MISSING_UPPER))
    rest = np.flatnonzero(~done)
    if rest.size:
        todo = texts[rest]
        fixed = _fast.split_apply(todo, lambda a: _fast.to_objects(pc.ascii_upper(_fast.without_spaces(
            pc.replace_substring(a, "`", "'")))), _id_text)
        norm[rest] = fixed
        missing[rest] = (fixed == "") | c.is_missing_token(c.text_series(todo))
        same[rest] = fixed == todo
    values[is_str] = np.where(missing, None, norm)
    status[is_str] = np.where(missing, c.S_MISSING, np.where(same, c.S_CLEAN, c.S_FIXED))

    out = pd.Series(c.to_rows(u, values, None), index=u.index, name=u.name, dtype=object)
    return ColumnParse(out, c.status_rows(u, status), {})


#: Bytes of ids the rule leaves as they are, and the missing tokens such ids can spell.
_CANONICAL_ID = _fast.byte_table("".join(map(chr, [*range(0x21, 0x60), *range(0x7B, 0x7F)])))
_MISSING_UPPER = pa.array(sorted({t.upper() for t in c.MISSING_TOKENS if t.isascii()}), pa.string())


def _id_text(texts: np.ndarray) -> np.ndarray:
    """Id texts cleaned, without whitespace, upper case (the Python path of ``normalize_id``)."""
    return c.clean_text(c.text_series(texts)).str.replace(r"\s+", "", regex=True).str.upper().to_numpy(dtype=object)


def clean_text(s: pd.Series) -> ColumnParse:
    """Tidy free text: strip, single spaces, empty -> None (see the module docstring).

    >>> clean_text(pd.Series(["  Prefiere   WhatsApp ", "", None])).values.tolist()
    ['Prefiere WhatsApp', None, None]
    """
    s = c.as_series(s)
    u = c.factorize(s)
    is_str = c.kinds_of(u) == c.K_STR
    raw = u.values.copy()
    raw[~is_str] = [str(v) for v in u.values[~is_str]]  # the few non-text values
    t = c.text_series(raw)
    tidy = _fast.split_apply(raw, lambda a: _fast.to_objects(_fast.clean_ascii(a, apostrophes=False)),
                             lambda v: c.text_series(v).str.replace(r"\s+", " ", regex=True).str.strip()
                             .to_numpy(dtype=object))
    missing = (tidy == "") | c.is_missing_token(t)
    same = (tidy == raw) & is_str
    values = np.where(missing, None, tidy)
    status = np.where(missing, c.S_MISSING, np.where(same, c.S_CLEAN, c.S_FIXED)).astype(np.int8)
    out = pd.Series(c.to_rows(u, values, None), index=u.index, name=u.name, dtype=object)
    return ColumnParse(out, c.status_rows(u, status), {})
