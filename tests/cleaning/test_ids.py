"""Canonical customer ids: the scalar, list and array forms agree with the cleaner's normalize_id."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookalike.cleaning.ids import canonical_id, canonical_ids, normalize_id, normalize_ids

TRICKY = [
    " c000001 ", "C000001", "c 000 001", "ｃ０００００１", "C000001\u200b", "C\u00a0000001", "x-9", "x\u22129",
    "a`b", "Ｃ１", 17, 17.0, np.int64(17), np.float64(17.0), np.float32(2.5), 1.5, 10**30, 1e20,
    float("nan"), None, pd.NA, float("inf"), True, "", " ", "n/a", "NULL", "-", "\u200b",
]


@pytest.mark.parametrize("raw", TRICKY, ids=repr)
def test_scalar_and_vector_forms_agree(raw):
    vector = canonical_ids([raw])
    assert canonical_id(raw) == vector[0]
    cleaner = normalize_id(pd.Series([raw], dtype=object)).values.iloc[0]
    if cleaner is not None:  # a real id: exactly the cleaner's
        assert vector[0] == cleaner
    assert normalize_ids(pd.Series([raw], dtype=object))[0] == cleaner


def test_many_ids_keep_their_order_and_missing_ones_their_own_text():
    got = canonical_ids(pd.Series([" c1", None, float("nan"), "n/a", 2.0, "C1"], dtype=object))
    assert list(got) == ["C1", "NONE", "NAN", "N/A", "2", "C1"]


def test_normalize_ids_fast_path_only_when_nothing_would_change():
    canonical = pd.Series(["C000001", "X-9", "12"], dtype=object)
    assert normalize_ids(canonical).tolist() == ["C000001", "X-9", "12"]
    # each of these looks canonical at a glance but the cleaner changes it
    for tricky, dtype in ((["C1", "NULL"], object), (["C1", "Ｃ１"], object), (["C1", "A`B"], object),
                          (["C1", None], object), (["C1", 17.0], object), (["C1", pd.NA], "string")):
        s = pd.Series(tricky, dtype=dtype)
        assert normalize_ids(s).tolist() == normalize_id(s).values.tolist()
    assert normalize_ids(pd.Series([], dtype=object)).tolist() == []


@given(st.lists(st.one_of(st.text(max_size=8), st.integers(-10**6, 10**6),
                          st.floats(allow_nan=True, allow_infinity=True)), max_size=20))
def test_forms_agree_on_random_values(values):
    vector = canonical_ids(values)
    assert [canonical_id(v) for v in values] == list(vector)
    cleaner = normalize_id(pd.Series(values, dtype=object)).values.tolist()
    assert [c if c is not None else v for c, v in zip(cleaner, vector)] == list(vector)
    assert normalize_ids(values).tolist() == cleaner


def test_decimal_ids_keep_every_digit():
    from decimal import Decimal

    raw = [Decimal("12345678901234567890"), Decimal("17.00"), Decimal("17.5"), Decimal("1E+2")]
    expected = ["12345678901234567890", "17", "17.5", "100"]
    assert normalize_id(pd.Series(raw, dtype=object)).values.tolist() == expected
    assert [canonical_id(v) for v in raw] == expected == list(canonical_ids(raw))
