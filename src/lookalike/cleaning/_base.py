"""Shared shapes of the single-column parsers.

Every parser takes one raw column (a pandas Series of mixed str/int/float/None,
as Excel, CSV or parquet deliver it) and returns a :class:`ColumnParse`: the
parsed values, one status per row, and counts of anything worth reporting.
Parsers are vectorized and work on the *unique* raw values, mapped back to the
rows, because dirty columns have few distinct values relative to rows.
Parsers never raise on data; they may raise ``ParameterError`` on bad arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Status of one cell after parsing. Order matters only for display.
CLEAN = "clean"          # already in canonical form, taken as is
FIXED = "fixed"          # dirty but parsed to a value (symbols, units, case, typos, ...)
AMBIGUOUS = "ambiguous"  # parsed by a convention (e.g. "2.464" by the column's decimal style)
CODE = "code"            # a special code, not a value ("never", 9999): value is NaN
MISSING = "missing"      # empty / null / "N/A"-like token: value is NaN
INVALID = "invalid"      # could not be parsed or out of range: value is NaN (never invented)

STATUSES: tuple[str, ...] = (CLEAN, FIXED, AMBIGUOUS, CODE, MISSING, INVALID)
STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))
_OK = (CLEAN, FIXED, AMBIGUOUS)
_OK_CODES = np.array([STATUSES.index(s) for s in _OK], dtype=np.int8)
# status code -> has a value, by lookup (the last slot answers code -1, a missing status)
_OK_TABLE = np.array([s in _OK for s in STATUSES] + [False], dtype=bool)


@dataclass(frozen=True)
class ColumnParse:
    """Result of parsing one raw column.

    values:  parsed values aligned with the input index (float, datetime64, str or category);
             NaN/NaT/None wherever status is CODE, MISSING or INVALID.
    status:  categorical Series (``STATUS_DTYPE``) aligned with the input index.
    notes:   extra counts for the quality report, e.g. ``{"codes": {"never": 12}, "currencies": {"$": 900}}``.
    extra:   additional aligned output Series (e.g. ``never_purchased`` for recency,
             ``promo_level`` for preferences).
    """

    values: pd.Series
    status: pd.Series
    notes: dict[str, object] = field(default_factory=dict)
    extra: dict[str, pd.Series] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Number of cells per status (every status present, zeros included)."""
        if self.status.dtype != STATUS_DTYPE:
            vc = self.status.value_counts()
            return {s: int(vc.get(s, 0)) for s in STATUSES}
        codes = self.status.array.codes
        n = np.bincount(codes.astype(np.intp) + 1, minlength=len(STATUSES) + 1)[1:]  # slot 0: code -1
        return {s: int(n[i]) for i, s in enumerate(STATUSES)}

    def ok(self) -> np.ndarray:
        """Boolean array: the cell has a value (CLEAN, FIXED or AMBIGUOUS)."""
        if self.status.dtype != STATUS_DTYPE:
            return self.status.isin(_OK).to_numpy(dtype=bool)
        return _OK_TABLE[self.status.array.codes]
