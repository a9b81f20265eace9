"""Properties every single-column parser keeps, whatever the data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookalike.cleaning._base import CLEAN, CODE, FIXED, AMBIGUOUS, INVALID, MISSING, STATUS_DTYPE, ColumnParse
from lookalike.cleaning.dates import parse_date
from lookalike.cleaning.money import parse_money
from lookalike.cleaning.numbers import parse_age, parse_bool, parse_number
from lookalike.cleaning.percent import parse_percent
from lookalike.cleaning.prefs import parse_prefs
from lookalike.cleaning.recency import parse_recency
from lookalike.cleaning.text import clean_text, load_vocabulary, normalize_category, normalize_id
from lookalike.errors import ParameterError

VOCAB = load_vocabulary()

# name -> (parser, kind of values)
PARSERS = {
    "money": (parse_money, "float"),
    "number": (lambda s: parse_number(s), "float"),
    "number_int_range": (lambda s: parse_number(s, integer=True, lo=0, hi=1000, units=("items", "uds")), "float"),
    "age": (parse_age, "float"),
    "bool": (parse_bool, "boolean"),
    "percent": (parse_percent, "float"),
    "recency": (parse_recency, "float"),
    "date": (parse_date, "datetime"),
    "date_mdy": (lambda s: parse_date(s, dayfirst=False), "datetime"),
    "region": (lambda s: normalize_category(s, VOCAB["region"]), "category"),
    "gender": (lambda s: normalize_category(s, VOCAB["gender"]), "category"),
    "id": (normalize_id, "text"),
    "text": (clean_text, "text"),
    "prefs": (parse_prefs, "prefs"),
}

NUMERIC_TEXT = st.text(alphabet="0123456789.,' -+$€%()eE\u00a0\u202f’", max_size=14)
DATE_TEXT = st.text(alphabet="0123456789/-. :", max_size=20)
WORDS = st.sampled_from(
    ["never", "nunca", "none", "N/A", "", "  ", "null", "-", "Norte", " nortee ", "{}", '{"promo": "sms", "level": 2}',
     "promo=push;level=9", "17 dic 2022", "Dec 17, 2022", "9999", "1.234,56 €", "$2,464.06", "45.2%", "yes", "x",
     "unknown", "nan", "inf", "-inf", "1e309", "٣٤", "１２", "\x00", "{'promo': 'SMS'}", "31/02/2022", "0000-00-00"]
)
CELLS = st.one_of(
    st.text(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.none(),
    st.booleans(),
    NUMERIC_TEXT,
    DATE_TEXT,
    WORDS,
)
COLUMNS = st.lists(CELLS, max_size=25)


def check_invariants(r: ColumnParse, s: pd.Series, kind: str) -> None:
    assert isinstance(r, ColumnParse)
    assert r.values.index.equals(s.index) and r.status.index.equals(s.index)
    assert r.status.dtype == STATUS_DTYPE
    assert not r.status.isna().any()
    for extra in r.extra.values():
        assert extra.index.equals(s.index)
    json.dumps(r.notes)  # the report serialises notes as JSON
    no_value = r.status.isin([CODE, MISSING, INVALID]).to_numpy()
    has_value = r.status.isin([CLEAN, FIXED, AMBIGUOUS]).to_numpy()
    if kind == "float":
        assert r.values.dtype == np.float64
        v = r.values.to_numpy()
        assert np.isnan(v[no_value]).all()
        assert np.isfinite(v[has_value]).all()
    elif kind == "datetime":
        assert r.values.dtype == "datetime64[ns]"
        assert r.values[no_value].isna().all() and r.values[has_value].notna().all()
    elif kind == "boolean":
        assert r.values.dtype == "boolean"
        assert r.values[no_value].isna().all() and r.values[has_value].notna().all()
    elif kind == "category":
        assert r.values.map(type).eq(str).all()
        assert (r.values[no_value] == "Unknown").all()
    elif kind == "text":
        assert r.values[no_value].isna().all() and r.values[has_value].map(type).eq(str).all()
    elif kind == "prefs":
        assert r.values.isin(["push", "sms", "email", "none", "unknown"]).all()
        assert (r.values[no_value] == "unknown").all()
        lv = r.extra["promo_level"].dropna()
        assert lv.isin([1.0, 2.0, 3.0]).all()


@pytest.mark.slow
@given(cells=COLUMNS, shuffle_index=st.booleans(), as_str=st.booleans())
def test_never_raises_and_stays_aligned(cells: list, shuffle_index: bool, as_str: bool) -> None:
    """Every parser, on arbitrary mixes of text/floats/ints/None/bools: no exception, aligned
    outputs, a valid status per cell, values present exactly where the status says so.
    When the cells are all text (or None), the column is also tried with pandas 3's "str" dtype."""
    index = pd.Index([f"r{i}" for i in range(len(cells))][::-1]) if shuffle_index else None
    dtype = "str" if as_str and all(c is None or isinstance(c, str) for c in cells) else object
    s = pd.Series(cells, dtype=dtype, index=index)
    for parser, kind in PARSERS.values():
        check_invariants(parser(s), s, kind)


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize(
    "s",
    [
        pd.Series([], dtype=object),
        pd.Series([], dtype="float64"),
        pd.Series([np.nan, np.nan]),
        pd.Series([1.5, np.inf, -np.inf, np.nan, 0.0, -0.0, 1e308]),
        pd.Series([1, 2, 3], dtype="Int64"),
        pd.Series([True, False, None], dtype="boolean"),
        pd.Series(pd.to_datetime(["2022-12-17", None])),
        pd.Series(pd.Categorical(["Norte", "sur", None])),
        pd.Series([[1, 2], {"promo": "sms"}, {"a"}, b"bytes", 1 + 2j, object()], dtype=object),
        pd.Series([True, 1, 1.0, "1", False, 0], dtype=object),
        pd.Series(["x"] * 3, index=[5, 5, 7]),
    ],
    ids=["empty-object", "empty-float", "all-nan", "floats", "Int64", "boolean", "datetime", "categorical",
         "odd-objects", "bool-vs-int", "duplicate-index"],
)
def test_column_dtypes(name: str, s: pd.Series) -> None:
    parser, kind = PARSERS[name]
    check_invariants(parser(s), s, kind)


def test_true_and_one_are_kept_apart() -> None:
    r = parse_money(pd.Series([1, True, 1.0, "1"], dtype=object))
    assert r.status.tolist() == [CLEAN, INVALID, CLEAN, FIXED]
    r = parse_money(pd.Series([True, 1], dtype=object))
    assert r.status.tolist() == [INVALID, CLEAN]


@pytest.mark.parametrize("parser", [p for p, _ in PARSERS.values()])
@pytest.mark.parametrize("bad", [pd.DataFrame({"a": [1]}), 5, "text", None])
def test_bad_argument_raises_parameter_error(parser, bad) -> None:
    with pytest.raises(ParameterError):
        parser(bad)


def test_list_input_is_accepted() -> None:
    assert parse_money(["$1.00", None]).values.tolist()[0] == 1.0
