"""Shares and percentages: ``parse_percent`` (values are shares from 0 to 1).

Rules (the contract's percentage convention):

* A value written with a percent sign ("45.2%", "45,2 %", "%45", "45 pct",
  "45 por ciento", "45 percent") is divided by 100.
* A bare number above 1 is a percentage (45.2 -> 0.452); a bare number from 0 to
  1 is already a share (0.452 -> 0.452, 1 -> 1.0).
* Numbers are read with the shared separator rule (module ``_numeric``), so
  "45,2" is 45.2 and a lone separator followed by three digits ("1,250") is read
  with the column's decimal separator and is AMBIGUOUS.
* A percentage above 100 or any negative value is INVALID (NaN), counted in
  ``notes["out_of_range"]``; ``inf``, booleans and unreadable text are INVALID;
  NaN and missing tokens are MISSING.
* Status: a real float/int already in [0, 1] is CLEAN; every other accepted
  value (a string, or a real number taken as a percentage) is FIXED.

notes: ``decimal_separator``, ``forms`` ({"percent_sign"|"percentage"|"share": rows}),
``out_of_range`` (rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.cleaning import _common as c
from lookalike.cleaning import _numeric as nm
from lookalike.cleaning._base import ColumnParse

__all__ = ["parse_percent"]

_SIGN = r"%|(?i:pct|percent|per cent|por ciento|porciento|pour cent|pourcent|prozent|per cento|por cento)\.?"
_PATTERN = nm.numeric_pattern(prefix="%", suffix=_SIGN)


def parse_percent(s: pd.Series) -> ColumnParse:
    """Parse a raw percentage/share column to shares in [0, 1] (see the module docstring).

    >>> parse_percent(pd.Series(["45.2%", 45.2, 0.452, "45,2 %"])).values.round(6).tolist()
    [0.452, 0.452, 0.452, 0.452]
    """
    sc = nm.scan_column(s, _PATTERN)
    u, raw, status, is_str, nt, decimal = sc.u, sc.values, sc.status, sc.is_str, sc.nt, sc.decimal  # raw: as written
    n, v, ambiguous, missing = u.values.size, sc.number, sc.ambiguous, sc.missing
    is_num = c.kinds_of(u) == c.K_NUM
    signed = np.zeros(n, dtype=bool)  # written with a percent sign
    ok = nt.matched & np.isfinite(v) & ~missing
    raw[is_str] = np.where(ok, v, np.nan)
    signed[is_str] = ok & ((nt.pre != None) | (nt.suf != None))  # noqa: E711
    status[is_str] = np.where(missing, c.S_MISSING, np.where(ok, np.where(ambiguous, c.S_AMBIGUOUS, c.S_FIXED), c.S_INVALID))

    has = ~np.isnan(raw)
    with np.errstate(invalid="ignore"):
        as_pct = has & (signed | (raw > 1))
        share = np.where(as_pct, raw / 100.0, raw)
        bad = has & ((raw < 0) | (as_pct & (raw > 100)))
    share[bad] = np.nan
    status[bad] = c.S_INVALID
    # a real number taken as a percentage was rewritten
    status[is_num & as_pct & ~bad] = c.S_FIXED

    form = np.full(n, None, dtype=object)
    good = has & ~bad
    form[good & signed] = "percent_sign"
    form[good & ~signed & as_pct] = "percentage"
    form[good & ~as_pct] = "share"
    notes: dict[str, object] = {
        "decimal_separator": decimal,
        "forms": c.count_by(form, u.counts, good),
        "out_of_range": int(u.counts[bad].sum()),
    }
    out = pd.Series(c.to_rows(u, share, np.nan), index=u.index, name=u.name, dtype="float64")
    return ColumnParse(out, c.status_rows(u, status), notes)
