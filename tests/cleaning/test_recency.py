"""parse_recency: days since the last purchase, and the "never" codes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lookalike.cleaning._base import AMBIGUOUS, CLEAN, CODE, FIXED, INVALID, MISSING
from lookalike.cleaning.recency import parse_recency
from lookalike.errors import ParameterError


@pytest.mark.parametrize(
    ("raw", "expected", "status"),
    [
        (71, 71.0, CLEAN),
        (0, 0.0, CLEAN),
        (71.5, 71.5, CLEAN),
        (np.int64(364), 364.0, CLEAN),
        ("71", 71.0, FIXED),
        ("71.0", 71.0, FIXED),
        ("71,0", 71.0, FIXED),
        ("71 days", 71.0, FIXED),
        ("71 Days", 71.0, FIXED),
        ("1 day", 1.0, FIXED),
        ("71 días", 71.0, FIXED),
        ("71 dias", 71.0, FIXED),
        ("71d", 71.0, FIXED),
        ("71 jours", 71.0, FIXED),
        ("71 Tage", 71.0, FIXED),
        ("71 giorni", 71.0, FIXED),
        ("71 days ago", 71.0, FIXED),
        ("hace 71 días", 71.0, FIXED),
        ("1.200", 1.2, AMBIGUOUS),
        (36500, 36500.0, CLEAN),
        (36501, math.nan, INVALID),
        (-5, math.nan, INVALID),
        ("-2", math.nan, INVALID),
        ("3 months", math.nan, INVALID),
        ("soon", math.nan, INVALID),
        (math.inf, math.nan, INVALID),
        (True, math.nan, INVALID),
        (None, math.nan, MISSING),
        (math.nan, math.nan, MISSING),
        ("", math.nan, MISSING),
        ("N/A", math.nan, MISSING),
        ("unknown", math.nan, MISSING),
        ("desconocido", math.nan, MISSING),
        ("n.c.", math.nan, MISSING),
    ],
)
def test_values(raw: object, expected: float, status: str) -> None:
    r = parse_recency(pd.Series([raw], dtype=object))
    assert r.status.iloc[0] == status
    assert not r.extra["never_purchased"].iloc[0]
    value = r.values.iloc[0]
    if math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == pytest.approx(expected)


@pytest.mark.parametrize(
    "raw",
    [
        "never", "Never", "NEVER", " never ", "nunca", "Nunca", "jamás", "jamas", "none", "None ", "no purchase",
        "No purchases", "no  purchases", "sin compras", "Sin compra", "never purchased", "Never-purchased",
        "never bought", "no orders", "ninguna", "jamais", "aucun achat", "sem compras", "niemals",
        9999, 99999, 999999, 9999999, -1, -999, -9999, -99, 9999.0, -1.0, np.int64(9999),
        "9999", "9999.0", "99999", "-1", "-999", "-9999", "9,999", "9999 days",
    ],
)
def test_codes(raw: object) -> None:
    r = parse_recency(pd.Series([raw], dtype=object))
    assert r.status.iloc[0] == CODE
    assert math.isnan(r.values.iloc[0])
    assert r.extra["never_purchased"].iloc[0]
    assert r.notes["codes"] == {str(raw).strip(): 1}


def test_not_codes() -> None:
    """Only all-nines of 4+ digits and negative all-nines / -1 are codes."""
    r = parse_recency(pd.Series([999, 99, 9998, 1000, -2], dtype=object))
    assert r.status.tolist() == [CLEAN, CLEAN, CLEAN, CLEAN, INVALID]
    assert not r.extra["never_purchased"].any()


def test_column() -> None:
    s = pd.Series(["never", 9999, "71", 12, None, "9999", "Never"], index=list("abcdefg"))
    r = parse_recency(s)
    assert r.values.index.equals(s.index) and r.extra["never_purchased"].index.equals(s.index)
    np.testing.assert_array_equal(r.values.to_numpy(), [np.nan, np.nan, 71, 12, np.nan, np.nan, np.nan])
    assert r.extra["never_purchased"].tolist() == [True, True, False, False, False, True, True]
    assert r.extra["never_purchased"].dtype == bool
    assert r.notes["codes"] == {"9999": 2, "never": 1, "Never": 1}
    assert r.status.tolist() == [CODE, CODE, FIXED, CLEAN, MISSING, CODE, CODE]


def test_max_days() -> None:
    r = parse_recency(pd.Series([100, 400]), max_days=365)
    assert r.status.tolist() == [CLEAN, INVALID]
    assert r.notes["out_of_range"] == 1


@pytest.mark.parametrize("bad", [0, -1, "365", None, True, math.nan])
def test_bad_max_days(bad: object) -> None:
    with pytest.raises(ParameterError):
        parse_recency(pd.Series([1]), max_days=bad)
