"""Contact preferences: ``parse_prefs`` ('{"promo": "push", "level": 2}' -> channel + level).

Values are ``promo_channel`` in push / sms / email / none / unknown;
``extra["promo_level"]`` is a float 1-3 or NaN.

Rules (each distinct text is decoded once):

1. Strict JSON object (``json.loads``) -> read it. It is CLEAN when the channel is
   already canonical lower case and the level, if present, is an int 1-3;
   otherwise FIXED (upper case "SMS", level as text "3", synonyms, ...).
   A JSON string that itself holds a JSON object (double encoding) is decoded once more.
2. Otherwise salvage, FIXED when it yields an object:
   - pseudo-JSON: single quotes -> double quotes, Python ``None``/``True``/``False``,
     unquoted keys/values ``{promo: push}``, trailing commas ``{..., }``;
   - ``key=value`` / ``key: value`` pairs separated by ``;``, ``,``, ``&`` or ``|``
     without braces ("promo=push;level=2");
   - a bare channel word ("SMS", "e-mail").
   Text with unbalanced braces/quotes (truncated: '{"promo": "push", "level": 2'),
   objects without a channel ("{}", '{"level": 2}'), "null", lists and random
   text are *malformed*: channel "unknown", status INVALID, counted in
   ``notes["malformed"]`` (rows). A level is still taken from a well-formed
   object without channel.
3. Keys, case-insensitive: channel from promo / promo_channel / channel / canal /
   preferred_channel; level from level / promo_level / nivel / niveau.
4. Channel synonyms (case, accents, spaces ignored): push, push notification,
   notificación, notificacao, app -> push; sms, text, texto, mensaje, sms text -> sms;
   email, e-mail, mail, correo, correo electrónico, e mail -> email; none,
   no, ninguno, ninguna, nenhum, opt-out, optout, unsubscribed -> none.
   WhatsApp, phone calls and other channels are not in the contract's set:
   channel "unknown", status INVALID, counted in ``notes["other_channels"]``
   ({channel as written: rows}). ``{"promo": null}`` is MISSING ("unknown").
5. Level: an int/float or numeric text; whole numbers 1-3 are kept, anything
   else (0, 5, 2.5, "high") becomes NaN and is counted in
   ``notes["level_out_of_range"]`` (rows). A missing level is NaN, not counted.
6. NaN/None, empty text and missing tokens ("N/A", "-", "not available", ... but
   not "none", which is a channel, nor "null", which is malformed) are MISSING
   with channel "unknown". A dict cell (from parquet) is read like decoded JSON.

notes: ``malformed`` (rows), ``salvaged`` (rows), ``other_channels``
({raw channel: rows}), ``level_out_of_range`` (rows), ``channels`` ({channel: rows}).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping

import numpy as np
import pandas as pd

from lookalike.cleaning import _common as c
from lookalike.cleaning._base import ColumnParse

__all__ = ["CHANNELS", "parse_prefs"]

CHANNELS: tuple[str, ...] = ("push", "sms", "email", "none", "unknown")
_SYNONYMS: dict[str, str] = {
    "push": "push", "push notification": "push", "push notifications": "push", "notificacion": "push",
    "notificaciones": "push", "notificacao": "push", "app": "push", "notification": "push",
    "sms": "sms", "text": "sms", "texto": "sms", "mensaje": "sms", "sms text": "sms", "text message": "sms",
    "email": "email", "e-mail": "email", "e mail": "email", "mail": "email", "correo": "email",
    "correo electronico": "email", "courriel": "email",
    "none": "none", "no": "none", "ninguno": "none", "ninguna": "none", "nenhum": "none",
    "opt-out": "none", "opt out": "none", "optout": "none", "unsubscribed": "none",
}
_CHANNEL_KEYS = ("promo", "promo_channel", "channel", "canal", "preferred_channel")
_LEVEL_KEYS = ("level", "promo_level", "nivel", "niveau")
_NOT_MISSING = frozenset({"none", "null", "no"})
_PAIR = r"\s*[\"']?\s*[A-Za-z_][\w\-]*\s*[\"']?\s*[=:]\s*[^;,&|=:{}]*"
_PAIRS_RE = re.compile(rf"^{_PAIR}(?:[;,&|]{_PAIR})*[;,&|]?\s*$")
_BARE_KEY_RE = re.compile(r"([{,]\s*)([A-Za-z_][\w\-]*)(\s*:)")
_BARE_VALUE_RE = re.compile(r"(:\s*)([A-Za-z_][\w\-]*)(\s*[,}])")
_TRAILING_COMMA_RE = re.compile(r",\s*([}\]])")
_PY_LITERALS = {"None": "null", "True": "true", "False": "false"}


class _Malformed(Exception):
    pass


def _norm_word(v: object) -> str:
    """One channel word: NFKD without accents, lower case, single spaces (one distinct value)."""
    txt = unicodedata.normalize("NFKD", str(v))
    txt = "".join(ch for ch in txt if not unicodedata.combining(ch)).lower().replace("_", " ")
    return re.sub(r"\s+", " ", txt).strip(" .")


def _salvage_json(text: str) -> object:
    """Pseudo-JSON -> object, or raise _Malformed."""
    fixed = text.replace("'", '"')
    fixed = re.sub(r"\b(None|True|False)\b", lambda m: _PY_LITERALS[m.group(1)], fixed)
    fixed = _BARE_KEY_RE.sub(lambda m: f'{m.group(1)}"{m.group(2)}"{m.group(3)}', fixed)
    fixed = _BARE_VALUE_RE.sub(
        lambda m: m.group(0) if m.group(2) in ("null", "true", "false") else f'{m.group(1)}"{m.group(2)}"{m.group(3)}',
        fixed,
    )
    fixed = _TRAILING_COMMA_RE.sub(r"\1", fixed)
    try:
        return json.loads(fixed)
    except (ValueError, RecursionError):
        raise _Malformed from None


def _decode(text: str) -> tuple[object, bool]:
    """Text -> (decoded object, salvaged?). Raises _Malformed."""
    stripped = text.strip()
    try:
        obj = json.loads(stripped)
        if isinstance(obj, str) and obj.strip().startswith("{"):
            obj = json.loads(obj)  # double-encoded
            return obj, True
        return obj, False
    except (ValueError, RecursionError):
        pass
    if stripped.startswith("{") or stripped.endswith("}"):
        if stripped.count("{") != stripped.count("}") or not stripped.startswith("{") or not stripped.endswith("}"):
            raise _Malformed
        return _salvage_json(stripped), True
    if "=" in stripped or ":" in stripped:
        if not _PAIRS_RE.match(stripped):
            raise _Malformed
        pairs: dict[str, str] = {}
        for part in re.split(r"[;,&|]", stripped):
            if part.strip():
                k, _, v = re.split(r"([=:])", part, maxsplit=1)
                pairs[k.strip().strip("\"'")] = v.strip().strip("\"'")
        return pairs, True
    if _norm_word(stripped) in _SYNONYMS:
        return {"promo": stripped}, True  # a bare channel word
    raise _Malformed


def _read(obj: object, salvaged: bool) -> tuple[str, float, int, str | None, bool]:
    """Decoded object -> (channel, level, status, other channel text, level out of range)."""
    if not isinstance(obj, Mapping):
        raise _Malformed
    lower = {str(k).strip().lower(): v for k, v in obj.items()}
    ch_key = next((k for k in _CHANNEL_KEYS if k in lower), None)
    lv_key = next((k for k in _LEVEL_KEYS if k in lower), None)
    clean = not salvaged and ch_key == "promo"

    level, bad_level = np.nan, False
    if lv_key is not None and lower[lv_key] is not None:
        lv = lower[lv_key]
        if isinstance(lv, bool):
            bad_level = True
        elif isinstance(lv, (int, float)):
            level = float(lv)
            clean &= isinstance(lv, int)
        else:
            clean = False
            try:
                level = float(str(lv).strip().replace(",", "."))
            except ValueError:
                bad_level = True
        if not bad_level and not (level in (1.0, 2.0, 3.0)):
            level, bad_level = np.nan, True
    elif lv_key is not None:
        clean = False

    if ch_key is None:
        if lv_key is None or not isinstance(obj, Mapping) or not obj:
            raise _Malformed
        return "unknown", level, c.S_INVALID, None, bad_level  # object without channel: malformed
    raw_ch = lower[ch_key]
    if raw_ch is None:
        return "unknown", level, c.S_MISSING, None, bad_level
    word = _norm_word(raw_ch)
    channel = _SYNONYMS.get(word)
    if channel is None:
        return "unknown", level, c.S_INVALID, str(raw_ch), bad_level
    clean &= isinstance(raw_ch, str) and raw_ch == channel
    return channel, level, (c.S_CLEAN if clean and not bad_level else c.S_FIXED), None, bad_level


def parse_prefs(s: pd.Series) -> ColumnParse:
    """Parse raw contact preferences to a promo channel and level (see the module docstring).

    >>> r = parse_prefs(pd.Series(['{"promo": "push", "level": 2}', "promo=SMS;level=1", "{}", None]))
    >>> r.values.tolist(), r.extra["promo_level"].tolist()
    (['push', 'sms', 'unknown', 'unknown'], [2.0, 1.0, nan, nan])
    """
    s = c.as_series(s)
    u = c.factorize(s)
    kind = c.kinds_of(u)
    n = u.values.size
    channel = np.full(n, "unknown", dtype=object)
    level = np.full(n, np.nan)
    status = np.full(n, c.S_INVALID, dtype=np.int8)
    malformed = np.zeros(n, dtype=bool)
    salvaged = np.zeros(n, dtype=bool)
    bad_level = np.zeros(n, dtype=bool)
    other = np.full(n, None, dtype=object)

    is_str = kind == c.K_STR
    missing = np.zeros(n, dtype=bool)
    if is_str.any():
        t = c.clean_text(c.text_series(u.values[is_str]))
        missing[is_str] = c.is_missing_token(t, exclude=_NOT_MISSING, cleaned=True)
        cleaned = np.empty(n, dtype=object)
        cleaned[is_str] = t.to_numpy(dtype=object)
    status[missing] = c.S_MISSING

    for i in range(n):  # distinct raw values only: json.loads needs one call per text
        if missing[i]:
            continue
        v = u.values[i]
        try:
            if is_str[i]:
                obj, salv = _decode(cleaned[i])
            elif isinstance(v, Mapping):
                obj, salv = v, False
            else:
                raise _Malformed
            channel[i], level[i], status[i], other[i], bad_level[i] = _read(obj, salv)
            salvaged[i] = salv
            if status[i] == c.S_INVALID and other[i] is None:
                malformed[i] = True
        except _Malformed:
            malformed[i] = True
            channel[i], status[i] = "unknown", c.S_INVALID

    notes: dict[str, object] = {
        "malformed": int(u.counts[malformed].sum()),
        "salvaged": int(u.counts[salvaged & ~malformed].sum()),
        "other_channels": c.count_by(other, u.counts, other != None),  # noqa: E711
        "level_out_of_range": int(u.counts[bad_level].sum()),
        "channels": c.count_by(channel, u.counts),
    }
    values = pd.Series(c.to_rows(u, channel, "unknown"), index=u.index, name=u.name, dtype=object)
    levels = pd.Series(c.to_rows(u, level, np.nan), index=u.index, name="promo_level", dtype="float64")
    return ColumnParse(values, c.status_rows(u, status), notes, {"promo_level": levels})
