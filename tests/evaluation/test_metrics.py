"""Ranking metrics against hand-computed values, sklearn, and their input checks."""

from __future__ import annotations

import doctest
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import average_precision_score, roc_auc_score

from lookalike.errors import ParameterError
from lookalike.evaluation import metrics
from lookalike.evaluation.metrics import (
    auc,
    average_precision,
    decile_table,
    gain_curve,
    lift_at,
    paired_difference,
    precision_at,
    ranking_report,
    recall_at,
    summarize,
    top_n_mask,
)

# 3 positives in 10; base rate 0.3
Y = [1, 0, 1, 0, 0, 1, 0, 0, 0, 0]
# ranking by score: idx 1 (0.9, y=0), idx 2 (0.8, y=1), idx 5 (0.7, y=1), idx 9 (0.6, y=0), idx 8 (0.5), ...
S = [0.2, 0.9, 0.8, 0.1, 0.3, 0.7, 0.0, 0.4, 0.5, 0.6]


def test_hand_computed_at_3():
    assert top_n_mask(S, 3).tolist() == [False, True, True, False, False, True, False, False, False, False]
    assert precision_at(Y, S, 3) == pytest.approx(2 / 3)
    assert recall_at(Y, S, 3) == pytest.approx(2 / 3)
    assert lift_at(Y, S, 3) == pytest.approx((2 / 3) / 0.3)


def test_hand_computed_other_sizes():
    # idx 0 (y=1, score 0.2) is ranked 8th: all three positives are found only at n = 8
    assert recall_at(Y, S, 7) == pytest.approx(2 / 3)
    assert recall_at(Y, S, 8) == 1.0
    assert precision_at(Y, S, 10) == pytest.approx(0.3)
    assert lift_at(Y, S, 10) == pytest.approx(1.0)


def test_ties_are_broken_by_position():
    assert top_n_mask([1, 2, 2, 1, 2], 2).tolist() == [False, True, True, False, False]
    assert top_n_mask(np.zeros(6), 4).tolist() == [True] * 4 + [False] * 2
    # all scores tied: the first n rows are the audience
    assert precision_at([0, 0, 1, 1], [5, 5, 5, 5], 2) == 0.0
    assert precision_at([1, 1, 0, 0], [5, 5, 5, 5], 2) == 1.0


def test_top_n_mask_matches_stable_sort():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 20, 500).astype(float)  # many ties
    order = np.argsort(-s, kind="stable")
    for n in (1, 7, 50, 250, 499, 500):
        expect = np.zeros(500, bool)
        expect[order[:n]] = True
        assert (top_n_mask(s, n) == expect).all()


def test_ranking_report_agrees_with_single_metrics():
    rep = ranking_report(Y, S, [1, 3, 8, 10])
    assert list(rep.columns) == ["size", "precision", "recall", "lift", "positives_found"]
    assert rep["positives_found"].tolist() == [0, 2, 3, 3]
    for row in rep.itertuples():
        assert row.precision == pytest.approx(precision_at(Y, S, row.size))
        assert row.recall == pytest.approx(recall_at(Y, S, row.size))
        assert row.lift == pytest.approx(lift_at(Y, S, row.size))


def test_gain_curve_endpoints_and_monotone():
    rng = np.random.default_rng(1)
    y = rng.random(1000) < 0.1
    s = y + rng.normal(0, 1, 1000)
    g = gain_curve(y, s)
    assert list(g.columns) == ["share_targeted", "share_of_positives", "lift"]
    assert len(g) == 101
    assert (g.iloc[0][["share_targeted", "share_of_positives"]] == 0).all()
    assert (g.iloc[-1][["share_targeted", "share_of_positives"]] == 1).all()
    assert (np.diff(g["share_of_positives"]) >= 0).all() and (np.diff(g["share_targeted"]) >= 0).all()
    assert np.isnan(g["lift"].iloc[0]) and g["lift"].iloc[-1] == pytest.approx(1.0)
    assert g["lift"].iloc[10] > 1.5  # an informative score
    # hand-computed on the tiny example: the top 30% holds 2 of the 3 positives
    tiny = gain_curve(Y, S, points=11)
    assert tiny["share_of_positives"].iloc[3] == pytest.approx(2 / 3)


def test_decile_table_sums_and_order():
    rng = np.random.default_rng(2)
    y = rng.random(1003) < 0.2
    s = y * 0.5 + rng.random(1003)
    t = decile_table(y, s)
    assert t["decile"].tolist() == list(range(1, 11))
    assert t["customers"].sum() == 1003 and set(t["customers"]) <= {100, 101}
    assert t["positives"].sum() == y.sum()
    assert t["cumulative_gain"].iloc[-1] == pytest.approx(1.0)
    assert (np.diff(t["cumulative_gain"]) >= 0).all()
    assert t["rate"].iloc[0] > t["rate"].iloc[-1]
    assert np.average(t["lift"], weights=t["customers"]) == pytest.approx(1.0)
    small = decile_table(Y, S)  # one customer per decile: decile d holds the d-th ranked customer
    assert small["positives"].tolist() == [0, 1, 1, 0, 0, 0, 0, 1, 0, 0]


def test_auc_and_average_precision_equal_sklearn():
    rng = np.random.default_rng(3)
    y = rng.random(300) < 0.3
    s = y + rng.normal(0, 1, 300)
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s))


@pytest.mark.parametrize("fn", [auc, average_precision])
@pytest.mark.parametrize("y", [[0, 0, 0], [1, 1, 1]])
def test_one_class_gives_nan_with_reason(fn, y):
    with pytest.warns(UndefinedMetricWarning, match="one class"):
        assert np.isnan(fn(y, [0.1, 0.2, 0.3]))


def test_no_positives_recall_and_lift_are_nan():
    with pytest.warns(UndefinedMetricWarning, match="no positives"):
        assert np.isnan(recall_at([0, 0, 0], [1, 2, 3], 2))
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(lift_at([0, 0, 0], [1, 2, 3], 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision_at([0, 0, 0], [1, 2, 3], 2) == 0.0


def test_accepts_bool_series_and_nullable_ints():
    y = pd.Series(Y, dtype="Int64")
    assert precision_at(y, pd.Series(S), 3) == pytest.approx(2 / 3)
    assert precision_at(np.array(Y, bool), S, 3) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "args, match",
    [
        (([1, 0, 1], [0.1, 0.2], 1), r"same length.*3 and 2"),
        (([[1, 0]], [[0.1, 0.2]], 1), r"1-D.*\(1, 2\)"),
        (([1, 2, 0], [0.1, 0.2, 0.3], 1), r"binary.*1 of 3.*2"),
        (([1, np.nan, 0], [0.1, 0.2, 0.3], 1), r"binary"),
        (([1, 0, 1], [0.1, np.nan, 0.3], 1), r"finite.*1 of 3.*position 1"),
        (([1, 0, 1], [0.1, np.inf, 0.3], 1), r"finite"),
        (([1, 0, 1], [0.1, 0.2, 0.3], 0), r"n = 0, n_customers = 3"),
        (([1, 0, 1], [0.1, 0.2, 0.3], 4), r"n = 4, n_customers = 3"),
        (([1, 0, 1], [0.1, 0.2, 0.3], 1.5), r"integer"),
        (([], [], 1), r"empty"),
    ],
)
def test_validation_errors_carry_the_numbers(args, match):
    with pytest.raises(ParameterError, match=match):
        precision_at(*args)


def test_other_validation_errors():
    with pytest.raises(ParameterError, match="size = 11, n_customers = 10"):
        ranking_report(Y, S, [3, 11])
    with pytest.raises(ParameterError, match="points"):
        gain_curve(Y, S, points=1)
    with pytest.raises(ParameterError, match="at least 10 customers, got 3"):
        decile_table([1, 0, 1], [1, 2, 3])
    with pytest.raises(ParameterError, match="level"):
        summarize([1, 2, 3], level=95)
    with pytest.raises(ParameterError, match="3 and 2"):
        paired_difference([1, 2, 3], [1, 2])


def test_summarize_constant_values_zero_width():
    r = summarize([0.4] * 8)
    assert r["n"] == 8
    assert r["mean"] == pytest.approx(0.4)
    assert r["ci_low"] == pytest.approx(0.4) and r["ci_high"] == pytest.approx(0.4)


def test_summarize_ci_brackets_mean_and_is_reproducible():
    v = np.random.default_rng(4).normal(0.3, 0.05, 20)
    r = summarize(v)
    assert set(r) == {"mean", "ci_low", "ci_high", "n"}
    assert r["ci_low"] < r["mean"] < r["ci_high"]
    assert r["mean"] == pytest.approx(v.mean())
    # a percentile interval of a mean of 20 values: about ±1.96 standard errors
    se = v.std(ddof=1) / np.sqrt(20)
    assert r["ci_high"] - r["ci_low"] == pytest.approx(2 * 1.96 * se, rel=0.25)
    assert summarize(v) == r
    assert summarize(v, level=0.5)["ci_high"] - summarize(v, level=0.5)["ci_low"] < r["ci_high"] - r["ci_low"]


def test_summarize_small_and_nan():
    one = summarize([0.7])
    assert one["mean"] == 0.7 and one["n"] == 1 and np.isnan(one["ci_low"]) and np.isnan(one["ci_high"])
    assert summarize([])["n"] == 0
    with pytest.warns(UndefinedMetricWarning, match="dropped 1 NaN"):
        r = summarize([0.2, np.nan, 0.4])
    assert r["n"] == 2 and r["mean"] == pytest.approx(0.3)


def test_paired_difference_sign():
    rng = np.random.default_rng(5)
    b = rng.uniform(0.1, 0.3, 15)
    a = b + rng.uniform(0.01, 0.05, 15)
    d = paired_difference(a, b)
    assert d["share_positive"] == 1.0 and d["n"] == 15
    assert 0 < d["ci_low"] <= d["mean"] <= d["ci_high"]
    assert d["mean"] == pytest.approx((a - b).mean())
    rev = paired_difference(b, a)
    assert rev["share_positive"] == 0.0 and rev["ci_high"] < 0
    assert rev["mean"] == pytest.approx(-d["mean"])


def test_doctests():
    assert doctest.testmod(metrics, optionflags=doctest.ELLIPSIS).failed == 0
