"""parse_number, parse_age, parse_bool."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lookalike.cleaning._base import AMBIGUOUS, CLEAN, FIXED, INVALID, MISSING
from lookalike.cleaning.numbers import parse_age, parse_bool, parse_number
from lookalike.errors import ParameterError


def first(r):
    return r.values.iloc[0], r.status.iloc[0]


def assert_value(value: float, expected: float) -> None:
    if math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("raw", "kwargs", "expected", "status"),
    [
        ("12", {}, 12.0, FIXED),
        (12, {}, 12.0, CLEAN),
        (12.5, {}, 12.5, CLEAN),
        ("12.5", {}, 12.5, FIXED),
        ("12,5", {}, 12.5, FIXED),
        ("1.234,5", {}, 1234.5, FIXED),
        ("1,234.5", {}, 1234.5, FIXED),
        ("45.000", {}, 45.0, AMBIGUOUS),
        ("1 234", {}, 1234.0, FIXED),
        ("1'234", {}, 1234.0, FIXED),
        ("-3", {}, -3.0, FIXED),
        ("(3)", {}, -3.0, FIXED),
        ("1e3", {}, 1000.0, FIXED),
        ("12 months", {"units": ("months",)}, 12.0, FIXED),
        ("12 Months", {"units": ("months",)}, 12.0, FIXED),
        ("12months", {"units": ("months",)}, 12.0, FIXED),
        ("3 items", {"units": ("items", "item")}, 3.0, FIXED),
        ("1 item", {"units": ("items", "item")}, 1.0, FIXED),
        ("7 uds.", {"units": ("uds",)}, 7.0, FIXED),
        ("4 artículos", {"units": ("artículos",)}, 4.0, FIXED),
        ("12 months", {}, math.nan, INVALID),  # unit not allowed
        ("12 weeks", {"units": ("months",)}, math.nan, INVALID),
        ("3.5", {"integer": True}, math.nan, INVALID),
        (3.5, {"integer": True}, math.nan, INVALID),
        ("3.0", {"integer": True}, 3.0, FIXED),
        (3.0, {"integer": True}, 3.0, CLEAN),
        ("-1", {"lo": 0}, math.nan, INVALID),
        (0, {"lo": 0}, 0.0, CLEAN),
        (101, {"hi": 100}, math.nan, INVALID),
        (100, {"hi": 100}, 100.0, CLEAN),
        ("N/A", {}, math.nan, MISSING),
        ("unknown", {}, math.nan, MISSING),
        (None, {}, math.nan, MISSING),
        (math.nan, {}, math.nan, MISSING),
        (math.inf, {}, math.nan, INVALID),
        (True, {}, math.nan, INVALID),
        ("twelve", {}, math.nan, INVALID),
        ("12abc", {}, math.nan, INVALID),
    ],
)
def test_parse_number(raw: object, kwargs: dict, expected: float, status: str) -> None:
    value, got = first(parse_number(pd.Series([raw], dtype=object), **kwargs))
    assert got == status
    assert_value(value, expected)


def test_parse_number_column_convention() -> None:
    """The same separator logic as money: the column's decimal comma makes "45.000" 45000."""
    r = parse_number(pd.Series(["45.000", "12,5", "1.000.000"]))
    assert r.values.tolist() == [45000.0, 12.5, 1000000.0]
    assert r.status.tolist() == [AMBIGUOUS, FIXED, FIXED]
    assert r.notes["decimal_separator"] == ","
    r = parse_number(pd.Series(["45.000", "12.5"]))
    assert r.values.tolist() == [45.0, 12.5]


def test_parse_number_notes() -> None:
    r = parse_number(pd.Series(["3 items", "4 Items", "5 item", "200", "x"]), hi=100, units=("items", "item"))
    assert r.notes["units"] == {"items": 2, "item": 1}
    assert r.notes["out_of_range"] == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lo": 5, "hi": 1},
        {"lo": "0"},
        {"hi": math.nan},
        {"lo": True},
        {"units": "years"},
        {"units": ("years", "")},
        {"units": ("years", 3)},
        {"units": 5},
    ],
)
def test_parse_number_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ParameterError):
        parse_number(pd.Series(["1"]), **kwargs)


@pytest.mark.parametrize(
    ("raw", "expected", "status"),
    [
        ("35 years", 35.0, FIXED),
        ("35", 35.0, FIXED),
        (35, 35.0, CLEAN),
        (35.0, 35.0, CLEAN),
        ("35 años", 35.0, FIXED),
        ("35años", 35.0, FIXED),
        ("35 AÑOS", 35.0, FIXED),
        ("35 anos", 35.0, FIXED),
        ("35 año", 35.0, FIXED),
        ("35 ans", 35.0, FIXED),
        ("35 Jahre", 35.0, FIXED),
        ("35 yrs", 35.0, FIXED),
        ("35 yr.", 35.0, FIXED),
        ("35y", 35.0, FIXED),
        ("1 year", 1.0, FIXED),
        ("35 years old", 35.0, FIXED),
        ("35 anni", 35.0, FIXED),
        (" 35 ", 35.0, FIXED),
        ("120", 120.0, FIXED),
        ("121", math.nan, INVALID),
        (0, math.nan, INVALID),
        ("0", math.nan, INVALID),
        (-5, math.nan, INVALID),
        ("35.5", math.nan, INVALID),
        ("35,5 años", math.nan, INVALID),
        ("35 months", math.nan, INVALID),
        ("thirty", math.nan, INVALID),
        ("N/A", math.nan, MISSING),
        ("", math.nan, MISSING),
        (None, math.nan, MISSING),
        (math.nan, math.nan, MISSING),
    ],
)
def test_parse_age(raw: object, expected: float, status: str) -> None:
    value, got = first(parse_age(pd.Series([raw], dtype=object)))
    assert got == status
    assert_value(value, expected)


def test_parse_age_column() -> None:
    s = pd.Series(["35 years", "35", "N/A", 41, None, "200"], index=[10, 11, 12, 13, 14, 15])
    r = parse_age(s)
    assert r.values.index.equals(s.index)
    np.testing.assert_array_equal(r.values.to_numpy(), [35, 35, np.nan, 41, np.nan, np.nan])
    assert r.counts() == {"clean": 1, "fixed": 2, "ambiguous": 0, "code": 0, "missing": 2, "invalid": 1}


TRUE_VALUES = [1, 1.0, True, np.True_, "1", "1.0", "true", "TRUE", "True", "yes", "Yes", "y", "Y", "t", "T", "sí", "Sí",
               "si", "SI", "verdadero", "x", "X", "on", "sim", "oui", "ja", " yes "]
FALSE_VALUES = [0, 0.0, False, np.False_, "0", "0.0", "false", "False", "no", "No", "NO", "n", "N", "f", "F", "falso",
                "off", "não", "nao", "non", "nein"]


@pytest.mark.parametrize("raw", TRUE_VALUES)
def test_parse_bool_true(raw: object) -> None:
    r = parse_bool(pd.Series([raw], dtype=object))
    assert r.values.iloc[0] is True or r.values.iloc[0] == True  # noqa: E712 - pandas BooleanArray scalar
    assert r.status.iloc[0] in (CLEAN, FIXED)


@pytest.mark.parametrize("raw", FALSE_VALUES)
def test_parse_bool_false(raw: object) -> None:
    r = parse_bool(pd.Series([raw], dtype=object))
    assert r.values.iloc[0] == False  # noqa: E712
    assert r.status.iloc[0] in (CLEAN, FIXED)


@pytest.mark.parametrize(
    ("raw", "status"),
    [("unknown", MISSING), ("desconocido", MISSING), ("", MISSING), (None, MISSING), (math.nan, MISSING),
     ("N/A", MISSING), ("maybe", INVALID), (2, INVALID), (0.5, INVALID), ("quizás", INVALID), (math.inf, INVALID)],
)
def test_parse_bool_no_value(raw: object, status: str) -> None:
    r = parse_bool(pd.Series([raw], dtype=object))
    assert r.values.isna().iloc[0]
    assert r.status.iloc[0] == status


def test_parse_bool_dtype_and_status() -> None:
    r = parse_bool(pd.Series([True, 1, "yes", None, "maybe"], dtype=object))
    assert r.values.dtype == "boolean"
    assert r.status.tolist() == [CLEAN, CLEAN, FIXED, MISSING, INVALID]
    assert r.notes["unrecognised"] == {"maybe": 1}
