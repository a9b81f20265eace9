"""parse_percent: shares from 0 to 1."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookalike.cleaning._base import AMBIGUOUS, CLEAN, FIXED, INVALID, MISSING
from lookalike.cleaning.percent import parse_percent


@pytest.mark.parametrize(
    ("raw", "expected", "status"),
    [
        ("45.2%", 0.452, FIXED),
        ("45,2 %", 0.452, FIXED),
        ("45,2\u00a0%", 0.452, FIXED),
        ("45.2 %", 0.452, FIXED),
        (45.2, 0.452, FIXED),
        ("45.2", 0.452, FIXED),
        (0.452, 0.452, CLEAN),
        ("0.452", 0.452, FIXED),
        ("0,452", 0.452, FIXED),
        (1, 1.0, AMBIGUOUS),  # alone, nothing says whether 1 is 100 % or 1 %: read as a share, flagged
        (0, 0.0, CLEAN),
        ("1", 1.0, AMBIGUOUS),
        ("1%", 0.01, FIXED),
        ("0.5%", 0.005, FIXED),
        ("100%", 1.0, FIXED),
        (100, 1.0, FIXED),
        ("%45", 0.45, FIXED),
        ("45 pct", 0.45, FIXED),
        ("45 por ciento", 0.45, FIXED),
        ("45 percent", 0.45, FIXED),
        ("45 Prozent", 0.45, FIXED),
        ("4.5e1%", 0.45, FIXED),
        ("101%", math.nan, INVALID),
        (101, math.nan, INVALID),
        ("1,250%", math.nan, INVALID),  # ambiguous 1250 % by default: out of range
        (-0.1, math.nan, INVALID),
        ("-5%", math.nan, INVALID),
        (math.inf, math.nan, INVALID),
        ("abc", math.nan, INVALID),
        ("45%%", math.nan, INVALID),
        (True, math.nan, INVALID),
        ("N/A", math.nan, MISSING),
        ("", math.nan, MISSING),
        (None, math.nan, MISSING),
        (math.nan, math.nan, MISSING),
    ],
)
def test_cells(raw: object, expected: float, status: str) -> None:
    r = parse_percent(pd.Series([raw], dtype=object))
    assert r.status.iloc[0] == status
    value = r.values.iloc[0]
    if math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == pytest.approx(expected, rel=1e-12)


def test_column_convention_and_notes() -> None:
    r = parse_percent(pd.Series(["12,5%", "1.250%", "0,3", 45.0, 0.2, "200%"]))
    assert r.notes["decimal_separator"] == ","
    np.testing.assert_allclose(r.values.to_numpy(), [0.125, np.nan, 0.3, 0.45, 0.2, np.nan])  # "1.250%" -> 1250 %
    assert r.status.tolist() == [FIXED, INVALID, FIXED, FIXED, CLEAN, INVALID]
    # as much evidence of percentages (12,5 %, 45) as of shares (0,3, 0.2): no bare 1 to decide
    assert r.notes["scale"] == "share" and r.notes["ambiguous_scale"] == 0
    assert r.notes["scale_evidence"] == {"percent": 2, "share": 2}
    assert r.notes["out_of_range"] == 2
    assert r.notes["forms"] == {"percent_sign": 1, "share": 2, "percentage": 1}
    r = parse_percent(pd.Series(["1,250%", "0,5%"]))  # decimal comma column: 1.25 %
    assert r.status.iloc[0] == AMBIGUOUS and r.values.iloc[0] == pytest.approx(0.0125)


SHARES = st.integers(min_value=0, max_value=1000).map(lambda k: k / 1000)


@given(shares=st.lists(SHARES, min_size=1, max_size=20), form=st.sampled_from(["sign", "comma_sign", "bare", "share"]))
def test_round_trip(shares: list[float], form: str) -> None:
    """A share written as "45.2%", "45,2 %", a bare percentage (45.2) or a share (0.452) comes back."""
    if form == "bare":
        shares = [v for v in shares if v * 100 > 1] or [0.5]
        cells = [round(v * 100, 1) for v in shares]
    elif form == "share":
        cells = shares
    elif form == "sign":
        cells = [f"{v * 100:.1f}%" for v in shares]
    else:
        cells = [f"{v * 100:.1f} %".replace(".", ",") for v in shares]
    r = parse_percent(pd.Series(cells, dtype=object))
    np.testing.assert_allclose(r.values.to_numpy(), shares, rtol=1e-9, atol=1e-12)
    if form == "share" and 1.0 in shares and not any(0 < v < 1 for v in shares):  # nothing shows the scale
        assert r.status.isin([CLEAN, AMBIGUOUS]).all()
    else:
        assert r.status.isin([CLEAN, FIXED]).all()


# ---- issue 16, item 20: the scale of bare numbers is decided per column ---------------------------
@pytest.mark.parametrize(
    ("column", "expected", "scale"),
    [
        # a 0-100 column: "1" is 1 % (was 100 %)
        (["45", "30", "1", "0", "1.0"], [0.45, 0.30, 0.01, 0.0, 0.01], "percent"),
        ([45, 30, 1, 100], [0.45, 0.30, 0.01, 1.0], "percent"),
        (["45%", "30%", "1"], [0.45, 0.30, 0.01], "percent"),
        # a 0-1 column: "1" is 100 %
        (["0.45", "0.3", "1"], [0.45, 0.30, 1.0], "share"),
        ([0.45, 0.3, 1.0, 0.0], [0.45, 0.30, 1.0, 0.0], "share"),
    ],
)
def test_scale_is_decided_per_column(column: list, expected: list[float], scale: str) -> None:
    r = parse_percent(pd.Series(column, dtype=object))
    np.testing.assert_allclose(r.values.to_numpy(), expected, rtol=1e-12)
    assert r.notes["scale"] == scale
    assert r.notes["ambiguous_scale"] == 0 and not (r.status == AMBIGUOUS).any()  # the column proves its scale


def test_ambiguous_scale_is_flagged_and_decided_by_the_majority() -> None:
    # no evidence: 1 and 1 % are both possible; read as shares (the contract), flagged
    r = parse_percent(pd.Series(["1", "0", "1", None]))
    assert r.values.tolist()[:3] == [1.0, 0.0, 1.0] and r.notes["ambiguous_scale"] == 2
    assert r.status.tolist() == [AMBIGUOUS, FIXED, AMBIGUOUS, MISSING]
    # evidence of both kinds: the side with more rows decides the 1s, which are flagged; a number
    # strictly between 0 and 1 is a share whatever the column (0.5 % would be written "0.5%")
    r = parse_percent(pd.Series(["45"] * 3 + ["0.5", "1"]))
    assert r.notes["scale"] == "percent" and r.notes["scale_evidence"] == {"percent": 3, "share": 1}
    np.testing.assert_allclose(r.values.to_numpy(), [0.45] * 3 + [0.5, 0.01])
    assert r.status.tolist() == [FIXED] * 4 + [AMBIGUOUS] and r.notes["ambiguous_scale"] == 1
    r = parse_percent(pd.Series(["0.45", "0.3", "1", "45"]))  # a stray 45 in a share column can only be 45 %
    assert r.notes["scale"] == "share" and r.values.tolist() == [0.45, 0.3, 1.0, 0.45]
    assert r.status.tolist() == [FIXED, FIXED, AMBIGUOUS, FIXED]
    # out-of-range values are no evidence
    r = parse_percent(pd.Series(["250", "40", "1"]))
    assert r.notes["scale_evidence"] == {"percent": 1, "share": 0} and r.values.tolist()[1:] == [0.4, 0.01]
