"""Campaign results computed independently with pandas, the derived money numbers, and the HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lookalike.campaigns.report import compare_results, results_from_frame
from lookalike.campaigns.simulate import coverage_study, run_simulated_campaign, simulate_outcomes
from lookalike.campaigns.holdout import assign_arms
from lookalike.errors import InputError
from lookalike.report.campaigns import render_campaign_report


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    ids = pd.Series([f"C{i:05d}" for i in range(6000)])
    arms = assign_arms(ids, "report-test", 0.2)
    return arms.merge(simulate_outcomes(arms, base_rate=0.05, uplift=0.02, random_state=3), on="customer_id")


def test_arms_uplift_and_value_match_a_direct_computation(frame):
    r = results_from_frame(frame, name="x", holdout_share=0.2, cost=300.0)
    g = frame.groupby("arm")
    n = g.size()
    conv = g["conversions"].apply(lambda s: (s > 0).mean())
    rpc = g["revenue"].mean()
    assert r.arms.loc["treatment", "customers"] == n["treatment"]
    assert r.arms["conversion_rate"].to_dict() == pytest.approx(conv.to_dict())
    assert r.arms["revenue_per_customer"].to_dict() == pytest.approx(rpc.to_dict())
    assert r.uplifts["conversion_rate"].diff == pytest.approx(conv["treatment"] - conv["control"])
    # REFERENCE: incremental revenue = (RPU_t - RPU_c) * N_t; cost per incremental conversion =
    # cost / (conv_t - conv_c * N_t / N_c); iROI = (incremental revenue - cost) / cost
    conv_t = (g["conversions"].apply(lambda s: (s > 0).sum()))
    inc_rev = (rpc["treatment"] - rpc["control"]) * n["treatment"]
    assert r.incremental_revenue.value == pytest.approx(inc_rev)
    assert r.cost_per_incremental_conversion == pytest.approx(
        300.0 / (conv_t["treatment"] - conv_t["control"] * n["treatment"] / n["control"]))
    assert r.incremental_roi.value == pytest.approx((inc_rev - 300.0) / 300.0)
    assert r.cost_per_conversion == pytest.approx(300.0 / conv_t["treatment"])
    assert "open_rate" not in r.uplifts  # control customers get no e-mail to open: no uplift to report
    lo, hi = r.revenue_bootstrap
    assert lo < r.uplifts["revenue_per_customer"].diff < hi
    assert "CI" in r.verdict and "%" in r.verdict


def test_no_effect_verdict_states_the_uncertainty():
    ids = pd.Series([f"C{i:05d}" for i in range(3000)])
    arms = assign_arms(ids, "null", 0.5)
    f = arms.merge(simulate_outcomes(arms, base_rate=0.05, uplift=0.0, random_state=1), on="customer_id")
    r = results_from_frame(f, cost=100.0, bootstrap=False)
    c = r.uplifts["conversion_rate"]
    assert c.diff_low < 0 < c.diff_high  # a true uplift of 0 with this seed: the interval straddles zero
    assert r.verdict.startswith("No clear effect on conversion") and "includes zero" in r.verdict
    assert r.incremental_revenue.low < 100.0 < r.incremental_revenue.high
    assert "whether it paid for itself is uncertain" in r.verdict
    assert "did not pay" not in r.verdict and "the campaign paid for itself" not in r.verdict


@pytest.mark.parametrize("where, expected", [("below", "the campaign paid for itself"),
                                             ("above", "the campaign did not pay for itself"),
                                             ("inside", "whether it paid for itself is uncertain")])
def test_return_verdict_follows_the_cost_against_the_revenue_interval(frame, where, expected):
    rev = results_from_frame(frame, cost=1.0, bootstrap=False).incremental_revenue  # does not depend on the cost
    assert rev.low > 0  # a true uplift of 2 points on 6,000 customers: a clear revenue gain
    cost = {"below": rev.low / 2, "above": rev.high * 2, "inside": (rev.low + rev.high) / 2}[where]
    r = results_from_frame(frame, cost=cost, bootstrap=False)
    assert r.verdict.startswith("The campaign raised conversion by")
    verdicts = ["the campaign paid for itself", "the campaign did not pay for itself",
                "whether it paid for itself is uncertain"]
    assert [v for v in verdicts if v in r.verdict] == [expected]


def test_compare_and_html(frame):
    a = results_from_frame(frame, name="lookalike list", cost=300.0, bootstrap=False)
    weak = frame.copy()
    weak.loc[weak["arm"] == "treatment", "conversions"] = 0
    weak.loc[weak["arm"] == "treatment", "revenue"] = 0.0
    b = results_from_frame(weak, name="rule list", bootstrap=False)
    cmp = compare_results(a, b)
    assert cmp.uplift_difference.low > 0 and "lookalike list produced a larger" in cmp.reading
    html = render_campaign_report([a, b], cmp)
    assert "<svg" in html and "lookalike list" in html and "rule list" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "<script" not in html


def test_too_small_arms_are_refused():
    f = pd.DataFrame({"customer_id": ["a", "b", "c"], "arm": ["treatment", "treatment", "control"], "sends": 1,
                      "opens": 0, "clicks": 0, "conversions": 0, "revenue": 0.0})
    with pytest.raises(InputError, match="at least 2"):
        results_from_frame(f)


@pytest.mark.slow
def test_confidence_intervals_cover_the_true_uplift_in_200_simulated_campaigns():
    cov = coverage_study(n_campaigns=220, n_customers=2500, holdout_share=0.2, base_rate=0.05, uplift=0.02,
                         random_state=42)
    assert cov.n_campaigns >= 200
    lo, hi = cov.bound
    assert lo <= cov.covered_conversion <= hi, cov
    assert lo <= cov.covered_revenue <= hi, cov
    assert cov.within_bound


def test_simulated_flow_recovers_the_true_uplift(engine):
    from tests.campaigns.test_campaign_store import make_audience
    from tests.campaigns.conftest import unique

    created, r = run_simulated_campaign(engine, make_audience(8000, seed=2), name=unique("sim"), holdout_share=0.2,
                                        base_rate=0.04, uplift=0.03, random_state=5)
    u = r.uplifts["conversion_rate"]
    assert u.diff_low <= 0.03 <= u.diff_high
    assert u.significant and r.cost > 0 and r.incremental_roi.value is not None
