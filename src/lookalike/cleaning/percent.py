"""Shares and percentages: ``parse_percent`` (values are shares from 0 to 1).

Rules (the contract's percentage convention; the one bare value whose scale the value itself
cannot tell, 1, is read by the column - issue 16):

* A value written with a percent sign ("45.2%", "45,2 %", "%45", "45 pct",
  "45 por ciento", "45 percent") is divided by 100.
* A bare number above 1 (and up to 100) is a percentage (45.2 -> 0.452); a bare number
  strictly between 0 and 1 is a share (0.452 -> 0.452) whatever the column (0.5 % would be
  written "0.5%"; the reference export mixes "45.2%", "45.2" and "0.452" in one column); 0 is 0.
* A bare **1** (1, "1", "1.0", "1,0") is 100 % in a column of shares and 1 % in a column of
  percentages, so it is read by the **column's scale**, decided once per column from its
  unambiguous values, by rows:

  - *percent* evidence: bare numbers above 1 and up to 100 (45, "45,2") and values with a
    percent sign ("45%": whoever typed the column thinks in percent);
  - *share* evidence: bare numbers strictly between 0 and 1 (0.45, "0,45").

  The scale is the side with more rows (``notes["scale"]``: "percent" or "share"); with no
  evidence, or a tie, it is "share" - the contract's rule that a bare number from 0 to 1 is
  already a share. So in a 0-100 column "1" is 0.01 (it was 1.0), in a 0-1 column 1.0.
* A bare 1 read while the column does not prove its scale - no evidence, or evidence of both
  kinds - is AMBIGUOUS and counted in ``notes["ambiguous_scale"]`` (rows). In a column that
  proves its scale it is FIXED (CLEAN for a real 1 in a column of shares).
* Numbers are read with the shared separator rule (module ``_numeric``), so
  "45,2" is 45.2 and a lone separator followed by three digits ("1,250") is read
  with the column's decimal separator and is AMBIGUOUS.
* A percentage above 100 or any negative value is INVALID (NaN), counted in
  ``notes["out_of_range"]``; ``inf``, booleans and unreadable text are INVALID;
  NaN and missing tokens are MISSING. Out-of-range values are no evidence.
* Status: a real float/int already in [0, 1] and read as a share is CLEAN; every other
  accepted value (a string, or a real number rescaled) is FIXED, unless AMBIGUOUS above.

notes: ``decimal_separator``, ``scale`` ("percent" | "share"), ``scale_evidence``
({"percent": rows, "share": rows}), ``ambiguous_scale`` (rows), ``forms``
({"percent_sign"|"percentage"|"share": rows}), ``out_of_range`` (rows).
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

    >>> parse_percent(pd.Series(["45.2%", 45.2, "45,2 %", "100%"])).values.round(6).tolist()
    [0.452, 0.452, 0.452, 1.0]
    >>> r = parse_percent(pd.Series(["45", "30", "1"]))  # a 0-100 column: "1" is 1 %
    >>> r.values.tolist(), r.notes["scale"]
    ([0.45, 0.3, 0.01], 'percent')
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
        bare = has & ~signed
        bad = has & ((raw < 0) | ((signed | (raw > 1)) & (raw > 100)))
        # the column's scale, decided once from its unambiguous values (by rows)
        pct_rows = int(u.counts[~bad & has & (signed | (bare & (raw > 1)))].sum())
        share_rows = int(u.counts[~bad & bare & (raw > 0) & (raw < 1)].sum())
        percent_scale = pct_rows > share_rows
        unproven = (pct_rows > 0) == (share_rows > 0)  # no evidence, or both kinds
        one = bare & (raw == 1)  # 1 % or 100 %: the column decides
        as_pct = has & (signed | (bare & (raw > 1)) | (one & percent_scale))
        share = np.where(as_pct, raw / 100.0, raw)
    share[bad] = np.nan
    status[bad] = c.S_INVALID
    status[is_num & as_pct & ~bad] = c.S_FIXED  # a real number rescaled was rewritten
    scale_ambiguous = one & unproven
    status[scale_ambiguous] = c.S_AMBIGUOUS

    form = np.full(n, None, dtype=object)
    good = has & ~bad
    form[good & signed] = "percent_sign"
    form[good & ~signed & as_pct] = "percentage"
    form[good & ~as_pct] = "share"
    notes: dict[str, object] = {
        "decimal_separator": decimal,
        "scale": "percent" if percent_scale else "share",
        "scale_evidence": {"percent": pct_rows, "share": share_rows},
        "ambiguous_scale": int(u.counts[scale_ambiguous].sum()),
        "forms": c.count_by(form, u.counts, good),
        "out_of_range": int(u.counts[bad].sum()),
    }
    out = pd.Series(c.to_rows(u, share, np.nan), index=u.index, name=u.name, dtype="float64")
    return ColumnParse(out, c.status_rows(u, status), notes)
