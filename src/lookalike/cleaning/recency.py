"""Days since the last purchase: ``parse_recency``.

Rules (the contract's recency-code convention):

* Special codes are not numbers: they are CODE with value NaN and
  ``extra["never_purchased"]`` True. Codes are
  - the words (case, accents, spaces and punctuation ignored) never, nunca,
    jamás, none, ninguna, no purchase(s), never purchased, never bought,
    no orders, sin compra(s), sin pedidos, nunca compró, jamais, aucun achat,
    sem compras, nunca comprou, niemals, mai;
  - the numeric sentinels -1, negative all-nines (-9, -99, -999, -9999, ...) and
    positive all-nines of four digits or more (9999, 99999, 999999, ...), as
    numbers or as text ("9999", "9999.0", "9,999").
  ``notes["codes"]`` counts them per raw value as text ({"never": 12, "9999": 30}).
* Real ints/floats from 0 to ``max_days`` are CLEAN (fractional days allowed).
* Text numbers are read with the shared separator rule (module ``_numeric``),
  optionally followed by a day unit (days, day, d, días, dias, día, jours, j,
  tage, tagen, giorni, gg, with an optional "ago"/"atrás") or preceded by
  "hace": "71", "71.0", "71 days", "71 días", "hace 71 días" are FIXED
  (AMBIGUOUS for a lone separator followed by three digits).
* NaN, None and missing tokens ("", "N/A", "unknown", "n.c.", ...) are MISSING
  with ``never_purchased`` False: a missing value is not a code.
* Other negatives, values above ``max_days``, ``inf``, booleans and unreadable
  text (including other units such as "3 months") are INVALID (NaN).

notes: ``codes`` ({raw: rows}), ``decimal_separator``, ``out_of_range`` (rows).
extra: ``never_purchased`` (bool Series aligned with the input).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.cleaning import _common as c
from lookalike.cleaning import _numeric as nm
from lookalike.cleaning._base import ColumnParse
from lookalike.errors import ParameterError

__all__ = ["NEVER_WORDS", "SENTINEL_CODES", "parse_recency"]

#: Words meaning "no purchase on record", compared lower-case without accents/punctuation.
NEVER_WORDS: frozenset[str] = frozenset(
    {
        "never", "nunca", "jamas", "none", "ninguna", "ninguno", "no purchase", "no purchases",
        "never purchased", "never bought", "never ordered", "no orders", "no order", "sin compra",
        "sin compras", "sin pedidos", "nunca compro", "jamais", "aucun achat", "sem compras",
        "nunca comprou", "niemals", "nie", "mai",
    }
)
#: Numeric sentinels: -1, negative all-nines, positive all-nines with 4+ digits.
SENTINEL_CODES: frozenset[float] = frozenset(
    {-1.0}
    | {-(10.0**k - 1) for k in range(1, 16)}
    | {10.0**k - 1 for k in range(4, 16)}
)
_SENTINELS = np.array(sorted(SENTINEL_CODES))
_DAYS = r"(?i:days|day|d|d[ií]as|d[ií]a|jours|jour|j|tagen|tage|tag|giorni|giorno|gg)\.?(?:\s*(?i:ago|atr[aá]s))?"
_PATTERN = nm.numeric_pattern(prefix=r"(?i:hace)", suffix=_DAYS)


def parse_recency(s: pd.Series, *, max_days: float = 36500) -> ColumnParse:
    """Parse days since the last purchase, separating "never" codes (see the module docstring).

    >>> r = parse_recency(pd.Series(["never", 9999, "71 days", 12, None]))
    >>> r.values.tolist(), r.extra["never_purchased"].tolist()
    ([nan, nan, 71.0, 12.0, nan], [True, True, False, False, False])
    """
    if isinstance(max_days, bool) or not isinstance(max_days, (int, float, np.integer, np.floating)) or not max_days > 0:
        raise ParameterError(f"max_days must be a positive number, got {max_days!r}")
    sc = nm.scan_column(s, _PATTERN)
    u, values, status, is_str, nt, decimal = sc.u, sc.values, sc.status, sc.is_str, sc.nt, sc.decimal
    n, v, ambiguous = u.values.size, sc.number, sc.ambiguous
    tk = c.token_key(sc.text, cleaned=True)
    word_code = tk.str.replace(r"[\W_]+", " ", regex=True).str.strip().isin(NEVER_WORDS).to_numpy(dtype=bool)
    missing = tk.isin(c.MISSING_TOKENS - NEVER_WORDS).to_numpy(dtype=bool) & ~word_code
    ok = nt.matched & np.isfinite(v) & ~missing & ~word_code
    values[is_str] = np.where(ok, v, np.nan)
    st = np.where(ok, np.where(ambiguous, c.S_AMBIGUOUS, c.S_FIXED), c.S_INVALID)
    st = np.where(missing, c.S_MISSING, st)
    status[is_str] = np.where(word_code, c.S_CODE, st)

    code = np.isin(values, _SENTINELS)
    code[is_str] |= word_code
    with np.errstate(invalid="ignore"):
        bad = ~code & ~np.isnan(values) & ((values < 0) | (values > float(max_days)))
    values[code | bad] = np.nan
    status[code] = c.S_CODE
    status[bad] = c.S_INVALID

    labels = np.array([str(v).strip() for v in u.values], dtype=object) if n else np.empty(0, dtype=object)
    notes: dict[str, object] = {
        "codes": c.count_by(labels, u.counts, code),
        "decimal_separator": decimal,
        "out_of_range": int(u.counts[bad].sum()),
    }
    never = pd.Series(c.to_rows(u, code, False), index=u.index, name="never_purchased", dtype=bool)
    out = pd.Series(c.to_rows(u, values, np.nan), index=u.index, name=u.name, dtype="float64")
    return ColumnParse(out, c.status_rows(u, status), notes, {"never_purchased": never})
