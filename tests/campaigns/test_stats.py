"""Statistics against statsmodels/scipy and against published or closed-form values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_2indep

from lookalike.campaigns.plan import minimum_detectable_effect, sample_size
from lookalike.campaigns.stats import bootstrap_diff_ci, mean_uplift, proportion_uplift
from lookalike.campaigns.uplift import qini_coefficient, qini_curve, uplift_by_bin
from lookalike.errors import InputError, ParameterError


def test_newcombe_interval_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, Table II example (56/70 vs 48/80), method 10:
    # difference 0.2000, 95% CI 0.0524 to 0.3339.
    u = proportion_uplift(56, 70, 48, 80)
    assert u.diff == pytest.approx(0.2)
    assert (round(u.diff_low, 4), round(u.diff_high, 4)) == (0.0524, 0.3339)


def test_proportion_uplift_is_statsmodels():
    u = proportion_uplift(530, 9000, 40, 1000, alpha=0.1)
    lo, hi = confint_proportions_2indep(530, 9000, 40, 1000, compare="diff", method="newcomb", alpha=0.1)
    rlo, rhi = confint_proportions_2indep(530, 9000, 40, 1000, compare="ratio", method="log-adjusted", alpha=0.1)
    p = sm_test_2indep(530, 9000, 40, 1000, compare="diff", method="agresti-caffo").pvalue
    assert (u.diff_low, u.diff_high) == pytest.approx((lo, hi))
    assert (u.relative_low, u.relative_high) == pytest.approx((rlo - 1, rhi - 1))
    assert u.relative == pytest.approx((530 / 9000) / (40 / 1000) - 1)
    assert u.p_value == pytest.approx(p)
    # Agresti-Caffo by hand: add one success and one failure to each arm, then a Wald z test
    a1, a2 = 531 / 9002, 41 / 1002
    z = (a1 - a2) / np.sqrt(a1 * (1 - a1) / 9002 + a2 * (1 - a2) / 1002)
    assert u.p_value == pytest.approx(2 * stats.norm.sf(z), rel=1e-6)


def test_proportion_uplift_edge_cases():
    u = proportion_uplift(5, 100, 0, 100)
    assert u.relative is None and u.diff_low < 0.05 < u.diff_high
    assert proportion_uplift(0, 100, 0, 100).p_value == 1.0
    with pytest.raises(InputError, match="between 0 and the arm size"):
        proportion_uplift(11, 10, 0, 10)
    with pytest.raises(ParameterError, match="alpha"):
        proportion_uplift(1, 10, 1, 10, alpha=1.5)


def test_mean_uplift_is_welch():
    rng = np.random.default_rng(0)
    t = rng.gamma(2, 30, 900) * (rng.random(900) < 0.1)
    c = rng.gamma(2, 30, 300) * (rng.random(300) < 0.07)
    u = mean_uplift(t, c)
    res = stats.ttest_ind(t, c, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert (u.diff_low, u.diff_high, u.p_value) == pytest.approx((ci.low, ci.high, res.pvalue))
    # Welch by hand: standard error and Satterthwaite degrees of freedom
    vt, vc = t.var(ddof=1) / len(t), c.var(ddof=1) / len(c)
    df = (vt + vc) ** 2 / (vt**2 / (len(t) - 1) + vc**2 / (len(c) - 1))
    half = stats.t.ppf(0.975, df) * np.sqrt(vt + vc)
    assert u.diff_high - u.diff == pytest.approx(half)
    lo, hi = bootstrap_diff_ci(t, c, n_resamples=2000)
    assert lo < u.diff < hi and abs((hi - lo) - 2 * half) < 0.35 * 2 * half


def test_sample_size_matches_the_closed_form():
    p0, p1, share = 0.03, 0.036, 0.2
    plan = sample_size(p0, p1 - p0, holdout_share=share, alpha=0.05, power=0.8)
    h = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p0))  # Cohen's h
    ratio = share / (1 - share)
    n_t = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) ** 2 / h**2 * (1 + 1 / ratio)
    assert plan.n_treatment == pytest.approx(n_t, rel=0.01)
    assert plan.n_control == pytest.approx(n_t * ratio, rel=0.01)
    # relative MDE reads the same plan
    assert sample_size(p0, 0.2, relative=True, holdout_share=share).n_treatment == plan.n_treatment


def test_mde_inverts_sample_size():
    mde = minimum_detectable_effect(0.05, 40_000, holdout_share=0.1)
    back = sample_size(0.05, mde.mde, holdout_share=0.1)
    assert back.n_total == pytest.approx(40_000, rel=0.01)
    with pytest.raises(ParameterError, match="base rate"):
        sample_size(1.5, 0.01)


def _qini_by_loop(y, score, t):
    order = np.argsort(-score, kind="stable")
    out = [0.0]
    for k in range(1, len(y) + 1):
        top = order[:k]
        yt, yc = y[top][t[top] == 1].sum(), y[top][t[top] == 0].sum()
        nt, nc = (t[top] == 1).sum(), (t[top] == 0).sum()
        out.append(yt - yc * nt / nc if nc else 0.0)
    return np.array(out)


def test_qini_curve_matches_a_direct_loop():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 300)
    t = rng.integers(0, 2, 300)
    score = rng.random(300)  # distinct scores: every position is a cut point
    q = qini_curve(y, score, t)
    assert np.allclose(q["qini"].to_numpy(), _qini_by_loop(y, score, t))
    assert q["random"].iloc[-1] == pytest.approx(q["qini"].iloc[-1])
    # a score equal to the true uplift beats random; its negative loses
    true_up = rng.random(2000)
    t2 = rng.integers(0, 2, 2000)
    y2 = (rng.random(2000) < 0.1 + 0.5 * true_up * t2).astype(int)
    assert qini_coefficient(y2, true_up, t2) > 0 > qini_coefficient(y2, -true_up, t2)


def test_uplift_by_bin_matches_pandas():
    import pandas as pd

    rng = np.random.default_rng(5)
    y, t, s = rng.integers(0, 2, 1000), rng.integers(0, 2, 1000), rng.random(1000)
    b = uplift_by_bin(y, s, t, n_bins=4)
    df = pd.DataFrame({"y": y, "t": t, "q": pd.qcut(-s, 4, labels=False) + 1})
    exp = df.groupby(["q", "t"])["y"].mean().unstack()
    assert np.allclose(b["uplift"], (exp[1] - exp[0]).to_numpy())
    assert b[["n_treatment", "n_control"]].to_numpy().sum() == 1000
