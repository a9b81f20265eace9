"""Hillstrom's randomized e-mail test through the campaign store, checked against pandas on the CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from lookalike import database as db
from lookalike.campaigns import campaign_results
from lookalike.campaigns.hillstrom import default_path, load_hillstrom_campaigns, uplift_study

CSV = default_path()


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(CSV)  # the file as published, read independently of the loader


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    engine = db.open_database(f"sqlite:///{tmp_path_factory.mktemp('hill') / 'h.db'}")
    load_hillstrom_campaigns(engine, CSV)
    out = {k: campaign_results(engine, f"hillstrom-{k}", bootstrap=False) for k in ("mens", "womens")}
    engine.dispose()
    return out


def test_the_data_is_the_documented_file(raw):
    assert raw.shape == (64_000, 12)
    assert raw["segment"].value_counts().to_dict() == {"Womens E-Mail": 21_387, "Mens E-Mail": 21_307,
                                                        "No E-Mail": 21_306}


@pytest.mark.slow
@pytest.mark.parametrize("arm,segment", [("mens", "Mens E-Mail"), ("womens", "Womens E-Mail")])
def test_per_arm_rates_match_pandas(results, raw, arm, segment):
    r = results[arm]
    by = raw.groupby("segment").agg(n=("visit", "size"), visit=("visit", "mean"), conversion=("conversion", "mean"),
                                    spend=("spend", "mean"))
    for arm_name, seg in (("treatment", segment), ("control", "No E-Mail")):
        row = r.arms.loc[arm_name]
        assert row["customers"] == by.loc[seg, "n"]
        assert row["click_rate"] == pytest.approx(by.loc[seg, "visit"], abs=1e-12)
        assert row["conversion_rate"] == pytest.approx(by.loc[seg, "conversion"], abs=1e-12)
        assert row["revenue_per_customer"] == pytest.approx(by.loc[seg, "spend"], rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("arm,segment", [("mens", "Mens E-Mail"), ("womens", "Womens E-Mail")])
def test_uplift_over_no_email_matches_pandas_and_statsmodels(results, raw, arm, segment):
    r = results[arm]
    t, c = raw[raw["segment"] == segment], raw[raw["segment"] == "No E-Mail"]
    for metric, col in (("click_rate", "visit"), ("conversion_rate", "conversion")):
        u = r.uplifts[metric]
        assert u.diff == pytest.approx(t[col].mean() - c[col].mean(), abs=1e-12)
        lo, hi = confint_proportions_2indep(t[col].sum(), len(t), c[col].sum(), len(c), compare="diff",
                                            method="newcomb")
        assert (u.diff_low, u.diff_high) == pytest.approx((lo, hi))
        assert u.significant  # both e-mails raised visits and conversions (a well-known result)
    spend = r.uplifts["revenue_per_customer"]
    assert spend.diff == pytest.approx(t["spend"].mean() - c["spend"].mean(), rel=1e-9)
    assert spend.diff_low < spend.diff < spend.diff_high
    assert r.incremental_revenue.value == pytest.approx(spend.diff * len(t), rel=1e-9)


@pytest.mark.slow
def test_uplift_study_on_held_out_half(raw):
    s = uplift_study(train_share=0.5, random_state=0)
    assert s.n_train + s.n_test == len(raw) and s.n_seeds > 100
    conv = s.deciles[(s.deciles["outcome"] == "conversion") & (s.deciles["ranking"] == "similarity")]
    assert conv[["n_treatment", "n_control"]].to_numpy().sum() == s.n_test
    assert len(conv) == 10 and set(s.qini["ranking"]) == {"similarity", "classifier", "random"}
    # the curves end at the same total incremental response whatever the order
    ends = s.qini.groupby(["outcome", "ranking"])["qini"].last().unstack()
    assert np.allclose(ends["similarity"], ends["random"]) and np.allclose(ends["classifier"], ends["random"])
    # the study is data; its figure is drawn by the report layer (three panels, one legend entry per curve)
    from lookalike.report.plots import figure_to_svg, qini_plot

    fig = qini_plot(s)
    assert len(fig.axes) == 3 and len(fig.axes[0].get_legend().get_texts()) == 4
    assert figure_to_svg(fig).startswith("<svg")
